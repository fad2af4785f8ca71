"""How a single setting's derivation is shown (a setting file's page).

As PRESENTATION.md asks for settings: first s_L, s_G, c and Delta (E[Delta^2] when the node
means are random) in the setting's own parameters, then a*, MSE(a*), B, the beneficial
interval, the global model and the value of personalization through s_L, s_G, c, Delta
(or E[Delta^2]) and D -- never expanded in the node parameters.  Every form is checked
equal to the derived value by the setting's ``presentation_setting_<name>`` theorem
(:mod:`modelavg_sym.theorems.settingfile`).
"""

from __future__ import annotations

import sympy as sp

from modelavg_sym.derive.core import Derivation, two_estimator
from modelavg_sym.derive.display import A_STAR, MSE, D, Expect
from modelavg_sym.derive.pageforms import core_forms, setting_core_forms
from modelavg_sym.derive.presentation import Form, Name, Presentation, Where, auto
from modelavg_sym.derive.settings import Setting
from modelavg_sym.symbols import Delta, a, c, s_G, s_L

__all__ = ["EXPECTED_DELTA_SQ", "setting_names", "setting_presentation"]

#: E[Delta^2], shown for settings with random node means.
EXPECTED_DELTA_SQ = Expect(Delta**2)


def _bias_square(setting: Setting) -> sp.Basic:
    """Delta^2, or E[Delta^2] when the node means are random."""
    return Delta**2 if setting.population.spread is None else EXPECTED_DELTA_SQ


def setting_names(setting: Setting) -> tuple[Name, ...]:
    """s_L, s_G, c, Delta (or E[Delta^2]), D, a* and MSE(a) with their values in the setting."""
    core = two_estimator()
    sq = _bias_square(setting)
    bias = (Name(Delta, setting.bias) if setting.population.spread is None
            else Name(EXPECTED_DELTA_SQ, setting.bias_sq))
    return (Name(s_L, setting.var_local), Name(s_G, setting.var_global), Name(c, setting.cov),
            bias, Name(D, core["D"].xreplace({Delta**2: sq})),
            Name(A_STAR, (s_L - c) / D),
            Name(MSE, sp.Lambda(a, s_L - 2 * a * (s_L - c) + a**2 * D)))


def _assumption_text(setting: Setting) -> str:
    """The symbols' assumptions in words and LaTeX (``$n_{0}, n_{1} > 0$ integers``)."""
    groups: dict[tuple[str, bool], list[str]] = {}
    for sym in setting.symbols():
        rel = ("> 0" if sym.is_positive else "\\geq 0" if sym.is_nonnegative
               else "\\in \\mathbb{R}")
        groups.setdefault((rel, bool(sym.is_integer)), []).append(sp.latex(sym))
    parts = [f"${', '.join(syms)} {rel}$" + (" (integers)" if integer else "")
             for (rel, integer), syms in groups.items()]
    return "; ".join(parts)


def _where(setting: Setting) -> tuple[Where, ...]:
    pop = setting.population
    k = len(pop.n) - 1
    means = ("random: each is its given mean plus an independent zero-mean effect of "
             "variance $" + sp.latex(pop.spread) + "$" if pop.spread is not None else "fixed")
    return (Where(f"Nodes $i = 0, \\dots, {k}$ hold independent samples with the sizes, "
                  f"per-sample variances and means of the setting file; the node means "
                  f"are {means}; node ${setting.target}$ is the local node, whose mean is "
                  "the target $<theta>$; " + _assumption_text(setting),
                  setting.symbols()),)


def setting_presentation(setting: Setting, d: Derivation) -> Presentation:
    """The page of ``setting`` (its derivation ``d`` = ``setting.derivation()``)."""
    names = setting_names(setting)
    zero_c = setting.cov == 0
    sq = _bias_square(setting)
    core = {k: Form(tuple(sp.sympify(f).xreplace({Delta**2: sq}) for f in form.chain),
                    form.text) for k, form in core_forms(zero_c).items()}
    weight = (s_L - c) / D
    hints = {
        "var_local": Form((auto(setting.var_local),), f"{setting.title}.  The local variance"),
        "var_global": Form((auto(setting.var_global),), "the variance of the global model"),
        "cov": Form((auto(setting.cov),), "their covariance"),
        "bias": Form((auto(setting.bias),), "and the bias of the global model"
                     if setting.population.spread is None else
                     "the expected bias of the global model over the node means"),
        "bias_sq": (Form((Delta**2,), "The squared bias (the node means are fixed)")
                    if setting.population.spread is None else
                    Form((auto(setting.bias_sq),), "and its expected squared bias")),
        **setting_core_forms(core, weight, zero_c),
    }
    forms = {k: hints[k] if k in hints else Form((auto(v, names),), hint=False)
             for k, v in d.results.items() if not isinstance(v, sp.MatrixBase)}
    bias = "bias" if setting.population.spread is None else "bias_sq"
    mapped = ["var_local", "var_global", "cov", bias, "optimal_weight", "min_mse"]
    if len(mapped) != len(d.steps):  # pragma: no cover - steps changed in settings.py
        raise AssertionError("setting steps no longer match their results")
    return Presentation(d.name, names, forms, tuple(forms[k] for k in mapped),
                        where=_where(setting), steps_results=tuple(mapped))
