"""Risk of estimated weights, by simulation: the Monte Carlo check of the estimated-weight
theorems, and the risk study of the weight estimators of :mod:`modelavg_sym.numeric.personalize`.

**Monte Carlo check** (:func:`montecarlo_check`, the ``montecarlo`` route of the theorems
of :mod:`modelavg_sym.theorems.estimated`).  For each scenario of the Monte Carlo route
(:data:`modelavg_sym.verify.montecarlo.SCENARIOS`: skewed, discrete, heavy-tailed nodes,
independent and pooled-with-local global models) two independent sets of R replications
of (L, G) are drawn with :class:`modelavg_sym.simulation.model.Setting`; the weight
``a_hat = s_L / (s_L + s_G - 2c + (G' - L')^2)`` (a naive plug-in) is computed from the
*second* set, so it is independent of the first.  Per replication the statistic

    err^2 - risk(q = (a_hat - a*)^2),      err = (1 - a_hat) L + a_hat G - theta,

has mean 0 if E[(theta_{a_hat} - theta)^2 | a_hat] = MSE(a*) + D (a_hat - a*)^2, which
averages to the theorem; ``risk`` is the theorem's own right-hand side.  Likewise
(G - L)^2 - E[(G - L)^2] for the naive Delta^2 plug-in.  Intervals use the standard
error of the mean, Bonferroni-corrected over the scenarios (99.9% simultaneous).

**Risk study** (:func:`risk_table`).  k nodes with n values each; node means
mu_i ~ Normal(0, tau^2) with tau^2 = ratio * sigma^2 / n (heterogeneity relative to the
noise of a node mean); values mu_i + sigma * (standardised noise) with normal,
exponential or lognormal noise (:mod:`modelavg_sym.simulation.distributions`).  For every
replication each node's personalized estimate is computed by each method
(:func:`modelavg_sym.numeric.personalize.estimate_weights`, vectorised over replications) plus
local, global, and the oracle a* (true s_L, s_G and the realised Delta_j, via the compiled
:func:`modelavg_sym.optimal_weight`).  Reported: the normalised risk
E[mean_j (estimate_j - mu_j)^2] / (sigma^2 / n) (the local model has risk 1) with its
standard error over replications, and the benefit over the local model (paired).
Seeds and execution: the grid's cells (settings) in table order are independent tasks;
cell t draws from ``SeedSequence(seed).spawn(...)[t]``
(:func:`modelavg_sym.simulation.model.task_seed`)
and the cells run through :func:`modelavg_sym.simulation.model.parallel_map` (this process, local
worker processes, or a Dask scheduler), rows concatenated in cell order, so the table is
bitwise identical for any number of workers and either backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import sympy as sp

from modelavg_sym.numeric import api
from modelavg_sym.numeric.personalize import estimate_weights
from modelavg_sym.symbols import Delta, c, s_G, s_L

Array = npt.NDArray[np.float64]

# --------------------------------------------------------------------------- MC route

#: Theorems :func:`montecarlo_check` knows, with the per-replication statistic.
MC_THEOREMS: tuple[str, ...] = ("estimated_weight_risk", "estimated_weight_benefit",
                                "naive_delta_sq_bias", "unbiased_delta_sq")


def _mc_statistic(name: str, predicted: Callable[..., Any], L: Array, G: Array,
                  L2: Array, G2: Array, truth: Any) -> Array:
    sl, sg, bias, cv = truth.params
    theta = truth.theta
    if name in ("estimated_weight_risk", "estimated_weight_benefit"):
        a_hat = sl / (sl + sg - 2 * cv + (G2 - L2) ** 2) if sl > 0 else np.zeros_like(L2)
        a_star = float(api.optimal_weight(sl, sg, bias, cv))
        q_rep = (a_hat - a_star) ** 2
        err2 = ((1 - a_hat) * L + a_hat * G - theta) ** 2
        pred = np.broadcast_to(np.asarray(predicted(sl, sg, bias, cv, q_rep), float), L.shape)
        if name == "estimated_weight_risk":
            return err2 - pred
        return (L - theta) ** 2 - err2 - pred
    gap2 = (G - L) ** 2
    pred = float(predicted(sl, sg, bias, cv, 0.0))
    if name == "naive_delta_sq_bias":
        return gap2 - pred
    return gap2 - sl - sg + 2 * cv - pred


def montecarlo_check(thm: Any, profile: str = "ci", formula: sp.Expr | None = None) -> Any:
    """Monte Carlo route for the estimated-weight theorems (see the module docstring).

    ``formula`` replaces the theorem's right-hand side (an expression in s_L, s_G, Delta,
    c and q), to show that the check rejects a deliberately wrong formula.
    """
    from modelavg_sym.simulation.model import Setting, z_value
    from modelavg_sym.theorems.estimated import q
    from modelavg_sym.verify import RouteResult
    from modelavg_sym.verify.montecarlo import CONFIDENCE, REPS, SCENARIOS, SEED

    if thm.name not in MC_THEOREMS:
        return RouteResult(thm.name, "montecarlo", "not-applicable",
                           detail="no Monte Carlo check for this theorem")
    expr = thm.claim.rhs if formula is None else formula
    predicted = sp.lambdify((s_L, s_G, Delta, c, q), expr, modules="numpy")
    reps = REPS[profile]
    z = z_value(CONFIDENCE, len(SCENARIOS))
    failures: list[str] = []
    worst = (-1.0, "")
    for index, (name, nodes, include_local) in enumerate(SCENARIOS):
        setting = Setting.from_nodes(nodes, include_local=include_local)
        truth = setting.truth()
        rng_data, rng_weight = (np.random.default_rng(s) for s in
                                np.random.SeedSequence([SEED, 6, index]).spawn(2))
        L, G = setting.draw(rng_data, reps)
        L2, G2 = setting.draw(rng_weight, reps)
        stat = _mc_statistic(thm.name, predicted, L, G, L2, G2, truth)
        mean = float(stat.mean())
        se = float(stat.std(ddof=1) / np.sqrt(stat.size))
        dev = abs(mean) / max(se, 1e-300)
        msg = f"{name}: mean deviation {mean:.4g} +- {z * se:.3g}"
        if dev > worst[0]:
            worst = (dev, msg)
        if dev > z:
            failures.append(msg)
    extra = {"reps": reps, "confidence": CONFIDENCE, "z": round(z, 4),
             "comparisons": len(SCENARIOS), "scenarios": [s[0] for s in SCENARIOS]}
    if failures:
        return RouteResult(thm.name, "montecarlo", "failed", examples=len(SCENARIOS),
                           detail="; ".join(failures[:3]), extra=extra)
    return RouteResult(thm.name, "montecarlo", "agreed", examples=len(SCENARIOS),
                       detail=f"{len(SCENARIOS)} scenarios x {reps} reps, a_hat from "
                              f"independent data, agree (simultaneous {CONFIDENCE:.1%}, "
                              f"z = {z:.3f}); closest call: {worst[1]}", extra=extra)


# --------------------------------------------------------------------------- risk study

#: Methods compared, in table order.
RISK_METHODS: tuple[str, ...] = ("local", "global", "oracle", "plugin", "naive",
                                 "random-effects", "james-stein")
#: Noise distributions (standardised to mean 0, variance 1 before scaling by sigma).
NOISES: dict[str, str] = {
    "normal": "normal(0, 1)",
    "exponential": "exponential(1)",
    "lognormal": "lognormal(0, 1)",
}


@dataclass(frozen=True)
class RiskGrid:
    """The grid of settings and replications of one profile."""

    nodes: tuple[int, ...]
    sizes: tuple[int, ...]
    ratios: tuple[float, ...]
    noises: tuple[str, ...]
    reps: int
    seed: int = 20211025


PROFILES: dict[str, RiskGrid] = {
    "ci": RiskGrid((3, 10), (5, 20), (0.0, 1.0, 4.0), tuple(NOISES), reps=1000),
    "full": RiskGrid((3, 5, 10, 30), (5, 20, 100), (0.0, 0.25, 1.0, 4.0, 16.0), tuple(NOISES),
                     reps=20_000),
}


def _noise(name: str, rng: np.random.Generator, size: tuple[int, ...]) -> Array:
    """Standardised noise (mean 0, variance 1) from :mod:`modelavg_sym.simulation.distributions`
    (plain numpy generators if that module is unavailable)."""
    try:
        from modelavg_sym.simulation.distributions import parse
    except ImportError:  # pragma: no cover - the engine ships with the package
        fallback = {"normal": (lambda: rng.standard_normal(size), 0.0, 1.0),
                    "exponential": (lambda: rng.exponential(1.0, size), 1.0, 1.0),
                    "lognormal": (lambda: rng.lognormal(0.0, 1.0, size), float(np.exp(0.5)),
                                  float((np.e - 1) * np.e))}
        draw, mean, var = fallback[name]
        return (draw() - mean) / np.sqrt(var)
    dist = parse(NOISES[name])
    return (np.asarray(dist.sample(rng, size), dtype=np.float64) - dist.mean) / np.sqrt(dist.var)


#: Largest number of single draws generated at once (bounds memory; the block split
#: depends only on reps, k and n, so results do not depend on it otherwise).
BLOCK_DRAWS = 1 << 22


def _block_estimates(rng: np.random.Generator, k: int, n: int, tau2: float, noise: str,
                     reps: int, sigma: float) -> tuple[Array, dict[str, Array]]:
    """Node means mu (reps, k) and every method's estimates for one block of replications."""
    mu = np.sqrt(tau2) * rng.standard_normal((reps, k))
    x = mu[..., None] + sigma * _noise(noise, rng, (reps, k, n))
    mean = x.mean(axis=-1)
    var = ((x - mean[..., None]) ** 2).sum(axis=-1) / (n - 1)
    sizes = np.full((reps, k), float(n))
    estimates: dict[str, Array] = {}
    for method in RISK_METHODS[3:]:
        estimates[method] = estimate_weights(sizes, mean, var, method).estimate
    base = estimate_weights(sizes, mean, var, "naive")
    estimates["local"] = base.local
    estimates["global"] = base.global_
    # oracle: the true s_L, s_G and the realised Delta_j = (mean of the other mu) - mu_j
    s_l_true = np.full((reps, k), sigma**2 / n)
    s_g_true = np.full((reps, k), sigma**2 / (n * (k - 1)))
    delta_true = (mu.sum(axis=-1, keepdims=True) - mu) / (k - 1) - mu
    a_star = api.optimal_weight(s_l_true, s_g_true, delta_true, 0.0)
    estimates["oracle"] = (1 - a_star) * base.local + a_star * base.global_
    return mu, estimates


def simulate_setting(k: int, n: int, ratio: float, noise: str, reps: int, seed: int,
                     cell: int = 0, sigma: float = 1.0) -> list[dict[str, Any]]:
    """One setting of the risk study: a row per method (see the module docstring).

    The generator is ``SeedSequence(seed).spawn(...)[cell]``.  Replications are drawn in
    blocks of at most :data:`BLOCK_DRAWS` single values, in order from that generator, so
    memory stays bounded for large k n reps.
    """
    from modelavg_sym.simulation.model import task_seed

    rng = np.random.Generator(np.random.PCG64(task_seed(seed, cell)))
    tau2 = ratio * sigma**2 / n
    block = max(1, BLOCK_DRAWS // (k * n))
    scale = sigma**2 / n
    parts: dict[str, list[Array]] = {m: [] for m in RISK_METHODS}
    for start in range(0, reps, block):
        mu, est = _block_estimates(rng, k, n, tau2, noise, min(block, reps - start), sigma)
        for m in RISK_METHODS:
            parts[m].append(((est[m] - mu) ** 2).mean(axis=-1) / scale)
    loss = {m: np.concatenate(parts[m]) for m in RISK_METHODS}
    rows = []
    for m in RISK_METHODS:
        diff = loss["local"] - loss[m]
        rows.append({
            "noise": noise, "nodes": k, "n": n, "tau2_ratio": ratio, "method": m,
            "risk": float(loss[m].mean()),
            "se": float(loss[m].std(ddof=1) / np.sqrt(reps)),
            "benefit": float(diff.mean()),
            "benefit_se": float(diff.std(ddof=1) / np.sqrt(reps)) if m != "local" else 0.0,
            "reps": reps,
        })
    return rows


def grid_cells(grid: RiskGrid) -> list[tuple[str, int, int, float]]:
    """The settings (noise, k, n, tau2_ratio) of ``grid`` in table order (cell index =
    position; it selects the cell's spawned seed)."""
    return [(noise, k, n, ratio) for noise in grid.noises for k in grid.nodes
            for n in grid.sizes for ratio in grid.ratios]


def risk_table(profile: str = "ci", grid: RiskGrid | None = None, *, workers: int = 1,
               scheduler: Any = None, progress: bool | None = None) -> list[dict[str, Any]]:
    """The risk study over ``PROFILES[profile]`` (or ``grid``): one dict per setting and
    method, sorted by (noise, nodes, n, tau2_ratio, method order).

    Cells run through :func:`modelavg_sym.simulation.model.parallel_map` with ``workers`` local
    processes or on a Dask ``scheduler`` (address, ``LocalCluster`` or ``Client``); each
    cell seeds itself from ``SeedSequence(grid.seed).spawn(...)[cell]``, so the table is
    deterministic and bitwise identical for any backend and number of workers.
    """
    from modelavg_sym.errors import InvalidParameterError
    from modelavg_sym.simulation.model import parallel_map

    if grid is None:
        if profile not in PROFILES:
            raise InvalidParameterError("profile", f"must be one of {', '.join(PROFILES)}",
                                        f"got {profile!r}")
        grid = PROFILES[profile]
    g = grid
    cells = grid_cells(g)
    rows: list[dict[str, Any]] = []
    for cell_rows in parallel_map(simulate_setting, len(cells),
                                  lambda t: (cells[t][1], cells[t][2], cells[t][3],
                                             cells[t][0], g.reps, g.seed, t),
                                  workers=workers, scheduler=scheduler, progress=progress,
                                  label="risk study"):
        rows.extend(cell_rows)
    return rows


def _settings(rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    keys: list[tuple[Any, ...]] = []
    for r in rows:
        key = (r["noise"], r["nodes"], r["n"], r["tau2_ratio"])
        if key not in keys:
            keys.append(key)
    return keys


def render_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """A Markdown table: one line per setting, each method's normalised risk +- 1 se.

    Risk 1 is the local model; entries in bold hurt, i.e. their benefit over the local
    model is negative by more than two standard errors.
    """
    by = {(r["noise"], r["nodes"], r["n"], r["tau2_ratio"], r["method"]): r for r in rows}
    head = ["noise", "k", "n", "tau²/(σ²/n)", *RISK_METHODS]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1))
           + "|"]
    for key in _settings(rows):
        cells = [str(key[0]), str(key[1]), str(key[2]), f"{key[3]:g}"]
        for m in RISK_METHODS:
            r = by[(*key, m)]
            cell = f"{r['risk']:.3f} ± {r['se']:.3f}"
            if m != "local" and r["benefit"] + 2 * r["benefit_se"] < 0:
                cell = f"**{cell}**"
            cells.append(cell)
        out.append("| " + " | ".join(cells) + " |")
    reps = rows[0]["reps"] if rows else 0
    out.append("")
    out.append(f"Normalised risk E[(estimate - mu_j)^2] / (sigma^2/n) (local = 1), mean ± "
               f"standard error over {reps} replications; bold: worse than the local model "
               "by more than 2 standard errors (negative benefit).")
    return "\n".join(out) + "\n"


_RC = {"svg.hashsalt": "modelavg-sym", "pdf.fonttype": 42, "font.family": "DejaVu Sans",
       "figure.dpi": 100, "savefig.dpi": 150, "path.simplify": False}


def draw_risk(fig: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Normalised risk against heterogeneity: a panel per (k, noise) at the smallest n,
    a line per method with +- 2 se bars; the local model is the dotted line at 1."""
    settings = _settings(rows)
    noises = sorted({s[0] for s in settings}, key=list(NOISES).index)
    ks = sorted({s[1] for s in settings})
    n0 = min(s[2] for s in settings)
    ratios = sorted({s[3] for s in settings})
    by = {(r["noise"], r["nodes"], r["n"], r["tau2_ratio"], r["method"]): r for r in rows}
    axes = fig.subplots(len(ks), len(noises), sharex=True, sharey=True, squeeze=False)
    xs = np.arange(len(ratios))
    for i, k in enumerate(ks):
        for j, noise in enumerate(noises):
            ax = axes[i][j]
            ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
            for mi, m in enumerate(RISK_METHODS[1:]):
                pts = [by[(noise, k, n0, ratio, m)] for ratio in ratios]
                y = np.array([p["risk"] for p in pts])
                e = 2 * np.array([p["se"] for p in pts])
                ax.errorbar(xs + 0.04 * (mi - 3), y, yerr=e, lw=1.2, ms=3, marker="o",
                            capsize=2, label=m)
            ax.set_yscale("log")
            ax.set_title(f"{noise}, k = {k}, n = {n0}", fontsize=8)
            ax.set_xticks(xs, [f"{r:g}" for r in ratios])
            ax.tick_params(labelsize=7)
            if i == len(ks) - 1:
                ax.set_xlabel(r"$\tau^2 / (\sigma^2/n)$", fontsize=8)
            if j == 0:
                ax.set_ylabel("risk / local risk", fontsize=8)
    axes[0][0].legend(fontsize=6, ncols=2)


@cache
def ci_rows() -> tuple[dict[str, Any], ...]:
    """The ``ci`` profile's table, computed once per process (for reports and figures)."""
    return tuple(risk_table("ci"))


def draw_risk_study(fig: Any) -> None:
    """``draw(fig)`` for a figure registry: :func:`draw_risk` on the ``ci`` profile."""
    draw_risk(fig, ci_rows())


def risk_figure(rows: Sequence[dict[str, Any]], path_stem: str | Path) -> list[Path]:
    """Write ``<path_stem>.pdf`` and ``<path_stem>.png`` deterministically (Agg, default
    style, no dates or software in the metadata); returns the two paths."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import style
    from matplotlib.figure import Figure

    stem = Path(path_stem)
    paths = []
    for fmt, metadata in (("pdf", {"Creator": None, "Producer": None, "CreationDate": None,
                                   "ModDate": None}),
                          ("png", {"Software": None})):
        with style.context("default"), matplotlib.rc_context(_RC):
            fig = Figure(figsize=(8.0, 5.5), layout="constrained")
            draw_risk(fig, rows)
            path = stem.with_suffix(f".{fmt}")
            fig.savefig(path, format=fmt, metadata=metadata)
        paths.append(path)
    return paths
