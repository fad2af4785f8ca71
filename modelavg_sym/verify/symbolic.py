"""Symbolic route: an identity ``lhs = rhs`` holds when ``simplify(lhs - rhs)`` is 0.

Symbols carry their assumptions (nonnegative variances, real bias and covariance), so the
simplification works under them.  Boolean claims (inequalities) are left to the SMT
route and reported ``not-applicable`` here.
"""

from __future__ import annotations

import sympy as sp

from modelavg_sym.theorems import Theorem
from modelavg_sym.verify import RouteResult


def difference(thm: Theorem) -> sp.Expr:
    """lhs - rhs of an identity theorem, simplified."""
    claim = thm.claim
    diff = sp.together(sp.expand(claim.lhs - claim.rhs))
    num, _den = sp.fraction(diff)
    num = sp.expand(num)
    return num if num == 0 else sp.simplify(diff)


def check(thm: Theorem, profile: str = "ci") -> RouteResult:
    if not thm.is_identity:
        return RouteResult(
            thm.name,
            "symbolic",
            "not-applicable",
            detail="not an identity; proved by the smt route",
        )
    diff = difference(thm)
    if diff == 0:
        return RouteResult(thm.name, "symbolic", "proved", detail="lhs - rhs simplifies to 0")
    return RouteResult(thm.name, "symbolic", "failed", detail=f"lhs - rhs = {diff}")
