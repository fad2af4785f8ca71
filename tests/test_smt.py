"""SMT route: the automatic sympy -> z3 translation, the registered theorems' proofs, and
the deliberately false variants (each must be refuted by a real counterexample)."""

from __future__ import annotations

import pytest
import sympy as sp

from modelavg_sym.derive.core import two_estimator
from modelavg_sym.symbols import Delta, a, base_assumptions, c, s_G, s_L
from modelavg_sym.theorems import Theorem, all_theorems
from modelavg_sym.verify import smt
from modelavg_sym.verify.rational import holds

x, y, p, q = sp.symbols("x y p q", real=True)
n = sp.Symbol("n", integer=True, positive=True)
pos = sp.Symbol("pos", positive=True)


def status(assumptions, claim, variables, timeout=10.0):
    return smt.prove(assumptions, claim, variables, timeout).status


def assert_real_counterexample(assumptions, claim, point):
    """Independent check of a z3 model: exact sympy evaluation at the point."""
    pt = dict(point)
    assert all(holds(asm, pt) is True for asm in assumptions), pt
    assert holds(claim, pt) is False, pt


# --- translation: small formulas with known truth values --------------------------------

@pytest.mark.parametrize(("assumptions", "claim", "variables", "expected"), [
    ((), x**2 >= 0, (x,), "proved"),
    ((), x**2 > 0, (x,), "refuted"),
    ((x > 0,), x + 1 / x >= 2, (x,), "proved"),
    ((x > 0,), x + 1 / x > 2, (x,), "refuted"),
    ((x < 0,), x + 1 / x <= -2, (x,), "proved"),
    # p/q > 0 <=> p q > 0 where defined (q != 0): the sign of the denominator matters.
    ((), sp.Equivalent(p / q > 0, p * q > 0), (p, q), "proved"),
    ((), sp.Equivalent(p / q > 0, p > 0), (p, q), "refuted"),
    ((), sp.Equivalent(p / q < 0, p * q < 0), (p, q), "proved"),
    ((), sp.Equivalent(p / q**2 >= 0, p >= 0), (p, q), "proved"),
    ((x > 0,), 1 / (x - 1) > 0, (x,), "refuted"),
    ((), x / (x**2 + 1) <= sp.Rational(1, 2), (x,), "proved"),
    ((), x / (x**2 + 1) < sp.Rational(1, 2), (x,), "refuted"),
    ((), sp.Eq((x**2 - 1) / (x - 1), x + 1), (x,), "proved"),
    ((), sp.Ne(x, y) | sp.Eq(x, y), (x, y), "proved"),
    ((), sp.Implies(x > 1, x**2 > 1), (x,), "proved"),
    ((), sp.Implies(x**2 > 1, x > 1), (x,), "refuted"),
    ((), sp.Equivalent(x > 0, sp.Not(x <= 0)), (x,), "proved"),
    ((), sp.Xor(x > 0, x < 0), (x,), "refuted"),
    ((), sp.ITE(x > 0, x > 0, x <= 0), (x,), "proved"),
    ((), sp.Eq(sp.sqrt(x**2), sp.Abs(x)), (x,), "proved"),
    ((x >= 0,), sp.sqrt(x) * sp.sqrt(x) >= x, (x,), "proved"),
    ((), sp.sqrt(x) >= 0, (x,), "proved"),
    ((), sp.Max(x, y) >= x, (x, y), "proved"),
    ((), sp.Min(x, y) > x, (x, y), "refuted"),
    ((), sp.Abs(x + y) <= sp.Abs(x) + sp.Abs(y), (x, y), "proved"),
    ((), pos > 0, (pos,), "proved"),              # symbol assumptions are asserted
    ((), n >= 1, (n,), "proved"),                  # positive integer
    ((), n >= 2, (n,), "refuted"),
    ((), sp.true, (x,), "proved"),
    ((), sp.false, (x,), "refuted"),
])
def test_small_formulas(assumptions, claim, variables, expected):
    out = smt.prove(assumptions, claim, variables)
    assert out.status == expected, out.detail
    if expected == "refuted":
        assert out.exact
        assert_real_counterexample(assumptions, claim, out.counterexample)


def test_counterexample_avoids_undefined_points():
    # 1/(x - 1) > 0 fails for 0 < x < 1, not at the undefined point x = 1.
    out = smt.prove((x > 0,), 1 / (x - 1) > 0, (x,))
    assert out.status == "refuted"
    assert 0 < out.counterexample[x] < 1


def test_definedness_reported():
    assert smt.prove((x > 0,), 1 / x > 0, (x,)).definedness == "implied"
    out = smt.prove((), sp.Equivalent(p / q > 0, p * q > 0), (p, q))
    assert out.status == "proved" and out.definedness == "assumed"
    assert smt.prove((), sp.sqrt(x) >= 0, (x,)).definedness == "assumed"
    assert smt.prove((x >= 1,), sp.sqrt(x) >= 1, (x,)).definedness == "implied"
    assert smt.prove((x >= 1,), sp.sqrt(x) > 1, (x,)).status == "refuted"


def test_irrational_model_replaced_by_rational_point():
    # x^2 > 2 ∧ x < 3/2 ∧ x > 0 is sat on an open interval around sqrt(2)+: rational found.
    out = smt.prove((x > 0, x < sp.Rational(3, 2)), x**2 <= 2, (x,))
    assert out.status == "refuted" and out.exact
    assert_real_counterexample((x > 0, x < sp.Rational(3, 2)), x**2 <= 2, out.counterexample)


def test_only_irrational_counterexamples_are_marked():
    out = smt.prove((), sp.Ne(x**2, 2), (x,))
    assert out.status == "refuted"
    assert not out.exact
    assert "irrational" in out.detail and "sqrt(2)" in out.detail  # checked exactly
    assert abs(out.counterexample[x] ** 2 - 2) < sp.Rational(1, 10**20)


def test_unchecked_irrational_model_is_unknown_not_refuted(monkeypatch):
    # If the exact algebraic point cannot be confirmed (here: it is replaced by its
    # rational approximation, where x**2 != 2 holds), there is no checked counterexample.
    monkeypatch.setattr(smt, "_algebraic_value", lambda v: smt._model_value(v)[0],
                        raising=False)
    out = smt.prove((), sp.Ne(x**2, 2), (x,))
    assert out.status == "unknown", out.detail
    assert "irrational" in out.detail


@pytest.mark.parametrize(("assumptions", "claim", "variables"), [
    ((x < 1,), sp.sqrt(x - 1) < 0, (x,)),          # sqrt(x - 1) undefined wherever x < 1
    ((x > 0, x < 0), x > 5, (x,)),                 # contradictory assumptions
    ((pos < 0,), pos > 5, (pos,)),                 # contradicts the symbol's domain
    ((x > 0,), 1 / (x - sp.Abs(x)) > 0, (x,)),     # claim defined nowhere
])
def test_vacuous_hypotheses_are_not_proved(assumptions, claim, variables):
    out = smt.prove(assumptions, claim, variables)
    assert out.status == "failed", out
    assert out.detail == smt.VACUOUS


def test_vacuous_theorem_fails_the_route():
    thm = Theorem(name="vacuous_demo", statement="vacuous", assumptions=(x < 1,),
                  claim=sp.sqrt(x - 1) < 0, variables=(x,), routes=("smt",))
    res = smt.check(thm)
    assert res.status == "failed" and "vacuous" in res.detail


def test_outside_fragment_is_unknown():
    out = smt.prove((), sp.exp(x) >= x + 1, (x,))
    assert out.status == "unknown" and "fragment" in out.detail


def test_timeout_gives_unknown_with_limit():
    z, w = sp.symbols("z w", real=True)
    motzkin = x**4 * y**2 + x**2 * y**4 - 3 * x**2 * y**2 * z**2 + z**6
    claim = motzkin * (w**2 + 1) + (x - w) ** 2 * (y - z) ** 2 >= 0  # true, but hard for z3
    out = smt.prove((), claim, (x, y, z, w), timeout=0.05)
    assert out.status == "unknown"
    assert "0.05 s" in out.detail


def test_timeout_environment_override(monkeypatch):
    monkeypatch.setenv("MODELAVG_SMT_TIMEOUT", "3.5")
    assert smt.default_timeout("ci") == 3.5
    monkeypatch.setenv("MODELAVG_SMT_TIMEOUT", "0")
    with pytest.raises(ValueError, match="MODELAVG_SMT_TIMEOUT"):
        smt.default_timeout("ci")


# --- the registered theorems --------------------------------------------------------------

SMT_THEOREMS = [t for t in all_theorems().values() if "smt" in t.routes]

MUST_PROVE = {
    "headline_positive_weight_helps", "beneficial_iff_between", "negative_benefit_outside",
    "independent_weight_in_unit_interval", "optimal_weight_unique_minimiser",
    "global_beats_local_iff", "correlated_beneficial_iff", "correlated_beneficial_sign",
    "D_nonnegative",
}


def test_required_theorems_use_the_smt_route():
    assert MUST_PROVE <= {t.name for t in SMT_THEOREMS}


@pytest.mark.parametrize("thm", SMT_THEOREMS, ids=lambda t: t.name)
def test_theorem_proved_and_false_variant_refuted(thm: Theorem):
    res = smt.check(thm, "ci")
    if thm.expected_unknown and res.status == "unknown":
        pytest.skip(f"expected unknown: {thm.expected_unknown}")
    assert res.status == "proved", res.detail
    assert res.extra["false_variant"] == "refuted", res.detail
    # The false variant's counterexample, substituted into the sympy expressions.
    assumptions, claim = smt.false_variant(thm)
    fv = smt.prove(assumptions, claim, thm.variables)
    assert fv.status == "refuted" and fv.exact
    assert_real_counterexample(assumptions, claim, fv.counterexample)
    assert res.extra["false_variant_counterexample"] == {
        str(k): str(v) for k, v in fv.counterexample.items()}


def test_wrong_formula_is_refuted():
    """"A wrong optimal weight (s_L - c)/(s_L + s_G - 2c), forgetting Delta^2 in D, is
    optimal" is refuted with a real counterexample."""
    d = two_estimator()
    wrong = (s_L - c) / (s_L + s_G - 2 * c)
    mse = d["mse"]
    thm = Theorem(name="wrong_optimum", statement="wrong",
                  assumptions=(*base_assumptions(), sp.Gt(d["D"], 0), sp.Gt(s_L + s_G - 2 * c, 0)),
                  claim=mse.subs(a, wrong) <= mse, variables=(s_L, s_G, Delta, c, a))
    res = smt.check(thm)
    assert res.status == "refuted"
    point = {sp.Symbol(k, **_assumptions_of(k)): sp.Rational(v)
             for k, v in res.extra["counterexample"].items()}
    assert_real_counterexample(thm.assumptions, thm.claim, point)


def _assumptions_of(name: str) -> dict:
    sym = {str(s): s for s in (s_L, s_G, Delta, c, a)}[name]
    return sym.assumptions0


def test_default_false_variants():
    thm = Theorem(name="t", statement="", assumptions=(x > 0, y > 0), claim=x * y > 0,
                  variables=(x, y))
    assert smt.false_variant(thm) == ((x > 0,), x * y > 0)
    ident = Theorem(name="i", statement="", assumptions=(x > 0,),
                    claim=sp.Eq(x * (x + 1), x**2 + x, evaluate=False), variables=(x,))
    fa, fc = smt.false_variant(ident)
    assert fa == (x > 0,)
    assert smt.prove(fa, fc, (x,)).status == "refuted"
