"""The domain strategies build valid inputs by construction (and reach the boundaries)."""

import math

import sympy as sp
from hypothesis import given
from strategies import float_params, rational_moments, rational_points

import modelavg_sym as m
from modelavg_sym.derive.core import two_estimator
from modelavg_sym.derive.multivariate import symbolic_matrices
from modelavg_sym.symbols import Delta, a, c, r, s_G, s_L
from modelavg_sym.verify.strategies import (
    multivariate_points,
    points_with_rationals,
    weight_error_points,
)

A_STAR = two_estimator()["optimal_weight"]


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


# --- the strategies that theorems' samplers pick (beyond the core symbols) ----------------

m_sym, q_sym, u_sym = sp.symbols("m q u", real=True)


@given(weight_error_points(A_STAR, m_sym, q_sym))
def test_weight_error_points_keep_q_above_m_squared(p):
    assert p[q_sym] >= p[m_sym] ** 2
    assert p[c] ** 2 <= p[s_L] * p[s_G]


def test_weight_error_points_reach_the_boundary_q_equals_a_star_squared():
    from hypothesis import find

    find(weight_error_points(A_STAR, m_sym, q_sym),
         lambda p: p[r] == 1 and A_STAR.subs(p).is_Rational and A_STAR.subs(p) != 0
         and p[q_sym] == A_STAR.subs(p) ** 2)


@given(points_with_rationals(u_sym))
def test_points_with_rationals_extend_a_core_point(p):
    assert {s_L, s_G, c, Delta, a, r, u_sym} <= set(p)
    assert isinstance(p[u_sym], sp.Rational)


@given(multivariate_points(2))
def test_multivariate_points_are_a_covariance_and_give_m(p):
    SL, SG, C, bias = symbolic_matrices(2)
    J = sp.BlockMatrix([[SL, C], [C.T, SG]]).as_explicit().subs(p)
    assert J == J.T and J.is_positive_semidefinite
    M = (SL + SG - C - C.T + bias * bias.T).subs(p)  # hand reference for the derived M
    for i, j in ((0, 0), (0, 1), (1, 1)):
        assert p[sp.Symbol(f"M_{i + 1}{j + 1}", real=True)] == M[i, j]
