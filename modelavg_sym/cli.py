"""Command-line interface: thin (parse, call, print).

Each subcommand lives in a module of :mod:`modelavg_sym.commands` exposing
``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``; this module only
collects them.  Any :class:`ValueError` raised for bad input becomes a one-line message on
stderr and exit code 2 (no traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "modelavg_sym.commands.weight",
    "modelavg_sym.commands.personalize",
    "modelavg_sym.commands.verify",
    "modelavg_sym.commands.simulate",
    "modelavg_sym.commands.sweep",
    "modelavg_sym.commands.regenerate",
    "modelavg_sym.commands.bench",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as argparse does
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="modelavg-sym",
                     description="Symbolic derivation and verification of optimal model averaging.")
    from modelavg_sym import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for modname in COMMANDS:
        mod = importlib.import_module(modname)
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``modelavg-sym`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except ValueError as exc:  # InvalidParameterError, DataError, ...: user input problems
        print(f"modelavg-sym {args.command}: error: {exc}".splitlines()[0], file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("modelavg-sym: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
