"""The presentation theorems: everything a page shows equals what was derived.

For each derivation of :data:`modelavg_sym.derive.catalog.DERIVATIONS` the theorem
``presentation_<derivation>`` claims, as one identity of column vectors, that

* every presentation form of every result and step
  (:class:`~modelavg_sym.derive.presentation.Presentation`), with the named quantities'
  definitions substituted back, equals the derived value, and
* every theorem of the derivation says the same on the page as it claims: its
  ``display`` (``MSE''(a) = 2D``), with the page's and its own names expanded, has the
  logical structure of the claim (the same connectives and relations, the arguments of
  ``And``/``Or``/``Equivalent`` in any order) and each relation ``l R r`` has the same
  ``l - r`` as the claim's (``x > y`` read as ``y < x``; the sign of an equation free).

The symbolic route proves these identities like any other (``lhs - rhs`` simplifies to
0), so ``verify`` and ``regenerate`` check the pages with the theorems.  A display whose
structure differs from its claim's is malformed, like a theorem whose claim evaluated to
True: :func:`display_pairs` raises ValueError naming it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp
from sympy.core.relational import Relational

from modelavg_sym.derive import catalog
from modelavg_sym.derive.display import Iff
from modelavg_sym.derive.presentation import Name, Presentation, expand, vanishes
from modelavg_sym.theorems.base import Theorem

__all__ = ["display_pairs", "entries", "theorems"]

_UNORDERED = (sp.And, sp.Or, sp.Equivalent)
_FLIPPED = {">": "<", ">=": "<="}

Pair = tuple[str, sp.Expr, sp.Expr]


def _relation(rel: Relational, names: Sequence[Name]) -> tuple[str, sp.Expr]:
    """(operator, lhs - rhs) with ``>``/``>=`` turned around, names expanded side by side
    (expanding the relation whole could let sympy evaluate it)."""
    lhs, rhs = expand(rel.lhs, names), expand(rel.rhs, names)
    if rel.rel_op in _FLIPPED:
        return _FLIPPED[rel.rel_op], rhs - lhs
    return rel.rel_op, lhs - rhs


def _vanish(pairs: Sequence[Pair]) -> bool:
    return all(vanishes(x, y, ()) for _l, x, y in pairs)


def _match(shown: sp.Basic, claim: sp.Basic, names: Sequence[Name], path: str) -> list[Pair]:
    if isinstance(claim, Relational):
        if not isinstance(shown, Relational):
            raise ValueError(f"{path}: the display shows {shown}, the claim a relation")
        op_s, d_s = _relation(shown, names)
        op_c, d_c = _relation(claim, ())
        if op_s != op_c:
            raise ValueError(f"{path}: the display's relation {shown.rel_op} is not the "
                             f"claim's {claim.rel_op}")
        if op_s in ("==", "!=") and vanishes(d_s + d_c, 0, ()) \
                and not vanishes(d_s - d_c, 0, ()):
            d_s = -d_s
        return [(path, d_s, d_c)]
    iff = isinstance(shown, Iff) and isinstance(claim, sp.Equivalent)
    if (type(shown) is not type(claim) and not iff) or len(shown.args) != len(claim.args):
        raise ValueError(f"{path}: the display is a {type(shown).__name__}, the claim a "
                         f"{type(claim).__name__}")
    if not isinstance(claim, _UNORDERED):
        return [p for i, (x, y) in enumerate(zip(shown.args, claim.args, strict=True))
                for p in _match(x, y, names, f"{path}.{i}")]
    out: list[Pair] = []
    free = list(shown.args)
    for i, y in enumerate(claim.args):
        found = None
        for x in free:
            try:
                pairs = _match(x, y, names, f"{path}.{i}")
            except ValueError:
                continue
            if _vanish(pairs):
                found = x, pairs
                break
        if found is None:  # no argument says the same: pair in order, so the route fails
            found = free[0], _match(free[0], y, names, f"{path}.{i}")
        free.remove(found[0])
        out += found[1]
    return out


def display_pairs(thm: Theorem, page_names: Sequence[Name]) -> list[Pair]:
    """(label, shown, claimed) per relation of ``thm``'s display against its claim; empty
    when the theorem shows its claim as it is.  ValueError for a display of another
    logical structure than the claim."""
    if thm.display is None:
        return []
    names = (*thm.names, *page_names)
    try:
        return _match(thm.display, thm.claim, names, f"display of {thm.name}")
    except ValueError as exc:
        raise ValueError(f"theorem {thm.name!r}: {exc}") from None


def entries(pres: Presentation, thms: Sequence[Theorem]) -> list[Pair]:
    """Every (label, shown, derived) identity of a page: its forms, then its theorems'
    displays."""
    d = next(fn() for fn in catalog.all_derivations() if fn().name == pres.derivation)
    out = pres.pairs(d.results, [s.rhs for s in d.steps])
    for thm in thms:
        out += display_pairs(thm, pres.names)
    return out


def theorems(results: Sequence[Theorem]) -> list[Theorem]:
    """``presentation_<derivation>`` for each derivation of the catalog, over the result
    theorems ``results`` (their displays)."""
    out = []
    for fn in catalog.all_derivations():
        d = fn()
        pres = catalog.presentation(d)
        pairs = entries(pres, [t for t in results if t.derivation == d.name])
        shown = sp.ImmutableMatrix([x for _l, x, _y in pairs])
        derived = sp.ImmutableMatrix([y for _l, _x, y in pairs])
        claim = sp.Eq(shown, derived, evaluate=False)
        free = set().union(claim.free_symbols, *(a.free_symbols for a in d.assumptions))
        out.append(Theorem(
            name=f"presentation_{d.name}",
            statement=f"Each of the {len(pairs)} forms and claims shown for this derivation "
                      "equals what was derived.",
            assumptions=d.assumptions, claim=claim,
            variables=tuple(sorted(free, key=str)), routes=("symbolic",),
            derivation=d.name, kind="presentation"))
    return out
