"""More than two estimators (MATH.md section 3): affine and simplex-constrained weights.

Estimators T_0..T_K of theta with covariance matrix S and bias vector b
(b_i = E[T_i] - theta).  For affine weights (sum w_i = 1) the error is
sum_i w_i (T_i - theta), so by linearity (:mod:`modelavg_sym.algebra.moments`)

    MSE(w) = E[(sum_i w_i (T_i - theta))^2] = w' M w,    M = S + b b'.

Symbolic path (small K): the Lagrangian w' M w - 2 lam (1'w - 1) is differentiated and
its stationarity equations solved with sympy, giving w* and MSE(w*) (for M positive
definite: w* = M^{-1} 1 / (1' M^{-1} 1), MSE(w*) = 1/(1' M^{-1} 1), stated in the
theorems and verified, not typed in).  The non-negative (simplex) optimum is derived by
enumerating active sets and keeping the KKT point, which is unique for M positive
definite.

Numeric path (large K): :func:`optimal_weights` checks that M is positive definite
(Cholesky) and solves the same stationarity equations M x = 1 (K = 1000 takes tens of
milliseconds) and, with
``nonnegative=True``, solves the KKT conditions (a linear complementarity problem) by
block principal pivoting, each step one linear solve; the KKT conditions certify the
result.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import cache

import numpy as np
import numpy.typing as npt
import sympy as sp
from sympy.polys.matrices import DomainMatrix

from modelavg_sym.algebra.moments import CovarianceTable, RandomAffine, second_moment
from modelavg_sym.derive.core import Derivation, Step, tidy
from modelavg_sym.errors import InvalidParameterError

__all__ = [
    "affine_optimum",
    "estimator_symbols",
    "mse_form",
    "optimal_weights",
    "simplex_optimum_exact",
    "symbolic",
    "symbolic_simplex",
]

LAMBDA = sp.Symbol("lambda", real=True)


def estimator_symbols(K: int) -> tuple[tuple[sp.Symbol, ...], tuple[sp.Symbol, ...],
                                       tuple[sp.Symbol, ...]]:
    """Variances s_0..s_K (positive), biases b_0..b_K (real), weights w_0..w_K (real)."""
    s = tuple(sp.Symbol(f"s_{i}", positive=True) for i in range(K + 1))
    b = tuple(sp.Symbol(f"b_{i}", real=True) for i in range(K + 1))
    w = tuple(sp.Symbol(f"w_{i}", real=True) for i in range(K + 1))
    return s, b, w


def _as_matrix(x: sp.Matrix | Sequence[Sequence[object]]) -> sp.Matrix:
    m = sp.Matrix(x).applyfunc(lambda e: sp.nsimplify(e, rational=True)
                               if isinstance(e, float) else sp.sympify(e))
    if m.rows != m.cols:
        raise InvalidParameterError("cov", "must be a square matrix", f"got {m.shape}")
    if m != m.T:
        raise InvalidParameterError("cov", "must be symmetric")
    return m


def mse_form(cov: sp.Matrix, bias: Sequence[object], weights: Sequence[sp.Expr]) -> sp.Expr:
    """MSE(w) = E[(sum_i w_i (T_i - theta))^2] expanded by linearity, with
    T_i - theta = b_i + e_i and Cov(e_i, e_k) = cov[i, k]."""
    n = cov.rows
    names = [f"e_{i:04d}" for i in range(n)]
    table = CovarianceTable()
    for i, k in itertools.product(range(n), repeat=2):
        if k >= i and cov[i, k] != 0:
            table.set(names[i], names[k], cov[i, k])
    err = RandomAffine.constant(0)
    for i in range(n):
        err = err + weights[i] * (RandomAffine.noise(names[i]) + sp.sympify(bias[i]))
    return sp.expand(second_moment(err, table))


def _solve_linear(eqs: Sequence[sp.Expr], unknowns: Sequence[sp.Symbol]
                  ) -> list[sp.Expr] | None:
    """Unique solution of a square linear system, by LU over the field of rational
    functions of the parameters (results come out cancelled; far faster than
    ``sp.solve`` for symbolic coefficients).  ``None`` when the system is singular."""
    A, rhs = sp.linear_eq_to_matrix(list(eqs), list(unknowns))
    dA = DomainMatrix.from_Matrix(A).to_field()
    dA, drhs = dA.unify(DomainMatrix.from_Matrix(rhs))
    dA, drhs = dA.to_field(), drhs.to_field()
    if dA.rank() < A.rows:
        return None
    x = dA.lu_solve(drhs).to_Matrix()
    return [sp.sympify(e) for e in x]


def affine_optimum(cov: sp.Matrix | Sequence[Sequence[object]], bias: Sequence[object],
                   name: str = "affine_optimum", simplify: bool = True) -> Derivation:
    """Derive the best affine combination of estimators with covariance ``cov`` and
    biases ``bias`` (sympy entries or exact numbers).

    Minimises MSE(w) = w' M w (M = S + b b', derived by :func:`mse_form`) subject to
    sum w = 1 by solving the Lagrangian's stationarity equations.  Results: ``mse``
    (MSE(w) in the weight symbols), ``weight_i`` for each i, ``multiplier`` (lambda,
    which equals the minimum), ``min_mse`` and ``M`` (an ImmutableMatrix).
    """
    S = _as_matrix(cov)
    n = S.rows
    if len(bias) != n:
        raise InvalidParameterError("bias", f"must have length {n} (one per estimator)",
                                    f"got {len(bias)}")
    w = sp.symbols(f"w_0:{n}", real=True)
    mse = mse_form(S, bias, w)
    lagrangian = mse - 2 * LAMBDA * (sum(w) - 1)
    eqs = [sp.diff(lagrangian, wi) for wi in w] + [sp.diff(lagrangian, LAMBDA)]
    sol = _solve_linear(eqs, [*w, LAMBDA])
    if sol is None:
        raise InvalidParameterError("cov", "M = cov + bias bias' must be positive definite "
                                    "(the stationarity equations have no unique solution)")
    post = tidy if simplify else (lambda e: e)
    weights = [post(x) for x in sol[:-1]]
    lam = post(sol[-1])
    min_mse = post(mse.subs(dict(zip(w, weights, strict=True)))) if simplify else lam
    M = sp.ImmutableMatrix(n, n, lambda i, k: sp.Rational(1, 2) * sp.diff(mse, w[i], w[k]))
    results: dict[str, sp.Basic] = {"mse": mse, "M": M}
    for i, wi in enumerate(weights):
        results[f"weight_{i}"] = wi
    results["multiplier"] = lam
    results["min_mse"] = min_mse
    steps = (
        Step("MSE of the affine combination, by linearity", sp.Function("MSE")(*w), mse),
        Step("Stationarity of the Lagrangian MSE(w) - 2 lambda (sum w - 1)",
             sp.Symbol("lambda"), lam),
        Step("Minimum MSE at w*", sp.Function("MSE")(sp.Symbol("w^*")), min_mse),
    )
    return Derivation(name=name, title=f"Best affine combination of {n} estimators",
                      results=results, steps=steps)


@cache
def symbolic(K: int, independent: bool = True) -> Derivation:
    """Symbolic optimum for K + 1 estimators with variances s_i, biases b_i.

    ``independent=True``: S = diag(s) (M = diag(s) + b b', the Sherman-Morrison case).
    ``independent=False`` is supported for K = 1 only: S = [[s_0, c], [c, s_1]] with c
    the core symbol.
    """
    if K < 1:
        raise InvalidParameterError("K", "must be >= 1")
    s, b, _w = estimator_symbols(K)
    if independent:
        S = sp.diag(*s)
    else:
        if K != 1:
            raise InvalidParameterError("K", "must be 1 for correlated symbolic estimators")
        from modelavg_sym.symbols import c

        S = sp.Matrix([[s[0], c], [c, s[1]]])
    return affine_optimum(S, b, name=f"nestimators_K{K}{'' if independent else '_corr'}")


# --------------------------------------------------------------------------- simplex, exact


def _kkt_candidates(M: sp.Matrix) -> list[tuple[tuple[int, ...], list[sp.Expr], sp.Expr,
                                                 list[sp.Basic]]]:
    """For each support set P (nonempty), the equality-constrained optimum on P and the
    KKT conditions that make it the simplex optimum: w_P >= 0 and (M w)_i >= lambda off P."""
    n = M.rows
    out = []
    for size in range(1, n + 1):
        for P in itertools.combinations(range(n), size):
            MP = M.extract(list(P), list(P))
            d = affine_optimum(MP, [0] * size, name="support", simplify=False)
            wP = [d[f"weight_{k}"] for k in range(size)]
            lam = d["multiplier"]
            full = [sp.S.Zero] * n
            for k, i in enumerate(P):
                full[i] = wP[k]
            Mw = M * sp.Matrix(full)
            conds = [sp.Ge(x, 0) for x in wP]
            conds += [sp.Ge(Mw[i], lam) for i in range(n) if i not in P]
            out.append((P, full, lam, conds))
    return out


def simplex_optimum_exact(cov: sp.Matrix | Sequence[Sequence[object]],
                          bias: Sequence[object]) -> tuple[list[sp.Rational], sp.Rational]:
    """Exact simplex optimum (w >= 0, sum w = 1) for numeric exact inputs.

    Enumerates supports and returns the KKT point: w_P = M_PP^{-1} 1 / (1' M_PP^{-1} 1) on
    its support P, all weights >= 0, and (M w)_i >= MSE off the support.  For M positive
    definite the KKT point is unique and is the global optimum (convexity).
    """
    S = _as_matrix(cov)
    b = sp.Matrix([sp.nsimplify(x, rational=True) for x in bias])
    M = S + b * b.T
    _check_pd_exact(M)
    n = M.rows
    for size in range(1, n + 1):
        for P in itertools.combinations(range(n), size):
            MP = M.extract(list(P), list(P))
            x = MP.LUsolve(sp.ones(size, 1))
            total = sum(x)
            wP = [xi / total for xi in x]
            if any(wi < 0 for wi in wP):
                continue
            full = [sp.S.Zero] * n
            for k, i in enumerate(P):
                full[i] = wP[k]
            lam = 1 / total
            Mw = M * sp.Matrix(full)
            if all(Mw[i] >= lam for i in range(n) if i not in P):
                return full, sp.Rational(lam)
    raise AssertionError("no KKT point found although M is positive definite")  # pragma: no cover


def _check_pd_exact(M: sp.Matrix) -> None:
    for k in range(1, M.rows + 1):
        if not M[:k, :k].det() > 0:
            raise InvalidParameterError(
                "cov", "cov + bias bias' must be positive definite",
                f"leading minor {k} is {M[:k, :k].det()}")


@cache
def symbolic_simplex(K: int) -> Derivation:
    """Symbolic simplex optimum for K + 1 independent estimators (s_i > 0, biases b_i):
    a Piecewise over active sets, each branch guarded by its KKT conditions."""
    s, b, _w = estimator_symbols(K)
    bv = sp.Matrix(b)
    M = sp.diag(*s) + bv * bv.T
    cands = _kkt_candidates(M)
    n = K + 1
    weights = [sp.Piecewise(*[(full[i], sp.And(*conds)) for _P, full, _lam, conds in cands])
               for i in range(n)]
    mse = sp.Piecewise(*[(lam, sp.And(*conds)) for _P, _full, lam, conds in cands])
    results: dict[str, sp.Basic] = {f"weight_{i}": weights[i] for i in range(n)}
    results["min_mse"] = mse
    return Derivation(name=f"simplex_K{K}", title=f"Simplex-constrained optimum of {n} "
                      "independent estimators", results=results,
                      notes=("Branches are the active sets; each is guarded by its KKT "
                             "conditions (weights >= 0, (M w)_i >= lambda off the support).",))


# --------------------------------------------------------------------------- numeric


def _validate(cov: npt.ArrayLike, bias: npt.ArrayLike) -> tuple[npt.NDArray[np.float64],
                                                                 npt.NDArray[np.float64]]:
    try:
        S = np.asarray(cov, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError("cov", "must be a square matrix of real numbers") from None
    try:
        b = np.asarray(bias, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError("bias", "must be a vector of real numbers") from None
    if S.ndim != 2 or S.shape[0] != S.shape[1] or S.shape[0] == 0:
        raise InvalidParameterError("cov", "must be a non-empty square matrix",
                                    f"got shape {S.shape}")
    if b.ndim != 1 or b.shape[0] != S.shape[0]:
        raise InvalidParameterError("bias", f"must be a vector of length {S.shape[0]}",
                                    f"got shape {b.shape}")
    if not np.isfinite(S).all():
        raise InvalidParameterError("cov", "must be finite")
    if not np.isfinite(b).all():
        raise InvalidParameterError("bias", "must be finite")
    scale = max(float(np.abs(S).max()), 1e-300)
    if not np.allclose(S, S.T, rtol=0, atol=1e-12 * scale):
        raise InvalidParameterError("cov", "must be symmetric")
    return (S + S.T) / 2, b


def _cholesky(M: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    try:
        return np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        raise InvalidParameterError(
            "cov", "cov + bias bias' must be positive definite",
            "Cholesky factorisation failed") from None


def _solve_ones(M: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """x = M^{-1} 1 for M already known to be positive definite (one LU solve)."""
    return np.linalg.solve(M, np.ones(M.shape[0]))


def _affine_numeric(M: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], float]:
    x = _solve_ones(M)
    total = float(x.sum())
    return x / total, 1.0 / total


def _simplex_numeric(M: npt.NDArray[np.float64], tol: float = 1e-12
                     ) -> tuple[npt.NDArray[np.float64], float]:
    """Simplex optimum of w'Mw (M positive definite) by block principal pivoting.

    For M positive definite, min over w >= 0, sum w = 1 of w'Mw is the rescaled solution
    of min over x >= 0 of x'Mx - 2 * 1'x (write x = t w; the best t is 1/(w'Mw), leaving
    -1/(w'Mw)): w* = x / 1'x and MSE(w*) = 1 / 1'x.  Its KKT conditions are the linear
    complementarity problem y = Mx - 1 >= 0, x >= 0, x'y = 0, solved by block principal
    pivoting (Judice & Pires; the Kim & Park safeguard against cycling): fix the free
    set F, solve M_FF x_F = 1, and swap every index whose x or y is negative.  Each
    iteration is one linear solve, and the final point satisfies the KKT conditions
    (checked with a tolerance relative to the data), which certify the optimum.
    """
    n = M.shape[0]
    free = np.ones(n, dtype=bool)
    best_count, budget = n + 1, 3
    x = np.zeros(n)
    for _ in range(50 * n + 50):
        x = np.zeros(n)
        idx = np.flatnonzero(free)
        if idx.size:
            x[idx] = _solve_ones(M[np.ix_(idx, idx)])
        y = M @ x - 1.0
        xtol = tol * max(float(np.abs(x).max()), 1e-300)
        bad = np.flatnonzero((free & (x < -xtol)) | (~free & (y < -tol)))
        if bad.size == 0:
            x[x < 0] = 0.0
            total = float(x.sum())
            return x / total, 1.0 / total
        if bad.size < best_count:
            best_count, budget = bad.size, 3
            free[bad] = ~free[bad]
        elif budget > 0:
            budget -= 1
            free[bad] = ~free[bad]
        else:
            j = bad.max()
            free[j] = not free[j]
    raise RuntimeError("block principal pivoting did not converge")  # pragma: no cover


def optimal_weights(cov: npt.ArrayLike, bias: npt.ArrayLike, nonnegative: bool = False
                    ) -> tuple[npt.NDArray[np.float64], float]:
    """Optimal weights over estimators T_0..T_K with covariance ``cov`` and biases ``bias``.

    Minimises MSE(w) = w' M w, M = cov + bias bias', subject to sum w = 1 (and w >= 0 when
    ``nonnegative``).  Unconstrained: w* = M^{-1} 1 / (1' M^{-1} 1) and
    MSE(w*) = 1 / (1' M^{-1} 1), computed with a Cholesky factorisation of M.
    Raises :class:`InvalidParameterError` unless M is symmetric positive definite.

    Returns:
        (weights, min_mse) as (float64 array of length K + 1, float).
    """
    S, b = _validate(cov, bias)
    M = S + np.outer(b, b)
    _cholesky(M)  # positive definiteness check (also of every principal submatrix)
    if nonnegative:
        return _simplex_numeric(M)
    return _affine_numeric(M)
