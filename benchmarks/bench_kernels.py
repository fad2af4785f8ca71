"""Target 1: compiled functions on 10^7 float64 points, validation included.

For each of ``optimal_weight``, ``mse`` and ``benefit`` (every argument an array), three
timings side by side:

* the public API (validation included);
* the unvalidated hand-written numpy expression (written here only, as the comparison);
* the memory-bandwidth floor: ``np.copyto`` between two arrays whose total size equals
  the inputs plus the output (k inputs + 1 output of n float64 -> copy of (k+1)n/2).

Goals: API <= 1.0x numpy, API <= 1.5x floor.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from . import Row, fmt_s, interleaved, row

N_FULL = 10**7
N_QUICK = 10**6


def _inputs(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence(2024))
    vl = rng.uniform(0.1, 2.0, n)
    vg = rng.uniform(0.1, 2.0, n)
    cv = rng.uniform(-1.0, 1.0, n) * np.sqrt(vl * vg)
    return {"w": rng.uniform(-1.0, 2.0, n), "vl": vl, "vg": vg,
            "b": rng.normal(size=n), "cv": cv}


# Hand-written, unvalidated numpy expressions: the comparison, never used by the package.
def _np_optimal_weight(vl, vg, b, cv):
    return (vl - cv) / (vl + vg - 2 * cv + b * b)


def _np_mse(w, vl, vg, b, cv):
    return (1 - w) ** 2 * vl + w**2 * (vg + b * b) + 2 * w * (1 - w) * cv


def _np_benefit(w, vl, vg, b, cv):
    d = vl + vg - 2 * cv + b * b
    return d * w * (2 * (vl - cv) / d - w)


def _numexpr_kernel(name: str) -> Any:
    """The derived form lambdified with ``modules="numexpr"``, or None without numexpr."""
    try:
        import numexpr  # noqa: F401
    except ImportError:
        return None
    import sympy as sp

    import modelavg_sym.numeric.api as api

    expr, args = api.forms()[name]
    return sp.lambdify(args, expr, modules="numexpr")


def run(quick: bool = False, repeats: int | None = None) -> list[Row]:
    import modelavg_sym.numeric.api as api

    n = N_QUICK if quick else N_FULL
    repeats = repeats or (5 if quick else 9)
    x = _inputs(n)
    rows: list[Row] = []
    backend = api.backend()
    cases: list[tuple[str, Any, tuple[np.ndarray, ...]]] = [
        ("optimal_weight", _np_optimal_weight, (x["vl"], x["vg"], x["b"], x["cv"])),
        ("mse", _np_mse, (x["w"], x["vl"], x["vg"], x["b"], x["cv"])),
        ("benefit", _np_benefit, (x["w"], x["vl"], x["vg"], x["b"], x["cv"])),
    ]
    for name, hand, args in cases:
        fn = api.API[name]
        half = (len(args) + 1) * n // 2
        src = np.ones(half)
        dst = np.zeros(half)
        t0 = time.perf_counter()
        fn(*args)  # first call: JIT compile or load from numba's cache
        first = time.perf_counter() - t0
        fns = {
            "api": lambda fn=fn, args=args: fn(*args),
            "numpy": lambda hand=hand, args=args: hand(*args),
            "floor": lambda src=src, dst=dst: np.copyto(dst, src),
        }
        ne_fn = _numexpr_kernel(name)
        if ne_fn is not None:
            fns["numexpr"] = lambda ne_fn=ne_fn, args=args: ne_fn(*args)
        med = interleaved(fns, repeats)
        del src, dst
        r_np = med["api"] / med["numpy"]
        r_floor = med["api"] / med["floor"]
        size = f"n={n:.0e}"
        rows.append(row(
            f"1. {name} (validated) vs hand-written numpy, {size}",
            f"{fmt_s(med['api'])} vs {fmt_s(med['numpy'])}", r_np, "<= 1.0", r_np <= 1.0,
            f"backend {backend}; first call {fmt_s(first)}"))
        rows.append(row(
            f"1. {name} (validated) vs bandwidth floor, {size}",
            f"{fmt_s(med['api'])} vs {fmt_s(med['floor'])}", r_floor, "<= 1.5",
            r_floor <= 1.5, f"floor: np.copyto of {len(args) + 1} x {n:.0e} float64 in total"))
        if "numexpr" in med:
            rows.append(row(
                f"1. (for comparison) numexpr {name}, unvalidated, vs floor, {size}",
                f"{fmt_s(med['numexpr'])} vs {fmt_s(med['floor'])}",
                med["numexpr"] / med["floor"], "-", None,
                "lambdify(modules='numexpr') of the same derived form: the alternative "
                "to the numba loops, without any validation"))
    return rows


if __name__ == "__main__":
    from .__main__ import main

    raise SystemExit(main(["--only", "kernels"]))
