"""How the settings, N-estimator and multivariate pages are shown.

A setting's page first gives s_L, s_G, c and Delta in the setting's own parameters (node
sizes n_i, variances v_i, means mu_i, with N = n_1 + n_2 the other nodes' data), then
states a*, MSE(a*), B and the rest through them, with the derived quantities D and a*
carrying the setting's subscript (a*_excl): never a 20-term denominator in mu_i, n_i, v_i.
The N-estimator page writes the optimum through the sums P, Q, R of the Sherman-Morrison
form; the multivariate page through traces.  Every form is checked equal to the derived
value like those of :mod:`modelavg_sym.derive.pageforms`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from modelavg_sym.algebra.moments import expectation
from modelavg_sym.derive import multivariate as mv
from modelavg_sym.derive import nestimators as ne
from modelavg_sym.derive import settings as S
from modelavg_sym.derive.core import Derivation, two_estimator
from modelavg_sym.derive.display import A_STAR, THETA_A, D, SqNorm, Tr
from modelavg_sym.derive.pageforms import core_forms, setting_core_forms
from modelavg_sym.derive.presentation import Form, Name, Presentation, Where, auto
from modelavg_sym.symbols import Delta, c, s_G, s_L

__all__ = ["multivariate_presentation", "nestimators_presentation", "settings_presentation"]

#: N = n_1 + n_2, the number of samples at the other nodes.
N = sp.Symbol("N", positive=True)
#: Sums of the Sherman-Morrison form of the N-estimator optimum.
P, Q, R = sp.symbols("P Q R", real=True)
LAMBDA = sp.Symbol("lambda", real=True)

SETTINGS_WHERE = (
    Where(r"Nodes $i = 0, 1, 2$ hold $n_{i} > 0$ samples of mean $\mu_{i} \in \mathbb{R}$ "
          r"and per-sample variance $v_{i} > 0$, independently; node $0$ is the local node, "
          r"whose mean is the target, $<theta> = \mu_{0}$",
          (*S.node_symbols(2)[0], *S.node_symbols(2)[1], *S.node_symbols(2)[2])),
    Where(r"$N = n_{1} + n_{2}$ is the number of samples at the other nodes", (N,)),
    Where(r"$<theta>_{<a>} = (1 - <a>) L + <a> G$ is the weighted average; in the theorem "
          r"on a known global mean $\mu$, the local node's mean is random with variance "
          r"$\tau^{2}$ ($\tau > 0$); in those on the games of Donahue and Kleinberg, node "
          r"means are drawn with variance $\sigma^{2}$ ($\sigma > 0$), per-sample noise has "
          r"variance of mean $\mu_{e} > 0$, $w$ is the coarse-grained weight on the local "
          r"model (optimum $w^{*}$) and $u_{i}$ are the fine-grained weights",
          (THETA_A, S.tau, S.mu, S.sigma, S.mu_e, S.w, sp.Symbol("w^*", real=True))),
)


def _qualified(prefix: str) -> tuple[sp.Symbol, sp.Symbol]:
    """D and a* of the setting ``prefix`` (``D_{excl}``, ``a^*_{excl}``)."""
    return (sp.Symbol(f"D_{{{prefix}}}", real=True),
            sp.Symbol(f"a^*_{{{prefix}}}", real=True))


def _setting_part(prefix: str, setting: S.Setting) -> dict[str, Form]:
    """The forms of one setting's results (keys ``<prefix>_<result>``)."""
    d = setting.derivation()
    pop = setting.population
    others = sum(pop.n[1:])
    D_q, A_q = _qualified(prefix)
    zero_c = setting.cov == 0
    a_star = two_estimator()["optimal_weight"]
    names = (Name(N, others), Name(s_L, setting.var_local), Name(s_G, setting.var_global),
             Name(c, setting.cov), Name(Delta, setting.bias),
             Name(D_q, two_estimator()["D"]), Name(A_q, a_star.subs(two_estimator()["D"], D_q)))
    target = pop.mean[setting.target]
    weight = (s_L - c) / two_estimator()["D"]
    mean_g = sp.together(expectation(setting.global_)).subs(others, N)
    core = {k: Form(tuple(sp.sympify(f).xreplace({D: D_q, A_STAR: A_q}) for f in form.chain),
                    form.text) for k, form in core_forms(zero_c).items()}
    hints = {
        "var_local": Form((setting.var_local,), f"{setting.title}.  The local variance"),
        "var_global": Form((auto(setting.var_global, names[:1]),),
                           "the variance of the global model"),
        "cov": Form((auto(setting.cov, names[:1]),), "their covariance"),
        "bias": Form((mean_g - target,), "and the bias of the global model"),
        "bias_sq": Form((Delta**2,), "The expected squared bias (the node means are fixed)"),
        **setting_core_forms(core, weight, zero_c),
    }
    missing = set(d.results) - set(hints)
    if missing:  # pragma: no cover - a result added to settings without a form
        raise AssertionError(f"no presentation form for setting results {sorted(missing)}")
    return {f"{prefix}_{k}": Form(hints[k].chain, hints[k].text, names=names)
            for k in d.results}


def settings_presentation(parts: Sequence[tuple[str, S.Setting]],
                          merged: Derivation) -> Presentation:
    """The settings page: each setting's moments in its parameters, then its results
    through them (steps are the results ``var_local`` ... ``min_mse`` of each part)."""
    forms: dict[str, Form] = {}
    mapped: list[str] = []
    for prefix, setting in parts:
        forms |= _setting_part(prefix, setting)
        bias = "bias" if setting.population.spread is None else "bias_sq"
        mapped += [f"{prefix}_{k}" for k in ("var_local", "var_global", "cov", bias,
                                               "optimal_weight", "min_mse")]
    if len(mapped) != len(merged.steps):  # pragma: no cover - steps changed in settings.py
        raise AssertionError("settings steps no longer match their results")
    steps = tuple(forms[k] for k in mapped)
    return Presentation(merged.name, (), forms, steps, where=SETTINGS_WHERE,
                        steps_results=tuple(mapped))


# --------------------------------------------------------------------------- N estimators


def _nestimator_part(prefix: str, K: int, d: Derivation) -> dict[str, Form]:
    """w*_i = (1 + R - b_i Q) / (s_i (P (1 + R) - Q^2)), MSE(w*) = (1 + R)/(P (1 + R) - Q^2)
    with P = sum 1/s_i, Q = sum b_i/s_i, R = sum b_i^2/s_i (Sherman-Morrison)."""
    s, b, w = ne.estimator_symbols(K)
    idx = range(K + 1)
    names = (Name(P, sum(1 / s[i] for i in idx)), Name(Q, sum(b[i] / s[i] for i in idx)),
             Name(R, sum(b[i] ** 2 / s[i] for i in idx)))
    denom = P * (1 + R) - Q**2
    minimum = (1 + R) / denom
    forms = {"mse": Form((sum(b[i] * w[i] for i in idx) ** 2
                          + sum(s[i] * w[i] ** 2 for i in idx),),
                         f"With ${K + 1}$ estimators, the mean squared error, by linearity"),
             "multiplier": Form((minimum,), "the multiplier"),
             "min_mse": Form((minimum,), "and the minimum mean squared error")}
    for i in idx:
        forms[f"weight_{i}"] = Form(((1 + R - b[i] * Q) / (s[i] * denom),),
                                    "the optimal weights" if i == 0 else "")
    return {f"{prefix}_{k}": Form(forms[k].chain, forms[k].text, names=names)
            for k in d.results if k in forms}


def nestimators_presentation(parts: Sequence[tuple[str, int, Derivation]],
                             merged: Derivation) -> Presentation:
    """The N-estimator page (independent estimators, K = 1 and 2)."""
    forms: dict[str, Form] = {}
    mapped: list[str] = []
    for prefix, K, d in parts:
        forms |= _nestimator_part(prefix, K, d)
        mapped += [f"{prefix}_{k}" for k in ("mse", "multiplier", "min_mse")]
    steps = tuple(forms[k] for k in mapped)
    K = max(k for _p, k, _d in parts)
    s, b, w = ne.estimator_symbols(K)
    where = (
        Where(r"Estimators $T_{0}, \dots, T_{K}$ of $<theta>$ are independent, with variances "
              r"$s_{i} > 0$ and biases $b_{i} \in \mathbb{R}$; $w_{i} \in \mathbb{R}$ are "
              r"weights with $\sum_{i} w_{i} = 1$, $w^{*}$ the optimal ones, and $\lambda$ is "
              "the Lagrange multiplier", (*s, *b, *w, LAMBDA, sp.Symbol("w^*"))),
        Where(r"$P = \sum_{i} 1/s_{i}$, $Q = \sum_{i} b_{i}/s_{i}$ and "
              r"$R = \sum_{i} b_{i}^{2}/s_{i}$, sums over $i = 0, \dots, K$", (P, Q, R)),
    )
    return Presentation(merged.name, (), forms, steps, where=where,
                        steps_results=tuple(mapped))


# --------------------------------------------------------------------------- multivariate

S_L_M, S_G_M, C_M = sp.symbols("S_L S_G C", real=True)


def multivariate_presentation(prefix: str, d: Derivation, dim: int) -> Presentation:
    """The scalar weight for theta in R^d: the two-estimator forms with s_L, s_G, c and
    Delta^2 replaced by tr S_L, tr S_G, tr C and |Delta|^2."""
    SL, SG, C, bias = mv.symbolic_matrices(dim)
    names = (Name(Tr(S_L_M), SL.trace()), Name(Tr(S_G_M), SG.trace()), Name(Tr(C_M), C.trace()),
             Name(SqNorm(Delta), (bias.T * bias)[0, 0]))
    traces = {s_L: Tr(S_L_M), s_G: Tr(S_G_M), c: Tr(C_M)}
    core = core_forms(zero_c=False)

    def in_traces(e: sp.Basic) -> sp.Basic:
        return sp.sympify(e).xreplace({Delta**2: SqNorm(Delta)}).xreplace(traces)

    d_tr = in_traces(two_estimator()["D"])
    a_tr = in_traces(s_L - c) / d_tr
    forms = {f"{prefix}_mse": Form((in_traces(core["mse_terms"].chain[0]),),
                                   "The mean squared error summed over the coordinates"),
             f"{prefix}_optimal_weight": Form((a_tr,), "the optimal weight"),
             f"{prefix}_min_mse": Form((in_traces(s_L) - in_traces(s_L - c) ** 2 / d_tr,),
                                       "and the minimum mean squared error")}
    entries = [*SL, *SG, *C, *bias]
    where = (
        Where(rf"$<theta> \in \mathbb{{R}}^{{{dim}}}$; $L$ and $G$ have covariance matrices "
              r"$S_{L}$ and $S_{G}$ and cross-covariance $C = \operatorname{Cov}(L, G)$ "
              r"(entries $(S_{L})_{ij}$, $(S_{G})_{ij}$, $C_{ij}$), and $G$ has bias vector "
              r"$<Delta>$ with entries $<Delta>_{i}$",
              (*sorted({e for e in entries if isinstance(e, sp.Symbol)}, key=str),
               S_L_M, S_G_M, C_M)),
        Where(r"In the theorems on the matrix weight $A$ (optimum $A^{*}$), $S_{G}$ is "
              r"replaced by $M = \operatorname{E}[(G - L)(G - L)^{\top}] = S_{L} + S_{G} - C "
              r"- C^{\top} + <Delta> <Delta>^{\top}$, with entries $M_{ij}$",
              tuple(sp.Symbol(f"M_{i}{j}", real=True) for i in range(1, dim + 1)
                    for j in range(i, dim + 1))),
    )
    mapped = (f"{prefix}_mse", f"{prefix}_optimal_weight")
    steps = tuple(forms[k] for k in mapped)
    return Presentation(d.name if not prefix else "multivariate", names, forms, steps,
                        where=where, steps_results=mapped)
