"""Start-up: a one-number question answered at numpy's start-up speed (issue 13, goals 1-2).

Fresh processes, wall time from ``subprocess.run`` to exit (interpreter start-up included
on every side), the commands interleaved in rotating order, median of at least 7 runs:

* ``modelavg-sym weight --var-local 1 --var-global 0.5 --bias 0.3 --json`` (the console
  script installed next to the interpreter running the benchmarks), goal <= 2.5x
  ``python -c "import numpy"``;
* ``python -c "import modelavg_sym"``, goal <= 1.5x ``python -c "import numpy"``.

Plus a check: after ``import modelavg_sym as m; m.optimal_weight(1, 0.5, 0.3)`` sympy is
not in ``sys.modules`` (the numeric path imports no sympy).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from . import CommandFailed, Row, command_medians, fmt_s, goal_row, python, row, timed_run

CLI_GOAL = 2.5
IMPORT_GOAL = 1.5
CLI_ARGS = ("weight", "--var-local", "1", "--var-global", "0.5", "--bias", "0.3", "--json")
SYMPY_CHECK = ("import modelavg_sym as m, sys; m.optimal_weight(1, 0.5, 0.3); "
               "print('sympy' in sys.modules)")


def console_script() -> str | None:
    """The ``modelavg-sym`` script next to the running interpreter (else on PATH)."""
    here = Path(python()).with_name("modelavg-sym")
    if here.is_file():
        return str(here)
    return shutil.which("modelavg-sym")


def run(quick: bool = False, repeats: int | None = None) -> list[Row]:
    runs = max(7, repeats or (7 if quick else 11))
    script = console_script()
    cmds: dict[str, list[str]] = {
        "numpy": [python(), "-c", "import numpy"],
        "package": [python(), "-c", "import modelavg_sym"],
    }
    if script is not None:
        cmds["cli"] = [script, *CLI_ARGS]
    try:
        med, outputs = command_medians(cmds, runs)
    except CommandFailed as e:
        return [row(f"3. start-up: {e.name}", e.message, None, "-", False,
                    " ".join(cmds[e.name]))]
    rows: list[Row] = []
    if "cli" in med:
        import modelavg_sym

        answer = json.loads(outputs["cli"]).get("optimal_weight")
        expected = modelavg_sym.optimal_weight(1, 0.5, 0.3)
        ratio = med["cli"] / med["numpy"]
        cli_row = goal_row(
            "3. CLI `modelavg-sym weight ... --json` vs `python -c 'import numpy'`",
            f"{fmt_s(med['cli'])} vs {fmt_s(med['numpy'])}", ratio, CLI_GOAL,
            f"wall time of fresh processes, median of {runs} interleaved runs; the CLI "
            f"answered optimal_weight = {answer} (the API gives {expected}); script {script}")
        if answer != expected:
            cli_row["met"] = False
        rows.append(cli_row)
    else:
        rows.append(row("3. CLI `modelavg-sym weight ... --json`",
                        "console script modelavg-sym not found", None, f"<= {CLI_GOAL:g}x",
                        None))
    ratio = med["package"] / med["numpy"]
    rows.append(goal_row("3. `python -c 'import modelavg_sym'` vs `python -c 'import numpy'`",
                         f"{fmt_s(med['package'])} vs {fmt_s(med['numpy'])}", ratio,
                         IMPORT_GOAL, f"median of {runs} interleaved runs"))
    _, proc = timed_run([python(), "-c", SYMPY_CHECK])
    said = proc.stdout.strip()
    rows.append(row("3. sympy imported by `import modelavg_sym` + scalar "
                    "optimal_weight", said or f"failed (exit {proc.returncode})", None,
                    "False", said == "False", f"python -c \"{SYMPY_CHECK}\""))
    return rows


if __name__ == "__main__":
    from .__main__ import main

    raise SystemExit(main(["--only", "startup"]))
