"""More than two estimators, numerically (MATH.md section 3): affine and simplex weights.

Estimators T_0..T_K of theta with covariance matrix S and biases b; with M = S + b b',
MSE(w) = w' M w (derived in :mod:`modelavg_sym.derive.nestimators`, where the optimum
w* = M^{-1} 1 / (1' M^{-1} 1), MSE(w*) = 1 / (1' M^{-1} 1) is derived and verified).

:func:`optimal_weights` factors M = L L' (Cholesky; this also checks that M is positive
definite) and, for affine weights, solves M x = 1 with that factor: L y = 1 forward, then
L' x = y backward, by blocks (at K = 1000 the factorisation takes tens of milliseconds and
the two solves a few).  With ``nonnegative=True`` it solves
the KKT conditions (a linear complementarity problem) by block principal pivoting, each
step one LU solve on the free set; the KKT conditions certify the result.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.numeric._generated_estimators import nestimators_M

__all__ = ["optimal_weights"]

Array = npt.NDArray[np.float64]

#: Rows per block of the triangular solves (the off-block update is one matrix product).
_BLOCK = 64


def _validate(cov: npt.ArrayLike, bias: npt.ArrayLike) -> tuple[Array, Array]:
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


def _cholesky(M: Array) -> Array:
    """Lower-triangular L with M = L L'; :class:`InvalidParameterError` unless M is
    positive definite."""
    try:
        return np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        raise InvalidParameterError(
            "cov", "cov + bias bias' must be positive definite",
            "Cholesky factorisation failed") from None


def _forward(L: Array, rhs: Array) -> Array:
    """y with L y = rhs (L lower triangular), by blocks: solve a diagonal block, then
    subtract its contribution from the rows below (one matrix-vector product)."""
    y = np.array(rhs, dtype=np.float64)
    n = L.shape[0]
    for start in range(0, n, _BLOCK):
        end = min(start + _BLOCK, n)
        y[start:end] = np.linalg.solve(L[start:end, start:end], y[start:end])
        y[end:] -= L[end:, start:end] @ y[start:end]
    return y


def _backward(L: Array, rhs: Array) -> Array:
    """x with L' x = rhs (L lower triangular), by blocks from the last row up."""
    x = np.array(rhs, dtype=np.float64)
    n = L.shape[0]
    for end in range(n, 0, -_BLOCK):
        start = max(end - _BLOCK, 0)
        x[start:end] = np.linalg.solve(L[start:end, start:end].T, x[start:end])
        x[:start] -= L[start:end, :start].T @ x[start:end]
    return x


def _cholesky_solve_ones(L: Array) -> Array:
    """x = M^{-1} 1 for M = L L': two triangular solves with the Cholesky factor."""
    return _backward(L, _forward(L, np.ones(L.shape[0])))


def _solve_ones(M: Array) -> Array:
    """x = M^{-1} 1 for M already known to be positive definite (one LU solve)."""
    return np.linalg.solve(M, np.ones(M.shape[0]))


def _affine_numeric(L: Array) -> tuple[Array, float]:
    """w* = x / 1'x and MSE(w*) = 1 / 1'x with x = M^{-1} 1, M = L L'."""
    x = _cholesky_solve_ones(L)
    total = float(x.sum())
    return x / total, 1.0 / total


def _simplex_numeric(M: Array, tol: float = 1e-12) -> tuple[Array, float]:
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
                    ) -> tuple[Array, float]:
    """Optimal weights over estimators T_0..T_K with covariance ``cov`` and biases ``bias``.

    Minimises MSE(w) = w' M w, M = cov + bias bias', subject to sum w = 1 (and w >= 0 when
    ``nonnegative``).  Unconstrained: w* = M^{-1} 1 / (1' M^{-1} 1) and
    MSE(w*) = 1 / (1' M^{-1} 1), with M^{-1} 1 computed from the Cholesky factor
    M = L L' by two triangular solves (L y = 1, then L' x = y).  With ``nonnegative`` the
    Cholesky factorisation only checks M, and block principal pivoting solves the KKT
    conditions (one LU solve per step).
    Raises :class:`InvalidParameterError` unless M is symmetric positive definite.

    Returns:
        (weights, min_mse) as (float64 array of length K + 1, float).
    """
    S, b = _validate(cov, bias)
    M = nestimators_M(S, b)  # M = S + b b', generated from the derived MSE
    L = _cholesky(M)  # positive definiteness (hence of every principal submatrix too)
    if nonnegative:
        return _simplex_numeric(M)
    return _affine_numeric(L)
