"""Monte Carlo route for a setting's own theorems (:class:`~modelavg_sym.theorems.SettingSweep`).

At the plan's point every node i draws its n_i samples from the plan's distribution,
standardised to mean mu_i and variance v_i (X = mu_i + sqrt(v_i) (Y - E Y)/sd Y); with
random node means, node i's mean first gets an effect sqrt(sigma^2) (Y' - E Y')/sd Y'
from the same family.  The setting's local and global estimators are formed from the
sample means, and the empirical MSE E[((1 - a) L + a G - theta)^2] at a = r a* for the
plan's ratios r (a* at the point) is compared with the claim's left-hand side (the
derived MSE(a)) at the point.  Intervals are simultaneous at 99.9% (Bonferroni over the
weights); status ``agreed`` when every prediction lies in its interval.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from modelavg_sym.simulation.distributions import parse
from modelavg_sym.simulation.stats import z_value
from modelavg_sym.symbols import a
from modelavg_sym.theorems import SettingSweep, Theorem
from modelavg_sym.verify import RouteResult
from modelavg_sym.verify.profiles import PROFILES

#: Overall confidence of one check's simultaneous intervals.
CONFIDENCE = 0.999
SEED = 20211025


def _evaluate(x: object, noise: dict[str, np.ndarray], point: dict) -> np.ndarray:
    """A :class:`~modelavg_sym.algebra.moments.RandomAffine` at ``point`` with its noise
    terms replaced by their simulated values."""
    out = np.full(next(iter(noise.values())).shape, float(sp.sympify(x.const).subs(point)))  # type: ignore[attr-defined]
    for name, coef in x.coeffs.items():  # type: ignore[attr-defined]
        out += float(sp.sympify(coef).subs(point)) * noise[name]
    return out


def simulate_errors(plan: SettingSweep, reps: int, seed: int = SEED
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``reps`` replications of (L - theta, G - theta) at the plan's point: the sampling
    error e_i of each node's mean (the mean of n_i standardised draws times sqrt(v_i)) and,
    with random node means, each node's effect m_i (one standardised draw times sigma)."""
    setting, point = plan.setting, dict(plan.point)
    pop = setting.population
    dist = parse(plan.distribution)
    sd = math.sqrt(dist.var)
    rng = np.random.default_rng(seed)
    noise: dict[str, np.ndarray] = {}
    for i in range(len(pop.n)):
        if pop.spread is not None:
            spread = float(sp.sympify(pop.spread).subs(point))
            noise[pop._m(i)] = (dist.sample(rng, reps) - dist.mean) / sd * math.sqrt(spread)
        n = int(sp.sympify(pop.n[i]).subs(point))
        v = float(sp.sympify(pop.var[i]).subs(point))
        noise[pop._e(i)] = (dist.sample_mean(rng, n, reps) - dist.mean) / sd * math.sqrt(v)
    theta = pop.node_mean(setting.target)
    return (_evaluate(setting.local - theta, noise, point),
            _evaluate(setting.global_ - theta, noise, point))


def check(thm: Theorem, plan: SettingSweep, profile: str = "ci",
          formula: sp.Expr | None = None) -> RouteResult:
    """Empirical MSE at the plan's weights against the claim's left-hand side (or
    ``formula``, an expression in ``a`` and the setting's symbols)."""
    predicted = thm.claim.lhs if formula is None else formula  # type: ignore[attr-defined]
    point = dict(plan.point)
    at_point = sp.sympify(predicted).subs(point)
    d = plan.setting.derivation(simplify=False)
    a_star = float(sp.sympify(d["optimal_weight"]).subs(point))
    reps = plan.replications or PROFILES[profile].mc_reps
    el, eg = simulate_errors(plan, reps)
    weights = [r * a_star for r in plan.ratios if r != 0] + [0.0]
    z = z_value(CONFIDENCE, len(weights))
    worst, rows = 0.0, []
    for w in weights:
        sq = ((1 - w) * el + w * eg) ** 2
        mean, se = float(sq.mean()), float(sq.std(ddof=1) / math.sqrt(reps))
        pred = float(at_point.subs(a, sp.nsimplify(w, rational=True)))
        dev = abs(mean - pred) / se if se > 0 else (0.0 if mean == pred else math.inf)
        worst = max(worst, dev)
        rows.append(f"a={w:.4g}: empirical {mean:.5g} +- {z * se:.2g}, derived {pred:.5g}")
    status = "agreed" if worst <= z else "failed"
    return RouteResult(thm.name, "montecarlo", status, examples=reps,
                       detail=f"{plan.distribution}, {reps} replications; worst deviation "
                              f"{worst:.2f} SE (bound {z:.2f}); " + "; ".join(rows),
                       extra={"worst_z": round(worst, 3), "z": round(z, 3)})
