"""``python -m modelavg_sym`` runs the command-line interface."""

from .cli import main

raise SystemExit(main())
