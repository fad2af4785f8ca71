"""Every registered theorem through the symbolic, exact-rational and float routes, and a
demonstration that each route rejects a deliberately wrong formula."""

import dataclasses
import os

import pytest
import sympy as sp

from modelavg_sym import verify
from modelavg_sym.derive.core import two_estimator
from modelavg_sym.symbols import Delta, c, s_G, s_L
from modelavg_sym.theorems import Theorem, all_theorems
from modelavg_sym.verify import floating, rational, symbolic

THEOREMS = all_theorems()
#: The route budget follows the hypothesis profile the suite runs under (conftest.py).
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")


@pytest.mark.parametrize("name", list(THEOREMS))
@pytest.mark.parametrize("route", ["symbolic", "rational", "float"])
def test_route(name, route):
    thm = THEOREMS[name]
    res = verify.run(thm, route, profile=PROFILE)
    if route not in thm.routes:
        assert res.status == "not-applicable"
        return
    assert res.status in {"proved", "passed", "not-applicable"}, res.detail
    if route == "symbolic":
        # identities must be proved; only Boolean claims may be not-applicable
        assert res.status == ("proved" if thm.is_identity else "not-applicable"), res.detail
    else:
        assert res.status == "passed", res.detail
        assert res.examples > 0


def test_every_core_theorem_has_three_routes():
    for thm in THEOREMS.values():
        # (the presentation theorems, one per page, are identities for the symbolic route)
        if thm.kind == "result" and thm.derivation in ("two_estimator", "independent"):
            assert {"rational", "float"} <= set(thm.routes), thm.name
            assert thm.functions, thm.name


# --- each route catches a deliberately wrong formula: a* with the bias term dropped -----

D = two_estimator()["D"]
WRONG_A = (s_L - c) / (s_L + s_G - 2 * c)  # bias term Delta^2 dropped
WRONG = Theorem(
    name="wrong_optimal_weight",
    statement="(deliberately false) a* = (s_L - c)/(s_L + s_G - 2c)",
    assumptions=(
        sp.Ge(s_L, 0),
        sp.Ge(s_G, 0),
        sp.Le(c**2, s_L * s_G),
        sp.Gt(D, 0),
        sp.Gt(s_L + s_G - 2 * c, 0),
    ),
    claim=sp.Eq(two_estimator()["optimal_weight"], WRONG_A),
    variables=(s_L, s_G, Delta, c),
    functions=("optimal_weight",),
)


def test_symbolic_route_rejects_wrong_formula():
    assert symbolic.check(WRONG).status == "failed"


def test_rational_route_rejects_wrong_formula():
    res = rational.check(WRONG, "ci")
    assert res.status == "failed"
    assert "counterexample" in res.detail


def test_float_route_rejects_wrong_formula():
    thm = dataclasses.replace(THEOREMS["D_nonnegative"], functions=("optimal_weight",))
    res = floating.check(thm, "ci", references={"optimal_weight": WRONG_A})
    assert res.status == "failed"
    assert "optimal_weight" in res.detail


def test_rational_route_rejects_wrong_inequality():
    thm = THEOREMS["beneficial_iff_between"]
    _asm, false_claim = thm.false_variant
    assert rational.check(thm, "ci", claim=false_claim).status == "failed"
