"""Validated numeric API: correctly rounded values of the derived expressions.

Each public function returns the correctly rounded float64 (round to nearest, ties to
even) of the exact real value of its formula at the given inputs, for every valid input,
scalar or array, and the scalar and array paths agree bit for bit.  The formulas come
from :mod:`modelavg_sym.derive.core`, printed by :mod:`modelavg_sym.codegen` into
committed modules (``_generated.py``: exact integer code and numpy double-double code;
``_fastkernels.py``: numba loops); this module imports numpy and that generated code
only, never sympy.  The method (:mod:`modelavg_sym.codegen.rounding`):

* **Scalars** are evaluated exactly: each float is N / 2^k, so over a common denominator
  the value is a ratio of two Python ints, and CPython's int / int division rounds it
  correctly (subnormals included).  ints, ``Fraction`` and ``Decimal`` arguments are taken
  as the exact rationals they are (not rounded to float64 first), of any magnitude
  (``optimal_weight(10**400, 10**400, 0)`` is 0.5); only a result outside float64's range
  is an error.  About 14-22x the cost of plain float arithmetic (``python -m benchmarks
  --only scalar``, shared 2-core machine).
* **Arrays** are evaluated in double-double arithmetic with a certified running error
  bound (Ziv's strategy): an element whose bound proves the rounding gets that value; any
  other (invalid input, an extreme magnitude, a bound that cannot decide, a result near a
  midpoint between two floats) is evaluated exactly by the scalar code.  With numba (the
  ``fast`` extra) this runs as one compiled loop per function with the validation inside
  (threads for large arrays); without it, or while numba is not loaded yet (loading it
  and its cached loops costs most of a second: done once this path has cost, or this
  call would cost, :data:`NUMBA_AFTER_S` in the process, see :func:`_kernels`), as numpy
  array arithmetic in blocks (same algorithm, Dekker's product instead of an FMA), and below
  :data:`EXACT_MAX_SIZE` elements exactly, element by element (cheaper than numpy's
  per-operation overhead).  :func:`fallback_stats` counts the elements the bound left
  undecided.

Validation is exact too (no slack): var_local, var_global >= 0, cov^2 <= var_local *
var_global (Cauchy-Schwarz) and, where the optimum is needed, D > 0, decided in integers.
On the domain D = Delta^2 + (sqrt(s_L) - sqrt(s_G))^2 + 2 (sqrt(s_L s_G) - c) >= 0, with
D = 0 exactly when var_local = var_global = cov and bias = 0.  So an MSE is never
negative.  Bad input raises :class:`~modelavg_sym.errors.InvalidParameterError` (a
``ValueError``) naming the parameter and constraint: not a real number (strings, bytes,
booleans, complex), not finite, outside float64's range, masked entries, shapes that do
not broadcast; a result outside float64's range is an error too, never inf.

Scalars in give Python floats out; arrays broadcast.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import cache
from numbers import Integral, Rational, Real
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

#: Seconds of numpy double-double work, spent so far plus the call's estimate, from which
#: arrays load numba (about the cost of importing it and loading its cached loops,
#: 0.7-0.9 s here: a process then pays at most about twice what it would have with the
#: best choice made up front, a ski-rental rule; :func:`_kernels`).
NUMBA_AFTER_S = 1.0
#: The numpy double-double path's cost per element, estimated (0.15-0.25 us measured on
#: the shared 2-core machine); only used to choose a path before numba is loaded.
NUMPY_S_PER_ELEMENT = 2e-7
#: Arrays of this many elements take the compiled loops even in a process that has not
#: loaded numba yet: their numpy evaluation alone would cost about :data:`NUMBA_AFTER_S`.
FAST_MIN_SIZE = math.ceil(NUMBA_AFTER_S / NUMPY_S_PER_ELEMENT)
#: Environment variable: ``numpy`` forces the numpy arithmetic for arrays.
BACKEND_ENV = "MODELAVG_SYM_BACKEND"
#: Without the compiled loops, arrays below this size are evaluated element by element
#: exactly (faster than about 150 numpy operations of fixed cost each).
EXACT_MAX_SIZE = 64
#: Elements per block of the numpy double-double evaluation (its temporaries stay in cache).
NUMPY_CHUNK = 4096
#: Elements per thread of a compiled call (below 2 chunks the call stays single-threaded).
THREAD_CHUNK = 1 << 19
#: Environment variable capping the threads of a compiled call (``1``: single-threaded).
THREADS_ENV = "MODELAVG_SYM_THREADS"

#: Public function -> (form evaluated, takes a weight, policy when D <= 0), generated.
_SPECS: dict[str, tuple[str, bool, str]] = gen.SPECS
#: Functions with a compiled loop (numba) for arrays.
FUSED: tuple[str, ...] = gen.FUSED
#: The name a function's errors show (``interval_high`` is ``beneficial_interval``'s).
_SHOWN = {"interval_high": "beneficial_interval"}

_MAX = float(np.finfo(np.float64).max)
#: numpy.float64 is a float subclass: the generated scalar functions take it as it is (NaN
#: and inf fail there and go to the general path).
_F64 = np.float64
_F64_DTYPE = np.dtype(np.float64)

_EXACT_INT = 2**53

#: Elements evaluated by the array paths, and of those the ones evaluated exactly (the
#: fallback rate of the double-double step; see :func:`fallback_stats`).
_STATS = {"elements": 0, "exact": 0}
#: Seconds spent in the numpy double-double path (see :data:`NUMBA_AFTER_S`).
_NUMPY_SPENT = [0.0]

if gen.DOMAIN != ("s_L >= 0", "s_G >= 0", "c**2 <= s_G*s_L", "D > 0"):  # pragma: no cover
    raise ImportError("generated DOMAIN does not match the API's messages; regenerate")


# --------------------------------------------------------------------------- scalars


def _show(x: Any) -> str:
    """A short rendering of an argument for messages (never the whole of a huge input)."""
    if isinstance(x, (int, Rational, Decimal)) and not isinstance(x, bool):
        try:
            return format(Decimal(x.numerator) / Decimal(x.denominator), ".17g")
        except (ArithmeticError, AttributeError, ValueError):
            pass
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _not_real(name: str, x: Any, where: str) -> InvalidParameterError:
    return InvalidParameterError(name, "must be a real number",
                                 f"got {type(x).__name__} {_show(x)}{where}")


def _rational(name: str, x: Any, where: str = "") -> tuple[int, int]:
    """``x`` as an exact (numerator, denominator > 0), validated: a real number (not a
    bool, string or bytes) and finite.  Any magnitude is taken exactly (``10**400``,
    ``Fraction(1, 10**400)``): only a result outside float64's range is an error.
    ``where`` ends every error's detail (an array index)."""
    if isinstance(x, float):  # float, numpy.float64
        if not math.isfinite(x):
            raise InvalidParameterError(name, "must be finite", f"got {x}{where}")
        return x.as_integer_ratio()
    if isinstance(x, np.ndarray) and x.ndim == 0:
        return _rational(name, x[()] if x.dtype != object else x.item(), where)
    if isinstance(x, (bool, np.bool_, str, bytes, bytearray, complex, np.complexfloating)):
        raise _not_real(name, x, where)
    if isinstance(x, Integral):
        n, d = int(x), 1
    elif isinstance(x, np.floating):  # float16, float32, longdouble: exact ratios
        if not np.isfinite(x):
            raise InvalidParameterError(name, "must be finite", f"got {x}{where}")
        n, d = x.as_integer_ratio()
    elif isinstance(x, Rational):
        n, d = int(x.numerator), int(x.denominator)
    elif isinstance(x, Decimal):
        if not x.is_finite():
            raise InvalidParameterError(name, "must be finite", f"got {x}{where}")
        n, d = x.as_integer_ratio()
    elif isinstance(x, Real):
        try:
            v = float(x)
        except (TypeError, ValueError, OverflowError):
            raise _not_real(name, x, where) from None
        return _rational(name, v, where)
    else:
        raise _not_real(name, x, where)
    return n, d


def _names(name: str) -> tuple[str, ...]:
    return ("weight", *PARAM_ARGS) if _SPECS[name][1] else PARAM_ARGS


def _overflow(name: str, xs: tuple[Any, ...], where: str) -> InvalidParameterError:
    names = _names(name)
    at = ", ".join(f"{n}={_show(x)}" for n, x in zip(names, xs, strict=True))
    return InvalidParameterError(", ".join(names), "must keep the result within float64 range",
                                 f"{_SHOWN.get(name, name)} overflows at {at}{where}")


def _scalar_general(name: str, xs: tuple[Any, ...], where: str = "") -> float:
    """Any real scalars: exact rationals, exact domain checks (raising the precise error,
    its detail ending with ``where``), exact value correctly rounded."""
    names = _names(name)
    rats = [_rational(n, x, where) for n, x in zip(names, xs, strict=True)]
    den = math.lcm(*(d for _n, d in rats))
    nums = [n * (den // d) for n, d in rats]
    vl, vg, _b, cv = xs[-4:]
    n_l, n_g, cs, dval = gen.exact_domain(*nums[-4:], den)
    if n_l < 0:
        raise InvalidParameterError("var_local", "must be >= 0", f"got {_show(vl)}{where}")
    if n_g < 0:
        raise InvalidParameterError("var_global", "must be >= 0", f"got {_show(vg)}{where}")
    if cs < 0:
        raise InvalidParameterError(
            "cov", "must satisfy cov^2 <= var_local * var_global (Cauchy-Schwarz, decided "
            "exactly)", f"got cov={_show(cv)}, var_local={_show(vl)}, var_global={_show(vg)}"
            f"{where}")
    if _SPECS[name][2] == "raise" and dval <= 0:  # D >= 0 on the domain
        raise _undefined(where)
    try:
        return gen.EXACT[name](*nums, den)
    except OverflowError:
        raise _overflow(name, xs, where) from None


def _undefined(where: str = "") -> UndefinedOptimumError:
    return UndefinedOptimumError(
        "var_local, var_global, bias, cov",
        "need D = var_local + var_global - 2 cov + bias^2 > 0 for the optimal weight to exist",
        "D = 0 exactly: var_local = var_global = cov and bias = 0, so every weight has "
        "MSE = var_local" + where)


def _direct(xs: tuple[Any, ...]) -> bool:
    """Every argument a float, numpy.float64 or an int within float64's range: the
    generated scalar function takes them as they are."""
    for x in xs:
        t = type(x)
        if t is float or t is _F64:
            continue
        if t is int and -_MAX <= x <= _MAX:
            continue
        return False
    return True


def _call(name: str, xs: tuple[Any, ...]) -> FloatOrArray:
    """The general path behind the generated public functions (which evaluate floats,
    numpy.float64 and ints themselves): scalars of any other kind, and any invalid scalar
    input, to :func:`_scalar_general` (exact; raises the precise error), arrays to the
    array paths."""
    first = xs[0]
    if type(first) is np.ndarray and first.ndim:  # (a 0-d array is a scalar: below)
        return _vector(name, xs)
    if all(np.ndim(x) == 0 and not isinstance(x, (list, tuple)) for x in xs):
        return _scalar_general(name, xs)
    return _vector(name, xs)


# --------------------------------------------------------------------------- arrays


@cache
def _fast_module() -> ModuleType | None:
    if os.environ.get(BACKEND_ENV, "auto") == "numpy":
        return None
    try:  # deferred: numba is optional (the ``fast`` extra) and slow to import
        return importlib.import_module("._fastkernels", __package__)
    except ImportError:
        return None


def backend() -> str:
    """``numba`` when arrays take the compiled loops, else ``numpy``."""
    return "numba" if _fast_module() is not None else "numpy"


def _numba_loaded() -> bool:
    return "numba" in sys.modules


def _kernels(size: int) -> ModuleType | None:
    """The compiled loops for an array of ``size`` elements once numba is loaded; before,
    only when the numpy path's time so far in this process plus this call's estimate
    (:data:`NUMPY_S_PER_ELEMENT` per element) reaches :data:`NUMBA_AFTER_S`, about the
    cost of loading numba: a one-off call on a million elements takes the numpy path
    (tenths of a second) rather than loading numba (most of a second), and from
    :data:`FAST_MIN_SIZE` elements the compiled loops serve at once."""
    if (size >= FAST_MIN_SIZE or _numba_loaded()
            or _NUMPY_SPENT[0] + size * NUMPY_S_PER_ELEMENT >= NUMBA_AFTER_S):
        return _fast_module()
    return None


def fallback_stats(reset: bool = False) -> dict[str, int]:
    """Elements evaluated in double-double by the array paths so far (compiled or numpy;
    not the arrays below :data:`EXACT_MAX_SIZE` evaluated exactly without numba) and how
    many of them went to the exact path (invalid, extreme, or undecided by the bound);
    ``reset`` zeroes the counts."""
    out = dict(_STATS)
    if reset:
        _STATS.update(elements=0, exact=0)
    return out


def _as_array(name: str, x: Any) -> npt.NDArray[Any]:
    """``x`` as a float64 array, or an object array whose elements are evaluated exactly
    (exact rationals, ints beyond 2^53, extended precision); invalid types raise."""
    if isinstance(x, np.ma.MaskedArray):
        if np.ma.is_masked(x):
            raise InvalidParameterError(
                name, "must not have masked entries (fill or compress the masked array)",
                f"{int(np.ma.count_masked(x))} masked")
        x = np.ma.getdata(x)
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError):
        raise InvalidParameterError(name, "must be an array of real numbers") from None
    kind = arr.dtype.kind
    if kind == "f":
        return arr.astype(object) if arr.dtype.itemsize > 8 else arr.astype(np.float64,
                                                                             copy=False)
    if kind in "iu":  # exact as float64 up to 2^53, else evaluated exactly as ints
        if arr.size and (int(arr.max()) > _EXACT_INT or int(arr.min()) < -_EXACT_INT):
            return arr.astype(object)
        return arr.astype(np.float64)
    if kind == "O":
        return arr
    if kind == "b":
        raise InvalidParameterError(name, "must be real numbers, not booleans")
    raise InvalidParameterError(name, "must be an array of real numbers",
                                f"got dtype {arr.dtype}")


def _shape(names: tuple[str, ...], arrs: list[npt.NDArray[Any]]) -> tuple[int, ...]:
    try:
        return np.broadcast_shapes(*(a.shape for a in arrs))
    except ValueError:
        got = ", ".join(f"{n} {a.shape}" for n, a in zip(names, arrs, strict=True))
        raise InvalidParameterError(", ".join(names), "must have shapes that broadcast "
                                    "together", f"got {got}") from None


def _element(name: str, vals: tuple[Any, ...], index: tuple[int, ...]) -> float:
    """One element evaluated exactly; its error, if any, says where it is."""
    r = gen.SCALAR[name](*vals) if _direct(vals) else None
    if r is not None:
        return r
    return _scalar_general(name, vals, f", at index {index}")


def _flat(a: npt.NDArray[np.float64], shape: tuple[int, ...], size: int) -> Any:
    """A compiled loop's argument: a float for a single value, else a C-contiguous 1-D
    array of ``size`` elements (a view when ``a`` has them all, so a writable input stays
    writable: numba compiles read-only arrays separately)."""
    if a.size == 1:
        return float(a.reshape(-1)[0])
    if a.size == size:
        return np.ascontiguousarray(a).reshape(-1)
    return np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1)


def _vector(name: str, xs: tuple[Any, ...]) -> Any:
    """An array result (``beneficial_interval``: the pair of ends, from ``interval_high``)."""
    pair = name == "beneficial_interval"
    form = "interval_high" if pair else name
    plain = _plain(xs)
    if plain is not None:  # float64 arrays of one shape and floats: taken as they are
        mod = _kernels(plain[2])
        if mod is not None:
            return _compiled(name, form, mod, *plain, pair)
    names = _names(form)
    arrs = [_as_array(n, x) for n, x in zip(names, xs, strict=True)]
    shape = _shape(names, arrs)
    size = math.prod(shape)
    mod = None if any(a.dtype == object for a in arrs) else _kernels(size)
    if mod is not None:  # compiled loops: value, validation and rounding in one pass
        return _compiled(name, form, mod, [_flat(a, shape, size) for a in arrs], shape,
                         size, pair)
    out = _vector_other(form, names, arrs, shape, size)
    if pair:
        return np.minimum(0.0, out) + 0.0, np.maximum(0.0, out) + 0.0
    return out


def _plain(xs: tuple[Any, ...]) -> tuple[list[Any], tuple[int, ...], int] | None:
    """(the compiled loops' arguments, shape, size) when every argument is a float or a
    C-contiguous float64 ``numpy.ndarray`` (not a subclass), the arrays all of one shape
    with at least 2 elements: flat views and floats, with no conversion (a few attribute
    reads instead of the general path's asarray, broadcast_shapes and copies); else
    None."""
    shape: tuple[int, ...] | None = None
    out: list[Any] = []
    for x in xs:
        t = type(x)
        if t is float:
            out.append(x)
            continue
        if t is not np.ndarray or x.dtype is not _F64_DTYPE:
            return None
        if shape is None:
            shape = x.shape
        elif x.shape != shape:
            return None
        if x.ndim == 1:
            if x.strides[0] != 8:
                return None
            out.append(x)
        elif x.flags.c_contiguous:
            out.append(x.reshape(-1))
        else:
            return None
    if shape is None:
        return None
    size = math.prod(shape)
    return (out, shape, size) if size >= 2 else None


def _compiled(name: str, form: str, mod: ModuleType, args: list[Any],
              shape: tuple[int, ...], size: int, pair: bool) -> Any:
    """The compiled loop of ``name`` over flat arguments; flagged elements evaluated
    exactly (their errors say where)."""
    outs = ((np.empty(size), np.empty(size)) if pair else (np.empty(size),))
    bad = _run_chunks(getattr(mod, name if pair else form), args, outs)
    _STATS["elements"] += size
    _STATS["exact"] += bad
    if bad:
        for i in np.flatnonzero(np.isnan(outs[-1])):
            vals = tuple(float(x if isinstance(x, float) else x[i]) for x in args)
            v = _element(form, vals, tuple(int(k) for k in np.unravel_index(i, shape)))
            if pair:
                outs[0][i], outs[1][i] = min(0.0, v) + 0.0, max(0.0, v) + 0.0
            else:
                outs[0][i] = v
    if pair:
        return outs[0].reshape(shape), outs[1].reshape(shape)
    return outs[0].reshape(shape)


def _vector_other(name: str, names: tuple[str, ...], arrs: list[npt.NDArray[Any]],
                  shape: tuple[int, ...], size: int) -> npt.NDArray[np.float64]:
    """The array paths without the compiled loops: exact element by element (object
    arrays, small arrays), or numpy double-double arithmetic with an exact fix-up."""
    if any(a.dtype == object for a in arrs):  # exact element by element
        full = [np.broadcast_to(a, shape) for a in arrs]
        out = np.empty(shape, dtype=np.float64)
        for idx in np.ndindex(shape):
            out[idx] = _element(name, tuple(a[idx] for a in full), idx)
        _STATS["elements"] += size
        _STATS["exact"] += size
        return out
    args = [np.broadcast_to(a, shape).reshape(-1) for a in arrs]
    if size < EXACT_MAX_SIZE:  # numpy's per-operation cost would dominate
        out = np.full(size, np.nan)
        bad = size
    else:
        out = np.empty(size, dtype=np.float64)
        start = time.perf_counter()
        with np.errstate(all="ignore"):
            for lo in range(0, size, NUMPY_CHUNK):  # temporaries stay in cache
                part = [x[lo:lo + NUMPY_CHUNK] for x in args]
                value, ok = gen.CR[name](*part)
                out[lo:lo + NUMPY_CHUNK] = np.where(ok, value, np.nan)
        bad = int(np.count_nonzero(np.isnan(out)))
        _NUMPY_SPENT[0] += time.perf_counter() - start
        _STATS["elements"] += size
        _STATS["exact"] += bad
    if bad:
        for i in np.flatnonzero(np.isnan(out)):
            vals = tuple(float(x[i]) for x in args)
            out[i] = _element(name, vals, tuple(int(k) for k in np.unravel_index(i, shape)))
    return out.reshape(shape)


def threads(size: int) -> int:
    """Threads for a compiled call over ``size`` elements: one per :data:`THREAD_CHUNK`
    elements, at most ``$MODELAVG_SYM_THREADS`` (default: the CPU count, capped at 4)."""
    if size < 2 * THREAD_CHUNK:
        return 1
    cap = int(os.environ.get(THREADS_ENV, "0")) or min(4, _cpus())
    return max(1, min(cap, size // THREAD_CHUNK))


@cache
def _cpus() -> int:
    """``os.cpu_count()``, read once (it reads sysfs: microseconds a call)."""
    return os.cpu_count() or 1


def _run_chunks(fn: Callable[..., int], args: list[Any],
                outs: tuple[npt.NDArray[np.float64], ...]) -> int:
    """Run a compiled loop over contiguous chunks in threads (the loops release the GIL);
    elementwise, so the result does not depend on the thread count.  Plain threads
    started per call (tens of microseconds against milliseconds of work) stay fork-safe."""
    n = outs[0].shape[0]
    k = threads(n)
    if k == 1:
        return int(fn(*args, *outs))
    edges = [n * j // k for j in range(k + 1)]
    bad = [0] * k

    def work(j: int) -> None:
        lo, hi = edges[j], edges[j + 1]
        bad[j] = fn(*(x[lo:hi] if isinstance(x, np.ndarray) else x for x in args),
                    *(o[lo:hi] for o in outs))

    pool = [threading.Thread(target=work, args=(j,)) for j in range(1, k)]
    for t in pool:
        t.start()
    work(0)
    for t in pool:
        t.join()
    return int(sum(bad))


# --------------------------------------------------------------------------- public API


def _fallback(name: str, xs: tuple[Any, ...]) -> Any:
    """The general path of the generated public functions (anything but floats, numpy
    float64 and ints evaluated as they are, and every invalid input)."""
    if name == "beneficial_interval" and all(
            np.ndim(x) == 0 and not isinstance(x, (list, tuple)) for x in xs):
        hi = _scalar_general("interval_high", xs)
        # + 0.0: an end at zero is +0.0 (2a* may round to -0.0)
        return (min(0.0, hi) + 0.0, max(0.0, hi) + 0.0)
    return _call(name, xs)


gen.set_fallback(_fallback)

# The public functions are generated (``_generated.py``): the exact scalar evaluation is
# inlined in them, saving a call on the fast path; their docstrings state the formulas.
optimal_weight = gen.optimal_weight
mse = gen.mse
benefit = gen.benefit
min_mse = gen.min_mse
beneficial_interval = gen.beneficial_interval
for _fn in (optimal_weight, mse, benefit, min_mse, beneficial_interval):
    _fn.__module__ = __name__  # documented (and pickled) as the API's


#: Public compiled functions by name (the float route and reports iterate over these).
API: dict[str, Callable[..., Any]] = {
    "optimal_weight": optimal_weight,
    "mse": mse,
    "benefit": benefit,
    "min_mse": min_mse,
    "beneficial_interval": beneficial_interval,
}


@contextlib.contextmanager
def without_c_extension() -> Iterator[None]:
    """Within this block the public functions answer scalars on the exact integer path
    alone, as on an install without a C compiler (the C extension's functions replaced by
    the stand-in that declines every call); for the tests and benchmarks that compare the
    two paths.  Not thread-safe: it rebinds module globals of ``_generated``."""
    saved = {k: v for k, v in vars(gen).items() if k.startswith("_C_")}
    try:
        for k in saved:
            setattr(gen, k, gen._no_extension)
        yield
    finally:
        for k, v in saved.items():
            setattr(gen, k, v)
