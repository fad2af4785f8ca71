"""How the two-estimator, independent and estimated-weight derivations are shown.

Each function returns the :class:`~modelavg_sym.derive.presentation.Presentation` of one
derivation: its named quantities (D, MSE, a*, B; E[(G - L)^2] ...), a presentation form
per result, written as MATH.md and PRESENTATION.md write them (a* = (s_L - c)/D,
B(a) = D a (2a* - a), B(r a*)/B(a*) = r (2 - r)), the forms of its steps, and the "where"
lines of the symbols it uses beyond the symbol table.  A result without a hint gets the
narrowest automatic form (:func:`~modelavg_sym.derive.presentation.auto`).  Every form is
checked equal to the derived value (:func:`~modelavg_sym.derive.presentation.check` and
the ``presentation_<derivation>`` theorems).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

import sympy as sp

from modelavg_sym.derive.core import Derivation, independent, two_estimator
from modelavg_sym.derive.display import (
    A_HAT,
    A_STAR,
    MSE,
    THETA_A,
    THETA_AHAT,
    B,
    D,
    Expect,
    G,
    L,
    Var,
)
from modelavg_sym.derive.estimated import estimated_weights, eta, m, q, u
from modelavg_sym.derive.presentation import Form, Name, Presentation, Where, auto
from modelavg_sym.symbols import Delta, a, c, r, s_G, s_L, theta

__all__ = [
    "VARIABLES",
    "core_forms",
    "core_names",
    "estimated_names",
    "estimated_presentation",
    "independent_presentation",
    "presentations_from",
    "setting_core_forms",
    "two_estimator_presentation",
]

#: Symbols a form is collected in (the weight and what plays its part).
VARIABLES = (a, r, eta, q, m)
E_L, E_G = sp.symbols("e_L e_G", real=True)


def core_names(d: Derivation, independent: bool = False) -> tuple[Name, ...]:
    """D, MSE, a* and B of the two-estimator derivation ``d`` (the independent one when
    ``independent``: a* = s_L/D), as the names a page defines in this order."""
    return (
        Name(D, d["D"]),
        Name(MSE, sp.Lambda(a, d["mse"])),
        Name(A_STAR, (s_L if independent else s_L - c) / D),
        Name(B, sp.Lambda(a, d["benefit"])),
    )


def core_forms(zero_c: bool) -> dict[str, Form]:
    """The two-estimator forms of PRESENTATION.md (with c = 0 when ``zero_c``)."""
    def f(*chain: sp.Basic, text: str = "") -> Form:
        return Form(tuple(sp.sympify(x).subs(c, 0) if zero_c else sp.sympify(x)
                          for x in chain), text)

    slope = sp.UnevaluatedExpr(s_L - c) if not zero_c else s_L
    return {
        "D": f(s_L + s_G - 2 * c + Delta**2,
               text=r"The expected squared gap between the estimators, "
                    r"$D = \operatorname{E}[(G - L)^{2}]$"),
        "mse_terms": f((1 - a) ** 2 * s_L + a**2 * (s_G + Delta**2) + 2 * a * (1 - a) * c,
                       text="The mean squared error, term by term"),
        "mse": f(s_L - 2 * a * (s_L - c) + a**2 * D, text="The mean squared error through $D$"),
        "dmse": f(2 * (a * D - slope), text="The first derivative in $<a>$"),
        "d2mse": f(2 * D, text="The second derivative"),
        "optimal_weight": f((s_L - c) / D, text="The optimal weight"),
        "min_mse": f(s_L - (s_L - c) ** 2 / D, (s_L * (s_G + Delta**2) - c**2) / D,
                     text="The minimum mean squared error"),
        "min_mse_stable": f(s_L * (1 - A_STAR) + c * A_STAR,
                            text="The minimum, linear in the optimal weight"),
        "mse_local": f(s_L, text="The mean squared error of the local model"),
        "mse_global": f(s_G + Delta**2, text="The mean squared error of the global model"),
        "benefit": f(MSE(0) - MSE(a), 2 * a * (s_L - c) - a**2 * D,
                     text="The benefit of averaging over the local model"),
        "benefit_factored": f(D * a * (2 * A_STAR - a), text="The benefit, factored"),
        "benefit_leading_coefficient": f(-D, text="The leading coefficient of the benefit"),
        "benefit_root_low": f(0, text="The roots of the benefit"),
        "benefit_root_high": f(2 * A_STAR),
        "gain_fraction": f(r * (2 - r), text="The fraction of the best gain at "
                           "$<a> = <r><a>^{*}$"),
        "relative_gain": f(D * a * (2 * A_STAR - a) / s_L,
                           text="The gain relative to the local model"),
        "personalization_value": f(D * (1 - A_STAR) ** 2,
                                   text="The value of personalization over the global model"),
    }


def setting_core_forms(core: Mapping[str, Form], weight: sp.Expr, zero_c: bool
                       ) -> dict[str, Form]:
    """A setting's results after its s_L, s_G, c and Delta: the two-estimator forms
    ``core`` (already in the setting's names), with the optimal weight ``weight`` (c = 0
    when ``zero_c``) and the benefit as its last, factored, form."""
    return {
        "D": core["D"],
        "mse": core["mse"],
        "optimal_weight": Form((weight.subs(c, 0) if zero_c else weight,),
                               "Substituting, the optimal weight"),
        "min_mse": core["min_mse_stable"],
        "mse_local": core["mse_local"],
        "mse_global": core["mse_global"],
        "benefit": Form(core["benefit"].chain[-1:], core["benefit"].text),
        "benefit_factored": core["benefit_factored"],
        "benefit_root_high": core["benefit_root_high"],
        "personalization_value": core["personalization_value"],
    }


def _steps(d: Derivation, forms: Mapping[str, Form], names: Sequence[Name],
           chosen: Sequence[str | tuple[sp.Basic, ...] | None]) -> tuple[Form, ...]:
    """The form of each step: a result's form (by key), an explicit chain, or automatic
    (``None``)."""
    out = []
    for step, pick in zip(d.steps, chosen, strict=True):
        if isinstance(pick, str):
            out.append(Form(forms[pick].chain, hint=forms[pick].hint))
        elif pick is not None:
            out.append(Form(tuple(pick)))
        else:
            out.append(Form((auto(step.rhs, names, VARIABLES),), hint=False))
    return tuple(out)


@cache
def two_estimator_presentation() -> Presentation:
    """The two-estimator page: D, MSE(a) term by term and through D, a* = (s_L - c)/D,
    MSE(a*), B(a) = D a (2a* - a), r (2 - r), D (1 - a*)^2."""
    d = two_estimator()
    bias, var = d.steps[0].rhs, d.steps[1].rhs
    names = (Name(Expect(THETA_A - theta), bias), Name(Var(THETA_A), var), *core_names(d))
    forms = core_forms(zero_c=False)
    # found automatically (the narrowest form, D and a* substituted back where defined
    # before the result); the tests check that they are the forms of PRESENTATION.md
    before = {"optimal_weight": names[2:3], "gain_fraction": (),
              "benefit_root_high": (names[2], names[4]), "benefit_factored": (names[2], names[4])}
    for key, known in before.items():
        forms[key] = Form((auto(d[key], known, VARIABLES),), forms[key].text, hint=False)
    mse_step = (Expect(THETA_A - theta) ** 2 + Var(THETA_A), *forms["mse_terms"].chain)
    steps = _steps(d, forms, names, [None, None, mse_step, "D", "dmse", "d2mse",
                                     "optimal_weight", "min_mse", "benefit",
                                     "benefit_factored", "gain_fraction",
                                     "personalization_value"])
    return Presentation(d.name, names, forms, steps, steps_results=(
        None, None, "mse_terms", "D", "dmse", "d2mse", "optimal_weight", "min_mse",
        "benefit", "benefit_factored", "gain_fraction", "personalization_value"))


@cache
def independent_presentation() -> Presentation:
    """The independent page (c = 0): a* = s_L/(s_L + s_G + Delta^2), MSE(a*) = (1 - a*) s_L,
    and the relative gain a* r (2 - r)."""
    d = independent()
    names = core_names(d, independent=True)
    forms = core_forms(zero_c=True)
    forms["optimal_weight"] = Form((s_L / (s_L + s_G + Delta**2),),
                                   "With $<c> = 0$ the optimal weight is")
    forms["min_mse"] = Form(((1 - A_STAR) * s_L, s_L * (s_G + Delta**2) / D),
                            "and the minimum mean squared error")
    forms["relative_gain_at_ratio"] = Form((A_STAR * r * (2 - r),),
                                           "The relative gain at $<a> = <r><a>^{*}$")
    steps = _steps(d, forms, names, ["optimal_weight", "min_mse", "relative_gain_at_ratio"])
    return Presentation(d.name, names, forms, steps,
                        steps_results=("optimal_weight", "min_mse", "relative_gain_at_ratio"))


def estimated_names() -> tuple[Name, ...]:
    """The named quantities of the estimated-weight page: the risks and expectations it
    shows unevaluated, then D, MSE, a*, B of the two-estimator derivation."""
    d = estimated_weights()
    gap = (G - L) ** 2
    risk_def = Expect(((1 - A_HAT) * E_L + A_HAT * (Delta + E_G)) ** 2)
    return (
        Name(Expect((THETA_AHAT - theta) ** 2, eta), d["conditional_risk"]),
        Name(Expect((THETA_AHAT - theta) ** 2), d["risk"]),
        Name(risk_def, d["risk_from_definitions"]),
        Name(Expect(MSE(A_HAT)), d["risk"]),
        Name(Expect(B(A_HAT)), d["expected_benefit"]),
        Name(Expect((A_HAT - A_STAR) ** 2), q),
        Name(Expect(A_HAT - A_STAR), m),
        Name(Expect(gap), d["naive_delta_sq_mean"]),
        Name(Expect(gap - s_L - s_G + 2 * c), d["unbiased_delta_sq_mean"]),
        *core_names(two_estimator()),
    )


ESTIMATED_WHERE = (
    Where(r"$\hat{<a>} = <a>^{*} + \eta$ is an estimated weight, independent of $L$ and $G$, "
          r"with estimation error $\eta$ of mean $m = \operatorname{E}[\eta]$ and mean square "
          r"$q = \operatorname{E}[\eta^{2}] = \operatorname{E}[(\hat{<a>} - <a>^{*})^{2}] "
          r"\geq m^{2}$",
          (eta, m, q, A_HAT)),
    Where(r"$e_{L} = L - <theta>$ and $e_{G} = G - <theta> - <Delta>$ are the estimators' "
          r"errors, and $u \in \mathbb{R}$ is an estimate of $<Delta>^{2}$", (E_L, E_G, u)),
)


@cache
def estimated_presentation() -> Presentation:
    """The estimated-weight page: the risk MSE(a*) + D q, the benefit D (a*^2 - q), and the
    naive plug-in's bias s_L + s_G - 2c."""
    d = estimated_weights()
    names = estimated_names()
    naive = s_L + s_G - 2 * c
    forms = {
        "a_star": Form(((s_L - c) / D,), "and the optimal weight"),
        "D": Form((naive + Delta**2,), "Recall the curvature of the mean squared error"),
        "conditional_risk": Form((MSE(A_STAR + eta), MSE(A_STAR) + D * eta**2),
                                 r"The risk given the estimation error $\eta$"),
        "risk": Form((MSE(A_STAR) + D * q,), "The risk of the estimated weight"),
        "risk_eta_coefficient": Form((sp.Subs(sp.Derivative(MSE(a), a), a, A_STAR), 0),
                                     r"The coefficient of $\eta$"),
        "risk_q_coefficient": Form((D,), r"The coefficient of $\eta^{2}$"),
        "risk_from_definitions": Form((MSE(A_STAR) + D * q,),
                                      "The same risk, from the definition of the error"),
        "expected_benefit": Form((D * (A_STAR**2 - q),), "The expected benefit"),
        "naive_delta_sq_mean": Form((D, naive + Delta**2),
                                    "The mean of the naive plug-in"),
        "naive_delta_sq_bias": Form((naive,), "The bias of the naive plug-in"),
        "unbiased_delta_sq_mean": Form((Delta**2,), "The mean of the corrected plug-in"),
    }
    steps = _steps(d, forms, names, [(MSE(A_STAR + eta),), "risk_eta_coefficient",
                                     "risk_q_coefficient", "risk", "expected_benefit",
                                     "naive_delta_sq_mean", "naive_delta_sq_bias",
                                     "unbiased_delta_sq_mean"])
    return Presentation(d.name, names, forms, steps, where=ESTIMATED_WHERE,
                        before=("D", "a_star"), steps_results=(
        None, "risk_eta_coefficient", "risk_q_coefficient", "risk", "expected_benefit",
        "naive_delta_sq_mean", "naive_delta_sq_bias", "unbiased_delta_sq_mean"))


def presentations_from(d: Derivation, names: Sequence[Name], variables: Sequence[sp.Symbol],
                       hints: Mapping[str, Form], where: Sequence[Where] = ()
                       ) -> Presentation:
    """A presentation with the ``hints`` given and automatic forms for the other results
    (scalar results only), steps mapped to the results they show."""
    forms: dict[str, Form] = {}
    for key, val in d.results.items():
        if isinstance(val, sp.MatrixBase):
            continue
        forms[key] = hints[key] if key in hints else Form((auto(val, names, variables),),
                                                          hint=False)
    results = list(d.results.items())
    mapped: list[str | None] = []
    steps = []
    for s in d.steps:
        key = next((k for k, v in results if v == s.rhs and k in forms), None)
        mapped.append(key)
        steps.append(Form(forms[key].chain, hint=forms[key].hint) if key else
                     Form((auto(s.rhs, names, variables),), hint=False))
    return Presentation(d.name, tuple(names), forms, tuple(steps), where=tuple(where),
                        steps_results=tuple(mapped))
