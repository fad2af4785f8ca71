"""Widths of math snippets measured by TeX: one pdflatex run per document class.

:func:`measure` writes one document of the given class in which every snippet is set in
``\\sbox0{$\\displaystyle ...$}`` and ``\\the\\wd0`` is written to the log, under each of
the given notations (their macros defined in a group), and returns each snippet's widest
width in points, with the class's ``\\linewidth``.  Results are kept in memory, so a
second call measures only new snippets.

Without pdflatex, :func:`estimate` stands in: a rough count of glyphs at the class's font
size (documented as approximate; generated layouts then may differ from those of a
machine with TeX, and ``.ci/latex_check`` is where the layouts are checked).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from modelavg_sym.artifacts.notation import Notation


@dataclass(frozen=True)
class DocClass:
    """A target document: article class ``options`` and what to call it."""

    name: str
    options: str
    font_pt: float

    def preamble(self) -> list[str]:
        return [f"\\documentclass[{self.options}]{{article}}",
                r"\usepackage{amsmath,amssymb}"]


ONE_COLUMN_11PT = DocClass("one-column 11 pt article", "11pt", 11.0)
TWO_COLUMN_10PT = DocClass("two-column 10 pt article", "10pt,twocolumn", 10.0)
CLASSES = (ONE_COLUMN_11PT, TWO_COLUMN_10PT)


class MeasureError(RuntimeError):
    """pdflatex failed on a snippet (the message names it)."""


_CACHE: dict[tuple[str, str, str], float] = {}
_LINEWIDTH: dict[str, float] = {}
_LOG_RE = re.compile(r"^MAVGW=(\d+)=(\d+)=([0-9.]+)pt", re.MULTILINE)


def have_tex() -> bool:
    """True when pdflatex is on the PATH."""
    return shutil.which("pdflatex") is not None


def _document(cls: DocClass, snippets: Sequence[str], notations: Sequence[Notation]) -> str:
    lines = [*cls.preamble(), r"\begin{document}", r"\typeout{MAVGLW=\the\linewidth}"]
    for k, n in enumerate(notations):
        lines += [r"\begingroup", *n.macro_definitions()]
        for i, s in enumerate(snippets):
            lines.append(f"\\sbox0{{$\\displaystyle {s}$}}\\typeout{{MAVGW={k}={i}=\\the\\wd0}}")
        lines.append(r"\endgroup")
    lines.append(r"\end{document}")
    return "\n".join(lines) + "\n"


def _run(cls: DocClass, snippets: Sequence[str], notations: Sequence[Notation]
         ) -> tuple[float, dict[tuple[int, int], float]]:
    with tempfile.TemporaryDirectory(prefix="mavg-measure-") as tmp:
        src = Path(tmp) / "measure.tex"
        src.write_text(_document(cls, snippets, notations), encoding="utf-8")
        proc = subprocess.run(
            ["pdflatex", "-interaction=batchmode", "-halt-on-error", "-no-shell-escape",
             "measure.tex"], cwd=tmp, capture_output=True, text=True, timeout=300)
        log = (Path(tmp) / "measure.log").read_text(encoding="utf-8", errors="replace")
    found = {(int(k), int(i)): float(w) for k, i, w in _LOG_RE.findall(log)}
    lw = re.search(r"^MAVGLW=([0-9.]+)pt", log, re.MULTILINE)
    if proc.returncode != 0 or lw is None:
        done = max((i for (k, i) in found if k == 0), default=-1)
        culprit = snippets[done + 1] if done + 1 < len(snippets) else "?"
        err = "\n".join(ln for ln in log.splitlines() if ln.startswith("!"))[:500]
        raise MeasureError(f"pdflatex could not typeset a snippet ({cls.name}): {err}\n"
                           f"snippet: {culprit}")
    return float(lw.group(1)), found


def measure(snippets: Iterable[str], notations: Sequence[Notation], cls: DocClass
            ) -> dict[str, float]:
    """Width (pt) of each snippet in display style in ``cls``, the widest over
    ``notations``; key ``""`` holds the class's ``\\linewidth``.  Without pdflatex:
    :func:`estimate`."""
    wanted = sorted(set(snippets))
    if not have_tex():
        return {**{s: estimate(s, cls) for s in wanted}, "": estimate_linewidth(cls)}
    keys = [n.key() for n in notations]
    missing = [s for s in wanted if any((cls.name, k, s) not in _CACHE for k in keys)]
    if missing or cls.name not in _LINEWIDTH:
        lw, found = _run(cls, missing, notations)
        _LINEWIDTH[cls.name] = lw
        for k, key in enumerate(keys):
            for i, s in enumerate(missing):
                _CACHE[(cls.name, key, s)] = found[(k, i)]
    out = {s: max(_CACHE[(cls.name, k, s)] for k in keys) for s in wanted}
    out[""] = _LINEWIDTH[cls.name]
    return out


# ------------------------------------------------------------------ fallback estimate

_CMD = re.compile(r"\\([A-Za-z]+|.)")
_SKIP = frozenset({"left", "right", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr",
                   "operatorname", "mathrm", "text", "displaystyle", "mathit"})


def estimate(tex: str, cls: DocClass) -> float:
    """A rough width of ``tex`` (pt): 0.55 em per glyph, scripts at 70 %, a fraction as
    wide as its wider part, spacing around relations and binary signs."""
    return _estimate(tex, cls.font_pt)


def estimate_linewidth(cls: DocClass) -> float:
    """``\\linewidth`` of the standard article classes (pt)."""
    return 229.5 if "twocolumn" in cls.options else 360.0


def _brace_arg(tex: str, i: int) -> tuple[str, int]:
    """The brace group (or single token) at ``tex[i]``; returns (content, index after)."""
    if i < len(tex) and tex[i] == "{":
        depth = 0
        for j in range(i, len(tex)):
            depth += {"{": 1, "}": -1}.get(tex[j], 0)
            if depth == 0:
                return tex[i + 1:j], j + 1
    return tex[i:i + 1], i + 1


def _estimate(tex: str, size: float) -> float:
    w, i = 0.0, 0
    while i < len(tex):
        ch = tex[i]
        if tex.startswith(r"\frac", i):
            num, i = _brace_arg(tex, i + 5)
            den, i = _brace_arg(tex, i)
            w += max(_estimate(num, size), _estimate(den, size)) + 0.2 * size
            continue
        if ch in "^_":
            arg, i = _brace_arg(tex, i + 1)
            w += _estimate(arg, 0.7 * size)
            continue
        m = _CMD.match(tex, i)
        if m:
            i = m.end()
            name = m.group(1)
            if name in ("quad", "qquad"):
                w += size * (1 if name == "quad" else 2)
            elif name not in _SKIP and name not in "{}":
                w += 0.55 * size
            continue
        if ch in "=<>":
            w += 1.4 * size
        elif ch in "+-":
            w += 1.2 * size
        elif not ch.isspace() and ch not in "{}&":
            w += 0.55 * size
        i += 1
    return w
