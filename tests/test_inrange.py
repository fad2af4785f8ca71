"""The compiled loops' first program (:mod:`modelavg_sym.codegen.inrange`): within its
input range it agrees with the full program wherever it decides, its a priori error
bounds hold, and ordinary data never leaves it.

The full program and the exact path are certified by ``test_rounding``; here the in-range
program is checked element by element against the full one (soundness), its error bound
E against the exact value (``Fraction``, the references of ``test_rounding``), and its
completeness on data as users have it.  Each property is shown once to catch a broken
program (a range too wide, a low part dropped, a bound too small, a divisor guard too
strict).
"""

from __future__ import annotations

import importlib.util
import math
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from test_rounding import (
    BATCH,
    BIG,
    CI_EXAMPLES,
    HARD_POINTS,
    POINTS,
    THOROUGH,
    Misrounded,
    _gap,
    backend,
    bits,
    check_batch,
    cs_clip,
    needs_numba,
    range_edges,
    reference,
)

from modelavg_sym.codegen import fused, inrange
from modelavg_sym.numeric import api

#: The range of the compiled loops' first program: every input 0 or of magnitude within
#: [2^-128, 2^128] (:func:`modelavg_sym.codegen.inrange.dd_program_in_range`).
RANGE = 2.0**128
#: The forms with a compiled loop, and whether they take the weight.
FORMS = {"optimal_weight": False, "mse": True, "benefit": True, "min_mse": False,
         "interval_high": False}
#: The reference of each form (``test_rounding.reference``; interval_high is 2a*, the
#: high end of the beneficial interval when positive).
REFERENCE = {"interval_high": "beneficial_interval"}
#: Results exactly zero within the range: a* with s_L = c, B(0), MSE with a = 1 and
#: s_G = Delta = c = 0 ... and one ordinary point.
ZEROS = [(0.0, 1.0, 2.0, 0.5, 1.0), (0.0, 0.25, 0.25, 0.0, 0.25), (1.0, 3.0, 0.0, 0.0, 0.0),
         (0.0, 2.0, 3.0, 1.0, -0.5)]


def in_range(args: tuple[float, ...]) -> bool:
    return all(x == 0.0 or 1.0 / RANGE <= abs(x) <= RANGE for x in args)


@st.composite
def ordinary(draw: st.DrawFn) -> tuple[float, ...]:
    """Data as users have it: variances within 2^+-30, correlations up to +-0.999 (D and
    the numerators cancel by up to about 2000x), a bias within 2^+-15 or 0, weights in
    [-2, 3] (past both ends of the beneficial interval)."""
    vl, vg = (draw(st.floats(2.0**-30, 2.0**30)) for _ in range(2))
    rho = draw(st.floats(-0.999, 0.999))
    c = cs_clip(vl, vg, rho * math.sqrt(vl) * math.sqrt(vg))
    b = draw(st.one_of(st.just(0.0), st.floats(2.0**-15, 2.0**15)))
    return draw(st.floats(-2.0, 3.0)), vl, vg, b * draw(st.sampled_from([1.0, -1.0])), c


class Unsound(AssertionError):
    """The in-range program accepted an element the full program refuses, or gave it
    another value."""


class Incomplete(AssertionError):
    """The in-range program declined an ordinary element the full program decides."""


def check_in_range_program(points: list[tuple[float, ...]], mod: object,
                           complete: bool = False) -> None:
    """Element by element, the in-range program ``cr_<form>_in_range`` of ``mod`` against
    the full program ``cr_<form>`` (certified by ``test_rounding``): it decides only
    elements within its range (its bit test), each with the full program's value, or the
    correctly rounded exact value where the full program declines (the a priori bound can
    be the tighter one); with ``complete``, every element within the range the full program
    decides (else the compiled loops would run the full program more often than they
    need: claimed for ordinary data only, since its a priori bounds are wider than the
    full program's running ones under extreme cancellation)."""
    for form, weighted in FORMS.items():
        ranged, full = getattr(mod, f"cr_{form}_in_range"), getattr(mod, f"cr_{form}")
        for p in points:
            args = p if weighted else p[1:]
            v1, ok1 = ranged(*args)
            v2, ok2 = full(*args)
            if ok1 and not in_range(args):
                raise Unsound(f"{form}{args}: decided outside the range")
            if ok1 and not ok2:  # its bounds may be tighter: against the exact value
                status, exact = reference(REFERENCE.get(form, form), *p)
                v2, ok2 = (float(exact), True) if status == "ok" else (v2, ok2)
            if ok1 and not (ok2 and bits(v1) == bits(v2)):
                raise Unsound(f"{form}{args}: in range {v1!r}, full {v2!r} (ok {ok2})")
            if complete and not ok1 and ok2 and in_range(args):
                raise Incomplete(f"{form}{args}: full program decides {v2!r}")


def _module(tmp_path, label: str, edits: list[tuple[str, str, str | None]] = (),
            bounds: bool = False) -> object:
    """The compiled loops' module with ``edits`` (old, new, only after this marker or
    None), with ``bound_<form>`` functions when ``bounds``, compiled afresh from a
    temporary file (no cache)."""
    src = fused.module_source().replace("cache=True", "cache=False")
    if bounds:
        src += "".join("\n\n" + inrange.element_source(n, "@_jit", bound=True)
                       for n in FORMS)
    for old, new, after in edits:
        at = src.index(after) if after else 0
        assert old in src[at:], old
        src = src[:at] + src[at:].replace(old, new)
    path = tmp_path / f"loops_{label}.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location(f"loops_{label}", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def with_bounds(tmp_path_factory):
    """The compiled loops as generated, plus ``bound_<form>``."""
    return _module(tmp_path_factory.mktemp("bounds"), "bounds", bounds=True)


# --------------------------------------------------------------------------- soundness


@needs_numba
@BIG
@given(st.lists(st.one_of(POINTS, range_edges(), ordinary()),
                min_size=BATCH if THOROUGH else 1, max_size=BATCH))
@example(HARD_POINTS)
@example([(0.5, 2.0**-128, 2.0**128, -(2.0**-128), 2.0**-128),
          (3.0, 2.0**128, 2.0**128, 2.0**128, 2.0**128), (1.0, 0.0, 2.0**-128, 0.0, 0.0)])
@example(ZEROS)
def test_in_range_program_agrees_with_the_full_one(points):
    check_in_range_program(points, api._fast_module())


@needs_numba
@BIG
@given(st.lists(ordinary(), min_size=BATCH if THOROUGH else 1, max_size=BATCH))
@example(ZEROS)
def test_ordinary_data_never_leaves_the_in_range_program(points):
    check_in_range_program(points, api._fast_module(), complete=True)


@needs_numba
@given(st.floats(2.0**-1020, 2.0**1020) | st.integers(-1020, 1020).map(lambda k: 2.0**k))
@example(1.0)
@example(0.75)
@example(float.fromhex("0x1.fffffffffffffp0"))
def test_gap_below_is_twice_the_smaller_half_gap(x):
    """The in-range decision's gap (the gap below) is twice the smaller half-gap
    (``math.nextafter``), half an ulp at a power of two."""
    from modelavg_sym.numeric import _fastkernels as fk

    assert fk._gap_below(x) == 2 * _gap(x)


# --------------------------------------------------------------------------- the bounds


class BoundExceeded(AssertionError):
    """|exact - (z_h + z_l)| > E where the program relies on E."""


def check_bounds(points: list[tuple[float, ...]], mod: object) -> int:
    """Where ``bound_<form>`` says the program relies on its bound (range, validity and
    guards hold), the exact value is within E of z_h + z_l; returns how many were checked."""
    checked = 0
    for form, weighted in FORMS.items():
        fn = getattr(mod, f"bound_{form}")
        for p in points:
            zh, zl, e, pre = fn(*(p if weighted else p[1:]))
            if not pre:
                continue
            status, exact = reference(REFERENCE.get(form, form), *p)
            assert status == "ok" and exact is not None, (form, p, status)
            if abs(exact - (Fraction(zh) + Fraction(zl))) > Fraction(e):
                raise BoundExceeded(f"{form}{p}: |exact - z| = "
                                    f"{float(abs(exact - Fraction(zh) - Fraction(zl)))!r} "
                                    f"> E = {e!r}")
            checked += 1
    return checked


@needs_numba
@BIG
@given(points=st.lists(st.one_of(POINTS, range_edges(), ordinary()),
                       min_size=BATCH if THOROUGH else 1, max_size=BATCH))
@example(points=HARD_POINTS)
@example(points=ZEROS)
def test_a_priori_bounds_hold(with_bounds, points):
    check_bounds(points, with_bounds)


@needs_numba
def test_bounds_are_checked_where_they_matter(with_bounds):
    """The bound property above is not vacuous: it checks ordinary points (every form)
    and cancelling ones (the divisor guard lets some through)."""
    assert check_bounds([(0.5, 1.0, 2.0, 0.3, 0.2)], with_bounds) == len(FORMS)
    assert check_bounds(HARD_POINTS, with_bounds) > 0


# --------------------------------------------------------------------------- mutants


@needs_numba
def test_suite_catches_an_in_range_program_with_too_wide_a_range(tmp_path):
    """The agreement property can fail: with the range widened to 2^+-600 (products of
    two inputs may underflow), the in-range program accepts elements the full program's
    magnitude guards refuse."""
    wide = inrange.RANGE_EXP + 472
    mod = _module(tmp_path, "wide", [
        (f"RANGE_HI = {hex(inrange.RANGE_HI)}", f"RANGE_HI = {hex((1023 + wide) << 52)}", None),
        (f"RANGE_LO = {hex(inrange.RANGE_LO)}",
         f"RANGE_LO = {hex(((1023 - wide) << 52) - 1)}", None)])

    @settings(max_examples=CI_EXAMPLES, database=None, derandomize=True,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(st.lists(st.one_of(POINTS, range_edges()), min_size=1, max_size=BATCH))
    def prop(points):
        check_in_range_program(points, mod)

    with pytest.raises(Unsound):
        prop()


def _line(form: str, start: str) -> str:
    """The generated line of ``cr_<form>_in_range`` that starts (stripped) with ``start``."""
    _names, lines, _z = inrange._parts(form)
    return next(ln for ln in lines if ln.startswith(start) or start in ln)


@needs_numba
def test_suite_catches_an_in_range_program_that_drops_a_low_part(tmp_path):
    """The correct-rounding property of ``test_rounding`` sees the compiled loops' first
    program: with a* computed from the numerator's high part only (its low part, the
    rounding error of s_L - c, dropped in the in-range program), the property finds a
    misrounded array value."""
    line = _line("optimal_weight", "_dd_div(")
    args = line.split("_dd_div(")[1].split(", ")
    dropped = line.replace(f"_dd_div({args[0]}, {args[1]},", f"_dd_div({args[0]}, 0.0,")
    mod = _module(tmp_path, "low", [(line, dropped, "def cr_optimal_weight_in_range(")])
    backend.MODULES["mutant"] = mod

    @settings(max_examples=CI_EXAMPLES, database=None, derandomize=True,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(st.lists(ordinary(), min_size=1, max_size=BATCH))
    def prop(points):
        check_batch(points, ("mutant",), names=("optimal_weight",))

    try:
        with pytest.raises(Misrounded, match="mutant"):
            prop()
    finally:
        del backend.MODULES["mutant"]


@needs_numba
def test_suite_catches_an_in_range_program_that_declines_too_much(tmp_path):
    """The completeness property can fail: with the divisor guard A/2 < s instead of
    A 2^-50 < s (every D cancelling by more than 2x declined), ordinary data leaves the
    in-range program."""
    line = _line("optimal_weight", "pre = ")
    const = line.split("a*")[1].split(" <")[0]
    mod = _module(tmp_path, "strict",
                  [(f"*{const} <", "*0.5 <", "def cr_optimal_weight_in_range(")])

    @settings(max_examples=CI_EXAMPLES, database=None, derandomize=True,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(st.lists(ordinary(), min_size=1, max_size=BATCH))
    def prop(points):
        check_in_range_program(points, mod, complete=True)

    with pytest.raises(Incomplete, match="optimal_weight"):
        prop()


@needs_numba
def test_suite_catches_a_bound_too_small(tmp_path):
    """The bound property can fail: with mse's a priori constant 2^20 times too small."""
    line = _line("mse", "E2 = ")
    const = line.split("E2 = ")[1].split("*")[0]
    small = repr(float(const) * 2.0**-20)
    mod = _module(tmp_path, "small", [(f"E2 = {const}*", f"E2 = {small}*", "def bound_mse(")],
                  bounds=True)

    @settings(max_examples=CI_EXAMPLES, database=None, derandomize=True,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(st.lists(st.one_of(POINTS, ordinary()), min_size=1, max_size=BATCH))
    def prop(points):
        check_bounds(points, mod)

    with pytest.raises(BoundExceeded, match="mse"):
        prop()


def test_range_check_refuses_too_wide_a_range(monkeypatch):
    """The generator checks the argument of the in-range program for every form: a range
    of 2^+-300 would let a degree-4 value (a^2 D in mse) fall below TINY."""
    for form in FORMS:
        inrange.range_check(form)
    monkeypatch.setattr(inrange, "RANGE_EXP", 300)
    with pytest.raises(AssertionError, match="does not keep every value"):
        inrange.range_check("mse")


def test_min_mse_program_form_is_the_derived_min_mse():
    """The in-range program evaluates min_mse as (s_L M_G - c^2) / (s_L + M_G - 2c) with the
    global MSE M_G = s_G + Delta^2 shared (R9): put back, the pair is MSE(a*) as R3
    writes it (s_L - (s_L - c)^2 / D, typed here), and the other forms are left as they
    were (no M_G)."""
    import sympy as sp

    from modelavg_sym.codegen.rounding import D_SYM
    from modelavg_sym.symbols import Delta, c, s_G, s_L

    P, Q, defs = inrange.program_form("min_mse")
    M_G = inrange.M_G
    assert sp.expand(P - (s_L * M_G - c**2)) == 0
    assert Q == D_SYM and sp.expand(defs[D_SYM] - (s_L + M_G - 2 * c)) == 0
    back = {M_G: s_G + Delta**2}
    D = s_L + s_G + Delta**2 - 2 * c
    r3 = s_L - (s_L - c) ** 2 / D
    assert sp.simplify(P.subs(back) / defs[D_SYM].subs(back) - r3) == 0
    for form in ("optimal_weight", "mse", "benefit", "interval_high"):
        P, _Q, defs = inrange.program_form(form)
        assert M_G not in defs and not P.has(M_G), form
