"""Theorems of the settings engine, the N-estimator and the multivariate derivations
(MATH.md sections 2-4), registered with :func:`modelavg_sym.theorems.register`.

Claims are built from derived expressions; the closed forms on their right-hand sides
are MATH.md's statements, checked by the routes.  Routes are listed honestly (every
theorem in the real-algebraic fragment also goes through the SMT route; the two simplex
theorems use Min/Max of a Piecewise optimum, outside it):
identities go through ``symbolic`` and ``rational``; inequalities over many symbols
through ``rational`` only (no SMT encoding here).  ``RATIONAL_SAMPLERS`` tells the
rational route how to draw the new symbols (lazily, so importing this module does not
import hypothesis).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp

from modelavg_sym.derive import multivariate as mv
from modelavg_sym.derive import nestimators as ne
from modelavg_sym.derive import settings as S
from modelavg_sym.derive.core import Derivation, Step, independent
from modelavg_sym.symbols import Delta, a, base_assumptions, c, s_G, s_L
from modelavg_sym.theorems import A_STAR, D, Theorem, register

_THEOREMS: list[Theorem] = []
RATIONAL_SAMPLERS: dict[str, Callable[[], Any]] = {}


def _eq(lhs: sp.Expr, rhs: sp.Expr) -> sp.Equality:
    return sp.Eq(lhs, rhs, evaluate=False)


def _vars(*exprs: sp.Basic) -> tuple[sp.Symbol, ...]:
    free = set().union(*(e.free_symbols for e in exprs))
    return tuple(sorted(free, key=str))


def _add(sampler: str | None = None, **kw: Any) -> None:
    if "variables" not in kw:
        kw["variables"] = _vars(kw["claim"], *kw.get("assumptions", ()))
    thm = Theorem(**kw)
    _THEOREMS.append(thm)
    if sampler == "assumptions":
        variables = thm.variables
        RATIONAL_SAMPLERS[thm.name] = lambda: _strategies().assumption_points(variables)
    elif sampler == "multivariate":
        RATIONAL_SAMPLERS[thm.name] = lambda: _strategies().multivariate_points(2)


def _strategies() -> Any:
    from modelavg_sym.verify import strategies_settings

    return strategies_settings


def _positivity(vs: tuple[sp.Symbol, ...]) -> tuple[sp.Basic, ...]:
    return tuple(sp.Gt(v, 0) for v in vs if v.is_positive)


# --------------------------------------------------------------------------- settings

_n, _v, _m = S.node_symbols(2)
_inc = S.pooled_with_local(_n, _v, _m)
_exc = S.other_nodes(_n, _v, _m)
_dinc, _dexc = _inc.derivation(), _exc.derivation()
_share = _n[0] / sum(_n)
_pos = _positivity((*_n, *_v))

_add(name="pooled_with_local_same_min_mse", source="MATH.md sec. 2", derivation="settings",
     statement="Including the local node's data in the pooled global model does not change "
               "the optimal MSE: MSE*_incl = MSE*_excl (three nodes, symbolic).",
     assumptions=_pos, claim=_eq(_dinc["min_mse"], _dexc["min_mse"]),
     routes=("symbolic", "smt", "rational"), sampler="assumptions")
_add(name="pooled_with_local_weight_rescaled", source="MATH.md sec. 2", derivation="settings",
     statement="With the local data pooled in, the optimal weight is rescaled: "
               "a*_incl = a*_excl / (1 - w) with w = n_0 / sum n_i.",
     assumptions=_pos, claim=_eq(_dinc["optimal_weight"], _dexc["optimal_weight"] / (1 - _share)),
     routes=("symbolic", "smt", "rational"), sampler="assumptions")
_add(name="setting_mse_by_substitution", source="MATH.md sec. 2", derivation="settings",
     statement="Substituting the derived s_L, s_G, c, Delta of the pooled setting into the "
               "two-estimator MSE gives the directly expanded E[(theta_a - theta)^2].",
     assumptions=_pos, claim=_eq(_dinc["mse"], _inc.expected_mse(a)),
     routes=("symbolic", "smt", "rational"), sampler="assumptions")

_kg = S.known_global_random_bias(_n[0], _v[0])
_sl = _v[0] / _n[0]
_add(name="known_global_random_bias_shrinkage", source="MATH.md sec. 2", derivation="settings",
     statement="With a known global mean (s_G = 0) and a random bias with E[Delta^2] = tau^2, "
               "a* = s_L / (s_L + tau^2), the Bayes / BLUP shrinkage factor.",
     assumptions=_positivity((_n[0], _v[0], S.tau)),
     claim=_eq(_kg.derivation()["optimal_weight"], _sl / (_sl + S.tau**2)),
     routes=("symbolic", "smt", "rational"), sampler="assumptions")

_dk_n = sp.symbols("n_0:3", positive=True)
_dk = S.donahue_kleinberg(_dk_n)
_add(name="dk_coarse_optimum_is_core_weight", source="MATH.md sec. 2 (Donahue-Kleinberg)",
     derivation="settings",
     statement="Donahue-Kleinberg's coarse-grained optimum is R2 with the pooled model's "
               "covariance: 1 - w* = a* (three players, symbolic).",
     assumptions=_positivity((*_dk_n, S.sigma, S.mu_e)),
     claim=_eq(1 - _dk["coarse_optimal_w"], _dk["pooled_optimal_weight"]),
     routes=("symbolic", "smt", "rational"), sampler="assumptions")
_dk2_n = sp.symbols("n_0:2", positive=True)
_dk2 = S.donahue_kleinberg(_dk2_n)
_add(name="dk_two_players_fine_is_core_independent", source="MATH.md sec. 2 (Donahue-Kleinberg)",
     derivation="settings",
     statement="With two players, the optimal fine-grained weight on the other player is the "
               "independent a* (R7) with Delta^2 = E[(mu_k - mu_j)^2] = 2 sigma^2.",
     assumptions=_positivity((*_dk2_n, S.sigma, S.mu_e)),
     claim=_eq(_dk2["fine_weight_1"], independent()["optimal_weight"].subs(
         {s_L: S.mu_e / _dk2_n[0], s_G: S.mu_e / _dk2_n[1], Delta: sp.sqrt(2) * S.sigma})),
     routes=("symbolic", "smt", "rational"), sampler="assumptions")

# --------------------------------------------------------------------------- N estimators

_s1, _b1, _ = ne.estimator_symbols(1)
_n1c = ne.symbolic(1, independent=False)
_core_sub = {_s1[0]: s_L, _s1[1]: s_G, _b1[0]: 0, _b1[1]: Delta}
_BASE = (*base_assumptions(), sp.Gt(D, 0))
_add(name="nestimators_K1_is_core_weight", source="MATH.md sec. 3", derivation="nestimators",
     statement="With two estimators (L unbiased, G with bias Delta, covariance c) the "
               "N-estimator optimum puts weight a* (R2) on G.",
     assumptions=_BASE, claim=_eq(_n1c["weight_1"].subs(_core_sub), A_STAR),
     variables=(s_L, s_G, Delta, c), routes=("symbolic", "smt", "rational"))
_add(name="nestimators_K1_is_core_min_mse", source="MATH.md sec. 3", derivation="nestimators",
     statement="With two estimators the N-estimator minimum MSE is the core MSE(a*) (R3).",
     assumptions=_BASE, claim=_eq(_n1c["min_mse"].subs(_core_sub), s_L - (s_L - c) ** 2 / D),
     variables=(s_L, s_G, Delta, c), routes=("symbolic", "smt", "rational"))

_s2, _b2, _ = ne.estimator_symbols(2)
_n2 = ne.symbolic(2)
_M2 = sp.diag(*_s2) + sp.Matrix(_b2) * sp.Matrix(_b2).T
_w2 = sp.Matrix([_n2[f"weight_{i}"] for i in range(3)])
_pos2 = _positivity(_s2)
for _i in range(3):
    _add(name=f"nestimators_first_order_condition_{_i}", source="MATH.md sec. 3",
         derivation="nestimators",
         statement=f"The optimal weights satisfy the first-order condition (M w*)_{_i} = "
                   "MSE(w*) (three independent estimators, M = diag(s) + b b').",
         assumptions=_pos2, claim=_eq((_M2 * _w2)[_i], _n2["min_mse"]),
         routes=("symbolic", "smt", "rational"), sampler="assumptions")
_add(name="nestimators_weights_sum_to_one", source="MATH.md sec. 3", derivation="nestimators",
     statement="The optimal weights are affine: they sum to 1.",
     assumptions=_pos2, claim=_eq(sum(_w2), 1), routes=("symbolic", "smt", "rational"),
     sampler="assumptions")
_one = sp.ones(3, 1)
_add(name="nestimators_min_mse_closed_form", source="MATH.md sec. 3", derivation="nestimators",
     statement="MSE(w*) = 1 / (1' M^{-1} 1) (three independent estimators).",
     assumptions=_pos2, claim=_eq(_n2["min_mse"], 1 / (_one.T * _M2.inv() * _one)[0, 0]),
     routes=("symbolic", "smt", "rational"), sampler="assumptions")
_n1 = ne.symbolic(1)
_add(name="nestimators_adding_estimator_never_hurts", source="MATH.md sec. 3",
     derivation="nestimators",
     statement="Adding a third estimator never raises the optimal MSE.",
     assumptions=_pos2, claim=sp.Le(_n2["min_mse"], _n1["min_mse"]),
     routes=("smt", "rational"), sampler="assumptions",
     # deliberately false: adding an estimator always strictly lowers the optimal MSE
     false_variant=(_pos2, sp.Lt(_n2["min_mse"], _n1["min_mse"])))

_sx1 = ne.symbolic_simplex(1)
_add(name="simplex_K1_is_clipped_weight", source="MATH.md sec. 3", derivation="nestimators",
     statement="With two estimators the simplex-constrained optimum is the unconstrained "
               "optimal weight clipped to [0, 1].",
     assumptions=_positivity(_s1),
     claim=_eq(_sx1["weight_1"], sp.Min(sp.Max(_n1["weight_1"], 0), 1)),
     routes=("rational",), sampler="assumptions")
_add(name="simplex_never_beats_affine", source="MATH.md sec. 3", derivation="nestimators",
     statement="The simplex-constrained optimum is never better than the affine one, and "
               "it is attained by non-negative weights (two estimators).",
     assumptions=_positivity(_s1),
     claim=sp.And(sp.Ge(_sx1["min_mse"], _n1["min_mse"]),
                  *[sp.Ge(_sx1[f"weight_{i}"], 0) for i in range(2)]),
     routes=("rational",), sampler="assumptions")

# --------------------------------------------------------------------------- multivariate

_SL, _SG, _C, _Dv = mv.symbolic_matrices(2)
_trsub = {s_L: _SL.trace(), s_G: _SG.trace(), c: _C.trace(),
          Delta: sp.sqrt((_Dv.T * _Dv)[0, 0])}
_Mmat = _SL + _SG - _C - _C.T + _Dv * _Dv.T
_mv_asm = (sp.Gt(_Mmat[0, 0], 0), sp.Gt(_Mmat.det(), 0))
_sc = mv.symbolic_scalar_weight(2)
_add(name="multivariate_scalar_weight_traces", source="MATH.md sec. 4", derivation="multivariate",
     statement="For theta in R^2 the optimal scalar weight is a* (R2) with s_L, s_G, c, "
               "Delta^2 replaced by tr S_L, tr S_G, tr C, |Delta|^2.",
     assumptions=_mv_asm, claim=_eq(_sc["optimal_weight"], A_STAR.subs(_trsub)),
     routes=("symbolic", "smt", "rational"), sampler="multivariate")
_add(name="multivariate_scalar_mse_traces", source="MATH.md sec. 4", derivation="multivariate",
     statement="For theta in R^2 the MSE of the scalar-weighted average is R1 with traces.",
     assumptions=(), claim=_eq(_sc["mse"], (1 - a) ** 2 * _trsub[s_L]
                                + a**2 * (_trsub[s_G] + _trsub[Delta] ** 2)
                                + 2 * a * (1 - a) * _trsub[c]),
     routes=("symbolic", "smt", "rational"), sampler="multivariate")
_mw = mv.symbolic_matrix_weight(2)
# The matrix-weight theorems are stated in the coordinates (S_L, C, Delta, M) with
# S_G = M - S_L + C + C' - Delta Delta' (a bijective change of variables), which keeps
# the derived expressions short enough to display.
_Ms = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"M_{min(i, j) + 1}{max(i, j) + 1}", real=True))
_SG_of_M = _Ms - _SL + _C + _C.T - _Dv * _Dv.T
_to_M = {_SG[i, j]: _SG_of_M[i, j] for i in range(2) for j in range(i, 2)}


def _in_M(e: sp.Expr) -> sp.Expr:
    return sp.factor(sp.cancel(e.subs(_to_M, simultaneous=True)))


_mv_asm_M = (sp.Gt(_Ms[0, 0], 0), sp.Gt(_Ms.det(), 0))
_R = _SL - _C
_Astar_ref = _R * _Ms.inv()
for _k in range(2):
    for _l in range(2):
        _add(name=f"matrix_weight_closed_form_{_k + 1}{_l + 1}", source="MATH.md sec. 4",
             derivation="multivariate",
             statement=f"Entry ({_k + 1},{_l + 1}) of the optimal matrix weight is that of "
                       "(S_L - C) M^{-1}, M = S_L + S_G - C - C' + Delta Delta' (d = 2; "
                       "stated with S_G eliminated in favour of M).",
             assumptions=_mv_asm_M,
             claim=_eq(_in_M(_mw["optimal_weight"][_k, _l]), _Astar_ref[_k, _l]),
             routes=("symbolic", "smt", "rational"), sampler="multivariate")
_mw_min_M = _in_M(_mw["min_mse"])
_add(name="matrix_weight_min_mse", source="MATH.md sec. 4", derivation="multivariate",
     statement="MSE(A*) = tr S_L - tr((S_L - C) M^{-1} (S_L - C)') (d = 2; S_G eliminated "
               "in favour of M).",
     assumptions=_mv_asm_M,
     claim=_eq(_mw_min_M, _SL.trace() - (_R * _Ms.inv() * _R.T).trace()),
     routes=("symbolic", "smt", "rational"), sampler="multivariate")
_add(name="matrix_weight_beats_scalar", source="MATH.md sec. 4", derivation="multivariate",
     statement="The optimal matrix weight is never worse than the optimal scalar weight "
               "(d = 2): MSE(A*) <= MSE(a*).",
     assumptions=_mv_asm_M, claim=sp.Le(_mw_min_M, _in_M(_sc["min_mse"])),
     routes=("smt", "rational"), sampler="multivariate")

for _thm in _THEOREMS:
    register(_thm)


# --------------------------------------------------------------------------- report pages


def _merged(name: str, title: str, parts: list[tuple[str, Derivation]]) -> Derivation:
    """One page per theorem group: the scalar results and steps of several derivations
    (matrix-valued results stay in the Python API; the page shows their entries' theorems)."""
    results: dict[str, sp.Basic] = {}
    steps: list[Step] = []
    for prefix, d in parts:
        for key, val in d.results.items():
            if isinstance(val, sp.Expr) and not isinstance(val, sp.MatrixBase):
                results[f"{prefix}_{key}"] = val
        steps += [s for s in d.steps if not isinstance(s.rhs, sp.MatrixBase)]
    return Derivation(name=name, title=title, results=results, steps=tuple(steps))


def settings_derivation() -> Derivation:
    """Settings engine: moments of the pooled / other-node / known-global-mean models."""
    return _merged("settings", "Settings: s_L, s_G, c and Delta derived from node data "
                   "(two other nodes; pooled with and without the local node)",
                   [("excl", _exc.derivation()), ("incl", _inc.derivation())])


def nestimators_derivation() -> Derivation:
    """N estimators: the best affine combination for K = 1 and K = 2 (independent)."""
    return _merged("nestimators", "N estimators: best affine combination (K = 1, 2; "
                   "independent estimators)", [("K1", _n1), ("K2", _n2)])


def multivariate_derivation() -> Derivation:
    """Multivariate parameters (d = 2): the scalar weight with traces."""
    return _merged("multivariate", "Multivariate parameters (d = 2): scalar weight with "
                   "traces", [("scalar", _sc)])


try:  # the report pages pick up registered derivations
    from modelavg_sym.artifacts import register_derivation
except ImportError:  # pragma: no cover - artifacts is optional for the maths
    pass
else:
    for _fn in (settings_derivation, nestimators_derivation, multivariate_derivation):
        register_derivation(_fn)
