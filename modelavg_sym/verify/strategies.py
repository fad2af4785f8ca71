"""Hypothesis strategies that build valid inputs by construction (no filtering).

Used by the test suite (re-exported from ``tests/strategies.py``) and by the
``verify`` command's rational and float routes, which is why they live in the package.
A theorem's ``sampler`` receives this module from the rational route and picks its
strategy here, so the theorems need not import hypothesis.

* Covariances inside the Cauchy-Schwarz bound come from a 2x2 Cholesky factor
  ``[[l11, 0], [l21, l22]]``: s_L = l11^2, c = l11 l21, s_G = l21^2 + l22^2 (boundary
  |c| = sqrt(s_L s_G) when l22 = 0), or from |c| <= min(s_L, s_G) for arbitrary s_L, s_G.
* Float magnitudes span 1e-150 .. 1e150 (log-uniform), so the compiled functions are
  exercised far from 1.
* Beyond the core symbols: positive symbols get positive rationals
  (:func:`assumption_points`), and the d = 2 multivariate blocks come from a joint
  covariance F F' (:func:`multivariate_points`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np
import sympy as sp
from hypothesis import reject
from hypothesis import strategies as st

from modelavg_sym.derive.multivariate import difference_second_moment, symbolic_matrices
from modelavg_sym.symbols import Delta, a, c, r, s_G, s_L


def rationals(bound: int = 20, max_denominator: int = 50) -> st.SearchStrategy[Fraction]:
    """Rationals in [-bound, bound], with 0 and small integers drawn often."""
    return st.one_of(
        st.sampled_from([Fraction(0), Fraction(1), Fraction(-1), Fraction(1, 2)]),
        st.fractions(min_value=-bound, max_value=bound, max_denominator=max_denominator),
    )


def nonneg_rationals(bound: int = 20, max_denominator: int = 50) -> st.SearchStrategy[Fraction]:
    return rationals(bound, max_denominator).map(abs)


@st.composite
def rational_moments(draw: st.DrawFn) -> dict[sp.Symbol, sp.Rational]:
    """(s_L, s_G, c) exact, with c^2 <= s_L s_G by construction."""
    if draw(st.booleans()):
        l11, l21, l22 = draw(rationals()), draw(rationals()), draw(rationals())
        vl, vg, cv = l11 * l11, l21 * l21 + l22 * l22, l11 * l21
    else:
        vl, vg = draw(nonneg_rationals()), draw(nonneg_rationals())
        t = draw(st.fractions(min_value=-1, max_value=1, max_denominator=20))
        cv = t * min(vl, vg)
    return {s_L: sp.Rational(vl), s_G: sp.Rational(vg), c: sp.Rational(cv)}


@st.composite
def rational_points(draw: st.DrawFn, witness: dict | None = None) -> dict[sp.Symbol, sp.Rational]:
    """A full exact point (s_L, s_G, c, Delta, a, r).  With ``witness`` (``{a: r * a*}``),
    half the draws place ``a`` at that expression so that interesting regions (the
    beneficial interval, its endpoints) are hit exactly."""
    point = draw(rational_moments())
    point[Delta] = sp.Rational(draw(rationals()))
    point[r] = sp.Rational(
        draw(st.one_of(st.sampled_from([Fraction(0), Fraction(1), Fraction(2)]), rationals(4)))
    )
    point[a] = sp.Rational(draw(rationals(4)))
    if witness and draw(st.booleans()):
        for sym, expr in witness.items():
            val = expr.subs(point)
            if val.is_Rational:
                point[sym] = val
    return point


@st.composite
def points_with_rationals(draw: st.DrawFn, *symbols: sp.Symbol
                          ) -> dict[sp.Symbol, sp.Rational]:
    """A core point (:func:`rational_points`) extended by ``symbols``, each any rational
    in [-20, 20] (negative about half the time)."""
    point = draw(rational_points())
    for sym in symbols:
        point[sym] = sp.Rational(draw(rationals()))
    return point


@st.composite
def weight_error_points(draw: st.DrawFn, target: sp.Expr, bias: sp.Symbol, mse: sp.Symbol
                        ) -> dict[sp.Symbol, sp.Rational]:
    """A core point extended by the bias ``bias`` (m) of an estimated weight and its mean
    squared error ``mse`` (q) = m^2 + v with v >= 0, so q >= m^2 by construction.  Half the
    draws put q at (r * target)^2 with m = 0 (``target`` the optimal weight: exact multiples
    of a*^2, including the boundary q = a*^2)."""
    point = draw(rational_points())
    point[bias] = sp.Rational(draw(rationals(4)))
    point[mse] = point[bias] ** 2 + sp.Rational(draw(nonneg_rationals(4)))
    if draw(st.booleans()):
        value = target.subs(point)
        if value.is_Rational:
            point[mse] = (point[r] * value) ** 2
            point[bias] = sp.S.Zero
    return point


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
    :func:`modelavg_sym.derive.multivariate.symbolic_matrices`; and the entries M_ij (i <= j)
    of M = E[(G - L)(G - L)'] (derived) at that point, for the theorems stated in
    (S_L, C, Delta, M) coordinates."""
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
    M = difference_second_moment(d).subs(out)
    for i in range(d):
        for j in range(i, d):
            out[sp.Symbol(f"M_{i + 1}{j + 1}", real=True)] = M[i, j]
    return out


def _magnitude(lo: float = -150, hi: float = 150) -> st.SearchStrategy[float]:
    return st.floats(min_value=lo, max_value=hi).map(lambda e: 10.0**e)


@st.composite
def float_params(draw: st.DrawFn, independent: bool = False) -> tuple[float, float, float, float]:
    """(var_local, var_global, bias, cov) as floats over 1e-150 .. 1e150, cov inside the
    Cauchy-Schwarz bound (also in floating point) by construction."""
    scale = draw(_magnitude())
    if draw(st.booleans()):  # one shared scale, parameters within 1e-3 .. 1e3 of it
        vl = scale * draw(st.one_of(st.just(0.0), _magnitude(-3, 3)))
        vg = scale * draw(st.one_of(st.just(0.0), _magnitude(-3, 3)))
        b = math.sqrt(scale) * draw(st.one_of(st.just(0.0), _magnitude(-3, 3)))
    else:  # mixed scales: every magnitude drawn independently over 1e-150 .. 1e150
        vl = draw(st.one_of(st.just(0.0), _magnitude()))
        vg = draw(st.one_of(st.just(0.0), _magnitude()))
        b = draw(st.one_of(st.just(0.0), _magnitude()))
    b *= draw(st.sampled_from([1.0, -1.0]))
    if independent:
        if vl + vg + b * b <= 0:  # D = 0 only at the origin; keep D > 0
            vl = scale
        return vl, vg, b, 0.0
    rho = draw(st.one_of(st.sampled_from([0.0, 1.0, -1.0]), st.floats(-1.0, 1.0)))
    cv = rho * math.sqrt(vl) * math.sqrt(vg)
    # rounding can cross the bound: shrink until cov^2 <= var_local var_global exactly (the
    # API decides the Cauchy-Schwarz condition exactly, without slack)
    while Fraction(cv) ** 2 > Fraction(vl) * Fraction(vg):
        cv = float(np.nextafter(cv, 0.0))
    if vl + vg - 2 * cv + b * b <= 0:  # D = 0 only on a measure-zero set; keep D > 0
        vl = 2 * vl + scale  # keeps |c| <= sqrt(s_L s_G); D > 0 whatever the scales
    return vl, vg, b, cv


def float_weights() -> st.SearchStrategy[float]:
    """Weights over a wide range, both signs, including 0 and 1."""
    return st.one_of(
        st.sampled_from([0.0, 1.0, 0.5, -1.0, 2.0]),
        _magnitude(-6, 3).flatmap(lambda m: st.sampled_from([m, -m])),
    )


def _bounds(sym: sp.Symbol, relations: Sequence[sp.Basic], drawn: dict[sp.Symbol, sp.Rational]
            ) -> tuple[list[tuple[Fraction, bool]], list[tuple[Fraction, bool]]]:
    """(lower, upper) bounds on ``sym`` from the relations whose other side is known:
    (value, strict) pairs."""
    lows: list[tuple[Fraction, bool]] = []
    highs: list[tuple[Fraction, bool]] = []
    for rel in relations:
        lhs, rhs = rel.lhs, rel.rhs
        op = rel.rel_op
        if op in (">", ">="):
            lhs, rhs, op = rhs, lhs, {">": "<", ">=": "<="}[op]
        strict = op == "<"
        if lhs == sym:  # sym < rhs
            other = rhs.subs(drawn) if not rhs.is_Rational else rhs
            if other.is_Rational:
                highs.append((Fraction(int(other.p), int(other.q)), strict))
        elif rhs == sym:  # lhs < sym
            other = lhs.subs(drawn) if not lhs.is_Rational else lhs
            if other.is_Rational:
                lows.append((Fraction(int(other.p), int(other.q)), strict))
    if sym.is_positive:
        lows.append((Fraction(0), True))
    elif sym.is_nonnegative:
        lows.append((Fraction(0), False))
    return lows, highs


@cache
def _drawing() -> dict[str, st.SearchStrategy[Fraction]]:
    """The strategies :func:`setting_params` draws from, built once (building a
    strategy costs far more than drawing from it)."""
    def ratio(num: st.SearchStrategy[int], special: list[Fraction]
              ) -> st.SearchStrategy[Fraction]:
        # st.fractions flat-maps (a new strategy per draw): integer pairs are far cheaper
        return st.one_of(st.sampled_from(special),
                         st.builds(Fraction, num, st.integers(1, 50)))

    return {"t": st.one_of(st.sampled_from([Fraction(1, 2), Fraction(1, 3)]),  # in (0, 1)
                           st.builds(Fraction, st.integers(1, 49), st.just(50))),
            "positive": ratio(st.integers(1, 1000), [Fraction(1), Fraction(1, 2),
                                                      Fraction(3)]),
            "rational": ratio(st.integers(-1000, 1000), [Fraction(0), Fraction(1),
                                                          Fraction(-1), Fraction(1, 2)]),
            "weight": ratio(st.integers(-200, 200), [Fraction(0), Fraction(1),
                                                      Fraction(1, 2)])}


@cache
def _integers(first: int, last: int) -> st.SearchStrategy[int]:
    return st.integers(first, last)


@st.composite
def setting_params(draw: st.DrawFn, setting: Any, extra: Sequence[sp.Symbol] = ()
                   ) -> dict[sp.Symbol, sp.Rational]:
    """Exact values for every symbol of ``setting`` (a
    :class:`~modelavg_sym.derive.settings.Setting`, e.g. from
    :func:`modelavg_sym.load_setting`) that satisfy its assumptions by construction:
    positive symbols > 0, nonnegative >= 0, integer ones integers, and every relation
    ``x < y`` (<=, >, >=; each side a symbol or a number) -- each symbol is drawn, in name
    order, inside the bounds its sign and the relations with already drawn symbols
    give it.  ``extra`` symbols (the weight ``a``, say) get any rational in [-4, 4].

    A user's own property test::

        from hypothesis import given
        from modelavg_sym import load_setting
        from modelavg_sym.verify.strategies import setting_params

        setting = load_setting("my_setting.toml")
        a_star = setting.derivation()["optimal_weight"]

        @given(setting_params(setting))
        def test_optimal_weight_between_0_and_1(p):
            assert 0 <= a_star.subs(p) <= 1
    """
    out: dict[sp.Symbol, sp.Rational] = {}
    strat = _drawing()
    relations = tuple(getattr(setting, "assumptions", ()))
    for sym in setting.symbols():
        lows, highs = _bounds(sym, relations, out)
        lo = max(lows, key=lambda b: (b[0], b[1])) if lows else None
        hi = min(highs, key=lambda b: (b[0], not b[1])) if highs else None
        if sym.is_integer:
            first = (None if lo is None else
                     math.floor(lo[0]) + 1 if lo[1] else math.ceil(lo[0]))
            last = (None if hi is None else
                    math.ceil(hi[0]) - 1 if hi[1] else math.floor(hi[0]))
            if first is None and last is None:
                first = -20
            if first is None:
                first = last - 40  # type: ignore[operator]
            if last is None:
                last = first + 40
            if first > last:  # the relations leave no integer here: not a valid point
                reject()
            x = Fraction(draw(_integers(first, last)))
        else:
            if lo is not None and hi is not None:
                if hi[0] < lo[0] or (hi[0] == lo[0] and (lo[1] or hi[1])):
                        reject()
                t = draw(strat["t"])  # drawn only where it is used
                x = lo[0] + (hi[0] - lo[0]) * t if (lo[1] or hi[1]) else (
                    lo[0] + (hi[0] - lo[0]) * draw(st.sampled_from([Fraction(0), t,
                                                                    Fraction(1)])))
            elif lo is not None:
                step = draw(strat["positive"]) if lo[1] else abs(draw(strat["rational"]))
                x = lo[0] + step
            elif hi is not None:
                step = draw(strat["positive"]) if hi[1] else abs(draw(strat["rational"]))
                x = hi[0] - step
            else:
                x = draw(strat["rational"])
        out[sym] = sp.Rational(x.numerator, x.denominator)
    for sym in extra:
        x = draw(strat["weight"])
        out[sym] = sp.Rational(x.numerator, x.denominator)
    return out
