"""``reports/``: report.md (the index), the verification record, compiled sources, and the
derived numbers shared by the report and the LaTeX macros.

The verification table is the ``verify`` command's own
(:func:`modelavg_sym.verify.report.render_markdown`, without timings).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from modelavg_sym.artifacts.pages import BANNER
from modelavg_sym.artifacts.verification import summary_status, to_route_results
from modelavg_sym.codegen.forms import forms
from modelavg_sym.codegen.python import vector_source
from modelavg_sym.numeric import api
from modelavg_sym.verify.report import render_markdown

#: The worked example of the report: (s_L, s_G, Delta, c).
EXAMPLE = (1.0, 0.5, 0.3, 0.0)


def fmt_number(x: float | int) -> str:
    """Fixed formatting of a derived number: integers as such, floats to 4 significant
    digits (negative zero printed as 0)."""
    if isinstance(x, int):
        return str(x)
    s = f"{float(x):.4g}"
    return "0" if s == "-0" else s


def derived_numbers(n_derivations: int, n_theorems: int, n_verified: int
                    ) -> list[tuple[str, str, str]]:
    """(macro, value, description) for every number the report and paper show.

    Values come from the compiled API at :data:`EXAMPLE`.
    """
    s_l, s_g, b, c = EXAMPLE
    a_star = api.optimal_weight(*EXAMPLE)
    low, high = api.beneficial_interval(*EXAMPLE)
    mse0 = api.mse(0.0, *EXAMPLE)
    rows: list[tuple[str, float | int, str]] = [
        ("exampleVarLocal", s_l, "example local variance s_L"),
        ("exampleVarGlobal", s_g, "example global variance s_G"),
        ("exampleBias", b, "example bias Delta"),
        ("exampleCov", c, "example covariance c"),
        ("exampleOptimalWeight", a_star, "optimal weight a* at the example"),
        ("exampleMseLocal", mse0, "MSE(0), the local model, at the example"),
        ("exampleMseGlobal", api.mse(1.0, *EXAMPLE), "MSE(1), the global model, at the example"),
        ("exampleMinMse", api.min_mse(*EXAMPLE), "MSE(a*) at the example"),
        ("exampleIntervalHigh", high, "upper end 2a* of the beneficial interval at the example"),
        ("exampleRelativeGain", api.benefit(a_star, *EXAMPLE) / mse0,
         "relative gain B(a*)/MSE(0) at the example"),
        ("nDerivations", n_derivations, "number of registered derivations"),
        ("nTheorems", n_theorems, "number of registered theorems"),
        ("nTheoremsVerified", n_verified,
         "theorems verified by at least one route and refuted by none"),
    ]
    del low
    return [(m, fmt_number(v), d) for m, v, d in rows]


def statuses_by_theorem(records: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """theorem -> route -> status."""
    out: dict[str, dict[str, str]] = {}
    for r in records:
        out.setdefault(r["theorem"], {})[r["route"]] = r["status"]
    return out


def summaries(records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """theorem -> ``verified`` / ``failed`` / ``unverified``."""
    by: dict[str, list[Mapping[str, Any]]] = {}
    for r in records:
        by.setdefault(r["theorem"], []).append(r)
    return {k: summary_status(v) for k, v in by.items()}


def verification_table(records: Sequence[Mapping[str, Any]]) -> str:
    """The verification table of ``records`` for report.md: the ``verify`` command's
    Markdown without timings, its sections nested under the report's "Verification"."""
    text = render_markdown(to_route_results(records), with_times=False, heading="###")
    return text.rstrip("\n") + "\n"


def verification_json(records: Sequence[Mapping[str, Any]], profile: str,
                      routes: Sequence[str]) -> str:
    """``reports/verification.json``: every status with its cache key (content hash)."""
    return json.dumps({"_generated": BANNER, "profile": profile, "routes": list(routes),
                       "results": list(records)},
                      indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def compiled_source(name: str) -> str:
    """``reports/compiled/<name>.py``: the generated numpy function of form ``name``, as in
    ``modelavg_sym/numeric/_generated.py``."""
    expr, args = forms()[name]
    names = ", ".join(s.name for s in args)
    return (f"# {BANNER}\n# compiled kernel {name!r}({names}), generated (numpy, CSE) from\n"
            f"# {expr}\n" + vector_source(name))


def report_markdown(
    derivs: Sequence[tuple[str, str, int, int]],
    numbers: Sequence[tuple[str, str, str]],
    figures: Sequence[tuple[str, str]],
    verification: str,
    compiled: Sequence[str],
    equations: Sequence[tuple[str, str]],
    benchmarks: bool,
    profile: str,
    notation: str,
    macro_prefix: str = "mavg",
) -> str:
    """report.md.  ``derivs``: (name, title, #results, #theorems); ``figures``: (stem,
    caption); ``equations``: (label, path relative to reports/); ``macro_prefix``: the
    LaTeX macros' namespace (``\\mavgExampleBias``)."""
    out = [f"<!-- {BANNER} -->", "# modelavg-sym report", "",
           "> Generated by `modelavg-sym regenerate`; do not edit. "
           "`modelavg-sym regenerate --check` verifies that every file here is current. "
           f"Verification profile: `{profile}`; notation: `{notation}`. "
           "Every artifact's generating function and input hash: [manifest.json](manifest.json).",
           "", "## Derivations", "",
           "| derivation | title | results | theorems |", "|---|---|---|---|"]
    out += [f"| [{n}](../derivations/{n}.md) | {t} | {r} | {k} |" for n, t, r, k in derivs]
    num = {m: v for m, v, _d in numbers}
    out += ["", "## Worked example", ""]
    if {"exampleVarLocal", "exampleOptimalWeight", "exampleMinMse"} <= num.keys():
        out += [f"With s_L = {num['exampleVarLocal']}, s_G = {num['exampleVarGlobal']}, "
                f"Delta = {num['exampleBias']} and c = {num['exampleCov']}, the optimal weight "
                f"is a* = {num['exampleOptimalWeight']}: the MSE falls from "
                f"{num['exampleMseLocal']} (local) and {num['exampleMseGlobal']} (global) to "
                f"{num['exampleMinMse']}, and every weight in (0, {num['exampleIntervalHigh']}) "
                "beats the local model.", ""]
    out += ["Numbers computed by the compiled API; in LaTeX use the macros of "
            "[latex/macros.tex](latex/macros.tex).", "",
            "| macro | value | meaning |", "|---|---|---|"]
    out += [f"| `\\{macro_prefix}{m[:1].upper()}{m[1:]}` | {v} | {d} |" for m, v, d in numbers]
    out += ["", "## Figures", ""]
    for stem, caption in figures:
        out += [f"### {stem}", "", f"![{caption}](figures/{stem}.png)", "",
                f"{caption} ([PDF](figures/{stem}.pdf))", ""]
    if any(stem == "risk_study" for stem, _c in figures):
        out += ["## Risk of estimated weights", "",
                "When is an estimated weight worth it? The simulated risk of the local, "
                "global, oracle, plugin, naive, random-effects and James-Stein estimates over "
                "a grid of settings: [risk_study.md](risk_study.md) (table with standard "
                "errors) and the figure above.", ""]
    out += ["## Verification", "",
            "Status of every theorem on every route that applies (– : route not listed for "
            "the theorem). Machine-readable: [verification.json](verification.json).", "",
            verification.rstrip("\n"), ""]
    out += ["## LaTeX", "",
            "A standalone document, [latex/main.tex](latex/main.tex) (pdflatex; amsmath, amssymb, "
            "amsthm, graphicx, booktabs, tabularx, float, hyperref; the directory compiles "
            "wherever it is copied). In a paper (amsmath only): `\\input{macros}` once, then "
            "`\\input{equations/<derivation>/<result>}` (numbered, `\\eqref{eq:<derivation>:"
            "<result>}`), `<result>-star` (`equation*`) or `<result>-body` inside your own "
            "`align`. Symbol macros are namespaced (`\\" + macro_prefix + "VarL`, ...). "
            "Switch notation by editing the symbol macros or with "
            "`modelavg-sym regenerate --notation sigma`.", "",
            "<details><summary>Equation files and labels</summary>", "",
            "| label | file |", "|---|---|"]
    out += [f"| `{lab}` | [{p}]({p}) |" for lab, p in equations]
    out += ["", "</details>", "", "## Compiled functions", "",
            "The numeric API's array path evaluates these generated sources (numpy, CSE; "
            "committed in `modelavg_sym/numeric/_generated.py`); review them here.", ""]
    out += [f"- [`{n}`](compiled/{n}.py)" for n in compiled]
    out += ["", "## Benchmarks", ""]
    out.append("See [benchmarks.md](benchmarks.md) (written by `modelavg-sym bench`; not "
               "compared by `--check`, since timings vary)." if benchmarks else
               "No benchmark results yet: `modelavg-sym bench` writes `reports/benchmarks.md`.")
    return "\n".join(out) + "\n"
