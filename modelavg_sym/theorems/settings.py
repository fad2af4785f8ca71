"""Theorems of the settings engine, the N-estimator and the multivariate derivations
(MATH.md sections 2-4).

Claims are built from derived expressions (the settings of
:func:`modelavg_sym.derive.catalog.pooled_settings`, :mod:`modelavg_sym.derive.nestimators`,
:mod:`modelavg_sym.derive.multivariate`); the closed forms on their right-hand sides are
MATH.md's statements, checked by the routes.  Routes are listed honestly: identities go
through ``symbolic``, ``smt`` and ``rational``; inequalities through ``smt`` and
``rational``; the two simplex theorems, whose optimum is a Piecewise of Min/Max outside the
real-algebraic fragment, through ``rational`` only.  Each theorem's ``sampler`` draws its
symbols for the rational route: positive symbols positive (``assumption_points``), or the
d = 2 blocks of a joint covariance (``multivariate_points``).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Literal

import sympy as sp

from modelavg_sym.derive import multivariate as mv
from modelavg_sym.derive import nestimators as ne
from modelavg_sym.derive import settings as S
from modelavg_sym.derive.catalog import pooled_settings
from modelavg_sym.derive.core import independent, two_estimator
from modelavg_sym.derive.display import A_STAR, MSE, THETA_A, Expect, SqNorm, Tr
from modelavg_sym.derive.display import D as D_
from modelavg_sym.derive.pageforms_more import C_M, S_G_M, S_L_M, N
from modelavg_sym.derive.presentation import Name
from modelavg_sym.derive.settingfile import package_setting
from modelavg_sym.symbols import Delta, a, base_assumptions, c, s_G, s_L, theta
from modelavg_sym.theorems.base import Theorem, identity, shown


def theorems() -> list[Theorem]:
    """The settings, N-estimator and multivariate theorems, in report order."""
    return [*_settings_theorems(), *_nestimator_theorems(), *_simplex_theorems(),
            *_scalar_multivariate_theorems(), *_matrix_weight_theorems()]


def _vars(*exprs: sp.Basic) -> tuple[sp.Symbol, ...]:
    free = set().union(*(e.free_symbols for e in exprs))
    return tuple(sorted(free, key=str))


def _multivariate_points(strategies: ModuleType) -> Any:
    return strategies.multivariate_points(2)


def _theorem(points: Literal["assumptions", "multivariate"] | None = None,
             **kw: Any) -> Theorem:
    """A theorem whose variables default to the free symbols of its claim and assumptions
    (sorted by name), with the rational route's sampler named by ``points``."""
    kw.setdefault("variables", _vars(kw["claim"], *kw.get("assumptions", ())))
    if points == "assumptions":
        variables = kw["variables"]
        kw["sampler"] = lambda strategies: strategies.assumption_points(variables)
    elif points == "multivariate":
        kw["sampler"] = _multivariate_points
    return Theorem(**kw)


#: The optimal weights w* of N estimators.
W_STAR = sp.Symbol("w^*")
#: The local node's share n_0 / (n_0 + N) of the pooled data.
OMEGA = sp.Symbol("omega", positive=True)


def _positivity(vs: tuple[sp.Symbol, ...]) -> tuple[sp.Basic, ...]:
    return tuple(sp.Gt(v, 0) for v in vs if v.is_positive)


def _settings_theorems() -> list[Theorem]:
    """Pooled models, a known global mean, and Donahue-Kleinberg (MATH.md section 2)."""
    n, v, _m = S.node_symbols(2)
    excl, incl = pooled_settings()
    dinc, dexc = incl.derivation(), excl.derivation()
    pos = _positivity((*n, *v))
    known = package_setting("known_global_random_bias").derivation()
    sl = v[0] / n[0]
    dk_n = sp.symbols("n_0:3", positive=True)
    dk = S.donahue_kleinberg(dk_n)
    dk2_n = sp.symbols("n_0:2", positive=True)
    dk2 = S.donahue_kleinberg(dk2_n)
    sec2, sec2dk = "MATH.md sec. 2", "MATH.md sec. 2 (Donahue-Kleinberg)"
    mse_in, mse_ex = sp.Function("MSE_incl"), sp.Function("MSE_excl")
    a_in, a_ex = sp.Symbol("a^*_{incl}", real=True), sp.Symbol("a^*_{excl}", real=True)
    pooled = (Name(a_in, dinc["optimal_weight"]), Name(a_ex, dexc["optimal_weight"]),
              Name(mse_in, sp.Lambda(a, dinc["mse"])), Name(mse_ex, sp.Lambda(a, dexc["mse"])),
              Name(OMEGA, n[0] / (n[0] + N)), Name(N, n[1] + n[2]))
    w_star, u_star = sp.Symbol("w^*", real=True), shown("u^{*}_{1}")
    return [
        _theorem(name="pooled_with_local_same_min_mse", source=sec2, derivation="settings",
                 statement="Including the local node's data in the pooled global model "
                           "does not change the minimum mean squared error (three nodes).",
                 display=identity(mse_in(a_in), mse_ex(a_ex)), names=pooled,
                 assumptions=pos, claim=identity(dinc["min_mse"], dexc["min_mse"]),
                 routes=("symbolic", "smt", "rational"), points="assumptions"),
        _theorem(name="pooled_with_local_weight_rescaled", source=sec2, derivation="settings",
                 statement=r"With the local data pooled in, the optimal weight is rescaled "
                           r"by the local node's share $\omega = n_{0}/(n_{0} + N)$ of the "
                           "pooled data.",
                 display=identity(a_in, a_ex / (1 - OMEGA)), names=pooled,
                 assumptions=pos, claim=identity(dinc["optimal_weight"],
                                                 dexc["optimal_weight"] / (1 - n[0] / sum(n))),
                 routes=("symbolic", "smt", "rational"), points="assumptions"),
        _theorem(name="setting_mse_by_substitution", source=sec2, derivation="settings",
                 statement="Substituting the derived $<s_L>$, $<s_G>$, $<c>$, $<Delta>$ of "
                           "the pooled setting into the two-estimator mean squared error gives "
                           "the directly expanded one.",
                 display=identity(mse_in(a), Expect((THETA_A - theta) ** 2)),
                 names=(*pooled, Name(Expect((THETA_A - theta) ** 2), incl.expected_mse(a))),
                 assumptions=pos, claim=identity(dinc["mse"], incl.expected_mse(a)),
                 routes=("symbolic", "smt", "rational"), points="assumptions"),
        _theorem(name="known_global_random_bias_shrinkage", source=sec2, derivation="settings",
                 statement=r"With a known global mean ($<s_G> = 0$) and a random bias with "
                           r"$\operatorname{E}[<Delta>^{2}] = \tau^{2}$, the optimal weight "
                           r"is the Bayes (BLUP) shrinkage factor, with $<s_L> = v_{0}/n_{0}$.",
                 display=identity(A_STAR, s_L / (s_L + S.tau**2)),
                 names=(Name(A_STAR, known["optimal_weight"]), Name(s_L, sl)),
                 assumptions=_positivity((n[0], v[0], S.tau)),
                 claim=identity(known["optimal_weight"], sl / (sl + S.tau**2)),
                 routes=("symbolic", "smt", "rational"), points="assumptions"),
        _theorem(name="dk_coarse_optimum_is_core_weight", source=sec2dk, derivation="settings",
                 statement="The coarse-grained optimum of Donahue and Kleinberg is the "
                           "optimal weight of the pooled model, covariance included (three "
                           "players).",
                 display=identity(1 - w_star, A_STAR),
                 names=(Name(w_star, dk["coarse_optimal_w"]),
                        Name(A_STAR, dk["pooled_optimal_weight"])),
                 assumptions=_positivity((*dk_n, S.sigma, S.mu_e)),
                 claim=identity(1 - dk["coarse_optimal_w"], dk["pooled_optimal_weight"]),
                 routes=("symbolic", "smt", "rational"), points="assumptions"),
        _theorem(name="dk_two_players_fine_is_core_independent", source=sec2dk,
                 derivation="settings",
                 statement="With two players, the optimal fine-grained weight on the other "
                           "player is the independent optimal weight with "
                           r"$<s_L> = \mu_{e}/n_{0}$, $<s_G> = \mu_{e}/n_{1}$ and "
                           r"$<Delta>^{2} = 2\sigma^{2}$.",
                 display=identity(u_star, s_L / (s_L + s_G + Delta**2)),
                 names=(Name(u_star, dk2["fine_weight_1"]), Name(s_L, S.mu_e / dk2_n[0]),
                        Name(s_G, S.mu_e / dk2_n[1]), Name(Delta, sp.sqrt(2) * S.sigma)),
                 assumptions=_positivity((*dk2_n, S.sigma, S.mu_e)),
                 claim=identity(dk2["fine_weight_1"], independent()["optimal_weight"].subs(
                     {s_L: S.mu_e / dk2_n[0], s_G: S.mu_e / dk2_n[1],
                      Delta: sp.sqrt(2) * S.sigma})),
                 routes=("symbolic", "smt", "rational"), points="assumptions"),
    ]


def _nestimator_theorems() -> list[Theorem]:
    """The best affine combination of N estimators (MATH.md section 3)."""
    core = two_estimator()
    D = core["D"]
    s1, b1, _ = ne.estimator_symbols(1)
    n1c, n1, n2 = ne.symbolic(1, independent=False), ne.symbolic(1), ne.symbolic(2)
    to_core = {s1[0]: s_L, s1[1]: s_G, b1[0]: 0, b1[1]: Delta}
    hyp = (*base_assumptions(), sp.Gt(D, 0))
    s2, _b2, _ = ne.estimator_symbols(2)
    M2 = n2["M"]
    w2 = sp.Matrix([n2[f"weight_{i}"] for i in range(3)])
    pos2 = _positivity(s2)
    one = sp.ones(3, 1)
    sec3 = "MATH.md sec. 3"
    w1, min1, w2s = shown("w^{*}_{1}"), MSE(W_STAR), [shown(f"w^{{*}}_{{{i}}}") for i in range(3)]
    quad = shown(r"\mathbf{1}^{\top} M^{-1} \mathbf{1}")
    k1 = (Name(w1, n1c["weight_1"].subs(to_core)), Name(min1, n1c["min_mse"].subs(to_core)),
          Name(D_, D))
    k2 = (Name(min1, n2["min_mse"]), *[Name(w2s[i], w2[i]) for i in range(3)],
          Name(quad, (one.T * M2.inv() * one)[0, 0]),
          *[Name(shown(f"(M w^{{*}})_{{{i}}}"), (M2 * w2)[i]) for i in range(3)],
          Name(shown(r"\operatorname{MSE}_{K = 2}(w^{*})"), n2["min_mse"]),
          Name(shown(r"\operatorname{MSE}_{K = 1}(w^{*})"), n1["min_mse"]))
    return [
        _theorem(name="nestimators_K1_is_core_weight", source=sec3, derivation="nestimators",
                 statement="With two estimators ($L$ unbiased, $G$ with bias $<Delta>$, "
                           "covariance $<c>$) the optimum puts the optimal weight "
                           "$<a>^{*}$ on $G$.",
                 display=identity(w1, (s_L - c) / D_), names=k1,
                 assumptions=hyp,
                 claim=identity(n1c["weight_1"].subs(to_core), core["optimal_weight"]),
                 variables=(s_L, s_G, Delta, c), routes=("symbolic", "smt", "rational")),
        _theorem(name="nestimators_K1_is_core_min_mse", source=sec3, derivation="nestimators",
                 statement="With two estimators the minimum is that of the two-estimator "
                           "model.",
                 display=identity(min1, s_L - (s_L - c) ** 2 / D_), names=k1,
                 assumptions=hyp,
                 claim=identity(n1c["min_mse"].subs(to_core), s_L - (s_L - c) ** 2 / D),
                 variables=(s_L, s_G, Delta, c), routes=("symbolic", "smt", "rational")),
        *[_theorem(name=f"nestimators_first_order_condition_{i}", source=sec3,
                   derivation="nestimators",
                   statement="The optimal weights satisfy the first-order condition "
                             r"(three independent estimators, "
                             r"$M = \operatorname{diag}(s) + b b^{\top}$).",
                   display=identity(shown(f"(M w^{{*}})_{{{i}}}"), min1), names=k2,
                   assumptions=pos2, claim=identity((M2 * w2)[i], n2["min_mse"]),
                   routes=("symbolic", "smt", "rational"), points="assumptions")
          for i in range(3)],
        _theorem(name="nestimators_weights_sum_to_one", source=sec3, derivation="nestimators",
                 statement="The optimal weights are affine: they sum to $1$.",
                 display=identity(sum(w2s), 1), names=k2,
                 assumptions=pos2, claim=identity(sum(w2), 1),
                 routes=("symbolic", "smt", "rational"), points="assumptions"),
        _theorem(name="nestimators_min_mse_closed_form", source=sec3, derivation="nestimators",
                 statement="The minimum in closed form (three independent estimators).",
                 display=identity(min1, 1 / quad), names=k2,
                 assumptions=pos2,
                 claim=identity(n2["min_mse"], 1 / (one.T * M2.inv() * one)[0, 0]),
                 routes=("symbolic", "smt", "rational"), points="assumptions"),
        _theorem(name="nestimators_adding_estimator_never_hurts", source=sec3,
                 derivation="nestimators",
                 statement="Adding a third estimator never raises the minimum mean squared "
                           "error.",
                 display=sp.Le(shown(r"\operatorname{MSE}_{K = 2}(w^{*})"),
                               shown(r"\operatorname{MSE}_{K = 1}(w^{*})")), names=k2,
                 assumptions=pos2, claim=sp.Le(n2["min_mse"], n1["min_mse"]),
                 routes=("smt", "rational"), points="assumptions",
                 # deliberately false: adding an estimator always strictly lowers the MSE
                 false_variant=(pos2, sp.Lt(n2["min_mse"], n1["min_mse"]))),
    ]


def _simplex_theorems() -> list[Theorem]:
    """The simplex-constrained optimum of two estimators (MATH.md section 3)."""
    s1, _b1, _ = ne.estimator_symbols(1)
    n1, sx1 = ne.symbolic(1), ne.symbolic_simplex(1)
    plus = [shown(f"w^{{+}}_{{{i}}}") for i in range(2)]
    m_plus, m_star = shown(r"\operatorname{MSE}(w^{+})"), MSE(W_STAR)
    names = (*[Name(plus[i], sx1[f"weight_{i}"]) for i in range(2)],
             Name(shown("w^{*}_{1}"), n1["weight_1"]), Name(m_plus, sx1["min_mse"]),
             Name(m_star, n1["min_mse"]))
    return [
        _theorem(name="simplex_K1_is_clipped_weight", source="MATH.md sec. 3",
                 derivation="nestimators",
                 statement="With two estimators the optimum $w^{+}$ over non-negative "
                           "weights is the unconstrained optimal weight clipped to $[0, 1]$.",
                 display=identity(plus[1], sp.Min(sp.Max(shown("w^{*}_{1}"), 0), 1)),
                 names=names,
                 assumptions=_positivity(s1),
                 claim=identity(sx1["weight_1"], sp.Min(sp.Max(n1["weight_1"], 0), 1)),
                 routes=("rational",), points="assumptions"),
        _theorem(name="simplex_never_beats_affine", source="MATH.md sec. 3",
                 derivation="nestimators",
                 statement="The optimum over non-negative weights is never better than the "
                           "affine one, and its weights are non-negative (two estimators).",
                 display=sp.And(sp.Ge(m_plus, m_star), *[sp.Ge(x, 0) for x in plus]),
                 names=names,
                 assumptions=_positivity(s1),
                 claim=sp.And(sp.Ge(sx1["min_mse"], n1["min_mse"]),
                              *[sp.Ge(sx1[f"weight_{i}"], 0) for i in range(2)]),
                 routes=("rational",), points="assumptions"),
    ]


def _scalar_multivariate_theorems() -> list[Theorem]:
    """A scalar weight for theta in R^2 is the core result with traces (MATH.md sec. 4)."""
    SL, SG, C, bias = mv.symbolic_matrices(2)
    traces = {s_L: SL.trace(), s_G: SG.trace(), c: C.trace(),
              Delta: sp.sqrt((bias.T * bias)[0, 0])}
    M = mv.difference_second_moment(2)
    sc = mv.symbolic_scalar_weight(2)
    tr = {s_L: Tr(S_L_M), s_G: Tr(S_G_M), c: Tr(C_M)}

    def in_traces(e: sp.Basic) -> sp.Basic:
        return sp.sympify(e).xreplace({Delta**2: SqNorm(Delta)}).xreplace(tr)

    d_tr = in_traces(two_estimator()["D"])
    # the assumptions are shown as M_11 > 0 and det M > 0, M = E[(G - L)(G - L)']
    names = (Name(A_STAR, sc["optimal_weight"]), Name(MSE, sp.Lambda(a, sc["mse"])),
             Name(shown("M_{11}"), M[0, 0]), Name(shown(r"\det M"), M.det()))
    return [
        _theorem(name="multivariate_scalar_weight_traces", source="MATH.md sec. 4",
                 derivation="multivariate",
                 statement=r"For $<theta> \in \mathbb{R}^{2}$ the optimal scalar weight is "
                           r"the two-estimator one with traces: $<s_L>$, $<s_G>$, $<c>$, "
                           r"$<Delta>^{2}$ replaced by $\operatorname{tr} S_{L}$, "
                           r"$\operatorname{tr} S_{G}$, $\operatorname{tr} C$, "
                           r"$\lVert <Delta> \rVert^{2}$.",
                 display=identity(A_STAR, in_traces(s_L - c) / d_tr), names=names,
                 assumptions=(sp.Gt(M[0, 0], 0), sp.Gt(M.det(), 0)),
                 claim=identity(sc["optimal_weight"],
                                two_estimator()["optimal_weight"].subs(traces)),
                 routes=("symbolic", "smt", "rational"), points="multivariate"),
        _theorem(name="multivariate_scalar_mse_traces", source="MATH.md sec. 4",
                 derivation="multivariate",
                 statement=r"For $<theta> \in \mathbb{R}^{2}$ the mean squared error of "
                           "the scalar-weighted average is the two-estimator one with traces.",
                 display=identity(MSE(a), in_traces((1 - a) ** 2 * s_L
                                                    + a**2 * (s_G + Delta**2)
                                                    + 2 * a * (1 - a) * c)), names=names,
                 assumptions=(), claim=identity(sc["mse"], (1 - a) ** 2 * traces[s_L]
                                                + a**2 * (traces[s_G] + traces[Delta] ** 2)
                                                + 2 * a * (1 - a) * traces[c]),
                 routes=("symbolic", "smt", "rational"), points="multivariate"),
    ]


def _matrix_weight_theorems() -> list[Theorem]:
    """The optimal matrix weight for theta in R^2 (MATH.md section 4).

    Stated in the coordinates (S_L, C, Delta, M) with M = E[(G - L)(G - L)'] (derived by
    :func:`modelavg_sym.derive.multivariate.difference_second_moment`) and S_G eliminated by
    solving that definition for it (a bijective change of variables), which keeps the
    derived expressions short enough to display.
    """
    SL, SG, C, _bias = mv.symbolic_matrices(2)
    Ms = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"M_{min(i, j) + 1}{max(i, j) + 1}", real=True))
    M = mv.difference_second_moment(2)
    entries = [(i, j) for i in range(2) for j in range(i, 2)]
    (to_M,) = sp.solve([M[i, j] - Ms[i, j] for i, j in entries], [SG[i, j] for i, j in entries],
                       dict=True)

    def in_M(e: sp.Expr) -> sp.Expr:
        return sp.factor(sp.cancel(e.subs(to_M, simultaneous=True)))

    mw = mv.symbolic_matrix_weight(2)
    hyp = (sp.Gt(Ms[0, 0], 0), sp.Gt(Ms.det(), 0))
    R = SL - C
    A_ref = R * Ms.inv()
    min_mse = in_M(mw["min_mse"])
    sec4 = "MATH.md sec. 4"
    a_mat = {(k, j): shown(f"A^{{*}}_{{{k + 1}{j + 1}}}") for k in range(2) for j in range(2)}
    ref = {(k, j): shown(f"((S_{{L}} - C) M^{{-1}})_{{{k + 1}{j + 1}}}")
           for k in range(2) for j in range(2)}
    m_mat, m_sc = shown(r"\operatorname{MSE}(A^{*})"), shown(r"\operatorname{MSE}(<a>^{*})")
    closed = shown(r"\operatorname{tr} S_{L} - \operatorname{tr}\bigl((S_{L} - C) M^{-1} "
                   r"(S_{L} - C)^{\top}\bigr)")
    names = (*[Name(a_mat[kj], in_M(mw["optimal_weight"][kj])) for kj in a_mat],
             *[Name(ref[kj], A_ref[kj]) for kj in ref], Name(m_mat, min_mse),
             Name(m_sc, in_M(mv.symbolic_scalar_weight(2)["min_mse"])),
             Name(closed, SL.trace() - (R * Ms.inv() * R.T).trace()))
    return [
        *[_theorem(name=f"matrix_weight_closed_form_{k + 1}{j + 1}", source=sec4,
                   derivation="multivariate",
                   statement=f"Entry $({k + 1}, {j + 1})$ of the optimal matrix weight "
                             r"$A^{*}$ ($d = 2$; stated with $S_{G}$ eliminated in favour of "
                             r"$M = S_{L} + S_{G} - C - C^{\top} + <Delta> <Delta>^{\top}$).",
                   display=identity(a_mat[(k, j)], ref[(k, j)]), names=names,
                   assumptions=hyp,
                   claim=identity(in_M(mw["optimal_weight"][k, j]), A_ref[k, j]),
                   routes=("symbolic", "smt", "rational"), points="multivariate")
          for k in range(2) for j in range(2)],
        _theorem(name="matrix_weight_min_mse", source=sec4, derivation="multivariate",
                 statement=r"The minimum with the optimal matrix weight ($d = 2$; $S_{G}$ "
                           "eliminated in favour of $M$).",
                 display=identity(m_mat, closed), names=names,
                 assumptions=hyp,
                 claim=identity(min_mse, SL.trace() - (R * Ms.inv() * R.T).trace()),
                 routes=("symbolic", "smt", "rational"), points="multivariate"),
        _theorem(name="matrix_weight_beats_scalar", source=sec4, derivation="multivariate",
                 statement="The optimal matrix weight is never worse than the optimal "
                           "scalar weight ($d = 2$).",
                 display=sp.Le(m_mat, m_sc), names=names,
                 assumptions=hyp,
                 claim=sp.Le(min_mse, in_M(mv.symbolic_scalar_weight(2)["min_mse"])),
                 routes=("smt", "rational"), points="multivariate"),
    ]
