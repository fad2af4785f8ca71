"""Multivariate parameters: scalar weight with traces, matrix weight (MATH.md section 4)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import modelavg_sym
from modelavg_sym.derive import multivariate as mv
from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.symbols import a


@st.composite
def joint_problems(draw, max_d: int = 20):
    """(S_L, S_G, C, bias) from a joint covariance F F' + eps I (valid by construction)."""
    d = draw(st.integers(1, max_d))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    F = rng.normal(size=(2 * d, 2 * d)) * draw(st.sampled_from([0.01, 1.0, 100.0]))
    J = F @ F.T + draw(st.sampled_from([1e-3, 1e-1, 1.0])) * np.eye(2 * d)
    bias = rng.normal(size=d) * draw(st.sampled_from([0.0, 0.1, 10.0]))
    return J[:d, :d], J[d:, d:], J[:d, d:], bias


def _mse_matrix(A, SL, SG, C, b):
    """tr E[(theta_A - theta)(...)'] evaluated from its definition, term by term."""
    I_A = np.eye(len(b)) - A
    return float(np.trace(I_A @ SL @ I_A.T) + np.trace(A @ (SG + np.outer(b, b)) @ A.T)
                 + 2 * np.trace(I_A @ C @ A.T))


def test_numeric_matrix_weight_matches_symbolic_d2():
    d = mv.symbolic_matrix_weight(2)
    SL, SG, C, b = mv.symbolic_matrices(2)
    syms = sorted(set().union(*(m.free_symbols for m in (SL, SG, C, b))), key=str)
    fA = sp.lambdify(syms, d["optimal_weight"], modules="numpy")
    fm = sp.lambdify(syms, d["min_mse"], modules="numpy")
    rng = np.random.default_rng(np.random.SeedSequence(2))
    for _ in range(20):
        F = rng.normal(size=(4, 4))
        J = F @ F.T + 0.1 * np.eye(4)
        bias = rng.normal(size=2)
        vals = {SL[i, j]: J[i, j] for i in range(2) for j in range(2)}
        vals |= {SG[i, j]: J[2 + i, 2 + j] for i in range(2) for j in range(2)}
        vals |= {C[i, j]: J[i, 2 + j] for i in range(2) for j in range(2)}
        vals |= {b[i]: bias[i] for i in range(2)}
        args = [vals[s] for s in syms]
        A, m = modelavg_sym.matrix_optimal_weight(J[:2, :2], J[2:, 2:], J[:2, 2:], bias)
        np.testing.assert_allclose(A, np.array(fA(*args), dtype=float), rtol=1e-9, atol=1e-12)
        assert m == pytest.approx(float(fm(*args)), rel=1e-9)


@pytest.mark.slow
def test_symbolic_scalar_weight_is_core_with_traces():
    d = mv.symbolic_scalar_weight(3)
    SL, SG, C, b = mv.symbolic_matrices(3)
    trL, trG, trC, nb = SL.trace(), SG.trace(), C.trace(), (b.T * b)[0, 0]
    ref = (trL - trC) / (trL + trG - 2 * trC + nb)  # R2 with traces (reference)
    assert sp.cancel(d["optimal_weight"] - ref) == 0
    assert sp.cancel(d["mse"] - ((1 - a) ** 2 * trL + a**2 * (trG + nb)
                                 + 2 * a * (1 - a) * trC)) == 0
    assert sp.cancel(d["optimal_weight"] - trL / (trL + trG + nb)) != 0


@given(joint_problems())
def test_matrix_weight_optimal_and_never_worse_than_scalar(problem):
    SL, SG, C, b = problem
    A, m = modelavg_sym.matrix_optimal_weight(SL, SG, C, b)
    a_s, m_s = modelavg_sym.scalar_optimal_weight_multivariate(SL, SG, C, b)
    scale = float(np.trace(SL) + np.trace(SG) + b @ b)
    tol = 1e-9 * scale
    # reported MSE is the MSE at A*, from the definition
    assert m == pytest.approx(_mse_matrix(A, SL, SG, C, b), rel=1e-7, abs=tol)
    # scalar weight is the matrix a I
    assert m_s == pytest.approx(_mse_matrix(a_s * np.eye(len(b)), SL, SG, C, b),
                                rel=1e-7, abs=tol)
    assert m <= m_s + tol
    assert m >= -tol
    # gradient of the MSE vanishes at A*: (A M - (S_L - C)) = 0
    M = SL + SG - C - C.T + np.outer(b, b)
    res = A @ M - (SL - C)
    assert np.abs(res).max() <= 1e-8 * max(1.0, float(np.abs(M).max()) * float(np.abs(A).max()))


def test_random_perturbations_do_not_improve():
    rng = np.random.default_rng(np.random.SeedSequence(9))
    d = 6
    F = rng.normal(size=(2 * d, 2 * d))
    J = F @ F.T + 0.1 * np.eye(2 * d)
    SL, SG, C = J[:d, :d], J[d:, d:], J[:d, d:]
    b = rng.normal(size=d)
    A, m = modelavg_sym.matrix_optimal_weight(SL, SG, C, b)
    for _ in range(50):
        B = A + 0.05 * rng.normal(size=(d, d))
        assert _mse_matrix(B, SL, SG, C, b) > m


def test_precision_weighting_without_bias_or_covariance():
    SL = np.diag([1.0, 4.0])
    SG = np.diag([3.0, 1.0])
    A, m = modelavg_sym.matrix_optimal_weight(SL, SG, np.zeros((2, 2)), np.zeros(2))
    np.testing.assert_allclose(A, np.diag([1 / 4, 4 / 5]))
    assert m == pytest.approx(3 / 4 + 4 / 5)


@pytest.mark.parametrize(("args", "param"), [
    (([[1, 0], [0, 1]], [[1]], np.zeros((2, 2)), [0, 0]), "var_global"),
    (([[1, 2], [0, 1]], np.eye(2), np.zeros((2, 2)), [0, 0]), "var_local"),
    ((np.eye(2), np.eye(2), np.zeros((2, 2)), [0]), "bias"),
    ((np.eye(2), np.eye(2), 5 * np.eye(2), [0, 0]), "cov"),
    ((np.eye(2), np.eye(2), np.eye(2), [0, 0]), "var_local, var_global, cov, bias"),
    ((np.eye(2), np.eye(2), np.zeros((2, 2)), [0, np.nan]), "bias"),
    (([[np.inf, 0], [0, 1]], np.eye(2), np.zeros((2, 2)), [0, 0]), "var_local"),
    ((np.eye(2), np.eye(2), np.zeros((2, 3)), [0, 0]), "cov"),
])
def test_bad_input(args, param):
    with pytest.raises(InvalidParameterError) as ei:
        modelavg_sym.matrix_optimal_weight(*args)
    assert ei.value.parameter == param
    if param != "var_local, var_global, cov, bias":
        with pytest.raises(InvalidParameterError):
            modelavg_sym.scalar_optimal_weight_multivariate(*args)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_normal_equations_read_off_the_mse(d):
    """M, R and MSE(0) read off the derived MSE(A) are E[(G - L)(G - L)'], S_L - C and
    tr S_L (hand references); MSE(A) = MSE(0) - 2 tr(A R') + tr(A M A') identically."""
    SL, SG, C, b = mv.symbolic_matrices(d)
    eq = mv.normal_equations(d)
    assert sp.expand(eq["M"] - (SL + SG - C - C.T + b * b.T)) == sp.zeros(d, d)
    assert sp.expand(eq["R"] - (SL - C)) == sp.zeros(d, d)
    assert sp.expand(eq["mse_at_zero"] - SL.trace()) == 0
    mse, A = mv.matrix_weight_mse(d)
    quad = eq["mse_at_zero"] - 2 * (A * eq["R"].T).trace() + (A * eq["M"] * A.T).trace()
    assert sp.expand(mse - quad) == 0
    assert sp.expand(mse - quad + (A * A.T).trace()) != 0  # the check can fail
