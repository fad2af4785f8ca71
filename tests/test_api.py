"""The compiled numeric API: values, types, broadcasting, singular points, bad input."""

import math

import numpy as np
import pytest

import modelavg_sym as m
from modelavg_sym.errors import InvalidParameterError, UndefinedOptimumError


def test_done_when_value():
    from fractions import Fraction

    assert m.optimal_weight(1, 0.5, 0.3) == pytest.approx(100 / 159, rel=1e-15)
    # correctly rounded: the float nearest the exact a* at the float inputs (issue 12)
    exact = Fraction(1) / (1 + Fraction(0.5) + Fraction(0.3) ** 2)
    assert m.optimal_weight(1, 0.5, 0.3) == float(exact)
    assert repr(m.optimal_weight(1, 0.5, 0.3)) == "0.6289308176100629"


def test_scalars_give_python_floats():
    for val in (
        m.optimal_weight(1, 0.5, 0.3),
        m.mse(0.2, 1, 0.5, 0.3),
        m.benefit(0.2, 1, 0.5, 0.3),
        m.min_mse(1, 0.5, 0.3),
        *m.beneficial_interval(1, 0.5, 0.3),
    ):
        assert type(val) is float


def test_broadcasting():
    w = np.linspace(-1, 2, 7)[:, None]
    vl = np.array([1.0, 2.0, 3.0])
    out = m.mse(w, vl, 0.5, 0.3)
    assert out.shape == (7, 3)
    assert out[2, 1] == pytest.approx(m.mse(float(w[2, 0]), 2.0, 0.5, 0.3), rel=1e-15)


def test_hand_values():
    # independent reference: (1-a)^2 sL + a^2 (sG + D^2) + 2a(1-a)c
    a, sl, sg, b, cv = 0.3, 2.0, 1.0, 0.5, 0.4
    ref = (1 - a) ** 2 * sl + a**2 * (sg + b * b) + 2 * a * (1 - a) * cv
    assert m.mse(a, sl, sg, b, cv) == pytest.approx(ref, rel=1e-14)
    assert m.benefit(a, sl, sg, b, cv) == pytest.approx(sl - ref, rel=1e-13)
    astar = (sl - cv) / (sl + sg - 2 * cv + b * b)
    assert m.optimal_weight(sl, sg, b, cv) == pytest.approx(astar, rel=1e-15)
    assert m.beneficial_interval(sl, sg, b, cv) == pytest.approx((0.0, 2 * astar), rel=1e-15)


def test_interval_below_zero_when_cov_exceeds_local_variance():
    lo, hi = m.beneficial_interval(1.0, 4.0, 0.0, 1.5)  # c > s_L
    assert lo < 0 and hi == 0.0
    assert m.benefit((lo + hi) / 2, 1.0, 4.0, 0.0, 1.5) > 0
    assert m.benefit(0.1, 1.0, 4.0, 0.0, 1.5) < 0


# --- singular points (SymForce-style epsilon handling) ---------------------------------


def test_zero_local_variance():
    assert m.optimal_weight(0.0, 1.0, 0.5) == 0.0
    assert m.beneficial_interval(0.0, 1.0, 0.5) == (0.0, 0.0)
    assert m.benefit(0.3, 0.0, 1.0, 0.5) < 0


def test_covariance_at_cauchy_schwarz_bound():
    sl, sg = 2.0, 8.0
    cv = math.sqrt(sl * sg)
    assert m.optimal_weight(sl, sg, 0.0, cv) == pytest.approx((sl - cv) / (sl + sg - 2 * cv))


def test_D_zero():
    with pytest.raises(UndefinedOptimumError, match="D = "):
        m.optimal_weight(1.0, 1.0, 0.0, 1.0)
    with pytest.raises(UndefinedOptimumError):
        m.min_mse(1.0, 1.0, 0.0, 1.0)
    with pytest.raises(UndefinedOptimumError):
        m.beneficial_interval(1.0, 1.0, 0.0, 1.0)
    assert m.mse(0.7, 1.0, 1.0, 0.0, 1.0) == pytest.approx(1.0)
    assert m.benefit(0.7, 1.0, 1.0, 0.0, 1.0) == 0.0


BAD = [
    ((-1.0, 1.0, 0.0, 0.0), "var_local", ">= 0"),
    ((1.0, -1.0, 0.0, 0.0), "var_global", ">= 0"),
    ((math.nan, 1.0, 0.0, 0.0), "var_local", "finite"),
    ((1.0, math.inf, 0.0, 0.0), "var_global", "finite"),
    ((1.0, 1.0, math.nan, 0.0), "bias", "finite"),
    ((1.0, 1.0, 0.0, 2.0), "cov", "Cauchy-Schwarz"),
]


@pytest.mark.parametrize("args,param,words", BAD)
@pytest.mark.parametrize("as_array", [False, True])
@pytest.mark.parametrize(
    "fn", ["optimal_weight", "mse", "benefit", "min_mse", "beneficial_interval"]
)
def test_bad_input(fn, args, param, words, as_array):
    f = getattr(m, fn)
    if as_array:
        args = tuple(np.full(3, x) for x in args)
    call = (lambda: f(0.5, *args)) if fn in ("mse", "benefit") else (lambda: f(*args))
    with pytest.raises(InvalidParameterError, match=param) as exc:
        call()
    assert words in str(exc.value)
    assert isinstance(exc.value, ValueError)
    assert exc.value.parameter == param


def test_bad_weight():
    with pytest.raises(InvalidParameterError, match="weight"):
        m.mse(math.nan, 1.0, 1.0, 0.0)
    with pytest.raises(InvalidParameterError, match="weight"):
        m.benefit("x", 1.0, 1.0, 0.0)


# --- extreme and mixed magnitudes: correctly rounded (exact fallback) or a clear error ----

EXTREME = [
    ("min_mse", (1.0, 1.0, 1e150, 0.0)),
    ("min_mse", (1e-170, 1e-170, 0.0, 0.0)),
    ("min_mse", (1e-11, 0.0, 1e-150, 0.0)),
    ("min_mse", (1e6, 1.0, 0.0, 1e3)),  # c at the Cauchy-Schwarz bound: exactly 0
    ("optimal_weight", (1e16, 1e16, 1.0, 1e16)),  # s_L + s_G - 2c cancels: D = 1 exactly
    ("optimal_weight", (1.0, 1.0, 1e200, 0.0)),
]


def _exact_reference(name, p):
    from fractions import Fraction

    sl, sg, b, cv = (Fraction(x) for x in p)
    d = sl + sg - 2 * cv + b * b  # independent hand-written reference
    return {"min_mse": (sl * (sg + b * b) - cv * cv) / d, "optimal_weight": (sl - cv) / d}[name]


@pytest.mark.parametrize("name,p", EXTREME)
@pytest.mark.parametrize("as_array", [False, True])
def test_extreme_inputs_correctly_rounded(name, p, as_array):
    want = float(_exact_reference(name, p))
    if as_array:
        got = getattr(m, name)(*(np.full(3, x) for x in p))
        assert (got == want).all(), (got, want)
    else:
        assert getattr(m, name)(*p) == want


def test_overflowing_result_is_an_error_not_inf():
    with pytest.raises(InvalidParameterError, match="float64 range"):
        m.mse(1e200, 1.0, 0.5, 0.3)
    with pytest.raises(InvalidParameterError, match="float64 range"):
        m.mse(np.full(3, 1e200), 1.0, 0.5, 0.3)


def test_cauchy_schwarz_check_does_not_underflow():
    with pytest.raises(InvalidParameterError, match="cov"):
        m.mse(0.5, 1e-300, 1e-300, 0.0, -1e-170)
