"""The derivations that ``regenerate`` turns into pages and equations.

They are the explicit list of :func:`modelavg_sym.derive.catalog.all_derivations` (a
derivation generator is a zero-argument callable returning a
:class:`modelavg_sym.derive.core.Derivation`); this module adds the generators' names for
the manifest and checks that the derivation names are unique.
"""

from __future__ import annotations

from collections.abc import Callable

from modelavg_sym.derive import catalog
from modelavg_sym.derive.catalog import DerivationFn
from modelavg_sym.derive.core import Derivation

__all__ = ["DerivationFn", "derivation_functions", "derivations", "generator_name"]


def generator_name(fn: Callable[..., object]) -> str:
    """``module:qualname`` of a generating function (recorded in the manifest)."""
    return f"{fn.__module__}:{fn.__qualname__}"


def derivation_functions() -> list[DerivationFn]:
    """Every derivation generator, in report order (:func:`catalog.all_derivations`)."""
    return catalog.all_derivations()


def derivations() -> list[tuple[DerivationFn, Derivation]]:
    """Each generator with its derivation; names must be unique."""
    out: list[tuple[DerivationFn, Derivation]] = []
    seen: dict[str, str] = {}
    for fn in derivation_functions():
        d = fn()
        if d.name in seen:
            raise ValueError(
                f"derivation name {d.name!r} is produced by both {seen[d.name]} and "
                f"{generator_name(fn)}")
        seen[d.name] = generator_name(fn)
        out.append((fn, d))
    return out
