"""``python -m modelavg_sym`` runs the command-line interface."""

from modelavg_sym.cli import main

raise SystemExit(main())
