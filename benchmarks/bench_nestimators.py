"""Issue 3: N-estimator optimum at K = 1000 ("well under a second"), affine and simplex,
next to one dense ``np.linalg.solve`` of the same size (measured in the same run)."""

from __future__ import annotations

import numpy as np

from . import Row, fmt_s, interleaved, row

K = 1000
GOAL_SECONDS = 1.0


def run(quick: bool = False, repeats: int | None = None) -> list[Row]:
    import modelavg_sym

    repeats = repeats or (3 if quick else 5)
    rng = np.random.default_rng(np.random.SeedSequence(1000))
    f = rng.normal(size=(K, K)) / np.sqrt(K)
    S = f @ f.T + 0.1 * np.eye(K)
    b = rng.normal(size=K)
    ones = np.ones(K)
    med = interleaved({
        "affine": lambda: modelavg_sym.optimal_weights(S, b),
        "simplex": lambda: modelavg_sym.optimal_weights(S, b, nonnegative=True),
        "solve": lambda: np.linalg.solve(S + np.outer(b, b), ones),
    }, repeats)
    rows: list[Row] = []
    for name in ("affine", "simplex"):
        rows.append(row(f"3. optimal_weights K={K} ({name}) vs one np.linalg.solve",
                        f"{fmt_s(med[name])} vs {fmt_s(med['solve'])}",
                        med[name] / med["solve"], f"< {GOAL_SECONDS:g} s",
                        med[name] < GOAL_SECONDS))
    return rows


if __name__ == "__main__":
    from .__main__ import main

    raise SystemExit(main(["--only", "nestimators"]))
