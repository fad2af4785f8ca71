"""Generated artifacts: derivations/ and reports/ (pages, LaTeX, figures, report).

Other modules add derivations with :func:`register_derivation`; ``modelavg-sym
regenerate`` (:mod:`modelavg_sym.commands.regenerate`) writes or checks everything.
Submodules: ``registry`` (derivations), ``notation``, ``pages``, ``latex``, ``figures``,
``report``, ``verification`` (cached statuses), ``build`` (artifact list and manifest),
``writer`` (atomic writes, --check).
"""

from __future__ import annotations

from modelavg_sym.artifacts.registry import derivation_functions, derivations, register_derivation

__all__ = ["derivation_functions", "derivations", "register_derivation"]
