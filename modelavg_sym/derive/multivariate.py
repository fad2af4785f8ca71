"""Multivariate parameters (MATH.md section 4): scalar and matrix weights.

theta in R^d; L = theta + e_L with Cov(e_L) = S_L; G = theta + Delta + e_G with
Cov(e_G) = S_G and cross-covariance C = Cov(e_L, e_G) = E[e_L e_G'].

* Scalar weight: theta_a = (1 - a) L + a G.  The MSE E|theta_a - theta|^2 is expanded
  coordinate by coordinate with :mod:`modelavg_sym.algebra.moments` for a given d, and a* and
  MSE(a*) are solved for; the theorems state that they are the core results with
  s_L, s_G, c, Delta^2 replaced by tr S_L, tr S_G, tr C, |Delta|^2.
* Matrix weight: theta_A = (I - A) L + A G.  The MSE is expanded the same way in the d^2
  entries of A and its gradient equations solved; the theorems state
  A* = (S_L - C) M^{-1} and MSE(A*) = tr S_L - tr((S_L - C) M^{-1} (S_L - C)') with
  M = S_L + S_G - C - C' + Delta Delta' (= E[(G - L)(G - L)']).

The numeric API (any d) solves the same normal equations A M = S_L - C verified above.
"""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
import numpy.typing as npt
import sympy as sp

from modelavg_sym.algebra.moments import CovarianceTable, RandomAffine, second_moment
from modelavg_sym.derive.core import Derivation, Step
from modelavg_sym.derive.nestimators import _solve_linear
from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.numeric import api
from modelavg_sym.symbols import a

__all__ = [
    "matrix_optimal_weight",
    "scalar_optimal_weight_multivariate",
    "symbolic_matrices",
    "symbolic_matrix_weight",
    "symbolic_scalar_weight",
]


def symbolic_matrices(d: int) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix, sp.Matrix]:
    """Generic S_L, S_G (symmetric), C (general) and Delta (vector) with real entries."""
    def sym(prefix: str) -> sp.Matrix:
        return sp.Matrix(d, d, lambda i, j: sp.Symbol(f"{prefix}_{min(i, j) + 1}{max(i, j) + 1}",
                                                      real=True))
    C = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"C_{i + 1}{j + 1}", real=True))
    bias = sp.Matrix(d, 1, lambda i, _j: sp.Symbol(f"Delta_{i + 1}", real=True))
    return sym("SL"), sym("SG"), C, bias


def _model(S_L: sp.Matrix, S_G: sp.Matrix, C: sp.Matrix, bias: sp.Matrix
           ) -> tuple[list[RandomAffine], list[RandomAffine], CovarianceTable]:
    """Errors L - theta and G - theta coordinate-wise, and their covariance table."""
    d = S_L.rows
    eL = [f"eL_{i:03d}" for i in range(d)]
    eG = [f"eG_{i:03d}" for i in range(d)]
    t = CovarianceTable()
    for i, j in itertools.product(range(d), repeat=2):
        if j >= i:
            t.set(eL[i], eL[j], S_L[i, j])
            t.set(eG[i], eG[j], S_G[i, j])
        t.set(eL[i], eG[j], C[i, j])
    errL = [RandomAffine.noise(eL[i]) for i in range(d)]
    errG = [RandomAffine.noise(eG[i]) + bias[i] for i in range(d)]
    return errL, errG, t


@cache
def symbolic_scalar_weight(d: int = 2) -> Derivation:
    """Derive MSE(a), a* and MSE(a*) for a scalar weight in d dimensions.

    MSE(a) = sum_k E[((1-a)(L_k - theta_k) + a (G_k - theta_k))^2] by linearity; a* from
    dMSE/da = 0.
    """
    S_L, S_G, C, bias = symbolic_matrices(d)
    errL, errG, t = _model(S_L, S_G, C, bias)
    mse = sp.expand(sum(second_moment((1 - a) * errL[k] + a * errG[k], t) for k in range(d)))
    (a_star,) = _solve_linear([sp.diff(mse, a)], [a])
    min_mse = sp.cancel(mse.subs(a, a_star))
    return Derivation(
        name=f"multivariate_scalar_d{d}",
        title=f"Scalar weight for a {d}-dimensional parameter",
        results={"mse": mse, "optimal_weight": a_star, "min_mse": min_mse},
        steps=(Step("MSE summed over coordinates, by linearity", sp.Function("MSE")(a), mse),
               Step("Solve dMSE/da = 0", sp.Symbol("a^*"), a_star)))


@cache
def symbolic_matrix_weight(d: int = 2) -> Derivation:
    """Derive MSE(A), A* and MSE(A*) for a d x d matrix weight.

    MSE(A) = sum_k E[(theta_A - theta)_k^2] with theta_A - theta = (I - A) e_L + A (G - theta),
    expanded by linearity; A* solves the d^2 gradient equations dMSE/dA_kl = 0.
    """
    S_L, S_G, C, bias = symbolic_matrices(d)
    errL, errG, t = _model(S_L, S_G, C, bias)
    A = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"A_{i + 1}{j + 1}", real=True))
    mse = sp.S.Zero
    for k in range(d):
        err_k = errL[k]
        for j in range(d):
            err_k = err_k + A[k, j] * (errG[j] - errL[j])
        mse += second_moment(err_k, t)
    mse = sp.expand(mse)
    unknowns = list(A)
    sol = _solve_linear([sp.diff(mse, x) for x in unknowns], unknowns)
    if sol is None:  # pragma: no cover - generic symbols make the system regular
        raise RuntimeError("gradient equations are singular")
    A_star = sp.ImmutableMatrix(d, d, sol)
    # For a quadratic f with stationary point x*, f(x*) = f(0) + grad f(0) . x* / 2
    # (cheaper than cancelling f(x*) directly).
    zero = dict.fromkeys(unknowns, 0)
    grad0 = [sp.diff(mse, x).subs(zero) for x in unknowns]
    min_mse = sp.cancel(sp.together(
        mse.subs(zero) + sum(g * x for g, x in zip(grad0, sol, strict=True)) / 2))
    return Derivation(
        name=f"multivariate_matrix_d{d}",
        title=f"Matrix weight for a {d}-dimensional parameter",
        results={"mse": mse, "A": sp.ImmutableMatrix(A), "optimal_weight": A_star,
                 "min_mse": min_mse},
        steps=(Step("MSE = tr E[(theta_A - theta)(theta_A - theta)'], by linearity",
                    sp.Function("MSE")(sp.Symbol("A")), mse),
               Step("Solve the gradient equations dMSE/dA = 0", sp.Symbol("A^*"), A_star)))


# --------------------------------------------------------------------------- numeric


def _mat(x: npt.ArrayLike, name: str, d: int | None = None) -> npt.NDArray[np.float64]:
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
              ) -> tuple[npt.NDArray[np.float64], ...]:
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
                          bias: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], float]:
    """Optimal matrix weight for theta_A = (I - A) L + A G.

    A* = (S_L - C) M^{-1} and MSE(A*) = tr S_L - tr((S_L - C) M^{-1} (S_L - C)'), with
    M = S_L + S_G - C - C' + Delta Delta' required positive definite (else
    :class:`InvalidParameterError`).  Computed by solving A* M = S_L - C.

    Returns:
        (A*, MSE(A*)).
    """
    SL, SG, Cm, b = _validate(S_L, S_G, C, bias)
    M = SL + SG - Cm - Cm.T + np.outer(b, b)
    M = (M + M.T) / 2
    try:
        np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        raise InvalidParameterError(
            "var_local, var_global, cov, bias",
            "M = var_local + var_global - cov - cov' + bias bias' must be positive definite"
        ) from None
    R = SL - Cm
    A = np.linalg.solve(M, R.T).T
    mse = float(np.trace(SL) - np.trace(A @ R.T))
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
