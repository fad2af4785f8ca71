"""Generated artifacts: derivations/ and reports/ (pages, LaTeX, figures, report).

The derivations shown are those of :func:`modelavg_sym.derive.catalog.all_derivations`;
``modelavg-sym regenerate`` (:mod:`modelavg_sym.commands.regenerate`) writes or checks
everything.
Submodules: ``registry`` (derivations), ``notation``, ``pages``, ``latex``, ``figures``,
``report``, ``verification`` (cached statuses), ``build`` (artifact list and manifest),
``writer`` (atomic writes, --check).
"""

from __future__ import annotations

from modelavg_sym.artifacts.registry import derivation_functions, derivations

__all__ = ["derivation_functions", "derivations"]
