"""The one matplotlib style of every figure, and deterministic output.

Every figure is drawn inside :func:`figure`: the Agg backend, matplotlib's default style
(no user matplotlibrc), and :data:`RC` (embedded TrueType fonts, fixed DPI, a fixed SVG
hash salt, no path simplification).  :func:`metadata` drops the dates and the producer
from PDF and the ``Software`` chunk from PNG, so the same drawing gives the same bytes.
matplotlib is an optional dependency (the ``figures`` extra): it is imported only when a
figure is drawn.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: rc settings of every figure (on top of matplotlib's default style).
RC: dict[str, object] = {
    "svg.hashsalt": "modelavg-sym",
    "pdf.fonttype": 42,
    "font.family": "DejaVu Sans",
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "path.simplify": False,
}
#: Output formats and what :func:`metadata` removes from each.
FORMATS: tuple[str, ...] = ("pdf", "png")


@contextmanager
def figure(figsize: tuple[float, float] = (6.0, 4.0)) -> Iterator[Any]:
    """A new ``matplotlib.figure.Figure`` (constrained layout) with the style applied for
    the whole block: draw and save it inside the ``with``."""
    import matplotlib  # optional dependency (the ``figures`` extra)

    matplotlib.use("Agg", force=False)
    from matplotlib import style
    from matplotlib.figure import Figure

    with style.context("default"), matplotlib.rc_context(RC):
        yield Figure(figsize=figsize, layout="constrained")


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
