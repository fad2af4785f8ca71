"""Hypothesis strategies for the theorems over symbols beyond the core ones (settings,
N estimators, multivariate).  Valid by construction: positive symbols get positive
rationals, and the d = 2 multivariate blocks come from a joint covariance F F'."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import sympy as sp
from hypothesis import strategies as st

from modelavg_sym.verify.strategies import rationals


def _positive(bound: int = 20) -> st.SearchStrategy[Fraction]:
    return st.one_of(st.sampled_from([Fraction(1), Fraction(1, 2), Fraction(3)]),
                     st.fractions(min_value=Fraction(1, 50), max_value=bound,
                                  max_denominator=50))


@st.composite
def assumption_points(draw: st.DrawFn, variables: Sequence[sp.Symbol]
                      ) -> dict[sp.Symbol, sp.Rational]:
    """An exact point: positive symbols > 0, nonnegative ones >= 0, the rest any rational."""
    out = {}
    for v in sorted(variables, key=str):
        if v.is_positive:
            x = draw(_positive())
        elif v.is_nonnegative:
            x = abs(draw(rationals()))
        else:
            x = draw(rationals())
        out[v] = sp.Rational(x.numerator, x.denominator)
    return out


@st.composite
def multivariate_points(draw: st.DrawFn, d: int = 2) -> dict[sp.Symbol, sp.Rational]:
    """Entries of S_L, S_G, C (blocks of a joint covariance F F', positive semidefinite
    by construction), Delta and a scalar weight a, for the symbols of
    :func:`modelavg_sym.derive.multivariate.symbolic_matrices`."""
    from modelavg_sym.derive.multivariate import symbolic_matrices
    from modelavg_sym.symbols import a

    SL, SG, C, bias = symbolic_matrices(d)
    F = sp.Matrix(2 * d, 2 * d, lambda i, j: sp.Rational(draw(rationals(5, 10))))
    J = F * F.T
    out: dict[sp.Symbol, sp.Rational] = {}
    for i in range(d):
        for j in range(d):
            out[SL[i, j]] = J[i, j]
            out[SG[i, j]] = J[d + i, d + j]
            out[C[i, j]] = J[i, d + j]
        x = draw(rationals())
        out[bias[i]] = sp.Rational(x.numerator, x.denominator)
    x = draw(rationals(4))
    out[a] = sp.Rational(x.numerator, x.denominator)
    # M = E[(G - L)(G - L)'] for theorems stated in (S_L, C, Delta, M) coordinates
    M = (SL + SG - C - C.T + bias * bias.T).subs(out)
    for i in range(d):
        for j in range(i, d):
            out[sp.Symbol(f"M_{i + 1}{j + 1}", real=True)] = M[i, j]
    return out
