"""Figures (matplotlib, Agg; PDF for papers, PNG for the Markdown report).

Every plotted value comes from the compiled API (:mod:`modelavg_sym.numeric.api`), never
from a retyped formula, or from a simulation (:mod:`modelavg_sym.simulation`).  Output is
byte-for-byte deterministic: every figure is drawn in the one style of
:mod:`modelavg_sym.artifacts.style` (default style forced, no user matplotlibrc; PDF
metadata without dates or producer, PNG without a ``Software`` chunk; fixed SVG hash salt).

Each figure is one :class:`Figure` with its own generating function ``draw(fig)``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from modelavg_sym.artifacts import style
from modelavg_sym.numeric import api
from modelavg_sym.runtime.atomic import atomic_write
from modelavg_sym.simulation import risk
from modelavg_sym.simulation.engine import simulate
from modelavg_sym.simulation.model import SimulationSetup

#: Parameters of the example model used by the figures: (s_L, s_G, c).
BASE = (1.0, 0.25, 0.0)
BIAS_LEVELS = (0.0, 0.5, 1.0, 2.0)
#: Parameter sets (s_L, s_G, Delta, c) whose benefit curves collapse onto one shape; the
#: last has c > s_L, so a* < 0.
RATIO_CASES = ((1.0, 0.25, 0.5, 0.0), (2.0, 1.0, 1.5, 0.5), (1.0, 4.0, 0.0, 1.5))

@dataclass(frozen=True)
class Figure:
    """A figure: its file stem, caption and drawing function."""

    name: str
    caption: str
    draw: Callable[[object], None]


def mse_curves_data() -> tuple[np.ndarray, list[tuple[float, np.ndarray, float, float]]]:
    """Weights and, per bias level, (bias, MSE(weights), a*, MSE(a*)) at :data:`BASE`."""
    s_l, s_g, c = BASE
    w = np.linspace(-0.25, 1.25, 301)
    rows = [(b, np.asarray(api.mse(w, s_l, s_g, b, c)), float(api.optimal_weight(s_l, s_g, b, c)),
             float(api.min_mse(s_l, s_g, b, c))) for b in BIAS_LEVELS]
    return w, rows


def draw_mse_curves(fig) -> None:  # type: ignore[no-untyped-def]
    """MSE(a) for several bias levels, with each optimum (a*, MSE(a*)) marked."""
    s_l, s_g, c = BASE
    ax = fig.add_subplot(1, 1, 1)
    w, rows = mse_curves_data()
    for b, y, a_star, m_star in rows:
        (line,) = ax.plot(w, y, lw=1.6, label=rf"$\Delta={b:g}$, $a^*={a_star:.3f}$")
        ax.plot([a_star], [m_star], "o", color=line.get_color(), ms=5)
    ax.axvline(0.0, color="0.6", lw=0.8, ls=":")
    ax.axvline(1.0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("weight $a$ on the global model (0 = local, 1 = global)")
    ax.set_ylabel(r"$\mathrm{MSE}(a)$")
    ax.set_title(rf"MSE of the average, $s_L={s_l:g}$, $s_G={s_g:g}$, $c={c:g}$")
    ax.legend(frameon=False, fontsize=8)


def benefit_ratio_data() -> tuple[np.ndarray, list[tuple[tuple[float, ...], float, np.ndarray]]]:
    """r = a/a* and, per parameter set of :data:`RATIO_CASES`, (params, a*, B(r a*)/B(a*))."""
    ratio = np.linspace(-0.6, 2.6, 321)
    rows = []
    for params in RATIO_CASES:
        a_star = float(api.optimal_weight(*params))
        y = np.asarray(api.benefit(ratio * a_star, *params)) / api.benefit(a_star, *params)
        rows.append((params, a_star, y))
    return ratio, rows


def draw_benefit_ratio(fig) -> None:  # type: ignore[no-untyped-def]
    """B(r a*) / B(a*) against r = a / a* for several parameter sets (one shape), with the
    negative-benefit region shaded."""
    ax = fig.add_subplot(1, 1, 1)
    ratio, rows = benefit_ratio_data()
    for k, ((s_l, s_g, b, c), a_star, y) in enumerate(rows):
        ax.plot(ratio, y, lw=2.4 - 0.6 * k, ls=("-", "--", ":")[k % 3],
                label=rf"$s_L={s_l:g}, s_G={s_g:g}, \Delta={b:g}, c={c:g}$ ($a^*={a_star:.3f}$)")
    y0 = rows[0][2]
    lo = float(min(y.min() for _p, _a, y in rows))
    ax.fill_between(ratio, lo, 0.0, where=y0 < 0, color="tab:red", alpha=0.15, lw=0,
                    label="negative benefit (worse than local)")
    ax.axhline(0.0, color="0.3", lw=0.8)
    ax.axvline(1.0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel(r"$r = a / a^*$")
    ax.set_ylabel(r"$B(r\,a^*) / B(a^*)$")
    ax.set_title("Fraction of the best gain depends only on $a/a^*$")
    ax.legend(frameon=False, fontsize=7, loc="lower center")


def optimal_weight_map_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x = Delta^2/s_L, y = s_G/s_L grids and a* (s_L = 1, c = 0) on them."""
    x = np.linspace(0.0, 4.0, 161)
    y = np.linspace(0.0, 4.0, 161)
    xx, yy = np.meshgrid(x, y)
    return xx, yy, np.asarray(api.optimal_weight(1.0, yy, np.sqrt(xx), 0.0))


def draw_optimal_weight_map(fig) -> None:  # type: ignore[no-untyped-def]
    """a* (c = 0) over (Delta^2 / s_L, s_G / s_L)."""
    ax = fig.add_subplot(1, 1, 1)
    xx, yy, z = optimal_weight_map_data()
    im = ax.imshow(z, origin="lower", extent=(xx[0, 0], xx[0, -1], yy[0, 0], yy[-1, 0]),
                   aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
    cs = ax.contour(xx, yy, z, levels=[0.2, 0.3, 0.5, 0.7], colors="white", linewidths=0.8)
    ax.clabel(cs, fmt="%.1f", fontsize=8)
    fig.colorbar(im, ax=ax, label=r"optimal weight $a^*$")
    ax.set_xlabel(r"$\Delta^2 / s_L$")
    ax.set_ylabel(r"$s_G / s_L$")
    ax.set_title(r"Optimal weight on the global model ($c = 0$)")


FIGURES: list[Figure] = [
    Figure("mse_curves", "MSE(a) for several bias levels; dots mark the optimum a*.",
           draw_mse_curves),
    Figure("benefit_ratio", "Benefit B(a)/B(a*) as a function of r = a/a*: the shape "
           "r(2 - r) for every parameter set; shaded: negative benefit.", draw_benefit_ratio),
    Figure("optimal_weight_map", "Optimal weight a* (c = 0) over bias and global variance, "
           "both relative to the local variance.", draw_optimal_weight_map),
]


def register_figure(fig: Figure) -> Figure:
    """Add a figure (other modules may contribute, e.g. the Monte Carlo agreement plot)."""
    if all(f.name != fig.name for f in FIGURES):
        FIGURES.append(fig)
    return fig


#: The Monte Carlo figure's setting: node 0 (local) and node 1 (global), (spec, n); its
#: replications, seed and weights.
MC_NODES = (("exponential(scale=2)", 5), ("binomial(n=1, p=0.3)", 50))
MC_REPS = 40_000
MC_SEED = 20211024
MC_WEIGHTS = tuple(round(-0.2 + 0.1 * k, 10) for k in range(15))


@cache
def montecarlo_data():  # type: ignore[no-untyped-def]
    """Simulated MSE with simultaneous confidence intervals against the compiled API's
    prediction (:mod:`modelavg_sym.simulation.engine`), plus a dense predicted curve."""
    res = simulate(SimulationSetup.from_nodes(MC_NODES), MC_REPS, seed=MC_SEED, workers=1,
                   progress=False)
    cmp = res.compare("mse", list(MC_WEIGHTS))
    dense = np.linspace(MC_WEIGHTS[0], MC_WEIGHTS[-1], 281)
    return res, cmp, dense, res.predicted("mse", dense)


def draw_montecarlo_agreement(fig) -> None:  # type: ignore[no-untyped-def]
    """Empirical MSE(a) (mean and simultaneous CI) against the predicted curve."""
    res, cmp, dense, pred = montecarlo_data()
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(dense, pred, lw=1.6, color="tab:blue", label="predicted (compiled API)")
    ax.errorbar(cmp.weights, cmp.empirical, yerr=cmp.z * cmp.se, fmt="o", ms=3.5,
                color="tab:orange", capsize=2.5,
                label=f"simulated, {res.reps} replications, {cmp.confidence:.1%} simultaneous CI")
    a_star = res.optimal_weight()
    ax.axvline(a_star, color="0.5", lw=0.8, ls="--", label=rf"$a^* = {a_star:.3f}$")
    ax.set_xlabel("weight $a$ on the global model")
    ax.set_ylabel(r"$\mathrm{MSE}(a)$")
    ax.set_title("Monte Carlo agreement: " + ", ".join(f"{d} x{n}" for d, n in MC_NODES),
                 fontsize=9)
    ax.legend(frameon=False, fontsize=8)


MONTECARLO = Figure("montecarlo_agreement", "Monte Carlo agreement: simulated MSE(a) with "
                    "simultaneous confidence intervals against the derived prediction "
                    "(exponential local node, Bernoulli global node).",
                    draw_montecarlo_agreement)


# --------------------------------------------------------------------------- risk study


def draw_risk(fig: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Normalised risk against heterogeneity: a panel per (k, noise) at the smallest n,
    a line per method with +- 2 se bars; the local model is the dotted line at 1."""
    settings = risk.row_settings(rows)
    noises = sorted({s[0] for s in settings}, key=list(risk.NOISES).index)
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
            for mi, m in enumerate(risk.RISK_METHODS[1:]):
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


def draw_risk_study(fig) -> None:  # type: ignore[no-untyped-def]
    """``draw(fig)`` of the registry: :func:`draw_risk` on the risk study's ``ci`` profile
    (:func:`modelavg_sym.simulation.risk.ci_rows`)."""
    draw_risk(fig, risk.ci_rows())


RISK = Figure("risk_study", "Risk of estimated weights: expected MSE of each "
              "weight estimator relative to the local model, by heterogeneity tau^2 relative "
              "to the noise, over node counts, sample sizes and noise families (ci profile; "
              "bars: 2 standard errors). Above 1: the estimated weight hurts.",
              draw_risk_study)


def figures() -> list[Figure]:
    """Every figure: :data:`FIGURES`, the Monte Carlo plot and the risk study of estimated
    weights."""
    return [*FIGURES, MONTECARLO, RISK]


#: The banner of every figure, in its metadata (binary files have no comment lines).
BANNER = "generated by modelavg-sym regenerate, do not edit"


def render(figure: Figure, fmt: str) -> bytes:
    """``figure`` as ``fmt`` ("pdf" or "png") bytes, deterministically
    (:mod:`modelavg_sym.artifacts.style`)."""
    metadata = style.metadata(fmt, title=figure.name, description=BANNER)
    with style.figure((6.0, 4.0)) as fig:
        figure.draw(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, metadata=metadata)
    return buf.getvalue()


def risk_figure(rows: Sequence[dict[str, Any]], path_stem: str | Path) -> list[Path]:
    """Write :func:`draw_risk` of ``rows`` to ``<path_stem>.pdf`` and ``<path_stem>.png``
    deterministically (:mod:`modelavg_sym.artifacts.style`); returns the two paths."""
    stem = Path(path_stem)
    paths = []
    for fmt in style.FORMATS:
        with style.figure((8.0, 5.5)) as fig:
            draw_risk(fig, rows)
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt, metadata=style.metadata(fmt))
        paths.append(atomic_write(stem.with_suffix(f".{fmt}"), buf.getvalue()))
    return paths
