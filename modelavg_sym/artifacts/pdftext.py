"""Copyable text in the Computer Modern figures.

matplotlib draws mathtext's ``cm`` fontset with the BaKoMa TrueType fonts, which move TeX's
character positions 0-32 to the codes 0xA1-0xC4 (and give several fonts' symbols codes of
unrelated ASCII letters).  The ``ToUnicode`` map matplotlib writes into a PDF records those
codes as if they were Unicode, so a reader copying text from a figure, or ``pdftotext``,
gets U+00A1 '¡' for the minus sign, '¿' for tau and '¢' for Delta.

:func:`fix_tounicode` rewrites the ``ToUnicode`` map of every BaKoMa font (``Cmr10``,
``Cmmi10``, ``Cmsy10``, ``Cmex10``, ...) in a PDF written by matplotlib with the Unicode
character mathtext itself assigns to that glyph: the inverse of matplotlib's own tables
``latex_to_bakoma`` (TeX name -> font, code) and ``tex2uni`` (TeX name -> Unicode).  The
glyphs drawn are unchanged; only the text a reader extracts is.  The PDF's cross-reference
table is shifted by the change in length of each rewritten stream, so the file stays valid,
and the output is a function of the input bytes alone (deterministic).
"""

from __future__ import annotations

import re
import zlib
from functools import cache

__all__ = ["bakoma_unicode", "fix_tounicode"]

_FONT = re.compile(rb"/BaseFont /[A-Z]{6}\+(Cm[a-z]+\d+)\b[^>]*?/ToUnicode (\d+) 0 R")
_ARRAY = re.compile(rb"\[([^\]]*)\]")
_HEX = re.compile(rb"<([0-9a-fA-F]{4})>")
_XREF_ENTRY = re.compile(rb"(\d{10}) (\d{5}) n")


@cache
def bakoma_unicode() -> dict[tuple[str, int], int]:
    """``{(font, code): unicode}`` for every BaKoMa glyph whose code is not its Unicode
    value, from matplotlib's tables; a glyph mathtext reaches from two characters (``*``
    and ``\\ast``) reads as the smaller code point."""
    from matplotlib import _mathtext_data as data  # optional heavy dependency (figures)

    seen: dict[tuple[str, int], set[int]] = {}
    for name, (font, code) in data.latex_to_bakoma.items():
        if name.startswith("\\"):
            uni = data.tex2uni.get(name[1:])
        else:
            uni = ord(name) if len(name) == 1 else None
        if uni is not None:
            seen.setdefault((font.lower(), code), set()).add(uni)
    return {k: min(v) for k, v in sorted(seen.items()) if min(v) != k[1]}


def _remap(cmap: bytes, font: str, table: dict[tuple[str, int], int]) -> bytes:
    def value(m: re.Match[bytes]) -> bytes:
        code = int(m.group(1), 16)
        uni = table.get((font, code), code)
        return b"<%04x>" % uni if uni <= 0xFFFF else m.group(0)

    return _ARRAY.sub(lambda m: b"[" + _HEX.sub(value, m.group(1)) + b"]", cmap)


def fix_tounicode(pdf: bytes) -> bytes:
    """``pdf`` (as written by matplotlib's PDF backend) with the ``ToUnicode`` map of each
    BaKoMa Computer Modern font giving the characters drawn (see the module docstring).
    A PDF without such fonts is returned unchanged."""
    table = bakoma_unicode()
    edits: list[tuple[int, int, bytes]] = []  # (start, end, replacement) of object bodies
    for m in _FONT.finditer(pdf):
        font, num = m.group(1).decode().lower(), int(m.group(2))
        head = re.search(rb"(?m)^%d 0 obj\n<< /Length (\d+) /Filter /FlateDecode >>\nstream\n"
                         % num, pdf)
        if head is None:
            continue
        start, length = head.start(), int(head.group(1))
        body = pdf[head.end():head.end() + length]
        fixed = zlib.compress(_remap(zlib.decompress(body), font, table), 6)
        new = (b"%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n" % (num, len(fixed))
               + fixed)
        edits.append((start, head.end() + length, new))
    if not edits:
        return pdf
    edits.sort()
    out, pos, shifts = [], 0, []
    for start, end, new in edits:
        out += [pdf[pos:start], new]
        shifts.append((start, len(new) - (end - start)))
        pos = end
    out.append(pdf[pos:])
    result = b"".join(out)

    def moved(offset: int) -> int:
        return offset + sum(d for at, d in shifts if at < offset)

    xref = result.rindex(b"\nxref\n") + 1
    trailer = result.index(b"trailer", xref)
    table_bytes = _XREF_ENTRY.sub(
        lambda m: b"%010d %s n" % (moved(int(m.group(1))), m.group(2)), result[xref:trailer])
    tail = re.sub(rb"startxref\n\d+", b"startxref\n%d" % xref, result[trailer:])
    return result[:xref] + table_bytes + tail
