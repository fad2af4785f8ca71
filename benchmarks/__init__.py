"""Benchmark suite (issues 7 and 13): one script per area, run together by
``python -m benchmarks`` (or ``modelavg-sym bench``), which prints a table and writes
``reports/benchmarks.md``.

Rules every script follows:

* every goal is a **ratio** of two timings (or two peak memories) taken side by side in
  one run, never an absolute time compared with a constant: the machine is shared and
  its load changes, a ratio of interleaved measurements does not (much);
* the two sides of a ratio are **interleaved** (rotating order per repeat) and the
  **median** is reported;
* baselines are written as a competent user would write them (stated where they are
  defined) and checked to compute the same numbers as the package before being timed.

Each script exposes ``run(quick: bool = False, repeats: int | None = None) -> list[Row]``
returning rows ``{target, measured, ratio, goal, met, note}`` (``met`` is ``None`` for
informational rows).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

Row = dict[str, Any]


def row(target: str, measured: str, ratio: float | None, goal: str,
        met: bool | None, note: str = "") -> Row:
    """One table row; ``met`` None means informational (no goal)."""
    return {"target": target, "measured": measured, "ratio": ratio, "goal": goal,
            "met": met, "note": note}


def goal_row(target: str, measured: str, ratio: float, limit: float, note: str = "") -> Row:
    """A row whose goal is ``ratio <= limit``."""
    return row(target, measured, ratio, f"<= {limit:g}x", ratio <= limit, note)


def interleaved(fns: Mapping[str, Callable[[], Any]], repeats: int, number: int = 1
                ) -> dict[str, float]:
    """Median seconds per call of each function, timed in rotating order per repeat so
    that drifts in machine load hit all of them alike."""
    return medians(interleaved_samples(fns, repeats, number))


def medians(samples: Mapping[str, list[float]]) -> dict[str, float]:
    """The median of each function's samples (seconds per call)."""
    return {n: statistics.median(ts) for n, ts in samples.items()}


def interleaved_samples(fns: Mapping[str, Callable[[], Any]], repeats: int, number: int = 1
                        ) -> dict[str, list[float]]:
    """Like :func:`interleaved`, but every sample (seconds per call), in repeat order."""
    names = sorted(fns)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        for k in range(len(names)):
            name = names[(r + k) % len(names)]
            fn = fns[name]
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            times[name].append((time.perf_counter() - t0) / number)
    return times


def timeit_interleaved(stmts: Mapping[str, tuple[str, dict[str, Any]]], repeats: int,
                       number: int) -> dict[str, float]:
    """Median seconds per execution of each *statement string* (``timeit``, no function
    wrapped around it; ``stmts`` maps a name to (statement, namespace binding its names)),
    the statements interleaved in rotating order per repeat."""
    timers = {name: timeit.Timer(stmt, globals=dict(ns)) for name, (stmt, ns) in stmts.items()}
    names = sorted(timers)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        for k in range(len(names)):
            name = names[(r + k) % len(names)]
            times[name].append(timers[name].timeit(number) / number)
    return {n: statistics.median(ts) for n, ts in times.items()}


def timed_run(cmd: Sequence[str], *, cwd: Path = ROOT, stdin: str | None = None,
              env: Mapping[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time of one subprocess (start-up included) and its completed process."""
    full_env = {**os.environ, **(env or {})}
    t0 = time.perf_counter()
    proc = subprocess.run(list(cmd), cwd=cwd, env=full_env, input=stdin, capture_output=True,
                          text=True, check=False)
    return time.perf_counter() - t0, proc


class CommandFailed(Exception):
    """A benchmarked command exited non-zero: ``name`` and a one-line ``message``."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name, self.message = name, message


def command_medians(cmds: Mapping[str, Sequence[str]], runs: int
                    ) -> tuple[dict[str, float], dict[str, str]]:
    """Median wall times of fresh processes over ``runs`` interleaved rounds (the order
    rotated each round), after one warm-up run each that also checks the command works;
    returns ``(medians, stdout by name)``.  Raises :class:`CommandFailed` for the first
    command that exits non-zero."""
    outputs: dict[str, str] = {}
    for name, cmd in cmds.items():  # warm the file cache; check that each command works
        _, proc = timed_run(cmd)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
            raise CommandFailed(name, f"failed (exit {proc.returncode}): {last}")
        outputs[name] = proc.stdout
    times: dict[str, list[float]] = {n: [] for n in cmds}
    names = sorted(cmds)
    for r in range(runs):
        for k in range(len(names)):
            name = names[(r + k) % len(names)]
            times[name].append(timed_run(cmds[name])[0])
    return {n: statistics.median(ts) for n, ts in times.items()}, outputs


def python() -> str:
    """The interpreter running the benchmarks (the venv's, when run from it)."""
    return sys.executable


def load_average() -> str:
    """``os.getloadavg()`` as text (1, 5 and 15 minutes)."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:  # pragma: no cover - not available everywhere
        return "unknown"
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min)"


def fmt_s(seconds: float) -> str:
    """Seconds in a readable unit (negative differences keep their sign)."""
    if seconds < 0:
        return "-" + fmt_s(-seconds)
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.2f} us"
    return f"{seconds * 1e9:.0f} ns"


def fmt_bytes(n: float) -> str:
    """Bytes in MiB."""
    return f"{n / 2**20:.0f} MiB"
