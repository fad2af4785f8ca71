"""The two-estimator derivation (MATH.md R1-R10), from definitions.

Pure functions: no I/O.  :func:`two_estimator` builds the model

    L = theta + e_L,          Var(e_L) = s_L,
    G = theta + Delta + e_G,  Var(e_G) = s_G,  Cov(e_L, e_G) = c,
    theta_a = (1 - a) L + a G,

expands E[(theta_a - theta)^2] by linearity (:mod:`modelavg_sym.algebra.moments`), and derives
every result with sympy: the optimum from dMSE/da = 0, the benefit's factorisation from
its roots, the beneficial interval from the roots and the sign of the leading
coefficient, and so on.  Nothing below types a finished formula in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache

import sympy as sp

from modelavg_sym.algebra.moments import (
    CovarianceTable,
    RandomAffine,
    covariance,
    expectation,
    second_moment,
)
from modelavg_sym.derive.display import A_STAR, MSE, THETA_A, B, Expect, Var
from modelavg_sym.derive.display import D as D_SHOWN
from modelavg_sym.symbols import Delta, a, base_assumptions, c, r, s_G, s_L, theta


@dataclass(frozen=True)
class Step:
    """One displayed step of a derivation: ``lhs = rhs`` with a sentence of explanation
    (``text``, a LaTeX template over the symbol table: maths in ``$...$``, symbols as
    ``<s_L>``; see :mod:`modelavg_sym.artifacts.prose`).  ``lhs`` is written with the
    display objects of :mod:`modelavg_sym.derive.display` (``E[theta_a - theta]``)."""

    text: str
    lhs: sp.Basic
    rhs: sp.Basic


@dataclass(frozen=True)
class Derivation:
    """A named set of derived expressions with the steps that produced them.

    Attributes:
        name: stable identifier (used for file names and LaTeX labels).
        title: one-line human title.
        results: ordered mapping from result name to sympy expression.
        steps: the derivation's key steps, for the Markdown pages.
        assumptions: the standing assumptions, as sympy relations.
        notes: extra sentences.
        presentation: how the derivation is shown, for one made outside the catalog (a
            setting file's): a function returning its
            :class:`~modelavg_sym.derive.presentation.Presentation`; ``None`` for the
            catalog's (:func:`modelavg_sym.derive.catalog.presentation`).
    """

    name: str
    title: str
    results: Mapping[str, sp.Basic]
    steps: tuple[Step, ...] = ()
    assumptions: tuple[sp.Basic, ...] = ()
    notes: tuple[str, ...] = field(default=())
    presentation: Callable[[], object] | None = field(default=None, compare=False, repr=False)

    def __getitem__(self, key: str) -> sp.Basic:
        return self.results[key]

    def __repr__(self) -> str:
        return f"Derivation({self.name!r}, {len(self.results)} results, {len(self.steps)} steps)"

    def _repr_markdown_(self) -> str:
        lines = [f"**{self.title}** (`{self.name}`)", ""]
        lines += [f"- {s.text}: ${sp.latex(s.lhs)} = {sp.latex(s.rhs)}$" for s in self.steps]
        if not self.steps:
            lines += [f"- `{k}`: ${sp.latex(v)}$" for k, v in self.results.items()]
        return "\n".join(lines)

    def _repr_latex_(self) -> str:
        rows = [f"{sp.latex(s.lhs)} &= {sp.latex(s.rhs)}" for s in self.steps] or [
            "\\text{" + k.replace("_", "\\_") + f"}} &= {sp.latex(v)}"
            for k, v in self.results.items()]
        return "$\\begin{aligned} " + " \\\\ ".join(rows) + " \\end{aligned}$"


def _two_estimator_model(
    cov_table_entries: Mapping[tuple[str, str], sp.Expr],
) -> tuple[RandomAffine, RandomAffine, CovarianceTable]:
    table = CovarianceTable(cov_table_entries)
    L = theta + RandomAffine.noise("e_L")
    G = theta + Delta + RandomAffine.noise("e_G")
    return L, G, table


def tidy(expr: sp.Expr) -> sp.Expr:
    """Canonical display form of a rational expression: factored, with a denominator whose
    leading sign is positive (sympy's ``factor`` may leave ``-(...)`` downstairs)."""
    expr = sp.factor(expr)
    num, den = sp.fraction(expr)
    if den != 1 and den.could_extract_minus_sign():
        num, den = -num, -den
    if den == 1:
        return num
    return sp.Mul(sp.factor(num), sp.Pow(sp.factor(den), -1), evaluate=True)


def _linear_root(poly_expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """The root of ``poly_expr``, a polynomial of degree 1 in x (``-k0 / k1``, not yet
    tidied: what ``solve`` finds, without its general machinery)."""
    poly = sp.Poly(poly_expr, x)
    if poly.degree() != 1:
        raise ValueError(f"expected a linear polynomial in {x}, got degree {poly.degree()}")
    return -poly.coeff_monomial(1) / poly.coeff_monomial(x)


def _quadratic_roots(poly_expr: sp.Expr, x: sp.Symbol) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """Leading coefficient and the two roots (0 first when it is one) of a quadratic in x.

    The roots come from the factors of the quadratic when both are linear in x (rational
    functions of the other symbols); ``solve`` (the quadratic formula) otherwise."""
    poly = sp.Poly(poly_expr, x)
    if poly.degree() != 2:
        raise ValueError(f"expected a quadratic in {x}, got degree {poly.degree()}")
    found = [_linear_root(f, x) for f, mult in sp.factor_list(poly_expr, x)[1]
             for _ in range(mult) if sp.Poly(f, x).degree() == 1]
    roots = found if len(found) == 2 else sp.solve(poly_expr, x)
    roots = sorted((tidy(rt) for rt in roots), key=lambda e: (e != 0, sp.srepr(e)))
    return sp.factor(poly.LC()), roots[0], roots[1]


def _mse_steps(steps: list[Step]) -> dict[str, sp.Expr]:
    """R1 and the derivatives: MSE(a) from the model by linearity, D, MSE', MSE''."""
    L, G, table = _two_estimator_model(
        {("e_L", "e_L"): s_L, ("e_G", "e_G"): s_G, ("e_L", "e_G"): c}
    )
    theta_a = (1 - a) * L + a * G
    err = theta_a - theta
    err = RandomAffine(sp.expand(err.const), err.coeffs)
    mse_terms = second_moment(err, table)
    steps.append(Step("The bias of the average, by linearity of expectation",
                      Expect(THETA_A - theta), expectation(err)))
    steps.append(Step("Its variance, by bilinearity of covariance",
                      Var(THETA_A), covariance(err, err, table)))
    steps.append(Step("The mean squared error is the squared bias plus the variance",
                      MSE(a), mse_terms))
    D = sp.expand(second_moment(G - L, table))
    steps.append(Step(r"By the same expansion, $D := \operatorname{E}[(G - L)^{2}]$ is",
                      D_SHOWN, D))
    mse = sp.collect(sp.expand(mse_terms), a)
    dmse = sp.collect(sp.expand(sp.diff(mse, a)), a)
    d2mse = sp.expand(sp.diff(mse, a, 2))
    steps.append(Step("The first derivative in $<a>$", sp.Derivative(MSE(a), a), dmse))
    steps.append(Step("The second derivative is $2D$, positive when $D > 0$: the MSE is then "
                      "strictly convex", sp.Derivative(MSE(a), (a, 2)), d2mse))
    return {"D": D, "mse_terms": mse_terms, "mse": mse, "dmse": dmse, "d2mse": d2mse}


def _optimum_steps(mse: sp.Expr, dmse: sp.Expr, steps: list[Step]) -> dict[str, sp.Expr]:
    """R2-R3: the stationary point a* and the minimum MSE (two forms)."""
    a_star = tidy(_linear_root(dmse, a))
    steps.append(Step(r"The unique stationary point, where $\operatorname{MSE}'(<a>) = 0$",
                      A_STAR, a_star))
    min_mse = tidy(sp.cancel(mse.subs(a, a_star)))
    # The same minimum in a form without cancellation or overflow-prone squares: with
    # MSE(a) = k0 + k1 a + k2 a^2 and the first-order condition 2 k2 a* + k1 = 0,
    # MSE(a*) = k0 + (k1/2) a* = k0 (1 - a*) + (k0 + k1/2) a*, with 1 - a* simplified.
    k0, k1 = (sp.Poly(mse, a).coeff_monomial(a**k) for k in (0, 1))
    min_mse_stable = k0 * tidy(1 - a_star) + sp.factor(k0 + k1 / 2) * a_star
    steps.append(Step("The minimum mean squared error", MSE(A_STAR), min_mse))
    return {"optimal_weight": a_star, "min_mse": min_mse, "min_mse_stable": min_mse_stable}


def _benefit_steps(mse: sp.Expr, a_star: sp.Expr, min_mse: sp.Expr,
                   steps: list[Step]) -> dict[str, sp.Expr]:
    """R4-R6 and R9: the benefit, its roots and factorisation, the gain fraction, MSE(1)
    and the value of personalization."""
    mse_local = sp.expand(mse.subs(a, 0))
    mse_global = sp.factor(sp.expand(mse.subs(a, 1)))
    benefit = sp.expand(mse_local - mse)
    steps.append(Step(r"The benefit of averaging over the local model, "
                      r"$B(<a>) := \operatorname{MSE}(0) - \operatorname{MSE}(<a>)$",
                      B(a), sp.collect(benefit, a)))
    lc, root0, root1 = _quadratic_roots(benefit, a)
    benefit_factored = lc * (a - root0) * (a - root1)
    steps.append(Step("$B$ is a quadratic in $<a>$ with roots $0$ and $2<a>^{*}$ and leading "
                      "coefficient $-D$", B(a), benefit_factored))
    gain_fraction = sp.factor(sp.cancel(benefit.subs(a, r * a_star) / benefit.subs(a, a_star)))
    steps.append(Step("The fraction of the best gain obtained at $<a> = <r><a>^{*}$",
                      B(r * A_STAR) / B(A_STAR), gain_fraction))
    personalization_value = tidy(sp.cancel(mse_global - min_mse))
    steps.append(Step("The value of personalization over the global model",
                      MSE(1) - MSE(A_STAR), personalization_value))
    return {"mse_local": mse_local, "mse_global": mse_global, "benefit": benefit,
            "benefit_factored": benefit_factored, "benefit_leading_coefficient": lc,
            "benefit_root_low": root0, "benefit_root_high": root1,
            "gain_fraction": gain_fraction, "relative_gain": tidy(sp.cancel(benefit / mse_local)),
            "personalization_value": personalization_value}


#: Order of the results of :func:`two_estimator` (pages, equations and JSON follow it).
_TWO_ESTIMATOR_ORDER = (
    "D", "mse_terms", "mse", "dmse", "d2mse", "optimal_weight", "min_mse", "min_mse_stable",
    "mse_local", "mse_global", "benefit", "benefit_factored", "benefit_leading_coefficient",
    "benefit_root_low", "benefit_root_high", "gain_fraction", "relative_gain",
    "personalization_value",
)


@cache
def two_estimator() -> Derivation:
    """Derive R1-R10 for the general (correlated) two-estimator model.

    Result names: ``D``, ``mse_terms`` (the unexpanded sum of second moments),
    ``mse`` (expanded in a), ``dmse``, ``d2mse``, ``optimal_weight`` (a*),
    ``min_mse`` (MSE(a*)), ``mse_local`` (MSE(0)), ``mse_global`` (MSE(1)),
    ``benefit`` (MSE(0) - MSE(a)), ``benefit_factored`` (= D a (2a* - a)),
    ``benefit_roots_high`` (2a*), ``gain_fraction`` (B(r a*)/B(a*)),
    ``personalization_value`` (MSE(1) - MSE(a*)), ``interval_low``/``interval_high``.
    """
    steps: list[Step] = []
    found = _mse_steps(steps)
    found |= _optimum_steps(found["mse"], found["dmse"], steps)
    found |= _benefit_steps(found["mse"], found["optimal_weight"], found["min_mse"], steps)
    return Derivation(
        name="two_estimator",
        title="Two estimators: local $L$ and global $G$ with bias, covariance and a weighted "
              "average",
        results={k: found[k] for k in _TWO_ESTIMATOR_ORDER},
        steps=tuple(steps),
        assumptions=tuple(base_assumptions()),
    )


_RATIONAL_RESULTS = frozenset(
    {"optimal_weight", "min_mse", "benefit_root_high", "personalization_value", "relative_gain"}
)


@cache
def independent() -> Derivation:
    """The independent special case c = 0 (R6-R8), by substitution into :func:`two_estimator`."""
    base = two_estimator()
    results = {}
    steps = []
    for key, expr in base.results.items():
        sub = expr.subs(c, 0)
        results[key] = tidy(sp.simplify(sub)) if key in _RATIONAL_RESULTS else sub
    results["relative_gain"] = tidy(sp.simplify(results["benefit"] / results["mse_local"]))
    results["relative_gain_at_ratio"] = tidy(
        sp.simplify(results["relative_gain"].subs(a, r * results["optimal_weight"]))
    )
    steps.append(Step("With $<c> = 0$ the optimal weight is", A_STAR, results["optimal_weight"]))
    steps.append(Step("and the minimum mean squared error", MSE(A_STAR), results["min_mse"]))
    steps.append(Step("The gain relative to the local model at $<a> = <r><a>^{*}$",
                      B(r * A_STAR) / MSE(0), results["relative_gain_at_ratio"]))
    return Derivation(
        name="independent",
        title="Independent local and global estimators ($<c> = 0$)",
        results=results,
        steps=tuple(steps),
        assumptions=(sp.Ge(s_L, 0), sp.Ge(s_G, 0)),
    )

