"""Monte Carlo route: the theorems against simulated data from non-Gaussian distributions.

For each scenario (node distributions and sample sizes; skewed, discrete and heavy-tailed,
independent and correlated global models) :mod:`modelavg_sym.simulation.model` draws R
replications of (L, G).  The predicted quantity is evaluated from the theorem itself -- the
right-hand side of its identity (``mse_decomposition``: (1-a)^2 s_L + a^2 (s_G + Delta^2)
+ 2a(1-a)c; ``benefit_factorisation``: D a (2a* - a); ``mse_global``: s_G + Delta^2) --
and from the compiled API, at the setting's true s_L, s_G, Delta, c, and compared with the
empirical MSE or benefit.  All intervals of one check are simultaneous: z is
Bonferroni-corrected for the number of comparisons (confidence 99.9% overall).

``headline_positive_weight_helps`` (c = 0) is checked as a sign claim: at a = r a* with
0 < r < 2 the empirical benefit must agree with the prediction *and* be significantly
positive (its interval lies above 0).

Status ``agreed`` when every comparison agrees, else ``failed`` with the worst one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
import sympy as sp

from modelavg_sym.numeric import api
from modelavg_sym.simulation.model import Setting, SimulationResult, simulate, z_value
from modelavg_sym.symbols import Delta, a, c, s_G, s_L
from modelavg_sym.theorems import Theorem
from modelavg_sym.verify import RouteResult

#: Replications per scenario for each profile.
REPS: dict[str, int] = {"ci": 200_000, "dev": 400_000, "thorough": 4_000_000}
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
    setting = Setting.from_nodes(nodes, include_local=include_local)
    return simulate(setting, REPS[profile], seed=SEED + index, confidence=CONFIDENCE,
                    progress=False)


@dataclass(frozen=True)
class Plan:
    """What to simulate for one theorem.

    Attributes:
        quantity: ``mse`` or ``benefit`` (what the simulation estimates).
        ratios: weights as multiples of a* (``relative``) or absolute weights.
        relative: whether ``ratios`` multiply a*.
        independent_only: use only scenarios with c = 0.
        positive: also require the empirical value to be significantly > 0.
    """

    quantity: str
    ratios: tuple[float, ...]
    relative: bool = False
    independent_only: bool = False
    positive: bool = False


PLANS: dict[str, Plan] = {
    "mse_decomposition": Plan("mse", (-0.5, 0.0, 0.25, 0.5, 0.75, 1.0, 1.5)),
    "benefit_factorisation": Plan("benefit", (-0.5, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5),
                                  relative=True),
    "headline_positive_weight_helps": Plan("benefit", (0.25, 0.5, 1.0, 1.5, 1.75),
                                           relative=True, independent_only=True, positive=True),
    "mse_global": Plan("mse", (1.0,)),
}


#: Theorem name -> ``check(thm, profile, formula=None) -> RouteResult`` for theorems outside
#: the two-estimator plans.  A theorem provider module may instead define a module-level
#: ``MONTECARLO_CHECKS`` dict of the same shape; :func:`external_check` consults both.
CHECKS: dict[str, Callable[..., RouteResult]] = {}


def external_check(thm: Theorem) -> Callable[..., RouteResult] | None:
    """The registered Monte Carlo check of ``thm`` outside :data:`PLANS`, if any."""
    import sys

    from modelavg_sym.theorems import PROVIDERS

    found = CHECKS.get(thm.name)
    for mod in PROVIDERS:
        if found is None:
            found = getattr(sys.modules.get(mod), "MONTECARLO_CHECKS", {}).get(thm.name)
    return found


def _rhs(thm: Theorem) -> sp.Expr | None:
    return thm.claim.rhs if isinstance(thm.claim, sp.Equality) else None


def _formula(expr: sp.Expr) -> Callable[..., npt.NDArray[np.float64]]:
    f = sp.lambdify(_ARGS, expr, modules="numpy")
    return lambda w, *p: np.broadcast_to(np.asarray(f(w, *p), dtype=np.float64), w.shape)


def check(thm: Theorem, profile: str = "ci", formula: sp.Expr | None = None,
          scenarios: Sequence[int] | None = None) -> RouteResult:
    """Monte Carlo route for ``thm``.

    Args:
        thm: a theorem with a plan in :data:`PLANS`.
        profile: ``ci``, ``dev`` or ``thorough`` (replications per scenario, :data:`REPS`).
        formula: replace the theorem's predicted expression (in a, s_L, s_G, Delta, c);
            used to show the route rejects a deliberately wrong formula.
        scenarios: indices into :data:`SCENARIOS` (default: all that apply).
    """
    plan = PLANS.get(thm.name)
    if plan is None:
        external = external_check(thm)
        if external is not None:
            return external(thm, profile, formula=formula)
        return RouteResult(thm.name, "montecarlo", "not-applicable",
                           detail="no Monte Carlo plan for this theorem")
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
    reps = REPS[profile]
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
