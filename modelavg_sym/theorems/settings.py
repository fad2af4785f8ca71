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
from modelavg_sym.symbols import Delta, a, base_assumptions, c, s_G, s_L
from modelavg_sym.theorems.base import Theorem, identity


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


def _positivity(vs: tuple[sp.Symbol, ...]) -> tuple[sp.Basic, ...]:
    return tuple(sp.Gt(v, 0) for v in vs if v.is_positive)


def _settings_theorems() -> list[Theorem]:
    """Pooled models, a known global mean, and Donahue-Kleinberg (MATH.md section 2)."""
    n, v, _m = S.node_symbols(2)
    excl, incl = pooled_settings()
    dinc, dexc = incl.derivation(), excl.derivation()
    pos = _positivity((*n, *v))
    known = S.known_global_random_bias(n[0], v[0]).derivation()
    sl = v[0] / n[0]
    dk_n = sp.symbols("n_0:3", positive=True)
    dk = S.donahue_kleinberg(dk_n)
    dk2_n = sp.symbols("n_0:2", positive=True)
    dk2 = S.donahue_kleinberg(dk2_n)
    sec2, sec2dk = "MATH.md sec. 2", "MATH.md sec. 2 (Donahue-Kleinberg)"
    return [
        _theorem(name="pooled_with_local_same_min_mse", source=sec2, derivation="settings",
                 statement="Including the local node's data in the pooled global model does not "
                           "change the optimal MSE: MSE*_incl = MSE*_excl (three nodes, "
                           "symbolic).",
                 assumptions=pos, claim=identity(dinc["min_mse"], dexc["min_mse"]),
                 routes=("symbolic", "smt", "rational"), points="assumptions"),
        _theorem(name="pooled_with_local_weight_rescaled", source=sec2, derivation="settings",
                 statement="With the local data pooled in, the optimal weight is rescaled: "
                           "a*_incl = a*_excl / (1 - w) with w = n_0 / sum n_i.",
                 assumptions=pos, claim=identity(dinc["optimal_weight"],
                                                 dexc["optimal_weight"] / (1 - n[0] / sum(n))),
                 routes=("symbolic", "smt", "rational"), points="assumptions"),
        _theorem(name="setting_mse_by_substitution", source=sec2, derivation="settings",
                 statement="Substituting the derived s_L, s_G, c, Delta of the pooled setting "
                           "into the two-estimator MSE gives the directly expanded "
                           "E[(theta_a - theta)^2].",
                 assumptions=pos, claim=identity(dinc["mse"], incl.expected_mse(a)),
                 routes=("symbolic", "smt", "rational"), points="assumptions"),
        _theorem(name="known_global_random_bias_shrinkage", source=sec2, derivation="settings",
                 statement="With a known global mean (s_G = 0) and a random bias with "
                           "E[Delta^2] = tau^2, a* = s_L / (s_L + tau^2), the Bayes / BLUP "
                           "shrinkage factor.",
                 assumptions=_positivity((n[0], v[0], S.tau)),
                 claim=identity(known["optimal_weight"], sl / (sl + S.tau**2)),
                 routes=("symbolic", "smt", "rational"), points="assumptions"),
        _theorem(name="dk_coarse_optimum_is_core_weight", source=sec2dk, derivation="settings",
                 statement="Donahue-Kleinberg's coarse-grained optimum is R2 with the pooled "
                           "model's covariance: 1 - w* = a* (three players, symbolic).",
                 assumptions=_positivity((*dk_n, S.sigma, S.mu_e)),
                 claim=identity(1 - dk["coarse_optimal_w"], dk["pooled_optimal_weight"]),
                 routes=("symbolic", "smt", "rational"), points="assumptions"),
        _theorem(name="dk_two_players_fine_is_core_independent", source=sec2dk,
                 derivation="settings",
                 statement="With two players, the optimal fine-grained weight on the other "
                           "player is the independent a* (R7) with "
                           "Delta^2 = E[(mu_k - mu_j)^2] = 2 sigma^2.",
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
    return [
        _theorem(name="nestimators_K1_is_core_weight", source=sec3, derivation="nestimators",
                 statement="With two estimators (L unbiased, G with bias Delta, covariance c) "
                           "the N-estimator optimum puts weight a* (R2) on G.",
                 assumptions=hyp,
                 claim=identity(n1c["weight_1"].subs(to_core), core["optimal_weight"]),
                 variables=(s_L, s_G, Delta, c), routes=("symbolic", "smt", "rational")),
        _theorem(name="nestimators_K1_is_core_min_mse", source=sec3, derivation="nestimators",
                 statement="With two estimators the N-estimator minimum MSE is the core "
                           "MSE(a*) (R3).",
                 assumptions=hyp,
                 claim=identity(n1c["min_mse"].subs(to_core), s_L - (s_L - c) ** 2 / D),
                 variables=(s_L, s_G, Delta, c), routes=("symbolic", "smt", "rational")),
        *[_theorem(name=f"nestimators_first_order_condition_{i}", source=sec3,
                   derivation="nestimators",
                   statement=f"The optimal weights satisfy the first-order condition (M w*)_{i} "
                             "= MSE(w*) (three independent estimators, M = diag(s) + b b').",
                   assumptions=pos2, claim=identity((M2 * w2)[i], n2["min_mse"]),
                   routes=("symbolic", "smt", "rational"), points="assumptions")
          for i in range(3)],
        _theorem(name="nestimators_weights_sum_to_one", source=sec3, derivation="nestimators",
                 statement="The optimal weights are affine: they sum to 1.",
                 assumptions=pos2, claim=identity(sum(w2), 1),
                 routes=("symbolic", "smt", "rational"), points="assumptions"),
        _theorem(name="nestimators_min_mse_closed_form", source=sec3, derivation="nestimators",
                 statement="MSE(w*) = 1 / (1' M^{-1} 1) (three independent estimators).",
                 assumptions=pos2,
                 claim=identity(n2["min_mse"], 1 / (one.T * M2.inv() * one)[0, 0]),
                 routes=("symbolic", "smt", "rational"), points="assumptions"),
        _theorem(name="nestimators_adding_estimator_never_hurts", source=sec3,
                 derivation="nestimators",
                 statement="Adding a third estimator never raises the optimal MSE.",
                 assumptions=pos2, claim=sp.Le(n2["min_mse"], n1["min_mse"]),
                 routes=("smt", "rational"), points="assumptions",
                 # deliberately false: adding an estimator always strictly lowers the MSE
                 false_variant=(pos2, sp.Lt(n2["min_mse"], n1["min_mse"]))),
    ]


def _simplex_theorems() -> list[Theorem]:
    """The simplex-constrained optimum of two estimators (MATH.md section 3)."""
    s1, _b1, _ = ne.estimator_symbols(1)
    n1, sx1 = ne.symbolic(1), ne.symbolic_simplex(1)
    return [
        _theorem(name="simplex_K1_is_clipped_weight", source="MATH.md sec. 3",
                 derivation="nestimators",
                 statement="With two estimators the simplex-constrained optimum is the "
                           "unconstrained optimal weight clipped to [0, 1].",
                 assumptions=_positivity(s1),
                 claim=identity(sx1["weight_1"], sp.Min(sp.Max(n1["weight_1"], 0), 1)),
                 routes=("rational",), points="assumptions"),
        _theorem(name="simplex_never_beats_affine", source="MATH.md sec. 3",
                 derivation="nestimators",
                 statement="The simplex-constrained optimum is never better than the affine "
                           "one, and it is attained by non-negative weights (two estimators).",
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
    return [
        _theorem(name="multivariate_scalar_weight_traces", source="MATH.md sec. 4",
                 derivation="multivariate",
                 statement="For theta in R^2 the optimal scalar weight is a* (R2) with s_L, "
                           "s_G, c, Delta^2 replaced by tr S_L, tr S_G, tr C, |Delta|^2.",
                 assumptions=(sp.Gt(M[0, 0], 0), sp.Gt(M.det(), 0)),
                 claim=identity(sc["optimal_weight"],
                                two_estimator()["optimal_weight"].subs(traces)),
                 routes=("symbolic", "smt", "rational"), points="multivariate"),
        _theorem(name="multivariate_scalar_mse_traces", source="MATH.md sec. 4",
                 derivation="multivariate",
                 statement="For theta in R^2 the MSE of the scalar-weighted average is R1 with "
                           "traces.",
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
    return [
        *[_theorem(name=f"matrix_weight_closed_form_{k + 1}{j + 1}", source=sec4,
                   derivation="multivariate",
                   statement=f"Entry ({k + 1},{j + 1}) of the optimal matrix weight is that of "
                             "(S_L - C) M^{-1}, M = S_L + S_G - C - C' + Delta Delta' (d = 2; "
                             "stated with S_G eliminated in favour of M).",
                   assumptions=hyp,
                   claim=identity(in_M(mw["optimal_weight"][k, j]), A_ref[k, j]),
                   routes=("symbolic", "smt", "rational"), points="multivariate")
          for k in range(2) for j in range(2)],
        _theorem(name="matrix_weight_min_mse", source=sec4, derivation="multivariate",
                 statement="MSE(A*) = tr S_L - tr((S_L - C) M^{-1} (S_L - C)') (d = 2; S_G "
                           "eliminated in favour of M).",
                 assumptions=hyp,
                 claim=identity(min_mse, SL.trace() - (R * Ms.inv() * R.T).trace()),
                 routes=("symbolic", "smt", "rational"), points="multivariate"),
        _theorem(name="matrix_weight_beats_scalar", source=sec4, derivation="multivariate",
                 statement="The optimal matrix weight is never worse than the optimal scalar "
                           "weight (d = 2): MSE(A*) <= MSE(a*).",
                 assumptions=hyp,
                 claim=sp.Le(min_mse, in_M(mv.symbolic_scalar_weight(2)["min_mse"])),
                 routes=("smt", "rational"), points="multivariate"),
    ]
