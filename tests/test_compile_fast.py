"""Fast paths of the compiled API against the reference lambdify paths.

* the generated numba module is exactly what :func:`fast_kernel_source` prints (golden);
* fused large-array results equal the reference numpy path within a condition-aware
  rounding bound, and the comparison rejects a deliberately wrong result;
* the fused path validates inside its loop (the reference path is not called) and, on
  bad input, raises the same error as the reference path, naming the parameter;
* the generated scalar functions equal lambdify's math path and return Python floats.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import float_params, float_weights

import modelavg_sym.numeric.api as c
from modelavg_sym.errors import InvalidParameterError, UndefinedOptimumError

EPS = float(np.finfo(np.float64).eps)
N = 2 * c.FAST_MIN_SIZE + 3  # large enough for the fused path, odd to catch tail bugs
WEIGHTED = {"mse", "benefit"}

needs_numba = pytest.mark.skipif(c.backend() != "numba", reason="numba (fast extra) missing")


def _points(n: int, seed: int) -> tuple[np.ndarray, ...]:
    """Valid (weight, s_L, s_G, Delta, c) arrays over many magnitudes, by construction."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    vl = 10.0 ** rng.uniform(-8, 8, n)
    vg = 10.0 ** rng.uniform(-8, 8, n)
    rho = rng.uniform(-1, 1, n)
    rho[::97] = 1.0  # Cauchy-Schwarz boundary
    vl[::101] = 0.0
    cv = rho * np.sqrt(vl * vg)
    b = rng.normal(size=n) * 10.0 ** rng.uniform(-4, 4, n)
    w = rng.uniform(-2, 3, n)
    return w, vl, vg, b, cv


def _call(name: str, pts: tuple[np.ndarray, ...], fn=None):
    fn = fn or c.API[name]
    return fn(*pts) if name in WEIGHTED else fn(*pts[1:])


def _agree(name, pts, got, ref) -> bool:
    """Within 1 ulp of the reference path (issue 7), or exactly equal (zeros, infs)."""
    ulp = np.spacing(np.abs(ref))
    return bool(np.all((got == ref) | (np.abs(got - ref) <= ulp)))


def test_generated_module_is_current():
    text = c.FAST_KERNELS_PATH.read_text()
    assert text == c.fast_kernel_source(), (
        "modelavg_sym/_fastkernels.py is stale; regenerate with "
        "python -c \"import modelavg_sym.numeric.api as c; c.write_fast_kernels()\"")


@needs_numba
@pytest.mark.parametrize("name", c.FUSED)
def test_fused_matches_reference(name, monkeypatch):
    pts = _points(N, seed=7)
    ref = _call(name, pts, lambda *xs: c._reference(name, *xs))
    calls = []
    monkeypatch.setattr(c, "_reference", lambda *xs: calls.append(xs))
    got = _call(name, pts)
    assert calls == []  # validated inside the fused loop: no reference pass
    assert got.shape == ref.shape == (N,) and got.dtype == np.float64
    assert _agree(name, pts, got, ref)


@needs_numba
def test_comparison_rejects_a_wrong_result():
    pts = _points(N, seed=8)
    ref = _call("optimal_weight", pts, lambda *xs: c._reference("optimal_weight", *xs))
    assert _agree("optimal_weight", pts, ref.copy(), ref)
    wrong = ref * (1 + 1e-12) + 1e-300
    assert not _agree("optimal_weight", pts, wrong, ref)


@needs_numba
def test_fused_broadcasting_and_layouts():
    w, vl, vg, b, cv = _points(N, seed=9)
    ref = c._reference("mse", w, vl, vg, b, cv)
    # scalar and size-1 arguments, non-contiguous views, 2-D shapes
    np.testing.assert_array_equal(c.mse(w, 2.0, 0.5, np.array([0.25]), 0.1),
                                  c._reference("mse", w, 2.0, 0.5, 0.25, 0.1))
    np.testing.assert_array_equal(c.optimal_weight(vl, vg, b),
                                  c._reference("optimal_weight", vl, vg, b, 0.0))
    m = N - 3
    got2 = c.mse(w[:m].reshape(-1, 2), vl[:m].reshape(-1, 2), vg[:m].reshape(-1, 2),
                 b[:m].reshape(-1, 2), cv[:m].reshape(-1, 2))
    assert got2.shape == (m // 2, 2)
    np.testing.assert_array_equal(got2.ravel(), ref[:m])
    strided = c.benefit(w[::-1], vl[::-1], vg[::-1], b[::-1], cv[::-1])
    np.testing.assert_array_equal(strided, c._reference("benefit", w, vl, vg, b, cv)[::-1])
    # a broadcast the fused loop does not take (outer product) still matches the reference
    col, row = w[:300, None], vl[None, :200]
    np.testing.assert_array_equal(c.mse(col, row, 1.0, 0.0),
                                  c._reference("mse", col, row, 1.0, 0.0, 0.0))


@needs_numba
def test_threaded_chunks_identical_and_validated(monkeypatch):
    pts = _points(N, seed=13)
    monkeypatch.setenv(c.THREADS_ENV, "1")
    single = c.mse(*pts)
    monkeypatch.setattr(c, "THREAD_CHUNK", 1000)
    monkeypatch.setenv(c.THREADS_ENV, "3")
    assert c.threads(N) == 3
    np.testing.assert_array_equal(c.mse(*pts), single)
    bad = [x.copy() for x in pts]
    bad[2][N - 1] = -1.0  # last element of the last chunk
    with pytest.raises(InvalidParameterError, match="var_global"):
        c.mse(*bad)


def test_reference_fallback_without_numba(monkeypatch):
    pts = _points(N, seed=10)
    want = c._reference("benefit", *pts)
    monkeypatch.setattr(c, "_fast_module", lambda: None)
    np.testing.assert_array_equal(c.benefit(*pts), want)


BAD = [  # (argument index in (w, s_L, s_G, Delta, c), value, parameter, words)
    (1, -1.0, "var_local", ">= 0"),
    (2, -1e-300, "var_global", ">= 0"),
    (1, math.nan, "var_local", "finite"),
    (2, math.inf, "var_global", "finite"),
    (3, -math.inf, "bias", "finite"),
    (3, math.nan, "bias", "finite"),
    (4, math.nan, "cov", "finite"),
    (4, 1e300, "cov", "Cauchy-Schwarz"),
    (0, math.nan, "weight", "finite"),
    (0, math.inf, "weight", "finite"),
]


@needs_numba
@pytest.mark.parametrize("idx,value,param,words", BAD)
@pytest.mark.parametrize("name", c.FUSED)
def test_fused_rejects_bad_input(name, idx, value, param, words):
    if idx == 0 and name not in WEIGHTED:
        pytest.skip("no weight argument")
    pts = [x.copy() for x in _points(N, seed=11)]
    pts[idx][N - 2] = value  # in the tail, after many valid entries
    with pytest.raises(InvalidParameterError) as exc:
        _call(name, tuple(pts))
    assert exc.value.parameter == param and words in str(exc.value)
    with pytest.raises(InvalidParameterError) as ref_exc:
        _call(name, tuple(pts), lambda *xs: c._reference(name, *xs))
    assert str(exc.value) == str(ref_exc.value)


@needs_numba
def test_fused_D_zero():
    # D = s_L + s_G - 2c + Delta^2 = 0 at s_L = s_G = c, Delta = 0
    w, vl, vg, b, cv = (x.copy() for x in _points(N, seed=12))
    vl[5], vg[5], cv[5], b[5] = 1.0, 1.0, 1.0, 0.0
    for name in ("optimal_weight", "min_mse"):
        with pytest.raises(UndefinedOptimumError, match="D = "):
            c.API[name](vl, vg, b, cv)
    out = c.benefit(w, vl, vg, b, cv)
    assert out[5] == 0.0
    np.testing.assert_array_equal(out, c._reference("benefit", w, vl, vg, b, cv))
    assert np.isfinite(c.mse(w, vl, vg, b, cv)).all()


# --- scalar path ------------------------------------------------------------------------

SCALAR_REF = {"optimal_weight": "optimal_weight", "mse": "mse", "benefit": "benefit",
              "min_mse": "min_mse", "interval_high": "interval_high"}


@given(float_params(), float_weights(), st.sampled_from(sorted(SCALAR_REF)))
def test_scalar_fast_path_matches_lambdify_math(p, w, name):
    form, has_w, policy = c._SPECS[name]
    args = (w, *p) if has_w else p
    got = c._scalar_fn(name)(*args)
    if not c._in_domain(w if has_w else None, *p):
        assert got is None  # outside the fast-path domain: the exact fallback decides
        return
    k = c.kernel(form)
    d = c.kernel("D").scalar(*p)
    if policy == "raise" and not d > 0:
        assert got is None
        return
    if policy == "zero" and not d > 0:
        assert got == 0.0
        return
    want = k.scalar(*args)
    assert type(got) is float
    assert got == want or (math.isnan(got) and math.isnan(want))


def test_scalar_types_and_values():
    assert repr(c.optimal_weight(1.0, 0.5, 0.3)) == "0.628930817610063"
    for val in (c.optimal_weight(1.0, 0.5, 0.3), c.optimal_weight(np.float64(1), 0.5, 0.3),
                c.mse(0.2, 1, 0.5, 0.3), c.benefit(0.2, 1.0, 0.5, 0.3, 0.1)):
        assert type(val) is float
    assert c.benefit(0.7, 1.0, 1.0, 0.0, 1.0) == 0.0
    assert c.optimal_weight(10**400 // 10**399, 0.5, 0.3) == c.optimal_weight(10.0, 0.5, 0.3)


@pytest.mark.parametrize("bad,param", [
    ((-1.0, 1.0, 0.0, 0.0), "var_local"), ((1.0, math.nan, 0.0, 0.0), "var_global"),
    ((1.0, 1.0, math.inf, 0.0), "bias"), ((1.0, 1.0, 0.0, 1.5), "cov"),
    ((10**400, 1.0, 0.0, 0.0), "var_local"),
])
def test_scalar_fast_path_errors(bad, param):
    with pytest.raises(InvalidParameterError) as exc:
        c.optimal_weight(*bad)
    assert exc.value.parameter == param
    with pytest.raises(UndefinedOptimumError):
        c.optimal_weight(1.0, 1.0, 0.0, 1.0)


# --- benchmark runner (benchmarks/, modelavg-sym bench) ---------------------------------


def test_benchmark_runner_writes_report(tmp_path, monkeypatch):
    from modelavg_sym.commands.bench import project_root

    monkeypatch.syspath_prepend(str(project_root()))
    from benchmarks.__main__ import main

    out = tmp_path / "reports" / "benchmarks.md"
    assert main(["--only", "scalar", "--quick", "--repeats", "1", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| 2. scalar optimal_weight(1.0, 0.5, 0.3) vs plain Python |" in text
    assert "<= 15" in text
    assert not list(out.parent.glob(".*tmp*"))  # atomic write left no temporary file
    assert main(["--only", "nonsense"]) == 2


def test_bench_command_is_registered_and_finds_the_checkout():
    from modelavg_sym.cli import COMMANDS, build_parser
    from modelavg_sym.commands import bench

    assert COMMANDS["bench"][0] == "modelavg_sym.commands.bench"
    args = build_parser().parse_args(["bench", "--quick", "--only", "scalar"])
    assert args.quick and args.only == "scalar"
    root = bench.project_root()
    assert root is not None and (root / "benchmarks" / "bench_kernels.py").is_file()
