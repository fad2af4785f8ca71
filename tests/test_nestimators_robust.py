"""N-estimator solvers that always answer (issue 12 item 6 / deliver 4, issue 13 deliver 4).

Reproducers of the filed failures, singular but positive semidefinite M, comparisons with
exact rational optima (K <= 4, Fraction arithmetic written here, independent of the
package) and, where cvxpy with Clarabel is installed, with a reference QP on covariances
with condition numbers up to 1e16 and exact zero eigenvalues.

Tolerances (why they are what they are).  The solvers are backward stable: the returned
w is the exact optimum for a matrix M + E with ||E||_2 <= delta, where delta covers the
Cholesky backward error ((3n + 1) u n s, Higham Thm 10.4 with || |L||L'| || <= n ||M||)
and, for singular M, the module's regularisation (at most 2 |lambda_min| + 64 n^1.5 u s,
s = max_i M_ii).  Any w optimal for M + E is within delta (||w||^2 + ||w*||^2) of the
optimum of M: MSE_M(w) = MSE_{M+E}(w) - w'Ew <= MSE_{M+E}(w*) + delta ||w||^2
<= MSE_M(w*) + delta (||w*||^2 + ||w||^2).  ``_objective_tol`` is that bound with
delta = 256 n^1.5 u s (a factor 2 above both sources together), w* the reference.  On the
simplex ||w|| <= 1.
"""

from __future__ import annotations

import itertools
import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import modelavg_sym
from modelavg_sym.derive import nestimators as ne
from modelavg_sym.errors import InvalidParameterError

U = float(np.finfo(np.float64).eps)

S1 = [[0.3492587774840243, 1.0334872193136704], [1.0334872193136704, 3.05817892446113]]
S2 = [[0.21201408752281578, 0.1837911663634467], [0.1837911663634467, 0.1593252279974132]]


# --------------------------------------------------------------------------- exact helpers


def _fr_matrix(S, b) -> list[list[Fraction]]:
    """Exact M = S + b b' of the float inputs (S exactly symmetric)."""
    n = len(b)
    Sf = [[Fraction(float(S[i][j])) for j in range(n)] for i in range(n)]
    bf = [Fraction(float(x)) for x in b]
    return [[Sf[i][j] + bf[i] * bf[j] for j in range(n)] for i in range(n)]


def _quad(M: list[list[Fraction]], w: list[Fraction]) -> Fraction:
    n = len(w)
    return sum((w[i] * w[j] * M[i][j] for i in range(n) for j in range(n)), Fraction(0))


def _solve(A: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction] | None:
    """Unique solution of A x = rhs by exact Gaussian elimination, None if singular."""
    n = len(A)
    T = [[*row, r] for row, r in zip(A, rhs, strict=True)]
    for c in range(n):
        piv = next((r for r in range(c, n) if T[r][c] != 0), None)
        if piv is None:
            return None
        T[c], T[piv] = T[piv], T[c]
        for r in range(n):
            if r != c and T[r][c] != 0:
                f = T[r][c] / T[c][c]
                T[r] = [a - f * p for a, p in zip(T[r], T[c], strict=True)]
    return [T[i][n] / T[i][i] for i in range(n)]


def _det(A: list[list[Fraction]]) -> Fraction:
    n = len(A)
    if n == 0:
        return Fraction(1)
    T = [list(r) for r in A]
    det = Fraction(1)
    for c in range(n):
        piv = next((r for r in range(c, n) if T[r][c] != 0), None)
        if piv is None:
            return Fraction(0)
        if piv != c:
            T[c], T[piv] = T[piv], T[c]
            det = -det
        det *= T[c][c]
        for r in range(c + 1, n):
            f = T[r][c] / T[c][c]
            T[r] = [a - f * p for a, p in zip(T[r], T[c], strict=True)]
    return det


def _face_optimum(M, P) -> tuple[list[Fraction], Fraction] | None:
    """Stationary point of w'Mw on the affine hull {sum_P w = 1, w = 0 off P}: solve
    M_PP w_P = lambda 1, 1'w_P = 1 (None if that KKT system is singular)."""
    k = len(P)
    A = [[M[i][j] for j in P] + [Fraction(-1)] for i in P] + [[Fraction(1)] * k + [Fraction(0)]]
    sol = _solve(A, [Fraction(0)] * k + [Fraction(1)])
    if sol is None:
        return None
    w = [Fraction(0)] * len(M)
    for t, i in enumerate(P):
        w[i] = sol[t]
    return w, _quad(M, w)


def exact_simplex_min(M) -> tuple[list[Fraction], Fraction]:
    """Global minimum of w'Mw over the simplex (M need not be positive semidefinite): the
    minimum lies in the relative interior of some face, where it is a stationary point of
    that face's affine hull; faces whose KKT system is singular have a flat direction along
    which the minimum is also reached on a smaller face.  Vertices are always nonsingular."""
    n = len(M)
    best = None
    for size in range(1, n + 1):
        for P in itertools.combinations(range(n), size):
            cand = _face_optimum(M, P)
            if cand is None or any(x < 0 for x in cand[0]):
                continue
            if best is None or cand[1] < best[1]:
                best = cand
    assert best is not None
    return best


def exact_affine_min(M) -> Fraction | None:
    """Minimum of w'Mw over {1'w = 1}, or None when there is none.  With Z = [e_i - e_n],
    H = Z'MZ: a minimum exists iff H is positive semidefinite and the KKT system
    M w = lambda 1, 1'w = 1 is consistent; then it is lambda (= w'Mw for every KKT point)."""
    found = exact_affine_optimum(M)
    return None if found is None else found[1]


def exact_affine_optimum(M) -> tuple[list[Fraction], Fraction] | None:
    """(an optimal w, the minimum) over {1'w = 1}, or None (see :func:`exact_affine_min`;
    the w is the KKT solution with free parameters set to 0)."""
    n = len(M)
    H = [[M[i][j] - M[i][n - 1] - M[n - 1][j] + M[n - 1][n - 1] for j in range(n - 1)]
         for i in range(n - 1)]
    for size in range(1, n):
        for P in itertools.combinations(range(n - 1), size):
            if _det([[H[i][j] for j in P] for i in P]) < 0:
                return None  # a negative principal minor: H is not positive semidefinite
    A = sp.Matrix([[*M[i], -1] for i in range(n)] + [[1] * n + [0]])
    rhs = sp.Matrix([0] * n + [1])
    try:
        sol, params = A.gauss_jordan_solve(rhs)
    except ValueError:
        return None  # inconsistent: unbounded below along a null direction of H
    sol = sol.subs(dict.fromkeys(params, 0))
    fr = [Fraction(int(sp.numer(x)), int(sp.denom(x))) for x in sol]
    return fr[:n], fr[n]


def exact_min_norm_affine(M) -> list[Fraction]:
    """Minimum-norm affine optimum of a positive semidefinite M: the optimal set is
    {w : M w = lambda* 1, 1'w = 1}; its minimum-norm element is C^+ d (exact pseudo-inverse)
    with C = [M; 1'], d = [lambda* 1; 1]."""
    n = len(M)
    lam = exact_affine_min(M)
    assert lam is not None
    C = sp.Matrix([[sp.Rational(x.numerator, x.denominator) for x in row] for row in M]
                  + [[1] * n])
    d = sp.Matrix([sp.Rational(lam.numerator, lam.denominator)] * n + [1])
    w = C.pinv() * d
    assert C * w == d
    return [Fraction(int(sp.numer(x)), int(sp.denom(x))) for x in w]


def _exact_value(M, w: np.ndarray) -> Fraction:
    """w'Mw for the returned weights, exactly, after normalising them exactly to sum 1."""
    wf = [Fraction(float(x)) for x in w]
    total = sum(wf, Fraction(0))
    return _quad(M, [x / total for x in wf])


def _objective_tol(M: np.ndarray, *weights: np.ndarray) -> float:
    """delta (max(1, ||w||^2 over the given weights)) with delta = 256 n^1.5 u s (module
    docstring)."""
    n = M.shape[0]
    s = float(np.diagonal(M).max())
    norm2 = max([1.0] + [float(w @ w) for w in weights])
    return 256 * n**1.5 * U * max(s, 0.0) * 2 * norm2


def _check_answer(S, b, nonneg: bool) -> tuple[np.ndarray, float, np.ndarray]:
    """Call optimal_weights and assert the invariants: MSE >= 0 and finite, weights finite
    and summing to 1 within rounding, non-negative on the simplex, and the returned MSE
    equal to the MSE of the returned weights within the tolerance."""
    w, m = modelavg_sym.optimal_weights(S, b, nonnegative=nonneg)
    n = len(b)
    M = np.asarray(S, dtype=float) + np.outer(b, b)
    assert w.shape == (n,) and np.isfinite(w).all()
    assert math.isfinite(m) and m >= 0
    assert abs(math.fsum(w.tolist()) - 1) <= 4 * n * U * max(1.0, float(np.abs(w).sum()))
    if nonneg:
        assert (w >= 0).all()
    return w, m, M


# --------------------------------------------------------------------------- reproducers


def test_S2_simplex_is_the_vertex() -> None:
    """Filed: RuntimeError 'block principal pivoting did not converge'.  The exact optimum
    (Fraction enumeration) is the vertex w = (0, 1) with MSE = cov[1][1]."""
    w_exact, m_exact = exact_simplex_min(_fr_matrix(S2, [0, 0]))
    assert w_exact == [0, 1] and m_exact == Fraction(S2[1][1])
    w, m, _ = _check_answer(S2, [0, 0], nonneg=True)
    assert w.tolist() == [0.0, 1.0]
    assert m == S2[1][1]


def test_S2_affine_minimum_is_not_negative() -> None:
    """Filed: the affine minimum was -1.57e-15.  The exact minimum is tiny and positive
    (S2 is positive definite with condition number ~1e18); ours is >= 0, and the exact MSE
    of our weights is within the backward-error tolerance of it."""
    M = _fr_matrix(S2, [0, 0])
    m_exact = exact_affine_min(M)
    assert m_exact is not None and 0 < m_exact < Fraction(1, 10**16)
    w, m, Mf = _check_answer(S2, [0, 0], nonneg=False)
    tol = _objective_tol(Mf, w)
    assert _exact_value(M, w) <= m_exact + Fraction(tol)
    assert abs(m - float(m_exact)) <= tol


@pytest.mark.parametrize("nonneg", [False, True])
def test_S1_singular_matrix_answers(nonneg: bool) -> None:
    """Filed: numpy's LinAlgError('Singular matrix') leaked.  S1 is indefinite by -4.8e-17
    in exact arithmetic (rounding of a rank-one matrix): accepted, answered."""
    M = _fr_matrix(S1, [0, 0])
    assert _det([row[:] for row in M]) < 0  # the exact input really is (barely) indefinite
    w, m, Mf = _check_answer(S1, [0, 0], nonneg)
    tol = _objective_tol(Mf, w)
    if nonneg:
        w_exact, m_exact = exact_simplex_min(M)
        assert w_exact == [1, 0]
        np.testing.assert_array_equal(w, [1.0, 0.0])
        assert m == S1[0][0]
    else:
        # H = a + c - 2b > 0, so the exact minimum exists: the (negative, rounding-sized)
        # determinant over H.  Ours is >= 0 and within the tolerance of it.
        m_exact = exact_affine_min(M)
        assert m_exact is not None and -Fraction(1, 10**16) < m_exact < 0
        assert _exact_value(M, w) <= m_exact + Fraction(tol)
        assert 0 <= m <= tol


def _ill_conditioned(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Q diag(eigs) Q' with log-uniform eigenvalues in [1e-17, 1] (some exactly 0) and a
    bias that is 0, tiny or of order 1."""
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    eigs = 10.0 ** rng.uniform(-17, 0, size=n)
    eigs[rng.random(n) < 0.3] = 0.0
    S = (Q * eigs) @ Q.T
    S = (S + S.T) / 2
    b = rng.normal(size=n) * rng.choice([0.0, 1e-9, 1e-3, 1.0])
    return S, b


def test_sweep_of_ill_conditioned_covariances() -> None:
    """Filed: in 8,000 calls on ill-conditioned covariances, 65 LinAlgErrors, 24
    RuntimeErrors, 57 negative minima.  Here 2,000 seeded calls (sizes 2-8, both
    constraints): no exception at all (these matrices are positive semidefinite up to
    rounding), MSE >= 0, weights sum to 1, non-negative on the simplex."""
    rng = np.random.default_rng(np.random.SeedSequence(8000))
    for _ in range(1000):
        S, b = _ill_conditioned(rng, int(rng.integers(2, 9)))
        for nonneg in (False, True):
            _check_answer(S, b, nonneg)


# --------------------------------------------------------------------------- singular PSD


@pytest.mark.parametrize("nonneg", [False, True])
def test_all_ones_matrix_min_norm(nonneg: bool) -> None:
    """M = [[1, 1], [1, 1]] was rejected; every weight summing to 1 has MSE 1, and the
    minimum-norm one is (1/2, 1/2)."""
    w, m, _ = _check_answer([[1, 1], [1, 1]], [0, 0], nonneg)
    np.testing.assert_allclose(w, [0.5, 0.5], rtol=0, atol=1e-12)
    assert m == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("nonneg", [False, True])
def test_perfect_estimator(nonneg: bool) -> None:
    """An estimator with zero MSE: the optimum puts all weight on it, MSE 0."""
    w, m, _ = _check_answer([[2, 0, 0], [0, 0, 0], [0, 0, 1]], [0, 0, 0], nonneg)
    np.testing.assert_allclose(w, [0, 1, 0], atol=1e-12)
    assert m <= 1e-12


@pytest.mark.parametrize("nonneg", [False, True])
def test_zero_matrix_uniform(nonneg: bool) -> None:
    w, m, _ = _check_answer(np.zeros((4, 4)), np.zeros(4), nonneg)
    np.testing.assert_array_equal(w, np.full(4, 0.25))
    assert m == 0.0


def test_rank_one_zero_mse_affine() -> None:
    """M = a a' with 1 not orthogonal to its null space: the affine optimum has MSE 0."""
    a = np.array([1.0, 2.0, -1.0])
    w, m, _ = _check_answer(np.outer(a, a), np.zeros(3), nonneg=False)
    assert abs(float(a @ w)) <= 1e-12
    assert m <= 1e-12


@st.composite
def singular_integer_psd(draw):
    """M = F F' + b b' with F integer n x r, r < n: exactly singular positive semidefinite,
    often with directions along which the affine MSE is flat."""
    n = draw(st.integers(2, 4))
    r = draw(st.integers(0, n - 1))
    F = draw(st.lists(st.lists(st.integers(-3, 3), min_size=r, max_size=r),
                      min_size=n, max_size=n))
    S = (np.array(F, dtype=float).reshape(n, r) @ np.array(F, dtype=float).reshape(n, r).T
         if r else np.zeros((n, n)))
    b = draw(st.lists(st.integers(-2, 2), min_size=n, max_size=n))
    return S, np.array(b, dtype=float)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(singular_integer_psd())
def test_singular_psd_affine_is_min_norm_optimum(problem) -> None:
    """Exactly singular M (integer, so exact in floats): the affine answer is the minimum-norm
    optimum (exact pseudo-inverse) within the regularisation's reach, and its MSE the exact
    minimum.  Tolerance: the regularised solution differs from the minimum-norm one by
    eps / lambda_+ relative (lambda_+ the smallest positive eigenvalue of the restricted
    problem, >= 1e-3 for these small integer matrices), eps = 16 n u s: 1e-9 is far above."""
    S, b = problem
    w, m, Mf = _check_answer(S, b, nonneg=False)
    M = _fr_matrix(S, b)
    w_mn = exact_min_norm_affine(M)
    scale = max(1.0, float(np.abs(np.array(w_mn, dtype=float)).max()))
    np.testing.assert_allclose(w, np.array(w_mn, dtype=float), rtol=0, atol=1e-9 * scale)
    m_exact = exact_affine_min(M)
    assert abs(m - float(m_exact)) <= 1e-9 * max(1.0, float(np.diagonal(Mf).max()))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(singular_integer_psd())
def test_singular_psd_simplex_exact_value(problem) -> None:
    """Exactly singular M on the simplex: the MSE of our weights is the exact minimum up to
    the regularisation (at most eps = 16 n u s on the simplex) and rounding."""
    S, b = problem
    w, m, Mf = _check_answer(S, b, nonneg=True)
    M = _fr_matrix(S, b)
    _, m_exact = exact_simplex_min(M)
    tol = _objective_tol(Mf, w)
    assert _exact_value(M, w) <= m_exact + Fraction(tol)
    assert abs(m - float(m_exact)) <= tol


# --------------------------------------------------------------------------- exact, K <= 4


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
def test_simplex_same_support_and_weights_as_exact(problem) -> None:
    """K <= 4, M positive definite: the exact simplex optimum (derive's rational solver)
    and ours have the same support and weights within tol_w, the same MSE within tol_m.

    tol_w = 64 n^2 u kappa(M): the computed x solves (M_PP + E) x = 1 with
    ||E|| <= (3n + 1) n u ||M|| (Cholesky backward error), so x has relative error at most
    kappa(M_PP) times that (kappa(M_PP) <= kappa(M)), and w = x / 1'x (x > 0) at most
    twice it; the MSE 1/1'x likewise.  Where the exact optimum is degenerate (an index off
    the support with (Mw)_j = MSE exactly) our weight there may be a rounding-sized positive
    number; where it is not, it must be exactly 0."""
    S, b = problem
    w_exact, m_exact = ne.simplex_optimum_exact(S, b)
    w, m, M = _check_answer(S, b, nonneg=True)
    n = len(b)
    tol_w = 64 * n**2 * U * float(np.linalg.cond(M))
    we = np.array([float(x) for x in w_exact])
    np.testing.assert_allclose(w, we, rtol=0, atol=tol_w)
    assert m == pytest.approx(float(m_exact), rel=tol_w)
    Mexact = _fr_matrix(S, b)
    on = [bool(x > 0) for x in w_exact]
    assert all(w[i] > 0 for i in range(n) if on[i])
    degenerate = any(not on[j] and sum(Mexact[j][i] * w_exact[i] for i in range(n)) == m_exact
                     for j in range(n))
    if not degenerate:
        assert [bool(x > 0) for x in w] == on


@given(small_integer_problems())
def test_affine_weights_equal_exact(problem) -> None:
    """K <= 4, M positive definite: derive's exact affine optimum and ours agree within
    the forward-error bound tol = 64 n^2 u kappa(M) (relative to max(1, |w|_inf): the
    weights may have both signs, so 1'x can be smaller than ||x||_1)."""
    S, b = problem
    d = ne.affine_optimum(S, b, simplify=False)
    n = len(b)
    w_exact = np.array([float(d[f"weight_{i}"]) for i in range(n)])
    w, m, M = _check_answer(S, b, nonneg=False)
    kappa = float(np.linalg.cond(M))
    tol = 64 * n**2 * U * kappa * max(1.0, float(np.abs(w_exact).sum()))
    np.testing.assert_allclose(w, w_exact, rtol=0, atol=tol)
    assert m == pytest.approx(float(d["min_mse"]), rel=tol)


# --------------------------------------------------------------------------- ill-conditioned


@st.composite
def ill_conditioned_problems(draw, max_n: int = 12):
    """Q diag(eigs) Q' with Q random orthogonal, eigenvalues log-uniform over up to 16
    decades (condition numbers up to 1e16) and some exactly 0, times a power of two; a bias
    that is 0, tiny or of the order of the spread."""
    n = draw(st.integers(2, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    decades = draw(st.floats(0, 16))
    eigs = 10.0 ** rng.uniform(-decades, 0, size=n)
    zeros = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    eigs[np.array(zeros)] = 0.0
    scale = 2.0 ** draw(st.integers(-60, 60))
    S = (Q * (eigs * scale)) @ Q.T
    S = (S + S.T) / 2
    bias_size = draw(st.sampled_from([0.0, 1e-12, 1e-4, 1.0]))
    b = rng.normal(size=n) * bias_size * math.sqrt(scale)
    return S, b


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(ill_conditioned_problems(max_n=4), st.booleans())
def test_ill_conditioned_never_worse_than_exact(problem, nonneg) -> None:
    """K <= 4, condition numbers up to 1e16, exact zero eigenvalues: no exception, MSE >= 0,
    sum w = 1, w >= 0 on the simplex, and the exact MSE of our weights within the
    backward-error tolerance of the exact rational optimum (affine: when the exact problem
    has a minimum at all; a rounding-level indefinite M may make it unbounded)."""
    S, b = problem
    w, m, Mf = _check_answer(S, b, nonneg)
    M = _fr_matrix(S, b)
    value = _exact_value(M, w)
    if nonneg:
        _, m_exact = exact_simplex_min(M)
        tol = _objective_tol(Mf, w)
    else:
        found = exact_affine_optimum(M)
        if found is None:
            return
        w_star, m_exact = found
        tol = _objective_tol(Mf, w, np.array([float(x) for x in w_star]))
    assert value <= m_exact + Fraction(tol)
    assert abs(m - float(value)) <= tol


def _reference_qp(cp, M: np.ndarray, nonneg: bool) -> np.ndarray | None:
    """The same QP with cvxpy and Clarabel, on the factor R (M = R'R, eigenvalues clamped at
    0); its weights projected onto the feasible set (renormalised, negatives clipped on the
    simplex).  None if Clarabel does not report an optimum."""
    lam, V = np.linalg.eigh(M)
    R = np.sqrt(np.maximum(lam, 0.0))[:, None] * V.T
    w = cp.Variable(M.shape[0])
    cons = [cp.sum(w) == 1] + ([w >= 0] if nonneg else [])
    prob = cp.Problem(cp.Minimize(cp.sum_squares(R @ w)), cons)
    try:
        with warnings.catch_warnings():  # "solution may be inaccurate": its status says so
            warnings.simplefilter("ignore", UserWarning)
            prob.solve(solver=cp.CLARABEL)
    except cp.error.SolverError:
        return None
    if prob.status != cp.OPTIMAL or w.value is None:
        return None
    x = np.asarray(w.value, dtype=float)
    if nonneg:
        x = np.maximum(x, 0.0)
    total = math.fsum(x.tolist())
    return x / total if total > 0 else None


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(ill_conditioned_problems(max_n=20), st.booleans())
def test_ill_conditioned_invariants_and_simple_rivals(problem, nonneg) -> None:
    """Sizes up to 20, condition numbers up to 1e16 (no optional dependency): the invariants
    of :func:`_check_answer`, and no feasible rival we can name (every vertex, the uniform
    weights, for the affine problem also the simplex answer) has a lower exact MSE beyond
    the tolerance."""
    S, b = problem
    w, _, Mf = _check_answer(S, b, nonneg)
    n = len(b)
    M = _fr_matrix(S, b)
    value = _exact_value(M, w)
    rivals = [np.eye(n)[i] for i in range(n)] + [np.full(n, 1.0 / n)]
    if not nonneg:
        rivals.append(modelavg_sym.optimal_weights(S, b, nonnegative=True)[0])
    for r in rivals:
        assert value <= _exact_value(M, r) + Fraction(_objective_tol(Mf, w, r))


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(ill_conditioned_problems(max_n=20), st.booleans())
def test_ill_conditioned_against_reference_qp(problem, nonneg) -> None:
    """Condition numbers up to 1e16, sizes up to 20: our exact objective (Fractions) is at
    most the reference QP's (Clarabel via cvxpy, an optional test dependency, made
    feasible) plus the backward-error tolerance.  The reference is feasible, so its value
    bounds the optimum from above and the comparison cannot fail because of the
    reference's own tolerances."""
    cp = pytest.importorskip("cvxpy")
    S, b = problem
    w, _, Mf = _check_answer(S, b, nonneg)
    ref = _reference_qp(cp, Mf, nonneg)
    if ref is None:
        return
    M = _fr_matrix(S, b)
    tol = _objective_tol(Mf, w, ref)
    assert _exact_value(M, w) <= _exact_value(M, ref) + Fraction(tol)


# --------------------------------------------------------------------------- invalid input


@pytest.mark.parametrize("nonneg", [False, True])
def test_indefinite_rejected_with_eigenvalue(nonneg: bool) -> None:
    with pytest.raises(InvalidParameterError, match="positive semidefinite") as ei:
        modelavg_sym.optimal_weights([[1, 2], [2, 1]], [0, 0], nonnegative=nonneg)
    assert ei.value.parameter == "cov"
    assert "smallest eigenvalue -1" in str(ei.value)


@pytest.mark.parametrize("nonneg", [False, True])
def test_zero_diagonal_nonzero_offdiagonal_rejected(nonneg: bool) -> None:
    with pytest.raises(InvalidParameterError, match="positive semidefinite"):
        modelavg_sym.optimal_weights([[0, 1], [1, 0]], [0, 0], nonnegative=nonneg)


@pytest.mark.parametrize("nonneg", [False, True])
@pytest.mark.parametrize("e", [-500, -300, 300, 500])
def test_extreme_magnitudes_are_rescaled(nonneg: bool, e: int) -> None:
    """cov 2^2e and bias 2^e (b b' would overflow or underflow): the weights are those of
    the unscaled problem and the MSE is scaled by 2^2e (powers of two are exact)."""
    S = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, 0.2], [0.1, 0.2, 3.0]])
    b = np.array([0.3, -0.7, 1.1])
    w0, m0 = modelavg_sym.optimal_weights(S, b, nonnegative=nonneg)
    w, m = modelavg_sym.optimal_weights(np.ldexp(S, 2 * e), np.ldexp(b, e),
                                        nonnegative=nonneg)
    np.testing.assert_allclose(w, w0, rtol=1e-13, atol=1e-15)
    assert m == pytest.approx(math.ldexp(m0, 2 * e), rel=1e-13)


@pytest.mark.parametrize("nonneg", [False, True])
def test_minimum_beyond_float_range_rejected(nonneg: bool) -> None:
    """cov 1e308 and bias 1e200: b b' overflows (handled by rescaling) and so does the
    minimum MSE itself, which is an error, not inf."""
    with pytest.raises(InvalidParameterError, match="float64 range"):
        modelavg_sym.optimal_weights([[1e308, 0], [0, 1e308]], [1e200, 1e200],
                                     nonnegative=nonneg)


@pytest.mark.parametrize("nonneg", [False, True])
def test_negative_eigenvalue_within_rounding_is_accepted(nonneg: bool) -> None:
    """M = diag(1, -1e-14): indefinite, but by less than the tolerance 32 n^1.5 u s
    (2e-14 here), so it is taken as positive semidefinite; the best weight is the
    estimator with MSE 'zero' (the nearest PSD matrix is diag(1, 0)) and the MSE is 0.
    On the simplex this needs the raised regularisation (eps = 16 n u s = 7e-15 is not
    enough to make M + eps I positive definite)."""
    w, m = modelavg_sym.optimal_weights([[1.0, 0.0], [0.0, -1e-14]], [0, 0],
                                        nonnegative=nonneg)
    np.testing.assert_allclose(w, [0.0, 1.0], atol=1e-12)
    assert m == 0.0
    with pytest.raises(InvalidParameterError, match="smallest eigenvalue -1e-13"):
        modelavg_sym.optimal_weights([[1.0, 0.0], [0.0, -1e-13]], [0, 0], nonnegative=nonneg)


def test_fast_certificate_can_fail() -> None:
    """The Lagrange-residual certificate accepts the optimum and rejects a weight moved
    off it by 1e-9 (the bound is ~1e-14 here)."""
    from modelavg_sym.numeric import nestimators as numeric

    rng = np.random.default_rng(np.random.SeedSequence(41))
    F = rng.normal(size=(30, 30))
    S = F @ F.T / 30 + 0.1 * np.eye(30)
    b = rng.normal(size=30)
    w, _ = modelavg_sym.optimal_weights(S, b)
    assert numeric._certified(S, b, 0, w)
    d = rng.normal(size=30)
    d -= d.mean()
    assert not numeric._certified(S, b, 0, w + 1e-9 * d)


def test_single_estimator() -> None:
    w, m = modelavg_sym.optimal_weights([[2.0]], [1.0])
    assert w.tolist() == [1.0] and m == 3.0
    with pytest.raises(InvalidParameterError, match="positive semidefinite"):
        modelavg_sym.optimal_weights([[-2.0]], [1.0])
