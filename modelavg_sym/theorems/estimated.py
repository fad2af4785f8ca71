"""Estimated weights (MATH.md section 5): the risk of a weight that is itself estimated.

Pure derivations, no I/O.  Two results, both derived from definitions:

1. **A weight estimated on independent data.**  Write the estimated weight as
   ``a_hat = a* + eta`` with ``eta`` independent of (L, G), ``E[eta] = m`` and
   ``E[eta^2] = q`` (so ``q = E[(a_hat - a*)^2] >= m^2`` is the weight's mean squared
   error).  Conditioning on ``a_hat`` and using independence, the risk is
   ``E_eta[MSE(a* + eta)]`` with MSE from :func:`modelavg_sym.derive.core.two_estimator`;
   MSE is a quadratic in the weight, so its expectation needs only ``m`` and ``q``.
   sympy finds the ``m`` coefficient to be ``MSE'(a*) = 0`` and

       E[(theta_{a_hat} - theta)^2] = MSE(a*) + D q,
       expected benefit MSE(0) - E[...] = D (a*^2 - q),

   positive exactly when ``q < a*^2`` (D > 0).  The same risk is re-derived from the
   definitions (``err = (1 - a_hat) e_L + a_hat (Delta + e_G)`` expanded as a polynomial
   in ``eta, e_L, e_G`` and averaged using independence), which a theorem checks.

2. **The naive plug-in of Delta^2.**  By linearity (:mod:`modelavg_sym.algebra.moments`)
   ``E[(G - L)^2] = Delta^2 + s_L + s_G - 2c``: ``(G - L)^2`` over-estimates ``Delta^2``
   by ``s_L + s_G - 2c``.  Subtracting the variances removes the bias; clipping the
   result at 0 (``max(0, u)``) never moves it further from ``Delta^2 >= 0``.

Theorems (registered through :func:`modelavg_sym.theorems.register` when this provider is
imported) state these properties of the derived expressions; the routes check them.
``RATIONAL_SAMPLERS`` gives the exact-rational route a way to draw the new symbols
(``m``, ``q``, ``u``) inside the assumptions by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import sympy as sp

from modelavg_sym.algebra.moments import CovarianceTable, RandomAffine, second_moment
from modelavg_sym.derive.core import Derivation, Step, tidy, two_estimator
from modelavg_sym.symbols import Delta, a, base_assumptions, c, r, s_G, s_L, theta
from modelavg_sym.theorems import Theorem, register

#: E[a_hat - a*], the bias of the estimated weight.
m = sp.Symbol("m", real=True)
#: E[(a_hat - a*)^2], the mean squared error of the estimated weight (q >= m^2).
#: Declared only real so that the assumption q >= m^2 is stated, not built in.
q = sp.Symbol("q", real=True)
#: The estimation error of the weight, eta = a_hat - a*.
eta = sp.Symbol("eta", real=True)
#: An unclipped estimate of Delta^2 (any real number).
u = sp.Symbol("u", real=True)

#: Human names of the symbols this module adds (same fields as symbols.SYMBOLS).
EXTRA_SYMBOLS: dict[str, tuple[str, str]] = {
    "m": (r"m", "bias of the estimated weight, E[a_hat - a*]"),
    "q": (r"q", "mean squared error of the estimated weight, E[(a_hat - a*)^2]"),
    "eta": (r"\eta", "estimation error of the weight, a_hat - a*"),
    "u": (r"u", "an unclipped estimate of Delta^2"),
}


def expect_polynomial(expr: sp.Expr, moments: dict[sp.Symbol, dict[int, sp.Expr]],
                      joint: dict[tuple[int, int], sp.Expr] | None = None,
                      pair: tuple[sp.Symbol, sp.Symbol] | None = None) -> sp.Expr:
    """Expectation of a polynomial in independent random symbols, by linearity.

    ``expr`` is expanded into monomials; ``E[x^i y^j ...]`` is the product of the
    factors' moments (independence).  ``moments[x][k]`` is ``E[x^k]``.  One pair of
    *dependent* symbols may be given with their joint moments ``joint[(i, j)] =
    E[x^i y^j]``.  A monomial needing an unlisted moment raises ``KeyError`` (so the
    expansion can never silently drop a term).
    """
    gens = sorted(set(moments) | set(pair or ()), key=str)
    poly = sp.Poly(sp.expand(expr), *gens)
    total = sp.S.Zero
    for powers, coeff in poly.terms():
        factor = sp.S.One
        exps = dict(zip(gens, powers, strict=True))
        if pair is not None:
            x, y = pair
            factor *= (joint or {})[(exps.pop(x), exps.pop(y))]
        for sym in sorted(exps, key=str):
            k = exps[sym]
            factor *= sp.S.One if k == 0 else moments[sym][k]
        total += coeff * factor
    return total


def _linear_in_q(expr: sp.Expr) -> sp.Expr:
    """Display form ``A + B q`` of an expression affine in q (each part tidied); raises if
    the expression is not affine in q or still depends on m."""
    expr = sp.simplify(expr)
    slope = sp.simplify(sp.diff(expr, q))
    if sp.diff(slope, q) != 0 or m in expr.free_symbols:
        raise AssertionError(f"expected an expression affine in q without m, got {expr}")
    return tidy(expr.subs(q, 0)) + tidy(slope) * q


@cache
def estimated_weights() -> Derivation:
    """Derive the risk of an estimated weight and the bias of the naive Delta^2 plug-in.

    Result names: ``a_star``, ``D``, ``conditional_risk`` (MSE(a* + eta), expanded in
    eta), ``risk`` (E[(theta_{a_hat} - theta)^2] via E_eta[MSE]), ``risk_eta_coefficient``
    (the coefficient of m, MSE'(a*)), ``risk_q_coefficient`` (the coefficient of q),
    ``risk_from_definitions`` (the same risk from the error's definition),
    ``expected_benefit`` (MSE(0) - risk), ``naive_delta_sq_mean`` (E[(G - L)^2]),
    ``naive_delta_sq_bias`` (E[(G - L)^2] - Delta^2), ``unbiased_delta_sq_mean``
    (E[(G - L)^2 - s_L - s_G + 2c]).  The clipped estimate max(0, u) is :data:`CLIPPED`.
    """
    d = two_estimator()
    a_star, mse, D = d["optimal_weight"], d["mse"], d["D"]
    steps: list[Step] = []
    A = sp.Symbol("a^*")

    # 1. Conditioning: E[(theta_{a_hat} - theta)^2 | a_hat] = MSE(a_hat) by independence.
    conditional = sp.expand(mse.subs(a, a_star + eta))
    poly = sp.Poly(conditional, eta)
    coeffs = {k: sp.simplify(poly.coeff_monomial(eta**k)) for k in range(poly.degree() + 1)}
    if poly.degree() != 2:
        raise AssertionError(f"MSE(a* + eta) should be quadratic in eta, got {poly.degree()}")
    steps.append(Step("Condition on the estimated weight a_hat = a* + eta: by independence of "
                      "a_hat and (L, G), the conditional risk is MSE(a* + eta)",
                      sp.Function("E")(sp.Symbol("(theta_{a_hat} - theta)^2 | eta")),
                      sp.Function("MSE")(A + eta)))
    c1 = tidy(coeffs[1])
    c2 = sp.factor(coeffs[2])
    steps.append(Step("Coefficient of eta: the slope MSE'(a*), zero at the optimum",
                      sp.Symbol("[eta]"), c1))
    steps.append(Step("Coefficient of eta^2: D (the MSE is a quadratic with curvature D)",
                      sp.Symbol("[eta^2]"), c2))
    risk = _linear_in_q(expect_polynomial(conditional, {eta: {1: m, 2: q}}))
    steps.append(Step("Average over eta with E[eta] = m, E[eta^2] = q = E[(a_hat - a*)^2]",
                      sp.Function("E")(sp.Symbol("(theta_{a_hat} - theta)^2")), risk))

    # 2. The same risk from the definition of the error, by independence of (eta, (e_L, e_G)).
    e_L, e_G = sp.symbols("e_L e_G", real=True)
    a_hat = a_star + eta
    err = (1 - a_hat) * e_L + a_hat * (Delta + e_G)
    joint = {(0, 0): sp.S.One, (1, 0): sp.S.Zero, (0, 1): sp.S.Zero,
             (2, 0): s_L, (0, 2): s_G, (1, 1): c}
    risk_def = _linear_in_q(sp.simplify(expect_polynomial(err**2, {eta: {1: m, 2: q}},
                                                  joint=joint, pair=(e_L, e_G))))

    mse_local = d["mse_local"]
    expected_benefit = _linear_in_q(mse_local - risk)
    steps.append(Step("Expected benefit over the local model, MSE(0) - E[...]",
                      sp.Function("B")(sp.Symbol("a_hat")), expected_benefit))

    # 3. The naive plug-in (G - L)^2 for Delta^2, by linearity of expectation.
    table = CovarianceTable({("e_L", "e_L"): s_L, ("e_G", "e_G"): s_G, ("e_L", "e_G"): c})
    L = theta + RandomAffine.noise("e_L")
    G = theta + Delta + RandomAffine.noise("e_G")
    naive_mean = sp.expand(second_moment(G - L, table))
    naive_bias = sp.expand(naive_mean - Delta**2)
    unbiased_mean = sp.expand(naive_mean - (s_L + s_G - 2 * c))
    steps.append(Step("Mean of the naive plug-in (G - L)^2 (by linearity)",
                      sp.Function("E")(sp.Symbol("(G - L)^2")), naive_mean))
    steps.append(Step("Its bias as an estimate of Delta^2", sp.Symbol("bias"), naive_bias))
    steps.append(Step("Subtracting the variances removes the bias",
                      sp.Function("E")(sp.Symbol("(G - L)^2 - s_L - s_G + 2c")), unbiased_mean))

    results = {
        "a_star": a_star,
        "D": D,
        "conditional_risk": conditional,
        "risk": risk,
        "risk_eta_coefficient": c1,
        "risk_q_coefficient": c2,
        "risk_from_definitions": risk_def,
        "expected_benefit": expected_benefit,
        "naive_delta_sq_mean": naive_mean,
        "naive_delta_sq_bias": naive_bias,
        "unbiased_delta_sq_mean": unbiased_mean,
    }
    return Derivation(
        name="estimated_weights",
        title="Estimated weights: the risk of a_hat, and the bias of the naive Delta^2 plug-in",
        results=results,
        steps=tuple(steps),
        assumptions=(*base_assumptions(), sp.Ge(q, m**2)),
        notes=("a_hat is independent of (L, G): fitted on other data.",
               "A weight computed from the same data as L and G has no such closed form; "
               "its risk is measured by simulation (modelavg_sym.simulation.risk)."),
    )


# --------------------------------------------------------------------------- theorems

_E = estimated_weights()
#: The clipped estimate of Delta^2 from an unclipped one, u: max(0, u).
CLIPPED = sp.Max(0, u)
_A = _E["a_star"]
_D = _E["D"]
_BASE = tuple(base_assumptions())
_DPOS = sp.Gt(_D, 0)
_Q_VALID = sp.Ge(q, m**2)
_VARS = (s_L, s_G, Delta, c, m, q)


def _theorems() -> list[Theorem]:
    d = two_estimator()
    out: list[Theorem] = []
    add: Callable[..., None] = lambda **kw: out.append(Theorem(**kw))  # noqa: E731
    add(name="estimated_weight_risk", source="MATH 5", derivation="estimated_weights",
        statement="For an estimated weight a_hat independent of (L, G), "
                  "E[(theta_{a_hat} - theta)^2] = MSE(a*) + D E[(a_hat - a*)^2].",
        assumptions=(*_BASE, _DPOS, _Q_VALID),
        claim=sp.Eq(_E["risk"], d["min_mse"] + _D * q, evaluate=False),
        variables=_VARS, routes=("symbolic", "smt", "rational", "montecarlo"),
        false_variant=((*_BASE, _DPOS, _Q_VALID), sp.Eq(_E["risk"], d["min_mse"] + q)))
    add(name="estimated_weight_risk_from_definitions", source="MATH 5",
        derivation="estimated_weights",
        statement="Expanding ((1 - a_hat) e_L + a_hat (Delta + e_G))^2 and averaging with "
                  "a_hat independent of (e_L, e_G) gives the same risk as E_a_hat[MSE(a_hat)].",
        assumptions=(*_BASE, _DPOS, _Q_VALID),
        claim=sp.Eq(_E["risk_from_definitions"], _E["risk"], evaluate=False),
        variables=_VARS, routes=("symbolic", "smt", "rational"),
        false_variant=((*_BASE, _DPOS, _Q_VALID),
                       sp.Eq(_E["risk_from_definitions"], d["min_mse"] + _D * m**2)))
    add(name="estimated_weight_benefit", source="MATH 5", derivation="estimated_weights",
        statement="The expected benefit of an independent estimated weight over the local "
                  "model is D (a*^2 - E[(a_hat - a*)^2]).",
        assumptions=(*_BASE, _DPOS, _Q_VALID),
        claim=sp.Eq(_E["expected_benefit"], _D * (_A**2 - q), evaluate=False),
        variables=_VARS, routes=("symbolic", "smt", "rational", "montecarlo"),
        false_variant=((*_BASE, _DPOS, _Q_VALID),
                       sp.Eq(_E["expected_benefit"], _D * (_A**2 - (q - m**2)))))
    add(name="estimated_weight_beneficial_iff", source="MATH 5",
        derivation="estimated_weights",
        statement="For D > 0, an independent estimated weight helps on average (positive "
                  "expected benefit) if and only if its mean squared error "
                  "E[(a_hat - a*)^2] is below a*^2.",
        assumptions=(*_BASE, _DPOS, sp.Ge(q, 0)),
        claim=sp.Equivalent(_E["expected_benefit"] > 0, q < _A**2),
        variables=(s_L, s_G, Delta, c, q), routes=("smt", "rational"),
        false_variant=((*_BASE, _DPOS, sp.Ge(q, 0)),
                       sp.Equivalent(_E["expected_benefit"] > 0, q < 2 * _A**2)))
    add(name="naive_delta_sq_bias", source="MATH 5", derivation="estimated_weights",
        statement="The naive plug-in (G - L)^2 has mean Delta^2 + s_L + s_G - 2c, so it "
                  "over-estimates Delta^2 by s_L + s_G - 2c >= 0.",
        assumptions=_BASE, claim=sp.Eq(_E["naive_delta_sq_mean"], Delta**2 + s_L + s_G - 2 * c,
                                    evaluate=False),
        variables=(s_L, s_G, Delta, c), routes=("symbolic", "smt", "rational", "montecarlo"),
        false_variant=(_BASE, sp.Eq(_E["naive_delta_sq_mean"], Delta**2 + s_L + s_G)))
    add(name="unbiased_delta_sq", source="MATH 5", derivation="estimated_weights",
        statement="(G - L)^2 - s_L - s_G + 2c is an unbiased estimate of Delta^2.",
        assumptions=_BASE, claim=sp.Eq(_E["unbiased_delta_sq_mean"], Delta**2, evaluate=False),
        variables=(s_L, s_G, Delta, c), routes=("symbolic", "smt", "rational", "montecarlo"),
        false_variant=(_BASE, sp.Eq(_E["naive_delta_sq_mean"], Delta**2)))
    add(name="clipping_reduces_error", source="MATH 5", derivation="estimated_weights",
        statement="Clipping an estimate u of Delta^2 at 0 never increases its squared error: "
                  "(max(0, u) - Delta^2)^2 <= (u - Delta^2)^2; when clipping is active "
                  "(u < 0) the error strictly decreases, Delta^4 < (u - Delta^2)^2.",
        assumptions=(),
        claim=sp.Implies(u < 0, Delta**4 < (u - Delta**2) ** 2),
        variables=(Delta, u), routes=("smt", "rational"),
        false_variant=((), sp.Implies(u < 1, Delta**4 < (u - Delta**2) ** 2)))
    add(name="clipped_never_worse", source="MATH 5", derivation="estimated_weights",
        statement="The clipped estimate max(0, u) is never further from Delta^2 than u.",
        assumptions=(),
        claim=sp.Le((CLIPPED - Delta**2) ** 2, (u - Delta**2) ** 2),
        variables=(Delta, u), routes=("smt", "rational"),
        false_variant=((), sp.Le((sp.Max(1, u) - Delta**2) ** 2, (u - Delta**2) ** 2)))
    return out


for _thm in _theorems():
    register(_thm)


# --------------------------------------------------------------------------- samplers

def _sampler_weight_error() -> Any:
    """(s_L, s_G, c, Delta) from the core sampler, m, and q = m^2 + v with v >= 0; half the
    draws put q at (r a*)^2 (exact multiples of a*^2, including the boundary q = a*^2)."""
    from hypothesis import strategies as st

    from modelavg_sym.verify.strategies import nonneg_rationals, rational_points, rationals

    @st.composite
    def points(draw: st.DrawFn) -> dict[sp.Symbol, sp.Rational]:
        point = draw(rational_points())
        point[m] = sp.Rational(draw(rationals(4)))
        point[q] = point[m] ** 2 + sp.Rational(draw(nonneg_rationals(4)))
        if draw(st.booleans()):
            ratio = point[r]
            a_val = _A.subs(point)
            if a_val.is_Rational:
                point[q] = (ratio * a_val) ** 2
                point[m] = sp.S.Zero
        return point

    return points()


def _sampler_clip() -> Any:
    """Delta from the core sampler and u any rational (negative half the time)."""
    from hypothesis import strategies as st

    from modelavg_sym.verify.strategies import rational_points, rationals

    @st.composite
    def points(draw: st.DrawFn) -> dict[sp.Symbol, sp.Rational]:
        point = draw(rational_points())
        point[u] = sp.Rational(draw(rationals()))
        return point

    return points()


#: Theorem name -> zero-argument callable returning a hypothesis strategy of full exact
#: points (hypothesis is imported only when the rational route asks).
RATIONAL_SAMPLERS: dict[str, Callable[[], Any]] = {
    "estimated_weight_risk": _sampler_weight_error,
    "estimated_weight_risk_from_definitions": _sampler_weight_error,
    "estimated_weight_benefit": _sampler_weight_error,
    "estimated_weight_beneficial_iff": _sampler_weight_error,
    "clipping_reduces_error": _sampler_clip,
    "clipped_never_worse": _sampler_clip,
}


def _montecarlo(thm: Theorem, profile: str = "ci", formula: sp.Expr | None = None) -> Any:
    """The Monte Carlo route for these theorems: a_hat from independent data
    (:func:`modelavg_sym.simulation.risk.montecarlo_check`; imported lazily, it simulates)."""
    from modelavg_sym.simulation.risk import montecarlo_check

    return montecarlo_check(thm, profile, formula=formula)


#: Theorem name -> Monte Carlo check, consulted by :mod:`modelavg_sym.verify.montecarlo`.
MONTECARLO_CHECKS: dict[str, Callable[..., Any]] = {
    name: _montecarlo for name in ("estimated_weight_risk", "estimated_weight_benefit",
                                   "naive_delta_sq_bias", "unbiased_delta_sq")
}

try:  # the report pages pick up registered derivations
    from modelavg_sym.artifacts import register_derivation
except ImportError:  # pragma: no cover - artifacts is optional for the maths
    pass
else:
    register_derivation(estimated_weights)
