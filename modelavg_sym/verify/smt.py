"""SMT route: machine-checked proofs of the registered theorems with z3.

Every theorem's assumptions and claim (sympy relations and Booleans over rational
functions of its variables) are translated to z3 *automatically*; no theorem has a
hand-written z3 formula.  The solver gets

    domain(variables) ∧ side conditions ∧ definedness ∧ assumptions ∧ ¬claim

and answers ``unsat`` (the theorem is **proved** for all real values), ``sat`` (it is
**refuted**; the model is a counterexample, converted to exact sympy Rationals and checked
by substituting it into the sympy expressions), or ``unknown`` (time limit reached, or
the formula is outside the fragment handled here).  z3's nonlinear real arithmetic
(``SolverFor("QF_NRA")``, i.e. nlsat, a complete decision procedure for the first-order
theory of the reals) decides every formula of this fragment given enough time.

Translation of one relation ``lhs ? rhs`` (``?`` one of = ≠ < ≤ > ≥):

* ``e = together(lhs - rhs) = num/den`` with polynomials ``num``, ``den``;
* ``e = 0  ⇔  num = 0`` and ``e ≠ 0  ⇔  num ≠ 0`` (given ``den ≠ 0``);
* for an order relation the sign of ``e`` is the sign of ``num * den``; so that degrees
  stay low, ``den`` is factored (``den = k ∏ f_i^m_i``) and only the factors of odd
  multiplicity are kept: ``e ? 0  ⇔  sign(k) num ∏_{m_i odd} f_i ? 0`` (given ``den ≠ 0``).
  For example ``p/q > 0  ⇔  p q > 0 ∧ q ≠ 0``.

**Definedness.**  Every denominator occurring anywhere in the assumptions or the claim
(the base of every negative power, recursively) must be non-zero; these conditions are
asserted as extra hypotheses, so what is proved is "the claim holds wherever it is
defined".  A second query checks whether the assumptions already imply the claim's
definedness; the result is reported as ``definedness = implied`` (then nothing was
assumed) or ``assumed`` (the proof covers the points where the claim is defined).

**Domains.**  Variables are real.  The sympy symbol assumptions are asserted
(``positive`` → ``x > 0``, ``nonnegative`` → ``x ≥ 0``, ``negative``, ``nonpositive``,
``nonzero``; a positive integer gets ``x ≥ 1``).  Integer symbols are otherwise relaxed to
reals (a proof over the reals covers the integers; a counterexample is re-solved with the
integer variables rounded down, then up, and reported as unknown if that fails).

**Algebraic functions.**  ``sqrt`` and rational powers, ``Abs``, ``Max`` and ``Min`` are
replaced by auxiliary variables with defining constraints (``y ≥ 0 ∧ y² = b`` for
``y = sqrt(b)``, with ``b ≥ 0`` required for definedness), which keeps the formula in the
decidable fragment.  Anything else (exp, log, Piecewise, ...) reports ``unknown`` with the
reason.

**False variants.**  For every proved theorem the deliberately false variant
(``Theorem.false_variant``, else the theorem without its last assumption) is run too; it
must come back ``refuted`` with a counterexample that, substituted into the sympy
expressions, satisfies its assumptions and violates its claim.  Its status is reported
in ``RouteResult.extra["false_variant"]``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

import sympy as sp
import z3

from modelavg_sym.theorems import Theorem
from modelavg_sym.verify import RouteResult
from modelavg_sym.verify.profiles import PROFILES
from modelavg_sym.verify.rational import holds

SmtStatus = Literal["proved", "refuted", "unknown", "failed"]

#: ``Outcome.detail`` of a theorem whose hypotheses can never hold.
VACUOUS = "vacuous: hypotheses are unsatisfiable"


class NotInFragment(ValueError):
    """The formula uses a construct the translation does not handle (exp, log, ...)."""


def default_timeout(profile: str = "ci") -> float:
    """Time limit per query in seconds: MODELAVG_SMT_TIMEOUT, else the profile's
    (:data:`modelavg_sym.verify.profiles.PROFILES`; ``ci``'s for an unknown profile)."""
    env = os.environ.get("MODELAVG_SMT_TIMEOUT")
    if env:
        value = float(env)
        if not value > 0:
            raise ValueError(f"MODELAVG_SMT_TIMEOUT must be > 0 seconds, got {env!r}")
        return value
    return PROFILES.get(profile, PROFILES["ci"]).smt_timeout


def _z3_rational(q: sp.Rational, ctx: z3.Context) -> z3.ArithRef:
    return z3.Q(int(q.p), int(q.q), ctx) if q.q != 1 else z3.RealVal(int(q.p), ctx)


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
        num, den = sp.fraction(sp.together(e))
        num, den = sp.expand(num), sp.expand(den)
        if den.is_Number:
            coeff, odd = den, []
        else:
            self.defined.append(self.polynomial(den) != 0)
            coeff, factors = sp.factor_list(den)
            odd = [f for f, m in factors if m % 2 == 1]
        if op in (sp.Equality, sp.Unequality):
            lhs = self.polynomial(num)
            return lhs == 0 if op is sp.Equality else lhs != 0
        signed = sp.sign(coeff) * num * sp.Mul(*odd)
        t = self.polynomial(sp.expand(signed)) if len(odd) <= 1 else z3.Product(
            self.polynomial(sp.sign(coeff) * num), *(self.polynomial(f) for f in odd))
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


# ---------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """Result of proving ``assumptions ⇒ claim``.

    Attributes:
        status: ``proved``, ``refuted``, ``unknown``, or ``failed`` when the hypotheses
            (domain, assumptions and the claim's definedness) are unsatisfiable, so that a
            proof would be vacuous.
        counterexample: for ``refuted``, exact values of the variables.
        exact: False when some counterexample value is a rational approximation of an
            irrational algebraic number that could not be replaced by a rational point
            (the counterexample was then checked at the exact algebraic point).
        definedness: ``implied`` (the assumptions imply every denominator in the claim is
            non-zero), ``assumed`` (proved where the claim is defined) or ``unknown``.
        detail: one line for humans.
        seconds: wall time of the queries.
    """

    status: SmtStatus
    counterexample: dict[sp.Symbol, sp.Rational] = field(default_factory=dict)
    exact: bool = True
    definedness: str = "unknown"
    detail: str = ""
    seconds: float = 0.0


def _solver(timeout: float, ctx: z3.Context) -> z3.Solver:
    s = z3.SolverFor("QF_NRA", ctx=ctx)
    s.set("timeout", max(1, int(timeout * 1000)))
    return s


def _algebraic_value(v: z3.ExprRef) -> sp.Expr:
    """The exact real algebraic number of a z3 model entry (a radical or ``CRootOf``)."""
    if z3.is_rational_value(v):
        return _model_value(v)[0]
    coeffs = [sp.Integer(int(str(k))) for k in v.poly()]   # ascending powers
    t = sp.Dummy("t")
    poly = sp.Poly(sum(k * t**i for i, k in enumerate(coeffs)), t)
    approx = _model_value(v)[0]
    return min(sp.real_roots(poly), key=lambda r: abs(sp.N(r - approx, 40)))


def _model_value(v: z3.ExprRef) -> tuple[sp.Rational, bool]:
    """Exact value of a model entry (exact=False for a rational approximation)."""
    if z3.is_rational_value(v):
        return sp.Rational(int(v.numerator_as_long()), int(v.denominator_as_long())), True
    if z3.is_algebraic_value(v):
        approx = v.approx(30)
        num, den = int(approx.numerator_as_long()), int(approx.denominator_as_long())
        return sp.Rational(num, den), False
    raise NotInFragment(f"unexpected model value {v}")


def is_counterexample(assumptions: Sequence[sp.Basic], claim: sp.Basic,
                      point: Mapping[sp.Symbol, sp.Rational]) -> bool:
    """True iff, in exact sympy arithmetic, every assumption holds at ``point`` and the claim
    is false there (the independent check of a z3 model)."""
    pt = dict(point)
    return all(_truth(x, pt) is True for x in assumptions) and _truth(claim, pt) is False


def _truth(expr: sp.Basic, point: dict[sp.Symbol, sp.Rational]) -> bool | None:
    """:func:`modelavg_sym.verify.rational.holds`, falling back to plain sympy substitution
    where its fast exact path cannot evaluate an expression (for example ``sqrt``)."""
    try:
        return holds(expr, point)
    except Exception:  # the fast path lambdifies; anything it cannot handle, sympy can
        val = sp.simplify(expr.subs(point))
        return bool(val) if val in (sp.true, sp.false) else None


def _rational_nearby(assumptions: Sequence[sp.Basic], claim: sp.Basic,
                     point: dict[sp.Symbol, sp.Rational]) -> dict[sp.Symbol, sp.Rational] | None:
    """A rational point near ``point`` that is still a counterexample (strict inequalities
    leave an open set around an algebraic model), trying coarse rationals first."""
    for max_den in (10, 100, 10**4, 10**8, 10**16):
        cand = {k: sp.Rational(Fraction(int(v.p), int(v.q)).limit_denominator(max_den))
                for k, v in point.items()}
        if is_counterexample(assumptions, claim, cand):
            return cand
    return None


def prove(assumptions: Sequence[sp.Basic], claim: sp.Basic, variables: Sequence[sp.Symbol],
          timeout: float = 10.0) -> Outcome:
    """Decide ``∀ variables: domain ∧ defined ∧ assumptions ⇒ claim`` with z3.

    ``timeout`` is the limit in seconds for each z3 query.
    """
    t0 = time.perf_counter()

    def done(out: Outcome) -> Outcome:
        out.seconds = round(time.perf_counter() - t0, 3)
        return out

    try:
        tr = Translator(variables)
        hyps = [tr.boolean(x) for x in assumptions]
        n_def = len(tr.defined)
        goal = tr.boolean(claim)
        claim_defined = tr.defined[n_def:]
    except NotInFragment as exc:
        return done(Outcome("unknown", detail=f"outside the decidable fragment: {exc}"))
    base = [*tr.domain(), *tr.side, *tr.defined[:n_def], *hyps]

    s = _solver(timeout, tr.ctx)
    s.add(*base, *claim_defined, z3.Not(goal))
    res = s.check()
    if res == z3.unknown:
        return done(Outcome("unknown", detail=f"z3 gave up ({s.reason_unknown()}) "
                                              f"with a time limit of {timeout:g} s per query"))
    if res == z3.unsat:
        # unsat is only a proof if there is something to prove: the hypotheses (with the
        # claim's definedness) must be satisfiable, else every claim would be "proved".
        sv = _solver(timeout, tr.ctx)
        sv.add(*base, *claim_defined)
        rv = sv.check()
        if rv == z3.unsat:
            return done(Outcome("failed", detail=VACUOUS))
        if rv == z3.unknown:
            return done(Outcome("unknown", detail="could not show the hypotheses satisfiable "
                                                  f"(z3: {sv.reason_unknown()}) with a time "
                                                  f"limit of {timeout:g} s per query"))
        definedness = "implied"
        if claim_defined:
            s2 = _solver(timeout, tr.ctx)
            s2.add(*base, z3.Not(z3.And(*claim_defined)))
            r2 = s2.check()
            definedness = ("implied" if r2 == z3.unsat else
                           "assumed" if r2 == z3.sat else "unknown")
        note = ("" if definedness == "implied"
                else " wherever the claim is defined (denominators non-zero)")
        return done(Outcome("proved", definedness=definedness,
                            detail=f"z3: assumptions ∧ ¬claim is unsat{note}"))

    # sat: a counterexample.  Integer variables were relaxed; round them and re-solve.
    model = s.model()
    ints = tr.integer_variables()
    values = {sym: _model_value(model.eval(tr.vars[sym], model_completion=True))[0]
              for sym in ints}
    if any(v.q != 1 for v in values.values()):
        for rounding in (sp.floor, sp.ceiling):
            s.push()
            s.add(*(tr.vars[k] == z3.RealVal(int(rounding(v)), tr.ctx) for k, v in values.items()))
            found = s.check() == z3.sat
            if found:
                model = s.model()
                break
            s.pop()
        else:
            return done(Outcome("unknown", detail="counterexample over the reals only; "
                                                  "no integral one found by rounding"))
    point: dict[sp.Symbol, sp.Rational] = {}
    raw = {sym: model.eval(tr.vars[sym], model_completion=True) for sym in variables}
    exact = True
    for sym in variables:
        val, ok = _model_value(raw[sym])
        point[sym] = val
        exact = exact and ok
    if not exact:
        better = _rational_nearby(assumptions, claim, point)
        if better is not None:
            point, exact = better, True
    if exact:
        checked = is_counterexample(assumptions, claim, point)
        if not checked:
            return done(Outcome("unknown", counterexample=point, exact=exact,
                                detail="z3 model does not violate the claim in exact sympy "
                                       f"arithmetic (translation problem?): "
                                       f"{format_point(point)}"))
        return done(Outcome("refuted", counterexample=point, exact=True,
                            detail=f"counterexample {format_point(point)}"))
    # Only an irrational model: check it at the exact algebraic point.
    try:
        algebraic = {sym: _algebraic_value(v) for sym, v in raw.items()}
        checked = is_counterexample(assumptions, claim, algebraic)
    except Exception as exc:  # sympy could not decide at the algebraic point
        return done(Outcome("unknown", counterexample=point, exact=False,
                            detail="z3's counterexample is irrational and could not be "
                                   f"checked exactly ({exc}); approximately "
                                   f"{format_point(point)}"))
    if not checked:
        return done(Outcome("unknown", counterexample=point, exact=False,
                            detail="z3's counterexample is irrational, no rational point "
                                   "near it is a counterexample, and the exact algebraic "
                                   "point could not be confirmed to violate the claim; "
                                   f"approximately {format_point(point)}"))
    exact_txt = "{" + ", ".join(f"{k}: {v}" for k, v in algebraic.items()) + "}"
    return done(Outcome("refuted", counterexample=point, exact=False,
                        detail=f"counterexample {exact_txt} (irrational; checked exactly; "
                               "values reported as 30-digit rational approximations)"))


def format_point(point: Mapping[sp.Symbol, sp.Rational]) -> str:
    """``{name: value}`` in variable order, values as exact fractions."""
    return "{" + ", ".join(f"{k}: {v}" for k, v in point.items()) + "}"


#: The perturbation of an identity's right-hand side in its default false variant.
IDENTITY_PERTURBATION = sp.Rational(1, 1000)


def false_variant(thm: Theorem) -> tuple[tuple[sp.Basic, ...], sp.Basic]:
    """The deliberately false version of ``thm``.

    ``thm.false_variant`` when set; otherwise, for an identity ``lhs = rhs`` (which holds
    wherever it is defined, whatever the assumptions), ``lhs = rhs + 1/1000`` under the
    same assumptions; otherwise ``thm`` without its last assumption.
    """
    if thm.false_variant is not None:
        assumptions, claim = thm.false_variant
        return tuple(assumptions), claim
    if thm.is_identity:
        claim = thm.claim
        return tuple(thm.assumptions), sp.Eq(claim.lhs, claim.rhs + IDENTITY_PERTURBATION,
                                             evaluate=False)
    return tuple(thm.assumptions[:-1]), thm.claim


def check(thm: Theorem, profile: str = "ci", timeout: float | None = None) -> RouteResult:
    """SMT route for ``thm``: prove it, and for a proved theorem refute its false variant."""
    limit = default_timeout(profile) if timeout is None else timeout
    out = prove(thm.assumptions, thm.claim, thm.variables, limit)
    extra: dict[str, Any] = {"false_variant": "not-run", "timeout": limit}
    detail = out.detail
    if out.status == "proved":
        extra["definedness"] = out.definedness
        fa, fc = false_variant(thm)
        fv = prove(fa, fc, thm.variables, limit)
        extra["false_variant"] = fv.status
        if fv.status == "refuted":
            extra["false_variant_counterexample"] = {str(k): str(v)
                                                     for k, v in fv.counterexample.items()}
            detail += f"; false variant refuted by {format_point(fv.counterexample)}"
        else:
            detail += f"; false variant NOT refuted ({fv.status}: {fv.detail})"
    elif out.status == "refuted":
        extra["counterexample"] = {str(k): str(v) for k, v in out.counterexample.items()}
        extra["counterexample_exact"] = out.exact
    if out.status == "unknown" and thm.expected_unknown:
        detail += f" (expected: {thm.expected_unknown})"
    return RouteResult(thm.name, "smt", out.status, detail=detail, extra=extra)
