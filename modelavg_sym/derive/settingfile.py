"""Setting files: a user's own setting, written in TOML, turned into a :class:`Setting`.

A setting file declares the nodes, the assumptions on every symbol, the local and global
estimators (linear combinations of the node sample means xbar_i) and the target; the
settings engine (:mod:`modelavg_sym.derive.settings`) then derives s_L, s_G, c and Delta
(or E[Delta^2]) by linearity and every two-estimator result by substitution.  Example
(three clusters with random effects, the global model pooled over the other clusters)::

    title = "Three clusters with random effects"

    [nodes]
    count = 3                 # nodes 0..2; node 0 is the local node
    n = "n_i"                 # one expression for every node (``_i`` is the node index)
    var = "v_i"               # or a list with one entry per node
    mean = "mu"
    spread = "sigma**2"       # random node means mu_i = mean_i + m_i, Var(m_i) = sigma^2

    [assumptions]
    positive = ["n_i", "v_i", "sigma"]
    real = ["mu"]
    integer = ["n_i"]
    relations = ["n_0 < n_1"]

    [estimators]
    local = "node(0)"         # the default
    global = "pooled(others)"

Keys (every other key is an error):

* ``name``, ``title``: strings (``name`` defaults to the file's stem).
* ``[nodes]``: ``count`` (an integer >= 2, or an expression in a symbol such as
  ``"K + 1"`` with ``representative = {K = 2}``: the symbolic pages are derived for that
  representative), ``n``, ``var``, ``mean`` (a number, an expression, or a list of
  ``count`` of them), optional ``spread`` (sigma^2 of random node means).
* ``[assumptions]``: ``positive``, ``nonnegative``, ``real``, ``integer`` (lists of symbol
  names; ``x_i`` stands for x_0 .. x_K) and ``relations`` (comparisons ``"a < b"`` between
  a symbol and a symbol or a number).  Every symbol used must be declared positive,
  nonnegative or real.
* ``[estimators]``: ``local`` (default ``node(<target>)``), ``global``, optional
  ``[estimators.candidates]`` (name = estimator: further candidates for the N-estimator
  optimum).  An estimator is a list of weights (one per node), or an expression in
  ``xbar_0 .. xbar_K``, ``node(j)``, ``pooled(S)`` = ``size_weighted(S)``
  (sum_{i in S} n_i xbar_i / sum_{i in S} n_i) and ``uniform(S)`` (equal weights), with
  ``S`` one of ``all``, ``others`` (every node but the target) or a list of indices.  It
  must be affine in the node means; the local one must be unbiased for the target.
* ``[target]``: ``node`` (default 0): the node whose mean is estimated.
* ``[claims]``: ``unit_interval`` (bool): also claim 0 <= a* <= 1 (claimed by default
  only when c = 0 identically, where the core theory proves it).
* ``[montecarlo]``: ``distribution`` (a numpy family spec, standardised to each node's
  mean and variance; default ``"exponential(scale=1)"``), ``values`` (a number for every
  symbol: the point simulated), ``replications`` (optional integer).

Errors are :class:`SettingFileError` (a :class:`~modelavg_sym.errors.DataError`), one line
``<file>:<line>: <key>: <problem>``; tomllib reports no line for a value, so the line is
found by scanning the source for the key under its table.

Expressions are parsed with :mod:`ast` (numbers, declared symbols, ``+ - * / **``,
``sqrt``): nothing in a file is evaluated as Python.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import sympy as sp

from modelavg_sym.algebra.moments import RandomAffine
from modelavg_sym.derive.core import Derivation
from modelavg_sym.derive.pageforms_setting import setting_presentation
from modelavg_sym.derive.settings import Population, Setting
from modelavg_sym.errors import DataError, InvalidParameterError

__all__ = ["PACKAGE_SETTINGS", "SettingFileError", "load_setting", "package_setting",
           "parse_setting", "setting_derivation"]

#: Keys allowed in each table ("" is the top level), with their expected types.
_SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    "": {"name": (str,), "title": (str,), "nodes": (dict,), "assumptions": (dict,),
         "estimators": (dict,), "target": (dict,), "claims": (dict,),
         "montecarlo": (dict,)},
    "nodes": {"count": (int, str), "representative": (dict,), "n": (int, float, str, list),
              "var": (int, float, str, list), "mean": (int, float, str, list),
              "spread": (int, float, str)},
    "assumptions": {"positive": (list,), "nonnegative": (list,), "real": (list,),
                    "integer": (list,), "relations": (list,)},
    "estimators": {"local": (str, list), "global": (str, list), "candidates": (dict,)},
    "target": {"node": (int,)},
    "claims": {"unit_interval": (bool,)},
    "montecarlo": {"distribution": (str,), "values": (dict,), "replications": (int,)},
}
_REQUIRED = {"": ("nodes", "assumptions", "estimators"), "nodes": ("count", "n", "var", "mean"),
             "estimators": ("global",)}
_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", list: "a list",
               dict: "a table", bool: "true or false"}
_PER_NODE = re.compile(r"\b([A-Za-z][A-Za-z0-9]*)_i\b")
_FUNCTIONS: dict[str, Callable[[sp.Expr], sp.Expr]] = {"sqrt": sp.sqrt}
_SETS = ("all", "others")


class SettingFileError(DataError):
    """A malformed setting file: ``<file>:<line>: <key>: <problem>``.

    Attributes:
        file: the file's name (``<dict>`` for a mapping).
        line: the line the key is on (None when not found).
        key: the dotted key (``estimators.global``).
        problem: what is wrong.
    """

    def __init__(self, file: str, line: int | None, key: str, problem: str) -> None:
        self.file, self.line, self.key, self.problem = file, line, key, problem
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {key}: {problem}" if key else f"{where}: {problem}")


# ------------------------------------------------------------------------------ locating


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _key_pattern(key: str) -> re.Pattern[str]:
    return re.compile(r'(^|[{,]\s*)\s*["\']?' + re.escape(key) + r'["\']?\s*=')


def locate(source: str, dotted: str) -> int | None:
    """The 1-based line of key ``dotted`` (``a.b.c``) in TOML ``source``: under the table
    header ``[a.b]`` (or ``[a]`` with an inline table or dotted key), else the line of its
    nearest located parent.  ``None`` when neither is found (a mapping has no lines)."""
    if not source:
        return None
    parts = dotted.split(".")
    lines = source.splitlines()
    for depth in range(len(parts), 0, -1):
        table, key = ".".join(parts[:depth - 1]), parts[depth - 1]
        current = ""
        pat = _key_pattern(key)
        for no, text in enumerate(lines, 1):
            m = _HEADER.match(text)
            if m:
                current = re.sub(r"\s*\.\s*", ".", m.group(1)).replace('"', "")
                if current == ".".join(parts[:depth]):
                    return no
                continue
            if pat.search(text) and (current == table or table.startswith(current + ".")
                                     or (current == "" and table == "")
                                     or (table.endswith(current) and current)):
                return no
    return None


# ------------------------------------------------------------------------------ parsing


@dataclass
class _Context:
    file: str
    source: str

    def error(self, key: str, problem: str) -> SettingFileError:
        return SettingFileError(self.file, locate(self.source, key), key, problem)


def _check_table(ctx: _Context, table: str, value: Mapping[str, Any]) -> None:
    schema = _SCHEMA[table]
    prefix = f"{table}." if table else ""
    for key, val in value.items():
        if key not in schema:
            raise ctx.error(prefix + key, f"unknown key (allowed: {', '.join(schema)})")
        types = schema[key]
        ok = isinstance(val, types) and not (isinstance(val, bool) and bool not in types)
        if not ok:
            want = " or ".join(_TYPE_NAMES[t] for t in types)
            raise ctx.error(prefix + key, f"must be {want}, got {type(val).__name__} "
                            f"{val!r}"[:200])
    for key in _REQUIRED.get(table, ()):
        if key not in value:
            raise ctx.error(table, f"missing required key {key!r}")


def _expand_index(text: str, i: int | None) -> str:
    if i is None:
        return text
    return _PER_NODE.sub(lambda m: f"{m.group(1)}_{i}", re.sub(r"\bi\b", str(i), text))


class _Parser:
    """Expressions from text via :mod:`ast`: numbers, declared symbols, + - * / **,
    sqrt, and (for estimators) the estimator functions."""

    def __init__(self, ctx: _Context, symbols: Mapping[str, sp.Symbol]) -> None:
        self.ctx, self.symbols = ctx, symbols
        self.estimator_names: Mapping[str, Callable[..., sp.Expr]] = {}
        self.xbar: Mapping[str, sp.Symbol] = {}

    def parse(self, text: str | int | float, key: str, index: int | None = None) -> sp.Expr:
        if isinstance(text, bool):
            raise self.ctx.error(key, f"must be a number or an expression, got {text!r}")
        if isinstance(text, int):
            return sp.Integer(text)
        if isinstance(text, float):
            if text != text or abs(text) == float("inf"):
                raise self.ctx.error(key, f"must be finite, got {text!r}")
            return sp.nsimplify(text, rational=True)
        src = _expand_index(text, index)
        try:
            tree = ast.parse(src, mode="eval")
        except SyntaxError:
            raise self.ctx.error(key, f"cannot parse expression {text!r}") from None
        return self._node(tree.body, key, text)

    def _node(self, node: ast.AST, key: str, text: str) -> sp.Expr:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) \
                and not isinstance(node.value, bool):
            return (sp.Integer(node.value) if isinstance(node.value, int)
                    else sp.nsimplify(node.value, rational=True))
        if isinstance(node, ast.Name):
            if node.id in self.symbols:
                return self.symbols[node.id]
            if node.id in self.xbar:
                return self.xbar[node.id]
            raise self.ctx.error(key, f"undefined symbol {node.id!r} in {text!r} (declare it "
                                 "in [assumptions] positive, nonnegative or real)")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = self._node(node.operand, key, text)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            x, y = self._node(node.left, key, text), self._node(node.right, key, text)
            ops: dict[type, Callable[[sp.Expr, sp.Expr], sp.Expr]] = {
                ast.Add: lambda p, q: p + q, ast.Sub: lambda p, q: p - q,
                ast.Mult: lambda p, q: p * q, ast.Div: lambda p, q: p / q,
                ast.Pow: lambda p, q: p**q}
            if type(node.op) in ops:
                if isinstance(node.op, ast.Div) and y == 0:
                    raise self.ctx.error(key, f"division by zero in {text!r}")
                return ops[type(node.op)](x, y)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            name = node.func.id
            if name in _FUNCTIONS and len(node.args) == 1:
                return _FUNCTIONS[name](self._node(node.args[0], key, text))
            if name in self.estimator_names:
                return self.estimator_names[name](node.args, key, text)
        raise self.ctx.error(key, f"unsupported expression {ast.unparse(node)!r} in {text!r}")


def _symbol_names(entries: Sequence[object], ctx: _Context, key: str, count: int
                  ) -> list[str]:
    out = []
    for j, e in enumerate(entries):
        if not isinstance(e, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)?",
                                                      e):
            raise ctx.error(key, f"entry {j} must be a symbol name such as 'n_0', got {e!r}")
        out += ([_PER_NODE.sub(lambda m, i=i: f"{m.group(1)}_{i}", e) for i in range(count)]
                if _PER_NODE.fullmatch(e) else [e])
    return out


def _declare(ctx: _Context, asm: Mapping[str, Any], count: int) -> dict[str, sp.Symbol]:
    kinds: dict[str, dict[str, bool]] = {}
    for kind in ("positive", "nonnegative", "real"):
        for name in _symbol_names(asm.get(kind, []), ctx, f"assumptions.{kind}", count):
            if name in kinds:
                raise ctx.error(f"assumptions.{kind}", f"symbol {name!r} is declared twice")
            kinds[name] = {kind: True}
    for name in _symbol_names(asm.get("integer", []), ctx, "assumptions.integer", count):
        if name not in kinds:
            raise ctx.error("assumptions.integer", f"symbol {name!r} must also be declared "
                            "positive, nonnegative or real")
        kinds[name]["integer"] = True
    reserved = {"xbar", "node", "pooled", "uniform", "size_weighted", "all", "others", "sqrt",
                "i", "a", "Fraction", "ARGUMENTS"}
    for name in kinds:
        if name in reserved or name.startswith("xbar_"):
            raise ctx.error("assumptions", f"symbol name {name!r} is reserved")
    return {name: sp.Symbol(name, **kw) for name, kw in sorted(kinds.items())}


def _per_node(p: _Parser, value: object, key: str, count: int) -> list[sp.Expr]:
    if isinstance(value, list):
        if len(value) != count:
            raise p.ctx.error(key, f"must have one entry per node ({count}), got {len(value)}")
        return [p.parse(v, key) if isinstance(v, str | int | float) else _bad(p, key, v)
                for v in value]
    return [p.parse(value, key, i) for i in range(count)]  # type: ignore[arg-type]


def _bad(p: _Parser, key: str, v: object) -> sp.Expr:
    raise p.ctx.error(key, f"each entry must be a number or an expression, got {v!r}")


def _relations(p: _Parser, entries: Sequence[object]) -> tuple[sp.Basic, ...]:
    key = "assumptions.relations"
    ops = {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge}
    out = []
    for j, e in enumerate(entries):
        if not isinstance(e, str):
            raise p.ctx.error(key, f"entry {j} must be a string such as 'n_0 < n_1'")
        try:
            tree = ast.parse(e, mode="eval").body
        except SyntaxError:
            raise p.ctx.error(key, f"cannot parse relation {e!r}") from None
        if not (isinstance(tree, ast.Compare) and len(tree.ops) == 1
                and type(tree.ops[0]) in ops):
            raise p.ctx.error(key, f"relation {e!r} must be one comparison (<, <=, >, >=)")
        lhs = p._node(tree.left, key, e)
        rhs = p._node(tree.comparators[0], key, e)
        if not ((lhs.is_Symbol and (rhs.is_Symbol or rhs.is_Rational))
                or (rhs.is_Symbol and lhs.is_Rational)):
            raise p.ctx.error(key, f"relation {e!r}: each side must be a symbol or a number")
        rel = ops[type(tree.ops[0])](lhs, rhs, evaluate=False)
        out.append(rel)
    return tuple(out)


def _estimator_functions(p: _Parser, pop: Population, target: int
                         ) -> dict[str, Callable[..., sp.Expr]]:
    k = len(pop.n)

    def nodes_of(args: Sequence[ast.AST], key: str, text: str) -> list[int]:
        if len(args) != 1:
            raise p.ctx.error(key, f"{text!r}: expected one argument (all, others or a list)")
        a = args[0]
        if isinstance(a, ast.Name) and a.id in _SETS:
            return list(range(k)) if a.id == "all" else [i for i in range(k) if i != target]
        if isinstance(a, ast.List) and a.elts and all(
                isinstance(x, ast.Constant) and type(x.value) is int for x in a.elts):
            idx = [x.value for x in a.elts]  # type: ignore[attr-defined]
            bad = [i for i in idx if not 0 <= i < k]
            if bad or len(set(idx)) != len(idx):
                raise p.ctx.error(key, f"{text!r}: node indices must be distinct, in 0..{k - 1}")
            return sorted(idx)
        raise p.ctx.error(key, f"{text!r}: expected all, others or a list of node indices")

    xbar = [sp.Symbol(f"xbar_{i}") for i in range(k)]

    def node(args: Sequence[ast.AST], key: str, text: str) -> sp.Expr:
        if len(args) == 1 and isinstance(args[0], ast.Constant) and type(args[0].value) is int \
                and 0 <= args[0].value < k:
            return xbar[args[0].value]
        raise p.ctx.error(key, f"{text!r}: node(j) needs a node index j in 0..{k - 1}")

    def size_weighted(args: Sequence[ast.AST], key: str, text: str) -> sp.Expr:
        idx = nodes_of(args, key, text)
        total = sum(pop.n[i] for i in idx)
        return sum((pop.n[i] / total * xbar[i] for i in idx), sp.S.Zero)

    def uniform(args: Sequence[ast.AST], key: str, text: str) -> sp.Expr:
        idx = nodes_of(args, key, text)
        return sum((xbar[i] for i in idx), sp.S.Zero) / len(idx)

    return {"node": node, "pooled": size_weighted, "size_weighted": size_weighted,
            "uniform": uniform}


def _estimator(p: _Parser, pop: Population, value: object, key: str) -> RandomAffine:
    """The estimator ``value`` as const + sum_i w_i xbar_i; error unless affine in the
    node means with weights free of them."""
    k = len(pop.n)
    xbar = [sp.Symbol(f"xbar_{i}") for i in range(k)]
    if isinstance(value, list):
        if len(value) != k:
            raise p.ctx.error(key, f"a list of weights needs one per node ({k}), "
                              f"got {len(value)}")
        weights = [p.parse(v, key) if isinstance(v, str | int | float) else _bad(p, key, v)
                   for v in value]
        expr = sum((w_ * x for w_, x in zip(weights, xbar, strict=True)), sp.S.Zero)
    else:
        expr = p.parse(value, key)  # type: ignore[arg-type]
    expr = sp.expand(expr)
    weights = [sp.diff(expr, x) for x in xbar]
    for i, w_ in enumerate(weights):
        if any(w_.has(x) for x in xbar):
            raise p.ctx.error(key, f"non-linear in the node means: the coefficient of xbar_{i} "
                              f"is {w_} (an estimator must be a linear combination of the "
                              "xbar_i)")
    const = sp.expand(expr - sum((w_ * x for w_, x in zip(weights, xbar, strict=True)),
                                 sp.S.Zero))
    if const.has(*xbar):  # pragma: no cover - guarded above
        raise p.ctx.error(key, "non-linear in the node means")
    est = RandomAffine.constant(const)
    for i, w_ in enumerate(weights):
        w_ = sp.factor(w_)
        if w_ != 0:
            est = est + w_ * pop.sample_mean(i)
    return est


def _count(ctx: _Context, nodes: Mapping[str, Any]) -> tuple[int, str | None]:
    count = nodes["count"]
    rep = nodes.get("representative")
    if isinstance(count, int):
        if rep is not None:
            raise ctx.error("nodes.representative", "only for a symbolic count")
        if count < 2:
            raise ctx.error("nodes.count", f"must be >= 2 (the local node and one other), "
                            f"got {count}")
        return count, None
    if rep is None:
        raise ctx.error("nodes.count", f"a symbolic count {count!r} needs representative "
                        "values, e.g. representative = {K = 2}")
    values = {}
    for name, v in rep.items():
        if type(v) is not int:
            raise ctx.error(f"nodes.representative.{name}", f"must be an integer, got {v!r}")
        values[name] = sp.Symbol(name)
    try:
        tree = ast.parse(count, mode="eval")
    except SyntaxError:
        raise ctx.error("nodes.count", f"cannot parse {count!r}") from None
    p = _Parser(ctx, values)
    expr = p._node(tree.body, "nodes.count", count)
    n = expr.subs({values[k]: v for k, v in rep.items()})
    if not (n.is_Integer and n >= 2):
        raise ctx.error("nodes.count", f"{count!r} must be an integer >= 2 at the "
                        f"representative values, got {n}")
    shown = ", ".join(f"{k} = {v}" for k, v in rep.items())
    return int(n), f"{count} = {n} (representative {shown})"


def parse_setting(data: Mapping[str, Any], file: str = "<dict>", source: str = "",
                  default_name: str = "user") -> Setting:
    """The :class:`Setting` described by ``data`` (a parsed setting file), with errors
    located in ``source`` (the file's text) when given."""
    ctx = _Context(file, source)
    _check_table(ctx, "", data)
    for table in _SCHEMA:
        if table and table in data:
            _check_table(ctx, table, data[table])
    nodes, asm, est = data["nodes"], data["assumptions"], data["estimators"]
    count, count_note = _count(ctx, nodes)
    symbols = _declare(ctx, asm, count)
    p = _Parser(ctx, symbols)
    ns = _per_node(p, nodes["n"], "nodes.n", count)
    vs = _per_node(p, nodes["var"], "nodes.var", count)
    ms = _per_node(p, nodes["mean"], "nodes.mean", count)
    spread = p.parse(nodes["spread"], "nodes.spread") if "spread" in nodes else None
    relations = _relations(p, asm.get("relations", []))
    target = data.get("target", {}).get("node", 0)
    if not 0 <= target < count:
        raise ctx.error("target.node", f"must be a node index in 0..{count - 1}, got {target}")
    try:
        pop = Population.build(ns, vs, ms, spread)
    except InvalidParameterError as exc:
        key = {"n": "nodes.n", "var": "nodes.var", "mean": "nodes.mean",
               "spread": "nodes.spread"}.get(exc.parameter.split("[")[0], "nodes")
        raise ctx.error(key, f"{exc.parameter} {exc.constraint}") from None
    p.estimator_names = _estimator_functions(p, pop, target)
    p.xbar = {f"xbar_{i}": sp.Symbol(f"xbar_{i}") for i in range(count)}
    local = _estimator(p, pop, est.get("local", f"node({target})"), "estimators.local")
    global_ = _estimator(p, pop, est["global"], "estimators.global")
    candidates = tuple((str(name), _estimator(p, pop, v, f"estimators.candidates.{name}"))
                       for name, v in est.get("candidates", {}).items())
    name = data.get("name", default_name)
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
        raise ctx.error("name", f"must be an identifier (letters, digits, _), got {name!r}")
    options: dict[str, object] = {"claims": dict(data.get("claims", {})),
                                  "montecarlo": dict(data.get("montecarlo", {})),
                                  "symbols": symbols, "file": file}
    notes = (f"Nodes: {count_note}.",) if count_note else ()
    setting = Setting(name=name, title=data.get("title", f"Setting {name}"), population=pop,
                      local=local, global_=global_, target=target, notes=notes,
                      assumptions=relations, candidates=candidates, options=options)
    try:
        setting.var_local  # noqa: B018 - checks that the local model is unbiased
    except InvalidParameterError:
        raise ctx.error("estimators.local", "the local estimator must be unbiased for the "
                        f"target node {target}'s mean (its weights must sum to 1 on "
                        "nodes with that mean and add no constant)") from None
    _check_montecarlo(ctx, setting)
    return setting


def _check_montecarlo(ctx: _Context, setting: Setting) -> None:
    mc = setting.options["montecarlo"]
    assert isinstance(mc, dict)
    symbols = setting.options["symbols"]
    assert isinstance(symbols, dict)
    values = mc.get("values")
    if values is None:
        return
    p = _Parser(ctx, {})
    point: dict[sp.Symbol, sp.Rational] = {}
    for name, v in values.items():
        key = f"montecarlo.values.{name}"
        names = _symbol_names([name], ctx, key, len(setting.population.n))
        for nm in names:
            if nm not in symbols:
                raise ctx.error(key, f"undefined symbol {nm!r}")
            x = p.parse(v, key) if isinstance(v, str | int | float) else _bad(p, key, v)
            if not x.is_Rational:
                raise ctx.error(key, f"must be a rational number, got {v!r}")
            point[symbols[nm]] = x
    missing = sorted(str(s) for s in symbols.values() if s not in point)
    if missing:
        raise ctx.error("montecarlo.values", f"needs a value for every symbol; missing "
                        f"{', '.join(missing)}")
    for s, x in point.items():
        if (s.is_positive and not x > 0) or (s.is_nonnegative and not x >= 0) or (
                s.is_integer and not x.is_Integer):
            raise ctx.error(f"montecarlo.values.{s}", f"{x} violates the declared assumptions "
                            f"on {s}")
    for rel in setting.assumptions:
        if rel.subs(point) is not sp.true:
            raise ctx.error("montecarlo.values", f"the values violate the relation {rel}")
    for i, n in enumerate(setting.population.n):
        ni = n.subs(point)
        if not (ni.is_Integer and ni > 0):
            raise ctx.error("montecarlo.values", f"n of node {i} must be a positive integer "
                            f"at the simulated point, got {ni}")
    mc["point"] = point


def load_setting(source: str | Path | Mapping[str, Any]) -> Setting:
    """Read a setting file (a path to TOML) or a mapping of the same shape into a
    :class:`~modelavg_sym.derive.settings.Setting`; :class:`SettingFileError` (a
    ValueError) with ``file:line: key: problem`` when it is malformed."""
    if isinstance(source, Mapping):
        return parse_setting(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingFileError(str(path), None, "", f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SettingFileError(str(path), None, "", "not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise SettingFileError(str(path), int(m.group(1)) if m else None, "",
                               f"invalid TOML: {msg}") from None
    return parse_setting(data, str(path), text, default_name=re.sub(r"\W", "_", path.stem))


def setting_derivation(setting: Setting) -> Derivation:
    """``setting.derivation()`` carrying its page's presentation (s_L, s_G, c, Delta or
    E[Delta^2] first, then a*, MSE(a*), ... through them)."""
    d = setting.derivation()
    pres = setting_presentation(setting, d)
    return replace(d, presentation=lambda: pres)


#: The folder of the package's own setting files.
PACKAGE_SETTINGS = Path(__file__).resolve().parents[1] / "settings"


@cache
def package_setting(name: str) -> Setting:
    """The package's own setting ``name`` (``modelavg_sym/settings/<name>.toml``), read
    through the same path as a user's file."""
    path = PACKAGE_SETTINGS / f"{name}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in PACKAGE_SETTINGS.glob("*.toml"))
        raise InvalidParameterError("name", f"must be one of {known}", f"got {name!r}")
    return load_setting(path)
