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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np
import numpy.typing as npt

from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.numeric._generated_estimators import nestimators_M

__all__ = ["optimal_weights"]

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
#: Eigenvalues of M at most _NULL * n * u * s count as 0 (affine, singular M).
_NULL = 16.0
#: Safety factor on the Cholesky backward-error bound in the fast certificate.
_CERT = 4.0
#: Safety factor on the rounding bound of a gradient entry (KKT test of the simplex).
_KKT = 8.0

#: Powers of two outside [2^-_SAFE_EXP, 2^_SAFE_EXP] for max|cov| or max bias^2 trigger
#: rescaling (inside, M = cov + bias bias' can neither overflow nor lose its small entries).
_SAFE_EXP = 256


class _Singular(Exception):
    """Internal: a pivot fell below the floor (or the factorisation failed); try the next
    mode."""


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


# --------------------------------------------------------------------------- affine


def _mse_clamped(M: Array, w: Array) -> float:
    """max(0, w' M w): within rounding of the exact value (see the module docstring)."""
    return max(0.0, float(w @ (M @ w)))


def _normalise(x: Array) -> Array:
    total = math.fsum(x.tolist())
    return x / total


def _certified(S: Array, b: Array, k: int, w: Array) -> bool:
    """Lagrange-residual certificate of the fast affine result (module docstring)."""
    n = w.shape[0]
    Sk, bk = (S, b) if k == 0 else (np.ldexp(S, -2 * k), np.ldexp(b, -k))
    g = Sk @ w + bk * float(bk @ w)  # M w without forming M again
    r = g - g.mean()
    root = np.sqrt(np.maximum(np.diagonal(Sk) + bk * bk, 0.0))
    bound = _CERT * (3 * n + 1) * _EPS * root * float(root @ np.abs(w))
    return bool(np.all(np.abs(r) <= bound + np.finfo(np.float64).tiny))


def _null(M: Array) -> tuple[Array, float]:
    """max_i M_ii <= 0: M positive semidefinite only if M = 0, where every weight has MSE 0
    and the minimum-norm one is uniform."""
    if M.any():
        raise _not_psd("no diagonal entry of cov + bias bias' is positive, yet it is not 0")
    n = M.shape[0]
    return np.full(n, 1.0 / n), 0.0


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


# --------------------------------------------------------------------------- simplex


class _Factor:
    """Cholesky factor L of A[P][:, P] for an ordered index list P, kept by panels.

    Rows and columns of L follow the order of P; appending indices extends the factor,
    dropping positions truncates it to the panel holding the first dropped position and
    re-extends it with the surviving rows (their leading columns stay valid: L_ij for
    j < k depends only on the first k positions and i).
    """

    def __init__(self, A: Array, fast: bool, floor: float) -> None:
        self.A = A
        self.fast = fast
        self.floor = floor
        n = A.shape[0]
        self.L = np.empty((n, n))  # only the lower triangle of [:p, :p] is ever read
        self.order = np.zeros(n, dtype=np.intp)
        self.p = 0
        self.panels: list[Panel] = []

    @property
    def P(self) -> npt.NDArray[np.intp]:
        return self.order[: self.p]

    def extend(self, idx: npt.NDArray[np.intp]) -> None:
        """Append ``idx`` to P."""
        p, m = self.p, idx.shape[0]
        if m == 0:
            return
        q = p + m
        L, A = self.L, self.A
        if p:
            L[p:q, :p] = A[np.ix_(idx, self.P)]
            for s, e, G in self.panels:  # rows of the factor: X L' = A[idx, P]
                r = L[p:q, s:e] - L[p:q, :s] @ L[s:e, :s].T if s else L[p:q, s:e]
                L[p:q, s:e] = (r @ G.T if G is not None
                               else np.linalg.solve(L[s:e, s:e], r.T).T)
        L[p:q, p:q] = A[idx][:, idx]
        self.order[p:q] = idx
        self.p = q
        try:
            self.panels += _factor_inplace(L, p, q, self.fast, self.floor)
        except _Singular:
            self.p = p
            raise

    def drop(self, positions: npt.NDArray[np.intp]) -> None:
        """Remove the given positions of P."""
        first = int(positions.min())
        keep_panels = [pn for pn in self.panels if pn[1] <= first]
        k = keep_panels[-1][1] if keep_panels else 0
        mask = np.ones(self.p, dtype=bool)
        mask[positions] = False
        mask[:k] = False
        surv_pos = np.flatnonzero(mask)
        surv = self.order[surv_pos].copy()
        rows = self.L[surv_pos, :k]  # a copy (fancy indexing): leading columns stay valid
        self.panels = keep_panels
        self.p = k
        m = surv.shape[0]
        if m == 0:
            return
        q = k + m
        self.L[k:q, :k] = rows
        self.L[k:q, k:q] = self.A[surv][:, surv]
        self.order[k:q] = surv
        self.p = q
        self.panels += _factor_inplace(self.L, k, q, self.fast, self.floor)

    def snapshot(self) -> tuple[int, Array, Array, list[Panel]]:
        """The state (a copy of the factor's leading block), for :meth:`restore`."""
        p = self.p
        return p, self.order[:p].copy(), self.L[:p, :p].copy(), list(self.panels)

    def restore(self, state: tuple[int, Array, Array, list[Panel]]) -> None:
        p, order, block, panels = state
        self.p = p
        self.order[:p] = order
        self.L[:p, :p] = block
        self.panels = list(panels)  # the inverses in it are never written to

    def solve_ones(self) -> tuple[Array, float]:
        """z = A_PP^{-1} 1 (in the order of P) and y'y = 1'z."""
        L = self.L[: self.p, : self.p]
        y = _forward(L, self.panels, np.ones(self.p))
        return _backward(L, self.panels, y), float(y @ y)


def _kkt_tolerance(A: Array, root: Array, x: Array) -> Array:
    n = A.shape[0]
    return _KKT * n * _EPS * root * float(root @ x)


def _inner(F: _Factor, x: Array) -> float:
    """Lawson-Hanson inner loop from the feasible x (x_i > 0 on P, except entering indices
    with x_i = 0): move towards the subspace minimiser z, dropping the coordinates that
    reach 0 first, until z > 0; then x = z.  Each pass drops at least one index.  Returns
    y'y = 1'x."""
    while True:
        z, yy = F.solve_ones()
        P = F.P
        neg = z <= 0
        if not neg.any():
            x[:] = 0.0
            x[P] = z
            return yy
        xs = x[P]
        den = xs[neg] - z[neg]  # >= 0
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(den > 0, xs[neg] / den, 0.0)  # where each coordinate reaches 0
        alpha = float(step.min())
        if alpha > 0:
            x[P] = xs + alpha * (z - xs)
        xp = x[P]
        blocking = np.flatnonzero(neg)[step <= alpha]
        hit = np.union1d(blocking, np.flatnonzero((xp <= 0) & neg))
        x[P[hit]] = 0.0
        F.drop(hit)


def _exchange(F: _Factor, x: Array) -> float:
    """Block principal pivoting step (no line search): drop every index whose subspace
    minimiser component is <= 0, all at once, until the minimiser is positive; then x = z.
    Not monotone by itself: the caller keeps the result only if y'y increased.  Returns
    y'y = 1'x (0.0 if every index was dropped)."""
    while True:
        z, yy = F.solve_ones()
        neg = z <= 0
        if not neg.any():
            x[:] = 0.0
            x[F.P] = z
            return yy
        if neg.all():
            return 0.0
        F.drop(np.flatnonzero(neg))


def _simplex_x(A: Array, mode: Mode, floor: float) -> tuple[Array, float]:
    """Non-negative minimiser x of x'Ax/2 - 1'x (A positive definite) by the active-set
    method of the module docstring, and y'y = 1'x.  The first outer step enters every index,
    so the whole of A is factored once (which also checks it)."""
    n = A.shape[0]
    root = np.sqrt(np.maximum(np.diagonal(A), 0.0))
    F = _Factor(A, mode == "fast", floor)
    x = np.zeros(n)
    best = 0.0  # 1'x at the current subspace minimiser (q = -best / 2)
    excluded = np.zeros(n, dtype=bool)
    block = n
    while True:
        g = A @ x - 1.0
        free = ~excluded
        free[F.P] = False
        cand = np.flatnonzero(free & (g < -_kkt_tolerance(A, root, x)))
        if cand.size == 0:
            return x, best
        with np.errstate(divide="ignore"):
            priority = g[cand] / root[cand]  # steepest edge: gradient per unit sqrt(A_jj)
        order = cand[np.argsort(priority, kind="stable")]
        state, old_x = F.snapshot(), x.copy()
        # exchange the `block` steepest violators at once (fast when it works; the block
        # doubles after a success and shrinks fourfold after a failure), else a
        # Lawson-Hanson step with the steepest one alone (progress guaranteed in exact
        # arithmetic)
        for step, J in ((_exchange, order[:block]), (_inner, order[:1])):
            F.extend(J)
            yy = step(F, x)
            if yy > best:
                best = yy
                excluded[:] = False
                if step is _exchange:
                    block = min(2 * block, n)
                break
            x[:] = old_x  # no progress in floating point: undo
            F.restore(state)
            if step is _exchange:
                block = max(block // 4, 1)
        else:
            excluded[order[0]] = True


def _simplex_certified(A: Array, floor: float) -> tuple[Array, float]:
    """:func:`_simplex_x` in the fast mode, checked: on the support the gradient must vanish
    to rounding, |(Ax)_i - 1| <= tol_i (off it, g_j >= -tol_j holds at termination); if
    not, the stable mode (unchecked).  :class:`_Singular` propagates."""
    x, yy = _simplex_x(A, "fast", floor)
    on = x > 0
    root = np.sqrt(np.maximum(np.diagonal(A), 0.0))
    if np.all(np.abs(A[on] @ x - 1.0) <= _kkt_tolerance(A, root, x)[on]):
        return x, yy
    return _simplex_x(A, "stable", floor)


def _simplex(S: Array, b: Array, k: int) -> tuple[Array, float]:
    M = _form_M(S, b, k)
    n = M.shape[0]
    s = float(np.diagonal(M).max())
    if s <= 0:
        return _null(M)
    try:
        x, yy = _simplex_certified(M, _PIVOT_FLOOR * n * _EPS * s)
        return _normalise(x), 1.0 / yy
    except _Singular:
        pass

    def solve(A: Array, _eps: float) -> tuple[Array, float]:
        x, _ = _simplex_certified(A, 0.0)
        w = _normalise(x)
        return w, _mse_clamped(M, w)

    return _regularised(M, solve, k)


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
