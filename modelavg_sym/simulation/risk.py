"""Risk of estimated weights, by simulation: the risk study of the weight estimators of
:mod:`modelavg_sym.numeric.personalize`.  (The Monte Carlo check of the estimated-weight
theorems is the ``montecarlo`` route, :mod:`modelavg_sym.verify.montecarlo`, applying
the statistics the theorems carry, :mod:`modelavg_sym.theorems.estimated`.)

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
(:func:`modelavg_sym.simulation.engine.task_seed`)
and the cells run through :func:`modelavg_sym.runtime.pool.parallel_map` (this process, local
worker processes, or a Dask scheduler), rows concatenated in cell order, so the table is
bitwise identical for any number of workers and either backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.numeric import _generated_estimators as gen
from modelavg_sym.numeric import api
from modelavg_sym.numeric.personalize import estimate_weights
from modelavg_sym.runtime.pool import SCHEDULER_TIMEOUT, parallel_map
from modelavg_sym.simulation.engine import task_seed

Array = npt.NDArray[np.float64]

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
    """The grid of settings and replications of one run of the risk study."""

    nodes: tuple[int, ...]
    sizes: tuple[int, ...]
    ratios: tuple[float, ...]
    noises: tuple[str, ...]
    reps: int
    seed: int = 20211025


#: The risk study's grids by name: ``ci`` (the report's table) and ``full`` (a long run).
GRIDS: dict[str, RiskGrid] = {
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
    # oracle: the true s_L, s_G, c (per-sample variance sigma^2) and the realised
    # Delta_j = E[G_j | mu] - mu_j, from the code generated by the settings engine
    var_true = np.full((reps, k), float(sigma) ** 2)
    s_l_true = gen.nodes_var_local(sizes, var_true)
    s_g_true = gen.nodes_var_global(sizes, var_true)
    delta_true = gen.nodes_bias(sizes, mu)
    a_star = api.optimal_weight(s_l_true, s_g_true, delta_true, gen.nodes_cov(sizes, var_true))
    estimates["oracle"] = (1 - a_star) * base.local + a_star * base.global_
    return mu, estimates


def simulate_setting(k: int, n: int, ratio: float, noise: str, reps: int, seed: int,
                     cell: int = 0, sigma: float = 1.0) -> list[dict[str, Any]]:
    """One setting of the risk study: a row per method (see the module docstring).

    The generator is ``SeedSequence(seed).spawn(...)[cell]``.  Replications are drawn in
    blocks of at most :data:`BLOCK_DRAWS` single values, in order from that generator, so
    memory stays bounded for large k n reps.
    """
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
               scheduler: Any = None, progress: bool | None = None,
               scheduler_timeout: float = SCHEDULER_TIMEOUT) -> list[dict[str, Any]]:
    """The risk study over ``GRIDS[profile]`` (or ``grid``): one dict per setting and
    method, sorted by (noise, nodes, n, tau2_ratio, method order).

    Cells run through :func:`modelavg_sym.runtime.pool.parallel_map` with ``workers`` local
    processes or on a Dask ``scheduler`` (address, ``LocalCluster`` or ``Client``); each
    cell seeds itself from ``SeedSequence(grid.seed).spawn(...)[cell]``, so the table is
    deterministic and bitwise identical for any backend and number of workers.
    """
    if grid is None:
        if profile not in GRIDS:
            raise InvalidParameterError("profile", f"must be one of {', '.join(GRIDS)}",
                                        f"got {profile!r}")
        grid = GRIDS[profile]
    g = grid
    cells = grid_cells(g)
    rows: list[dict[str, Any]] = []
    for cell_rows in parallel_map(simulate_setting, len(cells),
                                  lambda t: (cells[t][1], cells[t][2], cells[t][3],
                                             cells[t][0], g.reps, g.seed, t),
                                  workers=workers, scheduler=scheduler, progress=progress,
                                  label="risk study", scheduler_timeout=scheduler_timeout):
        rows.extend(cell_rows)
    return rows


def row_settings(rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The distinct settings (noise, nodes, n, tau2_ratio) of ``rows``, in row order."""
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
    for key in row_settings(rows):
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


@cache
def ci_rows() -> tuple[dict[str, Any], ...]:
    """The ``ci`` profile's table, computed once per process (for reports and figures)."""
    return tuple(risk_table("ci"))
