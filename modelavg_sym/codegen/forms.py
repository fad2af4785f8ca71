"""What the numeric layer evaluates, chosen in one place: the derived form of each
quantity, its argument symbols and the common-subexpression elimination of the numpy
sources shown in ``reports/compiled/``.

The forms come from :func:`modelavg_sym.derive.core.two_estimator` (never retyped):

* ``optimal_weight``: a* = (s_L - c) / D;
* ``mse``: the unexpanded sum of second moments (1-a)^2 s_L + a^2 (s_G + Delta^2)
  + 2a(1-a)c, a sum of nonnegative terms when c >= 0 (no cancellation);
* ``benefit``: the product form D a (2a* - a) (R4), never a difference of two MSEs;
* ``min_mse``: the closed form (s_L (s_G + Delta^2) - c^2) / D (R3), accurate also at the
  Cauchy-Schwarz boundary where s_L (1 - a*) + c a* would cancel;
* ``interval_high``: 2a*, the upper root of B (R5);
* ``D`` = Delta^2 + s_L + s_G - 2c, the derived E[(G - L)^2].

The generated code evaluates each as a rational function P / Q
(:mod:`modelavg_sym.codegen.rounding`): exactly in integers, and in double-double with a
certified bound, so that every result is correctly rounded whatever the form's
floating-point conditioning.  The integer code sums D as Delta^2 + u_L + u_G with
u_L = s_L - c and u_G = s_G - c, the derived D with s_L = u_L + c and s_G = u_G + c
substituted (:func:`d_in_differences`; u_L is shared with the numerators).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import sympy as sp

from modelavg_sym.derive.core import two_estimator
from modelavg_sym.symbols import SYMBOLS, Delta, a, c, s_G, s_L

#: The parameters of the two-estimator model, in API argument order.
PARAM_SYMBOLS: tuple[sp.Symbol, ...] = (s_L, s_G, Delta, c)

#: Generated functions: public name -> (form evaluated, takes a weight, policy when D <= 0:
#: "raise" (UndefinedOptimumError), "zero" (the value is 0) or "" (D not needed)).
SPECS: dict[str, tuple[str, bool, str]] = {
    "optimal_weight": ("optimal_weight", False, "raise"),
    "mse": ("mse", True, ""),
    "benefit": ("benefit", True, "zero"),
    "min_mse": ("min_mse", False, "raise"),
    "interval_high": ("interval_high", False, "raise"),
}
#: Functions with a compiled loop (numba) for arrays.
FUSED: tuple[str, ...] = tuple(SPECS)

#: Largest finite float64.
MAX = float(np.finfo(np.float64).max)

#: The differences every generated form is evaluated with (see the module docstring).
U_L, U_G = sp.Symbol("u_L"), sp.Symbol("u_G")


def d_in_differences() -> sp.Expr:
    """The derived D with s_L = u_L + c and s_G = u_G + c substituted: Delta^2 + u_L + u_G."""
    d = sp.expand(two_estimator()["D"].subs({s_L: U_L + c, s_G: U_G + c}, simultaneous=True))
    if d.has(c, s_L, s_G):  # the substitution must leave D in the differences alone
        raise AssertionError(f"D does not reduce to Delta and the differences: {d}")
    return d


def cse(exprs: Any) -> tuple[list[tuple[sp.Symbol, sp.Expr]], Any]:
    """Common-subexpression elimination for every generated path (and lambdify's ``cse``
    hook): first u_L, u_G (D rewritten by :func:`d_in_differences`), then sympy's ``cse``.

    Returns ``(assignments, reduced)``; ``reduced`` is one expression when ``exprs`` is one,
    else a list.
    """
    single = isinstance(exprs, sp.Basic)
    exprs = [exprs] if single else list(exprs)
    D = two_estimator()["D"]
    d_new = d_in_differences()
    rewritten = [
        e.subs({D: d_new, -D: -d_new}).subs({s_L - c: U_L, c - s_L: -U_L}) for e in exprs
    ]
    subs, reduced = sp.cse(rewritten)
    used = [*reduced, *(rhs for _lhs, rhs in subs)]
    pre = [(u, rhs) for u, rhs in ((U_L, s_L - c), (U_G, s_G - c))
           if any(e.has(u) for e in used)]
    return pre + subs, (reduced[0] if single else reduced)


@cache
def forms() -> dict[str, tuple[sp.Expr, tuple[sp.Symbol, ...]]]:
    """The expression (and its argument symbols) of each generated quantity."""
    d = two_estimator()
    return {
        "optimal_weight": (d["optimal_weight"], PARAM_SYMBOLS),
        "mse": (d["mse_terms"], (a, *PARAM_SYMBOLS)),
        "benefit": (d["benefit_factored"], (a, *PARAM_SYMBOLS)),
        "min_mse": (d["min_mse"], PARAM_SYMBOLS),
        "interval_high": (d["benefit_root_high"], PARAM_SYMBOLS),
        "D": (d["D"], PARAM_SYMBOLS),
    }


def api_args(name: str) -> tuple[str, ...]:
    """The public argument names of form ``name`` (from the symbol table)."""
    return tuple(SYMBOLS[s.name].arg for s in forms()[name][1])
