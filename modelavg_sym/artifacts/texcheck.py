"""Compile checks of the LaTeX output (``.ci/latex_check``; ``tests/test_latex_layout.py``).

For a LaTeX tree (default ``reports/latex``; ``--fresh``: what the current code generates,
with the tree's figures), copied elsewhere first (so a tree that only compiles in place
fails):

* ``main.tex`` as committed, and regenerated (with ``macros.tex``) for every other
  notation preset, two pdflatex passes each;
* every equation file (numbered, ``-star`` and ``-body`` inside ``align``) in a one-column
  11 pt and a two-column 10 pt test document, under every preset's ``macros.tex``, each
  numbered equation referenced with ``\\eqref``, two passes each.

A document fails on a LaTeX error, any overfull box over :data:`TOLERANCE_PT`, any
undefined reference, or text extracted by ``pdftotext`` containing ``¡``, ``¿``,
``textasciicircum`` or ``_`` inside a word (an identifier or ASCII maths in the PDF).
The documents compile on ``jobs`` processes (default 2).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from modelavg_sym.artifacts import build
from modelavg_sym.artifacts import texmeasure as tm
from modelavg_sym.artifacts.notation import PRESETS, make

TOLERANCE_PT = 1.0
_OVERFULL = re.compile(r"^Overfull \\[hv]box \(([0-9.]+)pt too (?:wide|high)\)(.*)$", re.M)
_UNDEFINED = re.compile(r"^(LaTeX Warning: (?:Reference|Citation) `[^']*' on page \S+ "
                        r"undefined.*|LaTeX Warning: There were undefined references\.)$", re.M)
_TEXT = [("¡", "an inverted exclamation mark (a '<' in text mode)"),
         ("¿", "an inverted question mark (a '>' in text mode)"),
         ("textasciicircum", "the word textasciicircum (an escaped '^')")]
_UNDERSCORE = re.compile(r"\w_\w")


@dataclass(frozen=True)
class Job:
    """One document to compile: ``tex`` (file name) in directory ``cwd``."""

    name: str
    cwd: Path
    tex: str


def log_problems(log: str, tol: float = TOLERANCE_PT) -> list[str]:
    """Overfull boxes over ``tol`` points and undefined references in a pdflatex log."""
    out = [f"overfull box {float(w):.1f}pt{where}" for w, where in _OVERFULL.findall(log)
           if float(w) > tol]
    out += sorted(set(_UNDEFINED.findall(log)))
    return out


def text_problems(text: str) -> list[str]:
    """Forbidden text in the PDF's extracted text (see the module docstring)."""
    out = [f"PDF text has {what}" for ch, what in _TEXT if ch in text]
    for m in list(_UNDERSCORE.finditer(text))[:5]:
        ctx = text[max(0, m.start() - 25):m.end() + 25].replace("\n", " ")
        out.append(f"PDF text has '_' inside a word: ...{ctx}...")
    return out


def compile_job(job: Job, passes: int = 2) -> list[str]:
    """Compile ``job`` (``passes`` pdflatex runs) and return its problems."""
    build = job.cwd / f"_build_{Path(job.tex).stem}"
    build.mkdir(exist_ok=True)
    for _ in range(passes):
        proc = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
             f"-output-directory={build}", job.tex], cwd=job.cwd, capture_output=True,
            text=True, errors="replace", timeout=600)
        if proc.returncode != 0:
            errs = [ln for ln in proc.stdout.splitlines() if ln.startswith("!")]
            return [f"pdflatex failed: {' | '.join(errs[:3]) or proc.stdout[-500:]}"]
    log = (build / (Path(job.tex).stem + ".log")).read_text(encoding="utf-8", errors="replace")
    pdf = build / (Path(job.tex).stem + ".pdf")
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                          text=True, errors="replace", check=True).stdout
    return log_problems(log) + text_problems(text)


def equations_document(cls: tm.DocClass, stems: Sequence[str]) -> str:
    """A test document of class ``cls`` holding every equation file given by its stem
    (``equations/<derivation>/<result>``) in its three variants, each numbered one
    referenced."""
    lines = [*cls.preamble(), r"\input{macros}", r"\begin{document}"]
    for i, stem in enumerate(stems):
        lines += [f"\\input{{{stem}}}", f"\\input{{{stem}-star}}",
                  r"\begin{align}", f"\\input{{{stem}-body}}\\label{{test:{i}}}",
                  r"\end{align}"]
    labels = [_label_of(stem) for stem in stems]
    lines += ["References: " + ", ".join(f"\\eqref{{{lab}}}" for lab in labels)
              + ", " + ", ".join(f"\\eqref{{test:{i}}}" for i in range(len(stems))) + ".",
              r"\end{document}"]
    return "\n".join(lines) + "\n"


def _label_of(stem: str) -> str:
    _eq, deriv, result = stem.split("/")
    return f"eq:{deriv}:{result}"


def tree_notation(tree: Path) -> tuple[str, str]:
    """(notation, macro prefix) recorded in ``tree/macros.tex``."""
    head = (tree / "macros.tex").read_text(encoding="utf-8")
    m = re.search(r"^% notation: ([^;\n]+)(?:; macro prefix: (\w+))?", head, re.M)
    if m is None:
        return "default", "mavg"
    return m.group(1).strip(), (m.group(2) or "mavg")


def regenerate_documents(tree: Path, out: dict[str, Path], prefix: str,
                         everything: bool = False) -> None:
    """Write ``main.tex`` and ``macros.tex`` (``everything``: all of reports/latex but the
    figures) of each preset ``out`` names into its directory (a copy of ``tree``),
    generated as ``regenerate`` would (verification statuses not run)."""
    if not out:
        return
    ctx = build.make_context(make(next(iter(out)), prefix=prefix), tree.parent, verify=False)
    for preset, where in out.items():
        arts = build.latex_artifacts(replace(ctx, notation=make(preset, prefix=prefix)))
        for a in arts:
            name = a.path.removeprefix("reports/latex/")
            if everything or name in ("main.tex", "macros.tex"):
                (where / name).parent.mkdir(parents=True, exist_ok=True)
                (where / name).write_bytes(a.content())


def prepare(tree: Path, work: Path, fresh: bool = False) -> list[Job]:
    """Copies of ``tree`` under ``work`` (as committed, and regenerated for every other
    preset; ``fresh``: everything regenerated by the current code, only the figures
    taken from ``tree``) and the jobs to compile."""
    own, prefix = ("", "mavg") if fresh else tree_notation(tree)
    dirs = {own: work / "tree-committed"} if not fresh else {}
    dirs |= {p: work / f"tree-{p}" for p in sorted(PRESETS) if p != own}
    for d in dirs.values():
        shutil.copytree(tree, d, ignore=shutil.ignore_patterns(
            "_build*", "main.aux", "main.log", "main.out", "main.pdf", "main.toc",
            *(["*.tex", "*.txt"] if fresh else [])))
    for d in dirs.values():  # a tree from before the figures moved in: reports/figures
        if not (d / "figures").is_dir() and (tree.parent / "figures").is_dir():
            (d / "figures").mkdir()
            for fig in (tree.parent / "figures").glob("*.pdf"):
                shutil.copy2(fig, d / "figures" / fig.name)
    regenerate_documents(tree, {p: d for p, d in dirs.items() if p != own}, prefix, fresh)
    tree = next(iter(dirs.values()))  # its equation files
    stems = sorted(str(p.relative_to(tree))[:-4] for p in (tree / "equations").glob("*/*.tex")
                   if not p.stem.endswith(("-star", "-body")))
    jobs = [Job(f"main.tex ({p})", d, "main.tex") for p, d in dirs.items()]
    for p, d in dirs.items():
        for cls in tm.CLASSES:
            name = "eqtest-" + re.sub(r"[^a-z0-9]+", "-", cls.name.lower()).strip("-") + ".tex"
            (d / name).write_text(equations_document(cls, stems), encoding="utf-8")
            jobs.append(Job(f"equation files, {cls.name} ({p})", d, name))
    return jobs


def run(tree: Path, jobs: int = 2, keep: Path | None = None, fresh: bool = False
        ) -> list[str]:
    """Every problem of every document (empty: all pass)."""
    work = Path(tempfile.mkdtemp(prefix="mavg-latex-check-")) if keep is None else keep
    work.mkdir(parents=True, exist_ok=True)
    try:
        todo = prepare(tree, work, fresh)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as ex:
            results = list(ex.map(compile_job, todo))
        return [f"{job.name}: {p}" for job, probs in zip(todo, results, strict=True)
                for p in probs]
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """``.ci/latex_check``: 0 when every document passes, 1 otherwise, 2 on bad usage."""
    ap = argparse.ArgumentParser(prog="latex_check", description=__doc__.split("\n\n")[0])
    ap.add_argument("--tree", type=Path, default=Path("reports/latex"),
                    help="the LaTeX directory to check (default: reports/latex)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel pdflatex runs (default 2)")
    ap.add_argument("--keep", type=Path, default=None,
                    help="build in this directory and keep it (default: a temporary one)")
    ap.add_argument("--fresh", action="store_true",
                    help="check what the current code generates (only the figures are "
                         "taken from the tree) instead of the tree's own files")
    args = ap.parse_args(argv)
    for tool in ("pdflatex", "pdftotext"):
        if shutil.which(tool) is None:
            print(f"latex_check: {tool} not found (Debian: texlive-latex-base, "
                  "texlive-latex-recommended, poppler-utils)", file=sys.stderr)
            return 2
    if not (args.tree / "main.tex").is_file():
        print(f"latex_check: --tree {args.tree} has no main.tex", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    problems = run(args.tree.resolve(), args.jobs, args.keep, args.fresh)
    for p in problems:
        print(p)
    verdict = "FAILED" if problems else "passed"
    print(f"latex_check: {verdict} ({len(problems)} problem(s), "
          f"{time.perf_counter() - t0:.0f} s)")
    return 1 if problems else 0
