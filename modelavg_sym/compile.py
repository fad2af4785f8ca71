"""Compiled, validated numeric API generated from the derived expressions.

Each public function evaluates an expression produced by :mod:`modelavg_sym.derive`,
lambdified once (``modules`` pinned, CSE on, cached) and never retyped.  The numerically
stable form of each quantity is chosen in one place, :data:`FORMS`:

* ``mse``: the unexpanded sum of second moments (1-a)^2 s_L + a^2 (s_G + Delta^2)
  + 2a(1-a)c, a sum of nonnegative terms when c >= 0 (no cancellation);
* ``benefit``: the product form D a (2a* - a) (R4), never a difference of two MSEs;
* ``min_mse``: the same sum of second moments evaluated at a*.

Scalars in give Python floats out (through a ``math``-module path that skips numpy's
per-call overhead); arrays broadcast.  Input validation raises
:class:`~modelavg_sym.errors.InvalidParameterError` naming the parameter and constraint.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import sympy as sp

from .derive import two_estimator
from .errors import InvalidParameterError, UndefinedOptimumError
from .symbols import Delta, a, c, s_G, s_L

ArrayLike = npt.ArrayLike
FloatOrArray = float | npt.NDArray[np.float64]

#: Argument order of every compiled function (weight first when present).
PARAM_ARGS: tuple[str, ...] = ("var_local", "var_global", "bias", "cov")
_PARAM_SYMBOLS = (s_L, s_G, Delta, c)


def _forms() -> dict[str, tuple[sp.Expr, tuple[sp.Symbol, ...]]]:
    d = two_estimator()
    a_star = d["optimal_weight"]
    return {
        "optimal_weight": (a_star, _PARAM_SYMBOLS),
        "mse": (d["mse_terms"], (a, *_PARAM_SYMBOLS)),
        "benefit": (d["benefit_factored"], (a, *_PARAM_SYMBOLS)),
        "min_mse": (d["mse_terms"].subs(a, a_star), _PARAM_SYMBOLS),
        "interval_high": (d["benefit_root_high"], _PARAM_SYMBOLS),
        "D": (d["D"], _PARAM_SYMBOLS),
    }


@cache
def forms() -> dict[str, tuple[sp.Expr, tuple[sp.Symbol, ...]]]:
    """The expression (and its argument symbols) that each compiled function evaluates."""
    return _forms()


@dataclass(frozen=True)
class Kernel:
    """A lambdified expression in two flavours: numpy (arrays) and math (scalars)."""

    name: str
    expr: sp.Expr
    args: tuple[sp.Symbol, ...]
    vector: Callable[..., Any]
    scalar: Callable[..., float]

    def source(self) -> str:
        """The generated numpy source, for review in reports/."""
        return inspect.getsource(self.vector)


@cache
def kernel(name: str) -> Kernel:
    """Lambdify the form ``name`` once (numpy and math modules pinned, CSE on)."""
    expr, args = forms()[name]
    vector = sp.lambdify(args, expr, modules="numpy", cse=True, docstring_limit=0)
    scalar = sp.lambdify(args, expr, modules="math", cse=True, docstring_limit=0)
    return Kernel(name, expr, args, vector, scalar)


# --------------------------------------------------------------------------- validation

_EPS = np.finfo(np.float64).eps
#: Relative slack for the Cauchy-Schwarz check, so that cov = sqrt(var_local*var_global)
#: computed in floating point is not rejected for rounding alone.
_CS_SLACK = 8 * _EPS


def _is_scalar(*xs: Any) -> bool:
    return all(isinstance(x, int | float) or (np.ndim(x) == 0) for x in xs)


def _check_scalar(name: str, x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise InvalidParameterError(name, "must be a real number", f"got {x!r}") from None
    if not math.isfinite(v):
        raise InvalidParameterError(name, "must be finite", f"got {v}")
    return v


def _check_array(name: str, x: Any) -> npt.NDArray[np.float64]:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(name, "must be an array of real numbers") from None
    if not np.isfinite(arr).all():
        bad = arr[~np.isfinite(arr)].flat[0]
        raise InvalidParameterError(name, "must be finite", f"got {bad}")
    return arr


def _check_params_scalar(vl: Any, vg: Any, b: Any, cv: Any) -> tuple[float, ...]:
    vl, vg, b, cv = (_check_scalar(n, x) for n, x in zip(PARAM_ARGS, (vl, vg, b, cv), strict=True))
    if vl < 0:
        raise InvalidParameterError("var_local", "must be >= 0", f"got {vl}")
    if vg < 0:
        raise InvalidParameterError("var_global", "must be >= 0", f"got {vg}")
    if cv * cv > vl * vg * (1 + _CS_SLACK):
        raise InvalidParameterError(
            "cov", "must satisfy cov^2 <= var_local * var_global (Cauchy-Schwarz)",
            f"got cov={cv}, var_local={vl}, var_global={vg}")
    return vl, vg, b, cv


def _check_params_array(vl: Any, vg: Any, b: Any, cv: Any) -> tuple[npt.NDArray[np.float64], ...]:
    vl, vg, b, cv = (_check_array(n, x) for n, x in zip(PARAM_ARGS, (vl, vg, b, cv), strict=True))
    if (vl < 0).any():
        raise InvalidParameterError("var_local", "must be >= 0", f"got {vl[vl < 0].flat[0]}")
    if (vg < 0).any():
        raise InvalidParameterError("var_global", "must be >= 0", f"got {vg[vg < 0].flat[0]}")
    if (cv * cv > vl * vg * (1 + _CS_SLACK)).any():
        raise InvalidParameterError(
            "cov", "must satisfy cov^2 <= var_local * var_global (Cauchy-Schwarz)")
    return vl, vg, b, cv


def _undefined(where: str = "") -> UndefinedOptimumError:
    return UndefinedOptimumError(
        "var_local, var_global, bias, cov",
        "need D = var_local + var_global - 2 cov + bias^2 > 0 for the optimal weight to exist",
        where or "D = 0: every weight has MSE = var_local")


# --------------------------------------------------------------------------- public API


def optimal_weight(var_local: ArrayLike, var_global: ArrayLike, bias: ArrayLike,
                   cov: ArrayLike = 0.0) -> FloatOrArray:
    """Optimal weight on the global model, a* = (s_L - c) / D with D = s_L + s_G - 2c + Delta^2.

    Minimises MSE(a) = E[((1-a) L + a G - theta)^2] (R2).  Requires s_L, s_G >= 0,
    c^2 <= s_L s_G, and D > 0 (raises :class:`UndefinedOptimumError` when D = 0).
    """
    k, kd = kernel("optimal_weight"), kernel("D")
    if _is_scalar(var_local, var_global, bias, cov):
        p = _check_params_scalar(var_local, var_global, bias, cov)
        if not kd.scalar(*p) > 0:
            raise _undefined()
        return float(k.scalar(*p))
    p = _check_params_array(var_local, var_global, bias, cov)
    if not (kd.vector(*p) > 0).all():
        raise _undefined("D = 0 for some entries")
    return np.asarray(k.vector(*p), dtype=np.float64)


def mse(weight: ArrayLike, var_local: ArrayLike, var_global: ArrayLike, bias: ArrayLike,
        cov: ArrayLike = 0.0) -> FloatOrArray:
    """MSE of theta_a = (1-a) L + a G: (1-a)^2 s_L + a^2 (s_G + Delta^2) + 2a(1-a)c (R1).

    Any real weight a is allowed.
    """
    k = kernel("mse")
    if _is_scalar(weight, var_local, var_global, bias, cov):
        w = _check_scalar("weight", weight)
        return float(k.scalar(w, *_check_params_scalar(var_local, var_global, bias, cov)))
    w = _check_array("weight", weight)
    return np.asarray(k.vector(w, *_check_params_array(var_local, var_global, bias, cov)),
                      dtype=np.float64)


def benefit(weight: ArrayLike, var_local: ArrayLike, var_global: ArrayLike, bias: ArrayLike,
            cov: ArrayLike = 0.0) -> FloatOrArray:
    """Benefit of averaging over the local model, B(a) = MSE(0) - MSE(a) = D a (2a* - a) (R4).

    Evaluated in the product form (no cancellation between two MSEs).  Positive exactly
    for a strictly between 0 and 2a*; negative outside.  Defined for D = 0 too (then 0).
    """
    k = kernel("benefit")
    if _is_scalar(weight, var_local, var_global, bias, cov):
        w = _check_scalar("weight", weight)
        p = _check_params_scalar(var_local, var_global, bias, cov)
        if not kernel("D").scalar(*p) > 0:
            return 0.0
        return float(k.scalar(w, *p))
    w = _check_array("weight", weight)
    p = _check_params_array(var_local, var_global, bias, cov)
    dpos = kernel("D").vector(*p) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        out = k.vector(w, *p)
    return np.asarray(np.where(dpos, out, 0.0), dtype=np.float64)


def min_mse(var_local: ArrayLike, var_global: ArrayLike, bias: ArrayLike,
            cov: ArrayLike = 0.0) -> FloatOrArray:
    """Minimum MSE, MSE(a*) = s_L - (s_L - c)^2 / D (R3); (1 - a*) s_L when c = 0 (R8).

    Evaluated as the sum of second moments at a*.  Requires D > 0.
    """
    k, kd = kernel("min_mse"), kernel("D")
    if _is_scalar(var_local, var_global, bias, cov):
        p = _check_params_scalar(var_local, var_global, bias, cov)
        if not kd.scalar(*p) > 0:
            raise _undefined()
        return float(k.scalar(*p))
    p = _check_params_array(var_local, var_global, bias, cov)
    if not (kd.vector(*p) > 0).all():
        raise _undefined("D = 0 for some entries")
    return np.asarray(k.vector(*p), dtype=np.float64)


def beneficial_interval(var_local: ArrayLike, var_global: ArrayLike, bias: ArrayLike,
                        cov: ArrayLike = 0.0) -> tuple[FloatOrArray, FloatOrArray]:
    """The open interval of weights with B(a) > 0: between the roots 0 and 2a* of B (R5).

    Returns ``(low, high)`` with low <= high; it lies below 0 when c > s_L, and is empty
    (low == high == 0) when s_L = c.  Requires D > 0.
    """
    k, kd = kernel("interval_high"), kernel("D")
    if _is_scalar(var_local, var_global, bias, cov):
        p = _check_params_scalar(var_local, var_global, bias, cov)
        if not kd.scalar(*p) > 0:
            raise _undefined()
        hi = float(k.scalar(*p))
        return (min(0.0, hi), max(0.0, hi))
    p = _check_params_array(var_local, var_global, bias, cov)
    if not (kd.vector(*p) > 0).all():
        raise _undefined("D = 0 for some entries")
    hi = np.asarray(k.vector(*p), dtype=np.float64)
    return np.minimum(0.0, hi), np.maximum(0.0, hi)


#: Public compiled functions by name (the float route and reports iterate over these).
API: dict[str, Callable[..., Any]] = {
    "optimal_weight": optimal_weight,
    "mse": mse,
    "benefit": benefit,
    "min_mse": min_mse,
    "beneficial_interval": beneficial_interval,
}
