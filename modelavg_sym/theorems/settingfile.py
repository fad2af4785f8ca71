"""The core theorems instantiated for one setting (a setting file's).

For a :class:`~modelavg_sym.derive.settings.Setting` with derived s_L, s_G, c and Delta
(E[Delta^2]), the claims of MATH.md section 1 become claims about the setting's own
parameters, under its assumptions (the symbols' signs and the file's relations):

* ``mse_by_substitution``: the two-estimator MSE(a) with the derived moments substituted
  equals E[(theta_a - theta)^2] expanded directly from the population (identity; also
  the Monte Carlo route when the file names a point to simulate);
* ``positive_weight_iff_local_variance`` (R7): a* > 0 iff s_L > 0 -- a strictly positive
  beneficial weight exists exactly when the local model has variance.  Proved for every
  independent global model; a global model correlated with the local one can break it
  (c > s_L makes a* < 0), and the routes then return the counterexample;
* ``optimal_weight_in_unit_interval`` (R7): 0 <= a* <= 1, claimed when c = 0 identically
  or when the file's ``[claims] unit_interval`` asks for it;
* ``optimum_beats_both`` (R3, R9): MSE(a*) <= MSE(0) and MSE(a*) <= MSE(1);
* ``global_beats_local_iff_weight_above_half`` (R9): MSE(1) < MSE(0) iff a* > 1/2;
* ``candidates_never_hurt`` (MATH.md sec. 3), when the file lists candidate estimators:
  the best affine combination of all of them is never worse than MSE(a*);
* ``presentation_setting_<name>``: every form on the setting's page equals the derived
  value (symbolic route).

Names are ``setting_<name>_<claim>``.  Each theorem's sampler draws the setting's
parameters by construction (:func:`modelavg_sym.verify.strategies.setting_params`).
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from modelavg_sym.derive.core import Derivation
from modelavg_sym.derive.display import A_STAR, MSE, THETA_A, Expect, Iff
from modelavg_sym.derive.presentation import Name
from modelavg_sym.derive.settings import Setting
from modelavg_sym.symbols import a, s_L, theta
from modelavg_sym.theorems.base import SettingSweep, Theorem, identity, shown, validate
from modelavg_sym.theorems.presentation import display_pairs

__all__ = ["setting_assumptions", "theorems"]

_HALF = sp.Rational(1, 2)
#: The minimum over all the estimators' affine combinations, as shown.
MIN_ALL = shown(r"\operatorname{MSE}(w^{*})")


def setting_assumptions(setting: Setting) -> tuple[sp.Basic, ...]:
    """The setting's assumptions as relations: x > 0 for its positive symbols, x >= 0 for
    its nonnegative ones (sorted by name), then the file's relations."""
    out: list[sp.Basic] = []
    for s in setting.symbols():
        if s.is_positive:
            out.append(sp.Gt(s, 0, evaluate=False))
        elif s.is_nonnegative:
            out.append(sp.Ge(s, 0, evaluate=False))
    return (*out, *setting.assumptions)


def _gt(x: sp.Expr, y: sp.Expr) -> sp.Basic:
    return sp.Gt(x, y, evaluate=False)


def _le(x: sp.Expr, y: sp.Expr) -> sp.Basic:
    return sp.Le(x, y, evaluate=False)


def _variables(*exprs: sp.Basic) -> tuple[sp.Symbol, ...]:
    free: set[sp.Symbol] = set()
    for e in exprs:
        free |= e.free_symbols
    return tuple(sorted(free, key=str))


def theorems(setting: Setting, d: Derivation) -> list[Theorem]:
    """The setting's theorems (its derivation ``d``, carrying its presentation), in page
    order, presentation theorem last."""
    hyp = setting_assumptions(setting)
    pref = d.name
    a_star, min_mse = d["optimal_weight"], d["min_mse"]
    m0, m1, s_loc = d["mse_local"], d["mse_global"], d["var_local"]

    samplers: dict[tuple[sp.Symbol, ...], Any] = {}

    def sampler(extra: tuple[sp.Symbol, ...] = ()) -> Any:
        # one function per ``extra``: theorems with the same sampler draw the same points,
        # which the rational route checks them at in one run (``rational.check_many``)
        if extra not in samplers:
            samplers[extra] = lambda strategies: strategies.setting_params(setting,
                                                                           extra=extra)
        return samplers[extra]

    mc = setting.options.get("montecarlo", {}) if setting.options else {}
    point = mc.get("point") if isinstance(mc, dict) else None
    direct = setting.expected_mse(a)
    subst = identity(d["mse"], direct)
    shown_direct = Expect((THETA_A - theta) ** 2)
    out = [
        Theorem(name=f"{pref}_mse_by_substitution", source="MATH.md sec. 2", derivation=pref,
                statement="Substituting the derived $<s_L>$, $<s_G>$, $<c>$ and "
                          "$<Delta>$ into the two-estimator mean squared error gives the "
                          "mean squared error expanded directly from the setting.",
                display=identity(MSE(a), shown_direct),
                names=(Name(shown_direct, direct),),
                assumptions=hyp, claim=subst, variables=_variables(subst, *hyp),
                routes=("symbolic", "smt", "rational", *(("montecarlo",) if point else ())),
                sampler=sampler((a,)),
                montecarlo=SettingSweep(setting, dict(point), str(mc.get(
                    "distribution", "exponential(scale=1)")), (0.0, 0.5, 1.0, 1.5),
                    mc.get("replications")) if point else None),
    ]
    iff = sp.Equivalent(_gt(a_star, 0), _gt(s_loc, 0), evaluate=False)
    out.append(Theorem(
        name=f"{pref}_positive_weight_iff_local_variance", source="R7, R10", derivation=pref,
        statement="A strictly positive weight on the global model helps, $<a>^{*} > 0$, if "
                  "and only if the local model has variance, $<s_L> > 0$.",
        display=Iff(_gt(A_STAR, 0), _gt(s_L, 0)),
        assumptions=hyp, claim=iff, variables=_variables(iff, *hyp),
        routes=("smt", "rational"), sampler=sampler(),
        false_variant=(hyp, sp.Equivalent(_gt(a_star, _HALF), _gt(s_loc, 0),
                                          evaluate=False))))
    claims = setting.options.get("claims", {}) if setting.options else {}
    if setting.cov == 0 or (isinstance(claims, dict) and claims.get("unit_interval")):
        unit = sp.And(sp.Ge(a_star, 0, evaluate=False), _le(a_star, 1), evaluate=False)
        out.append(Theorem(
            name=f"{pref}_optimal_weight_in_unit_interval", source="R7", derivation=pref,
            statement="The optimal weight lies in $[0, 1]$.",
            display=sp.And(sp.Ge(A_STAR, 0, evaluate=False), _le(A_STAR, 1), evaluate=False),
            assumptions=hyp, claim=unit, variables=_variables(unit, *hyp),
            routes=("smt", "rational"), sampler=sampler(),
            false_variant=(hyp, sp.And(sp.Ge(a_star, 0, evaluate=False), _le(a_star, _HALF),
                                       evaluate=False))))
    both = sp.And(_le(min_mse, m0), _le(min_mse, m1), evaluate=False)
    out.append(Theorem(
        name=f"{pref}_optimum_beats_both", source="R3, R9", derivation=pref,
        statement="The optimal average is never worse than the local or the global model.",
        display=sp.And(_le(MSE(A_STAR), MSE(0)), _le(MSE(A_STAR), MSE(1)), evaluate=False),
        assumptions=hyp, claim=both, variables=_variables(both, *hyp),
        routes=("smt", "rational"), sampler=sampler(),
        false_variant=(hyp, sp.And(_le(min_mse, m0 / 2), _le(min_mse, m1), evaluate=False))))
    glob = sp.Equivalent(sp.Lt(m1, m0, evaluate=False), _gt(a_star, _HALF), evaluate=False)
    out.append(Theorem(
        name=f"{pref}_global_beats_local_iff_weight_above_half", source="R9", derivation=pref,
        statement="The global model beats the local one if and only if "
                  "$<a>^{*} > 1/2$.",
        display=Iff(sp.Lt(MSE(1), MSE(0), evaluate=False), _gt(A_STAR, _HALF)),
        assumptions=hyp, claim=glob, variables=_variables(glob, *hyp),
        routes=("smt", "rational"), sampler=sampler(),
        false_variant=(hyp, sp.Equivalent(sp.Lt(m1, m0, evaluate=False),
                                          _gt(a_star, sp.Rational(1, 3)), evaluate=False))))
    if "nestimators_min_mse" in d.results:
        better = _le(d["nestimators_min_mse"], min_mse)
        out.append(Theorem(
            name=f"{pref}_candidates_never_hurt", source="MATH.md sec. 3", derivation=pref,
            statement="Averaging over every candidate estimator is never worse than the "
                      "optimal average of the local and global models.",
            display=_le(MIN_ALL, MSE(A_STAR)),
            names=(Name(MIN_ALL, d["nestimators_min_mse"]),),
            assumptions=hyp, claim=better, variables=_variables(better, *hyp),
            routes=("smt", "rational"), sampler=sampler(),
            false_variant=(hyp, sp.Lt(d["nestimators_min_mse"], min_mse, evaluate=False))))
    out = [validate(t) for t in out]
    return [*out, presentation_theorem(d, out)]


def presentation_theorem(d: Derivation, results: list[Theorem]) -> Theorem:
    """``presentation_<derivation>``: the page's forms and the theorems' displays equal the
    derived values and claims (as :mod:`modelavg_sym.theorems.presentation` does for the
    catalog's derivations)."""
    assert d.presentation is not None
    pres: Any = d.presentation()
    pairs = pres.pairs(d.results, [s.rhs for s in d.steps])
    for t in results:
        pairs += display_pairs(t, pres.names)
    shown = sp.ImmutableMatrix([x for _l, x, _y in pairs])
    derived = sp.ImmutableMatrix([y for _l, _x, y in pairs])
    claim = sp.Eq(shown, derived, evaluate=False)
    free = set().union(claim.free_symbols, *(x.free_symbols for x in d.assumptions))
    return Theorem(name=f"presentation_{d.name}",
                   statement=f"Each of the {len(pairs)} forms and claims shown for this "
                             "setting equals what was derived.",
                   assumptions=d.assumptions, claim=claim,
                   variables=tuple(sorted(free, key=str)), routes=("symbolic",),
                   derivation=d.name, kind="presentation")

