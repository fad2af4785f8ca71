"""Configurable notation: which LaTeX each symbol of :data:`modelavg_sym.symbols.SYMBOLS`
is printed as, without ever patching printed strings.

A :class:`Notation` maps symbol names (``s_L``, ``a``, ...) to LaTeX.  Printers are
sympy :class:`~sympy.printing.latex.LatexPrinter` instances configured with
``symbol_names``, so the notation enters through sympy's own printing of each Symbol.
Three printers are derived from one notation:

* :meth:`Notation.printer` (``"direct"``): symbols printed as their LaTeX, wrapped in
  braces (``{\\sigma_L^{2}}^{2}`` stays valid TeX) -- for Markdown pages;
* :meth:`Notation.printer` (``"macro"``): symbols printed as namespaced macros
  (``\\mavgVarL``: :attr:`Notation.prefix` + the symbol table's macro name, capitalised, so
  an author's own ``\\cov`` never clashes) that ``macros.tex`` defines per notation
  (:meth:`Notation.macro_definitions`) -- for the paper, so a paper switches notation in
  one place;
* :func:`plain_printer`: a parse-friendly form (``\\mathit{sL}``, explicit ``\\cdot``)
  that sympy's LaTeX parser (lark backend) reads back, for the round-trip test.

Configuration: ``[tool.modelavg-sym.notation]`` in pyproject.toml (``preset = "..."``,
optionally ``prefix = "..."`` for the macro names, plus per-symbol overrides such as
``a = "\\alpha"``), or ``--notation`` on the command line (``sigma``,
``sigma,a=\\omega`` or ``sigma,prefix=oma``), which takes precedence.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import sympy as sp
from sympy.printing.latex import LatexPrinter

from modelavg_sym.artifacts.mathprint import PaperPrinter
from modelavg_sym.artifacts.runcache import find_project_root  # noqa: F401  (its old home)
from modelavg_sym.symbols import SYMBOLS

#: Named notations: symbol name -> LaTeX.  ``default`` is the symbol table's own LaTeX.
PRESETS: dict[str, dict[str, str]] = {
    "default": {name: info.latex for name, info in SYMBOLS.items()},
    # The variance notation of much of the literature: sigma^2 for variances, alpha weight.
    "sigma": {
        "s_L": r"\sigma_{L}^{2}",
        "s_G": r"\sigma_{G}^{2}",
        "Delta": r"\Delta",
        "c": r"\sigma_{LG}",
        "a": r"\alpha",
        "r": r"r",
        "theta": r"\theta",
    },
    # The paper's node-0 notation: local node 0, weight w.
    "paper": {
        "s_L": r"\sigma_{0}^{2}",
        "s_G": r"\sigma_{G}^{2}",
        "Delta": r"\Delta",
        "c": r"\rho",
        "a": r"w",
        "r": r"r",
        "theta": r"\theta",
    },
}

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

#: The default namespace of the macros (``\mavgVarL``, ``\mavgCov``, ``\mavgExampleBias``).
DEFAULT_PREFIX = "mavg"
_PREFIX_RE = re.compile(r"^[A-Za-z]+$")
#: A notation that is one atom: a letter or a command with brace arguments (``\hat{a}``).
_ATOM = r"(?:[A-Za-z0-9]|\\[A-Za-z]+(?:\{[^{}]*\})*)"
_PLAIN_ATOM = re.compile(rf"^{_ATOM}$")
_SUBSCRIPTED_ATOM = re.compile(rf"^{_ATOM}_(?:[A-Za-z0-9]|\{{[^{{}}]*\}})$")


def capitalised(name: str) -> str:
    """``varL`` -> ``VarL`` (the part of a macro name after the prefix)."""
    return name[:1].upper() + name[1:]


def superscript_guard(value: str) -> int | None:
    """How a superscript applied to the macro of ``value`` must be typeset.

    ``None``: ``value`` is one plain atom (``c``, ``\\Delta``, ``\\hat{a}``): the macro is
    ``value`` itself and ``\\mavgCov^{2}`` is ``c^{2}``.  ``0``: one atom with a subscript
    (``s_{L}``): a superscript stacks on it (``s_{L}^{2}``) and a further subscript applies
    to the braced symbol.  ``1``: anything else (``\\sigma_{L}^{2}``, which carries its own
    square, or several atoms): a superscript applies to the parenthesised symbol, so
    ``\\mavgVarL^{2}`` is ``(\\sigma_{L}^{2})^{2}``, never ``\\sigma_{L}^{2}{}^{2}``.
    """
    v = value.strip()
    if _PLAIN_ATOM.match(v):
        return None
    if _SUBSCRIPTED_ATOM.match(v):
        return 0
    return 1


@dataclass(frozen=True)
class Notation:
    """A notation: ``name`` (for reports), ``table`` (symbol name -> LaTeX, sorted) and the
    macro namespace ``prefix``."""

    name: str
    table: tuple[tuple[str, str], ...]
    prefix: str = DEFAULT_PREFIX

    def mapping(self) -> dict[str, str]:
        """Symbol name -> LaTeX."""
        return dict(self.table)

    def key(self) -> str:
        """A canonical string for content hashes."""
        return (self.name + "|" + self.prefix + "|"
                + "|".join(f"{k}={v}" for k, v in self.table))

    def macro(self, symbol: str) -> str:
        """The macro name (no backslash) of symbol ``symbol``: prefix + table macro name."""
        return self.prefix + capitalised(SYMBOLS[symbol].macro)

    def number_macro(self, name: str) -> str:
        """The macro name (no backslash) of a derived number ``name`` (``exampleBias``)."""
        return self.prefix + capitalised(name)

    def macro_definitions(self) -> list[str]:
        r"""The TeX defining every symbol macro in this notation (see
        :func:`superscript_guard`): a plain atom directly, anything else through the
        helper ``\<prefix>@sym``, which looks at the token after the macro and typesets a
        superscript or subscript that follows correctly.  The macros are robust (they may
        appear in section titles and captions) and, like ``\newcommand``, refuse to
        overwrite a macro that exists.  Needs no package."""
        p = self.prefix
        out = [
            r"\makeatletter",
            f"\\newcommand{{\\{p}@sym}}[2]{{\\@ifnextchar^{{\\{p}@sup{{#1}}{{#2}}}}"
            f"{{\\@ifnextchar_{{\\{p}@sub{{#1}}}}{{#1}}}}}}",
            f"\\def\\{p}@sup#1#2^#3{{\\@ifnextchar_{{\\{p}@sub{{\\{p}@pow{{#1}}{{#2}}{{#3}}}}}}"
            f"{{\\{p}@pow{{#1}}{{#2}}{{#3}}}}}}",
            f"\\def\\{p}@pow#1#2#3{{\\ifnum#2=1 \\left(#1\\right)^{{#3}}\\else#1^{{#3}}\\fi}}",
            f"\\def\\{p}@sub#1_#2{{{{#1}}_{{#2}}}}",
        ]
        mapping = self.mapping()
        for name, info in sorted(SYMBOLS.items(), key=lambda kv: kv[1].macro):
            value = mapping[name]
            guard = superscript_guard(value)
            body = value if guard is None else f"\\{p}@sym{{{value}}}{{{guard}}}"
            macro = "\\" + self.macro(name)
            out.append(f"\\@ifdefinable{{{macro}}}{{\\DeclareRobustCommand{{{macro}}}{{{body}}}}}"
                       f"  % {_comment(info.meaning)} ({_comment(name)})")
        out.append(r"\makeatother")
        return out

    def symbol_names(self, style: str = "direct") -> dict[sp.Symbol, str]:
        """``symbol_names`` for sympy's LatexPrinter: ``direct`` LaTeX or ``macro`` names."""
        out: dict[sp.Symbol, str] = {}
        mapping = self.mapping()
        for name, info in SYMBOLS.items():
            if style == "macro":
                out[info.symbol] = "\\" + self.macro(name)
            else:
                out[info.symbol] = "{" + mapping[name] + "}"
        return out

    def printer(self, style: str = "direct", extra: dict[sp.Symbol, str] | None = None
                ) -> LatexPrinter:
        """A printer of the theory's symbols in this notation, in page order
        (:class:`modelavg_sym.artifacts.mathprint.PaperPrinter`)."""
        names = self.symbol_names(style)
        names.update(extra or {})
        return PaperPrinter({"symbol_names": names})

    def latex(self, expr: sp.Basic, style: str = "direct") -> str:
        """LaTeX of ``expr`` in this notation."""
        return self.printer(style).doprint(expr)


def _comment(text: str) -> str:
    """``text`` safe in a TeX comment (no line break; ``%`` would not matter, ``\\`` might)."""
    return " ".join(text.replace("\\", "/").split())


def make(preset: str = "default", overrides: dict[str, str] | None = None,
         prefix: str = DEFAULT_PREFIX) -> Notation:
    """The notation ``preset`` with per-symbol ``overrides`` and macro namespace ``prefix``.

    Raises ValueError naming the unknown preset or symbol, or a prefix that is not letters.
    """
    if not isinstance(prefix, str) or not _PREFIX_RE.match(prefix):
        raise ValueError(f"notation: prefix must be one or more ASCII letters (a TeX macro "
                         f"name), got {prefix!r}")
    if preset not in PRESETS:
        known = ", ".join(sorted(PRESETS))
        raise ValueError(f"notation: unknown preset {preset!r}; known: {known}")
    mapping = dict(PRESETS[preset])
    for key, value in (overrides or {}).items():
        if key not in SYMBOLS:
            raise ValueError(
                f"notation: unknown symbol {key!r}; known: {', '.join(sorted(SYMBOLS))}")
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"notation: LaTeX for {key!r} must be a non-empty string")
        validate_latex(key, value.strip())
        mapping[key] = value.strip()
    name = preset if not overrides else preset + "+" + ",".join(sorted(overrides))
    return Notation(name, tuple(sorted(mapping.items())), prefix)


#: Characters that end or escape math mode, or start a comment, when unescaped.
_FORBIDDEN = {"%": "starts a comment", "$": "leaves math mode", "#": "is a macro parameter",
              "&": "is an alignment tab", "\n": "is a line break"}


def validate_latex(key: str, value: str) -> None:
    """Check that ``value`` is a self-contained LaTeX math fragment for symbol ``key``.

    Every notation string is substituted inside equations and ``\\newcommand`` bodies, so
    it must be non-empty, have balanced unescaped braces (never closing more than are
    open), balanced ``\\left``/``\\right``, no dangling ``\\``, ``^`` or ``_`` at the end,
    and none of ``% $ # &`` or a newline unescaped.  (sympy's lark LaTeX parser is not
    used here: it rejects common valid notation such as ``\\sigma_{L}^{2}``.)

    Raises ValueError naming the symbol and the problem.
    """
    def bad(problem: str) -> ValueError:
        return ValueError(f"notation: LaTeX for {key!r} {problem}: {value!r}")

    if not value.strip():
        raise bad("must be non-empty")
    depth = 0
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            if i + 1 == len(value):
                raise bad("ends with a lone backslash")
            i += 2  # an escaped character or the first letter of a command
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                raise bad("closes a brace that was never opened")
        elif ch in _FORBIDDEN:
            raise bad(f"contains an unescaped {ch!r}, which {_FORBIDDEN[ch]}")
        i += 1
    if depth:
        raise bad(f"has {depth} unclosed brace(s)")
    if value.rstrip()[-1] in "^_":
        raise bad("ends with a dangling superscript/subscript")
    lefts = len(re.findall(r"\\left(?![A-Za-z])", value))
    rights = len(re.findall(r"\\right(?![A-Za-z])", value))
    if lefts != rights:
        raise bad("has unbalanced \\left/\\right")


def parse_spec(spec: str) -> Notation:
    """Parse a ``--notation`` value: ``PRESET``, ``SYM=LATEX,...`` or ``PRESET,SYM=LATEX,...``;
    ``prefix=NAME`` sets the macro namespace."""
    preset = "default"
    prefix = DEFAULT_PREFIX
    overrides: dict[str, str] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if "=" in part:
            k, v = part.split("=", 1)
            if k.strip() == "prefix":
                prefix = v.strip()
            else:
                overrides[k.strip()] = v
        else:
            preset = part
    return make(preset, overrides, prefix)


def from_pyproject(path: Path | None) -> Notation:
    """The notation configured in ``[tool.modelavg-sym.notation]`` (default if absent)."""
    if path is None or not path.is_file():
        return make()
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    table = data.get("tool", {}).get("modelavg-sym", {}).get("notation", {})
    table = dict(table)
    preset = table.pop("preset", "default")
    prefix = table.pop("prefix", DEFAULT_PREFIX)
    return make(preset, {str(k): v for k, v in table.items()}, prefix)


# ------------------------------------------------------------------ parse-friendly form


#: Lowercase Greek letters sympy's lark LaTeX grammar reads as symbols.
_GREEK = frozenset("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi "
                   "rho sigma tau upsilon phi chi psi omega".split())
_SHORT = re.compile(r"^[A-Za-z](_[A-Za-z0-9])?$")


def plain_name(name: str) -> str:
    """The canonical key of a symbol name in the plain form: its letters and digits
    (``s_L``, ``s_{L}`` -> ``sL``; digits spelt out, ``mu_0`` -> ``muZero``); parsed symbols
    are matched back by this key."""
    key = re.sub(r"[^A-Za-z0-9]", "", name)
    # the parser's \mathit{...} takes letters only: digits become capitalised words
    return re.sub(r"[0-9]", lambda m: _DIGIT_WORDS[int(m.group())], key)


_DIGIT_WORDS = ("Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")


def plain_symbol(sym: sp.Symbol) -> str:
    """How the plain form prints ``sym``: one parser token where possible (``s_{L}``,
    ``\\theta``), else ``\\mathit{Delta}`` (the grammar has no capital Greek letters).
    Short tokens matter: the Earley parser's time grows with the token count."""
    if _SHORT.match(sym.name):
        head, _, sub = sym.name.partition("_")
        return head + ("_{" + sub + "}" if sub else "")
    if sym.name in _GREEK:
        return "\\" + sym.name
    return r"\mathit{" + plain_name(sym.name) + "}"


def plain_printer(symbols: set[sp.Symbol] | None = None) -> LatexPrinter:
    """A printer whose output sympy's LaTeX parser (lark backend) reads back exactly: every
    symbol as :func:`plain_symbol` and explicit ``\\cdot`` products (the parser reads
    ``x \\left(...\\right)`` ambiguously, as a function application or a product)."""
    syms = {info.symbol for info in SYMBOLS.values()} | set(symbols or ())
    names = {s: plain_symbol(s) for s in syms}
    return LatexPrinter({"symbol_names": names, "mul_symbol": "dot"})


def plain_latex(expr: sp.Basic) -> str:
    """The parse-friendly LaTeX of ``expr`` (see :func:`plain_printer`)."""
    return plain_printer(set(expr.free_symbols)).doprint(expr)


def is_identifier(name: str) -> bool:
    """True for names usable in file names and labels."""
    return bool(_NAME_RE.match(name))
