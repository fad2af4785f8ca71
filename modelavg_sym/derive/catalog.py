"""The derivations the report shows, listed explicitly in report order.

:func:`all_derivations` is the one list: ``regenerate`` turns each into a page
(``derivations/<name>.md``) and LaTeX equations.  Nothing registers itself on import; a
new derivation is added by adding its function to :data:`DERIVATIONS`.

The settings, N-estimator and multivariate pages each merge the scalar results and steps
of a few instances of their engines (:func:`merge`): the settings page shows the pooled
model with and without the local node (:func:`pooled_settings`: the local node and two
others), the N-estimator page K = 1 and 2, the multivariate page the scalar weight for
d = 2.  The theorems about these instances are in :mod:`modelavg_sym.theorems.settings`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

import sympy as sp

from modelavg_sym.derive import multivariate as mv
from modelavg_sym.derive import nestimators as ne
from modelavg_sym.derive import pageforms as pf
from modelavg_sym.derive import pageforms_more as pm
from modelavg_sym.derive import settings as S
from modelavg_sym.derive.core import Derivation, Step, independent, two_estimator
from modelavg_sym.derive.estimated import estimated_weights
from modelavg_sym.derive.presentation import Presentation
from modelavg_sym.derive.settingfile import package_setting

DerivationFn = Callable[[], Derivation]


def merge(name: str, title: str, parts: Sequence[tuple[str, Derivation]]) -> Derivation:
    """One page for several derivations: their scalar results, renamed
    ``<prefix>_<result>``, and their scalar steps (matrix-valued results stay in the
    Python API; the page shows the theorems about their entries)."""
    results: dict[str, sp.Basic] = {}
    steps: list[Step] = []
    for prefix, d in parts:
        for key, val in d.results.items():
            if isinstance(val, sp.Expr) and not isinstance(val, sp.MatrixBase):
                results[f"{prefix}_{key}"] = val
        steps += [s for s in d.steps if not isinstance(s.rhs, sp.MatrixBase)]
    return Derivation(name=name, title=title, results=results, steps=tuple(steps))


@cache
def pooled_settings() -> tuple[S.Setting, S.Setting]:
    """The global model pooled over the two other nodes (``other_nodes``) and over all
    three nodes (``pooled_with_local``), for symbolic sizes n_i, variances v_i and means
    mu_i: the package's own setting files ``modelavg_sym/settings/<name>.toml``, read
    like a user's (:func:`modelavg_sym.derive.settingfile.package_setting`)."""
    return package_setting("other_nodes"), package_setting("pooled_with_local")


@cache
def settings_derivation() -> Derivation:
    """Settings engine: s_L, s_G, c, Delta and the two-estimator results of the pooled
    models with and without the local node."""
    excl, incl = pooled_settings()
    return merge("settings", "Settings: $<s_L>$, $<s_G>$, $<c>$ and $<Delta>$ derived from "
                 "node data (two other nodes; pooled with and without the local node)",
                 [("excl", excl.derivation()), ("incl", incl.derivation())])


@cache
def nestimators_derivation() -> Derivation:
    """N estimators: the best affine combination for K = 1 and K = 2 (independent)."""
    return merge("nestimators", "$N$ estimators: the best affine combination ($K = 1, 2$; "
                 "independent estimators)", [("K1", ne.symbolic(1)), ("K2", ne.symbolic(2))])


@cache
def multivariate_derivation() -> Derivation:
    """Multivariate parameters (d = 2): the scalar weight with traces."""
    return merge("multivariate", "Multivariate parameters ($d = 2$): a scalar weight, with "
                 "traces", [("scalar", mv.symbolic_scalar_weight(2))])


#: Every derivation the report shows, in report order.
DERIVATIONS: tuple[DerivationFn, ...] = (
    two_estimator,
    independent,
    estimated_weights,
    settings_derivation,
    nestimators_derivation,
    multivariate_derivation,
)


def all_derivations() -> list[DerivationFn]:
    """The derivation functions of :data:`DERIVATIONS`, in report order (each is cached:
    calling it derives once per process)."""
    return list(DERIVATIONS)


# ----------------------------------------------------------------------- presentations


@cache
def _settings_presentation() -> Presentation:
    excl, incl = pooled_settings()
    return pm.settings_presentation([("excl", excl), ("incl", incl)], settings_derivation())


@cache
def _nestimators_presentation() -> Presentation:
    return pm.nestimators_presentation([("K1", 1, ne.symbolic(1)), ("K2", 2, ne.symbolic(2))],
                                       nestimators_derivation())


@cache
def _multivariate_presentation() -> Presentation:
    return pm.multivariate_presentation("scalar", multivariate_derivation(), 2)


#: How each derivation of :data:`DERIVATIONS` is shown, by derivation name.
PRESENTATIONS: dict[str, Callable[[], Presentation]] = {
    "two_estimator": pf.two_estimator_presentation,
    "independent": pf.independent_presentation,
    "estimated_weights": pf.estimated_presentation,
    "settings": _settings_presentation,
    "nestimators": _nestimators_presentation,
    "multivariate": _multivariate_presentation,
}


def presentation(d: Derivation | str) -> Presentation:
    """The presentation of derivation ``d`` (a :data:`DERIVATIONS` member, or its name):
    named quantities, a checked form per result and step, where lines.  A derivation
    without a registered presentation gets automatic forms for its scalar results."""
    name = d if isinstance(d, str) else d.name
    if not isinstance(d, str) and d.presentation is not None:  # a setting file's own
        pres = d.presentation()
        assert isinstance(pres, Presentation)
        return pres
    if name in PRESENTATIONS:
        return PRESENTATIONS[name]()
    if isinstance(d, str):
        raise KeyError(f"no derivation named {d!r} has a presentation; known: "
                       f"{', '.join(PRESENTATIONS)}")
    return pf.presentations_from(d, (), pf.VARIABLES, {})
