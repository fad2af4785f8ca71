"""Validated numeric API, evaluating code generated from the derived expressions.

Each public function evaluates a form produced by :mod:`modelavg_sym.derive.core` and
printed by :mod:`modelavg_sym.codegen` into committed modules (``_generated.py``: scalar,
numpy and exact functions; ``_fastkernels.py``: numba loops), never retyped.  This module
imports numpy and that generated code only, never sympy.  The numerically stable form of
each quantity is chosen in one place, :mod:`modelavg_sym.codegen.forms`:

* ``mse``: the unexpanded sum of second moments (1-a)^2 s_L + a^2 (s_G + Delta^2)
  + 2a(1-a)c, a sum of nonnegative terms when c >= 0 (no cancellation);
* ``benefit``: the product form D a (2a* - a) (R4), never a difference of two MSEs;
* ``min_mse``: the closed form (s_L (s_G + Delta^2) - c^2) / D (R3), accurate also at the
  Cauchy-Schwarz boundary where s_L (1 - a*) + c a* would cancel;
* D is evaluated as Delta^2 + u_L + u_G with u_L = s_L - c, u_G = s_G - c (the derived D
  with s_L = u_L + c and s_G = u_G + c substituted), without the cancellation of
  s_L + s_G - 2c when c ~ s_L ~ s_G.

Range: the fast paths take inputs whose nonzero magnitudes lie in [1e-140, 1e140]
(variances, covariance) and [1e-70, 1e70] (bias, weight), where no product of two terms
can overflow or underflow.  Anything else is evaluated exactly with fractions (the
generated ``exact_*`` functions) and rounded once, so results are correctly rounded however
extreme and mixed the magnitudes; a result that is itself outside float64's range
raises an error.

The Cauchy-Schwarz check is |c| <= sqrt(s_L) sqrt(s_G) (with a rounding slack), which
neither underflows nor overflows where c^2 <= s_L s_G would.

Scalars in give Python floats out; arrays broadcast.  Input validation raises
:class:`~modelavg_sym.errors.InvalidParameterError` naming the parameter and constraint.

Three evaluation paths, all printed from the *same* CSE'd sympy expression (so they agree
to the last bit in practice, and within a few ulp by test, ``tests/test_compile_fast.py``):

* **Scalar path.**  When every argument is a Python ``float``, a generated pure-Python
  function (``scalar_<name>``) does the range checks inline (``0 <= s_L <= MAX`` also
  rejects NaN and inf), evaluates, and returns a float; it returns ``None`` on anything
  unusual and the general path then raises the exact error.  Measured against plain
  Python arithmetic by ``benchmarks/bench_scalar.py`` (target: <= 15x).
* **Fused array path** (``numba`` installed, the ``fast`` extra, and at least
  :data:`FAST_MIN_SIZE` elements): one compiled loop per function reads each input once,
  computes a validity flag per element (finite, s_L, s_G >= 0, Cauchy-Schwarz, D > 0)
  in registers, accumulates the count of invalid entries, and writes the result - so
  validation adds no pass over memory.  A non-zero count re-runs the reference validation
  (error path only), which raises the same message as the reference path.  ``numba``
  caches the machine code.  Inputs must be scalars/size-1 or of the full broadcast shape;
  other broadcasts use the reference path.  Arrays of 2 x :data:`THREAD_CHUNK` elements
  or more are split into contiguous chunks run in threads (the loops release the GIL;
  ``$MODELAVG_SYM_THREADS`` caps the count), which changes no result since the loops are
  elementwise.  The first call per argument layout compiles (about 1 s) or loads numba's
  on-disk cache.
* **Reference path** (generated numpy ``vector_<name>`` + whole-array checks): everything
  else.

Why numba and not numexpr: measured on the 2-core development machine, numexpr's
interpreter costs about 1 ns per operation and element, so the ~15 operations of
evaluation plus checks stay compute-bound at ~3x the memory-bandwidth floor (barely ahead
of plain numpy); a compiled loop is memory-bound (see ``reports/benchmarks.md``).
"""

from __future__ import annotations

import importlib
import math
import os
import threading
from collections.abc import Callable
from fractions import Fraction
from functools import cache
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from modelavg_sym.errors import InvalidParameterError, UndefinedOptimumError
from modelavg_sym.numeric import _generated as gen

ArrayLike = npt.ArrayLike
FloatOrArray = float | npt.NDArray[np.float64]

#: Argument order of every compiled function (weight first when present).
PARAM_ARGS: tuple[str, ...] = gen.API_ARGS["D"]

#: Arrays with fewer elements than this use the reference numpy path (no JIT compile).
FAST_MIN_SIZE = 1 << 15
#: Environment variable: ``numpy`` forces the reference path for arrays.
BACKEND_ENV = "MODELAVG_SYM_BACKEND"
#: Elements per thread of a fused call (below 2 chunks the call stays single-threaded).
THREAD_CHUNK = 1 << 19
#: Environment variable capping the threads of a fused call (``1``: single-threaded).
THREADS_ENV = "MODELAVG_SYM_THREADS"

#: Public function -> (form evaluated, takes a weight, policy when D <= 0), generated.
_SPECS: dict[str, tuple[str, bool, str]] = gen.SPECS
#: Functions with a fused compiled loop (numba) for large arrays.
FUSED: tuple[str, ...] = gen.FUSED


# --------------------------------------------------------------------------- validation

_CS_FACTOR = gen.CS_FACTOR
_PY_REAL = (float, int)
#: Fast-path domain: nonzero variances and |c| in [_LO, _HI], nonzero |bias| and |weight| in
#: [_LO_B, _HI_B] (chosen in :mod:`modelavg_sym.codegen.forms`); outside it the value is
#: computed exactly (:func:`_exact`) and rounded once.
_HI, _LO = gen.HI, gen.LO
_HI_B, _LO_B = gen.HI_B, gen.LO_B


def _in_domain(w: Any, vl: Any, vg: Any, b: Any, cv: Any) -> Any:
    """Elementwise: every input inside the fast-path domain (zeros are always inside)."""

    def within(x: Any, lo: float, hi: float) -> Any:
        ax = np.abs(np.asarray(x, dtype=np.float64))
        return (ax == 0) | ((ax >= lo) & (ax <= hi))

    ok = within(vl, _LO, _HI) & within(vg, _LO, _HI) & within(cv, _LO, _HI)
    ok = ok & within(b, _LO_B, _HI_B)
    return ok if w is None else ok & within(w, _LO_B, _HI_B)


def _exact(name: str, vals: tuple[float, ...]) -> float:
    """``name`` at float inputs, evaluated exactly with fractions and rounded once."""
    value = gen.EXACT[name](*(Fraction(v) for v in vals))
    try:
        return float(value)
    except OverflowError:
        names = ("weight", *PARAM_ARGS) if len(vals) == 5 else PARAM_ARGS
        raise InvalidParameterError(
            ", ".join(names), "must keep the result within float64 range",
            f"{name} overflows at {dict(zip(names, vals, strict=True))}") from None


def _exact_d_positive(p: tuple[float, ...]) -> bool:
    return bool(gen.EXACT["D"](*(Fraction(v) for v in p)) > 0)


def _is_scalar(*xs: Any) -> bool:
    for x in xs:
        if not isinstance(x, _PY_REAL) and np.ndim(x) != 0:
            return False
    return True


def _check_scalar(name: str, x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError, OverflowError):
        raise InvalidParameterError(name, "must be a real number", f"got {x!r}") from None
    if not math.isfinite(v):
        raise InvalidParameterError(name, "must be finite", f"got {v}")
    return v


def _as_array(name: str, x: Any) -> npt.NDArray[np.float64]:
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise InvalidParameterError(name, "must be an array of real numbers") from None


def _check_array(name: str, x: Any) -> npt.NDArray[np.float64]:
    arr = _as_array(name, x)
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
    if abs(cv) > math.sqrt(vl) * math.sqrt(vg) * _CS_FACTOR:
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
    with np.errstate(over="ignore"):  # inf > inf is False, as in the scalar check
        cs_bad = (np.abs(cv) > np.sqrt(vl) * np.sqrt(vg) * _CS_FACTOR).any()
    if cs_bad:
        raise InvalidParameterError(
            "cov", "must satisfy cov^2 <= var_local * var_global (Cauchy-Schwarz)")
    return vl, vg, b, cv


def _undefined(where: str = "") -> UndefinedOptimumError:
    return UndefinedOptimumError(
        "var_local, var_global, bias, cov",
        "need D = var_local + var_global - 2 cov + bias^2 > 0 for the optimal weight to exist",
        where or "D = 0: every weight has MSE = var_local")


# --------------------------------------------------------------------------- fused loops


@cache
def _fast_module() -> ModuleType | None:
    if os.environ.get(BACKEND_ENV, "auto") == "numpy":
        return None
    try:  # deferred: numba is optional (the ``fast`` extra) and slow to import
        return importlib.import_module("._fastkernels", __package__)
    except ImportError:
        return None


def backend() -> str:
    """``numba`` when large arrays take the fused compiled path, else ``numpy``."""
    return "numba" if _fast_module() is not None else "numpy"


# --------------------------------------------------------------------------- array paths


def _reference(name: str, *xs: Any) -> Any:
    """The reference numpy path (whole-array validation, generated numpy function)."""
    _, has_w, policy = _SPECS[name]
    w = _check_array("weight", xs[0]) if has_w else None
    p = _check_params_array(*xs[int(has_w):])
    args = (w, *p) if has_w else p
    shape = np.broadcast_shapes(*(np.shape(x) for x in args))
    outside = ~np.broadcast_to(_in_domain(w, *p), shape)
    full = [np.broadcast_to(x, shape) for x in args]
    with np.errstate(all="ignore"):
        dpos = np.array(np.broadcast_to(gen.VECTOR["D"](*p) > 0, shape))
        for idx in zip(*np.nonzero(outside), strict=True):
            dpos[idx] = _exact_d_positive(tuple(float(x[idx]) for x in full[-4:]))
        if policy == "raise" and not dpos.all():
            raise _undefined("D = 0 for some entries")
        out = np.array(np.broadcast_to(gen.VECTOR[name](*args), shape), dtype=np.float64)
    for idx in zip(*np.nonzero(outside & dpos), strict=True):
        out[idx] = _exact(name, tuple(float(x[idx]) for x in full))
    if policy == "zero":
        out = np.asarray(np.where(dpos, out, 0.0), dtype=np.float64)
    if not np.isfinite(out).all():  # valid input, but the value overflows float64
        names = ("weight", *PARAM_ARGS) if has_w else PARAM_ARGS
        raise InvalidParameterError(", ".join(names), "must keep the result within float64 "
                                    "range", f"{name} overflows for some entries")
    return out


def _fused(name: str, arrs: list[npt.NDArray[np.float64]]) -> npt.NDArray[np.float64] | None:
    """The fused compiled path, or ``None`` when it does not apply."""
    shape = np.broadcast_shapes(*(x.shape for x in arrs))
    size = math.prod(shape)
    if size < FAST_MIN_SIZE:
        return None
    mod = _fast_module()
    if mod is None:
        return None
    args: list[Any] = []
    for x in arrs:
        if x.size == 1:
            args.append(float(x.reshape(-1)[0]))
        elif x.shape == shape:
            args.append(x.reshape(-1))
        else:
            return None
    out = np.empty(size, dtype=np.float64)
    if _run_chunks(getattr(mod, name), args, out):
        res = _reference(name, *arrs)  # raises the reference path's exact error
        return np.asarray(res, dtype=np.float64)
    return out.reshape(shape)


def threads(size: int) -> int:
    """Threads for a fused call over ``size`` elements: one per :data:`THREAD_CHUNK`
    elements, at most ``$MODELAVG_SYM_THREADS`` (default: the CPU count, capped at 4)."""
    cap = int(os.environ.get(THREADS_ENV, "0")) or min(4, os.cpu_count() or 1)
    return max(1, min(cap, size // THREAD_CHUNK))


def _run_chunks(fn: Callable[..., int], args: list[Any], out: npt.NDArray[np.float64]) -> int:
    """Run a fused loop over contiguous chunks in threads (the loops release the GIL);
    elementwise, so the result does not depend on the thread count.  Plain threads
    started per call (tens of microseconds against milliseconds of work) stay fork-safe."""
    n = out.shape[0]
    k = threads(n)
    if k == 1:
        return int(fn(*args, out))
    edges = [n * j // k for j in range(k + 1)]
    bad = [0] * k

    def work(j: int) -> None:
        lo, hi = edges[j], edges[j + 1]
        bad[j] = fn(*(x[lo:hi] if isinstance(x, np.ndarray) else x for x in args), out[lo:hi])

    pool = [threading.Thread(target=work, args=(j,)) for j in range(1, k)]
    for t in pool:
        t.start()
    work(0)
    for t in pool:
        t.join()
    return int(sum(bad))


def _vector(name: str, xs: tuple[Any, ...]) -> npt.NDArray[np.float64]:
    names = ("weight", *PARAM_ARGS) if _SPECS[name][1] else PARAM_ARGS
    arrs = [_as_array(n, x) for n, x in zip(names, xs, strict=True)]
    out = _fused(name, arrs) if name in FUSED else None
    if out is None:
        out = _reference(name, *arrs)
    return out


def _scalar_general(name: str, xs: tuple[Any, ...]) -> float:
    """Scalar path for any real scalars (ints, numpy scalars): convert, evaluate with the
    generated function, and on anything unusual run the reference checks (which raise)."""
    try:
        r = gen.SCALAR[name](*map(float, xs))  # NaN/inf fail its range checks -> None
    except (TypeError, ValueError, OverflowError):
        r = None
    if r is not None:
        return r
    _, has_w, policy = _SPECS[name]
    names = ("weight", *PARAM_ARGS) if has_w else PARAM_ARGS
    vals = tuple(_check_scalar(n, x) for n, x in zip(names, xs, strict=True))
    p = _check_params_scalar(*vals[int(has_w):])
    d_pos = _exact_d_positive(p)
    if policy and not d_pos:
        if policy == "zero":
            return 0.0
        raise _undefined()
    # valid input whose evaluation overflows in float64 (e.g. bias ~ 1e200): numpy
    # semantics, and an error rather than inf/nan
    v = _exact(name, vals)
    if not math.isfinite(v):
        raise InvalidParameterError(
            ", ".join(names), "must keep the result within float64 range",
            f"{name} overflows at {dict(zip(names, vals, strict=True))}")
    return v


# --------------------------------------------------------------------------- public API


def _call(name: str, xs: tuple[Any, ...]) -> FloatOrArray:
    """Dispatch: Python floats to the generated scalar function (``None`` on anything
    unusual), other scalars to the general scalar path, arrays to the array paths."""
    if all(type(x) is float for x in xs):
        r = gen.SCALAR[name](*xs)
        if r is not None:
            return r
    if _is_scalar(*xs):
        return _scalar_general(name, xs)
    return _vector(name, xs)


def optimal_weight(var_local: ArrayLike, var_global: ArrayLike, bias: ArrayLike,
                   cov: ArrayLike = 0.0) -> FloatOrArray:
    """Optimal weight on the global model, a* = (s_L - c) / D, D = Delta^2 + (s_L - c) + (s_G - c).

    Minimises MSE(a) = E[((1-a) L + a G - theta)^2] (R2).  Requires s_L, s_G >= 0,
    c^2 <= s_L s_G, and D > 0 (raises :class:`UndefinedOptimumError` when D = 0).
    """
    return _call("optimal_weight", (var_local, var_global, bias, cov))


def mse(weight: ArrayLike, var_local: ArrayLike, var_global: ArrayLike, bias: ArrayLike,
        cov: ArrayLike = 0.0) -> FloatOrArray:
    """MSE of theta_a = (1-a) L + a G: (1-a)^2 s_L + a^2 (s_G + Delta^2) + 2a(1-a)c (R1).

    Any real weight a is allowed.
    """
    return _call("mse", (weight, var_local, var_global, bias, cov))


def benefit(weight: ArrayLike, var_local: ArrayLike, var_global: ArrayLike, bias: ArrayLike,
            cov: ArrayLike = 0.0) -> FloatOrArray:
    """Benefit of averaging over the local model, B(a) = MSE(0) - MSE(a) = D a (2a* - a) (R4).

    Evaluated in the product form (no cancellation between two MSEs).  Positive exactly
    for a strictly between 0 and 2a*; negative outside.  Defined for D = 0 too (then 0).
    """
    return _call("benefit", (weight, var_local, var_global, bias, cov))


def min_mse(var_local: ArrayLike, var_global: ArrayLike, bias: ArrayLike,
            cov: ArrayLike = 0.0) -> FloatOrArray:
    """Minimum MSE, MSE(a*) = s_L - (s_L - c)^2 / D (R3); (1 - a*) s_L when c = 0 (R8).

    Evaluated in the closed form (s_L (s_G + Delta^2) - c^2) / D.  Requires D > 0.
    """
    return _call("min_mse", (var_local, var_global, bias, cov))


def beneficial_interval(var_local: ArrayLike, var_global: ArrayLike, bias: ArrayLike,
                        cov: ArrayLike = 0.0) -> tuple[FloatOrArray, FloatOrArray]:
    """The open interval of weights with B(a) > 0: between the roots 0 and 2a* of B (R5).

    Returns ``(low, high)`` with low <= high; it lies below 0 when c > s_L, and is empty
    (low == high == 0) when s_L = c.  Requires D > 0.
    """
    hi = _call("interval_high", (var_local, var_global, bias, cov))
    if isinstance(hi, float):
        return (min(0.0, hi), max(0.0, hi))
    return np.minimum(0.0, hi), np.maximum(0.0, hi)


#: Public compiled functions by name (the float route and reports iterate over these).
API: dict[str, Callable[..., Any]] = {
    "optimal_weight": optimal_weight,
    "mse": mse,
    "benefit": benefit,
    "min_mse": min_mse,
    "beneficial_interval": beneficial_interval,
}
