"""The compiled loops' first program: correctly rounded evaluation for inputs within a
range, with error bounds fixed when the code is generated.

The full program of :mod:`modelavg_sym.codegen.rounding` (:func:`~rounding.dd_program`)
works for any finite input: it guards every magnitude and carries a running error bound
through each double-word operation.  The compiled loops first run this cheaper program,
valid only where every input is 0 or of magnitude within [2^-RANGE_EXP, 2^RANGE_EXP]
(one test on the inputs' bits, :func:`range_check`); whatever it declines goes to the
full program, then to the exact path.

**Why the range helps.**  Within it, every value computed before the final quotient is
an integer multiple of 2^-(RANGE_EXP + 52) k for its degree k, so 0 or at least that, and
bounded above (:func:`range_check` checks, for every form, that all of them stay within
[TINY, HUGE] = [2^-900, 2^900]): no operation underflows or overflows, 2Sum and 2Prod are
exact, and one floating-point operation errs by at most u = 2^-53 relative.

**Flat sums.** A sum is evaluated in one pass (Ogita, Rump and Oishi's Sum2 on the high
parts only): the high parts h_i of its terms (floats, or the leading parts of normalised
double-words) are summed by a cascade of 2Sums (or Fast2Sums, below), (s_j, q_j) =
2Sum(s_(j-1), h_j), exactly; the low parts l_i and the q_j are added in floating point (t, m
terms) and joined by a last 2Sum, (z_h, z_l) = 2Sum(s, t), normalised: |z_l| <= u |z_h|.
Products are 2Prod (two floats, exact), DWTimesFP3 and DWTimesDW3 (Joldes, Muller and
Popescu, ACM TOMS 44(2), 2017: relative errors 2u^2 and 4u^2, charged here as 4u^2 and
8u^2); a product that is a term of a sum skips their last Fast2Sum (exact, so the same
error; its low part is then at most lam = 2.01 or 3.02 times u of its high part,
:data:`RAW_FP`, :data:`RAW_DW`). Nonnegative terms come first, and a term whose magnitude
the cascade's sum so far is known to exceed (:func:`_lemmas`: s_L + s_G >= |2c|, s_L s_G >=
c^2 for valid inputs) is added by Fast2Sum instead of 2Sum (:func:`_dominated`); so is a
nonnegative term to a sum of nonnegative ones, as Fast2Sum(max, min) (five operations
instead of 2Sum's six).

**Floors and unjoined sums.**  A value may carry a ``floor`` F, an exact expression with
h >= RN(F) for valid inputs: an input or 2Prod is RN of itself; a sum of nonnegative
terms that a product with a float or another sum takes as it is, (s, t) with no last 2Sum
(|t| <= (lam + #q) u s (1 + small)), has s >= each h_i (the cascade only grows), so the
first term's floor; a double-word with h >= F (F a float) times a float y >= 0 has
c_h = RN(x_h y) >= RN(F y).  The dominance test uses floors: F_0 >= |V|, or F_0 + F_1 >=
|V| for two floats.  This serves min_mse written with the global model's MSE M_G = s_G +
Delta^2 (R9; :func:`program_form`): (s_L M_G - c^2) / (s_L + M_G - 2c), M_G summed once and
shared; s_L M_G has floor s_G s_L >= c^2 and s_L + M_G has s_1 >= RN(s_L + s_G) >= |2c|,
so both of its -c^2 and -2c are added by Fast2Sum.

**A priori bounds.**  Each value X carries a static coefficient k_X with
|X - (x_h + x_l)| <= k_X u^2 A_X, where A_X is X's expression tree evaluated on the
absolute values of the inputs (|a| + |b| for a sum, |a| |b| for a product).  By induction:

* a float input or 2Prod of two: k = 0 (exact);
* sum of m = (low parts) + (q_j) floating-point terms: |h_i| <= (1 + 1.01u) A_i and
  |l_i| <= lam u |h_i|, each |q_j| <= u (1 + u)^j sum |h_i|, so the rounding of t is at
  most gamma_(m-1) sum |terms| <= (m - 1)(lam + #q) u^2 A_S (1 + small): k_S = max k_i +
  1.01 (m - 1)(lam + #q), lam the largest of the terms';
* product: |XY - x~y~| <= e_X |Y| + |x~| e_Y, plus the operation's own error:
  k_XY = 1.01 (k_X + k_Y + 2 (lam + 1)) for a double-word with |x_l| <= lam u |x_h|
  times a float (+ 4 when normalised), 1.01 (k_X + k_Y + 8) for two double-words;
* an unjoined sum: the same k as the sum (its join is exact), lam = 1.01 (lam + #q);
* a power of two times X: exact, A scaled alike.

At run time only A of a quotient's numerator and divisor (or of a polynomial result) is
computed, in floating point (a few additions and products of the inputs' magnitudes;
the constant carries 1.01 for their rounding), and the bound is that constant times it.

**The divisor** (D) is joined by Fast2Sum under a guard A 2^-g < s (g = 50 for D): its
floating-point part is then below s/2, so Fast2Sum is exact, D > 0 and D is known to far
better than 2^-20 (no other test needed; :meth:`FlatProgram._divisor_guard`).  Only D
cancelling by more than 2^50 is declined by it.  The quotient's bound is
:mod:`~modelavg_sym.codegen.rounding`'s (the numerator's and the divisor's errors
propagated through one correction step): SLACK^2 (e_x + |z_h| e_y) |1/y_h| + SLACK DELTA
|z_h|.

**The decision** is the same test: [z - E, z + E] strictly between the midpoints around
z_h, with half the gap below z_h, the smaller one; it is evaluated doubled, as
FMA(|z_l|, 2, E2) < the gap below (``_gap_below``, a power of two, so the rounded left
side is below it only if the exact one is), with E2 = 2E from doubled constants (FMAs
in a quotient's E2: fewer roundings than the bound's formula, all within the margin);
z_h = 0 is decided when E < 2^-954 (``max(ax, TINY)``): within the range a nonzero
result is at least TINY = 2^-900 (:func:`range_check`).  Anything else is declined.  The range test
is on the inputs' bits, unsigned, with a variance's raw bits (sign included: a negative
variance fails it, so it is also the sign test).

The bounds assume valid inputs (variances >= 0: |s_L| is s_L in A); an element with
invalid inputs is declined by the validity test whatever its bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache

import sympy as sp

from modelavg_sym.codegen.forms import SPECS, forms
from modelavg_sym.codegen.rounding import (
    D_SYM,
    DELTA,
    SLACK,
    Val,
    _compare_exact,
    _definitions,
    _neg,
    _relations,
    dd_form,
    power_of_two,
)
from modelavg_sym.derive.core import two_estimator
from modelavg_sym.symbols import Delta, c, s_G, s_L

__all__ = ["MAGNITUDE", "M_G", "RANGE_EXP", "RANGE_HI", "RANGE_LO", "dd_program_in_range",
           "element_source", "helpers_source", "program_form", "range_check"]

#: The input range of :func:`dd_program_in_range`: every input 0 or of magnitude within
#: [2^-RANGE_EXP, 2^RANGE_EXP] (float32's normal range).
RANGE_EXP = 128
#: Bits of |x| (``_f2i(x) & MAGNITUDE``, an int64 that orders like |x|, NaN and inf above
#: every finite number): |x| <= 2^RANGE_EXP as bits <= RANGE_HI; x == 0 or
#: |x| >= 2^-RANGE_EXP as (bits - 1) >= RANGE_LO, unsigned (0 - 1 wraps to the largest).
MAGNITUDE = (1 << 63) - 1
RANGE_HI = (1023 + RANGE_EXP) << 52
RANGE_LO = ((1023 - RANGE_EXP) << 52) - 1
#: SLACK and DELTA as exact rationals (the constants are computed in them).
SLACK_F, DELTA_F = Fraction(SLACK), Fraction(DELTA)
#: u^2 = 2^-106, the unit of the a priori coefficients.
U2 = Fraction(1, 2**106)
#: Margin on every coefficient (the (1 + small) factors of the induction, the rounding of
#: A's own arithmetic and of the constant times A).
MARGIN = Fraction(101, 100)
#: Relative errors charged per double-word product, in units of u^2 (twice the published
#: 2u^2 and 4u^2).
DW_TIMES_FP, DW_TIMES_DW = 4, 8
#: |c_l| / (u |c_h|) of an unnormalised product (``raw``), with slack: DWTimesFP3's
#: c_l = RN(x_l y + e(x_h y)), at most (u + u) |c_h| (1 + 2u); DWTimesDW3's
#: e(x_h y_h) + RN(x_l y_h + RN(x_h y_l + RN(x_l y_l))), at most (u + 2u + u^2) |c_h| (1 + 3u).
RAW_FP, RAW_DW = Fraction(201, 100), Fraction(302, 100)


#: The global model's MSE, MSE(1) = s_G + Delta^2 (R9, the derived ``mse_global``): a
#: defined symbol of the in-range program where it saves operations (:func:`program_form`).
M_G = sp.Symbol("M_G", nonnegative=True)


@cache
def program_form(name: str) -> tuple[sp.Expr, sp.Expr, dict[sp.Symbol, sp.Expr]]:
    """(numerator, denominator, definitions) the in-range program of form ``name``
    evaluates: :func:`~modelavg_sym.codegen.rounding.dd_form`'s pair, and the defined
    symbols (u_L, u_G, D) as the double-double code sums them.  Where writing s_G as
    M_G - Delta^2 (M_G the derived global MSE, ``mse_global``) gives a numerator with
    fewer operations, it is used, and D is summed as s_L + M_G - 2c so that M_G is
    shared: min_mse = (s_L M_G - c^2) / D, one product and one sum fewer."""
    P, Q = dd_form(name)
    defs = dict(_definitions(exact_sums=True))
    mse_global = two_estimator()["mse_global"]
    (s_g_of_m,) = sp.solve(sp.Eq(M_G, mse_global), s_G)
    if s_g_of_m.has(s_L, c):  # M_G must not depend on the local model
        raise AssertionError(f"mse_global is not s_G + (terms in Delta): {mse_global}")
    P_m = sp.expand(P.subs(s_G, s_g_of_m))
    if sp.count_ops(P_m) < sp.count_ops(P) and P.has(s_G):
        d_m = sp.expand(defs[D_SYM].subs(s_G, s_g_of_m))
        if d_m.has(s_G, Delta):
            raise AssertionError(f"D does not reduce to s_L, M_G and c: {d_m}")
        defs.update({D_SYM: d_m, M_G: mse_global})
        P = P_m
    return P, Q, defs


def _bound(expr: sp.Expr, defs: dict[sp.Symbol, sp.Expr]) -> tuple[int, int]:
    """(degree, log2 of C) with |expr| <= C 2^(RANGE_EXP degree) for inputs within the range
    (each at most 2^RANGE_EXP >= 1), evaluated on the expression tree as the double-double
    code computes it (the defined symbols ``defs`` by their definitions)."""
    if expr in defs:
        return _bound(defs[expr], defs)
    if expr.is_Symbol:
        return 1, 0
    if expr.is_Integer:
        return 0, int(abs(expr)).bit_length()
    parts = [_bound(a, defs) for a in expr.args]
    if expr.is_Add:
        return max(d for d, _c in parts), max(c for _d, c in parts) + len(parts).bit_length()
    if expr.is_Mul:
        return sum(d for d, _c in parts), sum(c for _d, c in parts)
    if expr.is_Pow and expr.exp.is_Integer and expr.exp > 0:
        d, c = _bound(expr.base, defs)
        return d * int(expr.exp), c * int(expr.exp)
    raise AssertionError(f"no bound for {expr}")


def range_check(name: str) -> dict[str, int]:
    """The argument of :func:`dd_program_in_range`, checked for ``name`` (AssertionError
    if it fails), as exponents: every input 0 or within [2^-R, 2^R], R = RANGE_EXP, is an
    integer multiple of 2^-(R + 52); a value of degree k computed from them by +, -, * and
    FMA (every operation before the final quotient: 2Sum, 2Prod, the flat sums, the
    double-word products and their partial products, the magnitudes A) is an integer
    multiple of 2^-(R + 52) k (round to nearest keeps a multiple of 2^g a multiple of 2^g
    while 2^g >= 2^-1074), so 0 or at least that, and at most C 2^(R k) (:func:`_bound`;
    a flat sum's partial sums and A are within (1 + small) of sums of such bounds).  The
    numbers returned must keep every such value, the divisor and the quotient (the
    result, whichever it is) within [TINY, HUGE] = [2^-900, 2^900]: ``low`` (the least
    nonzero magnitude), ``high`` (the largest) and, for a quotient, ``q_low``,
    ``q_high``."""
    form = SPECS[name][0]
    args = forms()[form][1]
    P, Q, defs = program_form(form)
    grid = RANGE_EXP + 52
    rels = [rel.gts for rel in _relations(args)] + [rel.lts for rel in _relations(args)]
    bounds = [_bound(e, defs) for e in (P, Q, D_SYM, *rels)]
    deg = max(d for d, _c in bounds)
    out = {"low": -grid * deg,
           "high": max(RANGE_EXP * d + c for d, c in bounds) + 1}
    if Q != 1:
        (dp, cp), (dq, cq) = _bound(P, defs), _bound(Q, defs)
        out["q_high"] = RANGE_EXP * dp + cp + 1 + grid * dq + 1
        out["q_low"] = -grid * dp - (RANGE_EXP * dq + cq + 1) - 1
    exp_tiny, exp_huge = -900, 900
    if not (exp_tiny <= min(out.values()) and max(out.values()) <= exp_huge):
        raise AssertionError(f"{name}: input range 2^+-{RANGE_EXP} does not keep every "
                             f"value within [TINY, HUGE]: {out}")
    return out


# --------------------------------------------------------------------------- the program


@dataclass(frozen=True)
class FVal:
    """A value of the in-range program: ``h`` and ``low`` (None for a float) are variable
    names or literals, |low| <= lam u |h| (normalised: lam = 1);
    |exact - (h + low)| <= k u^2 A, with ``A`` the code of the expression tree on the
    inputs' magnitudes; ``nonneg``: h >= 0 for valid inputs."""

    h: str
    low: str | None = None
    k: Fraction = Fraction(0)
    A: str = "0.0"
    nonneg: bool = False
    #: |low| <= lam u |h| (1 + small): 1 when normalised, more for a raw product
    lam: Fraction = Fraction(1)
    #: the exact value X with h = RN(X) (a float input, 2Prod, a power of two times
    #: either), else None
    src: sp.Expr | None = None
    #: an exact expression F >= 0 with h >= RN(F) for valid inputs (None: unknown); F a
    #: float input (a symbol) means h >= F itself.  For an input or 2Prod, its ``src``.
    floor: sp.Expr | None = None

    def val(self) -> Val:
        """As :class:`~modelavg_sym.codegen.rounding.Val` (exact values only)."""
        if self.k:
            raise AssertionError(f"{self.h}: not exact")
        return Val(self.h, self.low)


@cache
def _lemmas() -> tuple[tuple[sp.Expr, sp.Expr, sp.Expr], ...]:
    """(big, small, certificate) triples: for valid inputs big >= 0 and big^2 - small^2
    equals the certificate, a sum of squares and nonnegative multiples of the
    Cauchy-Schwarz slack (the relation c^2 <= s_L s_G of
    :func:`~modelavg_sym.symbols.base_assumptions`), so big >= |small|: that relation
    itself, and s_L + s_G >= |2c|.  The identities are checked here."""
    (rel,) = _relations((s_L, s_G, c))
    slack = rel.gts - rel.lts
    out = ((s_L + s_G, 2 * c, (s_L - s_G) ** 2 + 4 * slack),
           (rel.gts, rel.lts, slack * (rel.gts + rel.lts)))
    for big, small, cert in out:
        if sp.expand(big**2 - small**2 - cert) != 0:
            raise AssertionError(f"lemma {big} >= |{small}|: wrong certificate")
    return out


def _dominated(prefix: list[FVal], v: FVal) -> bool:
    """Whether Fast2Sum(s, v_h) is exact, s the cascade's sum of the prefix's high parts:
    every high part so far is >= 0 (so s only grows: RN(s + h) >= RN(s) = s), v_h = RN(V)
    and, by a lemma, X >= |V| for an X with s_j >= RN(X) (rounding is monotone, so
    s >= RN(X) >= RN(|V|) = |v_h|): X = F_0, the first term's ``floor`` (h_0 >= RN(F_0)),
    or X = F_0 + F_1 for two terms whose high parts are at least the floats F_0, F_1
    (s_1 = RN(h_0 + h_1) >= RN(F_0 + F_1))."""
    if v.src is None or not all(p.nonneg for p in prefix):
        return False
    for n in (1, 2):
        head = prefix[:n]
        if len(head) < n or any(p.floor is None or (n == 2 and not p.floor.is_Symbol)
                                for p in head):
            continue
        big = sp.expand(sum((p.floor for p in head), sp.S.Zero))
        for lbig, lsmall, _cert in _lemmas():
            if big == sp.expand(lbig) and sp.expand(v.src**2 - lsmall**2) == 0:
                return True
    return False


def _magnitude(x: str, nonneg: bool) -> str:
    return x if nonneg else f"abs({x})"


def _round_up(x: Fraction) -> str:
    """x > 0 rounded up to four significant bits (a float literal, exact)."""
    e = math.floor(math.log2(x)) - 3
    return repr(math.ldexp(math.ceil(x / Fraction(2) ** e), e))


def _constant(k: Fraction, extra: Fraction = Fraction(1)) -> str:
    """k u^2 MARGIN extra, rounded up (:func:`_round_up`)."""
    return _round_up(k * U2 * MARGIN * extra)


@dataclass
class FlatProgram:
    """Straight-line code of one in-range program (see the module docstring)."""

    lines: list[str] = field(default_factory=list)
    guards: list[str] = field(default_factory=list)
    memo: dict[sp.Expr, FVal] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    #: normalised values known positive where the guards hold (guarded divisors)
    positive: set[str] = field(default_factory=set)
    count: int = 0
    #: the defined symbols and how they are summed (:func:`program_form`)
    defs: dict[sp.Expr, sp.Expr] = field(
        default_factory=lambda: dict(_definitions(exact_sums=True)))

    def new(self) -> str:
        self.count += 1
        return f"v{self.count}"

    def emit(self, expr: sp.Expr, raw: bool = False) -> FVal:
        """``expr``'s value; ``raw``: a double-word product, or a sum of nonnegative terms,
        may be left unnormalised (for a consumer that takes one: a sum, which normalises,
        or a product with a float, :meth:`mul`)."""
        expr = sp.sympify(expr)
        full = self.defs.get(expr, expr)
        if raw and full.is_Add:  # a sum has a raw form when its terms are nonnegative
            raw = all(self.emit(t, raw=True).nonneg for t in full.args)
        elif raw:
            # only a product with a double-word factor has a raw form (2Prod is exact); a
            # defined symbol (u_L, D) is a double-word
            raw = full.is_Mul and not all(
                f.is_Number or (f.is_Symbol and f not in self.defs) for f in full.args)
        key = (expr, raw)
        if key not in self.memo:
            self.memo[key] = self._emit(expr, raw)
        return self.memo[key]

    def _emit(self, expr: sp.Expr, raw: bool = False) -> FVal:
        if expr in self.defs:
            return self.emit(self.defs[expr], raw)
        if expr.is_Symbol:
            nonneg = bool(expr.is_nonnegative)
            return FVal(expr.name, A=_magnitude(expr.name, nonneg), nonneg=nonneg, src=expr,
                        floor=expr if nonneg else None)
        if expr.is_Integer:
            if abs(int(expr)) >= 2**53:
                raise AssertionError(f"constant {expr} is not exact in float64")
            return FVal(f"{float(expr)!r}", A=f"{float(abs(expr))!r}", nonneg=expr >= 0,
                        src=expr, floor=expr if expr >= 0 else None)
        if expr.is_Add:
            return self.sum([self.emit(t, raw=True) for t in expr.args], raw=raw)
        if expr.is_Mul:
            coeff, factors = expr.as_coeff_mul()
            # a float times one other factor: that one may be an unnormalised sum
            floats = [f for f in factors if f.is_Symbol and f not in self.defs]
            one_other = len(factors) == 2 and len(floats) == 1
            vals = sorted((self.emit(f, raw=one_other and f not in floats) for f in factors),
                          key=lambda v: v.low is not None)
            acc = vals[0]
            for j, v in enumerate(vals[1:]):
                acc = self.mul(acc, v, raw=raw and j == len(vals) - 2)
            if coeff != 1:
                acc = self.scale(acc, power_of_two(coeff))
            return acc
        if expr.is_Pow and expr.exp == 2:
            base = self.emit(expr.base)
            return self.mul(base, base)
        raise AssertionError(f"cannot evaluate {expr} in the in-range program")

    def emit_divisor(self, expr: sp.Expr) -> FVal:
        """``expr`` as a divisor: a sum is joined under the divisor guard."""
        expr = sp.sympify(expr)
        full = self.defs.get(expr, expr)
        key, key_full = (expr, False), (full, False)
        if key in self.memo or not full.is_Add:
            return self.emit(expr)
        self.memo[key] = self.memo[key_full] = self.sum(
            [self.emit(t, raw=True) for t in full.args], divisor=True)
        return self.memo[key]

    def scale(self, x: FVal, k: int) -> FVal:
        """x k for k = +-2^m: exact."""
        if k == 1:
            return x
        src = None if x.src is None else k * x.src
        if k == -1:  # a negation, printed in place
            return FVal(_neg(x.h), None if x.low is None else _neg(x.low), x.k, x.A,
                        lam=x.lam, src=src)
        kf, n = f"{float(k)!r}", self.new()
        nonneg = x.nonneg and k > 0
        floor = None if x.floor is None or k < 0 else k * x.floor  # exact scaling
        if x.low is None:  # a float: its own magnitude
            self.lines.append(f"{n}h = {kf}*{x.h}")
            return FVal(f"{n}h", None, x.k, _magnitude(f"{n}h", nonneg), nonneg, src=src,
                        floor=floor)
        a = f"{float(abs(k))!r}*({x.A})"
        self.lines.append(f"{n}h, {n}l = {kf}*{x.h}, {kf}*{x.low}")
        return FVal(f"{n}h", f"{n}l", x.k, a, nonneg, x.lam, src, floor=floor)

    def mul(self, x: FVal, y: FVal, raw: bool = False) -> FVal:
        """x y: 2Prod of two floats (exact), else DWTimesFP3 or DWTimesDW3 of normalised
        factors; ``raw``: without their last Fast2Sum (an exact renormalisation, so the
        same error), (c_h, c_l) with |c_l| <= 2u |c_h| (resp. 3u) (1 + small).

        A double-word times a float may be unnormalised, |x_l| <= lam u |x_h|: its one
        rounding, c_l = RN(x_l y + e(x_h y)), errs by at most (lam + 1) u^2 |x_h y|
        (1 + small) (2u^2 when normalised, the published bound), charged twice as
        2 (lam + 1) u^2, and |c_l| <= (lam + 1) u |c_h| (1 + small).  With y >= 0 a float
        and h_x >= F (a float ``floor``), c_h = RN(x_h y) >= RN(F y): the product's
        floor."""
        if x.low is not None and y.low is not None and (x.lam != 1 or y.lam != 1):
            raise AssertionError("a factor of two double-words must be normalised")
        n = self.new()
        tail = "_raw" if raw else ""
        nonneg = (x == y) or (x.nonneg and y.nonneg)
        if x.low is None and y.low is None:
            if x.k or y.k:
                raise AssertionError("a float factor must be exact")
            self.lines.append(f"{n}h, {n}l = _two_prod({x.h}, {y.h})")
            return FVal(f"{n}h", f"{n}l", Fraction(0), _magnitude(f"{n}h", nonneg), nonneg,
                        src=x.src * y.src, floor=x.src * y.src if nonneg else None)
        # A = |c_h| when each factor's A is its own high part's magnitude: then A's one
        # product is the same rounding as c_h = RN(x_h y_h) (one product fewer)
        same = all(v.A == _magnitude(v.h, v.nonneg) for v in (x, y))
        a = _magnitude(f"{n}h", nonneg) if same else f"({x.A})*({y.A})"
        if x.low is None or y.low is None:
            x, y = (x, y) if x.low is not None else (y, x)
            self.lines.append(f"{n}h, {n}l = _dd_mul_fp{tail}({x.h}, {x.low}, {y.h})")
            floor = None
            if raw and x.floor is not None and x.floor.is_Symbol and y.nonneg \
                    and y.src is not None and y.src.is_Symbol:
                floor = x.floor * y.src
            # the operation's own error: DW_TIMES_FP = 2 (1 + 1) when normalised
            op, lam_out = ((DW_TIMES_FP, RAW_FP) if x.lam == 1
                           else (2 * (x.lam + 1), MARGIN * (x.lam + 1)))
            return FVal(f"{n}h", f"{n}l", MARGIN * (x.k + y.k + op), a, nonneg,
                        lam_out if raw else Fraction(1), floor=floor)
        self.lines.append(f"{n}h, {n}l = _dd_mul{tail}({x.h}, {x.low}, {y.h}, {y.low})")
        return FVal(f"{n}h", f"{n}l", MARGIN * (x.k + y.k + DW_TIMES_DW), a, nonneg,
                    RAW_DW if raw else Fraction(1))

    def named(self, code: str) -> str:
        """A variable holding ``code`` (each expression computed once)."""
        if code not in self.names:
            n = self.new()
            self.lines.append(f"{n}a = {code}")
            self.names[code] = f"{n}a"
        return self.names[code]

    def sum(self, vals: list[FVal], divisor: bool = False, raw: bool = False) -> FVal:
        """Sum2 on the high parts, the low parts added in floating point.  ``divisor``:
        joined by Fast2Sum under the guard A 2^-g < s (see :meth:`_divisor_guard`).
        ``raw`` (nonnegative terms only): (s, t) left unjoined.  Then s >= each h_i
        (a cascade of nonnegative terms only grows), so s >= RN(F_0) (the first term's
        floor), and |t| <= (lam + #q) u s (1 + small) (as a divisor's t below)."""
        # nonnegative terms first (floats first among them), then the others: a term
        # dominated by a prefix (:func:`_lemmas`) is then added by Fast2Sum
        vals = sorted(vals, key=lambda v: (not v.nonneg, v.low is not None))
        nonneg = all(v.nonneg for v in vals)
        kmax = max(v.k for v in vals)
        if len(vals) == 1:
            return vals[0]
        n = self.new()
        acc, qs = vals[0].h, []
        # A of a prefix of exact nonnegative terms (A_i = h_i) is the cascade's sum of
        # their high parts: the same floating-point additions, the same value
        a_head, a_rest = vals[0].A, [v.A for v in vals[1:]]
        for j, v in enumerate(vals[1:]):
            if _dominated(vals[:j + 1], v):
                self.lines.append(f"{n}s{j}, {n}q{j} = _fast_two_sum({acc}, {v.h})")
            elif all(p.nonneg for p in vals[:j + 2]):
                # two nonnegative numbers: Fast2Sum with the larger first is exact
                self.lines.append(f"{n}s{j}, {n}q{j} = _fast_two_sum(max({acc}, {v.h}), "
                                  f"min({acc}, {v.h}))")
            else:
                self.lines.append(f"{n}s{j}, {n}q{j} = _two_sum({acc}, {v.h})")
            if all(p.nonneg and p.A == p.h for p in vals[:j + 2]):  # A = h
                a_head, a_rest = f"{n}s{j}", a_rest[1:]
            acc = f"{n}s{j}"
            qs.append(f"{n}q{j}")
        a = " + ".join([a_head, *a_rest])
        terms = [v.low for v in vals if v.low is not None] + qs
        lam = max(v.lam for v in vals)
        if len(terms) == 1 and lam == 1:  # one 2Sum of two floats: exact, normalised
            return FVal(acc, terms[0], kmax, a, nonneg)
        k = kmax + MARGIN * (len(terms) - 1) * (lam + len(qs))
        if raw:
            if not nonneg or divisor:
                raise AssertionError("only a sum of nonnegative terms is left unjoined")
            self.lines.append(f"{n}l = {' + '.join(terms)}")
            return FVal(acc, f"{n}l", k, a, nonneg, MARGIN * (lam + len(qs)),
                        floor=vals[0].floor)
        if divisor:
            g = self._divisor_guard(k, lam + len(qs))
            self.guards.append(f"({self.named(a)}*{2.0**-g!r} < {acc})")
            self.positive.add(f"{n}h")
            self.lines.append(f"{n}h, {n}l = _fast_two_sum({acc}, {' + '.join(terms)})")
        else:
            self.lines.append(f"{n}h, {n}l = _two_sum({acc}, {' + '.join(terms)})")
        return FVal(f"{n}h", f"{n}l", k, a, nonneg)

    @staticmethod
    def _divisor_guard(k: Fraction, nq: Fraction) -> int:
        """g for a divisor's guard A 2^-g < s, ``nq`` = lam + #q.  The floating-point part
        t is at most (lam + #q) u A (1 + small) (module docstring), A <= 1.001 A~ (the
        computed A~), so g = 53 - ceil(log2((lam + #q) 1.0021)) makes |t| <= s/2
        (1 + small): Fast2Sum(s, t) is exact, the divisor D_h = RN(s + t) >= 0.49 s > 0
        and its error bound (constant of k) A~ < (constant) 2^g s stays far below
        DIV_ACC D_h (checked here), so the divisor needs no other test."""
        ratio = nq * Fraction(10021, 10000)
        g = 53 - math.ceil(math.log2(ratio))
        half = ratio * Fraction(2) ** (g - 53)  # |t| <= half * s
        if half > Fraction(51, 100):
            raise AssertionError(f"divisor guard: |t| <= {float(half)} s")
        if float(_constant(k)) * 2.0**g / 0.49 > 2.0**-20:
            raise AssertionError("divisor guard: the divisor's bound is not below DIV_ACC")
        return g

    def div(self, x: FVal, y: FVal) -> tuple[Val, str]:
        """x / y (y normalised, its guard emitted) as
        :class:`~modelavg_sym.codegen.rounding.Val` and the code of E2, twice the bound E:
        the quotient bound of :mod:`~modelavg_sym.codegen.rounding` with the a priori
        errors of x and y, SLACK^2 (e_x + |z_h| e_y) |1/y_h| + SLACK DELTA |z_h|, from
        doubled constants, as e_x / y_h + |z_h| (e_y / y_h + SLACK DELTA) with FMAs (all
        terms >= 0; no more roundings per term than that formula)."""
        if y.h not in self.positive:
            raise AssertionError("a divisor must be a guarded sum (y_h > 0, 1/y_h > 0)")
        n = self.new()
        self.lines.append(f"{n}h, {n}l, {n}r = _dd_div({x.h}, {x.low or '0.0'}, {y.h}, "
                          f"{y.low or '0.0'})")
        slack2 = SLACK_F**2 * 2  # twice the bound (see _parts)
        sd = _round_up(SLACK_F * DELTA_F * 2)
        ey = f"{_constant(y.k, slack2)}*{self.named(y.A)}"
        if not x.k:  # |z_h| (SLACK^2 e_y / y_h + SLACK DELTA)
            return Val(f"{n}h", f"{n}l"), f"ax*_fma({ey}, {n}r, {sd})"
        # e_x / y_h + |z_h| (SLACK^2 e_y / y_h + SLACK DELTA)
        ex = f"{_constant(x.k, slack2)}*{self.named(x.A)}"
        return Val(f"{n}h", f"{n}l"), f"_fma(ax, _fma({ey}, {n}r, {sd}), ({ex})*{n}r)"


def _balanced(items: list[str], fn: str) -> str:
    while len(items) > 1:
        items = [f"{fn}({items[k]}, {items[k + 1]})" if k + 1 < len(items) else items[k]
                 for k in range(0, len(items), 2)]
    return items[0]


@cache
def _parts(name: str) -> tuple[tuple[str, ...], tuple[str, ...], Val]:
    """(argument names, lines up to ``pre`` (range, validity, guards) and ``dec``, the
    result) of :func:`dd_program_in_range`."""
    range_check(name)
    form, _has_w, policy = SPECS[name]
    args = forms()[form][1]
    P, Q, defs = program_form(form)
    prog = FlatProgram(defs=defs)
    valid = [_compare_exact(prog.emit(rel.lts).val(), prog.emit(rel.gts).val())
             for rel in _relations(args)]
    num = prog.emit(P)
    if Q == 1:
        if num.low is None:
            raise AssertionError(f"{name}: expected a double-word result")
        z, e = Val(num.h, num.low), (f"{_constant(num.k, Fraction(2))}*{prog.named(num.A)}"
                                     if num.k else "0.0")
    else:
        z, e = prog.div(num, prog.emit_divisor(Q))
    if policy == "raise":
        d = prog.emit(D_SYM).h
        if d not in prog.positive:
            valid.append(f"({d} > 0.0)")
    names = [s.name for s in args]
    mags = [f"m{k}" for k in range(len(names))]
    # E2 is twice the bound E: |z_l| + E < (the gap below)/2 as RN(2|z_l| + E2) < the gap
    # (exactly twice RN(|z_l| + E), compared with an exact power of two: the same test)
    lines = [*prog.lines, f"ax = abs({z.h})", f"E2 = {e}",
             # an exact zero is decided when E < 2^-954: a nonzero result within the
             # range is at least TINY = 2^-900 (range_check)
             f"dec = (_fma(abs({z.low}), 2.0, E2) < _gap_below(max(ax, TINY)))"]
    # |x|'s bits, unsigned; a variance's raw bits (a negative one, -0.0 included, is then
    # above RANGE_HI: the range test is also its sign test)
    lines += [f"{m} = _u64(_f2i({s.name}))" if s.is_nonnegative
              else f"{m} = _u64(_f2i({s.name}) & MAGNITUDE)"
              for m, s in zip(mags, args, strict=True)]
    lines.append(f"rng = ({_balanced(mags, 'max')} <= _u64(RANGE_HI)) & "
                 f"({_balanced([f'({m} - _u64(1))' for m in mags], 'min')} >= _u64(RANGE_LO))")
    lines.append("pre = " + " & ".join(["rng", *valid, *prog.guards]))
    return tuple(names), tuple(lines), z


@cache
def dd_program_in_range(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(argument names, body lines) of ``cr_<name>_in_range(args) -> (value, ok)``: the
    correctly rounded value of public function ``name`` where ``ok``, which requires every
    input 0 or of magnitude within [2^-RANGE_EXP, 2^RANGE_EXP] (a test on the inputs'
    bits: no finiteness test, no magnitude guards, :func:`range_check`), valid inputs
    (variances >= 0, Cauchy-Schwarz compared exactly, D > 0 where the function needs it)
    and a certain rounding (the module docstring's a priori bounds).  Declined elements
    are evaluated by :func:`~modelavg_sym.codegen.rounding.dd_program`'s code.

    Uses ``_f2i`` and ``_u64`` (the backend's bit casts) and the constants MAGNITUDE,
    RANGE_HI and RANGE_LO."""
    names, lines, z = _parts(name)
    return names, (*lines, "ok = pre & dec", f"return {z.h} + 0.0, ok")


#: The unnormalised products (``raw``), as the double-word primitives of
#: :func:`~modelavg_sym.codegen.rounding.helpers_source` without their last Fast2Sum.
_RAW = '''

def _dd_mul_fp_raw(xh, xl, y):
    """DWTimesFP3 without its Fast2Sum: (c_h, c_l), |c_l| <= 2u |c_h| (1 + 2u)."""
    ch, cl1 = _two_prod(xh, y)
    return ch, _fma(xl, y, cl1)


def _dd_mul_raw(xh, xl, yh, yl):
    """DWTimesDW3 without its Fast2Sum: (c_h, c_l), |c_l| <= 3u |c_h| (1 + 3u)."""
    ch, cl1 = _two_prod(xh, yh)
    tl1 = _fma(xh, yl, xl*yl)
    cl2 = _fma(xl, yh, tl1)
    return ch, cl1 + cl2
'''


def helpers_source() -> str:
    """The unnormalised double-word products (text, for the compiled loops' module)."""
    return _RAW


def element_source(name: str, decorator: str = "", bound: bool = False) -> str:
    """``cr_<name>_in_range(args) -> (value, ok)``, the element function of
    :func:`dd_program_in_range`; ``bound``: ``bound_<name>(args) -> (z_h, z_l, E, pre)``
    instead, the double-word result, its error bound and whether the program relies on
    that bound (for tests of the bound itself)."""
    argnames, lines = dd_program_in_range(name)
    head = f"def cr_{name}_in_range({', '.join(argnames)}):"
    doc = (f'    """{name} for inputs 0 or within 2^+-{RANGE_EXP}: ok False -> '
           f'evaluate with cr_{name}."""')
    if bound:
        _names, lines, z = _parts(name)
        lines = (*lines, f"return {z.h}, {z.low}, E2*0.5, pre")
        head = f"def bound_{name}({', '.join(argnames)}):"
        doc = f'    """{name}: the in-range value, its error bound E and where it holds."""'
    body = [f"    {ln}" for ln in lines]
    return "\n".join([*([decorator] if decorator else []), head, doc, *body]) + "\n"
