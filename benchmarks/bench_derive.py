"""``modelavg-sym derive`` on a two-node setting file against ``modelavg-sym weight``
(issue 14: goal <= ~3x).

Fresh processes (``python -m modelavg_sym.cli`` for both, so the comparison does not
depend on an installed console script), wall time from ``subprocess.run`` to exit, the two
commands interleaved, median of the runs.  Cold (``--no-cache``), ``derive`` runs every
route of every theorem (symbolic, SMT, exact rationals, Monte Carlo at the file's point)
and writes the page, LaTeX (measured by pdflatex), the numeric module and the
verification record; warm (the same file again, a private cache primed once), it writes
the cached files and prints the cached report without importing sympy.  ``weight``
evaluates one compiled formula.  The goal row is the cold run; the warm one is reported
beside it.  Both outputs are checked: derive must exit 0, and its
a* at the point must equal what ``weight`` prints for the same s_L, s_G, Delta.
"""

from __future__ import annotations

import json
import tempfile
import textwrap
from pathlib import Path

from . import CommandFailed, Row, command_medians, fmt_s, goal_row, python, row

GOAL = 3.0

#: Two nodes with fixed means; at the point: s_L = 2/4, s_G = 1/8, Delta = 1/2.
TWO_NODES = textwrap.dedent("""\
    title = "Two nodes"
    [nodes]
    count = 2
    n = ["n_0", "n_1"]
    var = ["v_0", "v_1"]
    mean = ["mu_0", "mu_1"]
    [assumptions]
    positive = ["n_0", "n_1", "v_0", "v_1"]
    real = ["mu_0", "mu_1"]
    [estimators]
    global = "node(1)"
    [montecarlo]
    values = { n_0 = 4, n_1 = 8, v_0 = 2, v_1 = 1, mu_0 = 0, mu_1 = "1/2" }
    """)
WEIGHT = ("weight", "--var-local", "0.5", "--var-global", "0.125", "--bias", "0.5", "--json")


def run(quick: bool = False, repeats: int | None = None) -> list[Row]:
    runs = repeats or (3 if quick else 5)
    with tempfile.TemporaryDirectory() as tmp:
        setting = Path(tmp) / "two_nodes.toml"
        setting.write_text(TWO_NODES)
        derive = [python(), "-m", "modelavg_sym.cli", "derive", str(setting),
                  "--out", str(Path(tmp) / "out"), "--cache-dir", str(Path(tmp) / "cache"),
                  "--numeric", "n_0=4", "n_1=8", "v_0=2", "v_1=1", "mu_0=0", "mu_1=1/2"]
        cmds = {"derive": [*derive, "--no-cache"], "derive-warm": derive,
                "weight": [python(), "-m", "modelavg_sym.cli", *WEIGHT]}
        try:
            med, outputs = command_medians(cmds, runs)
        except CommandFailed as e:
            return [row(f"derive vs weight: {e.name}", e.message, None, "-", False)]
    a_weight = json.loads(outputs["weight"])["optimal_weight"]
    a_derive = _numeric_line(outputs["derive"], "optimal_weight")
    a_warm = _numeric_line(outputs["derive-warm"], "optimal_weight")
    r = goal_row("`derive` cold (two nodes, every route, LaTeX, module) vs `weight`",
                 f"{fmt_s(med['derive'])} vs {fmt_s(med['weight'])}",
                 med["derive"] / med["weight"], GOAL,
                 f"fresh processes, median of {runs} interleaved runs; a* = {a_derive:.12g} "
                 f"(derive) vs {a_weight:.12g} (weight)")
    warm = goal_row("`derive` warm (same file, cached run) vs `weight`",
                    f"{fmt_s(med['derive-warm'])} vs {fmt_s(med['weight'])}",
                    med["derive-warm"] / med["weight"], GOAL,
                    f"fresh processes, median of {runs} interleaved runs; a* = {a_warm:.12g}")
    for x, val in ((r, a_derive), (warm, a_warm)):
        if abs(val - a_weight) > 1e-12:
            x["met"] = False
    return [r, warm]


def _numeric_line(out: str, key: str) -> float:
    """The value ``derive --numeric`` printed for ``key`` (its symbolic line is skipped)."""
    for line in out.splitlines():
        parts = line.split()
        if parts[:1] == [key]:
            try:
                return float(parts[1])
            except ValueError:
                continue
    raise ValueError(f"derive printed no number for {key}")
