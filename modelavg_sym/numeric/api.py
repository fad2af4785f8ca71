"""Compiled, validated numeric API generated from the derived expressions.

Each public function evaluates an expression produced by :mod:`modelavg_sym.derive.core`,
lambdified once (``modules`` pinned, CSE on, cached) and never retyped.  The numerically
stable form of each quantity is chosen in one place, :data:`FORMS`:

* ``mse``: the unexpanded sum of second moments (1-a)^2 s_L + a^2 (s_G + Delta^2)
  + 2a(1-a)c, a sum of nonnegative terms when c >= 0 (no cancellation);
* ``benefit``: the product form D a (2a* - a) (R4), never a difference of two MSEs;
* ``min_mse``: the closed form (s_L (s_G + Delta^2) - c^2) / D (R3), accurate also at the
  Cauchy-Schwarz boundary where s_L (1 - a*) + c a* would cancel.

Range: the fast paths take inputs whose nonzero magnitudes lie in [1e-140, 1e140]
(variances, covariance) and [1e-70, 1e70] (bias, weight), where no product of two terms
can overflow or underflow.  Anything else is evaluated exactly with fractions
(:mod:`modelavg_sym.algebra.exact`) and rounded once, so results are correctly rounded however
extreme and mixed the magnitudes; a result that is itself outside float64's range
raises an error.

The Cauchy-Schwarz check is |c| <= sqrt(s_L) sqrt(s_G) (with a rounding slack), which
neither underflows nor overflows where c^2 <= s_L s_G would.

Scalars in give Python floats out; arrays broadcast.  Input validation raises
:class:`~modelavg_sym.errors.InvalidParameterError` naming the parameter and constraint.

Three evaluation paths, all printing the *same* CSE'd sympy expression (so they agree to
the last bit in practice, and within a few ulp by test, ``tests/test_compile_fast.py``):

* **Scalar path.**  When every argument is a Python ``float``, a generated pure-Python
  function (sympy's Python printer, source built once per function) does the range checks
  inline (``0 <= s_L <= MAX`` also rejects NaN and inf), evaluates, and returns a float;
  it returns ``None`` on anything unusual and the general path then raises the exact
  error.  About 3-5x a hand-written float function (target: <= 15x; see
  ``benchmarks/bench_scalar.py``).
* **Fused array path** (``numba`` installed, the ``fast`` extra, and at least
  :data:`FAST_MIN_SIZE` elements): one compiled loop per function reads each input once,
  computes a validity flag per element (finite, s_L, s_G >= 0, Cauchy-Schwarz, D > 0)
  in registers, accumulates the count of invalid entries, and writes the result - so
  validation adds no pass over memory.  A non-zero count re-runs the reference validation
  (error path only), which raises the same message as the reference path.  The loops are
  generated from the derived expressions into ``modelavg_sym/_fastkernels.py`` (committed,
  golden-tested against :func:`fast_kernel_source`; ``numba`` caches the machine code).
  Inputs must be scalars/size-1 or of the full broadcast shape; other broadcasts use the
  reference path.  Arrays of 2 x :data:`THREAD_CHUNK` elements or more are split into
  contiguous chunks run in threads (the loops release the GIL; ``$MODELAVG_SYM_THREADS``
  caps the count), which changes no result since the loops are elementwise.  The first
  call per argument layout compiles (about 1 s) or loads numba's on-disk cache.
* **Reference path** (numpy lambdify + whole-array checks): everything else.

Why numba and not numexpr: measured on the 2-core development machine, numexpr's
interpreter costs about 1 ns per operation and element, so the ~15 operations of
evaluation plus checks stay compute-bound at ~3x the memory-bandwidth floor (barely ahead
of plain numpy); a compiled loop is memory-bound (see ``reports/benchmarks.md``).
"""

from __future__ import annotations

import importlib
import inspect
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt
import sympy as sp

from modelavg_sym.algebra.exact import exact_function
from modelavg_sym.derive.core import two_estimator
from modelavg_sym.errors import InvalidParameterError, UndefinedOptimumError
from modelavg_sym.symbols import Delta, a, c, s_G, s_L

ArrayLike = npt.ArrayLike
FloatOrArray = float | npt.NDArray[np.float64]

#: Argument order of every compiled function (weight first when present).
PARAM_ARGS: tuple[str, ...] = ("var_local", "var_global", "bias", "cov")
_PARAM_SYMBOLS = (s_L, s_G, Delta, c)

#: Arrays with fewer elements than this use the reference numpy path (no JIT compile).
FAST_MIN_SIZE = 1 << 15
#: Environment variable: ``numpy`` forces the reference path for arrays.
BACKEND_ENV = "MODELAVG_SYM_BACKEND"
#: Elements per thread of a fused call (below 2 chunks the call stays single-threaded).
THREAD_CHUNK = 1 << 19
#: Environment variable capping the threads of a fused call (``1``: single-threaded).
THREADS_ENV = "MODELAVG_SYM_THREADS"


#: Intermediates every compiled form is evaluated with: u_L = s_L - c and u_G = s_G - c,
#: so that D = Delta^2 + u_L + u_G (theorem ``D_from_differences``) is summed without the
#: catastrophic cancellation of s_L + s_G - 2c when c ~ s_L ~ s_G >> Delta^2.
U_L, U_G = sp.Symbol("u_L"), sp.Symbol("u_G")


def _cse(exprs: Any) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
    """Common-subexpression elimination for every compiled path (lambdify's ``cse``
    hook and the generated scalar/numba code): first u_L, u_G, then sympy's ``cse``."""
    single = isinstance(exprs, sp.Basic)
    exprs = [exprs] if single else list(exprs)
    D = two_estimator()["D"]
    d_new = Delta**2 + U_L + U_G
    rewritten = [
        e.subs({D: d_new, -D: -d_new}).subs({s_L - c: U_L, c - s_L: -U_L}) for e in exprs
    ]
    subs, reduced = sp.cse(rewritten)
    used = [*reduced, *(rhs for _lhs, rhs in subs)]
    pre = [(u, rhs) for u, rhs in ((U_L, s_L - c), (U_G, s_G - c))
           if any(e.has(u) for e in used)]
    return pre + subs, (reduced[0] if single else reduced)


def _forms() -> dict[str, tuple[sp.Expr, tuple[sp.Symbol, ...]]]:
    d = two_estimator()
    a_star = d["optimal_weight"]
    return {
        "optimal_weight": (a_star, _PARAM_SYMBOLS),
        "mse": (d["mse_terms"], (a, *_PARAM_SYMBOLS)),
        "benefit": (d["benefit_factored"], (a, *_PARAM_SYMBOLS)),
        "min_mse": (d["min_mse"], _PARAM_SYMBOLS),
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
    vector = sp.lambdify(args, expr, modules="numpy", cse=_cse, docstring_limit=0)
    scalar = sp.lambdify(args, expr, modules="math", cse=_cse, docstring_limit=0)
    return Kernel(name, expr, args, vector, scalar)


# --------------------------------------------------------------------------- validation

_EPS = np.finfo(np.float64).eps
_MAX = float(np.finfo(np.float64).max)
#: Relative slack for the Cauchy-Schwarz check, so that cov = sqrt(var_local*var_global)
#: computed in floating point is not rejected for rounding alone.
_CS_SLACK = 8 * _EPS
_CS_FACTOR = float(1 + _CS_SLACK)
_PY_REAL = (float, int)
#: Fast-path domain: nonzero variances and |c| in [_LO, _HI], nonzero |bias| and |weight| in
#: [_LO_B, _HI_B].  Inside it no product of two terms overflows or underflows; outside it
#: the value is computed exactly (:func:`_exact`) and rounded once.
_HI, _LO = 1e140, 1e-140
_HI_B, _LO_B = 1e70, 1e-70


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
    expr, args = forms()[name]
    value = exact_function(expr, args)(*(Fraction(v) for v in vals))
    try:
        return float(value)
    except OverflowError:
        names = ("weight", *PARAM_ARGS) if len(vals) == 5 else PARAM_ARGS
        raise InvalidParameterError(
            ", ".join(names), "must keep the result within float64 range",
            f"{name} overflows at {dict(zip(names, vals, strict=True))}") from None


def _exact_d_positive(p: tuple[float, ...]) -> bool:
    expr, args = forms()["D"]
    return bool(exact_function(expr, args)(*(Fraction(v) for v in p)) > 0)


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


# --------------------------------------------------------------------------- code generation

#: Generated functions: public name -> (form evaluated, takes a weight, policy when D <= 0:
#: "raise" (UndefinedOptimumError), "zero" (the value is 0) or "" (D not needed)).
_SPECS: dict[str, tuple[str, bool, str]] = {
    "optimal_weight": ("optimal_weight", False, "raise"),
    "mse": ("mse", True, ""),
    "benefit": ("benefit", True, "zero"),
    "min_mse": ("min_mse", False, "raise"),
    "interval_high": ("interval_high", False, "raise"),
}
#: Functions with a fused compiled loop (numba) for large arrays.
FUSED: tuple[str, ...] = ("optimal_weight", "mse", "benefit", "min_mse")


def _printed(expr: sp.Expr, printer: Any) -> tuple[list[str], str]:
    """Assignments and final expression exactly as ``lambdify(..., cse=True)`` prints them
    (same ``cse`` call and symbols ``x0, x1, ...``, same printer class), so every path
    performs the same float operations in the same order."""
    subs, (reduced,) = _cse([expr])
    lines = [f"{printer.doprint(lhs)} = {printer.doprint(rhs)}" for lhs, rhs in subs]
    return lines, printer.doprint(reduced)


def _check_terms(has_weight: bool) -> list[str]:
    """Validity conditions on the symbol names, each false for NaN (finite, s_L, s_G >= 0,
    Cauchy-Schwarz with the same slack as the reference checks)."""
    terms = [f"{a} >= -_MAX", f"{a} <= _MAX"] if has_weight else []
    return [*terms, f"{s_L} >= 0.0", f"{s_L} <= _MAX", f"{s_G} >= 0.0", f"{s_G} <= _MAX",
            f"{Delta} >= -_MAX", f"{Delta} <= _MAX", f"{c} >= -_MAX", f"{c} <= _MAX",
            f"abs({c}) <= _sqrt({s_L})*_sqrt({s_G})*_CS",
            # fast-path domain (else the exact fallback): no product over- or underflows
            *(f"({x} == 0.0 or (abs({x}) >= _LO and abs({x}) <= _HI))" for x in (s_L, s_G, c)),
            f"({Delta} == 0.0 or (abs({Delta}) >= _LO_B and abs({Delta}) <= _HI_B))",
            *([f"({a} == 0.0 or (abs({a}) >= _LO_B and abs({a}) <= _HI_B))"] if has_weight
              else [])]


def _scalar_source(name: str) -> str:
    """Pure-Python scalar function for ``name``: value, or ``None`` when the general
    path must decide (invalid input, or D <= 0 under policy "raise")."""
    from sympy.printing.pycode import PythonCodePrinter

    form, has_w, policy = _SPECS[name]
    expr, args = forms()[form]
    pr = PythonCodePrinter()
    lines, value = _printed(expr, pr)
    body = [f"if {' and '.join(_check_terms(has_w))}:"]
    if policy:
        dlines, dvalue = _printed(forms()["D"][0], pr)
        body += [f"    {ln}" for ln in dlines] + [f"    _d = {dvalue}"]
        body.append("    if not _d > 0:")
        body.append("        return 0.0" if policy == "zero" else "        return None")
    body += [f"    {ln}" for ln in lines] + [f"    return {value}", "return None"]
    head = f"def {name}({', '.join(str(s) for s in args)}):"
    # overflow/underflow to 0/0 in float arithmetic: let the general path decide
    body = ["try:", *(f"    {ln}" for ln in body), "except ArithmeticError:", "    return None"]
    return "\n".join([head, *(f"    {ln}" for ln in body)]) + "\n"


@cache
def _scalar_fn(name: str) -> Callable[..., float | None]:
    namespace: dict[str, Any] = {"_MAX": _MAX, "_CS": _CS_FACTOR, "_sqrt": math.sqrt,
                                 "_HI": _HI, "_LO": _LO, "_HI_B": _HI_B, "_LO_B": _LO_B}
    exec(compile(_scalar_source(name), f"<modelavg_sym scalar {name}>", "exec"), namespace)
    fn: Callable[..., float | None] = namespace[name]
    return fn


_FAST_HEADER = '''\
"""Fused compiled loops for large arrays (numba).  GENERATED by
modelavg_sym.numeric.api.fast_kernel_source() from the derived expressions - do not edit.
Regenerate: python -c "import modelavg_sym.numeric.api as c; c.write_fast_kernels()"

Each loop returns the number of invalid entries (the caller then raises the exact error).
"""

from math import sqrt as _sqrt

import numba
from numba import types
from numba.extending import overload

_MAX = {max!r}
_CS = {cs!r}
_HI = {hi!r}
_LO = {lo!r}
_HI_B = {hib!r}
_LO_B = {lob!r}


def _at(x, i):
    """x[i] for an array argument, x itself for a scalar one (resolved at compile time)."""
    return x if isinstance(x, float) else x[i]


@overload(_at, inline="always")
def _at_impl(x, i):
    if isinstance(x, types.Array):
        return lambda x, i: x[i]
    return lambda x, i: x
'''


def fast_kernel_source() -> str:
    """Source of ``modelavg_sym/_fastkernels.py``: one numba loop per name in :data:`FUSED`.

    The value and D are printed by sympy's NumPy printer after the same ``cse`` as the
    reference lambdify; the loop adds per-element validity flags (no extra memory pass).
    """
    from sympy.printing.numpy import NumPyPrinter

    pr = NumPyPrinter({"fully_qualified_modules": False, "inline": True})
    parts = [_FAST_HEADER.format(max=_MAX, cs=_CS_FACTOR, hi=_HI, lo=_LO, hib=_HI_B, lob=_LO_B)]
    for name in FUSED:
        form, has_w, policy = _SPECS[name]
        expr, args = forms()[form]
        names = [str(s) for s in args]
        lines, value = _printed(expr, pr)
        terms = _check_terms(has_w) + (["_d > 0.0"] if policy == "raise" else [])
        wrapped = [t if t.startswith("(") and t.endswith(")") else f"({t})" for t in terms]
        ok = ["ok = (", *(f"    {'& ' if k else ''}{t}" for k, t in enumerate(wrapped)), ")"]
        dlines, dvalue = _printed(forms()["D"][0], pr)
        dline = [*dlines, f"_d = {dvalue}"]
        store = (f"{value} if _d > 0.0 else 0.0" if policy == "zero" else value)
        loop = [f"{n} = _at({n}_, i)" for n in names]
        loop += dline if policy else []
        loop += [*ok, "bad += not ok", *lines, f"out[i] = {store}",
                 "bad += not (abs(out[i]) <= _MAX)"]
        parts.append("\n".join([
            "", "",
            '@numba.njit(cache=True, nogil=True, error_model="numpy")',
            f"def {name}({', '.join(n + '_' for n in names)}, out):",
            "    bad = 0",
            "    for i in range(out.shape[0]):",
            *(f"        {ln}" for ln in loop),
            "    return bad",
        ]) + "\n")
    return "".join(parts)


FAST_KERNELS_PATH = Path(__file__).with_name("_fastkernels.py")


def write_fast_kernels(path: Path | None = None) -> Path:
    """(Re)write the generated numba module; returns its path."""
    path = path or FAST_KERNELS_PATH
    tmp = path.with_suffix(".tmp")
    tmp.write_text(fast_kernel_source())
    os.replace(tmp, path)
    return path


@cache
def _fast_module() -> ModuleType | None:
    if os.environ.get(BACKEND_ENV, "auto") == "numpy":
        return None
    try:
        return importlib.import_module("._fastkernels", __package__)
    except ImportError:  # numba is optional (the ``fast`` extra)
        return None


def backend() -> str:
    """``numba`` when large arrays take the fused compiled path, else ``numpy``."""
    return "numba" if _fast_module() is not None else "numpy"


# --------------------------------------------------------------------------- array paths


def _reference(name: str, *xs: Any) -> Any:
    """The reference numpy path (whole-array validation, lambdified numpy kernel)."""
    _, has_w, policy = _SPECS[name]
    w = _check_array("weight", xs[0]) if has_w else None
    p = _check_params_array(*xs[int(has_w):])
    args = (w, *p) if has_w else p
    shape = np.broadcast_shapes(*(np.shape(x) for x in args))
    outside = ~np.broadcast_to(_in_domain(w, *p), shape)
    full = [np.broadcast_to(x, shape) for x in args]
    with np.errstate(all="ignore"):
        dpos = np.array(np.broadcast_to(kernel("D").vector(*p) > 0, shape))
        for idx in zip(*np.nonzero(outside), strict=True):
            dpos[idx] = _exact_d_positive(tuple(float(x[idx]) for x in full[-4:]))
        if policy == "raise" and not dpos.all():
            raise _undefined("D = 0 for some entries")
        out = np.array(np.broadcast_to(kernel(name).vector(*args), shape), dtype=np.float64)
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
        r = _scalar_fn(name)(*map(float, xs))  # NaN/inf fail its range checks -> None
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
        r = _scalar_fn(name)(*xs)
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
