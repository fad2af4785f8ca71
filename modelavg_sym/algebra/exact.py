"""Exact rational evaluation of derived expressions (Python ``Fraction`` arithmetic).

Used by the exact-rational verification route and by the compiled API's fallback for
extreme inputs: a float is an exact binary rational, so evaluating a rational function
with ``Fraction`` and converting back with ``float()`` gives the correctly rounded result,
whatever the magnitudes involved.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from functools import lru_cache

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter


class FractionPrinter(PythonCodePrinter):
    """Prints rationals as ``Fraction(p, q)`` so lambdified code computes exactly."""

    def _print_Rational(self, expr: sp.Rational) -> str:
        return f"Fraction({expr.p}, {expr.q})"

    def _print_Half(self, expr: sp.Rational) -> str:
        return self._print_Rational(expr)


@lru_cache(maxsize=4096)
def exact_function(expr: sp.Expr, variables: tuple[sp.Symbol, ...]) -> Callable[..., Fraction]:
    """``expr`` (a rational function) as a Python function of ``Fraction`` arguments."""
    return sp.lambdify(variables, expr, modules=[{"Fraction": Fraction}],
                       printer=FractionPrinter, docstring_limit=0)
