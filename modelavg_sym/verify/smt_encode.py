"""Translation of sympy relations and Booleans into z3 (the SMT route's encoder).

See :mod:`modelavg_sym.verify.smt` for the rules (relations through numerator and the odd
factors of the denominator, definedness conditions, variable domains, auxiliary variables
for ``sqrt``, ``Abs``, ``Max`` and ``Min``).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import sympy as sp
import z3


class NotInFragment(ValueError):
    """The formula uses a construct the translation does not handle (exp, log, ...)."""


def _z3_rational(q: sp.Rational, ctx: z3.Context) -> z3.ArithRef:
    return z3.Q(int(q.p), int(q.q), ctx) if q.q != 1 else z3.RealVal(int(q.p), ctx)


@lru_cache(maxsize=4096)
def cleared(e: sp.Expr) -> tuple[sp.Expr, sp.Expr, tuple[sp.Expr, ...], sp.Expr]:
    """``e`` as one fraction: its numerator and denominator expanded, the denominator's
    factors of odd multiplicity, and the numerator times the sign of the denominator's
    constant factor (times its one odd factor, expanded, when there is only one): the
    polynomial whose sign is the sign of ``e``, with the odd factors beyond one left to
    multiply.  The sympy half of translating a relation, memoised: the theorems of one
    setting and their false variants share most relations and denominators (the z3 half
    is built anew in each context)."""
    num, den = sp.fraction(sp.together(e))
    num, den = sp.expand(num), sp.expand(den)
    coeff, odd = (den, ()) if den.is_Number else _odd_factors(den)
    signed = (sp.expand(sp.sign(coeff) * num * sp.Mul(*odd)) if len(odd) <= 1
              else sp.sign(coeff) * num)
    return num, den, odd, signed


@lru_cache(maxsize=4096)
def _odd_factors(den: sp.Expr) -> tuple[sp.Expr, tuple[sp.Expr, ...]]:
    """The constant factor of the polynomial ``den`` and its factors of odd multiplicity
    (memoised: the relations of one setting share a few denominators, a*'s above all)."""
    coeff, factors = sp.factor_list(den)
    return coeff, tuple(f for f, m in factors if m % 2 == 1)


class Translator:
    """Translate sympy relations/Booleans over real variables into z3.

    Translating records, as a side effect, the definedness conditions (``den ≠ 0``) in
    :attr:`defined` and the defining constraints of auxiliary variables in :attr:`side`.
    """

    def __init__(self, variables: Iterable[sp.Symbol]):
        # A fresh context per translation: z3's models depend on the terms created before,
        # so sharing the global context would make counterexamples depend on history.
        self.ctx = z3.Context()
        self.vars: dict[sp.Symbol, z3.ArithRef] = {}
        for v in sorted(set(variables), key=lambda s: s.name):
            self._var(v)
        self.defined: list[z3.BoolRef] = []
        self.side: list[z3.BoolRef] = []
        self._aux: dict[sp.Basic, sp.Symbol] = {}
        self._bool_cache: dict[sp.Basic, z3.BoolRef] = {}
        self._defined_seen: set[sp.Basic] = set()

    # -- variables -----------------------------------------------------------------
    def _var(self, sym: sp.Symbol) -> z3.ArithRef:
        if sym not in self.vars:
            name = sym.name if not isinstance(sym, sp.Dummy) else f"aux!{len(self.vars)}"
            if any(str(v) == name for v in self.vars.values()):
                name = f"{name}!{len(self.vars)}"
            self.vars[sym] = z3.Real(name, self.ctx)
        return self.vars[sym]

    def domain(self) -> list[z3.BoolRef]:
        """Constraints from the sympy assumptions of the (non-auxiliary) symbols."""
        out: list[z3.BoolRef] = []
        for sym, v in self.vars.items():
            if isinstance(sym, sp.Dummy):
                continue
            if sym.is_positive:
                out.append(v >= 1 if sym.is_integer else v > 0)
            elif sym.is_nonnegative:
                out.append(v >= 0)
            elif sym.is_negative:
                out.append(v <= -1 if sym.is_integer else v < 0)
            elif sym.is_nonpositive:
                out.append(v <= 0)
            elif sym.is_nonzero:
                out.append(v != 0)
        return out

    def integer_variables(self) -> list[sp.Symbol]:
        return [s for s in self.vars if not isinstance(s, sp.Dummy) and s.is_integer]

    # -- expressions ---------------------------------------------------------------
    def _new_aux(self, key: sp.Basic) -> sp.Symbol:
        if key not in self._aux:
            y = sp.Dummy("aux", real=True)
            self._aux[key] = y
            self._var(y)
        return self._aux[key]

    def rationalise(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with every non-rational subterm replaced by an auxiliary symbol."""
        if expr.is_Symbol:
            if expr not in self.vars:
                raise NotInFragment(f"undeclared symbol {expr}")
            return expr
        if expr.is_Rational:
            return expr
        if expr.is_Float:
            return sp.Rational(expr)
        if expr.is_Number or expr.is_NumberSymbol:
            raise NotInFragment(f"non-rational constant {expr}")
        if isinstance(expr, sp.Add | sp.Mul):
            return expr.func(*(self.rationalise(t) for t in expr.args))
        if isinstance(expr, sp.Pow):
            base, exp = self.rationalise(expr.base), expr.exp
            if exp.is_Integer:
                return base**exp
            if exp.is_Rational:
                p, q = int(exp.p), int(exp.q)
                root = self._root(base, q)
                return root ** p
            raise NotInFragment(f"non-rational exponent in {expr}")
        if isinstance(expr, sp.Abs):
            x = self.rationalise(expr.args[0])
            key = sp.Abs(x)
            if key not in self._aux:
                y = self._new_aux(key)
                self.side.append(self.boolean(sp.And(y >= 0, sp.Eq(y**2, x**2))))
            return self._aux[key]
        if isinstance(expr, sp.Max | sp.Min):
            xs = [self.rationalise(t) for t in expr.args]
            key = expr.func(*xs, evaluate=False)
            if key not in self._aux:
                y = self._new_aux(key)
                bounds = [y >= x if isinstance(expr, sp.Max) else y <= x for x in xs]
                self.side.append(self.boolean(sp.And(*bounds, sp.Or(*(sp.Eq(y, x) for x in xs)))))
            return self._aux[key]
        raise NotInFragment(f"{type(expr).__name__} is outside the real-algebraic fragment: {expr}")

    def _root(self, base: sp.Expr, q: int) -> sp.Symbol:
        """Auxiliary y = base^(1/q) (real root; base ≥ 0 required when q is even)."""
        key = sp.Pow(base, sp.Rational(1, q), evaluate=False)
        if key not in self._aux:
            y = self._new_aux(key)
            if q % 2 == 0:
                nonneg = self.relation(sp.Ge(base, 0, evaluate=False))
                self.defined.append(nonneg)
                # Conditional, so that the side condition does not itself force base >= 0
                # (which would hide an undefined point from the definedness check).
                self.side.append(z3.Implies(nonneg,
                                            self.boolean(sp.And(y >= 0, sp.Eq(y**q, base)))))
            else:
                self.side.append(self.relation(sp.Eq(y**q, base, evaluate=False)))
        return self._aux[key]

    def polynomial(self, expr: sp.Expr) -> z3.ArithRef:
        """z3 term of a polynomial expression (no negative or fractional powers)."""
        if expr.is_Symbol:
            return self._var(expr)
        if expr.is_Rational:
            return _z3_rational(expr, self.ctx)
        if isinstance(expr, sp.Add):
            terms = [self.polynomial(t) for t in expr.args]
            return z3.Sum(*terms) if len(terms) > 1 else terms[0]
        if isinstance(expr, sp.Mul):
            factors = [self.polynomial(t) for t in expr.args]
            return z3.Product(*factors) if len(factors) > 1 else factors[0]
        if isinstance(expr, sp.Pow) and expr.exp.is_Integer and expr.exp >= 0:
            base = self.polynomial(expr.base)
            n = int(expr.exp)
            if n == 0:
                return z3.RealVal(1, self.ctx)
            return z3.Product(*([base] * n)) if n > 1 else base
        raise NotInFragment(f"not a polynomial: {expr}")

    def _require_defined(self, expr: sp.Expr) -> None:
        """Record ``b ≠ 0`` for the base ``b`` of every negative power in ``expr``."""
        for sub in sp.preorder_traversal(expr):
            if isinstance(sub, sp.Pow) and sub.exp.is_negative \
                    and sub.base not in self._defined_seen:
                self._defined_seen.add(sub.base)
                self.defined.append(self.relation(sp.Ne(sub.base, 0, evaluate=False)))

    def relation(self, rel: sp.Basic) -> z3.BoolRef:
        """z3 form of ``lhs ? rhs`` with denominators cleared (see the module docstring)."""
        op = type(rel)
        e = self.rationalise(sp.sympify(rel.lhs - rel.rhs))
        self._require_defined(e)
        num, den, odd, signed = cleared(e)
        if not den.is_Number:
            self.defined.append(self.polynomial(den) != 0)
        if op in (sp.Equality, sp.Unequality):
            lhs = self.polynomial(num)
            return lhs == 0 if op is sp.Equality else lhs != 0
        t = self.polynomial(signed) if len(odd) <= 1 else z3.Product(
            self.polynomial(signed), *(self.polynomial(f) for f in odd))
        if op is sp.StrictLessThan:
            return t < 0
        if op is sp.LessThan:
            return t <= 0
        if op is sp.StrictGreaterThan:
            return t > 0
        if op is sp.GreaterThan:
            return t >= 0
        raise NotInFragment(f"unsupported relation {op.__name__}")

    def boolean(self, f: sp.Basic) -> z3.BoolRef:
        """z3 form of a sympy Boolean formula of relations."""
        if f in self._bool_cache:
            return self._bool_cache[f]
        if f is sp.true or f is True:
            out = z3.BoolVal(True, self.ctx)
        elif f is sp.false or f is False:
            out = z3.BoolVal(False, self.ctx)
        elif isinstance(f, sp.Rel):
            out = self.relation(f)
        elif isinstance(f, sp.And):
            out = z3.And(*(self.boolean(x) for x in f.args))
        elif isinstance(f, sp.Or):
            out = z3.Or(*(self.boolean(x) for x in f.args))
        elif isinstance(f, sp.Not):
            out = z3.Not(self.boolean(f.args[0]))
        elif isinstance(f, sp.Implies):
            out = z3.Implies(self.boolean(f.args[0]), self.boolean(f.args[1]))
        elif isinstance(f, sp.Equivalent):
            xs = [self.boolean(x) for x in f.args]
            out = z3.And(*(xs[0] == x for x in xs[1:])) if len(xs) > 1 \
                else z3.BoolVal(True, self.ctx)
        elif isinstance(f, sp.Xor):
            out = z3.Xor(*(self.boolean(x) for x in f.args)) if len(f.args) == 2 else \
                self.boolean(sp.Xor(f.args[0], sp.Xor(*f.args[1:])))
        elif isinstance(f, sp.ITE):
            out = z3.If(*(self.boolean(x) for x in f.args))
        else:
            raise NotInFragment(f"{type(f).__name__} is not a relation or Boolean connective")
        self._bool_cache[f] = out
        return out
