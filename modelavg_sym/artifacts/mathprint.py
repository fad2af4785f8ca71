"""The LaTeX printer of the pages: sympy's LatexPrinter in a careful author's order.

:class:`PaperPrinter` prints a presentation form as it is built
(:mod:`modelavg_sym.derive.presentation`), in human term and factor order:

* a sum by ascending degree in the weight-like variables (a, eta, q, ...), then in the
  order of the theory's symbols (s_L, s_G, c, Delta; node sizes before variances before
  means; named quantities such as D and a* after them), and never starting with a minus
  when a positive term exists: ``s_L - c``, ``2 - r``, ``s_L + s_G - 2c + Delta^2``,
  ``s_L - 2a (s_L - c) + a^2 D``;
* a product with numbers first, then symbols in that order, then brackets:
  ``D a (2a* - a)``, ``r (2 - r)``, ``a* r (2 - r)``;
* the display objects of :mod:`modelavg_sym.derive.display` as an author writes them:
  ``\\operatorname{MSE}(a)``, ``\\operatorname{MSE}''(a)`` (derivatives as primes),
  ``\\operatorname{E}[X \\mid Y]``, ``\\operatorname{tr} S_{L}``, ``\\lVert \\Delta \\rVert^{2}``,
  ``[\\eta^{2}]\\,p``.

The notation (which LaTeX each symbol prints as) comes from the printer's
``symbol_names``, as set by :class:`modelavg_sym.artifacts.notation.Notation`.
"""

from __future__ import annotations

import re
from functools import lru_cache

import sympy as sp
from sympy.printing.latex import LatexPrinter

__all__ = ["PaperPrinter", "factor_key", "term_key"]

#: Symbols in the order a page writes them, by name (matrix names with their scalars).
_ORDER = ("G", "L", "e_L", "e_G", "s_L", "S_L", "s_G", "S_G", "c", "C", "Delta", "theta", "r")
#: Stems of indexed parameters, in order (n_i before v_i before mu_i; s_i, b_i, w_i).
_STEMS = ("N", "n", "v", "mu", "s", "b", "SL", "SG", "M", "A", "w", "u")
#: Weight-like variables: a sum is ordered by ascending degree in them.
_VARIABLES = ("a", "eta", "q", "m", "w", "u", "lambda")
_INDEXED = re.compile(r"^([A-Za-z]+)_\{?([0-9]+)\}?$")


@lru_cache(maxsize=4096)
def _symbol_key(name: str) -> tuple[int, int, str]:
    """(group, rank, name): the theory's symbols, then indexed parameters, then named
    quantities (D, a*, P ...), then the weight-like variables."""
    if name in _ORDER:
        return (0, _ORDER.index(name), "")
    m = _INDEXED.match(name)
    if m and m.group(1) in _STEMS:
        return (1, _STEMS.index(m.group(1)), f"{int(m.group(2)):04d}")
    stem = name.split("_", 1)[0]
    if stem in _VARIABLES or name in _VARIABLES:
        return (3, _VARIABLES.index(stem if stem in _VARIABLES else name), name)
    return (2, 0, name)


def _variables(expr: sp.Basic) -> list[sp.Symbol]:
    return [s for s in expr.free_symbols
            if isinstance(s, sp.Symbol) and _symbol_key(s.name)[0] == 3]


def _degree(term: sp.Basic) -> int:
    vs = _variables(term)
    if not vs:
        return 0
    try:
        return int(sp.Poly(term, *vs).total_degree())
    except (sp.PolynomialError, sp.GeneratorsNeeded, ValueError):
        return 1


def _symbols_key(expr: sp.Basic) -> tuple[tuple[int, int, str], ...]:
    return tuple(sorted(_symbol_key(s.name) for s in expr.free_symbols
                        if isinstance(s, sp.Symbol)))


def term_key(term: sp.Basic) -> tuple:
    """Sort key of a term of a sum: degree in the variables, then its symbols in order."""
    return (_degree(term), _symbols_key(term))


#: Display functions printed without brackets (``tr S_L``): last in a product, so that
#: nothing follows them that would read as their argument.
_PREFIX_FUNCTIONS = ("Tr", "SqNorm")


def factor_key(f: sp.Basic) -> tuple:
    """Sort key of a factor of a product: numbers, symbols (in order), display functions,
    sums and powers of sums, then functions printed without brackets (``tr S_L``)."""
    if f.is_Number:
        return (0, ())
    base = f.base if isinstance(f, sp.Pow) else f
    if type(base).__name__ in _PREFIX_FUNCTIONS:
        return (4, _symbols_key(base))
    if isinstance(base, sp.Add):
        return (3, _symbols_key(base))
    if isinstance(base, sp.Symbol):
        return (1, (_symbol_key(base.name),))
    return (2, _symbols_key(base))


def human_terms(expr: sp.Add) -> list[sp.Basic]:
    """The terms of ``expr`` in page order, never led by a minus when a term is positive."""
    terms = sorted(sp.Add.make_args(expr), key=term_key)
    if terms and terms[0].could_extract_minus_sign():
        first = next((t for t in terms if not t.could_extract_minus_sign()), None)
        if first is not None:
            terms.remove(first)
            terms.insert(0, first)
    return terms


class PaperPrinter(LatexPrinter):
    """LatexPrinter in page order, with the display objects typeset (see the module)."""

    def _as_ordered_terms(self, expr: sp.Basic, order: str | None = None) -> list[sp.Basic]:
        if isinstance(expr, sp.Add):
            return human_terms(expr)
        return super()._as_ordered_terms(expr, order=order)

    def ordered_factors(self, expr: sp.Basic) -> list[sp.Basic]:
        """The factors of a product in page order (the layout engine asks for them)."""
        return sorted(sp.Mul.make_args(expr), key=factor_key)

    def _factors_tex(self, factors: list[sp.Basic]) -> str:
        """A product's factors; a lone factor (a fraction's numerator) needs no brackets."""
        sep = self._settings["mul_symbol_latex"]
        out = ""
        for i, f in enumerate(factors):
            tex = self._print(f)
            if len(factors) > 1 and self._needs_mul_brackets(
                    f, first=(i == 0), last=(i == len(factors) - 1)):
                tex = r"\left(" + tex + r"\right)"
            if out:
                num_next = bool(re.match(r"^[0-9.]", tex)) and bool(re.search(r"[0-9.}]$", out))
                out += self._settings["mul_symbol_latex_numbers"] if num_next else sep
            out += tex
        return out

    def _print_Mul(self, expr: sp.Expr) -> str:
        args = expr.args
        if isinstance(expr, sp.Mul) and (args[0] is sp.S.One
                                         or any(isinstance(x, sp.Number) for x in args[1:])):
            return super()._print_Mul(expr)  # an unevaluated product: as built
        tex = ""
        if expr.could_extract_minus_sign():
            expr = -expr
            tex = "- "
            if expr.is_Add:
                return tex + r"\left(" + self._print(expr) + r"\right)"
        numer, denom = sp.fraction(expr, exact=True)
        snum = self._factors_tex(self.ordered_factors(numer)) if numer != 1 else "1"
        if denom == 1:
            return tex + snum
        sden = self._factors_tex(self.ordered_factors(denom))
        return tex + r"\frac{" + snum + "}{" + sden + "}"

    def _print_Pow(self, expr: sp.Pow) -> str:
        """A starred symbol raised to a power as ``a^{*2}``, not ``(a^{*})^{2}``."""
        if isinstance(expr.base, sp.Symbol) and expr.exp.is_Integer and expr.exp > 0:
            base = self._print(expr.base)
            if base.endswith("^{*}"):
                return base[:-1] + self._print(expr.exp) + "}"
        return super()._print_Pow(expr)

    # ------------------------------------------------------------------ display objects

    def _call(self, name: str, expr: sp.Basic, exp: str | None = None) -> str:
        inner = ", ".join(self._print(x) for x in expr.args)
        big = r"\frac" in inner
        tex = (name + (r"\left(" if big else "(") + inner + (r"\right)" if big else ")"))
        return tex + (f"^{{{exp}}}" if exp else "")

    def _print_MSE(self, expr: sp.Basic, exp: str | None = None) -> str:
        return self._call(r"\operatorname{MSE}", expr, exp)

    def _print_B(self, expr: sp.Basic, exp: str | None = None) -> str:
        return self._call("B", expr, exp)

    def _print_Function(self, expr: sp.Basic, exp: str | None = None) -> str:
        """``MSE_incl(a)`` (an undefined function of a setting) as MSE with an upright
        subscript; any other function as sympy prints it."""
        m = re.fullmatch(r"(MSE|B)_([A-Za-z]+)", type(expr).__name__)
        if m is None:
            return super()._print_Function(expr, exp)
        head = r"\operatorname{MSE}" if m.group(1) == "MSE" else "B"
        return self._call(head + r"_{\mathrm{" + m.group(2) + "}}", expr, exp)

    def _print_Var(self, expr: sp.Basic, exp: str | None = None) -> str:
        return self._call(r"\operatorname{Var}", expr, exp)

    def _print_Cov(self, expr: sp.Basic, exp: str | None = None) -> str:
        return self._call(r"\operatorname{Cov}", expr, exp)

    def _print_Expect(self, expr: sp.Basic, exp: str | None = None) -> str:
        inner = self._print(expr.args[0])
        if len(expr.args) > 1:
            inner += r" \mid " + ", ".join(self._print(x) for x in expr.args[1:])
        tex = r"\operatorname{E}\left[" + inner + r"\right]"
        return tex + (f"^{{{exp}}}" if exp else "")

    def _print_Tr(self, expr: sp.Basic, exp: str | None = None) -> str:
        tex = r"\operatorname{tr} " + self._print(expr.args[0])
        return r"\left(" + tex + r"\right)^{" + exp + "}" if exp else tex

    def _print_SqNorm(self, expr: sp.Basic, exp: str | None = None) -> str:
        tex = r"\lVert " + self._print(expr.args[0]) + r" \rVert^{2}"
        return r"\left(" + tex + r"\right)^{" + exp + "}" if exp else tex

    def _print_Coeff(self, expr: sp.Basic, exp: str | None = None) -> str:
        return "[" + self._print(expr.args[1]) + r"]\," + self._print(expr.args[0])

    def _primed(self, fn: sp.Basic, order: int, at: sp.Basic) -> str | None:
        """``MSE''(a)`` for a derivative of a display function of one argument."""
        name = {"MSE": r"\operatorname{MSE}", "B": "B"}.get(type(fn).__name__)
        if name is None or len(fn.args) != 1 or not 1 <= order <= 3:
            return None
        return name + "'" * order + "(" + self._print(at) + ")"

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        fn = expr.expr
        if len(expr.variable_count) == 1 and fn.args and expr.variable_count[0][0] == fn.args[0]:
            tex = self._primed(fn, int(expr.variable_count[0][1]), fn.args[0])
            if tex:
                return tex
        return super()._print_Derivative(expr)

    def _print_Subs(self, expr: sp.Subs) -> str:
        inner = expr.expr
        if isinstance(inner, sp.Derivative) and len(expr.variables) == 1 \
                and len(inner.variable_count) == 1 and inner.expr.args \
                and inner.expr.args[0] == expr.variables[0] == inner.variable_count[0][0]:
            tex = self._primed(inner.expr, int(inner.variable_count[0][1]), expr.point[0])
            if tex:
                return tex
        return super()._print_Subs(expr)

    def _print_Iff(self, expr: sp.Basic) -> str:
        parts = []
        for arg in expr.args:
            tex = self._print(arg)
            compound = arg.is_Boolean and not isinstance(arg, sp.core.relational.Relational)
            parts.append(r"\left(" + tex + r"\right)" if compound else tex)
        return (" " + expr.connective + " ").join(parts)

    def _print_UnevaluatedExpr(self, expr: sp.UnevaluatedExpr) -> str:
        tex = self._print(expr.args[0])
        return r"\left(" + tex + r"\right)" if isinstance(expr.args[0], sp.Add) else tex
