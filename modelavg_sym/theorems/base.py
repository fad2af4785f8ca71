"""The :class:`Theorem` type and what a theorem carries for its checks.

A theorem is data: a stable ``name``, ``assumptions`` (sympy relations over its free
variables), a ``claim`` (an ``Eq`` identity or a sympy Boolean formula of relations:
``And``, ``Or``, ``Implies``, ``Equivalent``), a one-sentence ``statement`` (a LaTeX
template over the symbol table: maths in ``$...$``, symbols as ``<s_L>``), the ``display``
of its claim as typed on a page (``MSE''(a) = 2D`` rather than both sides evaluated,
written with the named quantities of its page plus its own ``names``), the
verification ``routes`` that apply, and -- for the routes that need more than the claim --
its own ``sampler`` (exact points for the rational route) and ``montecarlo`` plan.  Both
are plain values; this layer imports neither hypothesis nor the simulation, so a sampler is
a function of the strategies module that the rational route passes in, and a Monte Carlo
plan is data (or a pure numpy statistic) that the Monte Carlo route applies to what it
simulates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import sympy as sp

from modelavg_sym.derive.presentation import Name

Route = Literal["symbolic", "smt", "rational", "float", "montecarlo"]
ALL_ROUTES: tuple[Route, ...] = ("symbolic", "smt", "rational", "float", "montecarlo")

Array = npt.NDArray[np.float64]

#: ``sampler(strategies)`` -> a hypothesis strategy of exact points ``{symbol: Rational}``
#: covering the theorem's variables; ``strategies`` is :mod:`modelavg_sym.verify.strategies`,
#: passed in by the rational route.
Sampler = Callable[[ModuleType], Any]


@dataclass(frozen=True)
class WeightSweep:
    """Monte Carlo plan of a two-estimator theorem: simulate (L, G) in every scenario of
    the route, estimate ``quantity`` (``mse`` or ``benefit``) at the weights ``ratios``
    (multiples of a* when ``relative``), and compare with the claim's right-hand side and
    with the compiled API at the scenario's true s_L, s_G, Delta, c.

    Attributes:
        quantity: ``mse`` or ``benefit``.
        ratios: the weights, absolute or relative to a*.
        relative: whether ``ratios`` multiply a*.
        independent_only: use only the scenarios with c = 0.
        positive: also require the empirical value to be significantly > 0.
    """

    quantity: Literal["mse", "benefit"]
    ratios: tuple[float, ...]
    relative: bool = False
    independent_only: bool = False
    positive: bool = False


@dataclass(frozen=True)
class Replications:
    """One scenario's simulated data, handed to a :class:`ReplicationCheck` statistic.

    Attributes:
        params: the true (s_L, s_G, Delta, c) of the scenario.
        theta: the true target.
        optimal_weight: a* at ``params``.
        L, G: R replications of the two estimators.
        L2, G2: R further replications, independent of ``L`` and ``G``.
    """

    params: tuple[float, float, float, float]
    theta: float
    optimal_weight: float
    L: Array
    G: Array
    L2: Array
    G2: Array


@dataclass(frozen=True)
class ReplicationCheck:
    """Monte Carlo plan by a per-replication statistic whose mean is 0 when the claim holds.

    ``statistic(predicted, data)`` returns one value per replication (pure numpy);
    ``predicted`` is the claim's right-hand side (or a replacement formula) as a numpy
    function of ``arguments``, in that order.
    """

    statistic: Callable[[Callable[..., Any], Replications], Array]
    arguments: tuple[sp.Symbol, ...]


@dataclass(frozen=True)
class SettingSweep:
    """Monte Carlo plan of a setting's theorem: simulate the setting's nodes at ``point``
    (every sample drawn from ``distribution``, standardised to the node's mean and
    per-sample variance; random node effects from the same family scaled to the spread),
    form its local and global estimators, and compare the empirical MSE at the weights
    ``ratios`` (multiples of a*, and a* itself) with the claim's left-hand side at
    ``point``.

    Attributes:
        setting: the :class:`~modelavg_sym.derive.settings.Setting`.
        point: exact values of every symbol of the setting.
        distribution: a :mod:`modelavg_sym.simulation.distributions` spec.
        ratios: weights relative to a*.
        replications: replications (None: the profile's).
    """

    setting: Any
    point: Mapping[sp.Symbol, sp.Rational]
    distribution: str
    ratios: tuple[float, ...]
    replications: int | None = None


MonteCarlo = WeightSweep | ReplicationCheck | SettingSweep


@dataclass(frozen=True)
class Theorem:
    """One result, with what its verification routes need.

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
        sampler: exact points for the rational route (:data:`Sampler`); ``None``: the
            core sampler over (s_L, s_G, c, Delta, a, r) with ``witness``.
        montecarlo: the Monte Carlo plan, required exactly when ``routes`` lists
            ``montecarlo``.
        display: the claim as typed on a page, with named quantities unevaluated
            (``None``: the claim itself); checked to say the same as the claim by the
            ``presentation_<derivation>`` theorem (:mod:`modelavg_sym.theorems.presentation`).
        names: definitions of the display's own named quantities (beyond its page's).
        kind: ``result``, or ``presentation`` for the theorems that check a page's forms.
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
    sampler: Sampler | None = field(default=None, compare=False)
    montecarlo: MonteCarlo | None = field(default=None, compare=False)
    display: sp.Basic | None = None
    names: tuple[Name, ...] = ()
    kind: Literal["result", "presentation"] = "result"

    def __repr__(self) -> str:
        return f"Theorem({self.name!r}, routes={list(self.routes)})"

    def _repr_latex_(self) -> str:
        shown = self.claim if self.display is None else self.display
        return f"${sp.latex(shown)}$"

    def _repr_markdown_(self) -> str:
        asm = ", ".join(f"${sp.latex(x)}$" for x in self.assumptions) or "none"
        shown = self.claim if self.display is None else self.display
        return (f"**{self.name}** ({self.source or self.derivation}): {self.statement}\n\n"
                f"$${sp.latex(shown)}$$\n\nAssumptions: {asm}.")

    @property
    def is_identity(self) -> bool:
        """True when the claim is an equation lhs = rhs (checked by simplification)."""
        return isinstance(self.claim, sp.Equality)


def validate(thm: Theorem) -> Theorem:
    """``thm`` if it is well formed, else ValueError naming the theorem and the problem:
    a claim that evaluated to True/False when built, an unknown route, a free symbol not in
    ``variables``, or a Monte Carlo route without a plan (or a plan without the route)."""
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
    if ("montecarlo" in thm.routes) != (thm.montecarlo is not None):
        raise ValueError(f"theorem {thm.name!r}: the montecarlo route needs a montecarlo "
                         "plan, and a plan needs the route")
    return thm


def identity(lhs: sp.Expr, rhs: sp.Expr) -> sp.Equality:
    """``lhs = rhs`` kept unevaluated, so that an identity sympy can already see stays a
    claim for the routes to check (``sp.Eq`` would collapse it to ``True``)."""
    return sp.Eq(lhs, rhs, evaluate=False)


def shown(name: str, **assumptions: bool) -> sp.Symbol:
    """A display symbol whose name is its own LaTeX (a template: ``<a>`` is the printed
    symbol a), for a quantity a claim shows unevaluated (``(M w^{*})_{0}``), defined by a
    :class:`~modelavg_sym.derive.presentation.Name` in the theorem's ``names``."""
    return sp.Symbol(f"${name}$", **assumptions)
