"""Prose with ASCII pseudo-maths -> LaTeX text with the maths in math mode.

Theorem statements, titles, notes and captions are plain sentences such as
``For D > 0, a* = (s_L - c)/D``.  :func:`to_latex` finds the mathematical fragments
(``D > 0``, ``a* = (s_L - c)/D``) and typesets them in ``$...$`` through the symbol table,
so a notation switch reaches the prose too: ``s_L`` prints as the notation's macro
(``\\mavgVarL``) or LaTeX, ``a_hat`` as ``\\hat{a}``, ``Delta^2`` as ``\\Delta^{2}``,
``<=`` as ``\\leq``.  Nothing of the ASCII spelling is left in text mode: no ``<``, ``>``
(which print as inverted punctuation in OT1 text), no ``^`` or ``_``.

This is the fallback for plain-text prose; statements written as LaTeX templates over the
symbol table do not need it.  The rules are heuristics over tokens:

* identifiers of the symbol table, Greek letter names, single letters other than the
  article ``a``, names with a subscript (``n_0``, ``theta_{a_hat}``) or a star (``a*``),
  and function names followed by a bracket (``MSE(a)``, ``E[...]``, ``tr``) are maths;
* ``a`` is maths next to an operator or another mathematical token, or after *weight*,
  *when* or *in* (``a quadratic in a``);
* relations and ``^``/``_`` are always maths; numbers, brackets and ``+ - / *`` join a
  mathematical fragment but do not start one; a comma outside brackets ends it;
* ``in`` between two mathematical tokens is ``\\in``; ``R^d`` is ``\\mathbb{R}^{d}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

#: Lower- and upper-case Greek letter names.
GREEK = frozenset(
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi "
    "rho sigma tau upsilon phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon "
    "Phi Psi Omega".split())
#: Function names typeset upright in maths (when followed by a bracket, or always for tr).
FUNCTIONS = {"MSE": r"\operatorname{MSE}", "E": r"\operatorname{E}", "Var": r"\operatorname{Var}",
             "Cov": r"\operatorname{Cov}", "tr": r"\operatorname{tr}", "max": r"\max",
             "min": r"\min", "diag": r"\operatorname{diag}", "sum": r"\sum", "B": "B"}
_ALWAYS_MATH_WORDS = frozenset({"tr"})
_A_AFTER = frozenset({"weight", "when", "in"})
_RELATIONS = {"<=": r"\leq", ">=": r"\geq", "!=": r"\neq", "==": "=", ":=": r"\mathrel{:}=",
              "<": "<", ">": ">", "=": "="}
_UNICODE_MATH = {"≥": r"\geq", "≤": r"\leq", "≠": r"\neq", "×": r"\times", "→": r"\to",
                 "±": r"\pm", "·": r"\cdot", "∞": r"\infty", "√": r"\surd"}

_TOKEN = re.compile(r"""
    (?P<code>modelavg_sym(?:\.[A-Za-z_]+)*)
  | (?P<deriv>\bd[A-Za-z]+/d[A-Za-z]+\b)
  | (?P<poss>(?<=[A-Za-z])'s\b)
  | (?P<hyph>[A-Za-z]+(?:-[A-Za-z]+)+)
  | (?P<ident>[A-Za-z]+[0-9]*\*?(?:_(?:\{[^{}]*\}|[A-Za-z0-9]+\*?))*)
  | (?P<num>[0-9]+(?:\.[0-9]+)?)
  | (?P<dots>\.\.\.)
  | (?P<rel><=|>=|!=|==|:=|<|>|=|[≥≤≠])
  | (?P<op>[-+*/^_'|×→±·])
  | (?P<open>[(\[{])
  | (?P<close>[)\]}])
  | (?P<punct>[,.;:!?])
  | (?P<space>\s+)
  | (?P<other>.)
""", re.VERBOSE)


@dataclass
class _Tok:
    kind: str
    text: str
    math: bool = False


def _tokens(text: str) -> list[_Tok]:
    out = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "other"
        out.append(_Tok(kind, m.group()))
    return out


def _is_math_ident(tok: str, symbols: Mapping[str, str]) -> bool:
    head = tok.split("_", 1)[0].rstrip("*")
    if tok in symbols or head in symbols or head in GREEK or "*" in tok:
        return True
    if "_" in tok:
        return True
    if re.fullmatch(r"[A-Z][0-9]+", tok):  # a result id such as R2: text
        return False
    return len(head.rstrip("0123456789")) == 1 and head != "a" and head != "A"


def _neighbour(toks: list[_Tok], i: int, step: int) -> _Tok | None:
    j = i + step
    while 0 <= j < len(toks) and toks[j].kind == "space":
        j += step
    return toks[j] if 0 <= j < len(toks) else None


def _classify(toks: list[_Tok], symbols: Mapping[str, str]) -> None:
    """Mark the tokens that are maths by themselves (see the module docstring)."""
    for i, t in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if t.kind in ("rel", "deriv"):
            t.math = True
        elif t.kind == "op" and t.text in "^_'":
            t.math = True
        elif t.kind == "ident":
            if t.text in FUNCTIONS and nxt is not None and (
                    nxt.kind == "open" or nxt.text == "'"):
                t.math = True
            elif t.text in FUNCTIONS and (_neighbour(toks, i, 1) or t).kind == "rel":
                t.math = True  # MSE = ...
            elif t.text in _ALWAYS_MATH_WORDS:
                t.math = True
            elif nxt is not None and nxt.kind == "op" and nxt.text in "^_":
                t.math = True  # a word with a superscript: bias^2
            else:
                t.math = _is_math_ident(t.text, symbols)
    for i, t in enumerate(toks):  # the article "a" versus the weight a
        if t.kind != "ident" or t.text != "a":
            continue
        prev, nxt = _neighbour(toks, i, -1), _neighbour(toks, i, 1)
        glued = any(0 <= j < len(toks) and toks[j].kind in ("op", "rel", "open", "close", "num")
                    for j in (i - 1, i + 1))
        t.math = (glued or (prev is not None and (prev.math or prev.kind in ("op", "rel")
                                                   or prev.text in _A_AFTER))
                  or (nxt is not None and nxt.kind in ("op", "rel")))
    for i, t in enumerate(toks):  # "sum" before a mathematical token: sum n_i
        nxt = _neighbour(toks, i, 1)
        if t.kind == "ident" and t.text == "sum" and nxt is not None and nxt.math:
            t.math = True
    for i, t in enumerate(toks):  # "in" between two mathematical tokens
        if t.kind == "ident" and t.text == "in":
            prev, nxt = _neighbour(toks, i, -1), _neighbour(toks, i, 1)
            if prev is not None and nxt is not None and prev.math and (
                    nxt.math or nxt.kind == "open"):
                t.math = True


def _spans(toks: list[_Tok]) -> list[tuple[int, int]]:
    """Maximal runs [i, j) of maths and joining tokens holding at least one maths token."""
    joining = ("op", "rel", "num", "open", "close", "space", "dots")
    spans = []
    i = 0
    while i < len(toks):
        if not toks[i].math:
            i += 1
            continue
        start = i
        while start > 0 and toks[start - 1].kind in ("num", "open", "op", "space", "dots"):
            start -= 1
        j = start
        depth = 0
        while j < len(toks):
            t = toks[j]
            if t.math or t.kind in joining:
                depth += t.kind == "open"
                depth -= t.kind == "close"
            elif t.kind == "punct" and t.text == "," and depth > 0:
                pass
            else:
                break
            j += 1
        lo, hi = _trim(toks, start, j)
        spans.append((lo, hi))
        i = hi if hi > i else j
    return [s for s in spans if s[0] < s[1]]


def _trim(toks: list[_Tok], i: int, j: int) -> tuple[int, int]:
    """Drop spaces, stray operators and unmatched brackets from both ends of [i, j)."""
    changed = True
    while changed and i < j:
        changed = False
        while i < j and (toks[i].kind in ("space", "close")
                         or (toks[i].kind == "op" and toks[i].text not in "-|")):
            i += 1
            changed = True
        while i < j and (toks[j - 1].kind in ("space", "open")
                         or (toks[j - 1].kind == "op" and toks[j - 1].text not in "'|")):
            j -= 1
            changed = True
        depth = 0
        for k in range(i, j):
            depth += toks[k].kind == "open"
            depth -= toks[k].kind == "close"
            if depth < 0:  # an unmatched closing bracket: the span ends before it
                j = k
                changed = True
                break
        else:
            if depth > 0 and toks[i].kind == "open":
                i += 1
                changed = True
            elif depth > 0:  # an unmatched opening bracket: the span ends before it
                j = _last_unmatched_open(toks, i, j)
                changed = True
    return i, j


def _last_unmatched_open(toks: list[_Tok], i: int, j: int) -> int:
    stack = []
    for k in range(i, j):
        if toks[k].kind == "open":
            stack.append(k)
        elif toks[k].kind == "close" and stack:
            stack.pop()
    return stack[0] if stack else j


# ------------------------------------------------------------------------- typesetting


_TEXT_ESCAPES = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
}
_UNICODE_TEXT = {"≥": "$\\geq$", "≤": "$\\leq$", "≠": "$\\neq$", "–": "--", "—": "---",
                 "’": "'", "‘": "`", "“": "``", "”": "''", "×": "$\\times$", "√": "$\\surd$",
                 "∞": "$\\infty$", "→": "$\\to$", "±": "$\\pm$", "·": "$\\cdot$"}


def tex_escape(text: str) -> str:
    """Plain text -> LaTeX text mode (special characters escaped, ASCII only; ``<``/``>``
    as ``\\textless``/``\\textgreater``, never the OT1 glyphs that print as inverted
    punctuation)."""
    out = []
    for ch in text:
        if ch in _TEXT_ESCAPES:
            out.append(_TEXT_ESCAPES[ch])
        elif ch in _UNICODE_TEXT:
            out.append(_UNICODE_TEXT[ch])
        elif ord(ch) < 128:
            out.append(ch)
        else:
            out.append("?")
    return "".join(out)


def _base_tex(head: str, symbols: Mapping[str, str]) -> str:
    if head in symbols:
        return symbols[head]
    if head in GREEK:
        return "\\" + head
    if head in FUNCTIONS and len(head) > 1:
        return FUNCTIONS[head]
    if len(head) == 1 or re.fullmatch(r"[A-Za-z][0-9]+", head):
        return head
    return r"\text{" + head + "}"


def _sub_tex(sub: str, symbols: Mapping[str, str]) -> str:
    if re.fullmatch(r"[A-Za-z][A-Za-z]+", sub) and sub not in symbols and sub not in GREEK:
        return r"\mathrm{" + sub + "}"
    return ident_tex(sub, symbols)[0]


def ident_tex(name: str, symbols: Mapping[str, str]) -> tuple[str, str]:
    """(base with subscript, superscript) of an ASCII identifier: ``s_L`` -> the symbol's
    LaTeX, ``a*`` -> (a, ``*``), ``a_hat`` -> ``\\hat{a}``, ``theta_{a_hat}``,
    ``MSE*_incl`` -> (``\\operatorname{MSE}_{\\mathrm{incl}}``, ``*``)."""
    if name in symbols:
        return symbols[name], ""
    head, _, rest = name.partition("_")
    star = "*" if head.endswith("*") else ""
    head = head.rstrip("*")
    if rest == "hat":
        return r"\hat{" + _base_tex(head, symbols) + "}", star
    tex = _base_tex(head, symbols)
    if rest:
        sub = rest[1:-1] if rest.startswith("{") and rest.endswith("}") else rest
        if sub.endswith("*"):
            sub, star = sub[:-1], "*"
        if "^" in tex or "_" in tex:
            tex = "{" + tex + "}"
        tex += "_{" + _sub_tex(sub, symbols) + "}"
    return tex, star


def _group_end(toks: list[_Tok], k: int) -> int:
    """Index after the bracket group opening at ``k`` (or after token ``k``)."""
    if toks[k].kind != "open":
        return k + 1
    depth = 0
    for m in range(k, len(toks)):
        depth += toks[m].kind == "open"
        depth -= toks[m].kind == "close"
        if depth == 0:
            return m + 1
    return len(toks)


def _script(toks: list[_Tok], k: int, symbols: Mapping[str, str]) -> tuple[str, int]:
    """The argument of ``^``/``_`` starting at ``k``: a number, identifier or bracket
    group; returns (LaTeX, index after it)."""
    if k >= len(toks):
        return "", k
    if toks[k].text == "*":
        return "*", k + 1
    end = _group_end(toks, k)
    if toks[k].kind == "open" and toks[k].text == "{":
        return _math(toks[k + 1:end - 1], symbols), end
    return _math(toks[k:end], symbols), end


def _math(toks: list[_Tok], symbols: Mapping[str, str]) -> str:
    """LaTeX of a mathematical span."""
    out: list[str] = []
    base, sup = "", ""  # an identifier that may still take a superscript

    def flush() -> None:
        nonlocal base, sup
        if base:
            out.append(base if not sup else
                       ("\\left(" + base + "\\right)" if "^" in base else base) + "^{" + sup + "}")
        base, sup = "", ""

    k = 0
    while k < len(toks):
        t = toks[k]
        nxt = toks[k + 1] if k + 1 < len(toks) else None
        if t.kind == "ident":
            flush()
            if t.text == "R" and nxt is not None and nxt.text == "^":
                base = r"\mathbb{R}"
            elif t.text == "in":
                out.append(r"\in ")
            elif t.text in FUNCTIONS and (nxt is None or nxt.kind in ("open", "space", "op")):
                base = FUNCTIONS[t.text]
            else:
                base, sup = ident_tex(t.text, symbols)
        elif t.kind == "op" and t.text == "^":
            script, k = _script(toks, k + 1, symbols)
            if not base:
                base = out.pop() if out and out[-1] not in (" ",) else "{}"
            sup += script
            continue
        elif t.kind == "op" and t.text == "_":
            flush()
            script, k = _script(toks, k + 1, symbols)
            out.append("_{" + script + "}")
            continue
        elif t.kind == "op" and t.text == "'":
            prime = base in FUNCTIONS.values() or base == "B"
            flush()
            out.append("'" if prime else r"^{\top}")
        else:
            flush()
            out.append(_other_math(t))
        k += 1
    flush()
    return "".join(out).strip()


def _other_math(t: _Tok) -> str:
    if t.kind == "rel":
        return " " + _RELATIONS.get(t.text, _UNICODE_MATH.get(t.text, t.text)) + " "
    if t.kind == "op":
        return {"*": r" \cdot ", "|": "|"}.get(t.text, _UNICODE_MATH.get(t.text, t.text))
    if t.kind == "space":
        return " "
    if t.kind == "dots":
        return r"\dots"
    if t.kind == "deriv":
        num, den = t.text.split("/")
        return (r"\mathrm{d}" + FUNCTIONS.get(num[1:], num[1:]) + r"/\mathrm{d}"
                + FUNCTIONS.get(den[1:], den[1:]))
    if t.text in "{}":
        return "\\" + t.text
    return t.text


def _text(toks: list[_Tok]) -> str:
    out = []
    for t in toks:
        if t.kind == "code":
            out.append(r"\texttt{modelavg-sym}")
        elif t.kind == "dots":
            out.append(r"\ldots{}")
        else:
            out.append(tex_escape(t.text))
    return "".join(out)


def to_latex(text: str, symbols: Mapping[str, str], pdf: bool = False) -> str:
    """``text`` (plain prose with ASCII maths) as LaTeX: the maths in ``$...$``, the rest
    escaped.  ``symbols`` maps symbol-table names (``s_L``) to their LaTeX (a macro such
    as ``\\mavgVarL`` or the notation's own LaTeX).  ``pdf=True`` wraps each maths span
    in ``\\texorpdfstring`` with its ASCII spelling (for section titles and bookmarks)."""
    toks = _tokens(text)
    _classify(toks, symbols)
    out: list[str] = []
    pos = 0
    for i, j in _spans(toks):
        out.append(_text(toks[pos:i]))
        math = "$" + _math(toks[i:j], symbols) + "$"
        if pdf:
            plain = "".join(t.text for t in toks[i:j])
            math = r"\texorpdfstring{" + math + "}{" + _pdf_plain(plain) + "}"
        out.append(math)
        pos = j
    out.append(_text(toks[pos:]))
    return "".join(out)


def _pdf_plain(text: str) -> str:
    """ASCII maths for a PDF bookmark (hyperref's PDF strings: no math, no macros)."""
    return tex_escape(re.sub(r"[_^{}]", "", text))


def converter(symbols: Mapping[str, str], pdf: bool = False) -> Callable[[str], str]:
    """``to_latex`` with ``symbols`` bound."""
    return lambda text: to_latex(text, symbols, pdf)


def math_latex(text: str, symbols: Mapping[str, str]) -> str:
    """``text`` read entirely as ASCII maths (a display name such as
    ``E((theta_{a_hat} - theta)^2 | eta)``), as LaTeX math-mode content."""
    toks = _tokens(text)
    for t in toks:
        if t.kind == "code":
            t.kind = "ident"
    return _math(toks, symbols)


# --------------------------------------------------------------------------- templates

#: A placeholder of a template: ``<s_L>`` is the symbol s_L as the notation prints it.
PLACEHOLDER = re.compile(r"<([A-Za-z_]+)>")
_MATH_SPAN = re.compile(r"\$([^$]*)\$")


def is_template(text: str) -> bool:
    """True for a LaTeX template (maths in ``$...$``, or a command such as ``\\emph``),
    False for plain prose."""
    return "$" in text or re.search(r"\\[A-Za-z]", text) is not None


def fill(template: str, symbols: Mapping[str, str]) -> str:
    """``template`` with each placeholder ``<name>`` replaced by ``symbols[name]`` (a
    macro followed by a letter gets a separating space).  Raises ValueError naming an
    unknown placeholder."""
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in symbols:
            raise ValueError(f"template placeholder <{name}> is not a symbol; known: "
                             f"{', '.join(sorted(symbols))}")
        tex = symbols[name]
        nxt = template[m.end():m.end() + 1]
        return tex + " " if tex[-1:].isalpha() and tex.startswith("\\") and nxt.isalpha() \
            else tex
    return PLACEHOLDER.sub(sub, template)


def _bookmark(math: str) -> str:
    """ASCII for a PDF bookmark of a maths span: commands and scripts dropped."""
    text = re.sub(r"\\[A-Za-z]+|[_^{}\\]", "", math)
    return tex_escape(PLACEHOLDER.sub(lambda m: m.group(1).replace("_", ""), text))


def render(text: str, symbols: Mapping[str, str], pdf: bool = False) -> str:
    """LaTeX of a template (:func:`fill`; with ``pdf`` each ``$...$`` wrapped in
    ``\\texorpdfstring`` for bookmarks) or, for plain prose, :func:`to_latex`."""
    if not is_template(text):
        return to_latex(text, symbols, pdf)
    if pdf:
        text = _MATH_SPAN.sub(lambda m: "\\texorpdfstring{$" + m.group(1) + "$}{"
                              + _bookmark(m.group(1)) + "}", text)
    return fill(text, symbols)


def markdown(text: str, symbols: Mapping[str, str]) -> str:
    """A template for a Markdown page: placeholders filled, ``--`` outside maths as an
    en dash; plain prose is returned as it is."""
    if not is_template(text):
        return text
    parts = re.split(r"(\$[^$]*\$)", fill(text, symbols))
    return "".join(p if p.startswith("$") else _md_text(p) for p in parts)


def _md_text(text: str) -> str:
    """Text mode of a template in Markdown: en dashes, emphasis and bold."""
    text = re.sub(r"\\emph\{([^{}]*)\}", r"*\1*", text.replace("--", "–"))
    return re.sub(r"\\textbf\{([^{}]*)\}", r"**\1**", text)


def template_converter(symbols: Mapping[str, str], pdf: bool = False) -> Callable[[str], str]:
    """:func:`render` with ``symbols`` bound."""
    return lambda text: render(text, symbols, pdf)
