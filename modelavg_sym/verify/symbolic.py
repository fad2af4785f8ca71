"""Symbolic route: an identity ``lhs = rhs`` holds when ``simplify(lhs - rhs)`` is 0.

Symbols carry their assumptions (nonnegative variances, real bias and covariance), so the
simplification works under them.  Boolean claims (inequalities) are left to the SMT
route and reported ``not-applicable`` here.
"""

from __future__ import annotations

import sympy as sp

from modelavg_sym.derive.presentation import one_fraction
from modelavg_sym.theorems import Theorem
from modelavg_sym.verify import RouteResult


def _difference(lhs: sp.Expr, rhs: sp.Expr) -> sp.Expr:
    # one fraction first: expanding a difference of large rational functions before
    # combining them can blow up, combining first cannot (memoised: the presentation
    # theorems' entries were put in one fraction when their forms were chosen and checked)
    if one_fraction(lhs - rhs)[1] == 0:
        return sp.S.Zero
    diff = sp.together(sp.expand(lhs - rhs))
    num, _den = sp.fraction(diff)
    num = sp.expand(num)
    return num if num == 0 else sp.simplify(diff)


def difference(thm: Theorem) -> sp.Expr | sp.ImmutableMatrix:
    """lhs - rhs of an identity theorem, simplified (entry by entry for a claim between
    column vectors, as the presentation theorems state)."""
    claim = thm.claim
    if isinstance(claim.lhs, sp.MatrixBase):
        return sp.ImmutableMatrix(claim.lhs.shape[0], claim.lhs.shape[1],
                                  [_difference(x, y) for x, y in zip(claim.lhs, claim.rhs,
                                                                     strict=True)])
    return _difference(claim.lhs, claim.rhs)


def check(thm: Theorem, profile: str = "ci") -> RouteResult:
    if not thm.is_identity:
        return RouteResult(
            thm.name,
            "symbolic",
            "not-applicable",
            detail="not an identity; proved by the smt route",
        )
    diff = difference(thm)
    if isinstance(diff, sp.MatrixBase):
        bad = [i for i, x in enumerate(diff) if x != 0]
        if not bad:
            return RouteResult(thm.name, "symbolic", "proved",
                               detail=f"all {len(diff)} entries of lhs - rhs simplify to 0")
        return RouteResult(thm.name, "symbolic", "failed", detail="lhs - rhs is nonzero in "
                           + "; ".join(f"entry {i}: {diff[i]}" for i in bad))
    if diff == 0:
        return RouteResult(thm.name, "symbolic", "proved", detail="lhs - rhs simplifies to 0")
    return RouteResult(thm.name, "symbolic", "failed", detail=f"lhs - rhs = {diff}")
