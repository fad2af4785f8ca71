"""More than two estimators, numerically (MATH.md section 3): affine and simplex weights.

Estimators T_0..T_K of theta with covariance matrix S and biases b; with M = S + b b',
MSE(w) = w' M w (derived in :mod:`modelavg_sym.derive.nestimators`, where the optimum
w* = M^{-1} 1 / (1' M^{-1} 1), MSE(w*) = 1 / (1' M^{-1} 1) is derived and verified;
``nestimators_M`` below is generated from that derivation).

:func:`optimal_weights` answers for every symmetric positive *semi*definite M and raises
:class:`~modelavg_sym.errors.InvalidParameterError` only for invalid input.  A positive
semidefinite M always has a minimum, both on the affine set {1'w = 1} (a convex quadratic
bounded below by 0 on an affine set attains its infimum) and on the simplex (compact), so
"no minimum" only arises for an M that is not positive semidefinite, which is rejected.

Notation used in the code: n = K + 1 estimators, u = 2^-52 (``_EPS``), s = max_i M_ii
(for M positive semidefinite, |M_ij| <= sqrt(M_ii M_jj) <= s and ||M||_2 <= n s).

**Scaling.**  cov and bias are first multiplied by 2^-2k and 2^-k (exact powers of two) when
max|cov| or max bias^2 lies outside 2^+-256, so that b b' neither overflows nor underflows:
the optimal weights do not change and the minimum MSE is multiplied back by 2^2k (an MSE
beyond the float64 range is an error, not inf).

**Positive definite M: Cholesky** (A = L L' with every pivot L_jj^2 above the floor
``_PIVOT_FLOOR * n * u * s``), in one of two variants:

1. *fast*: blocked left-looking Cholesky (panels of ``_NB`` rows; every update one matrix
   product, each diagonal block inverted once and the inverse reused by the triangular
   solves: no LAPACK triangular solver is reachable from numpy);
2. *stable*: LAPACK's Cholesky and each diagonal block applied by a backward-stable solve;
   used when the fast result fails its certificate.

*Affine weights*: x = M^{-1} 1 by y = L^{-1} 1, x = L'^{-1} y; w = x / 1'x with 1'x summed
by :func:`math.fsum`; MSE = 1 / (y'y) (1'x = 1' M^{-1} 1 = y'y, a sum of squares: the MSE is
positive by construction).  The fast result is certified by its Lagrange residual: w is
optimal for M + E exactly when (M + E) w = lambda 1 for some lambda; with
r = M w - mean(M w) 1 the symmetric E = -(r w' + w r')/||w||^2 + (w'r) w w'/||w||^4 makes it
so and ||E||_2 <= 2 ||r|| / ||w||, so a residual within the Cholesky backward-error bound
|r_i| <= ``_CERT`` (3n + 1) u sqrt(M_ii) sum_j sqrt(M_jj) |w_j| certifies w as the exact
optimum of a matrix within rounding of M.

**Singular (or numerically singular) M** (a pivot below the floor, or M not positive
definite in floating point):

* *affine*: from the eigendecomposition (:func:`_affine_eigen`), the minimum-norm optimum
  with the eigenvalues below ``_NULL * n * u * s`` taken as 0 (the pseudo-inverse of M
  restricted to the affine constraint);
* *simplex*: the same active-set method on A = M + eps I, eps = ``_REG * n * u * s``.  On
  the simplex ||w||^2 <= 1, so w'(M + eps I)w and w'Mw differ by at most eps everywhere
  and the optimum found is within eps of M's; the MSE reported is that of the returned
  w under M, max(0, w'Mw).  That clamp is within rounding: if the exact M is positive
  semidefinite the exact w'Mw is >= 0, so replacing a negative computed value by 0 moves
  it towards the exact value; if M is indefinite by less than the tolerance below, 0 is
  the MSE under the nearest positive semidefinite matrix, within that tolerance of M.

Either way the smallest eigenvalue of M decides validity: below
``-_PSD_TOL * n^1.5 * u * s`` M is not positive semidefinite (an error naming it).  If
M + eps I cannot be factored, eps is raised to 2 |lambda_min| + 2 ``_PSD_TOL`` n^1.5 u s,
for which the Cholesky factorisation provably completes (Demmel's condition, Higham,
*Accuracy and Stability of Numerical Algorithms*, Thm 10.7: the smallest eigenvalue of the
unit-diagonal scaling exceeds 20 n^1.5 u).

**Simplex weights** (w >= 0 too): for A positive definite, min over the simplex of w'Aw
is the rescaled solution of the non-negative problem min_{x >= 0} q(x) = x'Ax/2 - 1'x
(write x = t w: the best t is 1/(w'Aw), leaving q = -1/(2 w'Aw)): w* = x*/1'x* and
MSE(w*) = 1/1'x*.  It is solved by an active-set method in the manner of Lawson and
Hanson: the passive set P holds the positive x_i, and x is the minimiser of q on the
coordinate subspace of P, from the Cholesky factor of A_PP (A_PP x_P = 1), where
q = -1'x_P / 2 = -(y'y)/2 with y = L_P^{-1} 1.  Each outer step enters the indices with a
negative gradient g_j = (Ax)_j - 1, ordered by g_j / sqrt(A_jj), and tries in turn:
(a) a block-principal-pivoting exchange (enter the first ``block`` of them, then drop
every index whose subspace minimiser is <= 0, all at once, until it is positive; the
block starts at n, doubles after a success and is quartered after a failure), (b) the
Lawson-Hanson inner loop with the steepest index alone (move from x towards the subspace
minimiser, stopping where the first coordinate reaches 0 and dropping it, until the
minimiser is positive).  Indices are appended at the end of the factor and dropped by
truncating it to the panel that holds the first dropped position and re-extending it with
the surviving rows (whose leading columns are reused), so consecutive active sets share
their factor (an undone step restores a copy of the previous factor).
*Termination*: (a) and (b) drop at least one index per pass, so they end; an outer step
is accepted only if the computed y'y (= 1'x at the new subspace minimiser) strictly
increases, else it is undone, and if neither (a) nor (b) makes progress the steepest index
is excluded until the next accepted step (for (b) exact arithmetic guarantees progress:
the entering component is -g_j / (Schur complement) > 0 and the objective decreases
along the segment towards a subspace minimiser).  The accepted values of y'y form a
strictly increasing sequence of floating-point numbers below n / lambda_min(A), hence a
finite one, and between accepted steps at most n indices are excluded.  The method stops
when no index has g_j < -tol_j, tol_j = ``_KKT`` n u sqrt(A_jj) sum_i sqrt(A_ii) x_i (the
rounding bound of (Ax)_j): the KKT conditions of the simplex problem, which certify its
global optimum.  MSE = 1/(y'y) (positive), or max(0, w'Mw) when regularised.

**Modules.**  This module validates the input and answers; the solvers are in
:mod:`modelavg_sym.numeric._cholesky` (M, factorisation, regularisation),
:mod:`modelavg_sym.numeric._affine` and :mod:`modelavg_sym.numeric._simplex`.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from modelavg_sym.errors import InvalidParameterError

# the private helpers re-exported below (`x as x`) are reached here by the tests
from modelavg_sym.numeric._affine import _affine
from modelavg_sym.numeric._affine import _certified as _certified
from modelavg_sym.numeric._cholesky import _backward as _backward
from modelavg_sym.numeric._cholesky import _cholesky_ones as _cholesky_ones
from modelavg_sym.numeric._cholesky import _factor_inplace as _factor_inplace
from modelavg_sym.numeric._cholesky import _form_M, _not_psd
from modelavg_sym.numeric._cholesky import _forward as _forward
from modelavg_sym.numeric._simplex import _Factor as _Factor
from modelavg_sym.numeric._simplex import _simplex

__all__ = ["optimal_weights"]

Array = npt.NDArray[np.float64]

#: Powers of two outside [2^-_SAFE_EXP, 2^_SAFE_EXP] for max|cov| or max bias^2 trigger
#: rescaling (inside, M = cov + bias bias' can neither overflow nor lose its small entries).
_SAFE_EXP = 256


# --------------------------------------------------------------------------- validation


def _validate(cov: npt.ArrayLike, bias: npt.ArrayLike) -> tuple[Array, Array, int]:
    """(cov symmetrised as (cov + cov')/2, bias, k) with k from :func:`_scale_exponent`."""
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
    # max and min propagate nan and are infinite if an entry is: both finite <=> all finite
    top_s = max(float(S.max()), -float(S.min()))
    if not math.isfinite(top_s):
        raise InvalidParameterError("cov", "must be finite")
    top_b = max(float(b.max()), -float(b.min()))
    if not math.isfinite(top_b):
        raise InvalidParameterError("bias", "must be finite")
    buf = np.subtract(S, S.T)
    asym = float(buf.max())  # = max |cov - cov'|: the difference is exactly antisymmetric
    if asym > 1e-12 * max(top_s, 1e-300):
        raise InvalidParameterError("cov", "must be symmetric", f"max |cov - cov'| = {asym:.3g}")
    if asym == 0:
        sym = S  # exactly symmetric already (never written to)
    elif top_s < 2.0**1022:
        sym = np.add(S, S.T, out=buf)  # (cov + cov')/2: exactly symmetric
        sym *= 0.5
    else:  # halve first so that the sum cannot overflow
        np.multiply(S, 0.5, out=buf)
        sym = buf + buf.T
    return sym, b, _scale_exponent(top_s, top_b)


def _scale_exponent(top_s: float, top_b: float) -> int:
    """k such that cov 2^-2k and bias 2^-k have entries below 1 and not far below (0 when
    max|cov| and max bias^2 are within 2^+-_SAFE_EXP, where nothing can overflow or
    underflow harmfully)."""
    exps = []
    if top_s > 0:
        exps.append(math.frexp(top_s)[1])
    if top_b > 0:
        exps.append(2 * math.frexp(top_b)[1])
    if all(-_SAFE_EXP <= e <= _SAFE_EXP for e in exps):
        return 0
    return (max(exps) + 1) // 2


# --------------------------------------------------------------------------- public


def optimal_weights(cov: npt.ArrayLike, bias: npt.ArrayLike, nonnegative: bool = False
                    ) -> tuple[Array, float]:
    """Optimal weights over estimators T_0..T_K with covariance ``cov`` and biases ``bias``.

    Minimises MSE(w) = w' M w, M = cov + bias bias', subject to sum w = 1 (and w >= 0 when
    ``nonnegative``).  For M positive definite the affine optimum is
    w* = M^{-1} 1 / (1' M^{-1} 1) with MSE(w*) = 1 / (1' M^{-1} 1), computed from the
    Cholesky factor M = L L' by two triangular solves (L y = 1, L' x = y; MSE = 1/(y'y)).
    For M singular (positive semidefinite) the optimum still exists; the returned w is
    then the minimum-norm optimum, from the eigendecomposition of M with eigenvalues below
    16 n u max_i M_ii taken as 0 (n = K + 1, u = 2^-52).  The simplex optimum
    (``nonnegative``) comes from an active-set method (Lawson-Hanson, with block exchanges)
    on the Cholesky factor, updated between steps, with guaranteed termination; for
    singular M it runs on M + eps I, eps = 16 n u max_i M_ii, which changes no MSE on the
    simplex by more than eps.  The returned MSE is >= 0.  Details and error bounds: the
    module docstring.

    Raises :class:`InvalidParameterError` for a non-square, non-symmetric or non-finite
    ``cov``, a ``bias`` of the wrong length or not finite, an M with a negative eigenvalue
    beyond rounding (not positive semidefinite), or a minimum MSE beyond the float64 range.

    Returns:
        (weights, min_mse) as (float64 array of length K + 1, float).
    """
    S, b, k = _validate(cov, bias)
    n = S.shape[0]
    if n == 1:
        w, mse = np.ones(1), float(_form_M(S, b, k)[0, 0])
        if mse < 0:
            raise _not_psd(f"cov + bias^2 = {mse:.3g}{f' * 2^{2 * k}' if k else ''} < 0")
    else:
        w, mse = (_simplex if nonnegative else _affine)(S, b, k)
    try:
        out = math.ldexp(mse, 2 * k)
    except OverflowError:
        out = math.inf
    if math.isinf(out):
        raise InvalidParameterError("cov", "the minimum MSE must be within the float64 range",
                                    f"it is {mse:.6g} * 2^{2 * k}")
    return w, out
