"""Scalars: a call costs at most 15x plain Python arithmetic on the same values (issue 13).

Both sides are *statement strings* timed directly by :mod:`timeit` (no lambda or function
wrapped around either side, which would add the same call overhead to both and halve
the ratio): ``m.optimal_weight(vl, vg, b)`` (default cov = 0) against the inline
expression ``vl / (vl + vg + b*b)`` with the same values bound to the same names,
interleaved, medians over repeats.

``optimal_weight(1, 0.5, 0.3)`` is timed with int, float, numpy.float64 and Fraction
arguments.  The plain side evaluates the expression on the same values as Python's own
numbers: ints and floats as they are, Fractions as Fractions (Python's exact arithmetic),
but numpy.float64 as Python floats, since arithmetic on numpy scalars is not plain Python
and is about 3x slower, which would flatter the ratio (the ratio against arithmetic on
the numpy scalars themselves is given in the note).  ``mse``, ``benefit``, ``min_mse`` and
``beneficial_interval`` are timed with float arguments.  The plain expressions are
hand-written here only, as the comparison.  The API runs its C extension when it is
built (``modelavg_sym.numeric._cscalar``, compiled at install where a C compiler is
found); the float row's note gives the exact integer path alone, measured in the same run.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from . import Row, fmt_s, goal_row, timeit_interleaved

GOAL = 15.0

#: Plain-Python statements (the comparison): the API calls below use the default cov = 0
#: (independent estimators), so the plain side is the same expression at c = 0, written as
#: a Python user would (no covariance terms to evaluate).
PLAIN = {
    "optimal_weight": "vl / (vl + vg + b*b)",
    "mse": "(1 - w) * (1 - w) * vl + w * w * (vg + b*b)",
    "benefit": "w * (2 * vl - w * (vl + vg + b*b))",
    "min_mse": "vl * (vg + b*b) / (vl + vg + b*b)",
    "beneficial_interval": "h = 2 * vl / (vl + vg + b*b); (min(0.0, h), max(0.0, h))",
}
#: The API statements (``m`` is the package).
API = {
    "optimal_weight": "m.optimal_weight(vl, vg, b)",
    "mse": "m.mse(w, vl, vg, b)",
    "benefit": "m.benefit(w, vl, vg, b)",
    "min_mse": "m.min_mse(vl, vg, b)",
    "beneficial_interval": "m.beneficial_interval(vl, vg, b)",
}

#: (label, (vl, vg, b) passed to the API, (vl, vg, b, c) of the plain side) for
#: optimal_weight(1, 0.5, 0.3).
TYPES: tuple[tuple[str, tuple[Any, ...], tuple[Any, ...]], ...] = (
    ("float", (1.0, 0.5, 0.3), (1.0, 0.5, 0.3, 0.0)),
    ("int", (1, 0.5, 0.3), (1, 0.5, 0.3, 0.0)),
    ("np.float64", (np.float64(1), np.float64(0.5), np.float64(0.3)), (1.0, 0.5, 0.3, 0.0)),
    ("Fraction", (Fraction(1), Fraction(1, 2), Fraction(3, 10)),
     (Fraction(1), Fraction(1, 2), Fraction(3, 10), Fraction(0))),
)


def _label(kind: str) -> str:
    if kind == "float":  # the label the test-suite looks for
        return "2. scalar optimal_weight(1.0, 0.5, 0.3) vs plain Python"
    return f"2. scalar optimal_weight(1, 0.5, 0.3), {kind} arguments, vs plain Python"


def plain_value(name: str, namespace: dict[str, Any]) -> Any:
    """The value of the plain statement for ``name`` (its last expression)."""
    ns = dict(namespace)
    *before, last = PLAIN[name].split("; ")
    for stmt in before:
        exec(stmt, ns)
    return eval(last, ns)


def _check(name: str, got: Any, want: Any) -> None:
    """The API and the plain statement agree (both sides compute the same thing)."""
    if not np.allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float),
                       rtol=1e-12, atol=0):
        raise AssertionError(f"{name}: the API gives {got}, the plain statement {want}")


def _pair(api_ns: dict[str, Any], plain_ns: dict[str, Any], name: str, repeats: int,
          number: int) -> dict[str, float]:
    """Medians of the API statement (names bound by ``api_ns``) and the plain statement
    (names bound by ``plain_ns``), interleaved."""
    return timeit_interleaved({"api": (API[name], api_ns), "plain": (PLAIN[name], plain_ns)},
                              repeats, number)


def _exact_path_note(api_ns: dict[str, Any], plain_ns: dict[str, Any], repeats: int,
                     number: int) -> str:
    """Where the C extension is built: the same call on the exact integer path alone (what
    an install without a C compiler runs), in the same run."""
    from modelavg_sym.numeric import _generated as gen
    from modelavg_sym.numeric.api import without_c_extension

    if not gen.C_EXTENSION:
        return "; C extension not built: the exact integer path answers"
    with without_c_extension():
        med = _pair(api_ns, plain_ns, "optimal_weight", repeats, number)
    return (f"; C extension in use (exact integer path alone, as without a C compiler: "
            f"{fmt_s(med['api'])}, {med['api'] / med['plain']:.1f}x)")


def run(quick: bool = False, repeats: int | None = None) -> list[Row]:
    import modelavg_sym as m

    repeats = repeats or (5 if quick else 9)
    number = 20_000 if quick else 100_000
    rows: list[Row] = []
    floats = {"vl": 1.0, "vg": 0.5, "b": 0.3, "c": 0.0, "w": 0.2}
    for kind, (vl, vg, b), plain_vals in TYPES:
        api_ns: dict[str, Any] = {"m": m, "vl": vl, "vg": vg, "b": b}
        plain_ns = dict(zip(("vl", "vg", "b", "c"), plain_vals, strict=True))
        # the first call also builds anything built on first use
        _check(f"optimal_weight ({kind})", eval(API["optimal_weight"], api_ns),
               plain_value("optimal_weight", plain_ns))
        med = _pair(api_ns, plain_ns, "optimal_weight", repeats, number)
        note = f"timeit of statement strings, {repeats} x {number} executions, medians"
        if kind == "np.float64":
            own = _pair(api_ns, {"vl": vl, "vg": vg, "b": b, "c": np.float64(0)},
                        "optimal_weight", repeats, number)
            note += (f"; plain arithmetic on the numpy scalars themselves: "
                     f"{fmt_s(own['plain'])} ({own['api'] / own['plain']:.1f}x)")
        if kind == "float":
            note += _exact_path_note(api_ns, plain_ns, repeats, number)
        if kind == "Fraction":
            fl = _pair(api_ns, floats, "optimal_weight", repeats, number)
            note += (f"; plain arithmetic on Python floats: {fmt_s(fl['plain'])} "
                     f"({fl['api'] / fl['plain']:.1f}x)")
        ratio = med["api"] / med["plain"]
        rows.append(goal_row(_label(kind), f"{fmt_s(med['api'])} vs {fmt_s(med['plain'])}",
                             ratio, GOAL, note))
    for name in ("mse", "benefit", "min_mse", "beneficial_interval"):
        ns = {"m": m, **floats}
        _check(name, eval(API[name], ns), plain_value(name, ns))
        med = _pair(ns, floats, name, repeats, number)
        ratio = med["api"] / med["plain"]
        rows.append(goal_row(f"2. scalar {name}, float arguments, vs plain Python",
                             f"{fmt_s(med['api'])} vs {fmt_s(med['plain'])}", ratio, GOAL))
    return rows


if __name__ == "__main__":
    from .__main__ import main

    raise SystemExit(main(["--only", "scalar"]))
