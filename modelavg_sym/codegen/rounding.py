"""Correctly rounded evaluation, generated from the derived forms: the exact integer code
of the scalar path and the double-double code with a certified error bound of the array
paths.

**Exact integer evaluation** (:func:`integer_code`).  Every public quantity is a rational
function f = P / Q of its inputs with integer coefficients (``sympy.fraction`` of
``cancel(together(form))``; Q is the derived D, or 1).  A finite float is N / 2^k
(``float.as_integer_ratio``); over the common denominator d (the largest 2^k) every
input is x_i = N_i / d, and with the homogenised polynomials P_h(N, d) = d^deg(P) P(N/d)
(likewise Q_h) the value is f = P_h d^(deg Q - deg P) / Q_h: a ratio of two Python ints,
which CPython's int / int true division rounds correctly (ties to even, subnormals
included; ``OverflowError`` past float64's range).  The domain is decided exactly in the
same integers: N_i >= 0 for a variance, c^2 <= s_L s_G as N_c^2 <= N_L N_G
(:func:`modelavg_sym.symbols.base_assumptions`) and D > 0 as D_h > 0.

**Double-double evaluation with a running error bound** (:func:`dd_program`), Ziv's
first step.  The same quantity is evaluated in double-word arithmetic (Joldes, Muller
and Popescu, "Tight and rigorous error bounds for basic building blocks of double-word
arithmetic", ACM TOMS 44(2), 2017): error-free transformations for sums (2Sum) and
products (2Prod: FMA in the compiled loops, Dekker's product with Veltkamp splitting in
numpy) of inputs, AccurateDWPlusDW, DWPlusFP, DWTimesFP3, DWTimesDW3 above them, and a
division with one reciprocal, a residual and one correction (``_dd_div``).  Each value
carries an absolute error bound e, propagated through the expression tree as printed
here (x = x_dd +- e_x):

* sum: e_x + e_y + DELTA |z_h|;
* product: SLACK (|x_h| e_y + |y_h| e_x + e_x e_y) + DELTA |z_h|;
* quotient: SLACK (e_x + |z_h| e_y) |1/y_h| + DELTA |z_h|, with e_y <= 2^-20 |y_h|;

where DELTA = 2^-96 bounds the relative error of one double-word operation with a wide
margin (the published bounds are 2u^2 .. 4u^2, u = 2^-53, and the division's about
40u^2, against DELTA = 1024u^2), which also absorbs the rounding of the bound's own
arithmetic and any subnormal partial products (every product's value is kept in
[TINY, HUGE] by a guard, or is exactly zero).  The result z_h + z_l, |f - z| <= E, is
correctly rounded to z_h when the interval [z - E, z + E] lies strictly between the two
midpoints around z_h (the half-ulps are exact powers of two, computed from the bits of
z_h); an exact zero (E = 0) is decided as +0.0.  Anything else - invalid or extreme input,
a bound too wide, a result near a midpoint - is flagged, and the caller evaluates that
element exactly.

**Inputs within a range.**  The compiled loops first run a cheaper program, valid only
where every input is 0 or of magnitude within [2^-128, 2^128], with error bounds fixed when
the code is generated: :mod:`modelavg_sym.codegen.inrange`.  Whatever it declines is
evaluated by the program above.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import sympy as sp
from sympy.printing.precedence import precedence
from sympy.printing.pycode import PythonCodePrinter

from modelavg_sym.codegen.forms import SPECS, U_G, U_L, d_in_differences, forms
from modelavg_sym.derive.core import two_estimator
from modelavg_sym.symbols import SYMBOLS, a, base_assumptions, c, s_G, s_L

__all__ = ["DELTA", "HUGE", "SLACK", "TINY", "dd_program", "domain_code", "helpers_source",
           "integer_code", "rational_form"]

#: Relative error bound charged per double-word operation (see the module docstring).
DELTA = 2.0**-96
#: Factor covering |x_dd| <= |x_h| (1 + u) and the rounding of the bound arithmetic.
SLACK = 1.001
#: Every product and quotient is nonzero only within [TINY, HUGE] (else the element is
#: evaluated exactly): no partial product underflows, no Veltkamp split overflows, and
#: the result's half-ulps are normal numbers.
TINY, HUGE = 2.0**-900, 2.0**900
#: A quotient's divisor must be known to this relative accuracy (e_y <= DIV_ACC |y_h|).
DIV_ACC = 2.0**-20
#: Largest finite float64.
MAX = 1.7976931348623157e308

#: The derived D as a symbol in recognised forms.
D_SYM = sp.Symbol("D")
#: Symbol for the common denominator of the integer code.
DEN = sp.Symbol("d")


# --------------------------------------------------------------------------- forms


def _recognise(poly: sp.Expr) -> sp.Expr:
    """``poly`` collected in the weight a, each coefficient written as k D or k u_L when it
    is a constant multiple of the derived D or of s_L - c, a common power of a factored
    out (fewer, better-conditioned operations)."""
    D = two_estimator()["D"]
    poly = sp.expand(poly)
    parts = sp.collect(poly, a, evaluate=False) if poly.has(a) else {sp.S.One: poly}
    out = sp.S.Zero
    for power, coeff in parts.items():
        for target, sym in ((D, D_SYM), (s_L - c, U_L)):
            ratio = sp.cancel(coeff / target)
            if ratio.is_Number:
                coeff = ratio * sym
                break
        out += power * coeff
    low = min(sp.degree(power, a) for power in parts)  # a common factor a^k: a (2 u_L - a D)
    return a**low * sp.expand(out / a**low) if low > 0 else out


@cache
def rational_form(name: str) -> tuple[sp.Expr, sp.Expr]:
    """(P, Q) with f = P / Q for the form ``name``: ``fraction(cancel(together(form)))``,
    signs chosen so that Q is the derived D or 1 (positive on the domain)."""
    expr = forms()[name][0]
    P, Q = sp.fraction(sp.cancel(sp.together(expr)))
    D = two_estimator()["D"]
    for cand in (D, sp.S.One):
        ratio = sp.cancel(Q / cand)
        if ratio.is_Number and ratio != 0:
            return sp.expand(P / ratio), cand
    raise AssertionError(f"{name}: denominator {Q} is neither a constant nor a multiple of D")


@cache
def dd_form(name: str) -> tuple[sp.Expr, sp.Expr]:
    """(numerator, denominator) the generated code evaluates, in the symbols of the inputs,
    u_L, u_G and D: the rational form with D and s_L - c recognised (``mse`` as
    s_L - 2a u_L + a^2 D, R1's last form: a fifth fewer double-word operations than the
    sum of second moments; a value is correctly rounded whatever the form, only the share
    of elements left to the exact path depends on its conditioning)."""
    P, Q = rational_form(name)
    return _recognise(P), (D_SYM if Q != 1 else sp.S.One)


def _definitions(exact_sums: bool = False) -> dict[sp.Symbol, sp.Expr]:
    """u_L, u_G and D in terms of the inputs: D as :func:`d_in_differences` for the integer
    code (u_L is shared with the numerators); with ``exact_sums`` (the double-double
    code, which sums exact components in one cascade) the derived D itself."""
    d = two_estimator()["D"] if exact_sums else d_in_differences()
    return {U_L: s_L - c, U_G: s_G - c, D_SYM: d}


# --------------------------------------------------------------------------- integer code


class IntPrinter(PythonCodePrinter):
    """Python printer for integer code: small powers as products (``x*x`` is faster than
    ``x**2`` on ints)."""

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        if expr.exp.is_Integer and 2 <= int(expr.exp) <= 4:
            base = self.parenthesize(expr.base, 100)
            return "*".join([base] * int(expr.exp))
        return super()._print_Pow(expr, rational=rational)

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        """Positive terms first (``n_s_L - n_c``, not ``-n_c + n_s_L``: one operation)."""
        terms = sorted(expr.args, key=lambda t: bool(t.could_extract_minus_sign()))
        out = self._print(terms[0])
        for t in terms[1:]:
            neg = bool(t.could_extract_minus_sign())
            out += (" - " if neg else " + ") + self.parenthesize(-t if neg else t,
                                                                   precedence(expr))
        return out


def _int_name(sym: sp.Symbol) -> sp.Symbol:
    return sp.Symbol(f"n_{sym.name}")


def _homogenise(expr: sp.Expr, degree: dict[sp.Symbol, tuple[sp.Expr, int]]
                ) -> tuple[sp.Expr, int]:
    """(E_h, k) with expr = E_h / d^k, E_h a polynomial in the integer symbols and d, the
    tree structure kept (sums are padded with powers of d, nothing is expanded)."""
    if expr.is_Symbol:
        return degree[expr]
    if expr.is_Integer:
        return expr, 0
    if expr.is_Add:
        parts = [_homogenise(t, degree) for t in expr.args]
        k = max(p[1] for p in parts)
        by_pad: dict[int, list[sp.Expr]] = {}
        for h, j in parts:  # terms padded alike share the factor: d*(u_L + u_G)
            by_pad.setdefault(k - j, []).append(h)
        return sp.Add(*(DEN**m * sp.Add(*hs) for m, hs in sorted(by_pad.items()))), k
    if expr.is_Mul:
        parts = [_homogenise(t, degree) for t in expr.args]
        return sp.Mul(*(h for h, _ in parts)), sum(j for _, j in parts)
    if expr.is_Pow and expr.exp.is_Integer and expr.exp > 0:
        h, j = _homogenise(expr.base, degree)
        return h ** expr.exp, j * int(expr.exp)
    raise AssertionError(f"cannot homogenise {expr}")


@dataclass(frozen=True)
class IntegerCode:
    """Integer code of one quantity: ``lines`` assign the homogenised pieces (integer
    symbols ``n_<arg>`` and ``d``); ``checks`` are (condition that must hold, what it
    means) on them, in the order the API reports violations; the value is
    ``numerator / denominator`` (one correctly rounded int / int division)."""

    lines: tuple[str, ...]
    checks: tuple[tuple[str, str], ...]
    numerator: str
    denominator: str


def _int_degrees(args: tuple[sp.Symbol, ...], zero: frozenset[str] = frozenset()
                 ) -> tuple[dict[sp.Symbol, tuple[sp.Expr, int]], list[tuple[sp.Symbol, sp.Expr]]]:
    """Integer symbols and degrees of the inputs (those named in ``zero`` are 0), and u_L,
    u_G, D as integer variables of the same names with their homogenised definitions
    (D = Delta^2 + u_L + u_G), or the definition itself where it is a single symbol."""
    degree: dict[sp.Symbol, tuple[sp.Expr, int]] = {
        s: (sp.S.Zero if s.name in zero else _int_name(s), 1) for s in args}
    defs = []
    for sym, definition in _definitions().items():
        h, k = _homogenise(definition, degree)
        if h.is_Symbol or h.is_Number:
            degree[sym] = (h, k)
            continue
        defs.append((sym, h))
        degree[sym] = (sym, k)
    return degree, defs


def _domain_exprs(args: tuple[sp.Symbol, ...]) -> list[tuple[sp.Expr, str]]:
    """The two-estimator domain (:func:`~modelavg_sym.symbols.base_assumptions`), each as
    an expression that must be >= 0, with the relation it comes from."""
    out = [(s, f"{s} >= 0") for s in args if s.is_nonnegative]  # symbol assumptions
    for rel in _relations(args):
        out.append((rel.gts - rel.lts, str(rel)))
    return out


def _relations(args: tuple[sp.Symbol, ...]) -> list[sp.Rel]:
    """The non-trivial relations of :func:`~modelavg_sym.symbols.base_assumptions` on
    ``args`` (s_L >= 0 is already True by the symbol's assumptions)."""
    return [rel for rel in base_assumptions()
            if isinstance(rel, sp.Rel) and rel.free_symbols <= set(args)]


def _code(pieces: list[sp.Expr], defs: list[tuple[sp.Symbol, sp.Expr]]
          ) -> tuple[list[str], list[str]]:
    """(assignment lines, printed pieces): the definitions the pieces need, then cse."""
    pr = IntPrinter()
    d2 = sp.Symbol("d2")  # d^2 once where higher powers of d occur (as d2*d2, d2*u_L)
    if sum(int(p.count(lambda e: e.is_Pow and e.base == DEN and e.exp >= 2)) for p in pieces):
        pieces = [p.replace(lambda e: e.is_Pow and e.base == DEN and e.exp >= 2,
                            lambda e: d2 ** (e.exp // 2) * DEN ** (e.exp % 2)) for p in pieces]
        defs = [*defs, (d2, DEN**2)]
    subs, reduced = sp.cse(pieces, symbols=sp.numbered_symbols("t"))
    needed = set().union(*(p.free_symbols for p in [*reduced, *(r for _s, r in subs)]))
    for sym, h in reversed(defs):
        if sym in needed:
            needed |= h.free_symbols
    lines = [f"{s} = {pr.doprint(h)}" for s, h in defs if s in needed]
    lines += [f"{s} = {pr.doprint(h)}" for s, h in subs]
    return lines, [pr.doprint(r) for r in reduced]


@cache
def integer_code(name: str, zero: frozenset[str] = frozenset()) -> IntegerCode:
    """The exact integer code of public function ``name`` (see the module docstring); with
    the inputs named in ``zero`` equal to 0 (the default cov = 0: shorter code, and the
    Cauchy-Schwarz test holds by the variances' signs)."""
    form, _has_w, policy = SPECS[name]
    args = forms()[form][1]
    degree, defs = _int_degrees(args, zero)
    P, Q = dd_form(form)
    (P_h, kp), (Q_h, kq) = _homogenise(P, degree), _homogenise(Q, degree)
    num, den = (P_h * DEN ** (kq - kp), Q_h) if kq >= kp else (P_h, Q_h * DEN ** (kp - kq))
    # (lhs, op, rhs, meaning): nonnegative inputs, the relations, D > 0 where needed
    checks = [(_int_name(s), ">=", sp.S.Zero, f"{s} >= 0") for s in args
              if s.is_nonnegative and s.name not in zero]
    for rel in _relations(args):
        (lo, k_lo), (hi, k_hi) = _homogenise(rel.lts, degree), _homogenise(rel.gts, degree)
        if lo == 0 and all(f.is_Symbol and f in {_int_name(x) for x in args if x.is_nonnegative}
                           for f in sp.Mul.make_args(hi)):
            continue  # 0 <= a product of variances, already checked >= 0
        checks.append((lo * DEN ** max(0, k_hi - k_lo), "<=", hi * DEN ** max(0, k_lo - k_hi),
                       str(rel)))
    if policy == "raise":
        checks.append((D_SYM, ">", sp.S.Zero, "D > 0"))
    pieces = [x for lhs, _op, rhs, _m in checks for x in (lhs, rhs)]
    lines, printed = _code([*pieces, num, den], defs)
    out_checks = []
    for j, (lhs, op, _rhs, meaning) in enumerate(checks):
        cond = f"{printed[2 * j]} {op} {printed[2 * j + 1]}"
        if lhs.is_Pow and lhs.exp == 2 and lhs.base.is_Symbol:  # 0 <= a product of
            cond = f"({printed[2 * j].split('*')[0]} == 0 or {cond})"  # checked signs
        out_checks.append((cond, meaning))
    return IntegerCode(tuple(lines), tuple(out_checks), printed[-2], printed[-1])


@cache
def domain_code(args: tuple[sp.Symbol, ...]) -> IntegerCode:
    """Integer code of the domain checks and D (the value D_h, which must be > 0 where
    the optimum is needed) for the API's error messages; the value fields are unused."""
    degree, defs = _int_degrees(args)
    checks = [(_homogenise(e, degree)[0], m) for e, m in _domain_exprs(args)]
    lines, printed = _code([h for h, _m in checks] + [D_SYM], defs)
    return IntegerCode(tuple(lines), tuple(zip(printed, (m for _h, m in checks),
                                               strict=False)), printed[-1], "1")


# --------------------------------------------------------------------------- double-double


@dataclass
class Val:
    """A value of the double-double program: ``h`` (and ``low``, None for a float) are
    variable names or literals; ``e`` is the name of its error bound, None when exact."""

    h: str
    low: str | None = None
    e: str | None = None

    @property
    def dd(self) -> bool:
        return self.low is not None

    @property
    def lo(self) -> str:
        return self.low if self.low is not None else "0.0"


def _neg(x: str) -> str:
    if x == "0.0":
        return x
    return x[1:] if x.startswith("-") else f"-{x}"


@dataclass
class DDProgram:
    """Straight-line double-double code for one quantity (see the module docstring)."""

    lines: list[str] = field(default_factory=list)
    guards: list[str] = field(default_factory=list)
    memo: dict[sp.Expr, Val] = field(default_factory=dict)
    count: int = 0

    def new(self) -> str:
        self.count += 1
        return f"v{self.count}"

    # ---- operations

    def add(self, x: Val, y: Val) -> Val:
        n = self.new()
        if not x.dd and not y.dd:
            self.lines.append(f"{n}h, {n}l = _two_sum({x.h}, {y.h})")
            return Val(f"{n}h", f"{n}l")
        if not x.dd or not y.dd:
            x, y = (x, y) if x.dd else (y, x)
            self.lines.append(f"{n}h, {n}l = _dd_add_fp({x.h}, {x.low}, {y.h})")
        else:
            self.lines.append(f"{n}h, {n}l = _dd_add({x.h}, {x.low}, {y.h}, {y.low})")
        errs = [v.e for v in (x, y) if v.e] + [f"DELTA*abs({n}h)"]
        self.lines.append(f"{n}e = {' + '.join(errs)}")
        return Val(f"{n}h", f"{n}l", f"{n}e")

    def cascade(self, comps: list[str]) -> Val:
        """The exact float components t_1..t_k summed by a cascade of 2Sums,
        (s_i, q_i) = 2Sum(s_(i-1), t_i), exactly sum t = s_k + sum q_i; the q_i are added in
        floating point (error <= (k-2) u sum |q_i|, which vanishes where the partial sums
        are exact, as s_L + s_G - 2c near c ~ s_L ~ s_G) and joined by a final 2Sum (Ogita,
        Rump and Oishi's Sum2, with a running bound)."""
        n = self.new()
        acc, qs = comps[0], []
        for j, t in enumerate(comps[1:]):
            self.lines.append(f"{n}s{j}, {n}q{j} = _two_sum({acc}, {t})")
            acc = f"{n}s{j}"
            qs.append(f"{n}q{j}")
        self.lines.append(f"{n}h, {n}l = _two_sum({acc}, {' + '.join(qs)})")
        total = " + ".join(f"abs({q})" for q in qs)
        self.lines.append(f"{n}e = {float(len(qs) - 1)!r}*ULP_SLACK*({total})")
        return Val(f"{n}h", f"{n}l", f"{n}e")

    def guard(self, cond: str) -> None:
        """Add a validity condition."""
        if cond not in self.guards:
            self.guards.append(cond)

    def _product_guard(self, z: str, x: Val, y: Val) -> None:
        """A product is exactly zero or at least TINY (no partial product underflows).  An
        overflow needs no guard: inf or NaN reaches the error bound and the decision fails;
        products compared exactly in the validity test are bounded by HUGE there."""
        zero = " | ".join(dict.fromkeys(f"({v.h} == 0.0)" for v in (x, y)))
        self.guard(f"((abs({z}) >= TINY) | {zero})")

    def mul(self, x: Val, y: Val) -> Val:
        n = self.new()
        if not x.dd and not y.dd:
            self.lines.append(f"{n}h, {n}l = _two_prod({x.h}, {y.h})")
            self._product_guard(f"{n}h", x, y)
            return Val(f"{n}h", f"{n}l")
        if not x.dd or not y.dd:
            x, y = (x, y) if x.dd else (y, x)
            self.lines.append(f"{n}h, {n}l = _dd_mul_fp({x.h}, {x.low}, {y.h})")
        else:
            self.lines.append(f"{n}h, {n}l = _dd_mul({x.h}, {x.low}, {y.h}, {y.low})")
        self._product_guard(f"{n}h", x, y)
        terms = []
        if y.e:
            terms.append(f"abs({x.h})*{y.e}")
        if x.e:
            terms.append(f"abs({y.h})*{x.e}")
        if x.e and y.e:
            terms.append(f"{x.e}*{y.e}")
        prop = f"SLACK*({' + '.join(terms)}) + " if terms else ""
        self.lines.append(f"{n}e = {prop}DELTA*abs({n}h)")
        return Val(f"{n}h", f"{n}l", f"{n}e")

    def div(self, x: Val, y: Val) -> Val:
        n = self.new()
        self.lines.append(f"{n}h, {n}l, {n}r = _dd_div({x.h}, {x.lo}, {y.h}, {y.lo})")
        # the residual's 2Prod(q, y_h) is about x_h: exact only if x_h is not tiny
        self.guard(f"(abs({y.h}) >= TINY) & (abs({y.h}) <= HUGE) & (abs({n}h) <= HUGE) & "
                   f"(((abs({n}h) >= TINY) & (abs({x.h}) >= TINY)) | ({x.h} == 0.0))")
        if y.e:
            self.guard(f"({y.e} <= DIV_ACC*abs({y.h}))")
        prop = " + ".join([*([x.e] if x.e else []), *([f"abs({n}h)*{y.e}"] if y.e else [])])
        prop = f"SLACK*({prop})*abs({n}r) + " if prop else ""
        self.lines.append(f"{n}e = {prop}DELTA*abs({n}h)")
        return Val(f"{n}h", f"{n}l", f"{n}e")

    def scale(self, x: Val, k: int) -> Val:
        """x * k for an integer k = +-2^m (exact)."""
        if k == 1:
            return x
        if k == -1:
            return Val(_neg(x.h), None if x.low is None else _neg(x.low), x.e)
        n = self.new()
        kf = f"{float(k)!r}"
        if not x.dd:  # a float times a power of two is exact
            self.lines.append(f"{n}h = {kf}*{x.h}")
            return Val(f"{n}h")
        self.lines.append(f"{n}h, {n}l = {kf}*{x.h}, {kf}*{x.low}")
        if x.e:
            self.lines.append(f"{n}e = {float(abs(k))!r}*{x.e}")
        return Val(f"{n}h", f"{n}l", f"{n}e" if x.e else None)

    # ---- expressions

    def emit(self, expr: sp.Expr) -> Val:
        expr = sp.sympify(expr)
        if expr in self.memo:
            return self.memo[expr]
        val = self._emit(expr)
        self.memo[expr] = val
        return val

    def _emit(self, expr: sp.Expr) -> Val:
        defs = _definitions(exact_sums=True)
        if expr in defs:
            return self.emit(defs[expr])
        if expr.is_Symbol:
            return Val(expr.name)
        if expr.is_Integer:
            if abs(int(expr)) >= 2**53:
                raise AssertionError(f"constant {expr} is not exact in float64")
            return Val(f"{float(expr)!r}")
        if expr.is_Add:
            vals = [self.emit(t) for t in expr.args]
            # exact floats, then exact double-words, then the rest; all the exact ones in
            # one cascade (their sum has a single error term)
            vals.sort(key=lambda v: (v.dd, v.e is not None))
            exact = [v for v in vals if v.e is None]
            rest = [v for v in vals if v.e is not None]
            comps = [x for v in exact for x in ((v.h, v.low) if v.dd else (v.h,))]
            if len(exact) >= 3:
                acc = self.cascade(comps)
            else:
                acc = exact[0] if exact else rest.pop(0)
                for v in exact[1:]:
                    acc = self.add(acc, v)
            for v in rest:
                acc = self.add(acc, v)
            return acc
        if expr.is_Mul:
            coeff, factors = expr.as_coeff_mul()
            vals = [self.emit(f) for f in factors]
            vals.sort(key=lambda v: (v.dd, v.e is not None))
            acc = vals[0]
            for v in vals[1:]:
                acc = self.mul(acc, v)
            if coeff != 1:
                acc = self.scale(acc, power_of_two(coeff))
            return acc
        if expr.is_Pow and expr.exp.is_Integer and expr.exp > 1:
            base = self.emit(expr.base)
            if expr.exp != 2:
                raise AssertionError(f"power {expr} not supported")
            return self.mul(base, base)
        raise AssertionError(f"cannot evaluate {expr} in double-double")


def power_of_two(coeff: sp.Expr) -> int:
    """``coeff`` as an int +-2^m (a scaling that is exact in floating point), else
    AssertionError."""
    k = int(coeff)
    if coeff != k or abs(k) & (abs(k) - 1):
        raise AssertionError(f"coefficient {coeff} is not +-2^m")
    return k


def _compare_exact(x: Val, y: Val) -> str:
    """x <= y for exact, normalised double-words (or floats): lexicographic on (h, l)."""
    if not x.dd and not y.dd:
        return f"({x.h} <= {y.h})"
    return f"(({x.h} < {y.h}) | (({x.h} == {y.h}) & ({x.lo} <= {y.lo})))"


@dataclass
class _DDParts:
    """The pieces of one double-double program (see :func:`dd_program`)."""

    args: tuple[str, ...]
    lines: list[str]
    valid: list[str]
    guards: list[str]
    z: Val


@cache
def _dd_parts(name: str) -> _DDParts:
    form, _has_w, policy = SPECS[name]
    args = forms()[form][1]
    prog = DDProgram()
    # finite inputs (inf - inf and inf * 0 are NaN; a sum past MAX is a false alarm that
    # only sends the element to the exact path), variances >= 0 (False for NaN too)
    valid = [f"(({' + '.join(s.name for s in args)})*0.0 == 0.0)"]
    valid += [f"({s.name} >= 0.0)" for s in args if s.is_nonnegative]
    for rel in _relations(args):
        small, big = (rel.lts, rel.gts)
        xs, ys = prog.emit(small), prog.emit(big)
        if xs.e or ys.e:
            raise AssertionError(f"{rel}: both sides must be exact double-words")
        valid.append(_compare_exact(xs, ys))
        valid += [f"(abs({v.h}) <= HUGE)" for v in (xs, ys)]  # exact: no overflow
    P, Q = dd_form(form)
    num = prog.emit(P)
    z = num if Q == 1 else prog.div(num, prog.emit(Q))
    if policy == "raise":
        dv = prog.emit(D_SYM)
        valid.append(f"({dv.h} > 0.0)")  # and, as a divisor, e_D <= DIV_ACC |D_h|
        if dv.e:
            prog.guard(f"({dv.e} <= DIV_ACC*abs({dv.h}))")
    if not z.dd:
        raise AssertionError(f"{name}: expected a double-word result")
    return _DDParts(tuple(s.name for s in args), list(prog.lines), valid, list(prog.guards), z)


def _decision(z: Val) -> list[str]:
    """The rounding decision, with the test that z_h is within [TINY, HUGE] (its half-gaps
    are normal numbers)."""
    e = f"SLACK*{z.e}" if z.e else "0.0"
    return [
        f"E = {e}",
        f"ax = abs({z.h})",
        # |z_l| + E below the smaller half-gap around z_h: no midpoint within the bound
        f"dec = (abs({z.low}) + E < _half_gap(ax)) & (ax >= TINY) & (ax <= HUGE)",
        "dec = dec | ((ax == 0.0) & (E == 0.0))",
    ]


@cache
def dd_program(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(argument names, body lines) of ``cr_<name>(args) -> (value, ok)``: the
    double-double evaluation of public function ``name`` with its validity checks and
    the rounding decision; ``ok`` is False for an element to be evaluated exactly."""
    p = _dd_parts(name)
    lines = [*p.lines, *_decision(p.z), "ok = " + " & ".join(p.valid)]
    lines += [f"ok = ok & {g}" for g in p.guards]
    lines += ["ok = ok & dec", f"return {p.z.h} + 0.0, ok"]
    return p.args, tuple(lines)


# --------------------------------------------------------------------------- helpers

#: Double-word primitives shared by the numba and numpy modules (``_two_prod``, ``_fma``
#: and ``_half_ulps`` are backend-specific and defined by each module).
_PRIMITIVES = '''

def _two_sum(a, b):
    """2Sum: s + t = a + b exactly."""
    s = a + b
    ap = s - b
    bp = s - ap
    return s, (a - ap) + (b - bp)


def _fast_two_sum(a, b):
    """Fast2Sum: s + t = a + b exactly when exponent(a) >= exponent(b)."""
    s = a + b
    return s, b - (s - a)


def _dd_add_fp(xh, xl, y):
    """DWPlusFP (JMP 2017, Alg. 4): relative error <= 2u^2."""
    sh, sl = _two_sum(xh, y)
    return _fast_two_sum(sh, xl + sl)


def _dd_add(xh, xl, yh, yl):
    """AccurateDWPlusDW (JMP 2017, Alg. 6): relative error <= 3u^2 / (1 - 4u)."""
    sh, sl = _two_sum(xh, yh)
    th, tl = _two_sum(xl, yl)
    vh, vl = _fast_two_sum(sh, sl + th)
    return _fast_two_sum(vh, tl + vl)


def _dd_mul_fp(xh, xl, y):
    """DWTimesFP3 (JMP 2017, Alg. 9): relative error <= 2u^2 (3u^2 without an FMA)."""
    ch, cl1 = _two_prod(xh, y)
    return _fast_two_sum(ch, _fma(xl, y, cl1))


def _dd_mul(xh, xl, yh, yl):
    """DWTimesDW3 (JMP 2017, Alg. 12): relative error <= 4u^2 (about 6u^2 without an FMA)."""
    ch, cl1 = _two_prod(xh, yh)
    tl1 = _fma(xh, yl, xl*yl)
    cl2 = _fma(xl, yh, tl1)
    return _fast_two_sum(ch, cl1 + cl2)


def _dd_div(xh, xl, yh, yl):
    """(xh + xl) / (yh + yl) with one division: q = xh (1/yh), the residual
    x - q y (Sterbenz: xh - RN(q yh) is exact), one correction t = residual / yh.
    |z - x/y| <= 40u^2 |z| for |yl| <= u|yh|; returns (zh, zl, 1/yh)."""
    r = 1.0/yh
    q = xh*r
    ph, pl = _two_prod(q, yh)
    rho = (((xh - ph) - pl) + xl) - q*yl
    zh, zl = _fast_two_sum(q, rho*r)
    return zh, zl, r
'''


def helpers_source() -> str:
    """The shared double-word primitives (text, for both generated modules)."""
    return _PRIMITIVES


def element_source(name: str, decorator: str = "") -> str:
    """``cr_<name>(args) -> (value, ok)``, the element function of :func:`dd_program`."""
    argnames, lines = dd_program(name)
    head = f"def cr_{name}({', '.join(argnames)}):"
    doc = (f'    """{name}: double-double value and certified rounding; ok False -> '
           'evaluate exactly."""')
    body = [f"    {ln}" for ln in lines]
    return "\n".join([*([decorator] if decorator else []), head, doc, *body]) + "\n"


#: The constants of the element functions: (name, value, comment), in printing order.
CONSTANTS: tuple[tuple[str, float, str], ...] = (
    ("DELTA", DELTA, "2^-96: relative error bound charged per double-word operation"),
    ("SLACK", SLACK, "covers |x_dd| <= |x_h|(1+u) and the bound's own rounding"),
    ("TINY", TINY, "2^-900, 2^900: products and quotients are 0 or within [TINY, HUGE]"),
    ("HUGE", HUGE, ""),
    ("DIV_ACC", DIV_ACC, "2^-20: a divisor's error bound must be below DIV_ACC |y_h|"),
    ("EXPONENT", 0x7FF << 52, "exponent bits of a float64"),
    ("HALF_ULP", 2.0**-53, "half an ulp of 1"),
    ("ULP_SLACK", 2.0**-53 * SLACK, "u (1 + 1/1000): one rounding, with slack"),
)


def constants_source() -> str:
    """The constants the element functions use (``repr``: exact round trip)."""
    out = []
    for n, v, doc in CONSTANTS:
        if doc:
            out.append(f"#: {doc}")
        out.append(f"{n} = {v!r}")
    return "\n".join(out) + "\n"


def api_name(sym: sp.Symbol) -> str:
    """The public argument name of a symbol."""
    return SYMBOLS[sym.name].arg
