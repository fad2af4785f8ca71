"""Exact-rational route: hypothesis draws exact rationals inside the assumptions (by
construction, see :mod:`modelavg_sym.verify.strategies`), and the claim, evaluated exactly with
sympy, must be ``True`` (inequalities strictly, no tolerance).

The points come from the theorem's own ``sampler`` (called with the strategies module), or
for the core theorems from :func:`~modelavg_sym.verify.strategies.rational_points` with the
theorem's ``witness``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import lru_cache
from typing import Any

import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from modelavg_sym.algebra.exact import exact_function
from modelavg_sym.theorems import Theorem
from modelavg_sym.verify import RouteResult, strategies
from modelavg_sym.verify.profiles import PROFILES


def sampler(thm: Theorem) -> st.SearchStrategy[dict]:
    """The strategy of exact points for ``thm``: ``thm.sampler(strategies)``, else the core
    points (s_L, s_G, c, Delta, a, r) with the theorem's witness."""
    if thm.sampler is not None:
        return thm.sampler(strategies)
    return strategies.rational_points(dict(thm.witness))


_exact_function = exact_function


@lru_cache(maxsize=4096)
def _compiled(expr: sp.Expr) -> tuple[tuple[sp.Symbol, ...], Callable[..., Fraction]]:
    """``expr``'s variables (sorted by name) and its exact function of them, once per
    expression (a property test evaluates the same expressions at every point)."""
    variables = tuple(sorted(expr.free_symbols, key=str))
    return variables, _exact_function(expr, variables)


@lru_cache(maxsize=4096)
def _free(expr: sp.Basic) -> frozenset[sp.Basic]:
    return frozenset(expr.free_symbols)


def _exact_value(expr: sp.Expr, point: dict) -> Fraction | None:
    """``expr`` at ``point``, a mapping from symbols to Fractions (None: undefined)."""
    variables, f = _compiled(expr)
    try:
        val = f(*[point[v] for v in variables])
    except ZeroDivisionError:
        return None
    return Fraction(val)


def _truth(expr: sp.Basic, point: dict) -> bool | None:
    """Exact truth value by structural recursion (``point`` maps symbols to Fractions);
    rational sub-expressions are evaluated with Python's exact Fraction arithmetic (much
    faster than sympy's subs)."""
    if expr in (sp.true, sp.false):
        return bool(expr)
    if isinstance(expr, sp.Not):
        v = _truth(expr.args[0], point)
        return None if v is None else not v
    if isinstance(expr, sp.And | sp.Or):
        vals = [_truth(x, point) for x in expr.args]
        if None in vals:
            return None
        return all(vals) if isinstance(expr, sp.And) else any(vals)
    if isinstance(expr, sp.Implies):
        p, q = (_truth(x, point) for x in expr.args)
        return None if p is None or (p and q is None) else (not p) or bool(q)
    if isinstance(expr, sp.Equivalent):
        vals = [_truth(x, point) for x in expr.args]
        return None if None in vals else len(set(vals)) == 1
    if isinstance(expr, sp.core.relational.Relational):
        lhs, rhs = _exact_value(expr.lhs, point), _exact_value(expr.rhs, point)
        if lhs is None or rhs is None:
            return None
        return {
            "==": lhs == rhs,
            "!=": lhs != rhs,
            "<": lhs < rhs,
            "<=": lhs <= rhs,
            ">": lhs > rhs,
            ">=": lhs >= rhs,
        }[expr.rel_op]
    raise TypeError(f"cannot evaluate {type(expr).__name__} exactly")


def holds(expr: sp.Basic, point: dict) -> bool | None:
    """Exact truth value of a relation/Boolean at ``point`` (None if undefined there)."""
    return _holds(expr, point, _fractions(point))


def _fractions(point: dict) -> dict | None:
    """``point`` with its values as Fractions; None unless every value is a Rational."""
    if not all(isinstance(v, sp.Rational) for v in point.values()):
        return None
    return {k: Fraction(int(v.p), int(v.q)) for k, v in point.items()}


def _holds(expr: sp.Basic, point: dict, fractions: dict | None) -> bool | None:
    """:func:`holds`, given ``point`` as Fractions (:func:`_fractions`)."""
    if fractions is not None and _free(expr) <= point.keys():
        try:
            return _truth(expr, fractions)
        except (TypeError, NameError):  # not a rational function (sqrt, Abs, ...): use subs
            pass
    val = expr.subs(point)
    if val in (sp.true, sp.false):
        return bool(val)
    if isinstance(val, sp.Expr) and val.has(sp.zoo, sp.nan):
        return None
    val = sp.simplify(val)
    if val in (sp.true, sp.false):
        return bool(val)
    return None


def assumptions_hold(thm: Theorem, point: dict) -> bool:
    fractions = _fractions(point)
    return all(_holds(asm, point, fractions) is True for asm in thm.assumptions)


def check_claim(thm: Theorem, point: dict, claim: sp.Basic | None = None) -> bool:
    """True iff the claim holds exactly at ``point`` (which satisfies the assumptions)."""
    return holds(thm.claim if claim is None else claim, point) is True


def check(thm: Theorem, profile: str = "ci", claim: sp.Basic | None = None) -> RouteResult:
    ok, failures, failed = _examples(thm, sampler(thm), PROFILES[profile].examples, claim,
                                     assumptions_hold, check_claim)
    if failed:
        return RouteResult(
            thm.name,
            "rational",
            "failed",
            examples=ok,
            detail=f"counterexample {failures[-1] if failures else '?'}",
        )
    return RouteResult(
        thm.name,
        "rational",
        "passed",
        examples=ok,
        detail=f"{ok} exact examples",
    )


def _examples(thm: Any, points: st.SearchStrategy[dict], n: int, claim: sp.Basic | None,
              assumptions_hold: Callable[[Any, dict], bool],
              check_claim: Callable[[Any, dict, sp.Basic | None], bool]
              ) -> tuple[int, list[dict], bool]:
    """Run the property over ``n`` points of ``points``: (examples that held, the failing
    points seen, whether the claim failed).  ``thm`` is a theorem, or a :class:`_Shared`
    group with its own ``assumptions_hold`` and ``check_claim``.

    The property's text (decorators included) is hypothesis' derandomisation seed: every
    theorem of a group sees the points it would see alone because the text is the same.
    """
    counter = {"ok": 0}
    failures: list[dict] = []

    @settings(
        max_examples=n,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def prop(data: st.DataObject) -> None:
        point = data.draw(points)
        point = {k: v for k, v in point.items() if k in thm.variables}
        assume(assumptions_hold(thm, point))
        ok = check_claim(thm, point, claim)
        if not ok:
            failures.append({str(k): str(v) for k, v in point.items()})
        assert ok, f"claim of {thm.name} fails at {point}"
        counter["ok"] += 1

    try:
        prop()
    except AssertionError:
        return counter["ok"], failures, True
    return counter["ok"], failures, False


class _Shared:
    """Theorems with one sampler (the same function) and the same assumptions, checked in
    one run at the points each would be checked at alone: to the property this is one
    theorem whose variables are all of theirs, whose assumptions hold where theirs do, and
    whose claim records each theorem's failures and holds (so the run goes on as it goes
    on for a theorem that holds)."""

    def __init__(self, thms: Sequence[Theorem]) -> None:
        self.thms = list(thms)
        self.name = ", ".join(t.name for t in thms)
        self.variables = frozenset().union(*(t.variables for t in thms))
        self.failed: set[str] = set()
        #: The assumptions disagreed at some point: the runs alone would have diverged.
        self.diverged = False
        # The assumptions (the same for all) see, of a theorem's point, only the values
        # of their own symbols: one evaluation per distinct set of those among the theorems.
        needed = frozenset().union(*(a.free_symbols for a in thms[0].assumptions))
        self._asm: dict[frozenset[sp.Basic], Theorem] = {}
        for t in thms:
            self._asm.setdefault(needed & frozenset(t.variables), t)

    def assumptions_hold(self, _group: Any, point: dict) -> bool:
        values = {assumptions_hold(t, _restrict(point, t)) for t in self._asm.values()}
        self.diverged = self.diverged or len(values) > 1
        return all(values)

    def check_claim(self, _group: Any, point: dict, _claim: sp.Basic | None) -> bool:
        for t in self.thms:
            if t.name not in self.failed and not check_claim(t, _restrict(point, t)):
                self.failed.add(t.name)
        return True


def _restrict(point: dict, thm: Theorem) -> dict:
    return {k: v for k, v in point.items() if k in thm.variables}


def check_many(thms: Sequence[Theorem], profile: str = "ci") -> list[RouteResult]:
    """:func:`check` on each theorem, with the same results: theorems that share their
    sampler (the same function) and their assumptions draw the same points, so they are
    checked at them in one run; a theorem that fails there (or a group whose assumptions
    disagree somewhere) is run alone, as :func:`check` runs it, for its counterexample.
    ``seconds`` of a shared run is split evenly between its theorems."""
    groups: dict[tuple[int, tuple[sp.Basic, ...]], list[int]] = {}
    for i, t in enumerate(thms):
        key = (id(t.sampler), tuple(t.assumptions)) if t.sampler is not None else (-i, ())
        groups.setdefault(key, []).append(i)
    out: dict[int, RouteResult] = {}
    for members in groups.values():
        if len(members) == 1:
            out[members[0]] = _timed(check, thms[members[0]], profile)
            continue
        t0 = time.perf_counter()
        group = _Shared([thms[i] for i in members])
        ok, _failures, _failed = _examples(group, sampler(thms[members[0]]),
                                           PROFILES[profile].examples, None,
                                           group.assumptions_hold, group.check_claim)
        share = round((time.perf_counter() - t0) / len(members), 3)
        for i in members:
            t = thms[i]
            if group.diverged or t.name in group.failed:
                out[i] = _timed(check, t, profile)
            else:
                out[i] = RouteResult(t.name, "rational", "passed", seconds=share,
                                     examples=ok, detail=f"{ok} exact examples")
    return [out[i] for i in range(len(thms))]


def _timed(fn: Callable[[Theorem, str], RouteResult], thm: Theorem, profile: str
           ) -> RouteResult:
    t0 = time.perf_counter()
    res = fn(thm, profile)
    res.seconds = round(time.perf_counter() - t0, 3)
    return res
