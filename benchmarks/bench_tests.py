"""Opt-in (``--tests``): the CI profile of the whole suite, green, wall time reported.

Runs exactly what ``.ci/run`` runs for the tests (``python -m pytest -n 2`` with CI=true,
HYPOTHESIS_PROFILE=ci) in a subprocess and reports the wall time and pytest's summary.
The goal is that it passes; the wall time is reported without a goal (an absolute time
on a shared machine says more about the machine's load than about the suite).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from . import ROOT, Row, fmt_s, row


def run(quick: bool = False, repeats: int | None = None) -> list[Row]:
    env = {**os.environ, "CI": "true", "HYPOTHESIS_PROFILE": "ci", "PYTHONHASHSEED": "0"}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "-q", "-p",
                           "no:cacheprovider"], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False)
    wall = time.perf_counter() - t0
    summary = next((ln.strip("= ") for ln in reversed(proc.stdout.splitlines())
                    if ln.strip()), "no output")
    ok = proc.returncode == 0
    return [row("test suite, CI profile (pytest -n 2)", f"{fmt_s(wall)}: {summary}",
                None, "green", ok)]


if __name__ == "__main__":
    from .__main__ import main

    raise SystemExit(main(["--only", "tests", "--tests"]))
