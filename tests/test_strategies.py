"""The domain strategies build valid inputs by construction (and reach the boundaries)."""

import math

import sympy as sp
from hypothesis import given
from strategies import float_params, rational_moments, rational_points

import modelavg_sym as m
from modelavg_sym.symbols import Delta, a, c, s_G, s_L
from modelavg_sym.theorems import A_STAR


@given(rational_moments())
def test_rational_moments_inside_cauchy_schwarz(p):
    assert p[s_L] >= 0 and p[s_G] >= 0
    assert p[c] ** 2 <= p[s_L] * p[s_G]
    assert all(isinstance(v, sp.Rational) for v in p.values())


@given(float_params())
def test_float_params_valid_in_floating_point(p):
    vl, vg, b, cv = p
    assert vl >= 0 and vg >= 0
    # the form of the Cauchy-Schwarz bound the compiled API checks (no over/underflow)
    assert abs(cv) <= math.sqrt(vl) * math.sqrt(vg)
    assert math.isfinite(m.optimal_weight(vl, vg, b, cv))  # accepted, a finite value
    assert vl + vg - 2 * cv + b * b > 0


@given(float_params(independent=True))
def test_float_params_independent(p):
    assert p[3] == 0.0 and p[0] + p[1] + p[2] ** 2 > 0


def test_boundaries_are_reachable():
    from hypothesis import find

    find(rational_moments(), lambda p: p[c] != 0 and p[c] ** 2 == p[s_L] * p[s_G])
    find(rational_moments(), lambda p: p[s_L] == 0)
    # the witness places a exactly at 2a* (an endpoint of the beneficial interval)
    find(rational_points({a: 2 * A_STAR}),
         lambda p: p[a] != 0 and (p[s_L] + p[s_G] - 2 * p[c] + p[Delta] ** 2) != 0
         and p[a] == (2 * A_STAR).subs(p))
