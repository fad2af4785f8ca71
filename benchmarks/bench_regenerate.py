"""``modelavg-sym regenerate`` cold and warm, with start-up, package imports and work apart.

Each run is a fresh interpreter (subprocess) writing to a temporary ``--out`` with its own
``--cache-dir``: the first run starts from an empty cache (cold), the next ones change
nothing (warm).  The warm run's wall time is split into three parts, each measured in fresh
interpreters interleaved with the warm runs (rotating order, so load changes hit all alike):

* **start-up**: the interpreter importing only the *third-party* modules the warm run
  imported (the list is reported by the run itself) - the cost of the dependencies;
* **package imports**: the same plus every ``modelavg_sym`` module the warm run imported,
  minus start-up - the package's own imports *including any derivation run at import
  time* (the old benchmark counted ``modelavg_sym.cli`` and what it imported as start-up,
  which hid derivations done at import);
* **work**: the warm run minus both - the regeneration proper (hashing, comparing).

Goal (a ratio, no absolute time): the warm run's cost beyond start-up (package imports +
work) <= 1x start-up, judged on the upper bound of the paired difference (median + noise,
:func:`warm_work`).  Cold runs are reported without a goal.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from . import ROOT, Row, fmt_s, row

#: Default goal (seconds) of :func:`warm_work` when called without one; the benchmark
#: itself passes a goal derived from :data:`GOAL_RATIO` and the measured start-up.
GOAL_S = 1.0
#: Goal: warm cost beyond start-up over start-up.
GOAL_RATIO = 1.0
_MARK = "BENCH_JSON:"
_DRIVER = f"""
import sys, time, json
t0 = time.perf_counter()
from modelavg_sym import cli
rc = cli.main(sys.argv[1:])
dt = time.perf_counter() - t0
mods = sorted(m for m in sys.modules if not m.startswith("__"))
print({_MARK!r} + json.dumps({{"rc": rc, "seconds": dt, "modules": mods}}))
"""
_IMPORTER = """
import sys, importlib, json
for m in json.load(sys.stdin):
    try:
        importlib.import_module(m)
    except Exception:
        pass
"""


def available() -> bool:
    """True when the ``regenerate`` subcommand is registered in the CLI."""
    try:
        from modelavg_sym.cli import COMMANDS
    except ImportError:
        return False
    return "regenerate" in COMMANDS


def _timed(cmd: list[str], stdin: str | None = None, cwd: Path = ROOT
           ) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, input=stdin, capture_output=True,
                          text=True, check=False)
    return time.perf_counter() - t0, proc


def _regenerate(out: Path, cache: Path, cwd: Path = ROOT) -> tuple[float, dict]:
    wall, proc = _timed([sys.executable, "-c", _DRIVER, "regenerate", "--out", str(out),
                         "--cache-dir", str(cache), "--quiet"], cwd=cwd)
    info = {"rc": proc.returncode, "modules": [], "stderr": proc.stderr.strip()}
    said = [ln for ln in (proc.stdout + "\n" + proc.stderr).splitlines()
            if ln.startswith("regenerate:")]
    info["summary"] = (said[-1] if said else "").replace(str(out), "OUT")
    info["verified"] = any("verifying" in ln for ln in said)
    for line in proc.stdout.splitlines():
        if line.startswith(_MARK):
            info.update(json.loads(line[len(_MARK):]))
    return wall, info


def warm_work(warm: Sequence[float], base: Sequence[float], goal: float = GOAL_S
              ) -> tuple[str, float, bool]:
    """The warm run's work beyond start-up + imports from *paired* samples.

    ``warm[i]`` and ``base[i]`` were measured back to back (interleaved), so system load
    affects both alike.  The estimate is ``m = median(warm[i] - base[i])``; the noise is the
    largest spread (max - min) of the baseline samples and of the paired differences; the
    upper bound is ``max(m, 0) + noise``.  When ``m`` is not above the noise (including a
    negative difference) the text is ``below noise (< upper)``; the goal is met only if
    the upper bound is below ``goal``.

    Returns (text, upper bound in seconds, met).
    """
    if len(warm) != len(base) or not warm:
        raise ValueError("warm and base must be non-empty paired samples of equal length")
    diffs = [w - b for w, b in zip(warm, base, strict=True)]
    est = statistics.median(diffs)
    noise = max(max(base) - min(base), max(diffs) - min(diffs))
    upper = max(est, 0.0) + noise
    if est <= noise:
        text = f"below noise (< {fmt_s(upper)})"
    else:
        text = f"{fmt_s(est)} (± {fmt_s(noise)})"
    return text, upper, upper < goal


def _changed(summary: str) -> bool:
    """True when a run's summary line reports added or updated files."""
    found = re.search(r"(\d+) added, (\d+) updated", summary)
    return bool(found) and (int(found.group(1)) + int(found.group(2))) > 0


def run(quick: bool = False, repeats: int | None = None) -> list[Row]:
    if not available():
        return [row("regenerate cold / warm", "regenerate command not available", None,
                    f"<= {GOAL_RATIO:g}x", None, "'regenerate' not in cli.COMMANDS")]
    repeats = repeats or (3 if quick else 5)
    with tempfile.TemporaryDirectory(prefix="modelavg-bench-") as tmp:
        out, cache = Path(tmp) / "out", Path(tmp) / "cache"
        cold, info = _regenerate(out, cache)
        if info["rc"] != 0:
            last = (info["stderr"].splitlines() or ["no message"])[-1]
            return [row("regenerate cold", f"failed (exit {info['rc']}): {last}", None,
                        f"<= {GOAL_RATIO:g}x", False)]
        first_warm = _regenerate(out, cache)  # its module list defines the baselines
        used = first_warm[1]["modules"]
        third = [m for m in used if m.split(".")[0] != "modelavg_sym"]
        own = [m for m in used if m.split(".")[0] == "modelavg_sym"]
        jobs = {
            "warm": lambda: _regenerate(out, cache),
            "startup": lambda: (_timed([sys.executable, "-c", _IMPORTER],
                                       json.dumps(third))[0], {}),
            "imports": lambda: (_timed([sys.executable, "-c", _IMPORTER],
                                       json.dumps(third + own))[0], {}),
        }
        samples: dict[str, list[tuple[float, dict]]] = {k: [] for k in jobs}
        names = sorted(jobs)
        for r in range(repeats):
            for k in range(len(names)):
                name = names[(r + k) % len(names)]
                samples[name].append(jobs[name]())
        bare = Path(tmp) / "outside"
        bare.mkdir()
        # outside the project nothing seeds the verification: every theorem is verified
        bare_wall, bare_info = (_regenerate(Path(tmp) / "out2", Path(tmp) / "cache2", bare)
                                if not quick else (None, {}))
    warm = [w for w, _ in samples["warm"]]
    start = [w for w, _ in samples["startup"]]
    imports = [w for w, _ in samples["imports"]]
    rc_warm = {i["rc"] for _, i in samples["warm"]}
    base = statistics.median(start)
    text, upper, met = warm_work(warm, start, GOAL_RATIO * base)
    pkg = statistics.median(i - s for i, s in zip(imports, start, strict=True))
    work = statistics.median(w - i for w, i in zip(warm, imports, strict=True))
    rows = [
        row("regenerate cold (empty cache, as on a fresh clone), wall time", fmt_s(cold),
            cold / base, "report", None,
            f"ratio: over start-up ({fmt_s(base)}); verification statuses are seeded from "
            f"the committed reports/verification.json; run said {info.get('summary', '')!r}"),
    ]
    if bare_wall is not None:
        rows.append(row(
            "regenerate cold, nothing seeded (run outside the checkout), wall time",
            fmt_s(bare_wall) if bare_info.get("rc") == 0 else
            f"failed (exit {bare_info.get('rc')})", bare_wall / base, "report", None,
            f"ratio: over start-up; every (theorem, route) pair verified; run said "
            f"{bare_info.get('summary', '')!r}"))
    rows.append(row(
        "regenerate warm (nothing changed): cost beyond start-up vs start-up",
        f"{text} vs {fmt_s(base)} (wall {fmt_s(statistics.median(warm))})",
        upper / base, f"<= {GOAL_RATIO:g}x", met and rc_warm == {0},
        f"start-up = interpreter + the {len(third)} third-party modules the warm run "
        f"imported; beyond it: package imports incl. import-time derivations "
        f"{fmt_s(pkg)} ({len(own)} modelavg_sym modules), regeneration work {fmt_s(work)}; "
        f"median of {repeats} interleaved (warm, start-up, imports) runs; ratio from the "
        f"upper bound (median paired difference + noise); last warm run said: "
        f"{samples['warm'][-1][1]['summary']!r}"
        + ("; a warm run re-verified theorems (the package source changed between runs, "
           "which is part of the cache key)" if any(i.get("verified")
                                                    for _, i in samples["warm"]) else "")
        + ("; a warm run was not a no-op (it added or updated files: the package changed "
           "between runs, or regenerate is not idempotent)"
           if any(_changed(i.get("summary", "")) for _, i in samples["warm"]) else "")))
    return rows


if __name__ == "__main__":
    from .__main__ import main

    raise SystemExit(main(["--only", "regenerate"]))
