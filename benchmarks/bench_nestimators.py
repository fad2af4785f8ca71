"""N estimators: ``optimal_weights`` at K = 1000 against scipy's Cholesky solve (issue 13).

Data (seeded): S = F F' / K + 0.1 I (K x K, F standard normal), bias b standard normal.

* **affine** (sum w = 1): ``modelavg_sym.optimal_weights(S, b)`` against
  :func:`cho_reference`, what a competent scipy user writes: the same input checks as the
  package (finite entries, symmetry), M = S + b b', ``scipy.linalg.cho_factor`` (which
  raises unless M is positive definite) and ``cho_solve`` for x = M^{-1} 1, then
  w = x / 1'x and MSE = 1 / 1'x.  Goal <= 1.5x (scipy is a benchmark-only dependency;
  without it the row says so).
* **simplex** (w >= 0 too): timed and reported against the same Cholesky solve and, where
  installed, against the QP solved by Clarabel directly and by cvxpy (informational; the
  optimal MSEs are compared).

Both sides are checked to return the same weights before being timed; timings are
interleaved, medians.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from . import Row, fmt_s, goal_row, interleaved, row

K = 1000
GOAL = 1.5
Arr = npt.NDArray[np.float64]


def problem(k: int = K) -> tuple[Arr, Arr]:
    """(S, b) as in the module docstring."""
    rng = np.random.default_rng(np.random.SeedSequence(1000))
    f = rng.normal(size=(k, k)) / np.sqrt(k)
    return f @ f.T + 0.1 * np.eye(k), rng.normal(size=k)


def cho_reference(cov: Arr, bias: Arr) -> tuple[Arr, float]:
    """Affine optimum with scipy (the comparison, never used by the package)."""
    from scipy.linalg import cho_factor, cho_solve

    if not (np.isfinite(cov).all() and np.isfinite(bias).all()):
        raise ValueError("cov and bias must be finite")
    scale = max(float(np.abs(cov).max()), 1e-300)
    if np.abs(cov - cov.T).max() > 1e-12 * scale:
        raise ValueError("cov must be symmetric")
    m = cov + np.outer(bias, bias)
    x = cho_solve(cho_factor(m, check_finite=False), np.ones(m.shape[0]), check_finite=False)
    total = float(x.sum())
    return x / total, 1.0 / total


def _clarabel(m: Arr) -> Callable[[], tuple[Arr, float]] | None:
    """min w'Mw s.t. 1'w = 1, w >= 0 with Clarabel's own API, or None if not installed."""
    try:
        import clarabel
        from scipy import sparse
    except ImportError:
        return None
    k = m.shape[0]

    def solve() -> tuple[Arr, float]:
        p = sparse.triu(sparse.csc_matrix(2.0 * m), format="csc")
        a = sparse.vstack([sparse.csc_matrix(np.ones((1, k))), -sparse.eye(k)], format="csc")
        rhs = np.concatenate([[1.0], np.zeros(k)])
        cones = [clarabel.ZeroConeT(1), clarabel.NonnegativeConeT(k)]
        settings = clarabel.DefaultSettings()
        settings.verbose = False
        sol = clarabel.DefaultSolver(p, np.zeros(k), a, rhs, cones, settings).solve()
        w = np.asarray(sol.x)
        return w, float(w @ m @ w)

    return solve


def _cvxpy(m: Arr) -> Callable[[], tuple[Arr, float]] | None:
    """The same QP through cvxpy (default solver), or None if not installed."""
    try:
        import cvxpy as cp
    except ImportError:
        return None
    k = m.shape[0]

    def solve() -> tuple[Arr, float]:
        w = cp.Variable(k)
        prob = cp.Problem(cp.Minimize(cp.quad_form(w, cp.psd_wrap(m))),
                          [cp.sum(w) == 1, w >= 0])
        prob.solve()
        x = np.asarray(w.value)
        return x, float(x @ m @ x)

    return solve


def run(quick: bool = False, repeats: int | None = None) -> list[Row]:
    import modelavg_sym

    repeats = repeats or (3 if quick else 7)
    S, b = problem()
    rows: list[Row] = []
    fns: dict[str, Callable[[], Any]] = {
        "affine": lambda: modelavg_sym.optimal_weights(S, b),
        "simplex": lambda: modelavg_sym.optimal_weights(S, b, nonnegative=True),
    }
    try:
        import scipy  # noqa: F401
    except ImportError:
        scipy_ok = False
    else:
        scipy_ok = True
        w_ref, mse_ref = cho_reference(S, b)
        w_api, mse_api = modelavg_sym.optimal_weights(S, b)
        if not (np.allclose(w_api, w_ref, rtol=1e-8, atol=1e-12)
                and np.isclose(mse_api, mse_ref, rtol=1e-10)):
            raise AssertionError("optimal_weights and the cho_solve reference disagree")
        fns["cho_solve"] = lambda: cho_reference(S, b)
    peers: dict[str, Callable[[], tuple[Arr, float]]] = {}
    m = S + np.outer(b, b)
    for name, make in (("clarabel", _clarabel), ("cvxpy", _cvxpy)):
        solver = make(m)
        if solver is not None:
            peers[name] = solver
            fns[name] = solver
    med = interleaved(fns, repeats)
    _, mse_simplex = modelavg_sym.optimal_weights(S, b, nonnegative=True)
    if scipy_ok:
        ratio = med["affine"] / med["cho_solve"]
        rows.append(goal_row(f"6. optimal_weights K={K} (affine) vs scipy cho_factor + "
                             "cho_solve", f"{fmt_s(med['affine'])} vs {fmt_s(med['cho_solve'])}",
                             ratio, GOAL, f"median of {repeats} interleaved runs; the "
                             "reference checks finite and symmetric input as the package does"))
    else:
        rows.append(row(f"6. optimal_weights K={K} (affine) vs scipy cho_solve",
                        "scipy not installed", None, f"<= {GOAL:g}x", None,
                        f"affine optimum takes {fmt_s(med['affine'])}"))
    anchor = "cho_solve" if scipy_ok else "affine"
    note = [f"the affine optimum takes {fmt_s(med['affine'])}"]
    for name, solver in peers.items():
        _, mse_peer = solver()
        note.append(f"{name} {fmt_s(med[name])} (simplex is {med['simplex'] / med[name]:.2f}x "
                    f"of it; its MSE {mse_peer:.10g} vs ours {mse_simplex:.10g})")
    if not peers:
        note.append("clarabel and cvxpy not installed")
    rows.append(row(f"6. optimal_weights K={K} (simplex, w >= 0) vs "
                    f"{'scipy cho_solve (affine)' if scipy_ok else 'the affine optimum'}",
                    f"{fmt_s(med['simplex'])} vs {fmt_s(med[anchor])}",
                    med["simplex"] / med[anchor], "report", None, "; ".join(note)))
    return rows


if __name__ == "__main__":
    from .__main__ import main

    raise SystemExit(main(["--only", "nestimators"]))
