"""Source of ``modelavg_sym/numeric/_generated_estimators.py``: the moments the data
estimators, the risk study and the matrix solvers compute, derived by the engine and
printed as numpy code that runs without sympy.

**Sums over nodes.**  For node j as the local node and the other nodes i != j pooled by
size (the ``other_nodes`` setting of :mod:`modelavg_sym.derive.settings`), the engine
derives s_L, s_G, c, E[G], E[G] - theta and, with random node means, E[Delta^2] for a
fixed number K of other nodes.  By linearity each comes out as a sum with one term per
noise term, i.e. per node; with N = sum_{i != j} n_i substituted for the literal sum, every
term belongs to the local node or to exactly one other node, and a node's term factors into
a coefficient (local symbols, parameters, N) times a function of that node's own data
(:func:`node_sum`).  So the quantity is

    local(x_j, N) + sum_r coeff_r(x_j, N) * sum_{i != j} term_r(x_i),

vectorised over the node axis with leave-one-out sums.  The form is read off the K = 3
derivation and checked against the engine for K = 2 and 4 here (and 2..5 in the tests).

**Matrices.**  M = S + b b' of the N-estimator MSE (from
:func:`modelavg_sym.derive.nestimators.quadratic_form_matrix`) and M, R, MSE(0) of the
matrix weight (:func:`modelavg_sym.derive.multivariate.normal_equations`) are linear
combinations of a few matrix patterns (S_L, C, C', Delta Delta', traces); the
coefficients are solved for from the d = 2 derivation (:func:`pattern_coefficients`) and
checked for d = 1..3.

**Two estimators.**  D = E[(G - L)^2] with Delta^2 replaced by E[Delta^2], and the bias
E[(G - L)^2] - Delta^2 of the naive plug-in, from :func:`modelavg_sym.derive.core.two_estimator`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from modelavg_sym.algebra.moments import expectation
from modelavg_sym.codegen.printing import COMMAND, with_banner
from modelavg_sym.derive import multivariate, nestimators
from modelavg_sym.derive.core import two_estimator
from modelavg_sym.derive.settings import Population, Setting, node_symbols, other_nodes
from modelavg_sym.symbols import Delta, c, s_G, s_L

__all__ = ["GENERATED_PATH", "NodeSum", "generated_sources", "module_source",
           "node_quantities", "node_sum", "pattern_coefficients", "rebuild"]

#: Repo-relative path of the generated module.
GENERATED_PATH = "modelavg_sym/numeric/_generated_estimators.py"
#: Other nodes in the derivation the node formulas are read from, and checked against.
READ_NODES, CHECK_NODES = 3, (2, 4)
#: Dimension the matrix patterns are read from, and the dimensions they are checked for.
READ_DIM, CHECK_DIMS = 2, (1, 2, 3)

#: Spread of the node means (random-effects variance) and their common mean.
SPREAD = sp.Symbol("tau2", nonnegative=True)
COMMON_MEAN = sp.Symbol("mu", real=True)
#: Size of the other nodes pooled, N = sum_{i != j} n_i.
N_OTHER = sp.Symbol("N", positive=True)
#: E[Delta^2] as an argument of D.
BIAS_SQ = sp.Symbol("Delta_sq", nonnegative=True)

#: Node quantities: generated name -> (arguments, one-line meaning).
NODE_SPECS: dict[str, tuple[tuple[str, ...], str]] = {
    "nodes_var_local": (("n", "var"), "s_L = Var(L) of the local node's sample mean"),
    "nodes_var_global": (("n", "var"), "s_G = Var(G) of the other nodes' size-weighted mean"),
    "nodes_cov": (("n", "var"), "c = Cov(L, G)"),
    "nodes_global_mean": (("n", "mean"), "E[G], the other nodes' size-weighted mean of "
                          "the node means (the global model at the sample means)"),
    "nodes_bias": (("n", "mean"), "Delta = E[G] - theta (G - L at the sample means)"),
    "nodes_bias_sq_random_means": (("n", "spread"), "E[Delta^2] when the node means are "
                                   "drawn i.i.d. with variance spread (tau^2)"),
}


# --------------------------------------------------------------------------- node sums


def _nodes(K: int) -> tuple[tuple[sp.Symbol, ...], ...]:
    """(n_i, v_i, mu_i) for nodes 0..K (node 0 is the local node)."""
    n, v, m = node_symbols(K)
    return tuple(zip(n, v, m, strict=True))


def node_quantities(K: int) -> dict[str, tuple[sp.Expr, sp.Expr]]:
    """For K other nodes: name -> (the engine's expression as expanded by linearity, the
    engine's factored value), for every name of :data:`NODE_SPECS`."""
    n, v, m = node_symbols(K)
    fixed = other_nodes(n, v, m)
    pop = Population.build(n, v, [COMMON_MEAN] * (K + 1), spread=SPREAD)
    random = pop.setting(pop.sample_mean(0), pop.size_weighted(range(1, K + 1)),
                         "other_nodes_random_means", "Other nodes, random node means")
    raw = fixed.raw_moments
    return {
        "nodes_var_local": (raw["var_local"], fixed.var_local),
        "nodes_var_global": (raw["var_global"], fixed.var_global),
        "nodes_cov": (raw["cov"], fixed.cov),
        "nodes_global_mean": (expectation(fixed.global_), sp.factor(expectation(fixed.global_))),
        "nodes_bias": (fixed.bias, fixed.bias),
        "nodes_bias_sq_random_means": (_random_bias_sq(random), random.bias_sq),
    }


def _random_bias_sq(setting: Setting) -> sp.Expr:
    """E[Delta^2] = E[Delta]^2 + Var(Delta); E[Delta] = 0 for a common mean."""
    return setting.bias**2 + setting.raw_moments["bias_var"]


@dataclass(frozen=True)
class NodeSum:
    """``local + sum_r coeff_r * sum_{i != j} term_r(node i)``.

    ``local`` and the coefficients are expressions in the local node's symbols (n_0, v_0,
    mu_0), parameters and :data:`N_OTHER`; each term is in node 1's symbols (n_1, v_1, mu_1)
    standing for any other node.
    """

    local: sp.Expr
    terms: tuple[tuple[sp.Expr, sp.Expr], ...]


def node_sum(expr: sp.Expr, K: int) -> NodeSum:
    """Read ``expr`` (derived for local node 0 and other nodes 1..K) as a :class:`NodeSum`.

    Raises ``ValueError`` when a term involves two other nodes or the nodes' terms are not
    the same function of each node's data (the form does not apply)."""
    nodes = _nodes(K)
    total = sp.Add(*(nodes[i][0] for i in range(1, K + 1)))
    expanded = sp.expand(sp.sympify(expr).subs(total, N_OTHER))
    local, groups = sp.S.Zero, {i: sp.S.Zero for i in range(1, K + 1)}
    for term in sp.Add.make_args(expanded):
        owners = [i for i in groups if term.has(*nodes[i])]
        if len(owners) > 1:
            raise ValueError(f"term {term} involves nodes {owners}: not a sum over nodes")
        if owners:
            groups[owners[0]] += term
        else:
            local += term
    first = groups[1]
    for i, group in groups.items():
        moved = group.subs(dict(zip(nodes[i], nodes[1], strict=True)), simultaneous=True)
        if sp.expand(moved - first) != 0:
            raise ValueError(f"node {i}'s term differs from node 1's: {group} vs {first}")
    by_term: dict[sp.Expr, sp.Expr] = {}
    for term in sp.Add.make_args(first) if first != 0 else ():
        coeff, own = term.as_independent(*nodes[1], as_Add=False)
        by_term[own] = by_term.get(own, sp.S.Zero) + coeff
    terms = []
    for own, coeff in sorted(by_term.items(), key=lambda kv: sp.srepr(kv[0])):
        if own == nodes[1][0]:  # sum_{i != j} n_i is N itself
            local += coeff * N_OTHER
        else:
            terms.append((sp.factor(coeff), own))
    return NodeSum(sp.expand(local), tuple(terms))


def rebuild(form: NodeSum, K: int) -> sp.Expr:
    """The expression for K other nodes that ``form`` stands for (N = n_1 + ... + n_K)."""
    nodes = _nodes(K)
    total = sp.Add(*(nodes[i][0] for i in range(1, K + 1)))
    out = form.local
    for coeff, own in form.terms:
        out += coeff * sp.Add(*(own.subs(dict(zip(nodes[1], nodes[i], strict=True)),
                                         simultaneous=True) for i in range(1, K + 1)))
    return out.subs(N_OTHER, total)


@cache
def node_forms() -> dict[str, NodeSum]:
    """Every node quantity read off the K = :data:`READ_NODES` derivation, checked against
    the engine's factored values for K in :data:`CHECK_NODES`."""
    forms = {name: node_sum(raw, READ_NODES)
             for name, (raw, _value) in node_quantities(READ_NODES).items()}
    for K in CHECK_NODES:
        for name, (_raw, value) in node_quantities(K).items():
            if sp.cancel(sp.together(rebuild(forms[name], K) - value)) != 0:
                raise AssertionError(f"{name}: the node-sum form fails for K = {K}")
    return forms


# --------------------------------------------------------------------------- matrices


def pattern_coefficients(X: sp.MatrixBase, patterns: dict[str, sp.MatrixBase],
                         data: Sequence[sp.Symbol]) -> dict[str, sp.Expr]:
    """Constants alpha_p with X = sum_p alpha_p P_p identically in the ``data`` symbols
    (every entry's polynomial coefficients must agree); ``ValueError`` if none or many."""
    alphas = sp.symbols(f"alpha_0:{len(patterns)}")
    eqs = []
    for idx in range(len(X)):
        res = sp.expand(X[idx] - sum(al * P[idx] for al, P in
                                     zip(alphas, patterns.values(), strict=True)))
        eqs += sp.Poly(res, *data).coeffs() if res != 0 else []
    sols = list(sp.linsolve(eqs, alphas))
    if len(sols) != 1 or any(s.free_symbols & set(alphas) for s in sols[0]):
        raise ValueError("the matrix is not a unique combination of the patterns")
    return dict(zip(patterns, sols[0], strict=True))


def _mv_patterns(d: int) -> tuple[dict[str, sp.MatrixBase], dict[str, sp.MatrixBase], list]:
    S_L, S_G, C, b = multivariate.symbolic_matrices(d)
    outer = b * b.T
    matrix = {"var_local": S_L, "var_global": S_G, "cov": C, "cov_T": C.T, "bias_outer": outer}
    scalar = {"trace_var_local": sp.Matrix([S_L.trace()]),
              "trace_var_global": sp.Matrix([S_G.trace()]),
              "trace_cov": sp.Matrix([C.trace()]), "bias_norm_sq": b.T * b}
    data = sorted(set().union(*(x.free_symbols for x in (S_L, S_G, C, b))), key=str)
    return matrix, scalar, data


def _ne_model(d: int) -> tuple[sp.MatrixBase, dict[str, sp.MatrixBase], list]:
    S = sp.Matrix(d, d, lambda i, k: sp.Symbol(f"S_{min(i, k)}{max(i, k)}", real=True))
    b = sp.Matrix(d, 1, lambda i, _k: sp.Symbol(f"b_{i}", real=True))
    w = sp.symbols(f"w_0:{d}", real=True)
    M = nestimators.quadratic_form_matrix(nestimators.mse_form(S, list(b), w), w)
    data = sorted(S.free_symbols | b.free_symbols, key=str)
    return M, {"cov": S, "bias_outer": b * b.T}, data


def _combination(alphas: dict[str, sp.Expr]) -> sp.Expr:
    """sum_p alpha_p * (symbol named p)."""
    return sp.Add(*(al * sp.Symbol(name) for name, al in alphas.items()))


def _expand_patterns(form: sp.Expr, patterns: dict[str, sp.MatrixBase],
                     shape: tuple[int, int]) -> sp.MatrixBase:
    """The matrix a :func:`_combination` stands for, with these patterns."""
    out = sp.zeros(*shape)
    for sym in sorted(form.free_symbols, key=str):
        out += form.coeff(sym) * patterns[str(sym)]
    return out


@cache
def matrix_forms() -> dict[str, sp.Expr]:
    """Generated name -> combination of pattern symbols, read off d = :data:`READ_DIM` and
    checked for d in :data:`CHECK_DIMS`."""
    def mv_targets(d: int) -> dict[str, tuple[sp.MatrixBase, bool]]:
        ne = multivariate.normal_equations(d)
        return {"multivariate_M": (ne["M"], False), "multivariate_R": (ne["R"], False),
                "multivariate_mse_at_zero": (sp.Matrix([ne["mse_at_zero"]]), True)}

    out: dict[str, sp.Expr] = {}
    for d in (READ_DIM, *CHECK_DIMS):
        matrix, scalar, data = _mv_patterns(d)
        M_ne, ne_patterns, ne_data = _ne_model(d)
        cases = {name: (X, scalar if is_scalar else matrix, data)
                 for name, (X, is_scalar) in mv_targets(d).items()}
        cases["nestimators_M"] = (M_ne, ne_patterns, ne_data)
        for name, (X, patterns, syms) in cases.items():
            if name not in out:  # read off READ_DIM
                out[name] = _combination(pattern_coefficients(X, patterns, syms))
                continue
            if sp.expand(_expand_patterns(out[name], patterns, X.shape) - X) != sp.zeros(
                    *X.shape):
                raise AssertionError(f"{name}: the pattern form fails for d = {d}")
    return out


# --------------------------------------------------------------------------- two estimators


@cache
def two_estimator_forms() -> dict[str, sp.Expr]:
    """``D`` with Delta^2 -> E[Delta^2] and ``naive_delta_sq_bias`` = E[(G - L)^2] - Delta^2,
    from the derived D := E[(G - L)^2]."""
    D = sp.expand(two_estimator()["D"])
    D_sq = D.subs(Delta**2, BIAS_SQ)
    naive = sp.expand(D - Delta**2)
    if D_sq.has(Delta) or naive.has(Delta):  # pragma: no cover - D is even in Delta
        raise AssertionError("D is not a function of Delta^2")
    return {"D": D_sq, "naive_delta_sq_bias": naive}


# --------------------------------------------------------------------------- printing


class _Printer(PythonCodePrinter):
    """Python printer that refuses non-integer rationals (``1/2`` would be float division,
    inexact on ``Fraction`` arrays; no generated quantity needs one yet)."""

    def _print_Rational(self, expr: sp.Rational) -> str:
        if expr.q != 1:
            raise NotImplementedError(f"non-integer rational {expr} in a generated formula")
        return str(expr.p)


_LOCAL_NAMES = ("n", "var", "mean")


def _agg_name(own: sp.Expr, node: tuple[sp.Symbol, ...]) -> str:
    """``sum_n_var`` for n_i v_i, ``sum_n2`` for n_i^2 (names in argument order)."""
    order = {sym: k for k, sym in enumerate(node)}
    parts = []
    for base, exp in sorted(own.as_powers_dict().items(), key=lambda kv: order[kv[0]]):
        name = _LOCAL_NAMES[order[base]]
        parts.append(name + ("" if exp == 1 else str(exp).replace("-", "inv")))
    return "sum_" + "_".join(parts)


def _signature(name: str, args: Sequence[str]) -> str:
    """``def name(arg: ArrayLike, ...) -> Array:``, one argument per line when long."""
    params = [f"{a}: ArrayLike" for a in args]
    line = f"def {name}({', '.join(params)}) -> Array:"
    if len(line) <= 100:
        return line
    return "\n".join([f"def {name}(", *(f"    {p}," for p in params), ") -> Array:"])


def _docstring(meaning: str, formula: str, where: Sequence[str] = ()) -> list[str]:
    """Indented docstring lines: the meaning (wrapped), the printed formula, its terms."""
    first = textwrap.wrap(f'"""{meaning}', width=92)
    return [f"    {ln}" for ln in first] + ["", f"    {formula}",
                                              *(f"    with {w}" for w in where), '    """']


def _node_function(name: str, form: NodeSum) -> str:
    args, meaning = NODE_SPECS[name]
    local, node = _nodes(1)
    pr = _Printer()
    rename = {**dict(zip(local, map(sp.Symbol, _LOCAL_NAMES), strict=True)),
              SPREAD: sp.Symbol("spread"), N_OTHER: sp.Symbol("n_other")}
    node_rename = dict(zip(node, map(sp.Symbol, _LOCAL_NAMES), strict=True))
    node_i = {sym: sp.Symbol(f"{name}_i") for sym, name in zip(node, _LOCAL_NAMES, strict=True)}
    body = [f"{a} = np.asarray({a})" for a in args]
    value = form.local.subs(rename, simultaneous=True)
    where = []
    if form.terms or value.has(sp.Symbol("n_other")):
        body.append("n_other = leave_one_out(n)")
        where.append("n_other = sum_{i != j} n_i")
    for coeff, own in form.terms:
        agg = sp.Symbol(_agg_name(own, node))
        code = pr.doprint(own.subs(node_rename, simultaneous=True))
        body.append(f"{agg} = leave_one_out({code})")
        where.append(f"{agg} = sum_{{i != j}} {pr.doprint(own.subs(node_i))}")
        value += coeff.subs(rename, simultaneous=True) * agg
    unknown = {str(s) for s in value.free_symbols} - {*args, "n_other"} - {
        _agg_name(own, node) for _c, own in form.terms}
    if unknown:  # pragma: no cover - NODE_SPECS names every argument
        raise AssertionError(f"{name}: symbols {sorted(unknown)} are not arguments")
    text = pr.doprint(value)
    ret = text
    if value.is_number:  # a constant, broadcast in the arguments' own arithmetic
        joined = ", ".join(args)
        ret = f"np.zeros(np.broadcast({joined}).shape, dtype=np.result_type({joined}))"
        ret += "" if value == 0 else f" + {text}"
    doc = _docstring(f"{meaning}, for every node j as the local node (nodes on the last "
                     "axis).", f"{name} = {text}", where)
    head = _signature(name, args)
    return "\n".join([head, *doc, *(f"    {ln}" for ln in body), f"    return {ret}"]) + "\n"


_PATTERN_CODE = {
    "cov_T": "np.swapaxes(cov, -1, -2)",
    "bias_outer": "bias[..., :, None] * bias[..., None, :]",
    "trace_var_local": "np.trace(var_local, axis1=-2, axis2=-1)",
    "trace_var_global": "np.trace(var_global, axis1=-2, axis2=-1)",
    "trace_cov": "np.trace(cov, axis1=-2, axis2=-1)",
    "bias_norm_sq": "(bias * bias).sum(axis=-1)",
}

_MATRIX_DOCS = {
    "multivariate_M": ("M of the matrix weight's normal equations A M = R: (1/2) the "
                       "Hessian of MSE(A) in a row of A"),
    "multivariate_R": "R of the normal equations A M = R: -(1/2) dMSE/dA at A = 0",
    "multivariate_mse_at_zero": "MSE(A = 0), the local model's MSE",
    "nestimators_M": "M with MSE(w) = w' M w for estimators with covariance cov and biases bias",
}


def _matrix_function(name: str, expr: sp.Expr) -> str:
    args = ("cov", "bias") if name.startswith("nestimators") else (
        "var_local", "var_global", "cov", "bias")
    used = sorted(str(s) for s in expr.free_symbols)
    needed = {a for a in args for p in used if p == a or a in _PATTERN_CODE.get(p, "")}
    body = [f"{a} = np.asarray({a})" for a in args if a in needed]
    body += [f"{p} = {_PATTERN_CODE[p]}" for p in used if p in _PATTERN_CODE]
    text = _Printer().doprint(expr)
    doc = _docstring(f"{_MATRIX_DOCS[name]} (derived; any leading batch axes).",
                     f"{name} = {text}")
    head = _signature(name, args)
    return "\n".join([head, *doc, *(f"    {ln}" for ln in body), f"    return {text}"]) + "\n"


def _scalar_function(name: str, expr: sp.Expr) -> str:
    names = {s_L: "var_local", s_G: "var_global", c: "cov", BIAS_SQ: "bias_sq"}
    value = expr.subs({k: sp.Symbol(v) for k, v in names.items()}, simultaneous=True)
    args = [v for k, v in names.items() if k in expr.free_symbols]
    text = _Printer().doprint(value)
    meaning = {"D": "D = E[(G - L)^2] of the two-estimator derivation at Delta^2 = bias_sq",
               "naive_delta_sq_bias": "E[(G - L)^2] - Delta^2, the bias of the naive "
                                      "plug-in (G - L)^2 for Delta^2"}[name]
    head = _signature(name, args)
    doc = _docstring(f"{meaning} (elementwise).", f"{name} = {text}")
    return "\n".join([head, *doc, f"    return {text}"]) + "\n"


_HEADER = '''\
"""Moments of the data estimators, the risk study and the matrix solvers, derived by the
engine: sums over nodes, D, and the matrices of the N-estimator and matrix-weight optima.

Generated by :mod:`modelavg_sym.codegen.estimators` from the settings engine,
:func:`modelavg_sym.derive.core.two_estimator`, :mod:`modelavg_sym.derive.nestimators` and
:mod:`modelavg_sym.derive.multivariate`; regenerate with
{command}.

Node functions take arrays with nodes on the last axis and return, for every node j as
the local node, the quantity of the ``other_nodes`` setting (global model: the other nodes'
size-weighted mean).  Float arrays compute in float64; object arrays of ``Fraction``
compute exactly.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from modelavg_sym.numeric.nodes import leave_one_out

ArrayLike = npt.ArrayLike
Array = npt.NDArray[np.float64]

__all__ = [
{names}
]
'''


def module_source() -> str:
    """The text of :data:`GENERATED_PATH` (deterministic)."""
    parts = [f"{_node_function(name, form)}" for name, form in node_forms().items()]
    parts += [_scalar_function(name, e) for name, e in two_estimator_forms().items()]
    parts += [_matrix_function(name, e) for name, e in matrix_forms().items()]
    names = sorted([*node_forms(), *two_estimator_forms(), *matrix_forms()])
    header = _HEADER.format(command=COMMAND, names="\n".join(f'    "{n}",' for n in names))
    return with_banner(header + "\n\n" + "\n\n".join(parts))


def generated_sources() -> dict[str, str]:
    """Repo-relative path -> source text of the generated module (for ``regenerate``)."""
    return {GENERATED_PATH: module_source()}
