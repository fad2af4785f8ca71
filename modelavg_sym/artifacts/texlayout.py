"""Line breaking of displayed formulas, from widths measured by TeX.

A display is decomposed (:class:`Decomposer`) into a tree of the printer's own LaTeX:
every sub-expression is a :class:`Node` whose ``atom`` is the printer's unbreakable
output, with breakable alternatives -- a sum split before its top-level signs, a product
whose long bracketed factor opens with ``\\bigl(`` so it can run over lines, a fraction with
a long numerator as ``\\frac{a}{d}\\bigl(b\\bigr)``, or with a long denominator as
``n \\big/ \\bigl(d\\bigr)``, a relation or logical connective split before its symbol.

:func:`layout` is given the width of every piece (measured by TeX in one batch, see
:mod:`modelavg_sym.artifacts.texmeasure`): it keeps a node whole when it fits the line,
else expands it, then chooses the break points by dynamic programming over the breaks
(fewest lines first, then breaks at the shallowest bracket depth, then balanced lines).
The result is rendered for amsmath: one line as it is, several lines in ``split``
(aligned at the relation, continuation lines indented by ``\\quad``), or as a bare body
for ``align``.  Only amsmath is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import sympy as sp
from sympy.core.sorting import default_sort_key
from sympy.printing.latex import LatexPrinter
from sympy.simplify.radsimp import fraction


@dataclass(frozen=True)
class Piece:
    """Unbreakable LaTeX; ``measure`` is what TeX measures (a binary or relation symbol
    with empty atoms around it, so that its spacing counts), ``lead`` what starts a line
    and ``lead_measure`` its measurement (when it differs)."""

    tex: str
    measure: str = ""
    lead: str = ""
    lead_measure: str = ""

    @property
    def probe(self) -> str:
        return self.measure or self.tex

    @property
    def head(self) -> str:
        return self.lead or self.tex

    @property
    def head_probe(self) -> str:
        return self.lead_measure or self.probe


@dataclass(frozen=True)
class Brk:
    """A place a line may end: ``depth`` brackets deep, with an extra ``penalty``;
    ``align`` when the next line starts with a relation aligned under the first one."""

    depth: int = 0
    penalty: float = 0.0
    align: bool = False


@dataclass(frozen=True)
class Group:
    """Brackets that may enclose line breaks (``\\bigl(`` ... ``\\bigr)``)."""

    open: str
    inner: tuple[Part, ...]
    close: str


@dataclass(frozen=True)
class Node:
    """A sub-expression: its unbreakable ``atom`` and breakable ``alts`` (best first)."""

    atom: str
    alts: tuple[tuple[Part, ...], ...] = ()


Part = Piece | Brk | Group | Node


def sign(op: str) -> Piece:
    """A binary sign between terms (``+``/``-``)."""
    return Piece(op, "{}" + op + "{}", "{}" + op)


def product_break(sep: str) -> list[Part]:
    """Where a product may break (at a high cost): the printer's multiplication sign
    ``sep`` ("" for juxtaposition) within a line, ``\\times`` starting the next one."""
    return [Brk(penalty=600.0),
            Piece(sep, "{}" + sep + "{}" if sep else "{}", r"{}\times",
                  r"{}\times{}")]


def relation(rel: str) -> Piece:
    """A relation or logical connective (``=``, ``\\leq``, ``\\Rightarrow``)."""
    return Piece(rel, "{}" + rel + "{}", "{}" + rel)


RELATIONS = {"==": "=", ">": ">", "<": "<", ">=": r"\geq", "<=": r"\leq", "!=": r"\neq"}
_SIZES = ("", r"\big", r"\Big", r"\bigg", r"\Bigg")


def _level(parts: Iterable[Part]) -> int:
    """Delimiter size (index into ``_SIZES``) for brackets around ``parts``."""
    lv = 0
    for p in parts:
        if isinstance(p, Group):
            lv = max(lv, _level(p.inner) + 1)
        elif isinstance(p, Node | Piece):
            tex = p.atom if isinstance(p, Node) else p.tex
            lv = max(lv, 3 if r"\frac" in tex else (1 if ("^" in tex or "_" in tex) else 0))
            if isinstance(p, Node) and p.alts:
                lv = max(lv, _level(p.alts[0]))
    return min(lv, len(_SIZES) - 1)


def group(inner: Sequence[Part], suffix: str = "", brackets: str = "()") -> Group:
    """``inner`` in breakable brackets sized for their content, ``suffix`` after them."""
    size = _SIZES[_level(inner)]
    o, c = brackets
    if size:
        return Group(f"{size}l{o}", tuple(inner), f"{size}r{c}{suffix}")
    return Group(o, tuple(inner), c + suffix)


class Decomposer:
    """Turns expressions into :class:`Node` trees printed by ``printer`` (its order and
    symbol names are kept); nodes shorter than ``min_chars`` characters stay whole."""

    def __init__(self, printer: LatexPrinter, min_chars: int = 36):
        self.p = printer
        self.min_chars = min_chars
        self._nodes: dict[sp.Basic, Node] = {}

    def node(self, expr: sp.Basic) -> Node:
        """The tree of ``expr`` (cached: a sub-expression seen before is not reprinted)."""
        if expr not in self._nodes:
            self._nodes[expr] = self._node(expr)
        return self._nodes[expr]

    def _node(self, expr: sp.Basic) -> Node:
        atom = self.p._print(expr)
        if len(atom) < self.min_chars:
            return Node(atom)
        if isinstance(expr, sp.Add):
            alts = [self._add(expr)]
        elif isinstance(expr, sp.Mul) or (isinstance(expr, sp.Pow) and expr.exp.is_negative
                                          and expr.base.is_commutative):
            alts = self._mul(expr)
        elif isinstance(expr, sp.Pow) and isinstance(expr.base, sp.Add) \
                and expr.exp.is_Integer and expr.exp > 0:
            alts = [(group(self._add(expr.base), "^{" + self.p._print(expr.exp) + "}"),)]
        elif isinstance(expr, sp.core.relational.Relational):
            alts = [self._relation(expr)]
        elif isinstance(expr, sp.And | sp.Or | sp.Implies | sp.Equivalent) \
                or hasattr(expr, "connective"):
            alts = [self._logic(expr)]
        else:
            alts = []
        return Node(atom, tuple(tuple(a) for a in alts))

    def _add(self, expr: sp.Add) -> list[Part]:
        parts: list[Part] = []
        for i, term in enumerate(self.p._as_ordered_terms(expr, order=None)):
            if i and term.could_extract_minus_sign():
                parts += [Brk(), sign("-")]
                term = -term
            elif i:
                parts += [Brk(), sign("+")]
            n = self.node(term)
            if self.p._needs_add_brackets(term):
                parts.append(Node(r"\left(" + n.atom + r"\right)", ((group([n]),),)))
            else:
                parts.append(n)
        return parts

    def _factor(self, f: sp.Basic, first: bool, last: bool) -> Part:
        n = self.node(f)
        if self.p._needs_mul_brackets(f, first=first, last=last):
            return Node(r"\left(" + n.atom + r"\right)", ((group([n]),),))
        return n

    def _joined(self, parts: Sequence[Part]) -> list[Part]:
        """``parts`` joined by the printer's multiplication symbol (if it prints one)."""
        sep = self.p._settings["mul_symbol_latex"].strip()
        out: list[Part] = []
        for i, q in enumerate(parts):
            out += [*product_break(sep), q] if i else [q]
        return out

    def _factors(self, args: Sequence[sp.Basic]) -> list[Part]:
        return self._joined([self._factor(f, i == 0, i == len(args) - 1)
                             for i, f in enumerate(args)])

    def _ordered(self, expr: sp.Basic) -> list[sp.Basic]:
        if not expr.is_Mul:
            return [expr]
        if hasattr(self.p, "ordered_factors"):  # the page printer's own order
            return list(self.p.ordered_factors(expr))
        if self.p.order in ("old", "none"):
            return list(expr.args)
        return list(expr.as_ordered_factors())

    def _mul(self, expr: sp.Expr) -> list[list[Part]]:
        """A product (or a negative power, printed as a fraction), as sympy prints it."""
        args = expr.args
        if expr.is_Mul and (args[0] is sp.S.One
                            or any(isinstance(a, sp.Number) for a in args[1:])):
            return [self._factors(list(args))]  # an unevaluated product, as printed
        head: list[Part] = []
        if expr.could_extract_minus_sign():
            expr = -expr
            head = [Piece("-")]
            if expr.is_Add:
                return [[*head, group(self._add(expr))]]
        numer, denom = fraction(expr, exact=True)
        if denom is sp.S.One:
            return [[*head, *self._factors(self._ordered(expr))]]
        d_atom = self.p._print(denom)
        factors = [] if numer is sp.S.One else self._ordered(numer)
        short = [f for f in factors if not self.p._needs_mul_brackets(f, last=False)]
        rest = [f for f in factors if f not in short]
        a_tex = self.p._print(sp.Mul(*short)) if short and rest else "1"
        b = rest if short and rest else factors
        over = self._joined([Piece(r"\frac{" + a_tex + "}{" + d_atom + "}")]
                            + [self._factor(f, False, i == len(b) - 1) for i, f in enumerate(b)])
        n_part: Part = self.node(numer)
        if isinstance(numer, sp.Add):
            n_part = group(self._add(numer))
        d_inner = self._add(denom) if isinstance(denom, sp.Add) else [self.node(denom)]
        slash: list[Part] = [n_part, Brk(penalty=200), Piece(r"\big/"), group(d_inner)]
        return [[*head, *over], [*head, *slash]]

    def _relation(self, expr: sp.Basic) -> list[Part]:
        return [self.node(expr.lhs), Brk(), relation(RELATIONS[expr.rel_op]), self.node(expr.rhs)]

    def _logic(self, expr: sp.Basic) -> list[Part]:
        if hasattr(expr, "connective"):  # a display connective, in the order written
            args, char = list(expr.args), expr.connective
        elif isinstance(expr, sp.Implies):
            args, char = list(expr.args), r"\Rightarrow"
        else:
            char = {sp.And: r"\wedge", sp.Or: r"\vee", sp.Equivalent: r"\Leftrightarrow"}[
                type(expr)]
            args = sorted(expr.args, key=default_sort_key)
        parts: list[Part] = []
        for i, arg in enumerate(args):
            if i:
                parts += [Brk(), relation(char)]
            n = self.node(arg)
            if arg.is_Boolean and not arg.is_Not:
                parts.append(Node(r"\left(" + n.atom + r"\right)", ((group([n]),),)))
            else:
                parts.append(n)
        return parts


def probes(parts: Iterable[Part]) -> set[str]:
    """Every string whose width :func:`layout` may need."""
    out: set[str] = set()
    for p in parts:
        if isinstance(p, Piece):
            out |= {p.probe, p.head_probe}
        elif isinstance(p, Group):
            out |= {p.open, p.close} | probes(p.inner)
        elif isinstance(p, Node):
            out.add(p.atom)
            for alt in p.alts:
                out |= probes(alt)
    return out


# ------------------------------------------------------------------------ line breaking


@dataclass(frozen=True)
class Display:
    """A displayed formula: an unbreakable left-hand side ``lhs`` ("" for none) and the
    ``parts`` after it; with a left-hand side, ``parts`` starts with the relation.
    ``fallback``: the display to use instead when ``lhs`` takes more than
    :data:`LHS_SHARE` of the line (a claim whose sides both need breaking)."""

    lhs: str
    parts: tuple[Part, ...]
    fallback: Display | None = None

    def probes(self) -> set[str]:
        out = ({self.lhs} if self.lhs else set()) | probes(self.parts) | set(GEOMETRY)
        return out | (self.fallback.probes() if self.fallback else set())


def chain(lhs: str, steps: Sequence[tuple[str, Part]]) -> Display:
    """``lhs rel_1 rhs_1 rel_2 rhs_2 ...`` (``MSE(a) = ... = ...``): a line may end before
    each further relation, which then starts the next line aligned under the first."""
    parts: list[Part] = []
    for i, (rel, rhs) in enumerate(steps):
        parts += [Brk(align=True)] if i else []
        parts += [relation(rel), rhs]
    return Display(lhs, tuple(parts))


#: Strings measured with every batch: the indentation of continuation lines.
GEOMETRY = (r"\quad", r"\qquad", r"\qquad\quad")
#: Above this share of the line a left-hand side stands on a line of its own.
LHS_SHARE = 0.4

Width = Callable[[str], float]
#: A flat token: ("p", tex, lead, width, extra width when leading a line) for a piece,
#: ("b", depth, penalty, align) for a break.
Tok = tuple


def _flatten(part: Part, width: Width, limit: float, depth: int = 0) -> list[Tok]:
    """The tokens of ``part``: nodes wider than ``limit`` expanded (the first alternative
    whose pieces all fit, else the one with the narrowest widest piece)."""
    if isinstance(part, Piece):
        w = width(part.probe)
        return [("p", part.tex, part.head, w, width(part.head_probe) - w)]
    if isinstance(part, Brk):
        return [("b", depth + part.depth, part.penalty, part.align)]
    if isinstance(part, Group):
        inner = [t for q in part.inner for t in _flatten(q, width, limit, depth + 1)]
        return [("p", part.open, part.open, width(part.open), 0.0), *inner,
                ("p", part.close, part.close, width(part.close), 0.0)]
    if width(part.atom) <= limit or not part.alts:
        return [("p", part.atom, part.atom, width(part.atom), 0.0)]
    best: list[Tok] | None = None
    best_max = float("inf")
    for alt in part.alts:
        toks = [t for q in alt for t in _flatten(q, width, limit, depth)]
        widest = max((t[3] for t in toks if t[0] == "p"), default=0.0)
        if widest <= limit:
            return toks
        if widest < best_max:
            best, best_max = toks, widest
    return best or [("p", part.atom, part.atom, width(part.atom), 0.0)]


@dataclass(frozen=True)
class Layout:
    """A display broken into lines: ``lhs`` ("" for none) and ``rows`` of (kind, LaTeX),
    kind ``first`` (the line with the left-hand side), ``cont`` (a continuation, indented)
    or ``rel`` (a continuation starting with a relation aligned under the first);
    ``stacked``: the left-hand side stands on a line of its own; ``overflow``: points
    past the width (0 when everything fits)."""

    lhs: str
    rows: tuple[tuple[str, str], ...]
    overflow: float = 0.0
    stacked: bool = False

    @property
    def single(self) -> bool:
        return len(self.rows) == 1 and not self.stacked

    def one_line(self) -> str:
        """The display on one line (only for :attr:`single` layouts)."""
        return (self.lhs + " " + self.rows[0][1]).strip()

    def split_lines(self) -> list[str]:
        r"""The lines for ``split``/``align``: ``lhs &= ...``, ``&\quad + ...``."""
        ind = {"cont": r"\qquad\quad " if self.stacked else r"\quad ",
               "rel": r"\qquad " if self.stacked else "", "first": ""}
        out = [f"&{self.lhs}"] if self.stacked else []
        for kind, tex in self.rows:
            if kind == "first" and not self.stacked:
                out.append(f"{self.lhs} &{tex}" if self.lhs else f"&{tex}")
            else:
                out.append(f"&{ind['rel' if kind == 'first' else kind]}{tex}")
        return out


def _segments(toks: list[Tok]) -> tuple[list[list[Tok]], list[Tok]]:
    segs: list[list[Tok]] = [[]]
    brks: list[Tok] = []
    for t in toks:
        if t[0] == "b":
            segs.append([])
            brks.append(t)
        else:
            segs[-1].append(t)
    return segs, brks


def _break_lines(toks: list[Tok], avail: Callable[[int, bool], float]
                 ) -> tuple[list[tuple[bool, list[Tok]]], float]:
    """Optimal lines of ``toks``; ``avail(k, aligned)``: room on line k (0 = first) whose
    first token is aligned under the relation when ``aligned``.  Returns ((aligned,
    tokens) per line, overflow)."""
    segs, brks = _segments(toks)
    n = len(segs)
    seg_w = [sum(t[3] for t in s) for s in segs]
    inf = float("inf")
    # best[j] = (cost, lines, overflow, start) for lines covering segments 0..j-1
    best: list[tuple[float, int, float, int]] = [(0.0, 0, 0.0, -1)] + [(inf, 0, 0.0, -1)] * n
    for j in range(1, n + 1):
        for i in range(j - 1, -1, -1):
            cost0, k, over0, _ = best[i]
            if cost0 == inf:
                continue
            room = avail(k, i > 0 and bool(brks[i - 1][3]))
            used = sum(seg_w[i:j]) + (segs[i][0][4] if i > 0 and segs[i] else 0.0)
            over = max(0.0, used - room)
            cost = cost0 + 1000.0 + (1e6 + 1e3 * over if over > 0.01 else 0.0)
            if j < n:  # the break ending this line
                cost += 400.0 * brks[j - 1][1] + brks[j - 1][2]
                cost += 200.0 * ((room - used) / room) ** 2
            if cost < best[j][0]:
                best[j] = (cost, k + 1, max(over0, over), i)
            if used > 3 * room:
                break
    cuts = []
    j = n
    while j > 0:
        cuts.append(j)
        j = best[j][3]
    lines, start = [], 0
    for cut in reversed(cuts):
        aligned = start > 0 and bool(brks[start - 1][3])
        lines.append((aligned, [t for s in segs[start:cut] for t in s]))
        start = cut
    return lines, best[n][2]


def _render(toks: list[Tok], lead: bool) -> str:
    return " ".join(t[2] if (i == 0 and lead) else t[1] for i, t in enumerate(toks))


def layout(d: Display, width: Width, linewidth: float) -> Layout:
    """Break ``d`` into lines no wider than ``linewidth`` (points), measuring with
    ``width``; one line when it fits."""
    quad, qquad, qqquad = (width(g) for g in GEOMETRY)
    lhs_w = width(d.lhs) if d.lhs else 0.0
    whole = [t for q in d.parts for t in _flatten(q, width, float("inf")) if t[0] == "p"]
    if lhs_w + sum(t[3] for t in whole) <= linewidth:
        return Layout(d.lhs, (("first", _render(whole, False)),))
    if d.fallback is not None and lhs_w > LHS_SHARE * linewidth:
        return layout(d.fallback, width, linewidth)
    stacked = bool(d.lhs) and lhs_w > LHS_SHARE * linewidth
    if not d.lhs:
        first, cont, rel = 0.0, quad, 0.0
    elif stacked:
        first, cont, rel = qquad, qqquad, qquad
    else:
        first, cont, rel = lhs_w, lhs_w + quad, lhs_w

    def avail(k: int, aligned: bool) -> float:
        return linewidth - (first if k == 0 else rel if aligned else cont)

    best: tuple[list[tuple[bool, list[Tok]]], float] | None = None
    for shrink in (1.0, 0.85, 0.7, 0.55, 0.4):
        limit = shrink * (linewidth - max(first, cont))
        toks = [t for q in d.parts for t in _flatten(q, width, limit)]
        lines, over = _break_lines(toks, avail)
        if best is None or over < best[1] - 0.01:
            best = (lines, over)
        if over <= 0.01:
            break
    assert best is not None
    lines, over = best
    if stacked:
        over = max(over, lhs_w - linewidth)
    rows = tuple(("first" if k == 0 else "rel" if aligned else "cont",
                  _render(toks, k > 0 and not aligned))
                 for k, (aligned, toks) in enumerate(lines))
    return Layout(d.lhs, rows, over, stacked)
