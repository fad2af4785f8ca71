"""The one symbol table: each symbol's sympy object, LaTeX name and Python argument name.

Every module that needs ``s_L`` or ``Delta`` imports it from here, so assumptions
(nonnegative variances, real bias and covariance) are stated exactly once.  The LaTeX
names are defaults; :mod:`modelavg_sym.notation` can override them for a paper without
touching printed strings.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from modelavg_sym import factoring

factoring.install()  # deterministic multivariate factoring (sympy issue #20456)


@dataclass(frozen=True)
class SymbolInfo:
    """A symbol of the theory with its human names.

    Attributes:
        symbol: the sympy Symbol, carrying its assumptions.
        latex: default LaTeX for the symbol (used by the macros file).
        macro: the LaTeX macro name (without backslash) a paper can redefine.
        arg: the Python argument name of the numeric API.
        meaning: one line saying what the symbol is.
    """

    symbol: sp.Symbol
    latex: str
    macro: str
    arg: str
    meaning: str


s_L = sp.Symbol("s_L", nonnegative=True)
s_G = sp.Symbol("s_G", nonnegative=True)
Delta = sp.Symbol("Delta", real=True)
c = sp.Symbol("c", real=True)
a = sp.Symbol("a", real=True)
r = sp.Symbol("r", real=True)
theta = sp.Symbol("theta", real=True)

SYMBOLS: dict[str, SymbolInfo] = {
    info.symbol.name: info
    for info in (
        SymbolInfo(s_L, r"s_L", "varL", "var_local", "variance of the local estimator L"),
        SymbolInfo(s_G, r"s_G", "varG", "var_global", "variance of the global estimator G"),
        SymbolInfo(Delta, r"\Delta", "bias", "bias", "bias of G: E[G] - theta"),
        SymbolInfo(c, r"c", "cov", "cov", "covariance Cov(L, G)"),
        SymbolInfo(a, r"a", "wt", "weight", "weight on the global model"),
        SymbolInfo(r, r"r", "ratio", "ratio", "weight relative to the optimum, a / a*"),
        SymbolInfo(theta, r"\theta", "target", "theta", "the local node's true mean"),
    )
}

def base_assumptions() -> list[sp.Basic]:
    """Assumptions every two-estimator theorem carries.

    s_L >= 0, s_G >= 0 and the Cauchy-Schwarz bound c^2 <= s_L s_G.
    """
    return [sp.Ge(s_L, 0), sp.Ge(s_G, 0), sp.Le(c**2, s_L * s_G)]
