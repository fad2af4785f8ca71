"""Monte Carlo route: the theorems against simulated data from non-Gaussian distributions.

For each scenario (node distributions and sample sizes; skewed, discrete and heavy-tailed,
independent and correlated global models) the route simulates (L, G) with
:mod:`modelavg_sym.simulation` and applies the theorem's own Monte Carlo plan
(``Theorem.montecarlo``).  All intervals of one check are simultaneous: z is
Bonferroni-corrected for the number of comparisons (confidence 99.9% overall).

* :class:`~modelavg_sym.theorems.WeightSweep` (two-estimator theorems): R replications
  of (L, G) per scenario; the predicted MSE or benefit at the plan's weights is evaluated
  from the theorem itself -- the right-hand side of its identity (``mse_decomposition``:
  (1-a)^2 s_L + a^2 (s_G + Delta^2) + 2a(1-a)c; ``benefit_factorisation``: D a (2a* - a);
  ``mse_global``: s_G + Delta^2) -- and from the compiled API, at the setting's true s_L,
  s_G, Delta, c, and compared with the empirical MSE or benefit.  A plan marked
  ``positive`` (``headline_positive_weight_helps``, c = 0) is also a sign claim: at
  a = r a* with 0 < r < 2 the empirical benefit must be significantly positive.
* :class:`~modelavg_sym.theorems.SettingSweep` (a setting file's theorems): the setting's
  own nodes simulated at a point (:mod:`modelavg_sym.verify.montecarlo_setting`).
* :class:`~modelavg_sym.theorems.ReplicationCheck` (estimated-weight theorems): two
  independent sets of R replications per scenario (:class:`~modelavg_sym.theorems.Replications`);
  the theorem's per-replication statistic must have mean 0 within its standard error.

Status ``agreed`` when every comparison agrees, else ``failed`` with the worst one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

import numpy as np
import numpy.typing as npt
import sympy as sp

from modelavg_sym.numeric import api
from modelavg_sym.simulation.engine import simulate
from modelavg_sym.simulation.model import SimulationSetup
from modelavg_sym.simulation.stats import SimulationResult, z_value
from modelavg_sym.symbols import Delta, a, c, s_G, s_L
from modelavg_sym.theorems import (
    ReplicationCheck,
    Replications,
    SettingSweep,
    Theorem,
    WeightSweep,
)
from modelavg_sym.verify import RouteResult
from modelavg_sym.verify.profiles import PROFILES

#: Overall confidence of each theorem's simultaneous intervals.
CONFIDENCE = 0.999
SEED = 20211025

#: Scenarios: (name, nodes [(spec, n)], include_local).  Node 0 is local.
SCENARIOS: tuple[tuple[str, tuple[tuple[str, int], ...], bool], ...] = (
    ("skewed-vs-bernoulli", (("exponential(scale=2)", 5), ("binomial(n=1, p=0.3)", 50)), False),
    ("poisson-vs-gamma", (("poisson(lam=3)", 4), ("gamma(shape=2, scale=1.6)", 20)), False),
    ("heavy-tailed", (("standard_t(df=5)", 3), ("pareto(a=5)", 8)), False),
    ("pooled-with-local", (("negative_binomial(n=3, p=0.5)", 6), ("chisquare(df=3)", 10),
                           ("geometric(p=0.4)", 15)), True),
)

_ARGS = (a, s_L, s_G, Delta, c)


@cache
def scenario_result(index: int, profile: str) -> SimulationResult:
    """Simulation of scenario ``index`` (cached: theorems share simulations)."""
    _, nodes, include_local = SCENARIOS[index]
    setting = SimulationSetup.from_nodes(nodes, include_local=include_local)
    return simulate(setting, PROFILES[profile].mc_reps, seed=SEED + index,
                    confidence=CONFIDENCE, progress=False)


def _rhs(thm: Theorem) -> sp.Expr | None:
    return thm.claim.rhs if isinstance(thm.claim, sp.Equality) else None


def _formula(expr: sp.Expr) -> Callable[..., npt.NDArray[np.float64]]:
    f = sp.lambdify(_ARGS, expr, modules="numpy")
    return lambda w, *p: np.broadcast_to(np.asarray(f(w, *p), dtype=np.float64), w.shape)


def check(thm: Theorem, profile: str = "ci", formula: sp.Expr | None = None,
          scenarios: Sequence[int] | None = None) -> RouteResult:
    """Monte Carlo route for ``thm``, by its plan ``thm.montecarlo``.

    Args:
        thm: a theorem with a Monte Carlo plan (else ``not-applicable``).
        profile: a profile of :data:`modelavg_sym.verify.profiles.PROFILES` (its
            ``mc_reps`` replications per scenario).
        formula: replace the theorem's predicted expression (the claim's right-hand side,
            in the plan's variables); used to show the route rejects a deliberately wrong
            formula.
        scenarios: indices into :data:`SCENARIOS` (default: all that apply).
    """
    plan = thm.montecarlo
    if isinstance(plan, WeightSweep):
        return _sweep(thm, plan, profile, formula, scenarios)
    if isinstance(plan, ReplicationCheck):
        return _replications(thm, plan, profile, formula, scenarios)
    if isinstance(plan, SettingSweep):
        from modelavg_sym.verify import montecarlo_setting

        return montecarlo_setting.check(thm, plan, profile, formula)
    return RouteResult(thm.name, "montecarlo", "not-applicable",
                       detail="no Monte Carlo plan for this theorem")


def _sweep(thm: Theorem, plan: WeightSweep, profile: str, formula: sp.Expr | None,
           scenarios: Sequence[int] | None) -> RouteResult:
    """Empirical MSE or benefit at the plan's weights against the prediction."""
    predictors: list[tuple[str, Callable[..., npt.NDArray[np.float64]]]] = []
    expr = formula if formula is not None else _rhs(thm)
    if expr is not None:
        predictors.append(("formula", _formula(expr)))
    if formula is None:
        fn = api.mse if plan.quantity == "mse" else api.benefit
        predictors.append(("compiled", lambda w, *p, fn=fn: np.asarray(fn(w, *p))))

    chosen = [i for i in (scenarios if scenarios is not None else range(len(SCENARIOS)))
              if not (plan.independent_only and SCENARIOS[i][2])]
    rows: list[tuple[str, SimulationResult, npt.NDArray[np.float64]]] = []
    for i in chosen:
        res = scenario_result(i, profile)
        base = res.optimal_weight() if plan.relative else 1.0
        rows.append((SCENARIOS[i][0], res, np.array(plan.ratios) * base))
    m = sum(w.size for _, _, w in rows) * len(predictors) * (2 if plan.positive else 1)
    z = z_value(CONFIDENCE, m)
    failures: list[str] = []
    worst = (-1.0, "")
    for name, res, weights in rows:
        for label, predict in predictors:
            cmp = res.compare(plan.quantity, weights, predict(weights, *res.truth.params))
            dev = np.abs(cmp.predicted - cmp.empirical) / np.maximum(cmp.se, 1e-300)
            k = int(np.argmax(dev))
            msg = (f"{name}, {label}: {plan.quantity}({weights[k]:.4g}) predicted "
                   f"{cmp.predicted[k]:.6g}, empirical {cmp.empirical[k]:.6g} "
                   f"+- {z * cmp.se[k]:.3g}")
            if dev[k] > worst[0]:
                worst = (float(dev[k]), msg)
            if dev[k] > z:
                failures.append(msg)
        if plan.positive:
            emp, se = (res.empirical_mse if plan.quantity == "mse" else
                       res.empirical_benefit)(weights)
            low = emp - z * se
            if not (low > 0).all():
                k = int(np.argmin(low))
                failures.append(f"{name}: {plan.quantity}({weights[k]:.4g}) = {emp[k]:.4g} "
                                f"+- {z * se[k]:.3g} is not significantly > 0")
    reps = PROFILES[profile].mc_reps
    extra = {"reps": reps, "confidence": CONFIDENCE, "z": round(z, 4), "comparisons": m,
             "scenarios": [n for n, _, _ in rows]}
    if failures:
        return RouteResult(thm.name, "montecarlo", "failed", examples=m,
                           detail="; ".join(failures[:3]), extra=extra)
    return RouteResult(thm.name, "montecarlo", "agreed", examples=m,
                       detail=f"{m} comparisons in {len(rows)} scenarios x {reps} reps agree "
                              f"(simultaneous {CONFIDENCE:.1%}, z = {z:.3f}); closest call: "
                              f"{worst[1]}",
                       extra=extra)


def replications(index: int, reps: int) -> Replications:
    """Scenario ``index`` drawn twice, independently: (L, G) and (L', G'), R = ``reps``
    replications each, from ``SeedSequence([SEED, 6, index])``, with the true parameters."""
    _, nodes, include_local = SCENARIOS[index]
    setting = SimulationSetup.from_nodes(nodes, include_local=include_local)
    truth = setting.truth()
    rng_data, rng_weight = (np.random.default_rng(s) for s in
                            np.random.SeedSequence([SEED, 6, index]).spawn(2))
    L, G = setting.draw(rng_data, reps)
    L2, G2 = setting.draw(rng_weight, reps)
    return Replications(params=truth.params, theta=truth.theta,
                        optimal_weight=float(api.optimal_weight(*truth.params)),
                        L=L, G=G, L2=L2, G2=G2)


def _replications(thm: Theorem, plan: ReplicationCheck, profile: str,
                  formula: sp.Expr | None, scenarios: Sequence[int] | None) -> RouteResult:
    """The plan's per-replication statistic must have mean 0 in every scenario."""
    expr = _rhs(thm) if formula is None else formula
    predicted = sp.lambdify(plan.arguments, expr, modules="numpy")
    reps = PROFILES[profile].mc_reps
    chosen = list(scenarios if scenarios is not None else range(len(SCENARIOS)))
    z = z_value(CONFIDENCE, len(chosen))
    failures: list[str] = []
    worst = (-1.0, "")
    for index in chosen:
        stat = plan.statistic(predicted, replications(index, reps))
        mean = float(stat.mean())
        se = float(stat.std(ddof=1) / np.sqrt(stat.size))
        dev = abs(mean) / max(se, 1e-300)
        msg = f"{SCENARIOS[index][0]}: mean deviation {mean:.4g} +- {z * se:.3g}"
        if dev > worst[0]:
            worst = (dev, msg)
        if dev > z:
            failures.append(msg)
    n = len(chosen)
    extra = {"reps": reps, "confidence": CONFIDENCE, "z": round(z, 4), "comparisons": n,
             "scenarios": [SCENARIOS[i][0] for i in chosen]}
    if failures:
        return RouteResult(thm.name, "montecarlo", "failed", examples=n,
                           detail="; ".join(failures[:3]), extra=extra)
    return RouteResult(thm.name, "montecarlo", "agreed", examples=n,
                       detail=f"{n} scenarios x {reps} reps, a_hat from independent data, "
                              f"agree (simultaneous {CONFIDENCE:.1%}, z = {z:.3f}); closest "
                              f"call: {worst[1]}", extra=extra)
