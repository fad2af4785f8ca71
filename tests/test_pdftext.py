"""Text copied out of the figures reads as what they show (artifacts/pdftext.py)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

pytest.importorskip("matplotlib")

from modelavg_sym.artifacts import figures, style
from modelavg_sym.artifacts.pdftext import bakoma_unicode, fix_tounicode

# CI installs poppler-utils (.ci/run); elsewhere these checks need it too
needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None and not os.environ.get("CI"),
                                     reason="pdftotext not installed (Debian: poppler-utils)")

BAKOMA_MARKS = "¡¢¤¿"


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "f.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def _raw(figure: figures.Figure) -> bytes:
    """The figure as matplotlib writes it, before the ToUnicode maps are fixed."""
    import io

    with style.figure(figure.size) as fig:
        figure.draw(fig, figures.Tex(None))
        buf = io.BytesIO()
        fig.savefig(buf, format="pdf", metadata=style.metadata("pdf"))
    return buf.getvalue()


def test_the_table_is_matplotlibs_own_inverse():
    table = bakoma_unicode()
    # independent references: TeX's OMS, OML and OT1 positions of these glyphs
    assert table[("cmsy10", 0xA1)] == ord("−")   # minus, OMS 0
    assert table[("cmmi10", 0xBF)] == ord("τ")   # tau, OML 0x1C
    assert table[("cmr10", 0xA2)] == ord("Δ")    # Delta, OT1 1
    assert table[("cmmi10", 0x3B)] == ord(",")   # comma, OML 0x3B (';' in ASCII)


@needs_pdftotext
def test_figure_text_reads_as_drawn(tmp_path):
    fig = next(f for f in figures.FIGURES if f.name == "mse_curves")
    raw = _raw(fig)
    before = _text(raw, tmp_path)
    assert any(ch in before for ch in BAKOMA_MARKS)  # the defect the fix removes
    after = _text(figures.render(fig, "pdf"), tmp_path)
    assert not any(ch in after for ch in BAKOMA_MARKS), after
    assert "−0.25" in after and "Δ = 0.5" in after


def test_fix_keeps_the_pdf_valid_and_is_deterministic():
    fig = next(f for f in figures.FIGURES if f.name == "mse_curves")
    raw = _raw(fig)
    fixed = fix_tounicode(raw)
    assert fixed == fix_tounicode(raw) and fixed != raw
    assert fix_tounicode(b"%PDF-1.4 no fonts") == b"%PDF-1.4 no fonts"
    # every cross-reference entry points at its object
    xref = fixed.rindex(b"\nxref\n") + 1
    start = int(fixed.rsplit(b"startxref\n", 1)[1].split()[0])
    assert start == xref
    rows = fixed[xref:fixed.index(b"trailer", xref)].splitlines()[2:]
    for num, row in enumerate(rows):
        offset, _gen, kind = row.split()
        if kind == b"n":
            assert fixed[int(offset):].startswith(b"%d 0 obj" % num), num
