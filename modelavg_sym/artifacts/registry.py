"""The registry of derivations that ``regenerate`` turns into pages and equations.

A derivation generator is a zero-argument callable returning a
:class:`modelavg_sym.derive.core.Derivation`.  The two core ones are registered here; other
modules (settings, multivariate, estimated weights) add theirs with
:func:`register_derivation` at import time.  Modules that provide theorems are imported by
:func:`modelavg_sym.theorems.all_theorems`, so a module that registers both a derivation
and its theorems is picked up without editing this file.
"""

from __future__ import annotations

from collections.abc import Callable

from modelavg_sym.derive import core as derive
from modelavg_sym.derive.core import Derivation

DerivationFn = Callable[[], Derivation]

_DERIVATIONS: list[DerivationFn] = [derive.two_estimator, derive.independent]


def register_derivation(fn: DerivationFn) -> DerivationFn:
    """Add a derivation generator (idempotent; usable as a decorator)."""
    if not callable(fn):
        raise TypeError(f"register_derivation expects a callable, got {fn!r}")
    if fn not in _DERIVATIONS:
        _DERIVATIONS.append(fn)
    return fn


def generator_name(fn: Callable[..., object]) -> str:
    """``module:qualname`` of a generating function (recorded in the manifest)."""
    return f"{fn.__module__}:{fn.__qualname__}"


def derivation_functions() -> list[DerivationFn]:
    """Every registered derivation generator, core first, then in registration order.

    Theorem providers are imported first, since they may register derivations.
    """
    from modelavg_sym.theorems import all_theorems

    all_theorems()
    return list(_DERIVATIONS)


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
