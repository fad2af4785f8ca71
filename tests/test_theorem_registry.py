"""The theorem registry is data built on demand: nothing is derived on import, areas are
listed explicitly, every theorem is checked when its area is built, and the routes read a
theorem's sampler and Monte Carlo plan from its own fields."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sympy as sp

from modelavg_sym import theorems
from modelavg_sym.theorems import (
    ReplicationCheck,
    Theorem,
    WeightSweep,
    all_theorems,
    get,
    validate,
)

x = sp.Symbol("x", real=True)


def _thm(**kw) -> Theorem:
    kw.setdefault("name", "toy")
    kw.setdefault("statement", "toy")
    kw.setdefault("assumptions", ())
    kw.setdefault("claim", sp.Eq((x + 1) ** 2, x**2 + 2 * x + 1, evaluate=False))
    kw.setdefault("variables", (x,))
    kw.setdefault("routes", ("symbolic",))
    return Theorem(**kw)


def test_importing_the_theorems_derives_nothing() -> None:
    code = ("import modelavg_sym.theorems\n"
            "from modelavg_sym.derive import core, estimated\n"
            "print(core.two_estimator.cache_info().misses, core.independent.cache_info().misses,"
            " estimated.estimated_weights.cache_info().misses)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["0", "0", "0"]


def test_areas_in_report_order() -> None:
    derivations = [t.derivation for t in all_theorems().values()]
    order = list(dict.fromkeys(derivations))
    assert order == ["two_estimator", "independent", "estimated_weights", "settings",
                     "nestimators", "multivariate"]
    assert theorems.AREAS == (theorems.core.theorems, theorems.estimated.theorems,
                              theorems.settings.theorems)
    first = [t.name for t in theorems.core.theorems()][:3]
    assert list(all_theorems())[:3] == first == ["mse_decomposition", "mse_in_terms_of_D",
                                                 "second_derivative_is_2D"]


def test_get_names_the_known_theorems() -> None:
    assert get("mse_global").name == "mse_global"
    with pytest.raises(KeyError, match="mse_global"):
        get("no_such_theorem")


def test_duplicate_names_rejected(monkeypatch) -> None:
    monkeypatch.setattr(theorems, "AREAS", (lambda: [_thm()], lambda: [_thm()]))
    with pytest.raises(ValueError, match="'toy' is used twice"):
        all_theorems()


@pytest.mark.parametrize(("kw", "message"), [
    ({"claim": sp.Eq(x, x)}, "claim evaluated to True"),
    ({"routes": ("symbolic", "telepathy")}, "unknown routes"),
    ({"variables": ()}, r"symbols \['x'\] are not declared"),
    ({"routes": ("symbolic", "montecarlo")}, "montecarlo route needs a montecarlo plan"),
    ({"montecarlo": WeightSweep("mse", (1.0,))}, "montecarlo route needs a montecarlo plan"),
])
def test_malformed_theorems_rejected_when_their_area_is_built(monkeypatch, kw,
                                                              message) -> None:
    with pytest.raises(ValueError, match=message):
        validate(_thm(**kw))
    monkeypatch.setattr(theorems, "AREAS", (lambda: [_thm(**kw)],))
    with pytest.raises(ValueError, match=message):
        all_theorems()


def test_every_montecarlo_theorem_carries_its_plan() -> None:
    plans = {t.name: t.montecarlo for t in all_theorems().values() if t.montecarlo}
    assert {n for n, p in plans.items() if isinstance(p, WeightSweep)} == {
        "mse_decomposition", "benefit_factorisation", "headline_positive_weight_helps",
        "mse_global"}
    assert {n for n, p in plans.items() if isinstance(p, ReplicationCheck)} == {
        "estimated_weight_risk", "estimated_weight_benefit", "naive_delta_sq_bias",
        "unbiased_delta_sq"}


@pytest.mark.slow
def test_rational_route_uses_the_theorems_own_sampler() -> None:
    from hypothesis import find

    from modelavg_sym.verify import rational

    marker = sp.Rational(12345, 7)
    seen: list[object] = []

    def sampler(strategies):
        seen.append(strategies)
        return strategies.points_with_rationals().map(lambda p: {**p, x: marker})

    thm = _thm(routes=("rational",), sampler=sampler,
               claim=sp.Eq(x, marker, evaluate=False))
    assert rational.check(thm, "ci").status == "passed"
    assert seen and seen[0].__name__ == "modelavg_sym.verify.strategies"
    assert find(rational.sampler(thm), lambda p: True)[x] == marker
    wrong = _thm(routes=("rational",), sampler=sampler, claim=sp.Eq(x, 1, evaluate=False))
    assert rational.check(wrong, "ci").status == "failed"
