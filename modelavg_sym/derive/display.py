"""Display-only mathematical objects: the notation a page writes, as sympy objects.

A derivation computes with the base symbols of :mod:`modelavg_sym.symbols`; a page
writes its left-hand sides, steps and presentation forms with *named* objects:

* the functions ``MSE(a)``, ``B(a)`` (benefit), ``E[X]``, ``Var(X)``, ``Cov(X, Y)`` and
  ``tr X`` as undefined sympy functions (:class:`MSE`, :class:`B`, :class:`Expect`, ...),
  which the LaTeX printer (:mod:`modelavg_sym.artifacts.notation`) typesets as
  ``\\operatorname{MSE}(a)``, ``\\operatorname{E}[X]``, with primes for derivatives;
* named quantities (:data:`D`, :data:`A_STAR` = a*) and the random objects of a model
  (:data:`L`, :data:`G`, :data:`THETA_A` = theta_a, :data:`A_HAT` = a-hat), as symbols.

Nothing here computes: a named object means something only through a definition
(:class:`modelavg_sym.derive.presentation.Name`), and every form that uses one is checked
equal to the derived value by substituting the definitions back.
"""

from __future__ import annotations

import sympy as sp
from sympy.logic.boolalg import BooleanFunction

__all__ = [
    "A_HAT",
    "A_STAR",
    "MSE",
    "THETA_A",
    "THETA_AHAT",
    "B",
    "Coeff",
    "Cov",
    "D",
    "Expect",
    "G",
    "L",
    "SqNorm",
    "Tr",
    "Var",
]


class MSE(sp.Function):
    """MSE(a): the mean squared error as a function of the weight (undefined)."""


class B(sp.Function):
    """B(a) = MSE(0) - MSE(a): the benefit of averaging (undefined)."""


class Expect(sp.Function):
    """E[X]: an expectation, shown unevaluated (``E(X, Y)``: E[X | Y])."""


class Var(sp.Function):
    """Var(X), shown unevaluated."""


class Cov(sp.Function):
    """Cov(X, Y), shown unevaluated."""


class Tr(sp.Function):
    """tr X, the trace of a matrix, shown unevaluated."""


class SqNorm(sp.Function):
    """|x|^2, the squared Euclidean norm of a vector, shown unevaluated."""


class Coeff(sp.Function):
    """[x^k] p: the coefficient of ``x^k`` in ``p`` (``Coeff(p, x**k)``), unevaluated."""


class Iff(BooleanFunction):
    """``A <=> B`` in the order written (sympy's Equivalent sorts its arguments); on a
    page only, checked against the claim's Equivalent."""

    connective = r"\Leftrightarrow"

    @classmethod
    def eval(cls, *args: sp.Basic) -> None:
        return None


#: D = E[(G - L)^2], the curvature of the MSE in the weight.
D = sp.Symbol("D", real=True)
#: a*, the optimal weight.
A_STAR = sp.Symbol("a^*", real=True)
#: The local and global estimators, as random variables on a page.
L = sp.Symbol("L", real=True)
G = sp.Symbol("G", real=True)
#: theta_a = (1 - a) L + a G, the weighted average.
THETA_A = sp.Symbol("theta_{a}", real=True)
#: a-hat, an estimated weight, and theta_{a-hat}, the average with it.
A_HAT = sp.Symbol("a_hat", real=True)
THETA_AHAT = sp.Symbol("theta_{a_hat}", real=True)
