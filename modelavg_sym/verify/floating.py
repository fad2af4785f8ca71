"""Floating-point route: the compiled numeric API against 50-digit evaluation.

For each compiled function a theorem concerns, hypothesis draws float inputs over
1e-150 .. 1e150 (valid by construction), calls the public function (scalar path and array
path), and compares with the *canonical derived expression* evaluated by mpmath at 50
significant digits (plus the decimal spread of the inputs' magnitudes, so that no term is
lost) from the exact binary values of the inputs.  The allowed error is the first-order
rounding bound of a backward-stable evaluation,

    |f_hat - f| <= C (eps (|f| + sum_i |x_i df/dx_i|) + 2^-1074),    C = 16,

where the sum (the condition number times |f|) is also evaluated at 50 digits.  So the
tolerance grows only where the problem itself is ill-conditioned, never by choice.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import mpmath
import numpy as np
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelavg_sym.derive.core import two_estimator
from modelavg_sym.numeric import api
from modelavg_sym.symbols import Delta, a, c, s_G, s_L
from modelavg_sym.theorems import Theorem
from modelavg_sym.verify import RouteResult
from modelavg_sym.verify.profiles import PROFILES
from modelavg_sym.verify.strategies import float_params, float_weights

C_ROUNDING = 16
EPS = float(np.finfo(np.float64).eps)
TINY = 2.0**-1074  # spacing of float64 numbers in the subnormal range
_ARGS_W = (a, s_L, s_G, Delta, c)
_ARGS = (s_L, s_G, Delta, c)


def canonical(name: str) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """The canonical derived expression a public function is meant to compute."""
    d = two_estimator()
    return {
        "optimal_weight": (d["optimal_weight"], _ARGS),
        "mse": (d["mse"], _ARGS_W),
        "benefit": (d["benefit"], _ARGS_W),
        "min_mse": (d["min_mse"], _ARGS),
        "beneficial_interval": (d["benefit_root_high"], _ARGS),
    }[name]


@cache
def _reference(expr: sp.Expr, args: tuple[sp.Symbol, ...]) -> Callable[..., tuple[Any, Any]]:
    sens = sum(sp.Abs(x * sp.diff(expr, x)) for x in args)
    f = sp.lambdify(args, [expr, sens], modules="mpmath")
    return f


def reference(
    expr: sp.Expr, args: tuple[sp.Symbol, ...], values: tuple[float, ...]
) -> tuple[mpmath.mpf, mpmath.mpf]:
    """(value, rounding bound) of ``expr`` at ``values``, at 50 digits."""
    # 50 significant digits beyond the inputs' own spread of magnitudes, so that sums of
    # terms of very different size (s_L + Delta^2 with Delta = 1e150) are still exact
    exps = [mpmath.mag(v) for v in values if v != 0]
    spread = int(2 * (max(exps) - min(exps)) * 0.30103) if exps else 0
    with mpmath.workdps(50 + spread):
        val, sens = _reference(expr, args)(*[mpmath.mpf(v) for v in values])
        # first-order rounding bound, plus the absolute spacing of subnormal numbers
        bound = C_ROUNDING * (EPS * (abs(val) + sens) + TINY)
        return val, bound


def _public_value(name: str, w: float, p: tuple[float, ...], vector: bool) -> float:
    fn = api.API[name]
    if vector:
        arr = [np.array([x, x]) for x in p]
        out = fn(np.array([w, w]), *arr) if name in ("mse", "benefit") else fn(*arr)
        if name == "beneficial_interval":
            lo, hi = out
            return float(lo[0] if hi[0] == 0 else hi[0])
        return float(out[0])
    out = fn(w, *p) if name in ("mse", "benefit") else fn(*p)
    if name == "beneficial_interval":
        lo, hi = out
        return lo if hi == 0 else hi
    return out


def compare(
    name: str, w: float, p: tuple[float, ...], vector: bool, ref_expr: sp.Expr | None = None
) -> tuple[bool, str]:
    """Check one public function at one point; returns (ok, message)."""
    expr, args = canonical(name)
    if ref_expr is not None:
        expr = ref_expr
    values = (w, *p) if args[0] == a else p
    got = _public_value(name, w, p, vector)
    try:
        want, bound = reference(expr, args, values)
    except ZeroDivisionError:
        return False, f"{name}{values}: got {got!r}, but the reference is undefined there"
    err = abs(mpmath.mpf(got) - want)
    ok = bool(err <= bound)
    return (
        ok,
        f"{name}{values}: got {got!r}, want {mpmath.nstr(want, 20)}, "
        f"err {mpmath.nstr(err, 3)} > bound {mpmath.nstr(bound, 3)}",
    )


def check(
    thm: Theorem, profile: str = "ci", references: dict[str, sp.Expr] | None = None
) -> RouteResult:
    """Float route for ``thm``: every function in ``thm.functions`` within its bound.

    ``references`` overrides canonical expressions (used to show the route rejects a
    deliberately wrong formula).
    """
    if not thm.functions:
        return RouteResult(thm.name, "float", "not-applicable", detail="no compiled function")
    n = PROFILES[profile].examples
    independent = thm.derivation == "independent"
    counter = {"ok": 0}
    msgs: list[str] = []

    @settings(
        max_examples=n,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(float_params(independent=independent), float_weights(), st.booleans())
    def prop(p: tuple[float, ...], w: float, vector: bool) -> None:
        for name in thm.functions:
            ok, msg = compare(name, w, p, vector, (references or {}).get(name))
            if not ok:
                msgs.append(msg)
            assert ok, msg
        counter["ok"] += 1

    try:
        prop()
    except AssertionError:
        return RouteResult(
            thm.name, "float", "failed", examples=counter["ok"], detail=msgs[-1] if msgs else ""
        )
    return RouteResult(
        thm.name,
        "float",
        "passed",
        examples=counter["ok"],
        detail=f"{counter['ok']} float examples, functions {', '.join(thm.functions)}",
    )
