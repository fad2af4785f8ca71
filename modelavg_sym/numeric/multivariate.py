"""Multivariate parameters, numerically (MATH.md section 4): scalar and matrix weights.

theta in R^d; L = theta + e_L with Cov(e_L) = S_L; G = theta + Delta + e_G with
Cov(e_G) = S_G and cross-covariance C = E[e_L e_G'].  :mod:`modelavg_sym.derive.multivariate`
derives MSE(A) for theta_A = (I - A) L + A G and its normal equations A M = R, with
M = E[(G - L)(G - L)'] = S_L + S_G - C - C' + Delta Delta' and R = S_L - C; the code that
forms M, R and MSE(0) = tr S_L is generated from that derivation
(:mod:`modelavg_sym.numeric._generated_estimators`).  The scalar weight is the core a*
with s_L, s_G, c, Delta^2 replaced by tr S_L, tr S_G, tr C, |Delta|^2 (a theorem of the
multivariate derivation), evaluated by :mod:`modelavg_sym.numeric.api`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.numeric import api
from modelavg_sym.numeric._generated_estimators import (
    multivariate_M,
    multivariate_mse_at_zero,
    multivariate_R,
)

__all__ = ["matrix_optimal_weight", "scalar_optimal_weight_multivariate"]

Array = npt.NDArray[np.float64]


def _mat(x: npt.ArrayLike, name: str, d: int | None = None) -> Array:
    try:
        m = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(name, "must be a matrix of real numbers") from None
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise InvalidParameterError(name, "must be a non-empty square matrix",
                                    f"got shape {m.shape}")
    if d is not None and m.shape[0] != d:
        raise InvalidParameterError(name, f"must be {d} x {d} like var_local",
                                    f"got shape {m.shape}")
    if not np.isfinite(m).all():
        raise InvalidParameterError(name, "must be finite")
    return m


def _validate(S_L: npt.ArrayLike, S_G: npt.ArrayLike, C: npt.ArrayLike, bias: npt.ArrayLike
              ) -> tuple[Array, Array, Array, Array]:
    SL = _mat(S_L, "var_local")
    d = SL.shape[0]
    SG = _mat(S_G, "var_global", d)
    Cm = _mat(C, "cov", d)
    try:
        b = np.asarray(bias, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError("bias", "must be a vector of real numbers") from None
    if b.shape != (d,):
        raise InvalidParameterError("bias", f"must be a vector of length {d}",
                                    f"got shape {b.shape}")
    if not np.isfinite(b).all():
        raise InvalidParameterError("bias", "must be finite")
    scale = max(float(np.abs(SL).max()), float(np.abs(SG).max()), float(np.abs(Cm).max()),
                1e-300)
    for name, m in (("var_local", SL), ("var_global", SG)):
        if not np.allclose(m, m.T, rtol=0, atol=1e-12 * scale):
            raise InvalidParameterError(name, "must be symmetric")
    joint = np.block([[SL, Cm], [Cm.T, SG]])
    joint = (joint + joint.T) / 2
    if np.linalg.eigvalsh(joint).min() < -1e-10 * scale * 2 * d:
        raise InvalidParameterError(
            "cov", "the joint covariance [[var_local, cov], [cov', var_global]] must be "
            "positive semidefinite")
    return (SL + SL.T) / 2, (SG + SG.T) / 2, Cm, b


def matrix_optimal_weight(S_L: npt.ArrayLike, S_G: npt.ArrayLike, C: npt.ArrayLike,
                          bias: npt.ArrayLike) -> tuple[Array, float]:
    """Optimal matrix weight for theta_A = (I - A) L + A G.

    A* = (S_L - C) M^{-1} and MSE(A*) = tr S_L - tr((S_L - C) M^{-1} (S_L - C)'), with
    M = S_L + S_G - C - C' + Delta Delta' required positive definite (else
    :class:`InvalidParameterError`).  Computed by solving the normal equations
    A* M = R (R = S_L - C); then MSE(A*) = MSE(0) - tr(A* R') (for a quadratic,
    f(x*) = f(0) + grad f(0) . x* / 2, and grad MSE(0) = -2 R).

    Returns:
        (A*, MSE(A*)).
    """
    SL, SG, Cm, b = _validate(S_L, S_G, C, bias)
    M = multivariate_M(SL, SG, Cm, b)
    M = (M + M.T) / 2
    try:
        np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        raise InvalidParameterError(
            "var_local, var_global, cov, bias",
            "M = var_local + var_global - cov - cov' + bias bias' must be positive definite"
        ) from None
    R = multivariate_R(SL, SG, Cm, b)
    A = np.linalg.solve(M, R.T).T
    mse = float(multivariate_mse_at_zero(SL, SG, Cm, b) - np.trace(A @ R.T))
    return A, mse


def scalar_optimal_weight_multivariate(S_L: npt.ArrayLike, S_G: npt.ArrayLike,
                                       C: npt.ArrayLike, bias: npt.ArrayLike
                                       ) -> tuple[float, float]:
    """Optimal scalar weight for theta_a = (1 - a) L + a G in d dimensions: the core a*
    and MSE(a*) with s_L = tr S_L, s_G = tr S_G, c = tr C, Delta^2 = |Delta|^2.

    Returns:
        (a*, MSE(a*)).
    """
    SL, SG, Cm, b = _validate(S_L, S_G, C, bias)
    args = (float(np.trace(SL)), float(np.trace(SG)), float(np.linalg.norm(b)),
            float(np.trace(Cm)))
    return api.optimal_weight(*args), api.min_mse(*args)
