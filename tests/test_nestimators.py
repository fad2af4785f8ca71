"""N estimators: affine and simplex-constrained optimal weights (MATH.md section 3)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import modelavg_sym
from modelavg_sym.derive import nestimators as ne
from modelavg_sym.derive.core import two_estimator
from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.symbols import Delta, c, s_G, s_L


def _zero(e: sp.Expr) -> bool:
    return sp.cancel(sp.together(e)) == 0


@pytest.mark.parametrize("K", [1, 2, 3])
def test_symbolic_matches_sherman_morrison(K):
    d = ne.symbolic(K)
    s, b, _ = ne.estimator_symbols(K)
    # Sherman-Morrison: M^{-1} 1 = D^{-1} 1 - D^{-1} b (b' D^{-1} 1) / (1 + b' D^{-1} b)
    alpha = sum(1 / x for x in s)
    beta = sum(bi / si for bi, si in zip(b, s, strict=True))
    gamma = sum(bi**2 / si for bi, si in zip(b, s, strict=True))
    x = [(1 - bi * beta / (1 + gamma)) / si for bi, si in zip(b, s, strict=True)]
    total = alpha - beta**2 / (1 + gamma)
    for i in range(K + 1):
        assert _zero(d[f"weight_{i}"] - x[i] / total)
    assert _zero(d["min_mse"] - 1 / total)
    assert _zero(d["multiplier"] - d["min_mse"])


@pytest.mark.parametrize("K", [1, 2])
def test_symbolic_matches_matrix_inverse(K):
    d = ne.symbolic(K)
    s, b, _ = ne.estimator_symbols(K)
    bv = sp.Matrix(b)
    Minv = (sp.diag(*s) + bv * bv.T).inv()
    one = sp.ones(K + 1, 1)
    denom = (one.T * Minv * one)[0, 0]
    wstar = Minv * one / denom
    for i in range(K + 1):
        assert _zero(d[f"weight_{i}"] - wstar[i])
    assert _zero(d["min_mse"] - 1 / denom)
    # the check can fail
    assert not _zero(d["min_mse"] - 1 / (denom + 1))


def test_K1_reduces_to_core():
    d = ne.symbolic(1, independent=False)
    s, b, _ = ne.estimator_symbols(1)
    core = two_estimator()
    sub = {s[0]: s_L, s[1]: s_G, b[0]: 0, b[1]: Delta}
    assert _zero(d["weight_1"].subs(sub) - core["optimal_weight"])
    assert _zero(d["min_mse"].subs(sub) - core["min_mse"])
    assert c in d["weight_1"].free_symbols


def _random_pd(rng: np.random.Generator, n: int, eps: float = 0.1) -> np.ndarray:
    F = rng.normal(size=(n, n))
    return F @ F.T / n + eps * np.eye(n)


def test_numeric_matches_compiled_symbolic_K2():
    d = ne.symbolic(2)
    s, b, _ = ne.estimator_symbols(2)
    f = sp.lambdify([*s, *b], [d["weight_0"], d["weight_1"], d["weight_2"], d["min_mse"]],
                    modules="numpy")
    rng = np.random.default_rng(np.random.SeedSequence(11))
    for _ in range(50):
        sv = rng.uniform(0.1, 3, 3)
        bv = rng.normal(size=3)
        wts, m = modelavg_sym.optimal_weights(np.diag(sv), bv)
        ref = f(*sv, *bv)
        np.testing.assert_allclose(wts, ref[:3], rtol=1e-10, atol=1e-12)
        assert m == pytest.approx(ref[3], rel=1e-10)


@pytest.mark.parametrize("n", [2, 7, 50])
def test_numeric_first_order_conditions_and_optimality(n):
    rng = np.random.default_rng(np.random.SeedSequence([3, n]))
    S = _random_pd(rng, n)
    b = rng.normal(size=n)
    wts, m = modelavg_sym.optimal_weights(S, b)
    M = S + np.outer(b, b)
    assert wts.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(M @ wts, m * np.ones(n), rtol=1e-8, atol=1e-12)
    assert wts @ M @ wts == pytest.approx(m, rel=1e-10)
    for _ in range(20):  # any other affine weight is worse
        d = rng.normal(size=n)
        d -= d.mean()
        v = wts + 0.1 * d
        assert v @ M @ v > m


def test_adding_an_estimator_never_raises_mse():
    rng = np.random.default_rng(np.random.SeedSequence(5))
    for _ in range(30):
        n = int(rng.integers(2, 12))
        S = _random_pd(rng, n)
        b = rng.normal(size=n)
        _, m_all = modelavg_sym.optimal_weights(S, b)
        _, m_less = modelavg_sym.optimal_weights(S[:-1, :-1], b[:-1])
        assert m_all <= m_less * (1 + 1e-12)


def test_K1000_first_order_conditions():
    # speed is measured in benchmarks/bench_nestimators.py, not here
    rng = np.random.default_rng(np.random.SeedSequence(1000))
    S = _random_pd(rng, 1000)
    b = rng.normal(size=1000)
    wts, m = modelavg_sym.optimal_weights(S, b)
    assert wts.sum() == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose((S + np.outer(b, b)) @ wts, m, rtol=1e-6)


# --------------------------------------------------------------------------- simplex

@st.composite
def small_integer_problems(draw):
    n = draw(st.integers(2, 4))
    F = draw(st.lists(st.lists(st.integers(-3, 3), min_size=n, max_size=n),
                      min_size=n, max_size=n))
    F = np.array(F, dtype=int)
    S = F @ F.T + np.eye(n, dtype=int)  # positive definite by construction
    b = draw(st.lists(st.integers(-4, 4), min_size=n, max_size=n))
    return S.tolist(), b


@given(small_integer_problems())
def test_simplex_numeric_equals_exact(problem):
    S, b = problem
    w_exact, m_exact = ne.simplex_optimum_exact(S, b)
    w_num, m_num = modelavg_sym.optimal_weights(S, b, nonnegative=True)
    np.testing.assert_allclose(w_num, np.array(w_exact, dtype=float), atol=1e-9)
    assert m_num == pytest.approx(float(m_exact), rel=1e-9)
    assert all(x >= 0 for x in w_exact) and sum(w_exact) == 1
    _, m_free = modelavg_sym.optimal_weights(S, b)
    assert m_num >= m_free * (1 - 1e-12)


def test_simplex_exact_kkt_and_brute_force():
    S = [[2, 1, 0], [1, 3, 0], [0, 0, 1]]
    b = [0, 1, -2]
    wts, m = ne.simplex_optimum_exact(S, b)
    M = sp.Matrix(S) + sp.Matrix(b) * sp.Matrix(b).T
    wv = sp.Matrix(wts)
    assert (wv.T * M * wv)[0, 0] == m
    # brute force over a rational grid on the simplex: nothing beats the exact optimum
    grid = [sp.Rational(i, 12) for i in range(13)]
    for x in grid:
        for y in grid:
            if x + y <= 1:
                v = sp.Matrix([x, y, 1 - x - y])
                assert (v.T * M * v)[0, 0] >= m


def test_symbolic_simplex_K1_is_clipped_core_weight():
    d = ne.symbolic_simplex(1)
    s, b, _ = ne.estimator_symbols(1)
    a_ind = s[0] / (s[0] + s[1] + b[1] ** 2)  # reference with b_0 = 0
    for sv0, sv1, bv in [(1, 2, 3), (2, 1, 0), (sp.Rational(1, 3), 5, -1)]:
        pt = {s[0]: sv0, s[1]: sv1, b[0]: 0, b[1]: bv}
        assert d["weight_1"].subs(pt) == min(max(a_ind.subs(pt), 0), 1)
    # biases of the same sign: the affine optimum extrapolates (w_1 = 600/201 > 1), the
    # simplex optimum is the vertex
    pt = {s[0]: 1, s[1]: sp.Rational(1, 100), b[0]: 5, b[1]: 4}
    assert ne.symbolic(1)["weight_1"].subs(pt) == sp.Rational(600, 201)
    assert d["weight_1"].subs(pt) == 1
    assert d["weight_0"].subs(pt) == 0


def test_simplex_large_K_kkt():
    rng = np.random.default_rng(np.random.SeedSequence(77))
    n = 300
    S = _random_pd(rng, n)
    b = rng.normal(size=n) * 2
    wts, m = modelavg_sym.optimal_weights(S, b, nonnegative=True)
    M = S + np.outer(b, b)
    assert (wts >= 0).all() and wts.sum() == pytest.approx(1, abs=1e-12)
    g = M @ wts
    support = wts > 0
    np.testing.assert_allclose(g[support], m, rtol=1e-8)
    assert (g[~support] >= m * (1 - 1e-8)).all()
    assert 0 < support.sum() < n  # the constraint is active for some estimators


@pytest.mark.parametrize(("cov", "bias", "param"), [
    ([[1, 0]], [0], "cov"),
    ([[1, 2], [0, 1]], [0, 0], "cov"),
    ([[1, 0], [0, 1]], [0], "bias"),
    ([[1, 0], [0, -1]], [0, 0], "cov"),
    ([[1, 2], [2, 1]], [0, 0], "cov"),  # indefinite ([[1, 1], [1, 1]], singular but
                                        # positive semidefinite, is now answered: see
                                        # test_nestimators_robust.py)
    ([[1, 0], [0, np.nan]], [0, 0], "cov"),
    ([[1, 0], [0, 1]], [0, np.inf], "bias"),
    ([["a", 0], [0, 1]], [0, 0], "cov"),
])
@pytest.mark.parametrize("nonneg", [False, True])
def test_bad_input(cov, bias, param, nonneg):
    with pytest.raises(InvalidParameterError) as ei:
        modelavg_sym.optimal_weights(cov, bias, nonnegative=nonneg)
    assert ei.value.parameter == param


def test_exact_bad_input():
    with pytest.raises(InvalidParameterError, match="positive definite"):
        ne.simplex_optimum_exact([[1, 1], [1, 1]], [0, 0])
    with pytest.raises(InvalidParameterError, match="bias"):
        ne.affine_optimum([[1, 0], [0, 1]], [0])
    with pytest.raises(InvalidParameterError, match="positive definite"):
        ne.affine_optimum([[1, 1], [1, 1]], [0, 0])


@pytest.mark.parametrize("n", [1, 63, 64, 65, 130, 300])
@pytest.mark.parametrize("mode", ["fast", "stable"])
def test_cholesky_triangular_solves_across_block_boundaries(n, mode):
    """The affine path solves M x = 1 with the Cholesky factor (two blocked triangular
    solves); compared with numpy's LU solve on sizes around the block size, in both the
    fast (inverted diagonal blocks) and the stable (solved diagonal blocks) variants."""
    from modelavg_sym.numeric import nestimators as numeric

    rng = np.random.default_rng(np.random.SeedSequence([17, n]))
    M = _random_pd(rng, n)
    x, yy = numeric._cholesky_ones(M, mode, 0.0)
    np.testing.assert_allclose(M @ x, np.ones(n), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(x, np.linalg.solve(M, np.ones(n)), rtol=1e-9)
    assert yy == pytest.approx(float(x.sum()), rel=1e-12)
    L = M.copy()
    panels = numeric._factor_inplace(L, 0, n, mode == "fast", 0.0)
    L = np.tril(L)
    np.testing.assert_allclose(L, np.linalg.cholesky(M), rtol=1e-10, atol=1e-12)
    rhs = rng.normal(size=n)
    np.testing.assert_allclose(L @ numeric._forward(L, panels, rhs), rhs, rtol=1e-10,
                               atol=1e-10)
    np.testing.assert_allclose(L.T @ numeric._backward(L, panels, rhs), rhs, rtol=1e-10,
                               atol=1e-10)


@pytest.mark.parametrize("fast", [True, False])
def test_factor_updates_equal_fresh_factorisation(fast):
    """The simplex's factor updates (append indices; drop positions: truncate to a panel and
    re-extend with the surviving rows) give the factor of A[P][:, P] for the final order."""
    from modelavg_sym.numeric import nestimators as numeric

    rng = np.random.default_rng(np.random.SeedSequence(23))
    n = 200
    A = _random_pd(rng, n)
    F = numeric._Factor(A, fast, 0.0)
    F.extend(rng.permutation(n)[:150])
    F.drop(np.array([3, 70, 71, 140]))
    rest = np.setdiff1d(np.arange(n), F.P)
    F.extend(rest[:30])
    F.drop(np.array([F.p - 1, 100]))
    P = F.P
    L = np.tril(F.L[: F.p, : F.p])
    np.testing.assert_allclose(L, np.linalg.cholesky(A[np.ix_(P, P)]), rtol=1e-9, atol=1e-12)
    z, yy = F.solve_ones()
    np.testing.assert_allclose(A[np.ix_(P, P)] @ z, np.ones(F.p), rtol=1e-9, atol=1e-9)
    assert yy == pytest.approx(float(z.sum()), rel=1e-12)
    assert len(set(P.tolist())) == F.p == 150 - 4 + 30 - 2
