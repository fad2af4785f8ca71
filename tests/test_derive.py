"""The derivation engine against hand-written references (MATH.md section 1).

The closed forms typed here are *independent references*: the package derives its own.
"""

import sympy as sp

from modelavg_sym.algebra.moments import (
    CovarianceTable,
    RandomAffine,
    covariance,
    second_moment,
    variance,
)
from modelavg_sym.derive.core import independent, two_estimator
from modelavg_sym.symbols import Delta, a, c, r, s_G, s_L

D_REF = s_L + s_G - 2 * c + Delta**2
A_REF = (s_L - c) / D_REF


def _same(x, y):
    return sp.simplify(sp.together(x - y)) == 0


def test_moments_linearity():
    t = CovarianceTable({("x", "x"): 2, ("y", "y"): 3, ("x", "y"): 1})
    x, y = RandomAffine.noise("x"), RandomAffine.noise("y")
    z = 2 * x - y + 5
    assert variance(z, t) == 4 * 2 + 3 - 2 * 2 * 1
    assert covariance(z, x, t) == 2 * 2 - 1
    assert second_moment(z, t) == 25 + 7


def test_mse_r1():
    d = two_estimator()
    ref = (1 - a) ** 2 * s_L + a**2 * (s_G + Delta**2) + 2 * a * (1 - a) * c
    assert _same(d["mse"], ref)
    assert _same(d["mse_terms"], ref)
    assert _same(d["D"], D_REF)


def test_optimum_r2_r3():
    d = two_estimator()
    assert _same(d["optimal_weight"], A_REF)
    assert _same(d["d2mse"], 2 * D_REF)
    assert _same(d["min_mse"], s_L - (s_L - c) ** 2 / D_REF)


def test_benefit_r4_r5_r6():
    d = two_estimator()
    assert _same(d["benefit"], D_REF * a * (2 * A_REF - a))
    assert _same(d["benefit_factored"], D_REF * a * (2 * A_REF - a))
    assert d["benefit_root_low"] == 0
    assert _same(d["benefit_root_high"], 2 * A_REF)
    assert _same(d["gain_fraction"], r * (2 - r))


def test_global_and_personalization_r9():
    d = two_estimator()
    assert _same(d["mse_global"], s_G + Delta**2)
    assert _same(d["personalization_value"], D_REF * (1 - A_REF) ** 2)


def test_independent_r7_r8():
    i = independent()
    a_ind = s_L / (s_L + s_G + Delta**2)
    assert _same(i["optimal_weight"], a_ind)
    assert _same(i["min_mse"], (1 - a_ind) * s_L)
    assert _same(i["relative_gain_at_ratio"], a_ind * r * (2 - r))


def test_derivation_is_deterministic_and_pure():
    d1, d2 = two_estimator(), two_estimator.__wrapped__()
    assert [sp.srepr(v) for v in d1.results.values()] == [sp.srepr(v) for v in d2.results.values()]
