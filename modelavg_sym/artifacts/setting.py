"""Every artifact of one setting file, as ``{relative path: bytes}`` for ``derive --out``.

* ``<name>.md``, ``<name>.json``: the derivation page and record (the generators of
  ``derivations/``: :func:`~modelavg_sym.artifacts.pages.derivation_markdown`,
  :func:`~modelavg_sym.artifacts.pages.derivation_record`), in the setting's presentation;
* ``latex/<name>/<result>{,-star,-body}.tex``: the equation files (three variants each, with
  line breaks measured by TeX), ``latex/macros.tex`` and the standalone ``latex/main.tex``
  (:func:`~modelavg_sym.artifacts.latexdoc.document`);
* ``<name>_numeric.py``: the numeric module (:func:`modelavg_sym.codegen.setting.module_source`);
* ``verification.json``: every route's result on every theorem of the setting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from modelavg_sym.artifacts import latex, latexdoc, pages, report
from modelavg_sym.artifacts.notation import Notation
from modelavg_sym.codegen.setting import module_source
from modelavg_sym.derive.core import Derivation
from modelavg_sym.derive.settings import Setting
from modelavg_sym.theorems import Theorem

__all__ = ["GENERATOR", "equation_files", "setting_files"]

#: The generator named on a setting's pages.
GENERATOR = "modelavg_sym.commands.derive"


def setting_files(setting: Setting, d: Derivation, theorems: Sequence[Theorem],
                  records: Sequence[Mapping[str, Any]], notation: Notation,
                  equations: Mapping[str, bytes] | None = None) -> dict[str, bytes]:
    """The files of ``setting`` (its derivation ``d`` with its presentation, its
    ``theorems`` and the route ``records`` of :func:`modelavg_sym.verify.run`);
    ``equations``: :func:`equation_files` of ``d``, made already."""
    statuses = report.statuses_by_theorem(records)
    summaries = report.summaries(records)
    results = [t for t in theorems if t.kind == "result"]
    numbers = report_numbers(1, len(results),
                             sum(1 for t in results if summaries.get(t.name) == "verified"))
    out: dict[str, bytes] = {}
    out[f"{d.name}.md"] = _ours(pages.derivation_markdown(d, GENERATOR, theorems, statuses,
                                                          summaries, notation))
    out[f"{d.name}.json"] = _ours(pages.derivation_record(d, GENERATOR, "", theorems,
                                                          statuses, notation))
    out.update(equation_files(d, notation) if equations is None else equations)
    out["latex/macros.tex"] = _ours(latex.macros_file(notation, numbers))
    doc = latexdoc.document([d], {t.name: t for t in theorems}, statuses, notation, [],
                            numbers)
    out["latex/main.tex"] = _ours(doc)
    out[f"{setting.name}_numeric.py"] = module_source(setting).encode()
    out["verification.json"] = (json.dumps(list(records), indent=2, sort_keys=True,
                                           default=str) + "\n").encode()
    return out



def equation_files(d: Derivation, notation: Notation) -> dict[str, bytes]:
    """``latex/equations/<name>/<result>{,-star,-body}.tex``: a function of the derivation
    and the notation alone (not of the verification), so ``derive`` makes them, with their
    measurement by pdflatex, while the routes run."""
    eqs = latex.equations([d])
    layouts = latex.EquationLayouts(eqs, notation)
    return {f"latex/{eq.variant_path(variant)}": latex.equation_file(
        eq, notation, variant, layouts).encode() for eq in eqs for variant in latex.VARIANTS}


def report_numbers(n_derivations: int, n_theorems: int, n_verified: int
                   ) -> list[tuple[str, str, str]]:
    """The counts main.tex quotes (macro, value, description)."""
    return [("nDerivations", str(n_derivations), "number of derivations"),
            ("nTheorems", str(n_theorems), "number of theorems about the setting"),
            ("nTheoremsVerified", str(n_verified),
             "theorems verified by at least one route and refuted by none")]


def _ours(text: str) -> bytes:
    """``text`` naming the command that made it and linking to ``latex/`` beside it (the
    page generators name ``regenerate`` and ``reports/latex``, where the package's own
    pages live)."""
    return (text.replace("modelavg-sym regenerate", "modelavg-sym derive")
            .replace("see [reports/latex](../reports/latex/)", "see [latex](latex/)")
            .encode())
