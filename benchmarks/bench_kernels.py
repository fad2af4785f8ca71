"""Arrays: the five numeric functions against competent numpy and a parallel bandwidth floor.

Every argument is a float64 array of n elements (the covariance too).  Timed side by side
(interleaved, medians), each function at n = 1e3, 1e5 and 1e7:

* ``api``: the public function, validation included;
* ``numpy``: **competent numpy** (:data:`COMPETENT`), written the way a careful numpy user
  would: validation in one pass per check (``np.isfinite(x).all()`` per input, one
  comparison per constraint: variances >= 0, cov^2 <= var_local var_global, D > 0 where the
  function needs it), then the formula evaluated in place (``np.add(..., out=)``,
  ``np.multiply(..., out=)``, in-place operators) into the output array plus one scratch
  array, no other float temporaries;
* ``floor``: a **parallel bandwidth floor** that does no arithmetic beyond one add per input:
  it reads the k inputs and writes a freshly allocated output (``np.empty`` per call; two
  outputs for ``beneficial_interval``), in as many threads as the API uses
  (``modelavg_sym.numeric.api.threads(n)``), over the same contiguous chunks.  Two
  implementations, timed alike; the floor is the faster of the two: a ``numba`` loop
  ``out[i] = x0[i] + ... + x(k-1)[i]`` (when numba is installed) and a numpy one adding
  the inputs block by block (blocks of 2^14 elements, so the re-read output stays in cache);
* peers, unvalidated (formula only), informational: ``numexpr.evaluate`` and a plain
  ``@numba.njit(parallel=True)`` loop over ``prange``, both set to the API's thread count.

The note of each row gives the fallback rate: elements of the call whose double-double
bound left the rounding undecided, evaluated exactly (``api.fallback_stats``).

Goals: n = 1e3 api <= 2x numpy; n = 1e5 api <= 1x numpy; n = 1e7 api <= 1.3x floor.  The
baselines are checked to give the API's numbers (``np.allclose``) before being timed.
At n = 1e7 a sample is one call of a few tens of milliseconds, so that size takes three
times the rounds (:data:`FLOOR_ROUNDS`); each row's note gives the quartiles of api /
anchor within a round, the run's own spread.

A fresh process also measures the first array call: n = 1e7 (numba compile or cache
load) with numba's cache as found and with an empty cache directory, and a one-off
n = 1e6 (the numpy path: loading numba would cost more, ``api._kernels``).
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from . import Row, fmt_s, goal_row, interleaved_samples, medians, python, row, timed_run

Arr = npt.NDArray[np.float64]

#: (n, goal, anchor): the ratio api / anchor must be <= goal.
SIZES: tuple[tuple[int, float, str], ...] = (
    (10**3, 2.0, "numpy"),
    (10**5, 1.0, "numpy"),
    (10**7, 1.3, "floor"),
)
#: Seconds of work per timing sample (the loop count per sample is chosen to reach it).
SAMPLE_S = 0.02
#: Rounds at the floor-anchored size, as a multiple of the others' (one call per sample).
FLOOR_ROUNDS = 3
#: Elements per block of the numpy floor (the block of the output stays in cache).
BLOCK = 1 << 14
#: Argument names of each function, in API order.
ARGS: dict[str, tuple[str, ...]] = {
    "optimal_weight": ("vl", "vg", "b", "cv"),
    "mse": ("w", "vl", "vg", "b", "cv"),
    "benefit": ("w", "vl", "vg", "b", "cv"),
    "min_mse": ("vl", "vg", "b", "cv"),
    "beneficial_interval": ("vl", "vg", "b", "cv"),
}
OUTPUTS = {"beneficial_interval": 2}


def inputs(n: int) -> dict[str, Arr]:
    """Valid inputs (seeded): variances in [0.1, 2], |cov| below sqrt(vl vg)."""
    rng = np.random.default_rng(np.random.SeedSequence(2024))
    vl = rng.uniform(0.1, 2.0, n)
    vg = rng.uniform(0.1, 2.0, n)
    cv = rng.uniform(-0.9, 0.9, n) * np.sqrt(vl * vg)
    return {"w": rng.uniform(-1.0, 2.0, n), "vl": vl, "vg": vg, "b": rng.normal(size=n),
            "cv": cv}


# --------------------------------------------------------------------------- competent numpy
# The comparison, never used by the package.  Validation: one np.isfinite pass per input and
# one comparison per constraint; evaluation in place into ``out`` with one scratch ``t``.


class Invalid(ValueError):
    """Raised by the competent-numpy baselines on invalid input (as the API raises)."""


def _validate(vl: Arr, vg: Arr, b: Arr, cv: Arr, out: Arr, t: Arr, w: Arr | None = None
              ) -> None:
    """Finite inputs, var_local, var_global >= 0, cov^2 <= var_local var_global."""
    for x in (vl, vg, b, cv) if w is None else (w, vl, vg, b, cv):
        if not np.isfinite(x).all():
            raise Invalid("inputs must be finite")
    if (vl < 0).any() or (vg < 0).any():
        raise Invalid("variances must be >= 0")
    np.multiply(cv, cv, out=t)
    np.multiply(vl, vg, out=out)
    if np.greater(t, out).any():
        raise Invalid("cov^2 <= var_local var_global (Cauchy-Schwarz)")


def _d_into(vl: Arr, vg: Arr, b: Arr, cv: Arr, out: Arr) -> Arr:
    """D = b^2 + (vl - c) + (vg - c) into ``out``."""
    np.multiply(b, b, out=out)
    out += vl
    out += vg
    out -= cv
    out -= cv
    return out


def np_optimal_weight(vl: Arr, vg: Arr, b: Arr, cv: Arr) -> Arr:
    """(vl - c) / D, D > 0 required."""
    out, t = np.empty_like(vl), np.empty_like(vl)
    _validate(vl, vg, b, cv, out, t)
    _d_into(vl, vg, b, cv, out)
    if not (out > 0).all():
        raise Invalid("D > 0")
    np.subtract(vl, cv, out=t)
    return np.divide(t, out, out=out)


def np_mse(w: Arr, vl: Arr, vg: Arr, b: Arr, cv: Arr) -> Arr:
    """(1 - w)^2 vl + w^2 (vg + b^2) + 2 w (1 - w) c."""
    out, t = np.empty_like(vl), np.empty_like(vl)
    _validate(vl, vg, b, cv, out, t, w)
    np.subtract(1.0, w, out=t)          # 1 - w
    np.multiply(t, cv, out=out)
    out *= w
    out *= 2.0                          # 2 w (1 - w) c
    t *= t
    t *= vl
    out += t                            # + (1 - w)^2 vl
    np.multiply(b, b, out=t)
    t += vg
    t *= w
    t *= w
    out += t                            # + w^2 (vg + b^2)
    return out


def np_benefit(w: Arr, vl: Arr, vg: Arr, b: Arr, cv: Arr) -> Arr:
    """D w (2 a* - w) = w (2 (vl - c) - w D) (0 where D = 0, as it is then)."""
    out, t = np.empty_like(vl), np.empty_like(vl)
    _validate(vl, vg, b, cv, out, t, w)
    _d_into(vl, vg, b, cv, out)
    out *= w                            # w D
    np.subtract(vl, cv, out=t)
    t *= 2.0
    np.subtract(t, out, out=out)
    out *= w
    return out


def np_min_mse(vl: Arr, vg: Arr, b: Arr, cv: Arr) -> Arr:
    """(vl (vg + b^2) - c^2) / D, D > 0 required."""
    out, t = np.empty_like(vl), np.empty_like(vl)
    _validate(vl, vg, b, cv, out, t)
    np.multiply(b, b, out=out)
    out += vg
    out *= vl                           # vl (vg + b^2)
    np.multiply(cv, cv, out=t)
    out -= t                            # - c^2
    _d_into(vl, vg, b, cv, t)
    if not (t > 0).all():
        raise Invalid("D > 0")
    return np.divide(out, t, out=out)


def np_beneficial_interval(vl: Arr, vg: Arr, b: Arr, cv: Arr) -> tuple[Arr, Arr]:
    """(min(0, 2a*), max(0, 2a*)), D > 0 required."""
    out, t = np.empty_like(vl), np.empty_like(vl)
    _validate(vl, vg, b, cv, out, t)
    _d_into(vl, vg, b, cv, out)
    if not (out > 0).all():
        raise Invalid("D > 0")
    np.subtract(vl, cv, out=t)
    t *= 2.0
    np.divide(t, out, out=t)
    return np.minimum(t, 0.0, out=out), np.maximum(t, 0.0, out=t)


COMPETENT: dict[str, Callable[..., Any]] = {
    "optimal_weight": np_optimal_weight,
    "mse": np_mse,
    "benefit": np_benefit,
    "min_mse": np_min_mse,
    "beneficial_interval": np_beneficial_interval,
}

#: Formulas for the peers (numexpr strings; the numba loops below compute the same).
NUMEXPR = {
    "optimal_weight": "(vl - cv) / (b*b + (vl - cv) + (vg - cv))",
    "mse": "(1 - w)**2 * vl + w**2 * (vg + b*b) + 2 * w * (1 - w) * cv",
    "benefit": "w * (2 * (vl - cv) - w * (b*b + (vl - cv) + (vg - cv)))",
    "min_mse": "(vl * (vg + b*b) - cv*cv) / (b*b + (vl - cv) + (vg - cv))",
    "beneficial_interval": "2 * (vl - cv) / (b*b + (vl - cv) + (vg - cv))",
}


# --------------------------------------------------------------------------- floor


def api_threads(n: int) -> tuple[int, str]:
    """The API's thread count for n elements, and where it came from."""
    try:
        from modelavg_sym.numeric.api import threads
    except ImportError:
        return 1, "modelavg_sym.numeric.api.threads not found: 1 thread"
    return int(threads(n)), "modelavg_sym.numeric.api.threads(n)"


def _in_threads(k: int, n: int, work: Callable[[int, int], None]) -> None:
    """``work(lo, hi)`` over k contiguous chunks, chunk 0 in this thread."""
    if k == 1:
        work(0, n)
        return
    edges = [n * j // k for j in range(k + 1)]
    pool = [threading.Thread(target=work, args=(edges[j], edges[j + 1])) for j in range(1, k)]
    for th in pool:
        th.start()
    work(edges[0], edges[1])
    for th in pool:
        th.join()


def numpy_floor(xs: list[Arr], outputs: int, k: int) -> list[Arr]:
    """Fresh outputs = sum of the inputs, block by block, in k threads (ufuncs drop the GIL)."""
    n = xs[0].shape[0]
    outs = [np.empty(n) for _ in range(outputs)]

    def work(lo: int, hi: int) -> None:
        for s in range(lo, hi, BLOCK):
            e = min(s + BLOCK, hi)
            o = outs[0][s:e]
            np.add(xs[0][s:e], xs[1][s:e], out=o)
            for x in xs[2:]:
                np.add(o, x[s:e], out=o)
            for extra in outs[1:]:
                np.copyto(extra[s:e], o)

    _in_threads(k, n, work)
    return outs


@cache
def _numba_floor_kernels() -> dict[tuple[int, int], Callable[..., None]] | None:
    """nogil loops out[i] = x0[i] + ... (1 or 2 outputs), or None without numba."""
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(nogil=True)
    def k4(a, b, c, d, o):  # type: ignore[no-untyped-def]
        for i in range(o.shape[0]):
            o[i] = a[i] + b[i] + c[i] + d[i]

    @numba.njit(nogil=True)
    def k5(a, b, c, d, e, o):  # type: ignore[no-untyped-def]
        for i in range(o.shape[0]):
            o[i] = a[i] + b[i] + c[i] + d[i] + e[i]

    @numba.njit(nogil=True)
    def k4x2(a, b, c, d, o, p):  # type: ignore[no-untyped-def]
        for i in range(o.shape[0]):
            s = a[i] + b[i] + c[i] + d[i]
            o[i] = s
            p[i] = s

    return {(4, 1): k4, (5, 1): k5, (4, 2): k4x2}


def numba_floor(kernels: dict[tuple[int, int], Callable[..., None]], xs: list[Arr],
                outputs: int, k: int) -> list[Arr]:
    """Fresh outputs = sum of the inputs, one compiled pass, in k threads."""
    n = xs[0].shape[0]
    outs = [np.empty(n) for _ in range(outputs)]
    fn = kernels[(len(xs), outputs)]

    def work(lo: int, hi: int) -> None:
        fn(*(x[lo:hi] for x in xs), *(o[lo:hi] for o in outs))

    _in_threads(k, n, work)
    return outs


# --------------------------------------------------------------------------- peers


@cache
def _numba_peers() -> dict[str, Callable[..., Any]] | None:
    """Plain ``@numba.njit(parallel=True)`` loops of the formulas (unvalidated)."""
    try:
        import numba
    except ImportError:
        return None
    prange = numba.prange

    @numba.njit(parallel=True)
    def optimal_weight(vl, vg, b, cv):  # type: ignore[no-untyped-def]
        out = np.empty(vl.shape[0])
        for i in prange(vl.shape[0]):
            out[i] = (vl[i] - cv[i]) / (b[i] * b[i] + (vl[i] - cv[i]) + (vg[i] - cv[i]))
        return out

    @numba.njit(parallel=True)
    def mse(w, vl, vg, b, cv):  # type: ignore[no-untyped-def]
        out = np.empty(vl.shape[0])
        for i in prange(vl.shape[0]):
            u = 1.0 - w[i]
            out[i] = u * u * vl[i] + w[i] * w[i] * (vg[i] + b[i] * b[i]) + 2 * w[i] * u * cv[i]
        return out

    @numba.njit(parallel=True)
    def benefit(w, vl, vg, b, cv):  # type: ignore[no-untyped-def]
        out = np.empty(vl.shape[0])
        for i in prange(vl.shape[0]):
            d = b[i] * b[i] + (vl[i] - cv[i]) + (vg[i] - cv[i])
            out[i] = w[i] * (2 * (vl[i] - cv[i]) - w[i] * d)
        return out

    @numba.njit(parallel=True)
    def min_mse(vl, vg, b, cv):  # type: ignore[no-untyped-def]
        out = np.empty(vl.shape[0])
        for i in prange(vl.shape[0]):
            d = b[i] * b[i] + (vl[i] - cv[i]) + (vg[i] - cv[i])
            out[i] = (vl[i] * (vg[i] + b[i] * b[i]) - cv[i] * cv[i]) / d
        return out

    @numba.njit(parallel=True)
    def beneficial_interval(vl, vg, b, cv):  # type: ignore[no-untyped-def]
        lo = np.empty(vl.shape[0])
        hi = np.empty(vl.shape[0])
        for i in prange(vl.shape[0]):
            h = 2 * (vl[i] - cv[i]) / (b[i] * b[i] + (vl[i] - cv[i]) + (vg[i] - cv[i]))
            lo[i] = min(0.0, h)
            hi[i] = max(0.0, h)
        return lo, hi

    return {"optimal_weight": optimal_weight, "mse": mse, "benefit": benefit,
            "min_mse": min_mse, "beneficial_interval": beneficial_interval}


def _numexpr_peer(name: str, args: dict[str, Arr]) -> Callable[[], Any] | None:
    try:
        import numexpr as ne
    except ImportError:
        return None
    expr = NUMEXPR[name]
    if name == "beneficial_interval":
        def both() -> Any:
            h = ne.evaluate(expr, local_dict=args)
            return (ne.evaluate("where(h < 0, h, 0)", local_dict={"h": h}),
                    ne.evaluate("where(h > 0, h, 0)", local_dict={"h": h}))
        return both
    return lambda: ne.evaluate(expr, local_dict=args)


def _set_peer_threads(k: int) -> None:
    try:
        import numexpr as ne

        ne.set_num_threads(k)
    except ImportError:
        pass
    try:
        import numba

        numba.set_num_threads(min(k, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass


# --------------------------------------------------------------------------- timing


def _same(name: str, got: Any, want: Any) -> None:
    """The baseline computes the API's numbers (else the comparison would be unfair)."""
    got_t = got if isinstance(got, tuple) else (got,)
    want_t = want if isinstance(want, tuple) else (want,)
    for g, w in zip(got_t, want_t, strict=True):
        if not np.allclose(g, w, rtol=1e-9, atol=1e-12):
            raise AssertionError(f"{name}: baseline and API disagree")


def _number(fns: dict[str, Callable[[], Any]]) -> int:
    """Loop count per sample so that the slowest side takes about :data:`SAMPLE_S`."""
    from time import perf_counter

    slowest = 0.0
    for fn in fns.values():
        t0 = perf_counter()
        fn()
        slowest = max(slowest, perf_counter() - t0)
    return max(1, int(SAMPLE_S / max(slowest, 1e-9)))


def bench_size(n: int, goal: float, anchor: str, repeats: int) -> list[Row]:
    import modelavg_sym as m
    from modelavg_sym.numeric import api as napi

    x = inputs(n)
    k, k_from = api_threads(n)
    _set_peer_threads(k)
    floor_kernels = _numba_floor_kernels()
    peers = _numba_peers()
    rows: list[Row] = []
    for name, names in ARGS.items():
        args = [x[a] for a in names]
        api_fn = getattr(m, name)
        napi.fallback_stats(reset=True)
        want = api_fn(*args)  # also the first call (compile / cache load) at this layout
        stats = napi.fallback_stats(reset=True)
        _same(f"competent numpy {name}", COMPETENT[name](*args), want)
        outs = OUTPUTS.get(name, 1)
        fns: dict[str, Callable[[], Any]] = {
            "api": lambda f=api_fn, a=args: f(*a),
            "numpy": lambda f=COMPETENT[name], a=args: f(*a),
            "floor_np": lambda a=args, o=outs: numpy_floor(a, o, k),
        }
        if floor_kernels is not None:
            numba_floor(floor_kernels, args, outs, k)  # compile outside the timing
            fns["floor_nb"] = lambda a=args, o=outs: numba_floor(floor_kernels, a, o, k)
        ne_fn = _numexpr_peer(name, dict(zip(names, args, strict=True)))
        if ne_fn is not None:
            _same(f"numexpr {name}", ne_fn(), want)
            fns["numexpr"] = ne_fn
        if peers is not None:
            _same(f"numba {name}", peers[name](*args), want)
            fns["njit_parallel"] = lambda f=peers[name], a=args: f(*a)
        samples = interleaved_samples(fns, repeats, _number(fns))
        med = medians(samples)
        floor_kind = min((f for f in ("floor_np", "floor_nb") if f in med), key=med.__getitem__)
        med["floor"], samples["floor"] = med[floor_kind], samples[floor_kind]
        ratio = med["api"] / med[anchor]
        # the spread: api / anchor within each round (timed next to each other)
        paired = np.array(samples["api"]) / np.array(samples[anchor])
        q25, q75 = (float(q) for q in np.percentile(paired, [25, 75]))
        anchor_text = ("competent numpy" if anchor == "numpy" else
                       f"parallel floor ({k} thread{'s' if k > 1 else ''})")
        others = [f"{lab} {fmt_s(med[key])} ({med['api'] / med[key]:.2f}x)"
                  for key, lab in (("numpy", "competent numpy"), ("floor", "floor"),
                                   ("numexpr", "numexpr"), ("njit_parallel",
                                                            "njit(parallel)"))
                  if key in med and key != anchor]
        note = (f"api / {'numpy' if anchor == 'numpy' else 'floor'} within a round: "
                f"quartiles {q25:.2f}-{q75:.2f} over {repeats} rounds; "
                "api vs the others: " + "; ".join(others) + f"; floor: the faster of "
                f"numpy-blocked {fmt_s(med['floor_np'])}"
                + (f" and numba {fmt_s(med['floor_nb'])}" if "floor_nb" in med else "")
                + f", {len(args)} inputs + {outs} fresh output(s), {k} thread(s) from "
                f"{k_from}; peers unvalidated; fallback to the exact path: "
                f"{stats['exact']} of {stats['elements']} elements in double-double "
                f"(backend {napi.backend() if napi._kernels(n) else 'numpy'})")
        rows.append(goal_row(f"4. {name} (validated) vs {anchor_text}, n={n:.0e}",
                             f"{fmt_s(med['api'])} vs {fmt_s(med[anchor])}", ratio, goal,
                             note))
    return rows


_FIRST_CALL = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import modelavg_sym as m
t_import = time.perf_counter() - t0
n = int(sys.argv[1])
rng = np.random.default_rng(1)
vl, vg, b = rng.uniform(0.1, 2, n), rng.uniform(0.1, 2, n), rng.normal(size=n)
cv = 0.1 * np.sqrt(vl * vg)
res = {"import": t_import}
for label, args in (("arrays", (vl, vg, b, cv)), ("scalar cov", (vl, vg, b, 0.0))):
    for k in range(3):
        t0 = time.perf_counter()
        m.optimal_weight(*args)
        res[f"{label} {k}"] = time.perf_counter() - t0
        if label == "arrays" and k == 0:
            res["numba"] = "numba" in sys.modules
res["sympy"] = "sympy" in sys.modules
print(json.dumps(res))
"""


def first_call() -> list[Row]:
    """The first array call in a fresh process: a large one (the compiled loops at once)
    with numba's cache as found and with an empty one, and a one-off million elements
    (the numpy path, numba not loaded: ``api._kernels``)."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="modelavg-numba-") as empty:
        cases: list[tuple[int, str, dict[str, str]]] = [
            (10**7, "numba cache as found", {}),
            (10**7, "empty numba cache (NUMBA_CACHE_DIR=<new temp dir>)",
             {"NUMBA_CACHE_DIR": empty}),
            (10**6, "numba cache as found", {}),
        ]
        for n, label, env in cases:
            title = f"4. first array call, n={n:.0e}, fresh process, {label}"
            _, proc = timed_run([python(), "-c", _FIRST_CALL, str(n)], env=env)
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
                rows.append(row(title, f"failed: {last}", None, "report", None))
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            warm = min(r["arrays 1"], r["arrays 2"])
            warm_s = min(r["scalar cov 1"], r["scalar cov 2"])
            path = "compiled loops (numba loaded)" if r["numba"] else "numpy (numba not loaded)"
            rows.append(row(
                title,
                f"{fmt_s(r['arrays 0'])} (then {fmt_s(warm)}); new argument layout "
                f"(scalar cov): {fmt_s(r['scalar cov 0'])} (then {fmt_s(warm_s)})",
                r["arrays 0"] / warm, "report", None,
                f"optimal_weight on n={n:.0e} arrays, first call by the {path}; ratio: first "
                f"call / warm call; import modelavg_sym {fmt_s(r['import'])}; sympy "
                f"imported: {r['sympy']}"))
    return rows


def run(quick: bool = False, repeats: int | None = None) -> list[Row]:
    repeats = repeats or (3 if quick else 7)
    rows: list[Row] = []
    for n, goal, anchor in SIZES:
        rows += bench_size(n, goal, anchor, repeats * (FLOOR_ROUNDS if anchor == "floor" else 1))
    rows += first_call()
    return rows


if __name__ == "__main__":
    from .__main__ import main

    raise SystemExit(main(["--only", "kernels"]))
