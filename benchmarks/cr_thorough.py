"""The thorough correct-rounding run (issue 12, deliver 1): >= 10^6 inputs per function.

``python -m benchmarks.cr_thorough`` runs the two hypothesis properties of
``tests/test_rounding.py`` under the ``thorough`` profile (10^4 examples of exactly 100
points each, aimed at cancellation, the Cauchy-Schwarz boundary, weights near a* and 2a*,
the whole float range, subnormals and overflow).  Every point is checked for all five
functions against an exact Fraction reference, on the scalar path and on every array path
(numba loops and numpy arithmetic), bit for bit; a misrounded result fails the property
(hypothesis then shrinks and reports it).  It prints the points checked per function, the
run time and the fallback rate of the array paths (the share of elements the
double-double bound could not decide, evaluated exactly) on these adversarial inputs, and,
for comparison, on 10^7 ordinary inputs (the benchmark distribution of
``benchmarks/bench_kernels.py``).  Not part of ``python -m benchmarks``: it takes tens of
minutes.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from . import ROOT


def _ordinary_fallback(n: int) -> dict[str, tuple[int, int]]:
    """(flagged elements, n) per function on n ordinary inputs (one call each)."""
    from modelavg_sym.numeric import api

    rng = np.random.default_rng(2024)
    vl, vg = rng.uniform(0.1, 2.0, n), rng.uniform(0.1, 2.0, n)
    cv = rng.uniform(-0.9, 0.9, n) * np.sqrt(vl * vg)
    b, w = rng.normal(size=n), rng.uniform(-1.0, 2.0, n)
    out = {}
    for name in api.API:
        api.fallback_stats(reset=True)
        args = (w, vl, vg, b, cv) if name in ("mse", "benefit") else (vl, vg, b, cv)
        api.API[name](*args)
        stats = api.fallback_stats(reset=True)
        out[name] = (stats["exact"], stats["elements"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cr_thorough",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=None,
                        help="hypothesis examples per property (default: the thorough "
                        "profile's 10^4; 5000 still gives 10^6 points per function)")
    args = parser.parse_args(argv)
    os.environ["HYPOTHESIS_PROFILE"] = "thorough"
    sys.path.insert(0, str(ROOT / "tests"))
    from modelavg_sym.numeric import api
    from modelavg_sym.verify.profiles import register_hypothesis_profiles

    register_hypothesis_profiles()
    from hypothesis import HealthCheck, settings

    if args.examples is not None:
        settings.register_profile("thorough", max_examples=args.examples, deadline=None,
                                  suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("thorough")
    import test_rounding as tr

    assert tr.THOROUGH and tr.BATCH == 100
    print(f"array paths checked: {', '.join(tr.BACKENDS)}", flush=True)
    api.fallback_stats(reset=True)
    start = time.perf_counter()
    for test in (tr.test_correctly_rounded_scalar_and_arrays,
                 tr.test_correctly_rounded_under_cancellation):
        t0 = time.perf_counter()
        test()  # raises on the first misrounded result
        print(f"{test.__name__}: passed in {time.perf_counter() - t0:.0f} s", flush=True)
    elapsed = time.perf_counter() - start
    stats = api.fallback_stats(reset=True)
    print(f"points checked per function (scalar path, and each array path on the valid "
          f"ones): {tr.COUNTS}")
    print(f"misrounded: 0; run time {elapsed:.0f} s")
    print(f"array-path fallback on these adversarial inputs: {stats['exact']} of "
          f"{stats['elements']} elements ({stats['exact'] / max(1, stats['elements']):.2%})")
    for name, (bad, n) in _ordinary_fallback(10**7).items():
        print(f"array-path fallback on 10^7 ordinary inputs, {name}: {bad} of {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
