"""The standalone document ``reports/latex/main.tex``, written like an appendix.

One section per derivation: its notes, its assumptions and the "where" lines defining
the symbols it uses beyond the symbol table, the derivation as aligned steps with a line
of prose between them (the steps of the Markdown page, each shown in its presentation
form; a step that is a result carries that result's number and label
``eq:<derivation>:<result>``), the remaining results the same way, then the theorems
(statement, assumptions, the claim as typed, verification status), the check of the
section's forms, and the figures.  Prose is a LaTeX template over the symbol table
(:func:`modelavg_sym.artifacts.prose.render`), so the notation reaches it; every display
is laid out for a one-column 11 pt article by TeX-measured widths
(:class:`modelavg_sym.artifacts.latex.Typesetter`).

The directory is self-contained: figures are read from ``figures/`` next to main.tex.
Packages: amsmath, amssymb, amsthm, graphicx, booktabs, tabularx, float, hyperref.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sympy as sp

from modelavg_sym.artifacts import prose
from modelavg_sym.artifacts import texlayout as tl
from modelavg_sym.artifacts import texmeasure as tm
from modelavg_sym.artifacts.latex import (
    BANNER_TEX,
    Typesetter,
    align_body,
    display_printer,
    environment,
    lhs_latex,
    stated,
    symbol_assumptions,
    symbol_map,
)
from modelavg_sym.artifacts.notation import Notation
from modelavg_sym.derive import catalog
from modelavg_sym.derive.core import Derivation
from modelavg_sym.derive.presentation import Form, Presentation

PACKAGES = ("amsmath", "amssymb", "amsthm", "graphicx", "booktabs", "tabularx", "float",
            "hyperref")
#: The section each figure belongs to (by file stem); others go to a last section.
FIGURE_SECTIONS: dict[str, str] = {
    "mse_curves": "two_estimator", "benefit_ratio": "two_estimator",
    "montecarlo_agreement": "two_estimator", "optimal_weight_map": "independent",
    "risk_study": "estimated_weights",
}
_WORDS = {"mse": "MSE", "dk": "Donahue--Kleinberg", "nestimators": "$N$-estimator",
          "iff": "iff", "D": "$D$", "2D": "$2D$", "K1": "$K = 1$", "K2": "$K = 2$"}
_ATTRIBUTION = re.compile(r"\(([^()]*)\)")
#: A row of an aligned derivation: (line of prose, display, label or "").
Row = tuple[str, tl.Display, str]


def theorem_title(thm: Any) -> str:
    """The theorem's header: its ``title`` if it has one, else its name in words, with an
    attribution taken from its source (``(Donahue-Kleinberg)``); never a file or section
    reference such as ``MATH.md sec. 2``."""
    title = getattr(thm, "title", "") or ""
    if not title:
        words = [_WORDS.get(w, w) for w in thm.name.split("_")]
        title = " ".join(words)
        title = title[0].upper() + title[1:] if not title.startswith("$") else title
    else:
        title = prose.tex_escape(title)
    who = _ATTRIBUTION.search(getattr(thm, "source", "") or "")
    if who and prose.tex_escape(who.group(1)).replace("-", "--") not in title:
        title += ", " + prose.tex_escape(who.group(1)).replace("-", "--")
    return title


def claim_display(claim: sp.Basic, dec: tl.Decomposer) -> tl.Display:
    """A theorem's claim: ``lhs rel rhs`` aligned at the relation when the left-hand side
    is short, else breakable everywhere."""
    node = dec.node(claim)
    flush = tl.Display("", (node,))
    if isinstance(claim, sp.core.relational.Relational):
        lhs = dec.p._print(claim.lhs)
        rel = tl.relation(tl.RELATIONS[claim.rel_op])
        return tl.Display(lhs, (rel, dec.node(claim.rhs)), fallback=flush)
    return flush


#: An aligned block ends before a row whose left-hand side is wider than this share of
#: the line (every row of an ``align`` starts at the widest left-hand side of its block).
BLOCK_LHS_SHARE = 0.22


class _Displays:
    """Collects the document's displays, lays them out in one batch, renders them."""

    def __init__(self, notation: Notation, exprs: Sequence[sp.Basic]):
        self.p = display_printer(notation, "macro", exprs)
        self.dec = tl.Decomposer(self.p)
        self.items: list[tuple[str, list[Row]]] = []  # (environment, rows)

    def add(self, d: tl.Display, env: str, label: str = "") -> str:
        """A placeholder for one display in ``env`` (``equation``, ``equation*``)."""
        self.items.append((env, [("", d, label)]))
        return f"\x00display{len(self.items) - 1}\x00"

    def add_aligned(self, rows: Sequence[Row]) -> str:
        """A placeholder for rows aligned at their relation, with prose between them."""
        self.items.append(("align", list(rows)))
        return f"\x00display{len(self.items) - 1}\x00"

    def render(self, text: str, notation: Notation) -> str:
        ts = Typesetter(tm.ONE_COLUMN_11PT, [notation])
        width, full, with_tag = ts.measure([d for _e, rows in self.items for _t, d, _l in rows])
        blocks = []
        for env, rows in self.items:
            if env != "align":
                _t, d, label = rows[0]
                lay = tl.layout(d, width, with_tag if env == "equation" else full)
                blocks.append("\n".join(environment(lay, env, label)))
            else:
                blocks.append(self._aligned(rows, width, full, with_tag))
        return re.sub(r"\x00display(\d+)\x00", lambda m: blocks[int(m.group(1))], text)

    def _aligned(self, rows: list[Row], width: tl.Width, full: float, with_tag: float) -> str:
        """``align`` blocks with ``\\intertext`` prose; each row laid out for the room left
        by its block's widest left-hand side."""
        groups: list[list[Row]] = [[]]
        for row in rows:
            wide = width(row[1].lhs) > BLOCK_LHS_SHARE * full if row[1].lhs else False
            if groups[-1] and (wide or (groups[-1][-1][1].lhs and width(
                    groups[-1][-1][1].lhs) > BLOCK_LHS_SHARE * full)):
                groups.append([])
            groups[-1].append(row)
        out = []
        for group in groups:
            widest = max((width(d.lhs) for _t, d, _l in group if d.lhs), default=0.0)
            lines: list[str] = []
            lead = ""
            for text, d, label in group:
                room = (with_tag if label else full) - (widest - (width(d.lhs) if d.lhs else 0))
                body = align_body(tl.layout(d, width, room), breaks=True)
                body[-1] += f" \\label{{{label}}}" if label else " \\notag"
                if lines:
                    lines[-1] += " \\\\"
                    if text:
                        lines.append(f"\\intertext{{{text}}}")
                else:  # before the block: a paragraph (an \intertext there leaves a gap)
                    lead = text
                lines += body
            out += [lead, "\\begin{align}", *("  " + ln for ln in lines), "\\end{align}"]
        return "\n".join(x for x in out if x)


def _preamble(notation: Notation, n_derivs: int) -> list[str]:
    num = notation.number_macro
    return [
        BANNER_TEX.rstrip("\n"),
        r"\documentclass[11pt]{article}",
        r"\usepackage{" + ",".join(p for p in PACKAGES if p != "hyperref") + "}",
        r"\usepackage{hyperref}",
        r"\newtheorem{theorem}{Theorem}",
        r"\theoremstyle{remark}\newtheorem*{assumptions}{Assumptions}",
        r"\allowdisplaybreaks",
        r"\setlength{\emergencystretch}{3em}",
        # a figure at its printed size (8-9 pt text), shrunk only if wider than the line
        r"\newsavebox{\figurebox}",
        r"\newcommand{\figurefit}[1]{\sbox{\figurebox}{\includegraphics{#1}}%",
        r"  \ifdim\wd\figurebox>\linewidth\resizebox{\linewidth}{!}{\usebox{\figurebox}}%",
        r"  \else\usebox{\figurebox}\fi}",
        r"\input{macros}",
        r"\title{Optimal model averaging: derived results}",
        r"\author{generated by \texttt{modelavg-sym regenerate}}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        "",
        "Every equation and theorem below is derived and verified by \\texttt{modelavg-sym}; "
        f"the document shows {n_derivs} derivations and \\{num('nTheorems')}{{}} theorems, "
        f"of which \\{num('nTheoremsVerified')}{{}} are verified by at least one route and "
        "refuted by none.  Each equation is shown as an author would write it, through the "
        "quantities defined before it; every such form is checked equal to the derived "
        "expression by the symbolic route.",
        "",
    ]


def _status(statuses: Mapping[str, Mapping[str, str]], name: str) -> str:
    routes = ", ".join(f"{r}: {s}" for r, s in statuses.get(name, {}).items()
                       if s != "not-applicable")
    return prose.tex_escape(routes or "no route run")


def _theorem(thm: Any, statuses: Mapping[str, Mapping[str, str]], disp: _Displays,
             text: Callable[[str], str]) -> list[str]:
    """A theorem environment: statement, assumptions, claim as typed, verification."""
    names = catalog.presentation(thm.derivation).names if thm.derivation in \
        catalog.PRESENTATIONS else ()
    asm = [disp.p.doprint(a) for a in stated(thm.assumptions, (*thm.names, *names))]
    claim = thm.display if thm.display is not None else thm.claim
    return [f"\\begin{{theorem}}[{theorem_title(thm)}]", f"\\label{{thm:{thm.name}}}",
            text(thm.statement), "",
            "Assumptions: " + (", ".join(f"${a}$" for a in asm) or "none") + ". Claim:",
            disp.add(claim_display(claim, disp.dec), "equation*"),
            f"Verification: {_status(statuses, thm.name)}.", "\\end{theorem}", ""]


def _figure(path: str, caption: str, text: Callable[[str], str]) -> list[str]:
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return ["\\begin{figure}[H]", "\\centering",
            f"\\figurefit{{{path}}}",
            f"\\caption{{{text(caption)}}}", f"\\label{{fig:{stem}}}", "\\end{figure}", ""]


def _numbers(numbers: Sequence[tuple[str, str, str]], notation: Notation,
             text: Callable[[str], str]) -> list[str]:
    out = ["\\section{Derived numbers}", "",
           "\\noindent\\begin{tabularx}{\\linewidth}"
           "{@{}l r >{\\raggedright\\arraybackslash}X@{}}", "\\toprule",
           "Macro & Value & Meaning \\\\", "\\midrule"]
    for name, _value, desc in numbers:
        macro = notation.number_macro(name)
        out.append(f"\\texttt{{\\textbackslash {macro}}} & \\{macro}{{}} & {text(desc)} \\\\")
    return [*out, "\\bottomrule", "\\end{tabularx}", ""]


def _intertext(t: str, text: Callable[[str], str]) -> str:
    """A step's line of prose, ending in a colon."""
    if not t:
        return ""
    out = text(t).rstrip()
    return out if out[-1:] in ":.;," else out + ":"


def derivation_rows(d: Derivation, pres: Presentation, disp: _Displays,
                    text: Callable[[str], str]) -> list[Row]:
    """The aligned rows of ``d``: the results it recalls first, each step (a result's
    number and label when the step is one), then each result no step shows."""
    rows: list[Row] = [(_intertext(pres.forms[k].text, text),
                        _chain(lhs_latex(k, disp.p), pres.forms[k], disp), f"eq:{d.name}:{k}")
                       for k in pres.before]
    shown: set[str] = set(pres.before)
    results = list(pres.steps_results) + [None] * (len(d.steps) - len(pres.steps_results))
    for step, form, key in zip(d.steps, pres.steps, results, strict=False):
        lhs = lhs_latex(key, disp.p) if key else disp.p.doprint(step.lhs)
        rows.append((_intertext(step.text, text), _chain(lhs, form, disp),
                     f"eq:{d.name}:{key}" if key else ""))
        shown |= {key} if key else set()
    rest = [(key, (_intertext(form.text, text), _chain(lhs_latex(key, disp.p), form, disp),
                   f"eq:{d.name}:{key}")) for key, form in pres.forms.items() if key not in shown]
    parts = _parts([k for k in results if k])
    for key, row in rest:  # a merged page: after the steps of the result's own part
        part = key.split("_", 1)[0]
        at = max((i for i, r in enumerate(rows) if r[2].startswith(f"eq:{d.name}:{part}_")),
                 default=len(rows) - 1) if part in parts else len(rows) - 1
        rows.insert(at + 1, row)
    return rows


def _parts(keys: Sequence[str]) -> set[str]:
    """The parts of a merged page (``excl``, ``incl``): the step keys' prefixes, when every
    step key has a prefix that at least one other step key shares; else none."""
    heads = [k.split("_", 1)[0] for k in keys if "_" in k]
    if not keys or len(heads) != len(keys) or any(heads.count(h) < 2 for h in heads):
        return set()
    return set(heads)


def _chain(lhs: str, form: Form, disp: _Displays) -> tl.Display:
    return tl.chain(lhs, [("=", disp.dec.node(f)) for f in form.chain])


def _section(d: Derivation, disp: _Displays, text: Callable[[str], str],
             title: Callable[[str], str]) -> list[str]:
    """A derivation's section up to its theorems: title, notes, assumptions, where lines
    and the aligned derivation."""
    pres = catalog.presentation(d)
    out = [f"\\section{{{title(d.title)}}}", f"\\label{{sec:{d.name}}}", ""]
    out += [line for note in d.notes for line in (text(note), "")]
    asm = symbol_assumptions([*d.assumptions, *d.results.values()], disp.p)
    asm += [disp.p.doprint(a) for a in stated(d.assumptions)]
    if asm:
        out += ["\\begin{assumptions}", ", ".join(f"${a}$" for a in asm) + ".",
                "\\end{assumptions}", ""]
    if pres.where:
        out += ["\\noindent\\emph{Notation.} " + " ".join(text(w.text) + "."
                                                       for w in pres.where), ""]
    out += [disp.add_aligned(derivation_rows(d, pres, disp, text)), ""]
    return out


def document(
    derivs: Sequence[Derivation],
    theorems: Mapping[str, Any],
    statuses: Mapping[str, Mapping[str, str]],
    notation: Notation,
    figures: Sequence[tuple[str, ...]],
    numbers: Sequence[tuple[str, str, str]],
) -> str:
    """The standalone document ``main.tex``.

    ``statuses``: theorem -> route -> status; ``figures``: (pdf path relative to main.tex,
    caption[, section]) -- a figure without a section goes where
    :data:`FIGURE_SECTIONS` puts it, else to a last section.  Theorems of kind
    ``presentation`` are reported as the check of their section's forms.
    """
    symbols = symbol_map(notation, "macro")
    text = prose.template_converter(symbols)
    title = prose.template_converter(symbols, pdf=True)
    exprs: list[sp.Basic] = []
    for d in derivs:
        exprs += [*d.assumptions, *d.results.values(), *catalog.presentation(d).shown(),
                  *(s.lhs for s in d.steps)]
    for t in theorems.values():
        exprs += [*t.assumptions, t.claim if t.display is None else t.display]
        exprs += [n.shown for n in t.names if isinstance(n.shown, sp.Basic)]
    disp = _Displays(notation, exprs)
    by_deriv: dict[str, list[Any]] = {}
    for thm in theorems.values():
        by_deriv.setdefault(getattr(thm, "derivation", ""), []).append(thm)
    figs: dict[str, list[tuple[str, str]]] = {}
    for fig in figures:
        where = fig[2] if len(fig) > 2 else FIGURE_SECTIONS.get(
            fig[0].rsplit("/", 1)[-1].rsplit(".", 1)[0], "")
        figs.setdefault(where, []).append((fig[0], fig[1]))
    out = _preamble(notation, len(derivs))
    for d in derivs:
        out += _section(d, disp, text, title)
        thms = by_deriv.get(d.name, [])
        for thm in thms:
            if getattr(thm, "kind", "result") == "result":
                out += _theorem(thm, statuses, disp, text)
        for thm in thms:
            if getattr(thm, "kind", "result") == "presentation":
                out += [f"\\label{{thm:{thm.name}}}The forms shown in this section and the "
                        "claims as typed are checked equal to the derived expressions and "
                        f"the claims ({_status(statuses, thm.name)}).", ""]
        for path, caption in figs.pop(d.name, []):
            out += _figure(path, caption, text)
    known = {d.name for d in derivs}
    others = [t for k, ts in by_deriv.items() if k not in known for t in ts]
    if others:
        out += ["\\section{Further theorems}", ""]
        for thm in others:
            out += _theorem(thm, statuses, disp, text)
    rest = [f for fs in figs.values() for f in fs]
    if rest:
        out += ["\\section{Figures}", ""]
        for path, caption in rest:
            out += _figure(path, caption, text)
    if numbers:
        out += _numbers(numbers, notation, text)
    out += [r"\end{document}", ""]
    return disp.render("\n".join(out), notation)
