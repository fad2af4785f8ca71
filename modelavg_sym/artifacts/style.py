"""The one matplotlib style of every figure, and deterministic output.

Figures are made for a paper: drawn at the size they are printed, a column
(:data:`COLUMN_WIDTH`, 3.3 in) or a page (:data:`PAGE_WIDTH`, 6.9 in) wide, with text at
:data:`FONT_PT` (8 pt: ticks, legends, annotations) and :data:`LABEL_PT` (9 pt: axis
labels and titles) at that size, in the paper's font: Computer Modern, for text
(``cmr10``) and for mathematics (matplotlib's mathtext with ``mathtext.fontset: cm``).
mathtext, not ``text.usetex``: the fonts ship with matplotlib, so the same drawing gives
the same bytes on every machine, with or without a TeX installation.

Every figure is drawn inside :func:`figure`: the Agg backend, matplotlib's default style
(no user matplotlibrc) and :data:`RC` (embedded TrueType fonts, fixed DPI, a fixed SVG
hash salt, no path simplification).  :func:`metadata` drops the dates and the producer
from PDF and the ``Software`` chunk from PNG, so the same drawing gives the same bytes.
matplotlib is an optional dependency (the ``figures`` extra): it is imported only when a
figure is drawn.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Width (inches) of a figure that fills one column of a two-column paper.
COLUMN_WIDTH = 3.3
#: Width (inches) of a figure that spans the page (both columns, ``figure*``).
PAGE_WIDTH = 6.9
#: Named widths: :class:`modelavg_sym.artifacts.figures.Figure` ``width``.
WIDTHS: dict[str, float] = {"column": COLUMN_WIDTH, "page": PAGE_WIDTH}
#: Font sizes (points, at the printed size): tick labels, legends and annotations; axis
#: labels and titles.
FONT_PT = 8.0
LABEL_PT = 9.0

#: rc settings of every figure (on top of matplotlib's default style).
RC: dict[str, object] = {
    "svg.hashsalt": "modelavg-sym",
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "text.usetex": False,
    # Computer Modern for text and mathematics (fonts bundled with matplotlib)
    "font.family": "serif",
    "font.serif": ["cmr10"],
    "mathtext.fontset": "cm",
    "mathtext.rm": "serif",
    "axes.formatter.use_mathtext": True,  # tick labels in mathtext: cmr10 has no minus
    "axes.unicode_minus": True,
    "font.size": FONT_PT,
    "axes.labelsize": LABEL_PT,
    "axes.titlesize": LABEL_PT,
    "figure.titlesize": LABEL_PT,
    "xtick.labelsize": FONT_PT,
    "ytick.labelsize": FONT_PT,
    "legend.fontsize": FONT_PT,
    "legend.title_fontsize": FONT_PT,
    "legend.frameon": False,
    # line weights for a figure printed at 3.3 in
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.2,
    "lines.markersize": 3.5,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4,
    "ytick.minor.width": 0.4,
    "xtick.major.size": 3.0,
    "ytick.major.size": 3.0,
    "xtick.minor.size": 1.8,
    "ytick.minor.size": 1.8,
    "axes.titlepad": 4.0,
    "figure.constrained_layout.h_pad": 0.02,
    "figure.constrained_layout.w_pad": 0.02,
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "path.simplify": False,
}
#: Output formats and what :func:`metadata` removes from each.
FORMATS: tuple[str, ...] = ("pdf", "png")


def size(width: str, aspect: float) -> tuple[float, float]:
    """``(width, height)`` in inches of a figure ``width`` wide (a key of :data:`WIDTHS`)
    whose height is ``aspect`` times its width.

    Raises:
        ValueError: ``width`` is not a key of :data:`WIDTHS` or ``aspect`` is not positive.
    """
    if width not in WIDTHS:
        raise ValueError(f"width: must be one of {', '.join(WIDTHS)}, got {width!r}")
    if not aspect > 0:
        raise ValueError(f"aspect: must be > 0, got {aspect!r}")
    w = WIDTHS[width]
    return (w, round(w * aspect, 3))


@contextmanager
def figure(figsize: tuple[float, float] = (COLUMN_WIDTH, 2.5)) -> Iterator[Any]:
    """A new ``matplotlib.figure.Figure`` (constrained layout) of ``figsize`` inches with
    the style applied for the whole block: draw and save it inside the ``with``."""
    import matplotlib  # optional dependency (the ``figures`` extra)

    matplotlib.use("Agg", force=False)
    from matplotlib import style
    from matplotlib.figure import Figure

    # fontTools, subsetting the Computer Modern TrueType fonts into a PDF, warns that their
    # (fixed) creation dates look low: not news to anyone running regenerate
    head = logging.getLogger("fontTools.ttLib.tables._h_e_a_d")
    level = head.level
    head.setLevel(logging.ERROR)
    try:
        with style.context("default"), matplotlib.rc_context(RC):
            yield Figure(figsize=figsize, layout="constrained")
    finally:
        head.setLevel(level)


def metadata(fmt: str, title: str | None = None, description: str | None = None
             ) -> dict[str, object | None]:
    """``savefig`` metadata for ``fmt`` without dates or software versions; ``title`` and
    ``description`` (PDF ``Subject``) are added when given.

    Raises:
        ValueError: ``fmt`` is not one of :data:`FORMATS`.
    """
    if fmt == "pdf":
        out: dict[str, object | None] = {"Creator": None, "Producer": None,
                                         "CreationDate": None, "ModDate": None}
        described = "Subject"
    elif fmt == "png":
        out = {"Software": None}
        described = "Description"
    else:
        raise ValueError(f"fmt: must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if title is not None:
        out["Title"] = title
    if description is not None:
        out[described] = description
    return out
