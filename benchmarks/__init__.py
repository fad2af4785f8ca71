"""Benchmark suite (issue 7): one script per target, run together by ``python -m benchmarks``
(or ``modelavg-sym bench``), which prints a table and writes ``reports/benchmarks.md``.

Every claim is a ratio of two timings taken side by side in one run (interleaved repeats,
medians), never an absolute time compared with a constant.  Each script exposes
``run(quick: bool = False) -> list[dict]`` returning rows
``{target, measured, ratio, goal, met}`` (``met`` is ``None`` for informational rows).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

Row = dict[str, Any]


def row(target: str, measured: str, ratio: float | None, goal: str,
        met: bool | None, note: str = "") -> Row:
    """One table row; ``met`` None means informational (no goal)."""
    return {"target": target, "measured": measured, "ratio": ratio, "goal": goal,
            "met": met, "note": note}


def interleaved(fns: dict[str, Callable[[], Any]], repeats: int, number: int = 1
                ) -> dict[str, float]:
    """Median seconds per call of each function, timed in rotating order per repeat so
    that drifts in machine load hit all of them alike."""
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
    return {n: statistics.median(ts) for n, ts in times.items()}


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
