"""Estimated weights (MATH.md section 5): derivation, theorems, routes, Monte Carlo."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import sympy as sp

from modelavg_sym.derive import estimated as E
from modelavg_sym.symbols import Delta, c, s_G, s_L
from modelavg_sym.theorems import all_theorems, get
from modelavg_sym.verify import rational, run

HAS_Z3 = importlib.util.find_spec("z3") is not None
NAMES = ["clipped_never_worse", "clipping_reduces_error", "estimated_weight_beneficial_iff",
         "estimated_weight_benefit", "estimated_weight_risk",
         "estimated_weight_risk_from_definitions", "naive_delta_sq_bias", "unbiased_delta_sq"]

# Hand-written references (tests only): D, a* and MSE(a*) of the two-estimator model.
D_REF = s_L + s_G - 2 * c + Delta**2
A_REF = (s_L - c) / D_REF
MIN_MSE_REF = s_L - (s_L - c) ** 2 / D_REF


def _zero(expr: sp.Expr) -> bool:
    return sp.simplify(sp.together(expr)) == 0


def test_derivation_against_hand_reference() -> None:
    d = E.estimated_weights()
    assert d["risk_eta_coefficient"] == 0  # MSE'(a*) = 0: the weight's bias m drops out
    assert _zero(d["risk_q_coefficient"] - D_REF)
    assert E.m not in d["risk"].free_symbols
    assert _zero(d["risk"] - (MIN_MSE_REF + D_REF * E.q))
    assert _zero(d["risk_from_definitions"] - d["risk"])
    assert _zero(d["expected_benefit"] - D_REF * (A_REF**2 - E.q))
    assert sp.expand(d["naive_delta_sq_mean"] - (Delta**2 + s_L + s_G - 2 * c)) == 0
    assert d["unbiased_delta_sq_mean"] == Delta**2
    assert d.name == "estimated_weights" and len(d.steps) >= 5


def test_expect_polynomial_refuses_unknown_moment() -> None:
    x = sp.Symbol("x", real=True)
    assert E.expect_polynomial(3 * x**2 + x + 1, {x: {1: 0, 2: 5}}) == 16
    with pytest.raises(KeyError):
        E.expect_polynomial(x**3, {x: {1: 0, 2: 5}})


def test_theorems_registered() -> None:
    thms = all_theorems()
    assert [t.name for t in thms.values() if t.derivation == "estimated_weights"] == [
        "estimated_weight_risk", "estimated_weight_risk_from_definitions",
        "estimated_weight_benefit", "estimated_weight_beneficial_iff", "naive_delta_sq_bias",
        "unbiased_delta_sq", "clipping_reduces_error", "clipped_never_worse",
        "presentation_estimated_weights"]  # the page's forms and claims as typed, checked
    for name in NAMES:
        # every symbol beyond the core ones (m, q, u) is drawn by the theorem's own sampler
        extra = set(thms[name].variables) & {E.m, E.q, E.u}
        assert (thms[name].sampler is not None) == bool(extra), name


@pytest.mark.parametrize("name", NAMES)
def test_routes_pass(name: str) -> None:
    thm = get(name)
    for route in thm.routes:
        if (route == "smt" and not HAS_Z3) or route == "montecarlo":  # see test_risk.py
            continue
        res = run(thm, route, "ci")
        assert res.status in ("proved", "passed"), (route, res.detail)
        if route == "smt":
            assert res.extra.get("false_variant") == "refuted", res.extra


def test_rational_route_rejects_wrong_risk() -> None:
    thm = get("estimated_weight_risk")
    d = E.estimated_weights()
    wrong = sp.Eq(d["risk"], MIN_MSE_REF + E.q)  # forgot the factor D
    point = {s_L: sp.Rational(1, 2), s_G: sp.Rational(1, 3), Delta: sp.Integer(1),
             c: sp.Rational(1, 5), E.m: sp.Rational(1, 4), E.q: sp.Rational(1, 2)}
    assert rational.assumptions_hold(thm, point)
    assert rational.check_claim(thm, point) and not rational.check_claim(thm, point, wrong)
    wrong_clip = sp.Implies(E.u < 1, Delta**4 < (E.u - Delta**2) ** 2)
    assert rational.check(get("clipping_reduces_error"), "ci", claim=wrong_clip).status == "failed"


def test_symbolic_route_rejects_wrong_bias() -> None:
    from dataclasses import replace

    from modelavg_sym.verify import symbolic

    thm = get("naive_delta_sq_bias")
    wrong = replace(thm, claim=sp.Eq(thm.claim.lhs, Delta**2 + s_L + s_G))  # forgot -2c
    assert symbolic.check(wrong).status == "failed"


# ------------------------------------------------------------------ Monte Carlo

N0, N1, R = 5, 20, 200_000
MU_LOCAL = 1.0          # exponential(scale=1): mean 1, variance 1
LN_SIGMA = 0.5          # lognormal(0, 0.5) for the other node


def _design() -> dict[str, float]:
    """True moments of L = xbar_0 and G = pooled mean of both nodes (hand reference)."""
    mu1 = float(np.exp(LN_SIGMA**2 / 2))
    v1 = float((np.exp(LN_SIGMA**2) - 1) * np.exp(LN_SIGMA**2))
    n_tot = N0 + N1
    sl = 1.0 / N0
    sg = (N0 * 1.0 + N1 * v1) / n_tot**2
    cv = N0 / n_tot * sl
    bias = N1 / n_tot * (mu1 - MU_LOCAL)
    return {"s_L": sl, "s_G": sg, "c": cv, "Delta": bias}


def _draw(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    x0 = rng.exponential(1.0, size=(R, N0))
    x1 = rng.lognormal(0.0, LN_SIGMA, size=(R, N1))
    L = x0.mean(axis=1)
    G = (x0.sum(axis=1) + x1.sum(axis=1)) / (N0 + N1)
    return x0, x1, L, G


def _z(values: np.ndarray) -> float:
    return float(values.mean() / (values.std(ddof=1) / np.sqrt(values.size)))


def _lam(expr: sp.Expr):
    return sp.lambdify((s_L, s_G, Delta, c, E.q), expr, modules="numpy")


def test_montecarlo_independent_weight_risk() -> None:
    """a_hat from independent data (a plug-in weight fitted on a second, independent
    sample): err^2 - risk(q = (a_hat - a*)^2) has mean 0, within 4 standard errors; the
    same statistic with the factor D dropped is rejected."""
    p = _design()
    ss = np.random.SeedSequence(20260601)
    rng_data, rng_weight = (np.random.default_rng(s) for s in ss.spawn(2))
    _x0, _x1, L, G = _draw(rng_data)
    y0, y1, L2, G2 = _draw(rng_weight)
    sl2 = y0.var(axis=1, ddof=1) / N0
    c2 = N0 / (N0 + N1) * sl2
    sg2 = (N0 * y0.var(axis=1, ddof=1) + N1 * y1.var(axis=1, ddof=1)) / (N0 + N1) ** 2
    a_hat = (sl2 - c2) / (sl2 + sg2 - 2 * c2 + (G2 - L2) ** 2)
    a_star = float(A_REF.subs({s_L: p["s_L"], s_G: p["s_G"], c: p["c"], Delta: p["Delta"]}))
    err2 = ((1 - a_hat) * L + a_hat * G - MU_LOCAL) ** 2
    q_rep = (a_hat - a_star) ** 2
    args = (p["s_L"], p["s_G"], p["Delta"], p["c"])
    risk = _lam(E.estimated_weights()["risk"])(*args, q_rep)
    assert abs(_z(err2 - risk)) < 4.0
    wrong = _lam(MIN_MSE_REF + E.q)(*args, q_rep)
    assert abs(_z(err2 - wrong)) > 8.0
    # the benefit form: MSE(0) - err^2 against D (a*^2 - q)
    benefit = _lam(E.estimated_weights()["expected_benefit"])(*args, q_rep)
    assert abs(_z((L - MU_LOCAL) ** 2 - err2 - benefit)) < 4.0


def test_montecarlo_naive_delta_sq_bias() -> None:
    p = _design()
    rng = np.random.default_rng(np.random.SeedSequence(7))
    _x0, _x1, L, G = _draw(rng)
    args = (p["s_L"], p["s_G"], p["Delta"], p["c"], 0.0)
    gap2 = (G - L) ** 2
    d = E.estimated_weights()
    assert abs(_z(gap2 - _lam(d["naive_delta_sq_mean"])(*args))) < 4.0
    assert abs(_z(gap2 - p["Delta"] ** 2)) > 8.0  # the naive plug-in is biased
    unbiased = gap2 - p["s_L"] - p["s_G"] + 2 * p["c"]
    assert abs(_z(unbiased - _lam(d["unbiased_delta_sq_mean"])(*args))) < 4.0
    forgot_c = gap2 - p["s_L"] - p["s_G"]
    assert abs(_z(forgot_c - p["Delta"] ** 2)) > 8.0
