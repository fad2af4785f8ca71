"""Assemble every artifact: one generating function per file, with a content hash of its
inputs (showyourwork's rule), rendered lazily and cached by that hash.

:func:`collect` returns :class:`Artifact` objects in path order; nothing here touches the
output directory (see :mod:`modelavg_sym.artifacts.writer`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any

import sympy as sp

from modelavg_sym import codegen
from modelavg_sym.artifacts import figures as figs
from modelavg_sym.artifacts import latex, latexdoc, pages, report, runcache
from modelavg_sym.artifacts import texmeasure as tm
from modelavg_sym.artifacts.notation import Notation, find_project_root
from modelavg_sym.artifacts.registry import (
    DerivationFn,
    derivations,
    generator_name,
)
from modelavg_sym.artifacts.runcache import (  # re-exported: the record of an artifact
    EXCLUDED,
    MANIFEST,
    Artifact,
)
from modelavg_sym.artifacts.verification import (
    _srepr,
    route_names,
    theorem_hash,
    verify_all,
)
from modelavg_sym.derive import catalog
from modelavg_sym.derive.core import Derivation
from modelavg_sym.runtime.store import stable_hash
from modelavg_sym.theorems import Theorem, all_theorems


@dataclass
class Context:
    """Everything the generators read, computed once per run."""

    notation: Notation
    profile: str
    derivs: list[tuple[DerivationFn, Derivation]]
    theorems: dict[str, Theorem]
    records: list[dict[str, Any]]
    routes: list[str]
    out_root: Path
    statuses: dict[str, dict[str, str]] = field(default_factory=dict)
    summaries: dict[str, str] = field(default_factory=dict)
    numbers: list[tuple[str, str, str]] = field(default_factory=list)


def make_context(
    notation: Notation,
    out_root: Path,
    profile: str = "ci",
    cache_dir: Path | None = None,
    seed_files: tuple[Path, ...] = (),
    jobs: int | None = None,
    progress: Callable[[str], None] | None = None,
    verify: bool = True,
    write_cache: bool = True,
) -> Context:
    """Derive, collect theorems and verify (cached; ``verify=False``: every status
    ``not-run``; ``write_cache=False``: the cache is only read)."""
    derivs = derivations()
    theorems = all_theorems()
    records = verify_all(theorems, profile, cache_dir, seed_files, jobs, progress, verify,
                         write_cache=write_cache)
    ctx = Context(notation, profile, derivs, theorems, records, route_names(), out_root)
    ctx.statuses = report.statuses_by_theorem(records)
    ctx.summaries = report.summaries(records)
    # the counts are of the theorems about the mathematics; the presentation theorems
    # (one per derivation: its pages show what was derived) are reported with each page
    results = [n for n, t in theorems.items() if t.kind == "result"]
    n_ok = sum(1 for n in results if ctx.summaries.get(n) == "verified")
    ctx.numbers = report.derived_numbers(len(derivs), len(results), n_ok)
    return ctx


def _h(*parts: Any) -> str:
    return stable_hash(*(p if isinstance(p, str) else _srepr(p) for p in parts))


def _deriv_hash(d: Derivation) -> str:
    steps = [(s.text, s.lhs, s.rhs) for s in d.steps]
    pres = catalog.presentation(d)
    forms = [(k, f.chain, f.text) for k, f in pres.forms.items()]
    shown = ([f.chain for f in pres.steps], pres.steps_results, [(w.text, w.symbols)
                                                                  for w in pres.where])
    return _h(d.name, d.title, list(d.results.items()), steps, d.assumptions, d.notes,
              forms, *shown)


def _text(fn: Callable[..., str], *args: Any, **kw: Any) -> Callable[[], bytes]:
    return lambda: fn(*args, **kw).encode("utf-8")


def _theorems_of(ctx: Context, d: Derivation) -> list[Theorem]:
    return [t for t in ctx.theorems.values() if t.derivation == d.name]


def _thm_state(ctx: Context, thms: list[Theorem]) -> str:
    return _h(*[(theorem_hash(t), sorted(ctx.statuses.get(t.name, {}).items()))
                for t in thms])


def derivation_artifacts(ctx: Context) -> list[Artifact]:
    """derivations/<name>.md and .json per registered derivation, and the index."""
    out: list[Artifact] = []
    rows = []
    for fn, d in ctx.derivs:
        thms = _theorems_of(ctx, d)
        gen = generator_name(fn)
        ih = _h(_deriv_hash(d), gen, ctx.notation.key(), _thm_state(ctx, thms), sp.__version__)
        out.append(Artifact(
            f"derivations/{d.name}.md", generator_name(pages.derivation_markdown), ih,
            _text(pages.derivation_markdown, d, gen, thms, ctx.statuses, ctx.summaries,
                  ctx.notation)))
        out.append(Artifact(
            f"derivations/{d.name}.json", generator_name(pages.derivation_record), ih,
            _text(pages.derivation_record, d, gen, ih, thms, ctx.statuses, ctx.notation)))
        rows.append((d.name, pages.markdown_title(d.title, ctx.notation), len(d.results),
                     len([t for t in thms if t.kind == "result"])))
    out.append(Artifact("derivations/README.md", generator_name(pages.index_markdown),
                        _h(rows), _text(pages.index_markdown, rows)))
    return out


def latex_artifacts(ctx: Context) -> list[Artifact]:
    """reports/latex/: equations, plain forms, macros.tex, main.tex and the table of the
    widths their line breaks were chosen from (widths.json)."""
    out: list[Artifact] = []
    derivs = [d for _fn, d in ctx.derivs]
    eqs = latex.equations(derivs)
    nk = ctx.notation.key()
    layouts = latex.EquationLayouts(eqs, ctx.notation)  # one TeX measurement for all
    fig_list = [(f"figures/{f.name}.pdf", f.caption) for f in figs.figures()]
    tables = [ctx.out_root / tm.TABLE_PATH]
    root = find_project_root()
    tables += [root / tm.TABLE_PATH] if root is not None else []

    @cache
    def laid_out() -> tuple[str, tm.Table]:
        """Every layout of reports/latex (the equation files' and main.tex's), made
        together with the committed width table and recorded: (main.tex, widths)."""
        tm.use_tables(tables)
        with tm.recording() as rec:
            if eqs:
                layouts[eqs[0]]  # lays out every equation
            doc = latexdoc.document(derivs, ctx.theorems, ctx.statuses, ctx.notation,
                                    fig_list, ctx.numbers)
        return doc, rec

    def equation_file(eq: latex.Equation, variant: str) -> str:
        laid_out()
        return latex.equation_file(eq, ctx.notation, variant, layouts)

    for eq in eqs:
        for variant in latex.VARIANTS:
            out.append(Artifact(f"reports/latex/{eq.variant_path(variant)}",
                                generator_name(latex.equation_file),
                                _h(eq.label, eq.expr, eq.shown, ctx.notation.prefix, variant,
                                   sp.__version__),
                                _text(equation_file, eq, variant)))
    out.append(Artifact("reports/latex/equations-plain.txt", generator_name(latex.plain_file),
                        _h([(e.label, e.expr) for e in eqs], sp.__version__),
                        _text(latex.plain_file, eqs)))
    out.append(Artifact("reports/latex/macros.tex", generator_name(latex.macros_file),
                        _h(nk, ctx.numbers), _text(latex.macros_file, ctx.notation, ctx.numbers)))
    ih = _h([_deriv_hash(d) for d in derivs], _thm_state(ctx, list(ctx.theorems.values())),
            nk, fig_list, ctx.numbers, sp.__version__)
    out.append(Artifact("reports/latex/main.tex", generator_name(latexdoc.document), ih,
                        lambda: laid_out()[0].encode("utf-8")))
    # the widths the layouts above were made from: committed, so that a machine without
    # TeX lays out the same files (modelavg_sym.artifacts.texmeasure)
    out.append(Artifact(tm.TABLE_PATH, generator_name(tm.Table.to_json),
                        _h(ih, [(e.label, e.expr) for e in eqs], ctx.notation.prefix),
                        lambda: laid_out()[1].to_json().encode("utf-8")))
    return out


def _figure_inputs() -> str:
    from importlib.metadata import version

    return _h(sorted((k, v[0], v[1]) for k, v in codegen.forms().items()),
              version("matplotlib"), version("numpy"))


def _risk_inputs() -> str:
    """Inputs of the risk study: its module's source (grid, seeds, estimators), the seed
    layout and noise distributions of the simulation, the personalize estimators it calls
    and the generated node formulas both use."""
    import importlib

    mods = [importlib.import_module(f"modelavg_sym.{m}")
            for m in ("simulation.risk", "simulation.engine", "simulation.distributions",
                      "numeric.personalize", "numeric._generated_estimators",
                      "numeric.nodes")]
    return _h(*(Path(str(m.__file__)).read_text(encoding="utf-8") for m in mods))


def risk_artifacts(ctx: Context) -> list[Artifact]:
    """reports/risk_study.md: the risk study table of estimated weights."""
    from modelavg_sym.simulation import risk

    def render() -> bytes:
        return ("<!-- generated by modelavg-sym regenerate; do not edit -->\n"
                "# Risk of estimated weights\n\n"
                "Expected MSE of every weight estimator by simulation (seeded, `ci` profile), "
                "with standard errors. Figure: [figures/risk_study.png](figures/risk_study.png)."
                "\n\n" + risk.render_markdown(risk.ci_rows())).encode("utf-8")

    return [Artifact("reports/risk_study.md", generator_name(risk.render_markdown),
                     _risk_inputs(), render)]


def figure_artifacts(ctx: Context) -> list[Artifact]:
    """reports/figures/<name>.pdf and .png, one drawing function each."""
    out: list[Artifact] = []
    inputs = _figure_inputs()
    mc = _h(figs.MC_NODES, figs.MC_REPS, figs.MC_SEED, figs.MC_WEIGHTS)
    for f in figs.figures():
        data = mc if f is figs.MONTECARLO else (_risk_inputs() if f is figs.RISK else "")
        for fmt in ("pdf", "png"):
            # labels in the notation of the LaTeX (its symbol table; the macro prefix
            # does not reach a figure)
            render = cache(partial(figs.render, f, fmt, ctx.notation))
            ih = _h(inputs, f.name, f.width, f.aspect, fmt, data,
                    list(ctx.notation.table))
            # the PDF also in reports/latex/figures/, so that directory is self-contained
            paths = [f"reports/figures/{f.name}.{fmt}"]
            paths += [f"reports/latex/figures/{f.name}.pdf"] if fmt == "pdf" else []
            out += [Artifact(path, generator_name(f.draw), ih, render) for path in paths]
    return out


def report_artifacts(ctx: Context) -> list[Artifact]:
    """reports/report.md, verification.json and compiled/*.py."""
    out: list[Artifact] = []
    compiled = sorted(codegen.forms())
    for name in compiled:
        expr, args = codegen.forms()[name]
        out.append(Artifact(f"reports/compiled/{name}.py", generator_name(report.compiled_source),
                            _h(name, expr, args, sp.__version__),
                            _text(report.compiled_source, name)))
    rec_hash = _h(json.dumps(ctx.records, sort_keys=True))
    out.append(Artifact("reports/verification.json", generator_name(report.verification_json),
                        rec_hash, _text(report.verification_json, ctx.records, ctx.profile,
                                        ctx.routes)))
    derivs = [(d.name, pages.markdown_title(d.title, ctx.notation), len(d.results),
               len([t for t in _theorems_of(ctx, d) if t.kind == "result"]))
              for _f, d in ctx.derivs]
    fig_list = [(f.name, f.caption) for f in figs.figures()]
    eqs = [(e.label, f"latex/{e.path}") for e in latex.equations([d for _f, d in ctx.derivs])]
    bench = (ctx.out_root / "reports" / "benchmarks.md").is_file()

    def render() -> bytes:
        table = report.verification_table(ctx.records)
        return report.report_markdown(derivs, ctx.numbers, fig_list, table, compiled, eqs, bench,
                                      ctx.profile, ctx.notation.name,
                                      macro_prefix=ctx.notation.prefix).encode("utf-8")

    out.append(Artifact("reports/report.md", generator_name(report.report_markdown),
                        _h(derivs, ctx.numbers, fig_list, rec_hash, compiled, eqs, str(bench),
                           ctx.profile, ctx.notation.key()), render))
    return out


def code_artifacts(ctx: Context) -> list[Artifact]:
    """The generated modules of the numeric layer (:data:`modelavg_sym.codegen.GENERATED`:
    ``modelavg_sym/numeric/_generated.py``, ``_fastkernels.py``, ...), committed so that
    the numeric API runs without sympy.  Input hash: the two-estimator forms and sympy's
    version (the render cache key adds the package sources, so codegen edits count)."""
    forms = _h(sorted((k, v[0], v[1]) for k, v in codegen.forms().items()), sp.__version__)
    return [Artifact(path, generator_name(fn), _h(path, forms), _text(fn))
            for path, fn in codegen.GENERATED.items()]


#: The generators, in order; each returns the artifacts it owns.
GENERATORS: list[Callable[[Context], list[Artifact]]] = [
    derivation_artifacts, latex_artifacts, figure_artifacts, risk_artifacts, report_artifacts,
    code_artifacts,
]


def collect(ctx: Context) -> list[Artifact]:
    """Every artifact (path order) plus the manifest, which maps each path to its generator
    and input hash."""
    arts: list[Artifact] = []
    for gen in GENERATORS:
        arts += gen(ctx)
    arts.sort(key=lambda a: a.path)
    paths = [a.path for a in arts]
    dup = sorted({p for p in paths if paths.count(p) > 1})
    if dup:
        raise ValueError(f"artifacts generated twice: {dup}")
    entries = {a.path: {"generator": a.generator, "input_hash": a.input_hash} for a in arts}
    manifest = {"_generated": pages.BANNER,
                "command": "modelavg-sym regenerate",
                "notation": ctx.notation.name,
                "profile": ctx.profile,
                "excluded": list(EXCLUDED),
                "artifacts": entries}
    text = json.dumps(manifest, indent=1) + "\n"
    arts.append(Artifact(MANIFEST, "modelavg_sym.artifacts.build:collect",
                         stable_hash(text), lambda: text.encode("utf-8")))
    arts.sort(key=lambda a: a.path)
    return arts


def run_key(notation: Notation, profile: str, verify: bool, out_root: Path) -> str | None:
    """:func:`modelavg_sym.artifacts.runcache.run_key` with ``notation``'s key."""
    return runcache.run_key(notation.key(), profile, verify, out_root)
