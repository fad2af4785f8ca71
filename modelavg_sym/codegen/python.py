"""Source of ``modelavg_sym/numeric/_generated.py``: for every public function of
:data:`~modelavg_sym.codegen.forms.SPECS`, the exact integer evaluation (scalar path and
fallback) and the numpy double-double evaluation (arrays without numba), plus the
constants and tables the runtime dispatches on.  See :mod:`modelavg_sym.codegen.rounding`
for the method.

* ``scalar_<name>(x...)``: the correctly rounded value at Python floats, or ``None`` when
  the general path must decide (NaN or inf, outside the domain, D = 0 where the optimum is
  needed, or a result outside float64's range);
* ``exact_<name>(n..., d)``: the correctly rounded value at the rationals n_i / d (any
  ints, d > 0), domain unchecked; ``OverflowError`` past float64's range;
* ``exact_domain(n_s_L, n_s_G, n_Delta, n_c, d)``: the integers whose signs decide the
  domain (:data:`DOMAIN` says which sign each needs);
* ``cr_<name>(x...)``: the double-double value and a flag per element (numpy arrays),
  False where the element must be evaluated exactly.

:func:`vector_source` (the plain numpy function of a form, as lambdify prints it) is kept
for ``reports/compiled/``.
"""

from __future__ import annotations

from sympy.printing.numpy import NumPyPrinter

from modelavg_sym.codegen import cext, rounding
from modelavg_sym.codegen.forms import FUSED, PARAM_SYMBOLS, SPECS, api_args, forms
from modelavg_sym.codegen.printing import COMMAND, constants_block, printed, with_banner

#: The settings lambdify gives its printer (so the vector functions print as it would).
_LAMBDIFY_SETTINGS = {"fully_qualified_modules": False, "inline": True,
                      "allow_unknown_functions": True, "user_functions": {}}


def _scale_lines(names: list[str]) -> list[str]:
    """Common denominator d = the largest 2^k, every numerator scaled to it."""
    out = [f"d = d_{names[0]}"]
    for n in names[1:]:
        out += [f"if d_{n} > d:", f"    d = d_{n}"]
    for n in names:  # (a zero numerator, as cov = 0.0, needs no scaling)
        out += [f"if n_{n} and d_{n} != d:", f"    n_{n} *= d // d_{n}"]
    return out


def scalar_source(name: str) -> str:
    """``scalar_<name>``: exact integer evaluation at Python floats (or ``None``)."""
    form = SPECS[name][0]
    names = [s.name for s in forms()[form][1]]
    code = rounding.integer_code(name)
    conds = " and ".join(cond for cond, _m in code.checks)
    body = ["try:  # (a zero, as the default cov = 0.0, needs no conversion)",
            *(f"    n_{n}, d_{n} = {n}.as_integer_ratio() if {n} else (0, 1)" for n in names),
            "except (OverflowError, ValueError):  # inf, nan", "    return None",
            *_scale_lines(names), *code.lines,
            f"if not ({conds}):", "    return None",
            "try:", f"    return ({code.numerator})/({code.denominator})",
            "except OverflowError:", "    return None"]
    doc = (f'"""{name} at Python floats, correctly rounded (one int / int division); None '
           'when the\ngeneral path must decide (NaN, inf, outside the domain, or overflow)."""')
    head = f"def scalar_{name}({', '.join(names)}):"
    return "\n".join([head, *(f"    {ln}" for ln in [*doc.splitlines(), *body])]) + "\n"


#: The public functions: name -> (form computed, docstring; ``{form}`` is replaced by the
#: derived expression the function evaluates, printed by sympy).
PUBLIC: dict[str, tuple[str, str]] = {
    "optimal_weight": ("optimal_weight", """\
Optimal weight on the global model, a* = (s_L - c) / D, D = Delta^2 + (s_L - c) + (s_G - c).

Minimises MSE(a) = E[((1-a) L + a G - theta)^2] (R2).  Requires s_L, s_G >= 0,
c^2 <= s_L s_G, and D > 0 (raises :class:`UndefinedOptimumError` when D = 0).
Correctly rounded: the float64 nearest the exact value of the derived form
{form}."""),
    "mse": ("mse", """\
MSE of theta_a = (1-a) L + a G: (1-a)^2 s_L + a^2 (s_G + Delta^2) + 2a(1-a)c (R1).

Any real weight a is allowed.  Correctly rounded (never negative): the float64 nearest the
exact value of the derived form {form}."""),
    "benefit": ("benefit", """\
Benefit of averaging over the local model, B(a) = MSE(0) - MSE(a) = D a (2a* - a) (R4).

Positive exactly for a strictly between 0 and 2a*; negative outside; 0 when D = 0.
Correctly rounded: the float64 nearest the exact value of the derived form
{form}."""),
    "min_mse": ("min_mse", """\
Minimum MSE, MSE(a*) = s_L - (s_L - c)^2 / D (R3); (1 - a*) s_L when c = 0 (R8).

Requires D > 0.  Correctly rounded (>= 0 on the domain): the float64 nearest the exact
value of the derived closed form {form}."""),
    "beneficial_interval": ("interval_high", """\
The open interval of weights with B(a) > 0: between the roots 0 and 2a* of B (R5).

Returns ``(low, high)`` with low <= high; it lies below 0 when c > s_L, and is empty
(low == high == 0) when s_L = c.  Requires D > 0.  2a* correctly rounded: the float64
nearest the exact value of the derived form {form}; an end at zero is +0.0."""),
}


def public_source(name: str) -> str:
    """The public function ``name`` (argument names of the symbol table): Python floats,
    numpy.float64 and ints within float64's range are evaluated here, exactly (the code of
    ``scalar_<name>``); anything else, and any invalid input, goes to ``FALLBACK`` (the
    API's general path, which raises the precise error or evaluates arrays)."""
    form_name, doc = PUBLIC[name]
    form = SPECS[form_name][0]
    expr, syms = forms()[form]
    names = [s.name for s in syms]
    args = list(api_args(form))
    back = f"FALLBACK({name!r}, ({', '.join(args)}))"

    def evaluate(zero: frozenset[str]) -> list[str]:
        """Conversion, scaling, checks and value; the inputs in ``zero`` are 0."""
        code = rounding.integer_code(form_name, zero)
        conds = " and ".join(cond for cond, _m in code.checks)
        value = f"({code.numerator})/({code.denominator})"
        if name == "beneficial_interval":
            done = [f"hi = {value}", "return (min(0.0, hi) + 0.0, max(0.0, hi) + 0.0)"]
        else:
            done = [f"return {value}"]
        used = [(n, a) for n, a in zip(names, args, strict=True) if n not in zero]
        return ["try:  # (a zero needs no conversion)",
                *(f"    n_{n}, d_{n} = {a}.as_integer_ratio() if {a} else (0, 1)"
                  for n, a in used),
                "except (OverflowError, ValueError):  # inf, nan",
                f"    return {back}",
                *_scale_lines([n for n, _a in used]), *code.lines,
                *([f"if {conds}:"] if conds else ["if True:"]),
                "    try:", *(f"        {ln}" for ln in done),
                "    except OverflowError:", "        pass",
                f"return {back}"]

    fast = f"_C_{form_name.upper()}({', '.join(args)})"
    if name == "beneficial_interval":
        fast_done = ["return (min(0.0, hi) + 0.0, max(0.0, hi) + 0.0)"]
    else:
        fast_done = ["return hi"]
    test = [f"hi = {fast}  # the C extension, when built: a certified value or None",
            "if hi is not None:", *(f"    {ln}" for ln in fast_done)]
    for k, a in enumerate(args):
        head = "if (" if k == 0 else "        and "
        test.append(f"{head}(type({a}) is float or type({a}) is _F64 "
                    f"or (type({a}) is int and -MAX <= {a} <= MAX))")
    test[-1] += "):"
    cov = api_args(form)[names.index("c")] if "c" in names else None
    body = [*test]
    if cov:  # the default cov = 0 (independent estimators): its own, shorter code
        body += [f"    if not {cov}:", *(f"        {ln}" for ln in evaluate(frozenset("c")))]
    body += [*(f"    {ln}" for ln in evaluate(frozenset())[:-1]), f"return {back}"]
    sig = ", ".join(f"{a}: ArrayLike" for a in args[:-1]) + f", {args[-1]}: ArrayLike = 0.0"
    ret = ("tuple[FloatOrArray, FloatOrArray]" if name == "beneficial_interval"
           else "FloatOrArray")
    text = doc.format(form=expr)
    doc_lines = ['"""' + text.splitlines()[0], *text.splitlines()[1:], '"""']
    head = f"def {name}({sig}) -> {ret}:"
    return "\n".join([head, *(f"    {ln}" if ln else "" for ln in [*doc_lines, *body])]) + "\n"


def exact_source(name: str) -> str:
    """``exact_<name>(n..., d)``: the value at the rationals n_i / d, domain unchecked."""
    form = SPECS[name][0]
    names = [f"n_{s.name}" for s in forms()[form][1]]
    code = rounding.integer_code(name)
    head = f"def exact_{name}({', '.join(names)}, d):"
    doc = (f'"""{name} at the rationals n_i / d, correctly rounded; OverflowError past '
           'float64."""')
    body = [doc, *code.lines, f"return ({code.numerator})/({code.denominator})"]
    return "\n".join([head, *(f"    {ln}" for ln in body)]) + "\n"


def domain_source() -> str:
    """``exact_domain(n..., d)``: the integers deciding the domain, in :data:`DOMAIN` order."""
    code = rounding.domain_code(PARAM_SYMBOLS)
    names = [f"n_{s.name}" for s in PARAM_SYMBOLS]
    values = [cond for cond, _m in code.checks] + [code.numerator]
    body = ['"""Homogenised domain values at the rationals n_i / d (see DOMAIN)."""',
            *code.lines, f"return ({', '.join(values)})"]
    head = f"def exact_domain({', '.join(names)}, d):"
    return "\n".join([head, *(f"    {ln}" for ln in body)]) + "\n"


def vector_source(name: str) -> str:
    """Numpy function ``vector_<name>`` (CSE'd, as lambdify prints it); shown in
    ``reports/compiled/``, not part of the numeric API any more."""
    expr, args = forms()[name]
    lines, value = printed(expr, NumPyPrinter(dict(_LAMBDIFY_SETTINGS)))
    head = f"def vector_{name}({', '.join(str(s) for s in args)}):"
    return "\n".join([head, *(f"    {ln}" for ln in [*lines, f"return {value}"])]) + "\n"


_NUMPY_HELPERS = '''

def _split(a):
    """Veltkamp's split: a = hi + lo, each half a float of 26 bits (|a| < 2^996)."""
    t = SPLITTER*a
    hi = t - (t - a)
    return hi, a - hi


def _two_prod(a, b):
    """Dekker's product: p + e = a b exactly (no over- or underflow)."""
    p = a*b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah*bh - p) + ah*bl + al*bh) + al*bl


def _fma(a, b, c):
    """a b + c with two roundings (numpy has no fused multiply-add; used only where
    the double-word bounds allow it)."""
    return a*b + c


def _half_gap(ax):
    """Half the smaller gap between ax > 0 (normal float64s, an array) and its
    neighbours: half an ulp, a quarter at a power of two (powers of two themselves)."""
    e = (ax.view(numpy.int64) & EXPONENT).view(numpy.float64)  # 2^E <= ax < 2^(E+1)
    return numpy.where(ax == e, e*(HALF_ULP*0.5), e*HALF_ULP)
'''

_DOC = '''\
"""Exact integer and numpy double-double evaluation of the public functions, and the
constants and tables :mod:`modelavg_sym.numeric.api` dispatches on.

Generated by :mod:`modelavg_sym.codegen.python` from
:func:`modelavg_sym.derive.core.two_estimator`; regenerate with
{command}.

* the public functions (``optimal_weight``, ``mse``, ``benefit``, ``min_mse``,
  ``beneficial_interval``): floats, numpy.float64 and ints evaluated here, exactly;
  anything else through ``FALLBACK``, the API's general path (``set_fallback``);
* ``scalar_<name>(x...)``: correctly rounded value at Python floats, or ``None`` when the
  general path must decide (NaN, inf, outside the domain, or overflow);
* ``exact_<name>(n..., d)``: correctly rounded value at the rationals n_i / d (domain
  unchecked; ``OverflowError`` past float64's range);
* ``exact_domain(n..., d)``: the integers whose signs decide the domain (``DOMAIN``);
* ``cr_<name>(x...)``: double-double value and flag per element of numpy arrays (False:
  evaluate that element exactly).

The method: :mod:`modelavg_sym.codegen.rounding`.
"""
'''


def _tables() -> str:
    names = list(forms())
    labels = [m for _c, m in rounding.domain_code(PARAM_SYMBOLS).checks] + ["D > 0"]
    rows = [
        "#: Symbol names of each form's arguments, in call order.",
        "ARGS = {",
        *(f"    {n!r}: {tuple(str(s) for s in forms()[n][1])!r}," for n in names),
        "}",
        "#: Public argument names of each form (the symbol table's ``arg``).",
        "API_ARGS = {",
        *(f"    {n!r}: {api_args(n)!r}," for n in names),
        "}",
        "#: Public function -> (form evaluated, takes a weight, policy when D <= 0: \"raise\",",
        "#: \"zero\" (the value is 0) or \"\" (D not needed)).",
        "SPECS = {",
        *(f"    {n!r}: {spec!r}," for n, spec in SPECS.items()),
        "}",
        "#: Functions with a compiled loop (numba, ``_fastkernels``) for arrays.",
        f"FUSED = {FUSED!r}",
        "#: What each value of ``exact_domain`` must satisfy (>= 0; D: > 0 where needed).",
        f"DOMAIN = {tuple(labels)!r}",
        "#: Veltkamp's splitting constant 2^27 + 1.",
        "SPLITTER = 134217729.0",
    ]
    return "\n".join(rows) + "\n"


def _registry(prefix: str, names: list[str]) -> str:
    rows = [f"{prefix.upper()} = {{", *(f"    {n!r}: {prefix}_{n}," for n in names), "}"]
    return "\n".join(rows) + "\n"


_PUBLIC_HEAD = '''

#: numpy.float64 is a float subclass, taken as it is (NaN and inf fail in as_integer_ratio).
_F64 = numpy.float64
ArrayLike = npt.ArrayLike
FloatOrArray = float | npt.NDArray[numpy.float64]


def _no_extension(*args):
    """Stands for a function of the C extension when it is not built (or not current)."""
    return None


if _os.environ.get("MODELAVG_SYM_NO_CEXT"):  # the exact path alone (tests, benchmarks)
    _cscalar = None
else:
    try:
        from modelavg_sym.numeric import _cscalar
    except ImportError:  # built without a C compiler: the exact path answers every call
        _cscalar = None
    else:
        if getattr(_cscalar, "DIGEST", None) != CSCALAR_DIGEST:  # built from an older text
            _cscalar = None
#: True when the C extension (``_cscalar``, generated from the same programs) is in use.
C_EXTENSION = _cscalar is not None
@C_BINDINGS@

def FALLBACK(name, args):
    """The general path for anything the public functions do not evaluate here (replaced
    by the API's, :func:`set_fallback`)."""
    raise RuntimeError("modelavg_sym.numeric.api is not loaded")


def set_fallback(fn):
    """Install the API's general path (:mod:`modelavg_sym.numeric.api` does, at import)."""
    global FALLBACK
    FALLBACK = fn
'''


def module_source() -> str:
    """The text of ``modelavg_sym/numeric/_generated.py`` (deterministic)."""
    names = list(SPECS)
    binds = "\n".join(f"_C_{n.upper()} = _cscalar.{n} if _cscalar is not None else _no_extension"
                      for n in names)
    code = _PUBLIC_HEAD.replace("@C_BINDINGS@", binds + "\n")
    for n in PUBLIC:
        code += "\n\n" + public_source(n)
    for n in names:
        form = SPECS[n][0]
        expr, args = forms()[form]
        P, Q = rounding.dd_form(form)
        code += (f"\n\n# {n}({', '.join(str(s) for s in args)}) = {expr}\n"
                 f"#   evaluated as ({P}) / ({Q}), D = Delta**2 + u_L + u_G, "
                 "u_L = s_L - c, u_G = s_G - c\n")
        code += "\n\n".join([scalar_source(n), exact_source(n), rounding.element_source(n)])
    regs = "\n".join(_registry(p, names) for p in ("scalar", "exact", "cr"))
    return with_banner(_DOC.format(command=COMMAND) + "\nfrom __future__ import annotations\n\n"
                       + "import os as _os\n\nimport numpy\nimport numpy.typing as npt\n\n"
                       + constants_block()
                       + "#: SHA-256 of the C extension's source this module goes with\n"
                       + f"CSCALAR_DIGEST = {cext.digest()!r}\n"
                       + _tables() + rounding.helpers_source()
                       + _NUMPY_HELPERS + "\n\n" + domain_source() + code + "\n\n" + regs)
