"""Affine N-estimator weights (sum w = 1, any sign): for positive definite M from the
Cholesky factor (the fast variant certified by its Lagrange residual, else the stable
one); for singular M the minimum-norm optimum from the eigendecomposition.

The method, its notation (n = K + 1 estimators, u = 2^-52, s = max_i M_ii) and its error
bounds are described in the docstring of :mod:`modelavg_sym.numeric.nestimators`, the
public module; "the module docstring" below means that one.
"""

from __future__ import annotations

import numpy as np

from modelavg_sym.numeric._cholesky import (
    _EPS,
    _PIVOT_FLOOR,
    _PSD_TOL,
    Array,
    _cholesky_ones,
    _form_M,
    _negative_eigenvalue,
    _normalise,
    _not_psd,
    _null,
    _Singular,
)

#: Eigenvalues of M at most _NULL * n * u * s count as 0 (affine, singular M).
_NULL = 16.0
#: Safety factor on the Cholesky backward-error bound in the fast certificate.
_CERT = 4.0


def _certified(S: Array, b: Array, k: int, w: Array) -> bool:
    """Lagrange-residual certificate of the fast affine result (module docstring)."""
    n = w.shape[0]
    Sk, bk = (S, b) if k == 0 else (np.ldexp(S, -2 * k), np.ldexp(b, -k))
    g = Sk @ w + bk * float(bk @ w)  # M w without forming M again
    r = g - g.mean()
    root = np.sqrt(np.maximum(np.diagonal(Sk) + bk * bk, 0.0))
    bound = _CERT * (3 * n + 1) * _EPS * root * float(root @ np.abs(w))
    return bool(np.all(np.abs(r) <= bound + np.finfo(np.float64).tiny))



def _affine(S: Array, b: Array, k: int) -> tuple[Array, float]:
    M = _form_M(S, b, k)
    n = M.shape[0]
    s = float(np.diagonal(M).max())
    if s <= 0:
        return _null(M)
    floor = _PIVOT_FLOOR * n * _EPS * s
    try:
        x, yy = _cholesky_ones(M, "fast", floor, in_place=True)  # M is our own array
        w = _normalise(x)
        if _certified(S, b, k, w):
            return w, 1.0 / yy
        M = _form_M(S, b, k)
        x, yy = _cholesky_ones(M, "stable", floor)
        return _normalise(x), 1.0 / yy
    except _Singular:
        return _affine_eigen(_form_M(S, b, k), k)


def _affine_eigen(M: Array, k: int) -> tuple[Array, float]:
    """Minimum-norm affine optimum of a singular (or numerically singular) positive
    semidefinite M, from its eigendecomposition M = V diag(lambda) V' (module docstring).

    Eigenvalues <= tau = ``_NULL`` n u s count as 0 (the eigensolver's own backward error is
    of order u ||M||_2 <= n u s): N their eigenvectors, R the rest, c = V'1.  Two
    candidates:

    * 1 in the range of M: the optimal set is w_R + span N with w_R = M^+ 1 / (1' M^+ 1),
      M^+ 1 = V_R (c_R / lambda_R); its minimum-norm element is w_R (orthogonal to N), with
      MSE 1 / sum_R c_i^2 / lambda_i (a positive sum);
    * 1 with a component in N: the minimum MSE is 0, reached on {w in span N, 1'w = 1},
      whose minimum-norm element is w_N = V_N c_N / ||c_N||^2.

    Which holds cannot be decided from c_N alone when the computed null space is uncertain
    (its angle error is up to u ||M|| / min lambda_R, and c_N then of that size), so the
    candidate with the smaller certified MSE bound wins: w'Mw evaluated in floating point
    plus its rounding bound n u (sum_i sqrt(M_ii) |w_i|)^2 (|M_ij| <= sqrt(M_ii M_jj)).
    A spurious w_N (c_N of rounding size, ||w_N|| = 1 / ||c_N|| huge) has a huge bound and
    loses; ties go to the smaller norm, w_R.  The MSE of w_N is reported as max(0, w'Mw)
    (a clamp within rounding, module docstring).
    """
    n = M.shape[0]
    s = float(np.diagonal(M).max())
    lam, V = np.linalg.eigh(M)
    psd_tol = _PSD_TOL * n**1.5 * _EPS * s
    if lam[0] < -psd_tol:
        raise _negative_eigenvalue(float(lam[0]), psd_tol, k)
    rng = lam > _NULL * n * _EPS * s
    c = V.sum(axis=0)  # V'1
    root = np.sqrt(np.maximum(np.diagonal(M), 0.0))

    def bound(w: Array) -> tuple[float, float]:
        value = float(w @ (M @ w))
        return value, value + n * _EPS * float(root @ np.abs(w)) ** 2

    best: tuple[float, Array, float] | None = None
    if rng.any():
        cR, lR = c[rng], lam[rng]
        total = float(cR @ (cR / lR))
        if total > 0:
            w = _normalise(V[:, rng] @ (cR / lR))
            best = (bound(w)[1], w, 1.0 / total)
    cN = c[~rng]
    norm2 = float(cN @ cN)
    if norm2 > 0:
        w = _normalise(V[:, ~rng] @ (cN / norm2))
        value, upper = bound(w)
        if best is None or upper < best[0]:
            best = (upper, w, max(0.0, value))
    if best is None:  # pragma: no cover - c = V'1 has norm sqrt(n) > 0
        raise _not_psd("no eigen-direction of cov + bias bias' meets 1")
    return best[1], best[2]
