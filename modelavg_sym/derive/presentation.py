"""Presentation forms: each derived result as a careful author writes it, checked equal.

A derivation yields expressions in base symbols (a* as a ratio of polynomials in s_L,
s_G, c, Delta).  A page writes them through *named quantities* defined before them
(D, a*, MSE(a); a setting's s_L, s_G, c, Delta in its own parameters), factored or
collected where that is shorter.  This module holds that second description as data:

* :class:`Name`: a named quantity, shown as a symbol (``D``), an applied function
  (``E[(G - L)^2]``) or a function (``MSE``, defined by a :class:`sympy.Lambda`), with
  its definition, possibly through earlier names (a* = (s_L - c)/D);
* :class:`Form`: the presentation of one result: one or more right-hand sides shown in
  a chain ``lhs = f_1 = f_2`` and a line of text (a LaTeX template) introducing it;
* :class:`Where`: a "where" line defining parameters and stating their assumptions
  (``n_i > 0`` samples at node i ...), with the symbols it defines;
* :class:`Presentation`: a derivation's names, forms, step forms and where lines.

A form is never trusted: :func:`expand` substitutes the definitions back (functions by
their Lambdas, derivatives evaluated) and :func:`difference` simplifies shown minus
derived, which must be 0 (:func:`check`; the ``presentation_<derivation>`` theorems of
:mod:`modelavg_sym.theorems.presentation` put every form through the symbolic route).

Forms are found automatically where no hint is given (:func:`auto`): candidates from
``factor``, ``cancel``, ``together`` and ``collect``, with the names substituted back in,
the sign of a leading minus absorbed into a bracket (``-r(r - 2)`` -> ``r(2 - r)``), and
the candidate with the narrowest printed LaTeX chosen.  Term and factor order on the page
is the printer's (:mod:`modelavg_sym.artifacts.notation`), so forms are plain sympy
expressions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import sympy as sp

__all__ = [
    "Form",
    "Name",
    "Presentation",
    "Where",
    "absorb_sign",
    "auto",
    "check",
    "difference",
    "expand",
    "one_fraction",
    "substitute_names",
    "vanishes",
    "width",
]


@dataclass(frozen=True)
class Name:
    """A named quantity: ``shown`` (a Symbol, an applied function such as
    ``Expect((G - L)**2)``, or a function class such as ``MSE``) defined as ``value``
    (an expression, or a Lambda for a function class), possibly through earlier names."""

    shown: sp.Basic | type
    value: sp.Basic

    @property
    def is_function(self) -> bool:
        return isinstance(self.shown, sp.FunctionClass)


@dataclass(frozen=True)
class Form:
    """The presentation of one result: ``chain`` (right-hand sides, each equal to the
    derived value, shown ``lhs = chain[0] = chain[1] ...``), ``text`` (a LaTeX template
    introducing it; see :mod:`modelavg_sym.artifacts.prose`), whether it is a hand-written
    ``hint`` or found automatically, and the ``names`` it is written in when they are not
    its page's (a page merging several settings)."""

    chain: tuple[sp.Basic, ...]
    text: str = ""
    hint: bool = True
    names: tuple[Name, ...] | None = None

    def __post_init__(self) -> None:
        if not self.chain:
            raise ValueError("a form needs at least one right-hand side")
        object.__setattr__(self, "chain", tuple(sp.sympify(x) for x in self.chain))


@dataclass(frozen=True)
class Where:
    """A "where" line: ``text`` (LaTeX template) defines ``symbols`` and states their
    assumptions."""

    text: str
    symbols: tuple[sp.Symbol, ...] = ()


@dataclass(frozen=True)
class Presentation:
    """How a derivation is shown: its named quantities (in order of definition), a
    :class:`Form` per (scalar) result, a form per step, the result each step shows
    (``steps_results``, ``None`` for a step that is no result), its where lines, and the
    results shown ``before`` the steps."""

    derivation: str
    names: tuple[Name, ...]
    forms: Mapping[str, Form]
    steps: tuple[Form, ...] = ()
    where: tuple[Where, ...] = ()
    steps_results: tuple[str | None, ...] = field(default=())
    #: Results a page recalls before its steps (the named quantities the steps use).
    before: tuple[str, ...] = ()

    def names_of(self, form: Form) -> tuple[Name, ...]:
        """The names ``form`` is written in."""
        return form.names if form.names is not None else self.names

    def shown(self) -> list[sp.Basic]:
        """Every expression the page shows (forms and step forms)."""
        out = [f for form in self.forms.values() for f in form.chain]
        return out + [f for form in self.steps for f in form.chain]

    def pairs(self, results: Mapping[str, sp.Basic], steps: Sequence[sp.Basic]
              ) -> list[tuple[str, sp.Basic, sp.Basic]]:
        """(label, shown with its names expanded, derived) for every form of every result
        and step: the identities that make the page right."""
        out = []
        for key, form in self.forms.items():
            for k, f in enumerate(form.chain):
                out.append((f"{key}[{k}]", expand(f, self.names_of(form)), results[key]))
        for i, (form, rhs) in enumerate(zip(self.steps, steps, strict=True)):
            for k, f in enumerate(form.chain):
                out.append((f"step {i + 1}[{k}]", expand(f, self.names_of(form)), rhs))
        return out


# --------------------------------------------------------------------------- checking


def _release(expr: sp.Basic) -> sp.Basic:
    """Evaluate derivatives, substitutions and UnevaluatedExpr wrappers."""
    return expr.replace(lambda e: isinstance(e, sp.Derivative | sp.Subs | sp.UnevaluatedExpr),
                        lambda e: e.doit())


def expand(expr: sp.Basic, names: Sequence[Name]) -> sp.Basic:
    """``expr`` with every name replaced by its definition, repeatedly (a definition may
    use earlier names), derivatives of defined functions evaluated.  Memoised: a form is
    expanded when it is chosen and again when its page's identities are listed."""
    return _expand(expr, tuple(names))


@lru_cache(maxsize=4096)
def _expand(expr: sp.Basic, names: tuple[Name, ...]) -> sp.Basic:
    for _ in range(len(names) + 2):
        new = expr
        for n in names:
            if n.is_function:
                new = new.replace(n.shown, n.value)
            else:
                new = new.xreplace({n.shown: n.value})
        new = _release(new)
        if new == expr:
            return new
        expr = new
    return expr


@lru_cache(maxsize=4096)
def one_fraction(e: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """``together(e)`` and its numerator expanded: ``e`` is 0 when that numerator is.
    Memoised: a page's forms are checked when they are chosen, when a display is matched
    to its claim and again by the symbolic route, each time as ``shown - derived``."""
    diff = sp.together(e)
    return diff, sp.expand(sp.fraction(diff)[0])


def difference(shown: sp.Basic, value: sp.Basic, names: Sequence[Name]) -> sp.Expr:
    """``shown`` (definitions substituted) minus ``value``, simplified: 0 when the form is
    right.  As the symbolic route does: one fraction whose expanded numerator is 0, else
    ``simplify``."""
    diff, num = one_fraction(expand(shown, names) - value)
    if num == 0:
        return sp.S.Zero
    return sp.simplify(diff)


def vanishes(shown: sp.Basic, value: sp.Basic, names: Sequence[Name]) -> bool:
    """``difference(shown, value, names) == 0``, without ``simplify`` where the answer is
    already known: one fraction whose expanded numerator is 0 vanishes; one that is a
    rational function of its symbols (rational coefficients) with a nonzero expanded
    numerator does not (a nonzero polynomial vanishes on no open set).  Anything else
    (square roots, Abs, ...) is simplified, as :func:`difference` does."""
    diff, num = one_fraction(expand(shown, names) - value)
    if num == 0:
        return True
    if _rational_function(diff) and num.is_polynomial():
        return False
    return sp.simplify(diff) == 0


def _rational_function(expr: sp.Basic) -> bool:
    """Built from symbols and rationals by +, * and integer powers only: a ratio of
    polynomials with rational coefficients, whose expanded numerator is 0 exactly when
    it is."""
    return all(x.is_Symbol or x.is_Rational or isinstance(x, sp.Add | sp.Mul)
               or (isinstance(x, sp.Pow) and x.exp.is_Integer)
               for x in sp.preorder_traversal(expr))


def check(pres: Presentation, results: Mapping[str, sp.Basic],
          steps: Sequence[sp.Basic]) -> list[str]:
    """Problems of ``pres`` against the derived ``results`` and step right-hand sides
    ``steps``: every form in every chain must equal its derived value."""
    out = []
    for label, shown, derived in pres.pairs(results, steps):
        if not vanishes(shown, derived, ()):
            diff = difference(shown, derived, ())
            out.append(f"{pres.derivation}.{label}: shown - derived = {diff}")
    return out


# ----------------------------------------------------------------------- finding forms


def width(expr: sp.Basic) -> int:
    """Printed width proxy: characters of sympy's LaTeX without spaces, braces and
    ``\\left``/``\\right``."""
    return len(re.sub(r"\\left|\\right|\s|[{}]", "", sp.latex(expr)))


def absorb_sign(expr: sp.Expr) -> sp.Expr:
    """A leading minus absorbed into a bracketed sum: ``-r (r - 2)`` -> ``r (2 - r)``,
    ``-(x - y)/z`` -> ``(y - x)/z`` (the same expression, printed without the sign)."""
    if not (isinstance(expr, sp.Mul) and expr.could_extract_minus_sign()):
        return expr
    rest = -expr
    for f in sp.Mul.make_args(rest):
        if isinstance(f, sp.Add):
            others = [g for g in sp.Mul.make_args(rest) if g is not f]
            return sp.Mul(*others, sp.expand(-f))
        if isinstance(f, sp.Pow) and f.exp == -1 and isinstance(f.base, sp.Add):
            others = [g for g in sp.Mul.make_args(rest) if g is not f]
            return sp.Mul(*others, 1 / sp.expand(-f.base))
    return expr


def _num_den_subs(expr: sp.Expr, name: Name) -> sp.Expr:
    """Substitute ``name`` back into ``expr``: its whole value, and for a ratio
    ``num/den`` the numerator as ``name * den`` (then cancelled)."""
    out = expr.subs(name.value, name.shown)
    num, den = sp.fraction(sp.together(name.value))
    if den != 1 and isinstance(num, sp.Add):
        alt = sp.factor(expr.subs(num, name.shown * den))
        if not alt.has(*[s for s in den.free_symbols if not expr.has(s)]) \
                and width(alt) < width(out):
            out = alt
    return out


def substitute_names(expr: sp.Expr, names: Sequence[Name]) -> sp.Expr:
    """``expr`` with each (symbol) name's value replaced by the name, in order."""
    for n in names:
        if not n.is_function and isinstance(n.shown, sp.Symbol):
            expr = _num_den_subs(expr, n)
    return expr


def _candidates(value: sp.Expr, variables: Iterable[sp.Symbol]) -> list[sp.Expr]:
    vs = [v for v in variables if value.has(v)]
    out = [value, sp.factor(value), sp.cancel(value), sp.together(value)]
    if vs:
        out += [sp.collect(sp.expand(value), vs), sp.collect(sp.cancel(value), vs)]
    return out


def auto(value: sp.Expr, names: Sequence[Name] = (),
         variables: Iterable[sp.Symbol] = ()) -> sp.Expr:
    """The narrowest form of ``value``: candidates from factor/cancel/together/collect
    (in ``variables``), each with ``names`` substituted back in (and refactored), each
    with a leading sign absorbed; the candidate whose LaTeX is shortest (ties: fewer
    operations, then the first).  Checked equal to ``value`` before it is returned."""
    variables = list(variables)
    seen: dict[str, sp.Expr] = {}
    for cand in _candidates(value, variables):
        for e in (cand, substitute_names(cand, names)):
            for f in (e, sp.factor(e), absorb_sign(e), absorb_sign(sp.factor(e))):
                seen.setdefault(sp.srepr(f), f)
    best = min(seen.values(), key=lambda e: (width(e), sp.count_ops(e)))
    if not vanishes(best, value, names):  # pragma: no cover - substitution is exact
        raise AssertionError(f"automatic form {best} differs from {value}")
    return best
