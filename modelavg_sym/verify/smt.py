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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

import sympy as sp
import z3

from modelavg_sym.theorems import Theorem
from modelavg_sym.verify import RouteResult
from modelavg_sym.verify.profiles import PROFILES
from modelavg_sym.verify.rational import holds
from modelavg_sym.verify.smt_encode import NotInFragment, Translator

SmtStatus = Literal["proved", "refuted", "unknown", "failed"]

#: ``Outcome.detail`` of a theorem whose hypotheses can never hold.
VACUOUS = "vacuous: hypotheses are unsatisfiable"


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
    try:
        tr = Translator(variables)
        hyps = [tr.boolean(x) for x in assumptions]
        n_def = len(tr.defined)
        goal = tr.boolean(claim)
        claim_defined = tr.defined[n_def:]
    except NotInFragment as exc:
        out = Outcome("unknown", detail=f"outside the decidable fragment: {exc}")
    else:
        base = [*tr.domain(), *tr.side, *tr.defined[:n_def], *hyps]
        s = _solver(timeout, tr.ctx)
        s.add(*base, *claim_defined, z3.Not(goal))
        res = s.check()
        if res == z3.unknown:
            out = Outcome("unknown", detail=f"z3 gave up ({s.reason_unknown()}) "
                                            f"with a time limit of {timeout:g} s per query")
        elif res == z3.unsat:
            out = _proof(tr, base, claim_defined, timeout)
        else:
            out = _counterexample(tr, s, assumptions, claim, variables)
    out.seconds = round(time.perf_counter() - t0, 3)
    return out


def _proof(tr: Translator, base: list[Any], claim_defined: list[Any], timeout: float) -> Outcome:
    """``assumptions ∧ ¬claim`` is unsat.  That is only a proof if there is something to
    prove: the hypotheses (with the claim's definedness) must be satisfiable, else every
    claim would be "proved"."""
    sv = _solver(timeout, tr.ctx)
    sv.add(*base, *claim_defined)
    rv = sv.check()
    if rv == z3.unsat:
        return Outcome("failed", detail=VACUOUS)
    if rv == z3.unknown:
        return Outcome("unknown", detail="could not show the hypotheses satisfiable "
                                         f"(z3: {sv.reason_unknown()}) with a time "
                                         f"limit of {timeout:g} s per query")
    definedness = "implied"
    if claim_defined:
        s2 = _solver(timeout, tr.ctx)
        s2.add(*base, z3.Not(z3.And(*claim_defined)))
        r2 = s2.check()
        definedness = ("implied" if r2 == z3.unsat else
                       "assumed" if r2 == z3.sat else "unknown")
    note = ("" if definedness == "implied"
            else " wherever the claim is defined (denominators non-zero)")
    return Outcome("proved", definedness=definedness,
                   detail=f"z3: assumptions ∧ ¬claim is unsat{note}")


def _integral_model(tr: Translator, s: z3.Solver) -> z3.ModelRef | None:
    """The model, with integer variables (relaxed to reals) rounded down, then up, and the
    query re-solved; None when neither rounding gives a counterexample."""
    model = s.model()
    values = {sym: _model_value(model.eval(tr.vars[sym], model_completion=True))[0]
              for sym in tr.integer_variables()}
    if all(v.q == 1 for v in values.values()):
        return model
    for rounding in (sp.floor, sp.ceiling):
        s.push()
        s.add(*(tr.vars[k] == z3.RealVal(int(rounding(v)), tr.ctx) for k, v in values.items()))
        if s.check() == z3.sat:
            return s.model()
        s.pop()
    return None


def _counterexample(tr: Translator, s: z3.Solver, assumptions: Sequence[sp.Basic],
                    claim: sp.Basic, variables: Sequence[sp.Symbol]) -> Outcome:
    """``assumptions ∧ ¬claim`` is sat: a counterexample, checked exactly in sympy."""
    model = _integral_model(tr, s)
    if model is None:
        return Outcome("unknown", detail="counterexample over the reals only; "
                                         "no integral one found by rounding")
    raw = {sym: model.eval(tr.vars[sym], model_completion=True) for sym in variables}
    point: dict[sp.Symbol, sp.Rational] = {}
    exact = True
    for sym in variables:
        point[sym], ok = _model_value(raw[sym])
        exact = exact and ok
    if not exact:
        better = _rational_nearby(assumptions, claim, point)
        if better is not None:
            point, exact = better, True
    if exact:
        if not is_counterexample(assumptions, claim, point):
            return Outcome("unknown", counterexample=point, exact=exact,
                           detail="z3 model does not violate the claim in exact sympy "
                                  f"arithmetic (translation problem?): {format_point(point)}")
        return Outcome("refuted", counterexample=point, exact=True,
                       detail=f"counterexample {format_point(point)}")
    return _algebraic_counterexample(raw, point, assumptions, claim)


def _algebraic_counterexample(raw: Mapping[sp.Symbol, z3.ExprRef],
                              point: dict[sp.Symbol, sp.Rational],
                              assumptions: Sequence[sp.Basic], claim: sp.Basic) -> Outcome:
    """Only an irrational model: check it at the exact algebraic point."""
    try:
        algebraic = {sym: _algebraic_value(v) for sym, v in raw.items()}
        checked = is_counterexample(assumptions, claim, algebraic)
    except Exception as exc:  # sympy could not decide at the algebraic point
        return Outcome("unknown", counterexample=point, exact=False,
                       detail="z3's counterexample is irrational and could not be "
                              f"checked exactly ({exc}); approximately {format_point(point)}")
    if not checked:
        return Outcome("unknown", counterexample=point, exact=False,
                       detail="z3's counterexample is irrational, no rational point "
                              "near it is a counterexample, and the exact algebraic "
                              "point could not be confirmed to violate the claim; "
                              f"approximately {format_point(point)}")
    exact_txt = "{" + ", ".join(f"{k}: {v}" for k, v in algebraic.items()) + "}"
    return Outcome("refuted", counterexample=point, exact=False,
                   detail=f"counterexample {exact_txt} (irrational; checked exactly; "
                          "values reported as 30-digit rational approximations)")


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
