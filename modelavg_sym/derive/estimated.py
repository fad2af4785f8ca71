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
   result at 0 (``max(0, u)``, :data:`CLIPPED`) never moves it further from
   ``Delta^2 >= 0``.

The theorems about these expressions are in :mod:`modelavg_sym.theorems.estimated`.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from modelavg_sym.algebra.moments import CovarianceTable, RandomAffine, second_moment
from modelavg_sym.derive.core import Derivation, Step, tidy, two_estimator
from modelavg_sym.derive.display import (
    A_HAT,
    A_STAR,
    MSE,
    THETA_AHAT,
    B,
    Coeff,
    Expect,
)
from modelavg_sym.derive.display import G as G_SHOWN
from modelavg_sym.derive.display import L as L_SHOWN
from modelavg_sym.symbols import Delta, a, base_assumptions, c, s_G, s_L, theta

#: E[a_hat - a*], the bias of the estimated weight.
m = sp.Symbol("m", real=True)
#: E[(a_hat - a*)^2], the mean squared error of the estimated weight (q >= m^2).
#: Declared only real so that the assumption q >= m^2 is stated, not built in.
q = sp.Symbol("q", real=True)
#: The estimation error of the weight, eta = a_hat - a*.
eta = sp.Symbol("eta", real=True)
#: An unclipped estimate of Delta^2 (any real number).
u = sp.Symbol("u", real=True)

#: The clipped estimate of Delta^2 from an unclipped one, u: max(0, u).
CLIPPED = sp.Max(0, u)


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


def _risk_from_definitions(a_star: sp.Expr) -> sp.Expr:
    """E[err^2] with err = (1 - a_hat) e_L + a_hat (Delta + e_G), a_hat = a* + eta, expanded
    and averaged using the independence of eta and (e_L, e_G)."""
    e_L, e_G = sp.symbols("e_L e_G", real=True)
    a_hat = a_star + eta
    err = (1 - a_hat) * e_L + a_hat * (Delta + e_G)
    joint = {(0, 0): sp.S.One, (1, 0): sp.S.Zero, (0, 1): sp.S.Zero,
             (2, 0): s_L, (0, 2): s_G, (1, 1): c}
    return _linear_in_q(sp.simplify(expect_polynomial(err**2, {eta: {1: m, 2: q}},
                                                      joint=joint, pair=(e_L, e_G))))


def _naive_plug_in() -> tuple[dict[str, sp.Expr], list[Step]]:
    """Mean and bias of the naive plug-in (G - L)^2 for Delta^2, and the mean of the
    corrected (G - L)^2 - s_L - s_G + 2c, by linearity of expectation; and their steps."""
    table = CovarianceTable({("e_L", "e_L"): s_L, ("e_G", "e_G"): s_G, ("e_L", "e_G"): c})
    L = theta + RandomAffine.noise("e_L")
    G = theta + Delta + RandomAffine.noise("e_G")
    naive_mean = sp.expand(second_moment(G - L, table))
    naive_bias = sp.expand(naive_mean - Delta**2)
    unbiased_mean = sp.expand(naive_mean - (s_L + s_G - 2 * c))
    gap_sq = (G_SHOWN - L_SHOWN) ** 2
    steps = [Step("By linearity, the naive plug-in $(G - L)^{2}$ has mean",
                  Expect(gap_sq), naive_mean),
             Step("so as an estimate of $<Delta>^{2}$ it is biased by",
                  Expect(gap_sq) - Delta**2, naive_bias),
             Step("Subtracting the variances removes the bias",
                  Expect(gap_sq - s_L - s_G + 2 * c), unbiased_mean)]
    return {"naive_delta_sq_mean": naive_mean, "naive_delta_sq_bias": naive_bias,
            "unbiased_delta_sq_mean": unbiased_mean}, steps


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

    # 1. Conditioning: E[(theta_{a_hat} - theta)^2 | a_hat] = MSE(a_hat) by independence.
    conditional = sp.expand(mse.subs(a, a_star + eta))
    poly = sp.Poly(conditional, eta)
    coeffs = {k: sp.simplify(poly.coeff_monomial(eta**k)) for k in range(poly.degree() + 1)}
    if poly.degree() != 2:
        raise AssertionError(f"MSE(a* + eta) should be quadratic in eta, got {poly.degree()}")
    risk_sq = (THETA_AHAT - theta) ** 2
    steps.append(Step(r"Write the estimated weight as $\hat{<a>} = <a>^{*} + \eta$.  As "
                      r"$\hat{<a>}$ is independent of $(L, G)$, the risk given $\eta$ is the "
                      "mean squared error at that weight",
                      Expect(risk_sq, eta), conditional))
    c1 = tidy(coeffs[1])
    c2 = sp.factor(coeffs[2])
    steps.append(Step(r"The coefficient of $\eta$ is the slope at the optimum, zero",
                      Coeff(MSE(A_STAR + eta), eta), c1))
    steps.append(Step(r"and the coefficient of $\eta^{2}$ is the curvature $D$",
                      Coeff(MSE(A_STAR + eta), eta**2), c2))
    risk = _linear_in_q(expect_polynomial(conditional, {eta: {1: m, 2: q}}))
    steps.append(Step(r"Averaging over $\eta$, with $\operatorname{E}[\eta] = m$ and "
                      r"$\operatorname{E}[\eta^{2}] = q$",
                      Expect(risk_sq), risk))

    risk_def = _risk_from_definitions(a_star)

    mse_local = d["mse_local"]
    expected_benefit = _linear_in_q(mse_local - risk)
    steps.append(Step(r"The expected benefit over the local model, "
                      r"$\operatorname{MSE}(0) - \operatorname{E}[(<theta>_{\hat{<a>}} - "
                      r"<theta>)^{2}]$", Expect(B(A_HAT)), expected_benefit))

    naive, naive_steps = _naive_plug_in()
    steps += naive_steps

    results = {
        "a_star": a_star,
        "D": D,
        "conditional_risk": conditional,
        "risk": risk,
        "risk_eta_coefficient": c1,
        "risk_q_coefficient": c2,
        "risk_from_definitions": risk_def,
        "expected_benefit": expected_benefit,
        **naive,
    }
    return Derivation(
        name="estimated_weights",
        title=r"Estimated weights: the risk of $\hat{<a>}$, and the bias of the naive "
              "$<Delta>^{2}$ plug-in",
        results=results,
        steps=tuple(steps),
        assumptions=(*base_assumptions(), sp.Ge(q, m**2)),
        notes=(r"The estimated weight $\hat{<a>}$ is independent of $(L, G)$: it is fitted "
               "on other data.  A weight computed from the same data as $L$ and $G$ has no "
               "such closed form; its risk is measured by simulation.",),
    )
