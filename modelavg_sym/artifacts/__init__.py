"""Generated artifacts: derivations/ and reports/ (pages, LaTeX, figures, report).

The derivations shown are those of :func:`modelavg_sym.derive.catalog.all_derivations`;
``modelavg-sym regenerate`` (:mod:`modelavg_sym.commands.regenerate`) writes or checks
everything.
Submodules: ``registry`` (derivations), ``notation``, ``pages``, ``latex``, ``figures``,
``report``, ``verification`` (cached statuses), ``build`` (artifact list and manifest),
``writer`` (atomic writes, --check), ``runcache`` (the artifact record and the run cache,
without sympy).

``derivation_functions`` and ``derivations`` (from ``registry``) are loaded on first use:
importing a submodule such as ``runcache`` must not build the derivation catalogue.
"""

from __future__ import annotations

from typing import Any

__all__ = ["derivation_functions", "derivations"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from modelavg_sym.artifacts import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
