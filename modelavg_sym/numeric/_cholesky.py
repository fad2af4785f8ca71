"""What the affine and the simplex N-estimator solvers share: M = S + b b' of the scaled
input (:func:`_form_M`), the error for an M that is not positive semidefinite, the blocked
left-looking Cholesky factorisation with its triangular solves (fast: inverted diagonal
blocks; stable: LAPACK and solved diagonal blocks), the regularisation M + eps I of a
singular M, and the normalisation of a solution to weights summing to 1.

The method, its notation (n = K + 1 estimators, u = 2^-52, s = max_i M_ii) and its error
bounds are described in the docstring of :mod:`modelavg_sym.numeric.nestimators`, the
public module; "the module docstring" below means that one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np
import numpy.typing as npt

from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.numeric._generated_estimators import nestimators_M

Array = npt.NDArray[np.float64]
Mode = Literal["fast", "stable"]

_EPS = float(np.finfo(np.float64).eps)
#: Rows per panel of the blocked Cholesky factorisation and triangular solves.
_NB = 64
#: A pivot L_jj^2 below _PIVOT_FLOOR * n * u * s counts as singular (unregularised modes).
_PIVOT_FLOOR = 64.0
#: Regularisation eps = _REG * n * u * s (regularised mode; above the Cholesky backward
#: error n u s in practice, so that M + eps I + (rounding) stays positive definite).
_REG = 16.0
#: Tolerance factor for a negative eigenvalue of M still taken for rounding.
_PSD_TOL = 32.0


class _Singular(Exception):
    """Internal: a pivot fell below the floor (or the factorisation failed); try the next
    mode."""


def _form_M(S: Array, b: Array, k: int) -> Array:
    """M = S + b b' (generated from the derived MSE) for the scaled cov and bias."""
    if k == 0:
        return nestimators_M(S, b)
    return nestimators_M(np.ldexp(S, -2 * k), np.ldexp(b, -k))


def _not_psd(detail: str) -> InvalidParameterError:
    return InvalidParameterError(
        "cov", "cov + bias bias' must be positive semidefinite (a covariance plus the "
        "outer product of the biases)", detail)


def _negative_eigenvalue(lam: float, tol: float, k: int) -> InvalidParameterError:
    """The error for lambda_min(M) = lam < -tol, in the units of the input (M was scaled by
    2^-2k)."""
    unit = f" * 2^{2 * k}" if k else ""
    return _not_psd(f"smallest eigenvalue {lam:.3g}{unit} < -{tol:.3g}{unit}, the "
                    "allowance for rounding")


# --------------------------------------------------------------------------- factorisation


Panel = tuple[int, int, "Array | None"]


def _factor_inplace(L: Array, k0: int, p: int, fast: bool, floor: float) -> list[Panel]:
    """Cholesky factorisation of a trailing block, left-looking by panels of ``_NB`` rows.

    On entry L[k0:p, :k0] holds the rows of the factor against the leading k0 positions and
    the lower triangle of L[k0:p, k0:p] the block A_TT; on exit L[k0:p, k0:p] (lower
    triangle) holds the factor of A_TT - L[k0:p, :k0] L[k0:p, :k0]'.  Panel [s, e): the
    update L[s:p, s:e] -= L[s:p, :s] L[s:e, :s]' (one matrix product), the diagonal block's
    Cholesky factor D, then L[e:p, s:e] := L[e:p, s:e] D'^{-1}.  Only the lower triangle is
    read or written.  Returns the panels (s, e, D^{-1} if ``fast`` else None).

    Raises :class:`_Singular` when a diagonal block is not positive definite or a pivot
    L_jj^2 falls below ``floor``.
    """
    panels: list[Panel] = []
    for s in range(k0, p, _NB):
        e = min(s + _NB, p)
        if s > 0:
            L[s:p, s:e] -= L[s:p, :s] @ L[s:e, :s].T
        try:
            D = np.linalg.cholesky(L[s:e, s:e])
        except np.linalg.LinAlgError:
            raise _Singular from None
        if float(np.diagonal(D).min()) ** 2 <= floor:
            raise _Singular
        L[s:e, s:e] = D
        G = np.linalg.inv(D) if fast else None
        if e < p:
            if G is not None:
                L[e:p, s:e] = L[e:p, s:e] @ G.T
            else:
                L[e:p, s:e] = np.linalg.solve(D, L[e:p, s:e].T).T
        panels.append((s, e, G))
    return panels


def _forward(L: Array, panels: list[Panel], rhs: Array) -> Array:
    """y with L y = rhs, panel by panel: y_P = D^{-1} (rhs_P - L[P, :s] y[:s])."""
    y = np.array(rhs, dtype=np.float64)
    for s, e, G in panels:
        r = y[s:e] - L[s:e, :s] @ y[:s] if s else y[s:e]
        y[s:e] = G @ r if G is not None else np.linalg.solve(L[s:e, s:e], r)
    return y


def _backward(L: Array, panels: list[Panel], rhs: Array) -> Array:
    """x with L' x = rhs, from the last panel up: x_P = D'^{-1} (rhs_P - L[e:, P]' x[e:])."""
    x = np.array(rhs, dtype=np.float64)
    p = x.shape[0]
    for s, e, G in reversed(panels):
        r = x[s:e] - L[e:p, s:e].T @ x[e:p] if e < p else x[s:e]
        x[s:e] = G.T @ r if G is not None else np.linalg.solve(L[s:e, s:e].T, r)
    return x


def _panels_of(p: int) -> list[Panel]:
    """Panels (without inverses) over a factor computed in one piece."""
    return [(s, min(s + _NB, p), None) for s in range(0, p, _NB)]


def _cholesky_ones(A: Array, mode: Mode, floor: float, in_place: bool = False
                   ) -> tuple[Array, float]:
    """x = A^{-1} 1 and y'y = 1'x (y = L^{-1} 1) from a Cholesky factor of A."""
    p = A.shape[0]
    if mode == "fast":
        L = A if in_place else A.copy()
        panels = _factor_inplace(L, 0, p, True, floor)
    else:
        try:
            L = np.linalg.cholesky(A)  # LAPACK: backward stable
        except np.linalg.LinAlgError:
            raise _Singular from None
        if float(np.diagonal(L).min()) ** 2 <= floor:
            raise _Singular
        panels = _panels_of(p)
    y = _forward(L, panels, np.ones(p))
    return _backward(L, panels, y), float(y @ y)


def _regularisation(M: Array) -> tuple[float, float, float]:
    """(s, eps, psd_tolerance) for M."""
    n = M.shape[0]
    s = float(np.diagonal(M).max())
    return s, _REG * n * _EPS * s, _PSD_TOL * n**1.5 * _EPS * s


def _regularised(M: Array, solve: Callable[[Array, float], tuple[Array, float]], k: int
                 ) -> tuple[Array, float]:
    """Run ``solve(A, eps)`` on A = M + eps I, raising eps as described in the module
    docstring; :class:`InvalidParameterError` if M is not positive semidefinite."""
    n = M.shape[0]
    s, eps, psd_tol = _regularisation(M)
    for attempt in range(3):
        A = M.copy()
        A[np.diag_indices(n)] += eps
        try:
            return solve(A, eps)
        except _Singular:
            pass
        if attempt == 0:
            lam = float(np.linalg.eigvalsh(M)[0])
            if lam < -psd_tol:
                raise _negative_eigenvalue(lam, psd_tol, k)
            eps = 2 * max(-lam, 0.0) + 2 * _PSD_TOL * n**1.5 * _EPS * s
        else:
            eps *= 16
    raise _not_psd("Cholesky factorisation of cov + bias bias' + eps I failed")  # pragma: no cover


# --------------------------------------------------------------------------- weights


def _mse_clamped(M: Array, w: Array) -> float:
    """max(0, w' M w): within rounding of the exact value (see the module docstring)."""
    return max(0.0, float(w @ (M @ w)))


def _normalise(x: Array) -> Array:
    total = math.fsum(x.tolist())
    return x / total



def _null(M: Array) -> tuple[Array, float]:
    """max_i M_ii <= 0: M positive semidefinite only if M = 0, where every weight has MSE 0
    and the minimum-norm one is uniform."""
    if M.any():
        raise _not_psd("no diagonal entry of cov + bias bias' is positive, yet it is not 0")
    n = M.shape[0]
    return np.full(n, 1.0 / n), 0.0
