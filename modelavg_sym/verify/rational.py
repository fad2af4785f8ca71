"""Exact-rational route: hypothesis draws exact rationals inside the assumptions (by
construction, see :mod:`modelavg_sym.verify.strategies`), and the claim, evaluated exactly with
sympy, must be ``True`` (inequalities strictly, no tolerance).

The points come from the theorem's own ``sampler`` (called with the strategies module), or
for the core theorems from :func:`~modelavg_sym.verify.strategies.rational_points` with the
theorem's ``witness``.
"""

from __future__ import annotations

from fractions import Fraction

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


def _exact_value(expr: sp.Expr, point: dict) -> Fraction | None:
    variables = tuple(sorted(expr.free_symbols, key=str))
    f = _exact_function(expr, variables)
    try:
        val = f(*[Fraction(int(point[v].p), int(point[v].q)) for v in variables])
    except ZeroDivisionError:
        return None
    return Fraction(val)


def _truth(expr: sp.Basic, point: dict) -> bool | None:
    """Exact truth value by structural recursion; rational sub-expressions are evaluated
    with Python's exact Fraction arithmetic (much faster than sympy's subs)."""
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
    if all(isinstance(v, sp.Rational) for v in point.values()) and expr.free_symbols <= set(point):
        try:
            return _truth(expr, point)
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
    return all(holds(asm, point) is True for asm in thm.assumptions)


def check_claim(thm: Theorem, point: dict, claim: sp.Basic | None = None) -> bool:
    """True iff the claim holds exactly at ``point`` (which satisfies the assumptions)."""
    return holds(thm.claim if claim is None else claim, point) is True


def check(thm: Theorem, profile: str = "ci", claim: sp.Basic | None = None) -> RouteResult:
    n = PROFILES[profile].examples
    counter = {"ok": 0}
    failures: list[dict] = []
    points = sampler(thm)

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
        return RouteResult(
            thm.name,
            "rational",
            "failed",
            examples=counter["ok"],
            detail=f"counterexample {failures[-1] if failures else '?'}",
        )
    return RouteResult(
        thm.name,
        "rational",
        "passed",
        examples=counter["ok"],
        detail=f"{counter['ok']} exact examples",
    )
