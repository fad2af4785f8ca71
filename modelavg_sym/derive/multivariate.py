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

:func:`normal_equations` reads M, R = S_L - C and MSE(0) off the derived MSE(A), so that
the gradient equations are A M = R; the numeric API for any d
(:mod:`modelavg_sym.numeric.multivariate`) solves them with code generated from it.
"""

from __future__ import annotations

import itertools
from functools import cache

import sympy as sp

from modelavg_sym.algebra.moments import (
    CovarianceTable,
    RandomAffine,
    covariance,
    expectation,
    second_moment,
)
from modelavg_sym.derive.core import Derivation, Step
from modelavg_sym.derive.display import A_STAR, MSE
from modelavg_sym.derive.nestimators import _solve_linear
from modelavg_sym.symbols import a

__all__ = [
    "difference_second_moment",
    "matrix_weight_mse",
    "normal_equations",
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
def difference_second_moment(d: int = 2) -> sp.ImmutableMatrix:
    """M = E[(G - L)(G - L)'] for the symbols of :func:`symbolic_matrices`, derived by
    linearity: entry (i, j) is Cov(G_i - L_i, G_j - L_j) + E[G_i - L_i] E[G_j - L_j], which
    expands to M = S_L + S_G - C - C' + Delta Delta'.  The optimal matrix weight solves
    A* M = S_L - C."""
    errL, errG, t = _model(*symbolic_matrices(d))
    gap = [errG[i] - errL[i] for i in range(d)]
    return sp.ImmutableMatrix(d, d, lambda i, j: sp.expand(
        covariance(gap[i], gap[j], t) + expectation(gap[i]) * expectation(gap[j])))


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
        steps=(Step("The mean squared error summed over the coordinates, by linearity",
                    MSE(a), mse),
               Step(r"Solving $\operatorname{MSE}'(<a>) = 0$", A_STAR, a_star)))


@cache
def matrix_weight_mse(d: int = 2) -> tuple[sp.Expr, sp.ImmutableMatrix]:
    """MSE(A) = sum_k E[(theta_A - theta)_k^2] for theta_A = (I - A) L + A G, expanded by
    linearity in the entries of A (the generic d x d matrix of symbols A_kl, returned too).

    theta_A - theta = e_L + A (G - L) coordinate by coordinate.
    """
    S_L, S_G, C, bias = symbolic_matrices(d)
    errL, errG, t = _model(S_L, S_G, C, bias)
    A = sp.ImmutableMatrix(d, d, lambda i, j: sp.Symbol(f"A_{i + 1}{j + 1}", real=True))
    mse = sp.S.Zero
    for k in range(d):
        err_k = errL[k]
        for j in range(d):
            err_k = err_k + A[k, j] * (errG[j] - errL[j])
        mse += second_moment(err_k, t)
    return sp.expand(mse), A


@cache
def normal_equations(d: int = 2) -> Derivation:
    """M, R and MSE(0) of the matrix weight, read off the derived MSE(A) (a quadratic in A):

        MSE(A) = MSE(0) - 2 tr(A R') + tr(A M A'),

    so M_jl = (1/2) d^2 MSE / dA_kj dA_kl (the same for every row k; checked),
    R_kj = -(1/2) dMSE/dA_kj at A = 0, and the gradient equations dMSE/dA = 0 are A M = R.
    (M is E[(G - L)(G - L)'] and R = S_L - C; stated in the theorems, not typed in here.)
    """
    mse, A = matrix_weight_mse(d)
    zero = dict.fromkeys(A, 0)
    rows = [sp.ImmutableMatrix(d, d, lambda j, l_, k=k: sp.Rational(1, 2)
                               * sp.diff(mse, A[k, j], A[k, l_])) for k in range(d)]
    if any(m != rows[0] for m in rows[1:]):  # pragma: no cover - MSE(A) = sum over rows
        raise RuntimeError("the Hessian of MSE(A) differs between rows of A")
    R = sp.ImmutableMatrix(d, d, lambda k, j: -sp.Rational(1, 2)
                           * sp.diff(mse, A[k, j]).subs(zero))
    return Derivation(
        name=f"multivariate_normal_equations_d{d}",
        title=f"Normal equations of the matrix weight, d = {d}",
        results={"M": rows[0], "R": R, "mse_at_zero": mse.subs(zero)},
        steps=(Step("Second derivatives of MSE(A) in a row of A", sp.Symbol("M"), rows[0]),
               Step("Minus half the gradient at A = 0", sp.Symbol("R"), R)))


@cache
def symbolic_matrix_weight(d: int = 2) -> Derivation:
    """Derive MSE(A), A* and MSE(A*) for a d x d matrix weight.

    MSE(A) = sum_k E[(theta_A - theta)_k^2] with theta_A - theta = (I - A) e_L + A (G - theta),
    expanded by linearity; A* solves the d^2 gradient equations dMSE/dA_kl = 0.
    """
    mse, A = matrix_weight_mse(d)
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
        steps=(Step(r"The mean squared error "
                    r"$\operatorname{tr} \operatorname{E}[(<theta>_{A} - <theta>)"
                    r"(<theta>_{A} - <theta>)^{\top}]$, by linearity",
                    MSE(sp.Symbol("A")), mse),
               Step(r"Solving the gradient equations $\partial \operatorname{MSE} / "
                    r"\partial A = 0$", sp.Symbol("A^*"), A_star)))
