"""LaTeX export: every exported equation parses back (sympy's LaTeX parser, lark backend)
to the expression it came from; labels are stable; notation switches through macros only;
the standalone document compiles with pdflatex."""

from __future__ import annotations

import multiprocessing as mp
import re
import shutil
import subprocess
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
import sympy as sp

pytest.importorskip("lark")
from sympy.parsing.latex import parse_latex

from modelavg_sym.artifacts import latex, registry, runcache
from modelavg_sym.artifacts.notation import make, plain_latex, plain_name
from modelavg_sym.symbols import SYMBOLS, Delta, c, s_G, s_L

#: Whole-module regenerate / LaTeX runs: excluded by -m "not slow".
pytestmark = pytest.mark.slow


def _equations() -> list[latex.Equation]:
    return latex.equations([d for _f, d in registry.derivations()])


def parse_back(text: str, like: sp.Basic) -> sp.Expr:
    """Parse plain-form LaTeX and map its symbols onto those of ``like`` by name."""
    parsed = parse_latex(text, backend="lark")
    names = {plain_name(s.name): s for s in like.free_symbols}
    assert len(names) == len(like.free_symbols), "plain names must be unique"
    return parsed.subs({s: names.get(plain_name(s.name), s) for s in parsed.free_symbols})


def round_trips(text: str, expr: sp.Basic) -> bool:
    diff = parse_back(text, expr) - expr
    return sp.cancel(sp.together(diff)) == 0 or sp.simplify(diff) == 0


def _check_row(args: tuple[str, str, sp.Basic]) -> str | None:
    label, text, expr = args
    return None if round_trips(text, expr) else label


def test_every_exported_equation_parses_back():
    """Parse the exported plain forms (longest first, on two worker processes: the Earley
    parser is slow on long expressions) and compare with the registry's expressions."""
    eqs = _equations()
    exported = latex.plain_file(eqs).splitlines()
    rows = [ln.split("\t") for ln in exported if not ln.startswith("%")]
    assert [label for label, _t in rows] == [e.label for e in eqs]
    jobs = sorted(((lab, text, e.expr) for (lab, text), e in zip(rows, eqs, strict=True)),
                  key=lambda j: -len(j[1]))
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as ex:
        failures = [lab for lab in ex.map(_check_row, jobs) if lab is not None]
    assert failures == []


def test_round_trip_rejects_a_wrong_formula():
    a_star = registry.derivations()[0][1]["optimal_weight"]
    assert round_trips(plain_latex(a_star), a_star)
    swapped = a_star.subs({s_L: s_G, s_G: s_L}, simultaneous=True)
    assert not round_trips(plain_latex(swapped), a_star)
    assert not round_trips(plain_latex(a_star + Delta**2 / 1000), a_star)


def test_equation_files_use_macros_and_stable_labels():
    n = make()
    macros = {"\\" + n.macro(name) for name in SYMBOLS}
    eqs = _equations()
    layouts = latex.EquationLayouts(eqs, n)  # one measurement for all
    for eq in eqs:
        text = latex.equation_file(eq, n, layouts=layouts)
        assert f"\\label{{eq:{eq.derivation}:{eq.result}}}" in text
        # the display without the comment header and the label (a tall one is an align
        # numbered on its last line)
        body = re.sub(r"\\label\{[^}]*\}", "", "\n".join(
            ln for ln in text.splitlines() if not ln.startswith("%")))
        # the theory's symbols appear only as macros, never in a notation's own LaTeX
        # (components such as \Delta_{1} of a multivariate bias are other symbols)
        assert not re.search(r"s_\{?[LG]\}?|\\Delta(?!_)", body), eq.label
        used = set(re.findall(r"\\[A-Za-z]+", body))
        assert used & macros or not (eq.expr.free_symbols & {i.symbol for i in SYMBOLS.values()})
        # namespaced: no generic macro an author may define (\cov, \varL) is used
        assert not used & {"\\" + info.macro for info in SYMBOLS.values()}, eq.label


def test_notation_changes_only_the_macros():
    eqs = _equations()[:6]
    default, sigma = make(), make("sigma", {"a": r"\omega"})
    lay_d, lay_s = latex.EquationLayouts(eqs, default), latex.EquationLayouts(eqs, sigma)
    for variant in latex.VARIANTS:
        assert [latex.equation_file(e, default, variant, lay_d) for e in eqs] == \
            [latex.equation_file(e, sigma, variant, lay_s) for e in eqs]
    m = latex.macros_file(sigma, [])
    # sigma_L^2 carries its own square: defined through the superscript guard
    assert (r"\@ifdefinable{\mavgVarL}{\DeclareRobustCommand{\mavgVarL}"
            r"{\mavg@sym{\sigma_{L}^{2}}{1}}}") in m
    assert r"\@ifdefinable{\mavgWt}{\DeclareRobustCommand{\mavgWt}{\omega}}" in m
    # the Markdown form prints the notation itself, through the printer's symbol_names
    # (in the pages' term order: s_L before c)
    assert sigma.latex(s_L**2 + c) == r"\left({\sigma_{L}^{2}}\right)^{2} + {\sigma_{LG}}"


def test_text_escaping():
    assert latex.tex_escape("a_b ^ 50% & #1 {x} ≥ ~") == \
        r"a\_b \textasciicircum{} 50\% \& \#1 \{x\} $\geq$ \textasciitilde{}"


def _write_latex_tree(out: Path, notation_spec: str | None) -> None:
    from modelavg_sym.cli import main

    args = ["regenerate", "--out", str(out), "--no-verify", "--quiet"]
    if notation_spec:
        args += ["--notation", notation_spec]
    assert main(args) == 0


@pytest.mark.skipif(shutil.which("pdflatex") is None,
                    reason="pdflatex not installed (Debian: texlive-latex-base, "
                           "texlive-latex-recommended; .ci/run installs them)")
@pytest.mark.parametrize("spec", [None, "sigma"])
def test_standalone_document_compiles(tmp_path, spec):
    _write_latex_tree(tmp_path, spec)
    src = tmp_path / "reports" / "latex"
    build_dir = tmp_path / "build"
    build_dir.mkdir()
    for _ in range(2):  # second pass resolves references
        r = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode",
                            f"-output-directory={build_dir}", "main.tex"],
                           cwd=src, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout[-3000:]
    assert (build_dir / "main.pdf").stat().st_size > 10_000
    log = (build_dir / "main.log").read_text(errors="replace")
    assert "undefined references" not in log and "Undefined control sequence" not in log
    packages = set(re.findall(r"\\usepackage(?:\[[^]]*\])?\{([^}]*)\}",
                              (src / "main.tex").read_text()))
    used = {p.strip() for group in packages for p in group.split(",")}
    assert used <= {"amsmath", "amssymb", "amsthm", "graphicx", "booktabs", "tabularx",
                    "float", "hyperref"}
    assert not list(src.glob("*.aux"))  # nothing written next to the sources
    assert runcache.is_excluded("reports/latex/main.pdf")
