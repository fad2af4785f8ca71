"""Benchmark of the simulation engine (issue 7, target 3), every ratio measured side by side.

Rows (``run()`` returns them; ``python benchmarks/bench_simulation.py`` prints them):

* exact-law check, n = 10^4 vs n = 10 samples per node (same replications), per family with
  a known law of the sum: time of simulate + summary; goal ratio <= 1.5.
* chunked streaming rate vs numpy's raw sampling rate for families without such a law:
  draws per second of the engine's sample means (``Distribution.sample_mean``) and of a
  whole ``simulate`` run, over the rate of one large ``Generator.<method>(size=N)`` call;
  goal >= 0.7.
* peak traced memory (tracemalloc) of simulate with R = 2^20 over R = 2^16: goal <= 1.1
  (memory independent of R).
* 1 vs 2 local worker processes on a large run (pool warmed up first): goal speed-up >= 1.6.

Timings are medians over ``repeats``, the two sides of each ratio interleaved.
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script from a fresh clone
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modelavg_sym.distributions import parse
from modelavg_sym.simulate import Setting, simulate

EXACT = ("normal(1, 2)", "binomial(n=1, p=0.3)", "poisson(lam=2)", "gamma(shape=2, scale=1.5)",
         "geometric(p=0.3)")
STREAMED = ("lognormal(0, 0.5)", "standard_t(df=5)", "beta(2, 5)", "uniform(0, 1)")


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _side_by_side(a: Callable[[], Any], b: Callable[[], Any], repeats: int
                  ) -> tuple[float, float]:
    """Medians of interleaved timings of ``a`` and ``b`` (after one warm-up each)."""
    a()
    b()
    ta, tb = [], []
    for _ in range(repeats):
        ta.append(_timed(a))
        tb.append(_timed(b))
    return statistics.median(ta), statistics.median(tb)


def _row(target: str, measured: str, ratio: float, goal: str, met: bool) -> dict[str, Any]:
    return {"target": target, "measured": measured, "ratio": round(ratio, 3), "goal": goal,
            "met": bool(met)}


def bench_exact(repeats: int, reps: int) -> list[dict[str, Any]]:
    rows = []
    for spec in EXACT:
        def check(n: int, spec: str = spec) -> None:
            res = simulate(Setting.two_estimator(spec, n, "poisson(lam=3)", n), reps, seed=1)
            res.summary(0.5)

        t_small, t_big = _side_by_side(lambda: check(10), lambda: check(10_000), repeats)
        ratio = t_big / t_small
        rows.append(_row(f"exact-law check n=1e4 vs n=10, {spec}",
                         f"{t_big * 1e3:.1f} ms vs {t_small * 1e3:.1f} ms (R={reps})",
                         ratio, "<= 1.5", ratio <= 1.5))
    return rows


def bench_streaming(repeats: int, draws: int) -> list[dict[str, Any]]:
    rows = []
    n = 100
    for spec in STREAMED:
        d = parse(spec)
        method = getattr(np.random.Generator, d.family.name)  # type: ignore[attr-defined]
        rng = np.random.default_rng(0)

        def raw(d: Any = d, method: Any = method, rng: Any = rng) -> None:
            method(rng, **d.params, size=draws)

        def stream(d: Any = d, rng: Any = rng) -> None:
            d.sample_mean(rng, n, draws // n)

        t_raw, t_stream = _side_by_side(raw, stream, repeats)
        ratio = t_raw / t_stream
        rows.append(_row(f"streamed sample means vs numpy raw rate, {spec}",
                         f"{draws / t_stream / 1e6:.1f} vs {draws / t_raw / 1e6:.1f} Mdraws/s "
                         f"(n={n})", ratio, ">= 0.7", ratio >= 0.7))
    spec = STREAMED[0]
    d = parse(spec)
    setting = Setting.two_estimator(spec, n, spec, n)
    reps = draws // (2 * n)

    def raw_all() -> None:
        np.random.default_rng(0).lognormal(**d.params, size=2 * n * reps)  # type: ignore[attr-defined]

    t_raw, t_sim = _side_by_side(raw_all, lambda: simulate(setting, reps, seed=2), repeats)
    ratio = t_raw / t_sim
    rows.append(_row(f"whole simulate run vs numpy raw rate, {spec} both nodes",
                     f"{2 * n * reps / t_sim / 1e6:.1f} vs {2 * n * reps / t_raw / 1e6:.1f} "
                     f"Mdraws/s (n={n}, R={reps})", ratio, ">= 0.7", ratio >= 0.7))
    return rows


def _peak(setting: Setting, reps: int) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    simulate(setting, reps, seed=3)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def bench_memory(small: int, big: int) -> list[dict[str, Any]]:
    setting = Setting.two_estimator("lognormal(0, 0.5)", 10, "beta(2, 5)", 10)
    _peak(setting, small)  # warm caches (compiled kernels, imports)
    p_small, p_big = _peak(setting, small), _peak(setting, big)
    ratio = p_big / p_small
    return [_row("peak memory independent of R (tracemalloc)",
                 f"{p_big / 2**20:.1f} MiB at R={big} vs {p_small / 2**20:.1f} MiB at R={small}",
                 ratio, "<= 1.1", ratio <= 1.1)]


def bench_workers(repeats: int, reps: int) -> list[dict[str, Any]]:
    setting = Setting.two_estimator("lognormal(0, 0.5)", 100, "standard_t(df=5)", 100)
    t1, t2 = _side_by_side(lambda: simulate(setting, reps, seed=4, workers=1),
                           lambda: simulate(setting, reps, seed=4, workers=2), repeats)
    ratio = t1 / t2
    return [_row("speed-up 1 -> 2 local worker processes",
                 f"{t1:.2f} s vs {t2:.2f} s (R={reps}, 2 x 100 draws per replication)",
                 ratio, ">= 1.6", ratio >= 1.6)]


def run(repeats: int = 5, scale: float = 1.0) -> list[dict[str, Any]]:
    """All rows; ``scale`` multiplies the problem sizes (use < 1 for a quick look)."""
    s = max(scale, 1e-3)
    rows: list[dict[str, Any]] = []
    rows += bench_exact(repeats, int(200_000 * s))
    rows += bench_streaming(repeats, int(2**23 * s))
    rows += bench_memory(int(2**16 * s), int(2**20 * s))
    rows += bench_workers(max(3, repeats // 2), int(2**19 * s))
    return rows


def main() -> None:
    rows = run(scale=float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
    width = max(len(r["target"]) for r in rows)
    for r in rows:
        print(f"{r['target']:<{width}}  {r['ratio']:>7.3f}  goal {r['goal']:<7} "
              f"{'met' if r['met'] else 'NOT MET'}  ({r['measured']})")


if __name__ == "__main__":
    main()
