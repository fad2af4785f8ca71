"""Theorems as data: the registry every verification route and every report reads.

A :class:`Theorem` has a stable ``name``, ``assumptions`` (sympy relations over its free
variables), a ``claim`` (an ``Eq`` identity or a sympy Boolean formula of relations:
``And``, ``Or``, ``Implies``, ``Equivalent``), a one-sentence ``statement``, and the
verification ``routes`` that apply.  The claims are written in terms of *derived*
expressions (a*, MSE, B from :mod:`modelavg_sym.derive.core`), so a theorem states a property
of what the engine derived; the routes check it independently.

Other modules (settings, multivariate, estimated weights, ...) add theorems through
:func:`register`; :func:`all_theorems` imports every provider so the registry is complete
and ordered deterministically (provider order, then registration order).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import sympy as sp

from modelavg_sym.derive.core import independent, two_estimator
from modelavg_sym.symbols import Delta, a, base_assumptions, c, r, s_G, s_L

Route = Literal["symbolic", "smt", "rational", "float", "montecarlo"]
ALL_ROUTES: tuple[Route, ...] = ("symbolic", "smt", "rational", "float", "montecarlo")


@dataclass(frozen=True)
class Theorem:
    """One registered result.

    Attributes:
        name: stable identifier (LaTeX label ``thm:<name>``, file names, CLI output).
        statement: one sentence in words.
        assumptions: sympy relations that must hold (the hypotheses).
        claim: ``sp.Eq`` (an identity) or a Boolean formula of relations.
        variables: the universally quantified symbols, in a fixed order.
        routes: verification routes that apply.
        source: MATH.md result id (``R4``) or other reference.
        derivation: name of the derivation the theorem belongs to.
        functions: compiled API functions the theorem concerns (checked by the float route).
        false_variant: a deliberately false (assumptions, claim) pair, used to show that the
            proof route can fail; ``None`` to use the default (drop the last assumption).
        expected_unknown: reason why the SMT route may return ``unknown`` (else ``None``).
        witness: optional mapping from symbol to expression used by samplers to draw
            interesting values (for example ``a -> r * a*``), as ``{symbol: expr}``.
    """

    name: str
    statement: str
    assumptions: tuple[sp.Basic, ...]
    claim: sp.Basic
    variables: tuple[sp.Symbol, ...]
    routes: tuple[Route, ...] = ("symbolic", "smt", "rational", "float")
    source: str = ""
    derivation: str = "two_estimator"
    functions: tuple[str, ...] = ()
    false_variant: tuple[tuple[sp.Basic, ...], sp.Basic] | None = None
    expected_unknown: str | None = None
    witness: Mapping[sp.Symbol, sp.Expr] = field(default_factory=dict)

    @property
    def is_identity(self) -> bool:
        """True when the claim is an equation lhs = rhs (checked by simplification)."""
        return isinstance(self.claim, sp.Equality)


_REGISTRY: dict[str, Theorem] = {}

#: Modules that register theorems when imported, in report order.
PROVIDERS: list[str] = ["modelavg_sym.theorems", "modelavg_sym.theorems.estimated",
                        "modelavg_sym.theorems.settings"]


def register(thm: Theorem) -> Theorem:
    """Add a theorem; names must be unique."""
    if thm.name in _REGISTRY and _REGISTRY[thm.name] != thm:
        raise ValueError(f"theorem name {thm.name!r} is already registered")
    if thm.claim in (sp.true, sp.false):
        raise ValueError(f"theorem {thm.name!r}: claim evaluated to {thm.claim} when built; "
                         "use sp.Eq(..., evaluate=False) so the routes can check it")
    unknown = set(thm.routes) - set(ALL_ROUTES)
    if unknown:
        raise ValueError(f"theorem {thm.name!r}: unknown routes {sorted(unknown)}")
    free = set().union(*(x.free_symbols for x in (*thm.assumptions, thm.claim)))
    if not free <= set(thm.variables):
        raise ValueError(
            f"theorem {thm.name!r}: symbols {sorted(map(str, free - set(thm.variables)))} "
            "are not declared in variables"
        )
    _REGISTRY[thm.name] = thm
    return thm


def add_provider(module: str) -> None:
    """Declare a module that registers theorems on import (idempotent)."""
    if module not in PROVIDERS:
        PROVIDERS.append(module)


def all_theorems() -> dict[str, Theorem]:
    """Every registered theorem, after importing all providers."""
    for mod in PROVIDERS:
        importlib.import_module(mod)
    return dict(_REGISTRY)


def get(name: str) -> Theorem:
    """The theorem called ``name``."""
    thms = all_theorems()
    if name not in thms:
        raise KeyError(f"no theorem named {name!r}; known: {', '.join(thms)}")
    return thms[name]


# ---------------------------------------------------------------------------------------
# The two-estimator theorems (MATH.md section 1).  Expressions come from the derivation.
# ---------------------------------------------------------------------------------------

_d = two_estimator()
_i = independent()
A_STAR = _d["optimal_weight"]
D = _d["D"]


def mse_at(x: sp.Expr, d=_d) -> sp.Expr:
    """The derived MSE evaluated at weight x."""
    return d["mse"].subs(a, x)


def benefit_at(x: sp.Expr, d=_d) -> sp.Expr:
    """The derived benefit B(x) = MSE(0) - MSE(x)."""
    return d["benefit"].subs(a, x)


_BASE = tuple(base_assumptions())
_VARS = (s_L, s_G, Delta, c, a)
_VARS_IND = (s_L, s_G, Delta, a)
_IND = (sp.Ge(s_L, 0), sp.Ge(s_G, 0))
_Dpos = sp.Gt(D, 0)
_A_IND = _i["optimal_weight"]
_D_IND = _i["D"]


def _identity(lhs: sp.Expr, rhs: sp.Expr) -> sp.Equality:
    """``lhs = rhs`` kept unevaluated, so that an identity sympy can already see stays a
    claim for the routes to check (``sp.Eq`` would collapse it to ``True``)."""
    return sp.Eq(lhs, rhs, evaluate=False)


def _between(x: sp.Expr, lo: sp.Expr, hi: sp.Expr) -> sp.Basic:
    """x strictly between lo and hi, whichever is larger."""
    return sp.Or(sp.And(lo < x, x < hi), sp.And(hi < x, x < lo))


def _core_theorems() -> list[Theorem]:
    out: list[Theorem] = []
    add: Callable[..., None] = lambda **kw: out.append(Theorem(**kw))  # noqa: E731

    add(
        name="mse_decomposition",
        source="R1",
        statement="The MSE of the weighted average is (1-a)^2 s_L + a^2 (s_G + Delta^2) "
        "+ 2a(1-a)c, which equals s_L - 2a(s_L - c) + a^2 D.",
        assumptions=_BASE,
        claim=_identity(
            _d["mse"], (1 - a) ** 2 * s_L + a**2 * (s_G + Delta**2) + 2 * a * (1 - a) * c
        ),
        variables=_VARS,
        functions=("mse",),
        routes=("symbolic", "smt", "rational", "float", "montecarlo"),
    )
    add(
        name="mse_in_terms_of_D",
        source="R1",
        statement="MSE(a) = s_L - 2a(s_L - c) + a^2 D with D = E[(G - L)^2].",
        assumptions=_BASE,
        claim=_identity(_d["mse"], s_L - 2 * a * (s_L - c) + a**2 * D),
        variables=_VARS,
        functions=("mse",),
        routes=("symbolic", "smt", "rational", "float"),
    )
    add(
        name="second_derivative_is_2D",
        source="R2",
        statement="The MSE is a quadratic in a whose second derivative is 2D, so it is "
        "strictly convex when D > 0.",
        assumptions=_BASE,
        claim=_identity(_d["d2mse"], 2 * D),
        variables=_VARS,
        functions=("mse",),
        routes=("symbolic", "smt", "rational", "float"),
    )
    add(
        name="D_nonnegative",
        source="R1",
        statement="D = s_L + s_G - 2c + Delta^2 is nonnegative under the Cauchy-Schwarz bound.",
        assumptions=_BASE,
        claim=sp.Ge(D, 0),
        variables=(s_L, s_G, Delta, c),
        functions=("optimal_weight",),
        false_variant=(_BASE[:2], sp.Ge(D, 0)),
    )
    add(
        name="optimal_weight_unique_minimiser",
        source="R2",
        statement="When D > 0, a* = (s_L - c)/D is the unique minimiser of the MSE: every "
        "other weight has strictly larger MSE.",
        assumptions=(*_BASE, _Dpos),
        claim=sp.Implies(sp.Ne(a, A_STAR), mse_at(a) > mse_at(A_STAR)),
        variables=_VARS,
        functions=("optimal_weight", "mse", "min_mse"),
        false_variant=(
            (*_BASE, _Dpos),
            sp.Implies(sp.Ne(a, A_STAR / 2), mse_at(a) > mse_at(A_STAR / 2)),
        ),
        witness={a: r * A_STAR},
    )
    add(
        name="mse_quadratic_form",
        source="R3",
        statement="MSE(a) = MSE(a*) + D (a - a*)^2.",
        assumptions=(*_BASE, _Dpos),
        claim=_identity(mse_at(a), _d["min_mse"] + D * (a - A_STAR) ** 2),
        variables=_VARS,
        functions=("mse", "min_mse"),
    )
    add(
        name="min_mse_closed_form",
        source="R3",
        statement="MSE(a*) = s_L - (s_L - c)^2 / D.",
        assumptions=(*_BASE, _Dpos),
        claim=_identity(_d["min_mse"], s_L - (s_L - c) ** 2 / D),
        variables=(s_L, s_G, Delta, c),
        functions=("min_mse",),
    )
    add(
        name="min_mse_stable_form",
        source="R3",
        statement="MSE(a*) = s_L (1 - a*) + c a*: the minimum is linear in a* once the "
        "first-order condition D a* = s_L - c is used.",
        assumptions=(*_BASE, _Dpos),
        claim=_identity(_d["min_mse"], _d["min_mse_stable"]),
        variables=(s_L, s_G, Delta, c),
        functions=("min_mse",),
    )
    add(
        name="benefit_factorisation",
        source="R4",
        statement="The benefit of averaging is B(a) = MSE(0) - MSE(a) = D a (2a* - a).",
        assumptions=(*_BASE, _Dpos),
        claim=_identity(_d["benefit"], D * a * (2 * A_STAR - a)),
        variables=_VARS,
        functions=("benefit",),
        witness={a: r * A_STAR},
        routes=("symbolic", "smt", "rational", "float", "montecarlo"),
    )
    add(
        name="benefit_shape",
        source="R4",
        statement="B(a) = D a*^2 [1 - (1 - a/a*)^2]: the benefit depends on the weight only "
        "through its ratio to the optimal weight.",
        assumptions=(*_BASE, _Dpos, sp.Ne(s_L, c)),
        claim=_identity(_d["benefit"], D * A_STAR**2 * (1 - (1 - a / A_STAR) ** 2)),
        variables=_VARS,
        functions=("benefit",),
        witness={a: r * A_STAR},
    )
    add(
        name="beneficial_iff_between",
        source="R5",
        statement="For D > 0, averaging strictly helps (B(a) > 0) exactly when a lies strictly "
        "between 0 and 2a*.",
        assumptions=(*_BASE, _Dpos),
        claim=sp.Equivalent(benefit_at(a) > 0, _between(a, 0, 2 * A_STAR)),
        variables=_VARS,
        functions=("benefit", "beneficial_interval"),
        false_variant=(
            (*_BASE, _Dpos),
            sp.Equivalent(benefit_at(a) > 0, _between(a, 0, 3 * A_STAR)),
        ),
        witness={a: r * A_STAR},
    )
    add(
        name="benefit_zero_at_endpoints",
        source="R5",
        statement="B(2a*) = 0: the benefit vanishes at the far end of the beneficial interval "
        "(B(0) = 0 holds by definition, B being MSE(0) - MSE(a)).",
        assumptions=(*_BASE, _Dpos),
        claim=_identity(benefit_at(2 * A_STAR), 0),
        variables=(s_L, s_G, Delta, c),
        functions=("benefit",),
        routes=("symbolic", "smt", "rational", "float"),
    )
    add(
        name="negative_benefit_outside",
        source="R5",
        statement="For D > 0, any weight outside the closed interval between 0 and 2a* makes "
        "the average strictly worse than the local model (negative benefit).",
        assumptions=(*_BASE, _Dpos),
        claim=sp.Implies(
            sp.Or(sp.And(a < 0, a < 2 * A_STAR), sp.And(a > 0, a > 2 * A_STAR)), benefit_at(a) < 0
        ),
        variables=_VARS,
        functions=("benefit",),
        false_variant=(
            (*_BASE, _Dpos),
            sp.Implies(
                sp.Or(sp.And(a < 0, a < A_STAR), sp.And(a > 0, a > A_STAR)), benefit_at(a) < 0
            ),
        ),
        witness={a: r * A_STAR},
    )
    add(
        name="gain_fraction",
        source="R6",
        statement="At a = r a*, the fraction of the best possible gain obtained is r (2 - r).",
        assumptions=(*_BASE, _Dpos, sp.Ne(s_L, c)),
        claim=_identity(benefit_at(r * A_STAR) / benefit_at(A_STAR), r * (2 - r)),
        variables=(s_L, s_G, Delta, c, r),
        functions=("benefit",),
    )
    add(
        name="relative_gain_independent",
        source="R6",
        derivation="independent",
        statement="With c = 0 and a = r a*, the relative gain B(a)/MSE(0) is a* r (2 - r).",
        assumptions=(*_IND, sp.Gt(s_L, 0)),
        claim=_identity(benefit_at(r * _A_IND, _i) / _i["mse_local"], _A_IND * r * (2 - r)),
        variables=(s_L, s_G, Delta, r),
        functions=("benefit", "optimal_weight"),
    )
    add(
        name="independent_weight_in_unit_interval",
        source="R7",
        derivation="independent",
        statement="With independent estimators (c = 0) the optimal weight lies in [0, 1].",
        assumptions=(*_IND, sp.Gt(_D_IND, 0)),
        claim=sp.And(_A_IND >= 0, _A_IND <= 1),
        variables=(s_L, s_G, Delta),
        functions=("optimal_weight",),
        false_variant=((*_IND, sp.Gt(_D_IND, 0)), sp.And(_A_IND > 0, _A_IND <= 1)),
    )
    add(
        name="headline_positive_weight_helps",
        source="R7",
        derivation="independent",
        statement="Headline theorem: if the local variance is non-zero (s_L > 0) and c = 0, "
        "then a* > 0 and every weight a in (0, 2a*) has MSE(a) < MSE(0).",
        assumptions=(sp.Gt(s_L, 0), sp.Ge(s_G, 0)),
        claim=sp.And(
            _A_IND > 0, sp.Implies(sp.And(a > 0, a < 2 * _A_IND), mse_at(a, _i) < mse_at(0, _i))
        ),
        variables=_VARS_IND,
        functions=("optimal_weight", "mse", "benefit"),
        false_variant=(
            (sp.Ge(s_L, 0), sp.Ge(s_G, 0), sp.Gt(_D_IND, 0)),
            sp.And(
                _A_IND > 0, sp.Implies(sp.And(a > 0, a < 2 * _A_IND), mse_at(a, _i) < mse_at(0, _i))
            ),
        ),
        witness={a: r * _A_IND},
        routes=("symbolic", "smt", "rational", "float", "montecarlo"),
    )
    add(
        name="independent_weight_positive_iff_local_variance",
        source="R7",
        derivation="independent",
        statement="With c = 0 and D > 0, a* > 0 if and only if s_L > 0: no averaging helps a "
        "local model that has no variance.",
        assumptions=(*_IND, sp.Gt(_D_IND, 0)),
        claim=sp.Equivalent(_A_IND > 0, s_L > 0),
        variables=(s_L, s_G, Delta),
        functions=("optimal_weight",),
        false_variant=((*_IND, sp.Gt(_D_IND, 0)), sp.Equivalent(_A_IND > 0, s_G > 0)),
    )
    add(
        name="independent_weight_one_iff",
        source="R7",
        derivation="independent",
        statement="With c = 0 and s_L > 0, a* = 1 exactly when s_G + Delta^2 = 0.",
        assumptions=(sp.Gt(s_L, 0), sp.Ge(s_G, 0)),
        claim=sp.Equivalent(sp.Eq(_A_IND, 1), sp.Eq(s_G + Delta**2, 0)),
        variables=(s_L, s_G, Delta),
        functions=("optimal_weight",),
        false_variant=(
            (sp.Gt(s_L, 0), sp.Ge(s_G, 0)),
            sp.Equivalent(sp.Eq(_A_IND, 1), sp.Eq(s_G, 0)),
        ),
    )
    add(
        name="independent_min_mse",
        source="R8",
        derivation="independent",
        statement="With c = 0, MSE(a*) = (1 - a*) s_L.",
        assumptions=(*_IND, sp.Gt(_D_IND, 0)),
        claim=_identity(_i["min_mse"], (1 - _A_IND) * s_L),
        variables=(s_L, s_G, Delta),
        functions=("min_mse", "optimal_weight"),
    )
    add(
        name="independent_min_mse_harmonic",
        source="R8",
        derivation="independent",
        statement="With c = 0, s_L > 0 and s_G + Delta^2 > 0, "
        "1/MSE(a*) = 1/s_L + 1/(s_G + Delta^2) (precisions add).",
        assumptions=(sp.Gt(s_L, 0), sp.Ge(s_G, 0), sp.Gt(s_G + Delta**2, 0)),
        claim=_identity(1 / _i["min_mse"], 1 / s_L + 1 / (s_G + Delta**2)),
        variables=(s_L, s_G, Delta),
        functions=("min_mse",),
    )
    add(
        name="mse_global",
        source="R9",
        statement="The global model's MSE is s_G + Delta^2, whatever the covariance c.",
        assumptions=_BASE,
        claim=_identity(mse_at(1), s_G + Delta**2),
        variables=(s_L, s_G, Delta, c),
        functions=("mse",),
        routes=("symbolic", "smt", "rational", "float", "montecarlo"),
    )
    add(
        name="global_beats_local_iff",
        source="R9",
        statement="For D > 0 the global model beats the local one (MSE(1) < MSE(0)) if and only "
        "if a* > 1/2.",
        assumptions=(*_BASE, _Dpos),
        claim=sp.Equivalent(mse_at(1) < mse_at(0), A_STAR > sp.Rational(1, 2)),
        variables=(s_L, s_G, Delta, c),
        functions=("optimal_weight", "mse"),
        false_variant=(
            (*_BASE, _Dpos),
            sp.Equivalent(mse_at(1) < mse_at(0), A_STAR > sp.Rational(1, 3)),
        ),
    )
    add(
        name="value_of_personalization",
        source="R9",
        statement="The value of personalization over the global model is "
        "MSE(1) - MSE(a*) = D (1 - a*)^2.",
        assumptions=(*_BASE, _Dpos),
        claim=_identity(mse_at(1) - _d["min_mse"], D * (1 - A_STAR) ** 2),
        variables=(s_L, s_G, Delta, c),
        functions=("mse", "min_mse"),
    )
    add(
        name="correlated_beneficial_iff",
        source="R10",
        statement="For D > 0, some weight strictly beats the local model (B(a*) > 0) if and "
        "only if s_L != c.",
        assumptions=(*_BASE, _Dpos),
        claim=sp.Equivalent(sp.Ne(s_L, c), benefit_at(A_STAR) > 0),
        variables=(s_L, s_G, Delta, c),
        functions=("benefit", "optimal_weight"),
        false_variant=((*_BASE, _Dpos), sp.Equivalent(sp.Ne(s_L, 0), benefit_at(A_STAR) > 0)),
    )
    add(
        name="correlated_beneficial_sign",
        source="R10",
        statement="Every beneficial weight has the sign of s_L - c: B(a) > 0 implies "
        "a (s_L - c) > 0.",
        assumptions=(*_BASE, _Dpos),
        claim=sp.Implies(benefit_at(a) > 0, a * (s_L - c) > 0),
        variables=_VARS,
        functions=("benefit", "beneficial_interval"),
        false_variant=((*_BASE, _Dpos), sp.Implies(benefit_at(a) > 0, a > 0)),
        witness={a: r * A_STAR},
    )
    return out


for _thm in _core_theorems():
    register(_thm)
