"""Exact-rational route: hypothesis draws exact rationals inside the assumptions (by
construction, see :mod:`modelavg_sym.strategies`), and the claim, evaluated exactly with
sympy, must be ``True`` (inequalities strictly, no tolerance).
"""

from __future__ import annotations

import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ..strategies import rational_points
from ..theorems import Theorem
from . import PROFILES, RouteResult


def holds(expr: sp.Basic, point: dict) -> bool | None:
    """Exact truth value of a relation/Boolean at ``point`` (None if undefined there)."""
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
    n = PROFILES[profile]
    counter = {"ok": 0}
    failures: list[dict] = []

    @settings(max_examples=n, database=None, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def prop(data: st.DataObject) -> None:
        point = data.draw(rational_points(dict(thm.witness)))
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
        return RouteResult(thm.name, "rational", "failed", examples=counter["ok"],
                           detail=f"counterexample {failures[-1] if failures else '?'}")
    return RouteResult(thm.name, "rational", "passed", examples=counter["ok"],
                       detail=f"{counter['ok']} exact examples")
