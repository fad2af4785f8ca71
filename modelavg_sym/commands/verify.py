"""``modelavg-sym verify``: run every verification route on every registered theorem."""

from __future__ import annotations

import argparse
import sys

from modelavg_sym.theorems import ALL_ROUTES
from modelavg_sym.verify.profiles import PROFILES
from modelavg_sym.verify.report import failures, render_json, render_markdown, verification_table


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true",
                   help="print a JSON list, one object per theorem and route")
    p.add_argument("--profile", choices=list(PROFILES), default="ci",
                   help="examples per property test and SMT time limit (default ci)")
    p.add_argument("--theorem", action="append", metavar="NAME", default=None,
                   help="only this theorem (repeatable; default all)")
    p.add_argument("--route", action="append", choices=list(ALL_ROUTES), default=None,
                   help="only this route (repeatable; default all five)")
    p.add_argument("--smt-timeout", type=float, default=None, metavar="SECONDS",
                   help="z3 time limit per query (default: 10 s for ci/dev, 60 s for thorough)")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="run the checks in N worker processes (default 1)")
    p.add_argument("--no-times", action="store_true",
                   help="omit timings from the table (deterministic output)")


def run(args: argparse.Namespace) -> int:
    if args.smt_timeout is not None and not args.smt_timeout > 0:
        raise ValueError(f"--smt-timeout must be > 0 seconds, got {args.smt_timeout}")
    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    results = verification_table(args.profile, args.theorem, args.route, args.smt_timeout,
                                 jobs=args.jobs)
    if args.json:
        print(render_json(results))
    else:
        print(render_markdown(results, with_times=not args.no_times), end="")
    bad = failures(results)
    if bad:
        print(f"modelavg-sym verify: {len(bad)} check(s) failed", file=sys.stderr)
        return 1
    return 0
