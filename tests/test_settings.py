"""Settings engine: moments derived from data-generating assumptions (MATH.md section 2)."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy as sp

from modelavg_sym.derive import settings as S
from modelavg_sym.derive.core import two_estimator
from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.symbols import Delta, a, c, s_G, s_L


def _zero(e: sp.Expr) -> bool:
    return sp.cancel(sp.together(e)) == 0


def test_done_when_pooled_exact():
    s = S.pooled(n=[10, 30, 60], var=[4, 2, 1], mean=[0, 1, Fraction(1, 2)], include_local=True)
    assert (s.var_local, s.var_global, s.cov, s.bias) == (
        sp.Rational(2, 5), sp.Rational(2, 125), sp.Rational(1, 25), sp.Rational(3, 5))
    assert all(isinstance(x, sp.Rational) for x in (s.var_local, s.var_global, s.cov, s.bias))
    d = s.derivation()
    # independent reference: a* = (s_L - c) / (s_L + s_G - 2c + Delta^2) with the numbers
    sl, sg, cv, b = Fraction(2, 5), Fraction(2, 125), Fraction(1, 25), Fraction(3, 5)
    a_ref = (sl - cv) / (sl + sg - 2 * cv + b * b)
    assert d["optimal_weight"] == sp.Rational(a_ref.numerator, a_ref.denominator)
    mse_ref = sl - (sl - cv) ** 2 / (sl + sg - 2 * cv + b * b)
    assert d["min_mse"] == sp.Rational(mse_ref.numerator, mse_ref.denominator)


def test_other_nodes_symbolic_matches_math_md():
    n, v, m = S.node_symbols(3)
    s = S.other_nodes(n, v, m)
    N = n[1] + n[2] + n[3]
    assert _zero(s.var_local - v[0] / n[0])
    assert s.cov == 0
    assert _zero(s.var_global - sum(n[i] * v[i] for i in (1, 2, 3)) / N**2)
    assert _zero(s.bias - (sum(n[i] * m[i] for i in (1, 2, 3)) / N - m[0]))


def test_pooled_with_local_symbolic_matches_math_md():
    n, v, m = S.node_symbols(2)
    s = S.pooled_with_local(n, v, m)
    N0 = sum(n)
    assert _zero(s.cov - v[0] / N0)
    assert _zero(s.var_global - sum(n[i] * v[i] for i in range(3)) / N0**2)


@pytest.mark.parametrize("K", [1, 2, 3])
def test_pooled_incl_vs_excl_theorem(K):
    n, v, m = S.node_symbols(K)
    inc = S.pooled_with_local(n, v, m).derivation()
    exc = S.other_nodes(n, v, m).derivation()
    share = n[0] / sum(n)
    assert _zero(inc["min_mse"] - exc["min_mse"])
    assert _zero(inc["optimal_weight"] - exc["optimal_weight"] / (1 - share))


def test_pooled_incl_vs_excl_fails_for_wrong_scaling():
    n, v, m = S.node_symbols(2)
    inc = S.pooled_with_local(n, v, m).derivation()
    exc = S.other_nodes(n, v, m).derivation()
    assert not _zero(inc["optimal_weight"] - exc["optimal_weight"] * (1 - n[0] / sum(n)))


@pytest.mark.parametrize("builder", [S.pooled_with_local, S.other_nodes, S.uniform_federation])
def test_substituted_mse_equals_direct_expansion(builder):
    n, v, m = S.node_symbols(2)
    s = builder(n, v, m)
    assert _zero(s.derivation()["mse"] - s.expected_mse(a))


def test_uniform_federation_exact():
    s = S.uniform_federation([1, 2, 4], [3, 5, 7], [0, 2, -1])
    # G = (xbar_0 + xbar_1 + xbar_2)/3; Var = (3/1 + 5/2 + 7/4)/9, Cov = 3/3 = 1
    assert s.var_global == sp.Rational(3 + Fraction(5, 2) + Fraction(7, 4)) / 9
    assert s.cov == 1
    assert s.bias == sp.Rational(1, 3)
    ex = S.uniform_federation([1, 2, 4], [3, 5, 7], [0, 2, -1], include_local=False)
    assert ex.cov == 0 and ex.bias == sp.Rational(1, 2)


def test_known_global_random_bias_is_bayes_shrinkage():
    n0 = sp.Symbol("n_0", positive=True)
    v0 = sp.Symbol("v_0", positive=True)
    s = S.known_global_random_bias(n0, v0)
    assert s.var_global == 0 and s.cov == 0 and s.bias == 0
    assert s.bias_sq == S.tau**2
    sl = v0 / n0
    assert _zero(s.derivation()["optimal_weight"] - sl / (sl + S.tau**2))
    assert _zero(s.derivation()["mse"] - s.expected_mse(a))
    # and the check can fail: the shrinkage factor is not s_L / (s_L + tau)
    assert not _zero(s.derivation()["optimal_weight"] - sl / (sl + S.tau))


def test_random_means_setting_matches_direct_expectation():
    n = sp.symbols("n_0:3", positive=True)
    pop = S.random_means_population(n)
    s = pop.setting(pop.sample_mean(0), pop.size_weighted([1, 2]), "x", "x")
    d = s.derivation(simplify=False)
    assert _zero(d["mse"] - s.expected_mse(a))
    assert _zero(s.bias_sq - S.sigma**2 * (1 + (n[1] ** 2 + n[2] ** 2) / (n[1] + n[2]) ** 2))


def test_floats_are_exact_binary_and_derivation_is_substitution():
    s = S.other_nodes([2, 4], [0.5, 0.25], [0.0, 0.125])
    assert s.var_local == sp.Rational(1, 4) and s.var_global == sp.Rational(1, 16)
    assert s.bias == sp.Rational(1, 8)
    base = two_estimator()["optimal_weight"]
    assert s.derivation()["optimal_weight"] == base.subs(
        {s_L: sp.Rational(1, 4), s_G: sp.Rational(1, 16), c: 0, Delta: sp.Rational(1, 8)})
    assert s.derivation()["optimal_weight"] == sp.Rational(16, 21)


@pytest.mark.parametrize(("kwargs", "param"), [
    ({"n": [1, 2], "var": [1], "mean": [0, 0]}, "n, var, mean"),
    ({"n": [1], "var": [1], "mean": [0]}, "n"),
    ({"n": [0, 2], "var": [1, 1], "mean": [0, 0]}, "n[0]"),
    ({"n": [1, -2], "var": [1, 1], "mean": [0, 0]}, "n[1]"),
    ({"n": [1, 2], "var": [1, -1], "mean": [0, 0]}, "var[1]"),
    ({"n": [1, 2], "var": [1, 1], "mean": [0, sp.I]}, "mean[1]"),
    ({"n": [1, 2], "var": [1, 1], "mean": [0, float("nan")]}, "mean[1]"),
    ({"n": [1, 2], "var": ["x y", 1], "mean": [0, 0]}, "var[0]"),
    ({"n": [True, 2], "var": [1, 1], "mean": [0, 0]}, "n[0]"),
])
def test_bad_input_names_parameter(kwargs, param):
    with pytest.raises(InvalidParameterError) as ei:
        S.pooled(**kwargs)
    assert ei.value.parameter == param


def test_biased_local_model_rejected():
    pop = S.Population.build([1, 2], [1, 1], [0, 1])
    s = pop.setting(pop.sample_mean(1), pop.sample_mean(0), "bad", "bad")
    with pytest.raises(InvalidParameterError, match="local"):
        _ = s.var_local


def test_setting_from_mapping():
    s = S.setting_from_mapping({"setting": "other_nodes", "n": [1, 1], "var": [1, 1],
                                "mean": [0, 1]})
    assert s.cov == 0 and s.bias == 1
    with pytest.raises(InvalidParameterError, match="setting"):
        S.setting_from_mapping({"setting": "nope", "n": [1], "var": [1], "mean": [0]})
    with pytest.raises(InvalidParameterError, match="var"):
        S.setting_from_mapping({"n": [1, 1], "mean": [0, 0]})


# --------------------------------------------------------------------------- registered theorems

def _my_theorems():
    from modelavg_sym.theorems import all_theorems

    return [t for t in all_theorems().values()
            if t.derivation in ("settings", "nestimators", "multivariate")]


def test_theorems_registered_and_symbolic_route_proves_identities():
    from modelavg_sym.theorems import all_theorems
    from modelavg_sym.verify import run

    registered = all_theorems()
    thms = _my_theorems()
    assert len(thms) >= 20
    for thm in thms:
        assert registered[thm.name] is thm
        assert set(thm.routes) <= {"symbolic", "smt", "rational"}
        if "symbolic" in thm.routes:
            assert run(thm, "symbolic").status == "proved", thm.name


def test_rational_route_passes_on_a_sample():
    # every registered theorem's routes also run in tests/test_routes.py; this one keeps the
    # settings file self-contained
    from modelavg_sym.theorems import get
    from modelavg_sym.verify import run

    _my_theorems()
    for name in ("dk_coarse_optimum_is_core_weight", "matrix_weight_beats_scalar"):
        res = run(get(name), "rational")
        assert res.status == "passed" and res.examples >= 50, res


@pytest.mark.slow
def test_routes_reject_wrong_formulas():
    import dataclasses

    from modelavg_sym.theorems import get
    from modelavg_sym.verify import rational, symbolic

    _my_theorems()
    thm = get("pooled_with_local_weight_rescaled")
    n, _v, _m = S.node_symbols(2)
    wrong = sp.Eq(thm.claim.lhs, thm.claim.rhs * (1 - n[0] / sum(n)) ** 2, evaluate=False)
    assert symbolic.check(dataclasses.replace(thm, claim=wrong)).status == "failed"
    assert rational.check(thm, claim=wrong).status == "failed"
    ineq = get("matrix_weight_beats_scalar")
    wrong_ineq = sp.Ge(ineq.claim.lhs, ineq.claim.rhs)  # matrix weight never better: false
    assert rational.check(ineq, claim=wrong_ineq).status == "failed"
    shrink = get("known_global_random_bias_shrinkage")
    wrong_shrink = sp.Eq(shrink.claim.lhs, shrink.claim.rhs ** 2, evaluate=False)
    assert rational.check(shrink, claim=wrong_shrink).status == "failed"
