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
from modelavg_sym.derive.estimated import CLIPPED, estimated_weights, m, q, u
from modelavg_sym.symbols import Delta, base_assumptions, c, s_G, s_L
from modelavg_sym.theorems.base import Array, ReplicationCheck, Replications, Theorem

_VARS = (s_L, s_G, Delta, c, m, q)
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
                statement="For an estimated weight a_hat independent of (L, G), "
                          "E[(theta_{a_hat} - theta)^2] = MSE(a*) + D E[(a_hat - a*)^2].",
                assumptions=hyp, claim=sp.Eq(e["risk"], d["min_mse"] + D * q, evaluate=False),
                variables=_VARS, routes=("symbolic", "smt", "rational", "montecarlo"),
                false_variant=(hyp, sp.Eq(e["risk"], d["min_mse"] + q)),
                sampler=_weight_error_points,
                montecarlo=ReplicationCheck(_risk_statistic, _MC_ARGS)),
        Theorem(name="estimated_weight_risk_from_definitions", source="MATH 5",
                derivation="estimated_weights",
                statement="Expanding ((1 - a_hat) e_L + a_hat (Delta + e_G))^2 and averaging "
                          "with a_hat independent of (e_L, e_G) gives the same risk as "
                          "E_a_hat[MSE(a_hat)].",
                assumptions=hyp,
                claim=sp.Eq(e["risk_from_definitions"], e["risk"], evaluate=False),
                variables=_VARS, routes=("symbolic", "smt", "rational"),
                false_variant=(hyp, sp.Eq(e["risk_from_definitions"],
                                          d["min_mse"] + D * m**2)),
                sampler=_weight_error_points),
        Theorem(name="estimated_weight_benefit", source="MATH 5",
                derivation="estimated_weights",
                statement="The expected benefit of an independent estimated weight over the "
                          "local model is D (a*^2 - E[(a_hat - a*)^2]).",
                assumptions=hyp,
                claim=sp.Eq(e["expected_benefit"], D * (A**2 - q), evaluate=False),
                variables=_VARS, routes=("symbolic", "smt", "rational", "montecarlo"),
                false_variant=(hyp, sp.Eq(e["expected_benefit"], D * (A**2 - (q - m**2)))),
                sampler=_weight_error_points,
                montecarlo=ReplicationCheck(_benefit_statistic, _MC_ARGS)),
        Theorem(name="estimated_weight_beneficial_iff", source="MATH 5",
                derivation="estimated_weights",
                statement="For D > 0, an independent estimated weight helps on average "
                          "(positive expected benefit) if and only if its mean squared error "
                          "E[(a_hat - a*)^2] is below a*^2.",
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
                statement="The naive plug-in (G - L)^2 has mean Delta^2 + s_L + s_G - 2c, so it "
                          "over-estimates Delta^2 by s_L + s_G - 2c >= 0.",
                assumptions=base, claim=sp.Eq(e["naive_delta_sq_mean"],
                                              Delta**2 + s_L + s_G - 2 * c, evaluate=False),
                variables=(s_L, s_G, Delta, c),
                routes=("symbolic", "smt", "rational", "montecarlo"),
                false_variant=(base, sp.Eq(e["naive_delta_sq_mean"], Delta**2 + s_L + s_G)),
                montecarlo=ReplicationCheck(_naive_statistic, _MC_ARGS)),
        Theorem(name="unbiased_delta_sq", source="MATH 5", derivation="estimated_weights",
                statement="(G - L)^2 - s_L - s_G + 2c is an unbiased estimate of Delta^2.",
                assumptions=base,
                claim=sp.Eq(e["unbiased_delta_sq_mean"], Delta**2, evaluate=False),
                variables=(s_L, s_G, Delta, c),
                routes=("symbolic", "smt", "rational", "montecarlo"),
                false_variant=(base, sp.Eq(e["naive_delta_sq_mean"], Delta**2)),
                montecarlo=ReplicationCheck(_unbiased_statistic, _MC_ARGS)),
        Theorem(name="clipping_reduces_error", source="MATH 5", derivation="estimated_weights",
                statement="Clipping an estimate u of Delta^2 at 0 never increases its squared "
                          "error: (max(0, u) - Delta^2)^2 <= (u - Delta^2)^2; when clipping is "
                          "active (u < 0) the error strictly decreases, "
                          "Delta^4 < (u - Delta^2)^2.",
                assumptions=(), claim=sp.Implies(u < 0, Delta**4 < (u - Delta**2) ** 2),
                variables=(Delta, u), routes=("smt", "rational"),
                false_variant=((), sp.Implies(u < 1, Delta**4 < (u - Delta**2) ** 2)),
                sampler=_clip_points),
        Theorem(name="clipped_never_worse", source="MATH 5", derivation="estimated_weights",
                statement="The clipped estimate max(0, u) is never further from Delta^2 than u.",
                assumptions=(), claim=sp.Le((CLIPPED - Delta**2) ** 2, (u - Delta**2) ** 2),
                variables=(Delta, u), routes=("smt", "rational"),
                false_variant=((), sp.Le((sp.Max(1, u) - Delta**2) ** 2, (u - Delta**2) ** 2)),
                sampler=_clip_points),
    ]
