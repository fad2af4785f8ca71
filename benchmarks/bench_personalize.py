"""Data at scale: ``personalize`` on a long CSV against pandas groupby + numpy (issue 13).

Data: a seeded CSV (``node,value``) of 10^6 rows over 10^4 nodes (``--quick``: 2 x 10^5
rows over 2 x 10^3 nodes) in a temporary directory; node labels ``n0`` .. ``n9999``, every
node at least 2 rows, node means N(0, 1), within-node standard deviations in [0.5, 2].

Two sides, each run as its own fresh process (``python -m benchmarks.bench_personalize
child SIDE CSV``), interleaved, medians:

* ``package``: ``modelavg_sym.personalize(csv, method="plugin")``;
* ``reference``: :func:`reference_plugin`, the same plug-in weights written as a competent
  pandas user would: ``pd.read_csv`` (default C parser) + ``groupby("node")["value"]
  .agg(["count", "mean", "var"])``, then numpy on the k per-node rows (leave-one-out sums
  as total minus own term).

Time: wall time of the whole process (start-up, imports and work: what a user running a
script waits for; the work alone, timed inside each process after its imports, is in the
note).  Memory: the process's peak resident set, printed by the child at its end: ``VmHWM``
of ``/proc/self/status`` on Linux.  Not ``getrusage(...).ru_maxrss``: Linux carries the
parent's high-water mark over ``fork``/``vfork`` + ``exec`` into the child's (and
``RUSAGE_CHILDREN`` is the maximum over all children), so after the array benchmarks both
sides read the benchmark runner's own peak (measured: 1105 MiB on both sides); ``ru_maxrss``
is only the fallback where ``/proc`` is missing.  Goals: both ratios <= 1.5.  Before timing,
one run of each side writes its weights and estimates and the two are compared.

Lookup: ``result[node]`` for every node of a result with 10^4 nodes and of one with 10^2
nodes, and the same with a ``dict`` node -> row (all four interleaved).  The goal ratio is
the growth of the per-lookup time from 10^2 to 10^4 nodes over the dict's growth (a dict
itself gets ~3x slower per lookup, from cache misses): O(1) lookup gives ~1 (goal <= 2),
a linear scan ~100 over that.

pandas is a benchmark-only dependency here: without it the reference rows say so.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import Row, fmt_bytes, fmt_s, goal_row, interleaved, python, row, timed_run

GOAL = 1.5
LOOKUP_GOAL = 2.0
FULL = (10**6, 10**4)
QUICK = (2 * 10**5, 2 * 10**3)
LOOKUP_SIZES = (10**2, 10**4)


def write_csv(path: Path, rows: int, nodes: int, seed: int = 13) -> None:
    """The seeded long-format CSV described in the module docstring."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    ids = np.concatenate([np.repeat(np.arange(nodes), 2),
                          rng.integers(0, nodes, rows - 2 * nodes)])
    rng.shuffle(ids)
    mu = rng.normal(size=nodes)
    sd = rng.uniform(0.5, 2.0, nodes)
    values = mu[ids] + sd[ids] * rng.normal(size=rows)
    with path.open("w") as fh:
        fh.write("node,value\n")
        fh.write("\n".join(f"n{i},{v:.6f}" for i, v in zip(ids.tolist(), values.tolist(),
                                                             strict=True)))
        fh.write("\n")


# --------------------------------------------------------------------------- the reference


def reference_plugin(path: str) -> dict[str, np.ndarray]:
    """Plug-in weights with pandas groupby + numpy (the comparison, never used by the
    package).  For node j with n_j values, mean xbar_j, sample variance v_j (ddof 1):
    s_L = v_j / n_j; N_j = sum_{i != j} n_i; G_j = sum_{i != j} n_i xbar_i / N_j;
    s_G = sum_{i != j} n_i v_i / N_j^2; Delta^2 = max(0, (G_j - xbar_j)^2 - s_L - s_G);
    D = s_L + s_G + Delta^2; a = s_L / D (0 where D = 0); estimate = xbar_j + a (G_j - xbar_j);
    est_mse = (1 - a)^2 s_L + a^2 (s_G + Delta^2)."""
    import pandas as pd

    df = pd.read_csv(path, dtype={"node": str, "value": np.float64})
    g = df.groupby("node", sort=True)["value"].agg(["count", "mean", "var"])
    n = g["count"].to_numpy(dtype=np.float64)
    mean = g["mean"].to_numpy()
    var = g["var"].to_numpy()
    n_other = n.sum() - n
    s_l = var / n
    nm = n * mean
    glob = (nm.sum() - nm) / n_other
    nv = n * var
    s_g = (nv.sum() - nv) / (n_other * n_other)
    gap = glob - mean
    delta_sq = np.maximum(0.0, gap * gap - s_l - s_g)
    d = s_l + s_g + delta_sq
    weight = np.divide(s_l, d, out=np.zeros_like(d), where=d > 0)
    estimate = mean + weight * gap
    est_mse = (1 - weight) ** 2 * s_l + weight**2 * (s_g + delta_sq)
    return {"node": g.index.to_numpy(dtype=str), "weight": weight, "estimate": estimate,
            "est_mse": est_mse}


def _package(path: str) -> Any:
    import modelavg_sym

    return modelavg_sym.personalize(path, method="plugin")


def _package_arrays(result: Any) -> dict[str, np.ndarray]:
    rows = list(result)
    return {"node": np.array([r.node for r in rows], dtype=str),
            "weight": np.array([r.weight for r in rows]),
            "estimate": np.array([r.estimate for r in rows]),
            "est_mse": np.array([r.est_mse for r in rows])}


def peak_rss() -> tuple[int, str]:
    """(peak resident set of this process in bytes, how it was measured)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024, "VmHWM"
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "ru_maxrss"


def child(side: str, path: str, out: str | None = None) -> None:
    """One side in this (fresh) process; prints a JSON line with its timings and peak RSS."""
    t0 = time.perf_counter()
    if side == "package":
        import modelavg_sym  # noqa: F401
    else:
        import pandas  # noqa: F401
    t1 = time.perf_counter()
    result = _package(path) if side == "package" else reference_plugin(path)
    t2 = time.perf_counter()
    peak, how = peak_rss()
    if out is not None:
        arrays = _package_arrays(result) if side == "package" else result
        np.savez(out, **arrays)
    print(json.dumps({"imports": t1 - t0, "work": t2 - t1, "peak_bytes": peak, "how": how}))


# --------------------------------------------------------------------------- parent


def _run_child(side: str, csv: Path, out: Path | None = None
               ) -> tuple[float, dict[str, Any] | str]:
    cmd = [python(), "-m", "benchmarks.bench_personalize", "child", side, str(csv)]
    if out is not None:
        cmd.append(str(out))
    wall, proc = timed_run(cmd)
    if proc.returncode != 0:
        return wall, (proc.stderr.strip().splitlines() or ["no message"])[-1]
    return wall, json.loads(proc.stdout.strip().splitlines()[-1])


def _compare(a: Path, b: Path) -> str | None:
    """None when the two sides' weights and estimates agree, else what differs."""
    pa, pb = np.load(a), np.load(b)
    order_a, order_b = np.argsort(pa["node"]), np.argsort(pb["node"])
    if not np.array_equal(pa["node"][order_a], pb["node"][order_b]):
        return "the two sides report different nodes"
    for key in ("weight", "estimate", "est_mse"):
        if not np.allclose(pa[key][order_a], pb[key][order_b], rtol=1e-7, atol=1e-12):
            return f"the two sides' {key} differ"
    return None


def bench_csv(quick: bool, repeats: int) -> list[Row]:
    try:
        import pandas  # noqa: F401
    except ImportError:
        return [row("5. personalize CSV vs pandas groupby + numpy", "pandas not installed",
                    None, f"<= {GOAL:g}x", None, "pip install pandas to run this benchmark")]
    rows_n, nodes = QUICK if quick else FULL
    size = f"{rows_n:.0e} rows x {nodes:.0e} nodes"
    with tempfile.TemporaryDirectory(prefix="modelavg-bench-csv-") as tmp:
        csv = Path(tmp) / "long.csv"
        write_csv(csv, rows_n, nodes)
        csv_bytes = csv.stat().st_size
        checks: dict[str, Path] = {}
        for side in ("package", "reference"):  # warm-up run, also the correctness check
            checks[side] = Path(tmp) / f"{side}.npz"
            _, info = _run_child(side, csv, checks[side])
            if isinstance(info, str):
                return [row(f"5. personalize CSV ({size}), plugin: {side} side",
                            f"failed: {info}", None, f"<= {GOAL:g}x", False)]
        differ = _compare(checks["package"], checks["reference"])
        walls: dict[str, list[float]] = {"package": [], "reference": []}
        infos: dict[str, list[dict[str, Any]]] = {"package": [], "reference": []}
        sides = ("package", "reference")
        for r in range(repeats):
            for k in range(2):
                side = sides[(r + k) % 2]
                wall, info = _run_child(side, csv)
                if isinstance(info, str):
                    return [row(f"5. personalize CSV ({size}), plugin: {side} side",
                                f"failed: {info}", None, f"<= {GOAL:g}x", False)]
                walls[side].append(wall)
                infos[side].append(info)
    wall = {s: statistics.median(v) for s, v in walls.items()}
    work = {s: statistics.median(i["work"] for i in infos[s]) for s in sides}
    imports = {s: statistics.median(i["imports"] for i in infos[s]) for s in sides}
    peak = {s: statistics.median(i["peak_bytes"] for i in infos[s]) for s in sides}
    agree = "results agree" if differ is None else f"RESULTS DIFFER: {differ}"
    t_ratio = wall["package"] / wall["reference"]
    m_ratio = peak["package"] / peak["reference"]
    out = [
        goal_row(f"5. personalize CSV ({size}), plugin, time vs pandas groupby + numpy",
                 f"{fmt_s(wall['package'])} vs {fmt_s(wall['reference'])}", t_ratio, GOAL,
                 f"whole-process wall time, median of {repeats} interleaved runs; work "
                 f"after imports {fmt_s(work['package'])} vs {fmt_s(work['reference'])} "
                 f"({work['package'] / work['reference']:.2f}x); imports "
                 f"{fmt_s(imports['package'])} vs {fmt_s(imports['reference'])}; {agree}"),
        goal_row(f"5. personalize CSV ({size}), plugin, peak memory vs pandas groupby + numpy",
                 f"{fmt_bytes(peak['package'])} vs {fmt_bytes(peak['reference'])}", m_ratio,
                 GOAL, f"peak resident set of each process ({infos['package'][0]['how']}), "
                 "imports included; "
                 f"CSV file {fmt_bytes(csv_bytes)}"),
    ]
    if differ is not None:
        for r in out:
            r["met"] = False
    return out


def bench_lookup(quick: bool, repeats: int) -> list[Row]:
    import modelavg_sym

    rng = np.random.default_rng(np.random.SeedSequence(7))
    small, large = LOOKUP_SIZES
    results: dict[int, Any] = {}
    nodes: dict[int, list[str]] = {}
    for k in (small, large):
        names = [f"n{i}" for i in range(k)]
        n = rng.integers(5, 50, k)
        table = [(name, int(n_i), float(mu), float(v)) for name, n_i, mu, v in
                 zip(names, n, rng.normal(size=k), rng.uniform(0.5, 2.0, k), strict=True)]
        results[k] = modelavg_sym.personalize(summaries=table, method="plugin")
        nodes[k] = names
    dicts = {k: {r.node: r for r in results[k]} for k in (small, large)}
    for name in nodes[large][:: max(1, large // 50)]:
        got = results[large][name]
        if got is not dicts[large][name] and got != dicts[large][name]:
            raise AssertionError(f"result[{name!r}] is not the row of node {name!r}")

    def lookups(table: Any, names: list[str]) -> None:
        for name in names:
            table[name]

    # every timed loop does `large` lookups (the small tables' nodes repeated)
    keys = {small: nodes[small] * (large // small), large: nodes[large]}
    fns = {f"{kind}_{k}": (lambda t=(results if kind == "result" else dicts)[k], n=keys[k]:
                           lookups(t, n))
           for kind in ("result", "dict") for k in (small, large)}
    med = interleaved(fns, repeats)
    per = {key: med[key] / large for key in med}
    grow_result = per[f"result_{large}"] / per[f"result_{small}"]
    grow_dict = per[f"dict_{large}"] / per[f"dict_{small}"]
    ratio = grow_result / grow_dict
    return [goal_row(f"5. result[node] for every node: growth of the lookup time from "
                     f"{small:.0e} to {large:.0e} nodes, over a dict's growth",
                     f"{fmt_s(per[f'result_{large}'])} vs {fmt_s(per[f'result_{small}'])} "
                     f"per lookup (a dict: {fmt_s(per[f'dict_{large}'])} vs "
                     f"{fmt_s(per[f'dict_{small}'])})", ratio, LOOKUP_GOAL,
                     f"O(1) lookup grows like a dict's (cache misses make even a dict "
                     f"slower per lookup at {large:.0e} keys): ~1x; a linear scan gives "
                     f"the size ratio {large // small}x over that; all {large} lookups take "
                     f"{fmt_s(med[f'result_{large}'])}; result[node] is "
                     f"{per[f'result_{large}'] / per[f'dict_{large}']:.1f}x a dict lookup "
                     f"at {large:.0e} nodes")]


def run(quick: bool = False, repeats: int | None = None) -> list[Row]:
    reps = repeats or (3 if quick else 5)
    return bench_csv(quick, reps) + bench_lookup(quick, reps)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(*sys.argv[2:])
    else:
        from .__main__ import main

        raise SystemExit(main(["--only", "personalize"]))
