"""Figures (matplotlib, Agg; PDF for papers, PNG for the Markdown report).

Every plotted value comes from the compiled API (:mod:`modelavg_sym.numeric.api`), never
from a retyped formula, or from a simulation (:mod:`modelavg_sym.simulation`).

Figures are in the paper's notation: every label, title and legend takes the theory's
symbols from the symbol table (:data:`modelavg_sym.symbols.SYMBOLS`) in the notation of the
LaTeX (:class:`modelavg_sym.artifacts.notation.Notation`, presets ``default``, ``sigma``,
``paper``), through :class:`Tex`, and is typeset by matplotlib's mathtext in Computer
Modern.  Each figure is drawn at its printed size, a column or a page wide, with 8-9 pt
text (:mod:`modelavg_sym.artifacts.style`).

Output is byte-for-byte deterministic: every figure is drawn in the one style of
:mod:`modelavg_sym.artifacts.style` (default style forced, no user matplotlibrc; PDF
metadata without dates or producer, PNG without a ``Software`` chunk; fixed SVG hash salt).

Each figure is one :class:`Figure` with its own generating function ``draw(fig, tex)``.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from modelavg_sym.artifacts import style
from modelavg_sym.artifacts.notation import Notation, make, superscript_guard
from modelavg_sym.artifacts.pdftext import fix_tounicode
from modelavg_sym.numeric import api
from modelavg_sym.runtime.atomic import atomic_write
from modelavg_sym.simulation import risk
from modelavg_sym.simulation.engine import simulate
from modelavg_sym.simulation.model import SimulationSetup
from modelavg_sym.symbols import SYMBOLS

# ------------------------------------------------------------------------------ notation


def _mathtext_ok(tex: str) -> bool:
    """True when matplotlib's mathtext typesets ``$tex$``."""
    from matplotlib.mathtext import MathTextParser  # optional dependency (figures extra)

    try:
        MathTextParser("path").parse(f"${tex}$")
    except ValueError:
        return False
    return True


_WARNED: set[tuple[str, str]] = set()


class Tex:
    """The theory's symbols as mathtext (the LaTeX subset matplotlib typesets, without
    ``$``) in a notation: ``tex("s_L")`` is ``{s_L}`` in ``default`` and
    ``{\\sigma_{L}^{2}}`` in ``sigma``.  A symbol whose notation mathtext cannot typeset
    (a package macro, say) is drawn in the symbol table's own LaTeX, with one line on
    stderr saying so."""

    def __init__(self, notation: Notation | None = None):
        self.notation = notation or make()
        table = self.notation.mapping()
        for name, value in sorted(table.items()):
            if not _mathtext_ok(value):
                table[name] = SYMBOLS[name].latex
                if (name, value) not in _WARNED:
                    _WARNED.add((name, value))
                    print(f"figures: mathtext cannot typeset {value!r} (symbol {name}); "
                          f"the figures draw {SYMBOLS[name].latex!r}", file=sys.stderr)
        self.table = table

    def __call__(self, name: str) -> str:
        """Symbol ``name`` (a key of the symbol table), braced."""
        return "{" + self.table[name] + "}"

    def sup(self, name: str, script: str) -> str:
        """Symbol ``name`` with the superscript ``script``, bracketed when the symbol is
        not one (subscripted) atom (``\\sigma_{L}^{2}`` squared is
        ``(\\sigma_{L}^{2})^{2}``; see :func:`superscript_guard`)."""
        value = self.table[name]
        guard = superscript_guard(value)
        if guard == 1:
            return rf"\left({value}\right)^{{{script}}}"
        base = value if guard == 0 else "{" + value + "}"
        return f"{base}^{{{script}}}"

    def star(self, name: str = "a") -> str:
        """The optimum of ``name``: ``a^{*}``."""
        return self.sup(name, "*")

    def equals(self, name: str, value: float) -> str:
        """``name = value`` (mathtext, without ``$``)."""
        return f"{self(name)} = {value:g}"


# ------------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figure:
    """A figure: its file stem, caption (prose with ASCII maths, see
    :func:`modelavg_sym.artifacts.prose.to_latex`), drawing function ``draw(fig, tex)``,
    printed ``width`` (a key of :data:`modelavg_sym.artifacts.style.WIDTHS`) and height
    as a multiple of the width."""

    name: str
    caption: str
    draw: Callable[[Any, Tex], None]
    width: str = "column"
    aspect: float = 0.75

    @property
    def size(self) -> tuple[float, float]:
        """(width, height) in inches."""
        return style.size(self.width, self.aspect)


#: Parameters of the example model used by the figures: (s_L, s_G, c).
BASE = (1.0, 0.25, 0.0)
BIAS_LEVELS = (0.0, 0.5, 1.0, 2.0)
#: Parameter sets (s_L, s_G, Delta, c) whose benefit curves collapse onto one shape; the
#: last has c > s_L, so a* < 0.
RATIO_CASES = ((1.0, 0.25, 0.5, 0.0), (2.0, 1.0, 1.5, 0.5), (1.0, 4.0, 0.0, 1.5))


def mse_curves_data() -> tuple[np.ndarray, list[tuple[float, np.ndarray, float, float]]]:
    """Weights and, per bias level, (bias, MSE(weights), a*, MSE(a*)) at :data:`BASE`."""
    s_l, s_g, c = BASE
    w = np.linspace(-0.25, 1.25, 301)
    rows = [(b, np.asarray(api.mse(w, s_l, s_g, b, c)), float(api.optimal_weight(s_l, s_g, b, c)),
             float(api.min_mse(s_l, s_g, b, c))) for b in BIAS_LEVELS]
    return w, rows


def draw_mse_curves(fig: Any, tex: Tex) -> None:
    """MSE(a) for several bias levels, with each optimum (a*, MSE(a*)) marked."""
    s_l, s_g, c = BASE
    a = tex("a")
    ax = fig.add_subplot(1, 1, 1)
    w, rows = mse_curves_data()
    for b, y, a_star, m_star in rows:
        (line,) = ax.plot(w, y, label=rf"${tex.equals('Delta', b)}$")
        ax.plot([a_star], [m_star], "o", color=line.get_color())
    ax.axvline(0.0, color="0.6", lw=0.6, ls=":")
    ax.axvline(1.0, color="0.6", lw=0.6, ls=":")
    ax.set_xlabel(rf"weight ${a}$ on the global model")
    ax.set_ylabel(rf"$\mathrm{{MSE}}({a})$")
    ax.set_title(rf"${tex.equals('s_L', s_l)},\; {tex.equals('s_G', s_g)},\; "
                 rf"{tex.equals('c', c)}$")
    ax.set_ylim(bottom=0.0)
    ax.legend(loc="upper left", handlelength=1.5, labelspacing=0.3)


def benefit_ratio_data() -> tuple[np.ndarray, list[tuple[tuple[float, ...], float, np.ndarray]]]:
    """r = a/a* and, per parameter set of :data:`RATIO_CASES`, (params, a*, B(r a*)/B(a*))."""
    ratio = np.linspace(-0.6, 2.6, 321)
    rows = []
    for params in RATIO_CASES:
        a_star = float(api.optimal_weight(*params))
        y = np.asarray(api.benefit(ratio * a_star, *params)) / api.benefit(a_star, *params)
        rows.append((params, a_star, y))
    return ratio, rows


def draw_benefit_ratio(fig: Any, tex: Tex) -> None:
    """B(r a*) / B(a*) against r = a / a* for several parameter sets (one shape), with the
    negative-benefit region shaded."""
    ax = fig.add_subplot(1, 1, 1)
    ratio, rows = benefit_ratio_data()
    a, star, r = tex("a"), tex.star("a"), tex("r")
    for k, ((s_l, s_g, b, c), a_star, y) in enumerate(rows):
        ax.plot(ratio, y, lw=2.0 - 0.5 * k, ls=("-", "--", ":")[k % 3],
                label=rf"${tex.equals('s_L', s_l)},\, {tex.equals('s_G', s_g)},\, "
                      rf"{tex.equals('Delta', b)},\, {tex.equals('c', c)}$ "
                      rf"(${star} = {a_star:.3f}$)")
    y0 = rows[0][2]
    lo = float(min(y.min() for _p, _a, y in rows))
    ax.fill_between(ratio, lo, 0.0, where=y0 < 0, color="tab:red", alpha=0.15, lw=0,
                    label="negative benefit (worse than local)")
    ax.axhline(0.0, color="0.3", lw=0.6)
    ax.axvline(1.0, color="0.6", lw=0.6, ls=":")
    ax.set_xlabel(rf"${r} = {a} / {star}$")
    ax.set_ylabel(rf"$B({r}\,{star}) \,/\, B({star})$")
    fig.legend(loc="outside lower center", handlelength=2.2, labelspacing=0.25)


def optimal_weight_map_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x = Delta^2/s_L, y = s_G/s_L grids and a* (s_L = 1, c = 0) on them."""
    x = np.linspace(0.0, 4.0, 161)
    y = np.linspace(0.0, 4.0, 161)
    xx, yy = np.meshgrid(x, y)
    return xx, yy, np.asarray(api.optimal_weight(1.0, yy, np.sqrt(xx), 0.0))


def draw_optimal_weight_map(fig: Any, tex: Tex) -> None:
    """a* (c = 0) over (Delta^2 / s_L, s_G / s_L)."""
    ax = fig.add_subplot(1, 1, 1)
    xx, yy, z = optimal_weight_map_data()
    im = ax.imshow(z, origin="lower", extent=(xx[0, 0], xx[0, -1], yy[0, 0], yy[-1, 0]),
                   aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
    levels = (0.2, 0.3, 0.5, 0.7)
    cs = ax.contour(xx, yy, z, levels=list(levels), colors="white", linewidths=0.6)
    # each label where its contour crosses the diagonal (s_L = 1, c = 0: a* = 1/(1 + x + y))
    ax.clabel(cs, fmt="%.1f", fontsize=style.FONT_PT,
              manual=[((1 / v - 1) / 2, (1 / v - 1) / 2) for v in levels])
    star = tex.star("a")
    fig.colorbar(im, ax=ax, label=rf"optimal weight ${star}$")
    ax.set_xlabel(rf"${tex.sup('Delta', '2')} / {tex('s_L')}$")
    ax.set_ylabel(rf"${tex('s_G')} / {tex('s_L')}$")
    ax.set_title(rf"${star}$ for ${tex.equals('c', 0)}$")


def _caption_params(names: Sequence[str], values: Sequence[float]) -> str:
    return ", ".join(f"{n} = {v:g}" for n, v in zip(names, values, strict=True))


FIGURES: list[Figure] = [
    Figure("mse_curves",
           "The mean squared error MSE(a) of the average against the weight a on the "
           "global model, for four biases Delta; "
           + _caption_params(("s_L", "s_G", "c"), BASE)
           + ". Dots mark the optimum a* of each.", draw_mse_curves),
    Figure("benefit_ratio",
           "The benefit B(r a*) as a fraction of the best benefit B(a*), against "
           "r = a/a*: the same curve r(2 - r) for three parameter sets; shaded: negative "
           "benefit.", draw_benefit_ratio, aspect=0.95),
    Figure("optimal_weight_map",
           "The optimal weight a* when c = 0, over the squared bias Delta^2/s_L and the "
           "global variance s_G/s_L, both relative to the local variance s_L.",
           draw_optimal_weight_map, aspect=0.8),
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
#: The Monte Carlo setting in words: the local and the global node's values.
MC_WORDS = ("exponential values with scale 2", "Bernoulli values with p = 0.3")


@cache
def montecarlo_data():  # type: ignore[no-untyped-def]
    """Simulated MSE with simultaneous confidence intervals against the compiled API's
    prediction (:mod:`modelavg_sym.simulation.engine`), plus a dense predicted curve."""
    res = simulate(SimulationSetup.from_nodes(MC_NODES), MC_REPS, seed=MC_SEED, workers=1,
                   progress=False)
    cmp = res.compare("mse", list(MC_WEIGHTS))
    dense = np.linspace(MC_WEIGHTS[0], MC_WEIGHTS[-1], 281)
    return res, cmp, dense, res.predicted("mse", dense)


def draw_montecarlo_agreement(fig: Any, tex: Tex) -> None:
    """Empirical MSE(a) (mean and simultaneous CI) against the predicted curve."""
    res, cmp, dense, pred = montecarlo_data()
    a = tex("a")
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(dense, pred, color="tab:blue", label="derived")
    ax.errorbar(cmp.weights, cmp.empirical, yerr=cmp.z * cmp.se, fmt="o", ms=2.5,
                color="tab:orange", capsize=2.0, elinewidth=0.8,
                label=f"simulated ({100 * cmp.confidence:.4g}% simultaneous CI)")
    a_star = res.optimal_weight()
    m_star = float(np.asarray(res.predicted("mse", np.array([a_star])))[0])
    ax.set_ylim(bottom=0.0)
    ax.vlines(a_star, 0.0, m_star, color="0.5", lw=0.6, ls="--",
              label=rf"${tex.star('a')} = {a_star:.3f}$")
    ax.set_xlabel(rf"weight ${a}$ on the global model")
    ax.set_ylabel(rf"$\mathrm{{MSE}}({a})$")
    (_loc, n_loc), (_glob, n_glob) = MC_NODES
    ax.set_title(f"local: exponential, $n = {n_loc}$; global: Bernoulli, $n = {n_glob}$")
    ax.legend(loc="upper left", labelspacing=0.3)


MONTECARLO = Figure("montecarlo_agreement",
                    f"Monte Carlo agreement: the simulated MSE(a) ({MC_REPS} replications; "
                    "bars: simultaneous confidence intervals) against the derived MSE(a). "
                    f"Local node: {MC_NODES[0][1]} {MC_WORDS[0]}; global node: "
                    f"{MC_NODES[1][1]} {MC_WORDS[1]}.",
                    draw_montecarlo_agreement)


# --------------------------------------------------------------------------- risk study

#: How the risk study's methods (:data:`modelavg_sym.simulation.risk.RISK_METHODS`) are
#: named in the figure; ``{astar}`` is the optimal weight in the notation.
METHOD_LABELS: dict[str, str] = {
    "local": "local", "global": "global", "oracle": "oracle ${astar}$", "plugin": "plug-in",
    "naive": "naive", "random-effects": "random effects", "james-stein": "James-Stein",
}


def _x_axis(ax: Any, ratios: Sequence[float]) -> None:
    """A numeric heterogeneity axis with a tick at each simulated value: linear, or
    symmetric-logarithmic when the values span more than a factor of 10 above zero."""
    positive = [r for r in ratios if r > 0]
    if len(positive) > 1 and max(positive) / min(positive) > 10:
        ax.set_xscale("symlog", linthresh=min(positive), linscale=0.5)
    ax.set_xticks(list(ratios), [f"${r:g}$" for r in ratios])
    ax.set_xticks([], minor=True)


#: Horizontal distance between the methods drawn side by side at one value, as a share of
#: the axis span.
DODGE = 0.011


def _dodged(ax: Any, x: Sequence[float], step: float) -> np.ndarray:
    """``x`` moved ``step`` * :data:`DODGE` of the axis span along the axis's scale (so
    the methods stand side by side around each simulated value on any scale)."""
    scale = ax.xaxis.get_transform()
    u = scale.transform(np.asarray(x, dtype=float).reshape(-1, 1)).ravel()
    shifted = u + step * DODGE * (u.max() - u.min())
    return scale.inverted().transform(shifted.reshape(-1, 1)).ravel()


def draw_risk(fig: Any, rows: Sequence[dict[str, Any]], tex: Tex | None = None) -> None:
    """Normalised risk MSE / s_L against the heterogeneity tau^2 / s_L (s_L = sigma^2/n,
    the variance of a node's mean): a panel per (k, noise) at the smallest n, a line per
    method with +- 2 se bars; the local model is the dotted line at 1."""
    tex = tex or Tex()
    settings = risk.row_settings(rows)
    noises = sorted({s[0] for s in settings}, key=list(risk.NOISES).index)
    ks = sorted({s[1] for s in settings})
    n0 = min(s[2] for s in settings)
    ratios = sorted({s[3] for s in settings})
    by = {(r["noise"], r["nodes"], r["n"], r["tau2_ratio"], r["method"]): r for r in rows}
    axes = fig.subplots(len(ks), len(noises), sharex=True, sharey=True, squeeze=False)
    methods = risk.RISK_METHODS[1:]
    s_l = tex("s_L")
    for i, k in enumerate(ks):
        for j, noise in enumerate(noises):
            ax = axes[i][j]
            ax.set_yscale("log")
            _x_axis(ax, ratios)
            ax.axhline(1.0, color="0.5", lw=0.6, ls=":")
            for mi, m in enumerate(methods):
                pts = [by[(noise, k, n0, ratio, m)] for ratio in ratios]
                y = np.array([p["risk"] for p in pts])
                e = 2 * np.array([p["se"] for p in pts])
                label = METHOD_LABELS.get(m, m).replace("{astar}", tex.star("a"))
                ax.errorbar(_dodged(ax, ratios, mi - (len(methods) - 1) / 2), y, yerr=e,
                            lw=1.0, ms=2.5, marker="o", capsize=1.5, elinewidth=0.7,
                            label=label)
            ax.set_title(f"{noise} noise, $k = {k}$, $n = {n0}$", fontsize=style.FONT_PT)
            if i == len(ks) - 1:
                ax.set_xlabel(rf"heterogeneity $\tau^{{2}} / {s_l}$")
            if j == 0:
                ax.set_ylabel(rf"$\mathrm{{MSE}} / {s_l}$")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=len(methods),
               handlelength=1.5, columnspacing=1.2)


def draw_risk_study(fig: Any, tex: Tex) -> None:
    """``draw(fig, tex)`` of the registry: :func:`draw_risk` on the risk study's table
    of the report (:func:`modelavg_sym.simulation.risk.ci_rows`)."""
    draw_risk(fig, risk.ci_rows(), tex)


RISK = Figure("risk_study", "Risk of estimated weights: the mean squared error of each "
              "weight estimator relative to that of the local model, s_L, against the "
              "heterogeneity tau^2/s_L of the node means, for k nodes of n values each and "
              "three noise families (bars: 2 standard errors). Above 1: the estimated "
              "weight does worse than the local model.",
              draw_risk_study, width="page", aspect=0.52)


def figures() -> list[Figure]:
    """Every figure: :data:`FIGURES`, the Monte Carlo plot and the risk study of estimated
    weights."""
    return [*FIGURES, MONTECARLO, RISK]


#: The banner of every figure, in its metadata (binary files have no comment lines).
BANNER = "generated by modelavg-sym regenerate, do not edit"


def _copyable(data: bytes, fmt: str) -> bytes:
    """A PDF's text made copyable (:func:`modelavg_sym.artifacts.pdftext.fix_tounicode`)."""
    return fix_tounicode(data) if fmt == "pdf" else data


def render(figure: Figure, fmt: str, notation: Notation | None = None) -> bytes:
    """``figure`` as ``fmt`` ("pdf" or "png") bytes in ``notation`` (default: the
    ``default`` preset), deterministically (:mod:`modelavg_sym.artifacts.style`)."""
    metadata = style.metadata(fmt, title=figure.name, description=BANNER)
    with style.figure(figure.size) as fig:
        figure.draw(fig, Tex(notation))
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, metadata=metadata)
    return _copyable(buf.getvalue(), fmt)


def risk_figure(rows: Sequence[dict[str, Any]], path_stem: str | Path,
                notation: Notation | None = None) -> list[Path]:
    """Write :func:`draw_risk` of ``rows`` (in ``notation``) to ``<path_stem>.pdf`` and
    ``<path_stem>.png`` deterministically (:mod:`modelavg_sym.artifacts.style`); returns
    the two paths."""
    stem = Path(path_stem)
    paths = []
    for fmt in style.FORMATS:
        with style.figure(RISK.size) as fig:
            draw_risk(fig, rows, Tex(notation))
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt, metadata=style.metadata(fmt))
        paths.append(atomic_write(stem.with_suffix(f".{fmt}"), _copyable(buf.getvalue(), fmt)))
    return paths
