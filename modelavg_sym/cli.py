"""Command-line interface: thin (parse, call, print).

Each subcommand lives in a module of :mod:`modelavg_sym.commands` exposing
``add_arguments(parser)`` and ``run(args) -> int``; this module lists them in
:data:`COMMANDS` and imports only the one that runs, so ``modelavg-sym weight`` never pays
for sympy or the theorem registry.  Any :class:`ValueError` raised for bad input becomes a
one-line message on stderr and exit code 2 (no traceback).
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import re
import sys
import threading
from collections.abc import Sequence

#: Subcommand -> (module, one-line help), in the order ``--help`` lists them.
COMMANDS: dict[str, tuple[str, str]] = {
    "weight": ("modelavg_sym.commands.weight",
               "optimal weight a*, MSE(0), MSE(1), MSE(a*) and the beneficial interval"),
    "personalize": ("modelavg_sym.commands.personalize",
                    "personalized estimate of every node's mean from per-node data: local, "
                    "global, estimated weight, estimate and estimated MSE"),
    "derive": ("modelavg_sym.commands.derive",
               "derive, verify and typeset your own setting file (SETTING.toml): page, "
               "theorems on every route, LaTeX, numeric module; exit 1 with a "
               "counterexample when a claim fails"),
    "verify": ("modelavg_sym.commands.verify",
               "run every verification route (symbolic, smt, rational, float, montecarlo) on "
               "every registered theorem and print the table; exit 1 if any check fails"),
    "simulate": ("modelavg_sym.commands.simulate",
                 "simulate the local and global sample means from numpy distributions and "
                 "compare the empirical MSE and optimal weight with the derived formulas"),
    "sweep": ("modelavg_sym.commands.sweep",
              "run the risk-study parameter sweep (expected risk of local, global, oracle and "
              "estimated weights over a grid of settings) locally or on a Dask cluster"),
    "regenerate": ("modelavg_sym.commands.regenerate",
                   "regenerate derivations/ and reports/ (pages, LaTeX, figures, "
                   "verification); --check compares without writing"),
    "bench": ("modelavg_sym.commands.bench",
              "run the benchmark suite (python -m benchmarks) and write reports/benchmarks.md"),
}


#: Longest error message printed (an error may quote hostile input of any length).
MAX_MESSAGE = 300
#: Exceptions that mean the input was unusable (exit 2); anything else is exit 1.
INPUT_ERRORS = (ValueError, TypeError, OverflowError, RecursionError, MemoryError, OSError)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) and negative numbers in any notation
    (``-1e-3``, ``-.5``, ``-inf``) taken as values, never as options."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._negative_number_matcher = re.compile(
            r"^-(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$|^-(?:inf|infinity|nan)$", re.IGNORECASE)

    def error(self, message: str) -> None:  # one line, exit 2, as argparse does
        self.exit(2, f"{self.prog}: error: {_one_line(message)}\n")


def _one_line(message: str) -> str:
    """The first line of ``message``, cut to :data:`MAX_MESSAGE` characters."""
    line = message.splitlines()[0] if message else ""
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 3] + "..."


def _chosen(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line (the first word that is not an option)."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the subcommand named in ``argv`` gets its options (all of them when
    ``argv`` is None), so only that command's module is imported."""
    from modelavg_sym import __version__

    parser = _Parser(prog="modelavg-sym",
                     description="Symbolic derivation and verification of optimal model averaging.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    chosen = None if argv is None else _chosen(argv)
    for name, (modname, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if argv is None or name == chosen:
            mod = importlib.import_module(modname)
            mod.add_arguments(p)
            p.set_defaults(_run=mod.run, _quick_exit=getattr(mod, "QUICK_EXIT", False))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``modelavg-sym`` console script: the one guard that turns every
    failure into one line on stderr and an exit code (2: unusable input, 1: a failed check
    or an internal error, 130: interrupted), never a traceback.

    Run as the program (``argv`` None), a command whose module sets ``QUICK_EXIT`` ends the
    process here (:func:`_quick_exit`) rather than returning to the interpreter's teardown."""
    program = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    code = _run(args)
    if program and getattr(args, "_quick_exit", False):
        _quick_exit(code)
    return code


def _quick_exit(code: int) -> None:
    """End the process now, as the interpreter would but without its teardown: flush
    stdout and stderr, run the ``atexit`` handlers, then ``os._exit``.  Freeing sympy's
    heap object by object, module by module, takes ~0.3 s, and nothing is left to do by
    then.  Only when no other thread runs (the interpreter would wait for it); otherwise
    this returns and the interpreter ends as usual."""
    if threading.active_count() > 1:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken pipe: nothing more to say
            pass
    atexit._run_exitfuncs()
    os._exit(code)


def _run(args: argparse.Namespace) -> int:
    """The command's exit code, every failure turned into one line on stderr."""
    try:
        return int(args._run(args) or 0)
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        print("modelavg-sym: interrupted", file=sys.stderr)
        return 130
    except INPUT_ERRORS as exc:  # InvalidParameterError, DataError, bad paths, ...
        print(f"modelavg-sym {args.command}: error: {_one_line(_describe(exc))}",
              file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: say what, without a traceback
        print(f"modelavg-sym {args.command}: internal error: {_one_line(_describe(exc))}",
              file=sys.stderr)
        return 1


def _describe(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, ValueError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush does
    not raise again (the recipe of the Python docs, 'Note on SIGPIPE')."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
