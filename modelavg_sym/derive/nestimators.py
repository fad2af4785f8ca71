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

The numeric path for large K (:func:`modelavg_sym.numeric.nestimators.optimal_weights`)
solves the same stationarity equations M x = 1 with numpy.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import cache

import sympy as sp
from sympy.polys.matrices import DomainMatrix

from modelavg_sym.algebra.moments import CovarianceTable, RandomAffine, second_moment
from modelavg_sym.derive.core import Derivation, Step, tidy
from modelavg_sym.derive.display import MSE
from modelavg_sym.errors import InvalidParameterError

__all__ = [
    "affine_optimum",
    "estimator_symbols",
    "mse_form",
    "quadratic_form_matrix",
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


def quadratic_form_matrix(mse: sp.Expr, weights: Sequence[sp.Symbol]) -> sp.ImmutableMatrix:
    """M with MSE(w) = w' M w for a quadratic form in ``weights``, read off the derived MSE:
    M_ik = (1/2) d^2 MSE / dw_i dw_k (M = S + b b' for :func:`mse_form`)."""
    n = len(weights)
    return sp.ImmutableMatrix(n, n, lambda i, k: sp.Rational(1, 2)
                              * sp.diff(mse, weights[i], weights[k]))


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
    M = quadratic_form_matrix(mse, w)
    results: dict[str, sp.Basic] = {"mse": mse, "M": M}
    for i, wi in enumerate(weights):
        results[f"weight_{i}"] = wi
    results["multiplier"] = lam
    results["min_mse"] = min_mse
    steps = (
        Step(f"With ${n}$ estimators, the mean squared error of the affine combination, by "
             "linearity", MSE(*w), mse),
        Step(r"The stationarity conditions of the Lagrangian "
             r"$\operatorname{MSE}(w) - 2\lambda (\sum_{i} w_{i} - 1)$ give the multiplier",
             sp.Symbol("lambda"), lam),
        Step("the minimum mean squared error", MSE(sp.Symbol("w^*")), min_mse),
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
