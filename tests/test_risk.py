"""Risk of estimated weights by simulation: the Monte Carlo route of the estimated-weight
theorems, and the risk study (table, Markdown, figure)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import sympy as sp

from modelavg_sym.derive.estimated import q
from modelavg_sym.simulation import risk
from modelavg_sym.symbols import Delta, c, s_G, s_L
from modelavg_sym.theorems import ReplicationCheck, get
from modelavg_sym.verify import montecarlo, run
from modelavg_sym.verify.profiles import PROFILES

D_REF = s_L + s_G - 2 * c + Delta**2
MIN_MSE_REF = s_L - (s_L - c) ** 2 / D_REF


#: The estimated-weight theorems checked by a per-replication statistic.
MC_THEOREMS = ("estimated_weight_risk", "estimated_weight_benefit", "naive_delta_sq_bias",
               "unbiased_delta_sq")


@pytest.mark.parametrize("name", MC_THEOREMS)
def test_montecarlo_route_agrees(name: str) -> None:
    thm = get(name)
    assert "montecarlo" in thm.routes
    assert isinstance(thm.montecarlo, ReplicationCheck)
    res = run(thm, "montecarlo", "ci")
    assert res.status == "agreed", res.detail
    assert res.extra["reps"] == PROFILES["ci"].mc_reps


@pytest.mark.parametrize(("name", "wrong"), [
    ("estimated_weight_risk", MIN_MSE_REF + q),              # forgot the factor D
    ("estimated_weight_benefit", D_REF * (s_L - c) ** 2 / D_REF**2),  # forgot - D q
    ("naive_delta_sq_bias", Delta**2),                       # "(G - L)^2 is unbiased"
    ("unbiased_delta_sq", Delta**2 + s_L / 2),
])
def test_montecarlo_route_rejects_wrong_formula(name: str, wrong: sp.Expr) -> None:
    res = montecarlo.check(get(name), "ci", formula=wrong)
    assert res.status == "failed", res.detail


def test_montecarlo_route_not_applicable_elsewhere() -> None:
    assert montecarlo.check(get("clipping_reduces_error")).status == "not-applicable"


TINY = risk.RiskGrid(nodes=(3, 8), sizes=(6,), ratios=(0.0, 4.0),
                     noises=("normal", "lognormal"), reps=1500, seed=5)


@pytest.fixture(scope="module")
def tiny_rows() -> list[dict]:
    return risk.risk_table(grid=TINY)


def _row(rows: list[dict], **key: object) -> dict:
    (hit,) = [r for r in rows if all(r[k] == v for k, v in key.items())]
    return hit


def test_risk_table_deterministic_and_complete(tiny_rows: list[dict]) -> None:
    assert risk.risk_table(grid=TINY) == tiny_rows
    assert len(tiny_rows) == 2 * 2 * 2 * len(risk.RISK_METHODS)
    assert {r["method"] for r in tiny_rows} == set(risk.RISK_METHODS)


def test_risk_table_against_theory(tiny_rows: list[dict]) -> None:
    """Local risk is sigma^2/n (normalised: 1); the global model's is, with k equal nodes,
    1/(k-1) + ratio k/(k-1) (hand formula); within 4 standard errors, any noise."""
    for noise in TINY.noises:
        for k in TINY.nodes:
            for ratio in TINY.ratios:
                key = {"noise": noise, "nodes": k, "tau2_ratio": ratio}
                loc = _row(tiny_rows, method="local", **key)
                assert abs(loc["risk"] - 1.0) < 4 * loc["se"], loc
                glob = _row(tiny_rows, method="global", **key)
                want = 1 / (k - 1) + ratio * k / (k - 1)
                assert abs(glob["risk"] - want) < 4 * glob["se"], (glob, want)


def test_risk_table_shows_gain_and_harm(tiny_rows: list[dict]) -> None:
    key = {"noise": "normal", "nodes": 8, "tau2_ratio": 0.0}
    re = _row(tiny_rows, method="random-effects", **key)
    assert re["benefit"] > 4 * re["benefit_se"]  # pooling helps with homogeneous nodes
    naive = _row(tiny_rows, method="naive", **key)
    assert re["risk"] < naive["risk"]  # the biased Delta^2 under-pools
    harm = _row(tiny_rows, method="global", noise="normal", nodes=8, tau2_ratio=4.0)
    assert harm["benefit"] < -4 * harm["benefit_se"]  # negative benefit
    oracle = _row(tiny_rows, method="oracle", **key)
    assert oracle["risk"] <= min(r["risk"] for r in tiny_rows
                                 if all(r[k] == v for k, v in key.items()))


def test_render_markdown(tiny_rows: list[dict]) -> None:
    md = risk.render_markdown(tiny_rows)
    lines = md.splitlines()
    assert lines[0].startswith("| noise | k | n |") and "james-stein" in lines[0]
    assert len([ln for ln in lines if ln.startswith("| normal") or
                ln.startswith("| lognormal")]) == 8
    assert "**" in md  # the global model hurts at tau^2 = 4 sigma^2/n
    assert md == risk.render_markdown(tiny_rows)


def test_risk_figure_deterministic(tmp_path: Path, tiny_rows: list[dict]) -> None:
    pytest.importorskip("matplotlib")
    from modelavg_sym.artifacts.figures import risk_figure

    first = risk_figure(tiny_rows, tmp_path / "risk")
    second = risk_figure(tiny_rows, tmp_path / "again")
    assert [p.suffix for p in first] == [".pdf", ".png"]
    for p1, p2 in zip(first, second, strict=True):
        assert p1.read_bytes() == p2.read_bytes(), p1.name
        assert p1.stat().st_size > 1000
    assert b"CreationDate" not in first[0].read_bytes()


def test_ci_profile_size() -> None:
    g = risk.GRIDS["ci"]
    cells = len(g.nodes) * len(g.sizes) * len(g.ratios) * len(g.noises)
    assert cells * g.reps * max(g.nodes) * max(g.sizes) <= 10_000_000  # keeps CI fast
    assert math.isclose(risk.GRIDS["full"].reps / g.reps, 20)


def test_ci_profile_table() -> None:
    rows = risk.ci_rows()
    g = risk.GRIDS["ci"]
    cells = len(g.nodes) * len(g.sizes) * len(g.ratios) * len(g.noises)
    assert len(rows) == cells * len(risk.RISK_METHODS)
    assert risk.ci_rows() is rows  # computed once per process
    assert all(math.isfinite(r["risk"]) and r["se"] > 0 for r in rows)


def test_cells_seeded_by_spawn(tiny_rows: list[dict]) -> None:
    """Cell t of the grid draws from SeedSequence(seed).spawn(...)[t]: recomputing one cell
    alone from that child gives the table's rows for it, bit for bit."""
    cells = risk.grid_cells(TINY)
    t = 3
    noise, k, n, ratio = cells[t]
    alone = risk.simulate_setting(k, n, ratio, noise, TINY.reps, TINY.seed, t)
    m = len(risk.RISK_METHODS)
    assert tiny_rows[t * m:(t + 1) * m] == alone
    assert risk.simulate_setting(k, n, ratio, noise, TINY.reps, TINY.seed, t + 1) != alone


def test_risk_table_identical_for_any_worker_count(tiny_rows: list[dict]) -> None:
    assert risk.risk_table(grid=TINY, workers=2) == tiny_rows


def test_risk_table_dask_local_cluster_bitwise_identical(tiny_rows: list[dict]) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        remote = risk.risk_table(grid=TINY, scheduler=cluster)
        assert risk.risk_table(grid=TINY, scheduler=cluster.scheduler_address) == remote
    assert remote == tiny_rows  # == on floats: bitwise (no nan in the table)


def test_risk_table_rejects_unknown_profile() -> None:
    from modelavg_sym.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError) as exc:
        risk.risk_table("huge")
    assert exc.value.parameter == "profile"
