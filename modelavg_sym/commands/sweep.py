"""``modelavg-sym sweep``: the risk study of the weight estimators over a grid of settings,
on local worker processes or a Dask distributed scheduler (identical results)."""

from __future__ import annotations

import argparse
import json

from modelavg_sym.commands.options import add_scheduler_timeout


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="ci", metavar="ci|full",
                   help="grid and replications: 'ci' (small, seconds; default) or 'full'")
    p.add_argument("--workers", type=int, default=1,
                   help="local worker processes (results do not depend on it)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="run the grid cells on a Dask distributed scheduler instead "
                        "(bitwise identical results)")
    add_scheduler_timeout(p)
    p.add_argument("--json", action="store_true",
                   help="print a JSON list of rows (noise, nodes, n, tau2_ratio, method, "
                        "risk, se, benefit, benefit_se, reps)")


def run(args: argparse.Namespace) -> int:
    from modelavg_sym.runtime.pool import check_scheduler_address
    from modelavg_sym.simulation.risk import render_markdown, risk_table

    scheduler = (None if args.scheduler is None  # checked before any work, named as a flag
                 else check_scheduler_address(args.scheduler, "--scheduler"))
    rows = risk_table(args.profile, workers=args.workers, scheduler=scheduler,
                      scheduler_timeout=args.scheduler_timeout)
    if args.json:
        print(json.dumps(rows, sort_keys=True, allow_nan=False))
    else:
        print(render_markdown(rows), end="")
    return 0
