"""Theorems about estimated weights (MATH.md section 5), from
:func:`modelavg_sym.derive.estimated.estimated_weights`.

Besides the claims, each theorem carries what its routes need beyond the core symbols:

* ``sampler``: exact points for the rational route that also draw the weight's bias ``m``
  and mean squared error ``q >= m^2`` (half the time ``q = (r a*)^2``, hitting the
  boundary ``q = a*^2`` exactly), or the unclipped estimate ``u`` of Delta^2;
* ``montecarlo``: a per-replication statistic with mean 0 when the claim holds.  The
  weight ``a_hat = s_L / D(Delta -> G' - L')`` (D derived; the unknown Delta^2 replaced
  by the naive plug-in from a *second*, independent sample (L', G'), so a_hat is
  independent of (L, G); any such weight would do) gives

      err^2 - risk(q = (a_hat - a*)^2),      err = (1 - a_hat) L + a_hat G - theta,

  of mean 0 if E[(theta_{a_hat} - theta)^2 | a_hat] = MSE(a*) + D (a_hat - a*)^2, which
  averages to the theorem (``risk`` is the claim's own right-hand side); likewise
  (G - L)^2 - E[(G - L)^2] for the naive Delta^2 plug-in.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from types import ModuleType
from typing import Any

import numpy as np
import sympy as sp

from modelavg_sym.derive.core import two_estimator
from modelavg_sym.derive.display import A_HAT, A_STAR, MSE, THETA_AHAT, B, Expect, Iff
from modelavg_sym.derive.display import D as D_
from modelavg_sym.derive.display import G as G_
from modelavg_sym.derive.display import L as L_
from modelavg_sym.derive.estimated import CLIPPED, estimated_weights, m, q, u
from modelavg_sym.derive.pageforms import E_G, E_L
from modelavg_sym.symbols import Delta, base_assumptions, c, s_G, s_L, theta
from modelavg_sym.theorems.base import Array, ReplicationCheck, Replications, Theorem

_VARS = (s_L, s_G, Delta, c, m, q)
#: What the claims show unevaluated: the risk, the weight's error, the naive plug-in.
RISK = Expect((THETA_AHAT - theta) ** 2)
WEIGHT_ERROR = Expect((A_HAT - A_STAR) ** 2)
GAP = Expect((G_ - L_) ** 2)
#: The arguments of the predicted formulas of the Monte Carlo checks.
_MC_ARGS = (s_L, s_G, Delta, c, q)


def theorems() -> list[Theorem]:
    """The estimated-weight theorems, in report order."""
    return [*_risk_theorems(), *_delta_sq_theorems()]


def _weight_error_points(strategies: ModuleType) -> Any:
    a_star = estimated_weights()["a_star"]
    return strategies.weight_error_points(a_star, m, q)


def _clip_points(strategies: ModuleType) -> Any:
    return strategies.points_with_rationals(u)


# --------------------------------------------------------------------------- Monte Carlo

@cache
def _numeric() -> tuple[Callable[..., Any], Callable[..., Any]]:
    """numpy functions of (s_L, s_G, Delta, c): the derived D and the derived bias
    s_L + s_G - 2c of the naive plug-in (G - L)^2."""
    args = (s_L, s_G, Delta, c)
    e = estimated_weights()
    return (sp.lambdify(args, e["D"], modules="numpy"),
            sp.lambdify(args, e["naive_delta_sq_bias"], modules="numpy"))


def _estimated_weight(data: Replications) -> Array:
    """a_hat = s_L / D with Delta^2 replaced by (G' - L')^2 of the independent sample."""
    sl, sg, _bias, cv = data.params
    if not sl > 0:
        return np.zeros_like(data.L2)
    return sl / _numeric()[0](sl, sg, data.G2 - data.L2, cv)


def _weighted_error_sq(data: Replications) -> tuple[Array, Array]:
    """(err^2, predicted-formula argument q per replication) for the estimated weight."""
    a_hat = _estimated_weight(data)
    err2 = ((1 - a_hat) * data.L + a_hat * data.G - data.theta) ** 2
    return err2, (a_hat - data.optimal_weight) ** 2


def _risk_statistic(predicted: Callable[..., Any], data: Replications) -> Array:
    err2, q_rep = _weighted_error_sq(data)
    return err2 - np.broadcast_to(np.asarray(predicted(*data.params, q_rep), float), err2.shape)


def _benefit_statistic(predicted: Callable[..., Any], data: Replications) -> Array:
    err2, q_rep = _weighted_error_sq(data)
    pred = np.broadcast_to(np.asarray(predicted(*data.params, q_rep), float), err2.shape)
    return (data.L - data.theta) ** 2 - err2 - pred


def _naive_statistic(predicted: Callable[..., Any], data: Replications) -> Array:
    return (data.G - data.L) ** 2 - float(predicted(*data.params, 0.0))


def _unbiased_statistic(predicted: Callable[..., Any], data: Replications) -> Array:
    correction = _numeric()[1](*data.params)
    return (data.G - data.L) ** 2 - correction - float(predicted(*data.params, 0.0))


# --------------------------------------------------------------------------- theorems

def _risk_theorems() -> list[Theorem]:
    """The risk and the expected benefit of a weight estimated on independent data."""
    d, e = two_estimator(), estimated_weights()
    A, D = e["a_star"], e["D"]
    hyp = (*base_assumptions(), sp.Gt(D, 0), sp.Ge(q, m**2))
    return [
        Theorem(name="estimated_weight_risk", source="MATH 5", derivation="estimated_weights",
                statement=r"An estimated weight $\hat{<a>}$ independent of $(L, G)$ adds "
                          "$D$ times its mean squared error to the optimal risk.",
                display=sp.Eq(RISK, MSE(A_STAR) + D_ * WEIGHT_ERROR, evaluate=False),
                assumptions=hyp, claim=sp.Eq(e["risk"], d["min_mse"] + D * q, evaluate=False),
                variables=_VARS, routes=("symbolic", "smt", "rational", "montecarlo"),
                false_variant=(hyp, sp.Eq(e["risk"], d["min_mse"] + q)),
                sampler=_weight_error_points,
                montecarlo=ReplicationCheck(_risk_statistic, _MC_ARGS)),
        Theorem(name="estimated_weight_risk_from_definitions", source="MATH 5",
                derivation="estimated_weights",
                statement=r"Expanding the error $(1 - \hat{<a>}) e_{L} + \hat{<a>}(<Delta> + "
                          r"e_{G})$ and averaging, with $\hat{<a>}$ independent of "
                          r"$(e_{L}, e_{G})$, gives the same risk as averaging "
                          r"$\operatorname{MSE}(\hat{<a>})$ over $\hat{<a>}$.",
                display=sp.Eq(Expect(((1 - A_HAT) * E_L + A_HAT * (Delta + E_G)) ** 2),
                              Expect(MSE(A_HAT)), evaluate=False),
                assumptions=hyp,
                claim=sp.Eq(e["risk_from_definitions"], e["risk"], evaluate=False),
                variables=_VARS, routes=("symbolic", "smt", "rational"),
                false_variant=(hyp, sp.Eq(e["risk_from_definitions"],
                                          d["min_mse"] + D * m**2)),
                sampler=_weight_error_points),
        Theorem(name="estimated_weight_benefit", source="MATH 5",
                derivation="estimated_weights",
                statement="The expected benefit of an independent estimated weight over "
                          "the local model.",
                display=sp.Eq(Expect(B(A_HAT)), D_ * (A_STAR**2 - WEIGHT_ERROR),
                              evaluate=False),
                assumptions=hyp,
                claim=sp.Eq(e["expected_benefit"], D * (A**2 - q), evaluate=False),
                variables=_VARS, routes=("symbolic", "smt", "rational", "montecarlo"),
                false_variant=(hyp, sp.Eq(e["expected_benefit"], D * (A**2 - (q - m**2)))),
                sampler=_weight_error_points,
                montecarlo=ReplicationCheck(_benefit_statistic, _MC_ARGS)),
        Theorem(name="estimated_weight_beneficial_iff", source="MATH 5",
                derivation="estimated_weights",
                statement="For $D > 0$, an independent estimated weight helps on average if "
                          "and only if its mean squared error is below $<a>^{*2}$.",
                display=Iff(Expect(B(A_HAT)) > 0, WEIGHT_ERROR < A_STAR**2),
                assumptions=(*hyp[:-1], sp.Ge(q, 0)),
                claim=sp.Equivalent(e["expected_benefit"] > 0, q < A**2),
                variables=(s_L, s_G, Delta, c, q), routes=("smt", "rational"),
                false_variant=((*hyp[:-1], sp.Ge(q, 0)),
                               sp.Equivalent(e["expected_benefit"] > 0, q < 2 * A**2)),
                sampler=_weight_error_points),
    ]


def _delta_sq_theorems() -> list[Theorem]:
    """The naive plug-in (G - L)^2 of Delta^2, its bias correction and clipping."""
    e = estimated_weights()
    base = tuple(base_assumptions())
    return [
        Theorem(name="naive_delta_sq_bias", source="MATH 5", derivation="estimated_weights",
                statement="The naive plug-in $(G - L)^{2}$ over-estimates $<Delta>^{2}$ by "
                          "$<s_L> + <s_G> - 2<c> \\geq 0$.",
                display=sp.Eq(GAP, Delta**2 + s_L + s_G - 2 * c, evaluate=False),
                assumptions=base, claim=sp.Eq(e["naive_delta_sq_mean"],
                                              Delta**2 + s_L + s_G - 2 * c, evaluate=False),
                variables=(s_L, s_G, Delta, c),
                routes=("symbolic", "smt", "rational", "montecarlo"),
                false_variant=(base, sp.Eq(e["naive_delta_sq_mean"], Delta**2 + s_L + s_G)),
                montecarlo=ReplicationCheck(_naive_statistic, _MC_ARGS)),
        Theorem(name="unbiased_delta_sq", source="MATH 5", derivation="estimated_weights",
                statement="Subtracting the variances makes the plug-in unbiased for "
                          "$<Delta>^{2}$.",
                display=sp.Eq(Expect((G_ - L_) ** 2 - s_L - s_G + 2 * c), Delta**2,
                              evaluate=False),
                assumptions=base,
                claim=sp.Eq(e["unbiased_delta_sq_mean"], Delta**2, evaluate=False),
                variables=(s_L, s_G, Delta, c),
                routes=("symbolic", "smt", "rational", "montecarlo"),
                false_variant=(base, sp.Eq(e["naive_delta_sq_mean"], Delta**2)),
                montecarlo=ReplicationCheck(_unbiased_statistic, _MC_ARGS)),
        Theorem(name="clipping_reduces_error", source="MATH 5", derivation="estimated_weights",
                statement="When clipping an estimate $u$ of $<Delta>^{2}$ at $0$ is active "
                          "($u < 0$), it strictly reduces the squared error.",
                assumptions=(), claim=sp.Implies(u < 0, Delta**4 < (u - Delta**2) ** 2),
                variables=(Delta, u), routes=("smt", "rational"),
                false_variant=((), sp.Implies(u < 1, Delta**4 < (u - Delta**2) ** 2)),
                sampler=_clip_points),
        Theorem(name="clipped_never_worse", source="MATH 5", derivation="estimated_weights",
                statement=r"The clipped estimate $\max(0, u)$ is never further from "
                          "$<Delta>^{2}$ than $u$.",
                assumptions=(), claim=sp.Le((CLIPPED - Delta**2) ** 2, (u - Delta**2) ** 2),
                variables=(Delta, u), routes=("smt", "rational"),
                false_variant=((), sp.Le((sp.Max(1, u) - Delta**2) ** 2, (u - Delta**2) ** 2)),
                sampler=_clip_points),
    ]
