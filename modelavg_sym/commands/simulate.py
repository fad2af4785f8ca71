"""``modelavg-sym simulate``: predicted against simulated MSE for real distributions."""

from __future__ import annotations

import argparse
import json

from modelavg_sym.commands.options import add_scheduler_timeout


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--local", required=True, metavar="SPEC",
                   help="local distribution, e.g. 'exponential(scale=2)' (numpy Generator "
                        "method and arguments; 'mixture(0.3*normal(0,1), 0.7*gamma(2))')")
    p.add_argument("--n-local", type=int, required=True, help="samples at the local node")
    p.add_argument("--global", dest="global_", required=True, metavar="SPEC",
                   help="distribution of the other node's data, e.g. 'binomial(n=1, p=0.3)'")
    p.add_argument("--n-global", type=int, required=True, help="samples behind the global model")
    p.add_argument("--node", nargs=2, action="append", default=[], metavar=("SPEC", "N"),
                   help="a further node pooled into the global model (repeatable)")
    p.add_argument("--include-local", action="store_true",
                   help="pool the local data into the global model too (then c != 0)")
    p.add_argument("--uniform", action="store_true",
                   help="equal node weights in the global model instead of sample sizes")
    p.add_argument("--weight", type=float, default=0.5, help="weight a on the global model")
    p.add_argument("--reps", type=int, default=100_000, help="replications R")
    p.add_argument("--seed", type=int, default=0, help="root seed (numpy SeedSequence)")
    p.add_argument("--confidence", type=float, default=0.999,
                   help="confidence level of the intervals (default 0.999)")
    p.add_argument("--workers", type=int, default=1,
                   help="local worker processes (results do not depend on it)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="run on a Dask distributed scheduler instead (identical results)")
    add_scheduler_timeout(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from modelavg_sym.errors import InvalidParameterError
    from modelavg_sym.runtime.pool import check_scheduler_address
    from modelavg_sym.simulation.distributions import parse
    from modelavg_sym.simulation.engine import simulate
    from modelavg_sym.simulation.model import SimulationSetup

    scheduler = (None if args.scheduler is None  # checked before any work, named as a flag
                 else check_scheduler_address(args.scheduler, "--scheduler"))
    specs = [("--local", args.local, args.n_local), ("--global", args.global_, args.n_global)]
    for k, (spec, n) in enumerate(args.node):
        try:
            size = int(n)
        except ValueError:
            raise InvalidParameterError(f"--node {k + 1} N", "must be an integer >= 1",
                                        f"got {n!r}") from None
        specs.append((f"--node {k + 1}", spec, size))
    nodes = []
    for opt, spec, n in specs:
        if n < 1:
            name = {"--local": "--n-local", "--global": "--n-global"}.get(opt, f"{opt} N")
            raise InvalidParameterError(name, "must be an integer >= 1", f"got {n}")
        try:
            nodes.append((parse(spec), n))
        except InvalidParameterError as exc:
            detail = str(exc)[len(f"{exc.parameter}: {exc.constraint}"):]
            if detail.startswith(" (") and detail.endswith(")"):
                detail = detail[2:-1]
            raise InvalidParameterError(f"{opt} {exc.parameter}", exc.constraint,
                                        detail) from None
    setting = SimulationSetup.from_nodes(nodes, include_local=args.include_local,
                                         weighting="uniform" if args.uniform else "size")
    res = simulate(setting, args.reps, args.seed, workers=args.workers,
                   scheduler=scheduler, confidence=args.confidence,
                   scheduler_timeout=args.scheduler_timeout)
    out = res.summary(args.weight)
    if args.json:
        print(json.dumps(out, sort_keys=True, allow_nan=False))
        return 0
    conf = f"{out['confidence']:.4g}"
    print(f"setting                  {out['setting']}")
    print(f"s_L, s_G, Delta, c       {out['var_local']:.6g}, {out['var_global']:.6g}, "
          f"{out['bias']:.6g}, {out['cov']:.6g}")
    print(f"predicted MSE({args.weight:g})       {out['predicted_mse']:.6g}")
    print(f"empirical MSE({args.weight:g})       {out['empirical_mse']:.6g}  "
          f"({conf} CI [{out['ci_low']:.6g}, {out['ci_high']:.6g}], R = {out['reps']})")
    print(f"agree                    {'yes' if out['agrees'] else 'NO'}")
    if out["optimal_weight"] is None:
        print("optimal weight a*        undefined (D = 0: every weight has the same MSE)")
    else:
        lo, hi = out["empirical_optimal_weight_ci"]
        verdict = "agrees" if out["optimal_weight_agrees"] else "DISAGREES"
        print(f"optimal weight a*        {out['optimal_weight']:.6g}")
        print(f"empirical optimal weight {out['empirical_optimal_weight']:.6g}  "
              f"({conf} CI [{lo:.6g}, {hi:.6g}]; {verdict})")
    if not out["ci_valid"]:
        print("warning: a distribution has an infinite 4th moment; the standard errors (and "
              "so the intervals) are not reliable")
    return 0
