"""Simplex N-estimator weights (sum w = 1, w >= 0): the non-negative problem
min_{x >= 0} x'Ax/2 - 1'x by an active-set method (Lawson-Hanson steps and block principal
pivoting exchanges) on a Cholesky factor updated as indices enter and leave, with
guaranteed termination and a KKT certificate; a singular M is regularised to M + eps I.

The method, its notation (n = K + 1 estimators, u = 2^-52, s = max_i M_ii) and its error
bounds are described in the docstring of :mod:`modelavg_sym.numeric.nestimators`, the
public module; "the module docstring" below means that one.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from modelavg_sym.numeric._cholesky import (
    _EPS,
    _PIVOT_FLOOR,
    Array,
    Mode,
    Panel,
    _backward,
    _factor_inplace,
    _form_M,
    _forward,
    _mse_clamped,
    _normalise,
    _null,
    _regularised,
    _Singular,
)

#: Safety factor on the rounding bound of a gradient entry (KKT test of the simplex).
_KKT = 8.0


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
