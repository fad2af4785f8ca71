"""LaTeX typesetting: namespaced macros that take superscripts correctly under every
notation, line breaking that fits and keeps the mathematics, the three equation-file
variants, prose converted to math mode, a self-contained document, and the CI check
(``.ci/latex_check``) that compiles everything with pdflatex."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sympy as sp

from modelavg_sym.artifacts import latex, latexdoc, prose, texcheck
from modelavg_sym.artifacts import texlayout as tl
from modelavg_sym.artifacts import texmeasure as tm
from modelavg_sym.artifacts.notation import (
    PRESETS,
    make,
    parse_spec,
    plain_name,
    plain_printer,
    superscript_guard,
)
from modelavg_sym.artifacts.registry import derivations
from modelavg_sym.symbols import Delta, a, c, r, s_G, s_L
from modelavg_sym.theorems import all_theorems

ROOT = Path(__file__).resolve().parent.parent
HAVE_TEX = shutil.which("pdflatex") is not None and shutil.which("pdftotext") is not None
needs_tex = pytest.mark.skipif(
    not HAVE_TEX, reason="pdflatex/pdftotext not installed (Debian: texlive-latex-base, "
    "texlive-latex-recommended, poppler-utils; .ci/run installs them)")


@pytest.fixture(scope="module")
def derivs():
    return [d for _f, d in derivations()]


@pytest.fixture(scope="module")
def eqs(derivs):
    return latex.equations(derivs)


@pytest.fixture(scope="module")
def layouts(eqs):
    return latex.EquationLayouts(eqs, make())


# ----------------------------------------------------------------------------- macros


def test_macros_are_namespaced_with_a_configurable_prefix():
    assert make().macro("s_L") == "mavgVarL"
    assert make().macro("c") == "mavgCov"
    assert make().number_macro("exampleBias") == "mavgExampleBias"
    n = parse_spec("sigma,prefix=oma")
    assert n.prefix == "oma" and n.macro("c") == "omaCov"
    assert r"\omaVarL" in latex.macros_file(n, [])
    assert r"\omaVarL" in n.latex(s_L + c, "macro")
    for bad in ("", "a_b", "x1", "\\x"):
        with pytest.raises(ValueError, match="prefix"):
            make(prefix=bad)


def test_superscript_guard_classifies_notations():
    assert superscript_guard("c") is None
    assert superscript_guard(r"\Delta") is None
    assert superscript_guard(r"\hat{a}") is None
    assert superscript_guard("s_L") == 0
    assert superscript_guard(r"\sigma_{LG}") == 0
    assert superscript_guard(r"\sigma_{L}^{2}") == 1
    assert superscript_guard("a b") == 1


@needs_tex
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_superscript_on_a_macro_typesets_as_the_symbol_raised(preset):
    """``\\mavgVarL^{2}`` is as wide as the notation's symbol parenthesised and squared
    when the symbol carries its own square (sigma_L^2), else as the symbol squared; a
    subscript applies to the braced symbol.  Widths measured by TeX."""
    n = make(preset)
    snippets = {}
    for name, value in n.mapping().items():
        m = "\\" + n.macro(name)
        sq = (f"\\left({value}\\right)^{{2}}" if superscript_guard(value) == 1
              else f"{value}^{{2}}")
        snippets[name] = (f"{m}^{{2}}", sq, f"{m}_{{x}}", f"{{{value}}}_{{x}}")
    doubled = r"{\sigma_{L}^{2}}^{2}"  # what \varL^{2} was under sigma: sigma_L^2^2
    w = tm.measure([s for quad in snippets.values() for s in quad] + [doubled], [n],
                   tm.ONE_COLUMN_11PT)
    for name, (m_sq, sq, m_sub, sub) in snippets.items():
        assert w[m_sq] == pytest.approx(w[sq], abs=1e-6), (preset, name)
        assert w[m_sub] == pytest.approx(w[sub], abs=1e-6), (preset, name)
    if preset == "sigma":
        assert w[snippets["s_L"][0]] != pytest.approx(w[doubled], abs=0.5)


@needs_tex
def test_an_authors_own_cov_does_not_clash(tmp_path):
    (tmp_path / "macros.tex").write_text(latex.macros_file(make("sigma"), []), encoding="utf-8")
    (tmp_path / "doc.tex").write_text(
        "\\documentclass{article}\\usepackage{amsmath}\n"
        "\\newcommand{\\cov}{\\operatorname{Cov}}\\newcommand{\\varL}{v}\n\\input{macros}\n"
        "\\begin{document}\\section{On $\\mavgVarL^{2}$}\n$\\cov(x) + \\mavgCov + "
        "\\mavgVarL^{2}$\\end{document}\n", encoding="utf-8")
    assert texcheck.compile_job(texcheck.Job("clash", tmp_path, "doc.tex"), passes=1) == []


# ------------------------------------------------------------------------ line breaking


def _fake_width(tex: str) -> float:
    """5 pt per character: a stand-in for TeX's measurement in unit tests."""
    return 5.0 * len(tex)


def _unbreak(lines: list[str]) -> str:
    """The broken display back on one line, in the parse-friendly form."""
    text = " ".join(lines)
    text = re.sub(r"\\(?:big|Big|bigg|Bigg)l", r"\\left", text)
    text = re.sub(r"\\(?:big|Big|bigg|Bigg)r", r"\\right", text)
    text = text.replace(r"\big/", "/")
    for junk in ("&", r"\qquad", r"\quad", "{}"):
        text = text.replace(junk, " ")
    return text


LONG = [
    sum((k + 1) * s_L**k * c for k in range(9)),
    (s_L - c) / (Delta**2 + s_G + s_L + 3 * c**2 + 5 * s_G**2 + 7 * s_L * s_G + 11 * c * Delta),
    a * (a + 2 * s_L + 3 * s_G + 4 * c + 5 * Delta**2 + 6 * s_L * s_G + 7 * c * s_L) * (r - 2),
    (s_L + 2 * s_G + 3 * c + 4 * Delta + 5 * s_L * s_G + 6 * c * Delta)**2 - 7 * s_L,
]


@pytest.mark.parametrize("k", range(len(LONG)))
def test_layout_fits_the_width_and_keeps_the_mathematics(k):
    """Broken at a narrow width, every line fits (by the widths the layout was given),
    and the lines read back (sympy's LaTeX parser) as the expression itself."""
    pytest.importorskip("lark")
    from sympy.parsing.latex import parse_latex

    expr = LONG[k]
    p = plain_printer(set(expr.free_symbols))
    d = tl.Display("y", (tl.relation("="), tl.Decomposer(p, min_chars=10).node(expr)))
    width = 240.0
    lay = tl.layout(d, _fake_width, width)
    assert not lay.single and lay.overflow == 0
    lines = lay.split_lines()
    for line in lines:  # every piece is measured at least as wide as it prints
        assert _fake_width(line.replace(" ", "").replace("&", "")) <= width, line
    rhs = _unbreak(lines).split("=", 1)[1]
    parsed = parse_latex(rhs, backend="lark")
    names = {plain_name(s.name): s for s in expr.free_symbols}
    parsed = parsed.subs({s: names.get(plain_name(s.name), s) for s in parsed.free_symbols})
    assert sp.simplify(parsed - expr) == 0
    assert sp.simplify(parse_latex(_unbreak(lines[:1]).split("=", 1)[1] + "+ 1",
                                   backend="lark") - expr) != 0  # the check can fail


def test_a_display_that_fits_stays_on_one_line_as_printed():
    expr = (s_L - c) / (Delta**2 - 2 * c + s_G + s_L)
    p = make().printer("macro")
    d = tl.Display("a^{*}", (tl.relation("="), tl.Decomposer(p).node(expr)))
    lay = tl.layout(d, _fake_width, 1000.0)
    assert lay.single and lay.one_line() == "a^{*} = " + p.doprint(expr)


def test_breaks_prefer_the_top_level():
    """A sum whose terms each fit is broken between terms, not inside a bracket."""
    expr = sum(sp.Symbol(f"x_{i}") * (s_L + s_G) for i in range(8))
    p = plain_printer(set(expr.free_symbols))
    d = tl.Display("y", (tl.relation("="), tl.Decomposer(p, min_chars=5).node(expr)))
    lay = tl.layout(d, _fake_width, 400.0)
    assert len(lay.rows) > 1
    assert all(r"\bigl" not in tex and r"\bigr" not in tex for _k, tex in lay.rows)


def _code(text: str) -> str:
    return "\n".join(ln for ln in text.splitlines() if not ln.startswith("%"))


def test_equation_files_come_in_three_variants(eqs, layouts):
    n = make()
    for eq in eqs:
        lay = layouts[eq]
        num, star, body = (_code(latex.equation_file(eq, n, v, layouts))
                           for v in ("", "-star", "-body"))
        assert f"\\label{{{eq.label}}}" in num and "\\label" not in star + body
        assert re.search(r"\\begin\{(equation|align)\}", num)
        assert re.search(r"\\begin\{(equation|align)\*\}", star)
        assert "\\begin" not in body and "\\end" not in body
        assert "multline" not in num + star  # never a stretched multline
        if lay.single:
            assert "split" not in num and "\\\\" not in num and body.count("&") == 1
        else:
            assert body.rstrip().count("\\notag") == len(lay.split_lines()) - 1
        assert "too long" not in num
        assert eq.variant_path("-body") == f"equations/{eq.derivation}/{eq.result}-body.tex"


def test_every_equation_layout_fits_by_the_measured_widths(eqs, layouts):
    """Nothing overflows by the measurement (the compile check confirms it with TeX)."""
    assert [(e.label, layouts[e].overflow) for e in eqs if layouts[e].overflow > 0] == []


# ------------------------------------------------------------------------------ prose


def _outside_math(tex: str) -> str:
    return re.sub(r"\$[^$]*\$", "", tex)


def test_prose_maths_goes_to_math_mode():
    sym = latex.symbol_map(make(), "macro")
    assert prose.to_latex("For D > 0, a* = (s_L - c)/D.", sym) == \
        r"For $D  >  0$, $\mavgWt^{*}  =  (\mavgVarL - \mavgCov)/D$."
    assert prose.to_latex("the risk of a_hat and Delta^2", sym) == \
        r"the risk of $\hat{\mavgWt}$ and $\mavgBias^{2}$"
    assert prose.to_latex("a quadratic in a whose", sym) == r"a quadratic in $\mavgWt$ whose"
    assert prose.to_latex("The global model's MSE", sym) == "The global model's MSE"
    # the notation reaches the prose
    assert prose.to_latex("s_L", latex.symbol_map(make("sigma"), "direct")) == \
        r"${\sigma_{L}^{2}}$"


def test_no_ascii_maths_left_in_any_prose(derivs):
    sym = latex.symbol_map(make(), "macro")
    texts = [d.title for d in derivs] + [n for d in derivs for n in d.notes]
    texts += [s.text for d in derivs for s in d.steps]
    texts += [t.statement for t in all_theorems().values()]
    for text in texts:
        # prose is a template over the symbol table (maths in $...$, symbols <s_L>) as the
        # documents render it, or plain prose converted by the fallback
        out = prose.render(text, sym)
        assert not prose.PLACEHOLDER.search(out), (text, out)
        assert not re.search(r"[<>^_]|textasciicircum|\\_", _outside_math(out)), (text, out)


def test_theorem_headers_name_no_file_section_or_issue():
    for thm in all_theorems().values():
        title = latexdoc.theorem_title(thm)
        assert not re.search(r"MATH|sec\.|issue|\bR[0-9]+\b|_", title), title


# --------------------------------------------------------------------------- document


def test_main_tex_is_self_contained_and_complete(derivs):
    figs = [("figures/mse_curves.pdf", "MSE(a); dots mark a*."),
            ("figures/unknown.pdf", "Another figure.")]
    thms = all_theorems()
    doc = latexdoc.document(derivs, thms, {}, make(), figs,
                            [("exampleBias", "0.3", "example bias Delta")])
    assert "../" not in doc and "too long" not in doc
    assert re.search(r"\\section\{Two estimators.*?\\figurefit"
                     r"\{figures/mse_curves\.pdf\}.*?\\section", doc, re.S)
    assert "\\begin{figure}[H]" in doc and "\\section{Figures}" in doc
    packages = set(re.findall(r"\\usepackage\{([^}]*)\}", doc))
    assert {p for g in packages for p in g.split(",")} <= set(latexdoc.PACKAGES)
    assert "\\begin{multline" not in doc
    assert "\\mavgExampleBias" in doc and "\\exampleBias" not in doc
    for thm in thms.values():
        assert f"\\label{{thm:{thm.name}}}" in doc


def test_checker_reports_each_kind_of_problem():
    log = ("Overfull \\hbox (12.5pt too wide) in paragraph at lines 3--4\n"
           "Overfull \\hbox (0.5pt too wide) in paragraph at lines 5--6\n"
           "LaTeX Warning: Reference `eq:x' on page 1 undefined on input line 7.\n")
    probs = texcheck.log_problems(log)
    assert len(probs) == 2 and "12.5pt" in probs[0] and "eq:x" in probs[1]
    assert texcheck.text_problems("For D ¿ 0 and s_L") and not texcheck.text_problems("ok")
    assert texcheck.text_problems("x textasciicircum 2")


@needs_tex
def test_checker_catches_a_bad_document(tmp_path):
    (tmp_path / "bad.tex").write_text(
        "\\documentclass{article}\\begin{document}\nFor D > 0, see \\ref{nowhere}.\n"
        "\\[ x = " + " + ".join(["a_{1}"] * 120) + " \\]\n\\end{document}\n", encoding="utf-8")
    probs = texcheck.compile_job(texcheck.Job("bad", tmp_path, "bad.tex"))
    assert any("overfull" in p for p in probs)
    assert any("undefined" in p for p in probs)
    assert any("inverted question mark" in p for p in probs)


@needs_tex
def test_readme_latex_example_compiles_in_both_classes(tmp_path, eqs, layouts):
    """The README's worked example, with the equation files it names, in a two-column
    10 pt and a one-column 11 pt article: no error, overfull box or undefined reference."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```latex", 1)[1].split("```", 1)[0]
    example = "\n".join(line.strip() for line in block.splitlines())
    n = make()
    (tmp_path / "macros.tex").write_text(latex.macros_file(n, []), encoding="utf-8")
    for stem in set(re.findall(r"\\input\{(equations/[^}]*)\}", example)):
        base = re.sub(r"-(star|body)$", "", stem)
        eq = next(e for e in eqs if e.path == base + ".tex")
        variant = stem[len(base):]
        path = tmp_path / (stem + ".tex")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(latex.equation_file(eq, n, variant, layouts), encoding="utf-8")
    for cls in tm.CLASSES:
        src = re.sub(r"\\documentclass\[[^]]*\]", f"\\\\documentclass[{cls.options}]", example)
        name = f"ex-{cls.font_pt:.0f}.tex"
        (tmp_path / name).write_text(src, encoding="utf-8")
        assert texcheck.compile_job(texcheck.Job(name, tmp_path, name)) == [], cls.name


@needs_tex
def test_ci_latex_check_passes():
    """``.ci/latex_check --fresh`` (every preset's main.tex and every equation file, as the
    current code generates them, in both test classes; figures from reports/) passes, in
    well under two minutes.  CI runs it on the committed tree, which ``regenerate
    --check`` keeps equal to the generated one."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / ".ci" / "latex_check"), "--jobs", "2",
                           "--fresh"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert time.perf_counter() - t0 < 120


def test_without_tex_the_layout_falls_back_to_an_estimate(monkeypatch, eqs):
    """No pdflatex: widths are estimated (documented as approximate), files still come."""
    monkeypatch.setattr(tm, "have_tex", lambda: False)
    n = make(prefix="oma")
    few = eqs[:5]
    lay = latex.EquationLayouts(few, n)
    for eq in few:
        text = latex.equation_file(eq, n, "", lay)
        assert f"\\label{{{eq.label}}}" in text and "\\mavg" not in text
    assert tm.estimate(r"\frac{a}{bbbb}", tm.TWO_COLUMN_10PT) < tm.estimate("abbbb",
                                                                             tm.TWO_COLUMN_10PT)


def test_a_chain_breaks_before_its_relations_aligned():
    """``lhs = A = B`` too wide for one line: the second relation starts a line aligned
    under the first (``&= B``), not indented."""
    p = make().printer("macro")
    dec = tl.Decomposer(p)
    first = (1 - a)**2 * s_L + a**2 * (s_G + Delta**2) + 2 * a * (1 - a) * c
    second = s_L - 2 * a * (s_L - c) + a**2 * (Delta**2 - 2 * c + s_G + s_L)
    d = tl.chain(r"\operatorname{MSE}(a)", [("=", dec.node(first)), ("=", dec.node(second))])
    whole = _fake_width(d.lhs) + sum(_fake_width(x) for x in d.probes() if x.startswith("{}="))
    lay = tl.layout(d, _fake_width, whole + 5.0 * (len(p.doprint(first)) + 10))
    assert [k for k, _t in lay.rows] == ["first", "rel"]
    assert lay.split_lines()[1].startswith("&= ")
