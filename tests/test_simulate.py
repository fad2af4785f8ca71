"""Monte Carlo engine, the montecarlo verification route and the ``simulate`` command.

Agreement is judged with confidence intervals from the standard error (99.9%,
Bonferroni-corrected over the weights compared); every distribution used here has a finite
4th moment so those intervals are valid.  Each wrong-formula test shows the same
machinery rejecting a formula with one term dropped.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import modelavg_sym as m
from modelavg_sym.cli import main
from modelavg_sym.derive import settings
from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.runtime.pool import check_scheduler_address, parallel_map
from modelavg_sym.simulation.engine import simulate, simulate_two, task_seed
from modelavg_sym.simulation.model import SimulationSetup
from modelavg_sym.simulation.stats import power_sums
from modelavg_sym.symbols import Delta, a, c, s_G, s_L
from modelavg_sym.theorems import get
from modelavg_sym.verify import run
from modelavg_sym.verify.montecarlo import check

REPS = 100_000
WEIGHTS = np.array([-0.25, 0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25])

#: (local, n_local, global, n_global): 14 families, skewed, discrete and heavy-tailed.
PAIRS = [
    ("exponential(scale=2)", 5, "binomial(n=1, p=0.3)", 50),
    ("poisson(lam=3)", 4, "geometric(p=0.4)", 6),
    ("pareto(a=5)", 6, "standard_t(df=5)", 4),
    ("lognormal(0, 0.5)", 3, "gamma(shape=2, scale=0.5)", 10),
    ("beta(0.5, 0.5)", 4, "uniform(0, 1.5)", 3),
    ("laplace(1, 2)", 8, "weibull(1.5)", 5),
    ("hypergeometric(7, 13, 6)", 3, "negative_binomial(3, 0.6)", 8),
    ("mixture(0.3*normal(0, 1), 0.7*exponential(2))", 5, "chisquare(3)", 12),
    ("zipf(7)", 4, "wald(1.5, 2)", 9),
]


@pytest.mark.parametrize("pair", PAIRS, ids=[p[0].split("(")[0] + "-" + p[2].split("(")[0]
                                             for p in PAIRS])
def test_simulation_agrees_with_derived_mse_and_optimal_weight(pair: tuple) -> None:
    res = simulate_two(*pair, reps=REPS, seed=PAIRS.index(pair) + 1)
    assert res.ci_valid
    cmp = res.compare("mse", WEIGHTS)
    assert cmp.all_agree, cmp.worst()
    ben = res.compare("benefit", WEIGHTS)
    assert ben.all_agree, ben.worst()
    summary = res.summary(0.3)
    assert summary["optimal_weight_agrees"], summary
    a_hat, _ = res.empirical_optimal_weight()
    # the least-squares weight is the exact argmin of the empirical MSE
    grid = np.linspace(a_hat - 0.01, a_hat + 0.01, 201)
    assert abs(grid[np.argmin(res.empirical_mse(grid)[0])] - a_hat) <= 1e-4


def test_wrong_mse_formula_is_rejected() -> None:
    """Dropping the bias term from the MSE (a^2 s_G instead of a^2 (s_G + Delta^2))."""
    res = simulate_two("exponential(scale=2)", 5, "poisson(lam=1.6)", 20, reps=REPS, seed=1)
    t = res.truth
    assert res.compare("mse", WEIGHTS).all_agree
    wrong = (1 - WEIGHTS) ** 2 * t.var_local + WEIGHTS**2 * t.var_global
    assert not res.compare("mse", WEIGHTS, predicted=wrong).all_agree


def test_wrong_optimal_weight_is_rejected() -> None:
    """a* with the bias dropped, s_L / (s_L + s_G), lies outside the simulation's CI."""
    res = simulate_two("gamma(2, 1)", 4, "binomial(10, 0.25)", 30, reps=REPS, seed=2)
    s = res.summary(0.5)
    lo, hi = s["empirical_optimal_weight_ci"]
    assert lo <= s["optimal_weight"] <= hi
    t = res.truth
    wrong = t.var_local / (t.var_local + t.var_global)
    assert not lo <= wrong <= hi


def test_pooled_setting_truth_matches_section_2() -> None:
    """Independent reference (MATH.md section 2): with the local data pooled in,
    c = v_0/N0, s_G = sum n_i v_i / N0^2, Delta = sum n_i mu_i / N0 - mu_0."""
    nodes = [("exponential(2)", 5), ("poisson(3)", 10), ("uniform(0, 6)", 15)]
    s = SimulationSetup.from_nodes(nodes, include_local=True)
    t = s.truth()
    mus, vs, ns = [2.0, 3.0, 3.0], [4.0, 3.0, 3.0], [5, 10, 15]
    n0 = sum(ns)
    assert t.cov == pytest.approx(vs[0] / n0)
    assert t.var_global == pytest.approx(sum(n * v for n, v in zip(ns, vs, strict=True)) / n0**2)
    assert t.bias == pytest.approx(sum(n * mu for n, mu in zip(ns, mus, strict=True)) / n0 - mus[0])
    assert t.var_local == pytest.approx(vs[0] / ns[0])
    res = simulate(s, REPS, seed=4)
    assert res.compare("mse", WEIGHTS).all_agree
    excl = SimulationSetup.from_nodes(nodes).truth()
    assert excl.cov == 0.0
    assert excl.var_global == pytest.approx((10 * 3 + 15 * 3) / 25**2)


def test_uniform_federation_truth() -> None:
    """Equal node weights: G = mean of the m pooled node means, so s_G = sum (v_i/n_i) / m^2,
    Delta = mean(mu_i) - mu_0 and, with the local node pooled, c = (v_0/n_0) / m."""
    nodes = [("gamma(2, 1)", 4), ("binomial(10, 0.4)", 10), ("laplace(3, 1)", 20)]
    t = SimulationSetup.from_nodes(nodes, include_local=True, weighting="uniform").truth()
    mus, vs, ns = [2.0, 4.0, 3.0], [2.0, 2.4, 2.0], [4, 10, 20]
    assert t.var_global == pytest.approx(sum(v / n for v, n in zip(vs, ns, strict=True)) / 9)
    assert t.bias == pytest.approx(sum(mus) / 3 - mus[0])
    assert t.cov == pytest.approx(vs[0] / ns[0] / 3)
    res = simulate(SimulationSetup.from_nodes(nodes, include_local=True, weighting="uniform"),
                   REPS, seed=5)
    assert res.compare("mse", WEIGHTS).all_agree
    with pytest.raises(InvalidParameterError):
        SimulationSetup.from_nodes(nodes, weighting="median")


def test_results_identical_for_any_worker_count() -> None:
    s = SimulationSetup.two_estimator("lognormal(0, 0.5)", 7, "poisson(2)", 5)
    one = simulate(s, 20_000, seed=11, task_reps=3_000)
    assert one.tasks == 7
    two = simulate(s, 20_000, seed=11, task_reps=3_000, workers=2)
    three = simulate(s, 20_000, seed=11, task_reps=3_000, workers=3)
    np.testing.assert_array_equal(one.moments, two.moments)
    np.testing.assert_array_equal(one.moments, three.moments)
    other = simulate(s, 20_000, seed=12, task_reps=3_000)
    assert not np.array_equal(one.moments, other.moments)


@pytest.mark.parametrize("workers", [1, 2])
def test_parallel_map_keeps_task_order(workers: int) -> None:
    got = list(parallel_map(pow, 9, lambda t: (t, 3), shared=(), workers=workers))
    assert got == [t**3 for t in range(9)]
    got = list(parallel_map(divmod, 4, lambda t: (t + 2,), shared=(100,), workers=workers))
    assert got == [divmod(100, t + 2) for t in range(4)]


def test_task_seeds_are_seedsequence_spawn_children() -> None:
    kids = np.random.SeedSequence(42).spawn(5)
    for i, kid in enumerate(kids):
        np.testing.assert_array_equal(task_seed(42, i).generate_state(4), kid.generate_state(4))


def test_dask_local_cluster_is_bitwise_identical() -> None:
    distributed = pytest.importorskip("distributed")
    s = SimulationSetup.two_estimator("pareto(5)", 4, "binomial(3, 0.5)", 6)
    local = simulate(s, 12_000, seed=3, task_reps=2_000)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        remote = simulate(s, 12_000, seed=3, task_reps=2_000, scheduler=cluster)
    np.testing.assert_array_equal(local.moments, remote.moments)


def test_power_sums() -> None:
    x, y = np.array([1.0, 2.0, -1.0]), np.array([0.5, -1.0, 3.0])
    s = power_sums(x, y)
    for i in range(5):
        for j in range(5):
            want = float(np.sum(x**i * y**j)) if i + j <= 4 else 0.0
            assert s[i, j] == pytest.approx(want)


@pytest.mark.parametrize("kwargs, param", [
    ({"reps": 0}, "reps"), ({"reps": 10, "workers": 0}, "workers"),
    ({"reps": 10, "seed": -1}, "seed"), ({"reps": 10, "confidence": 1.5}, "confidence"),
    ({"reps": 10, "task_reps": 0}, "task_reps"),
])
def test_invalid_arguments(kwargs: dict, param: str) -> None:
    s = SimulationSetup.two_estimator("normal()", 3, "normal(1)", 3)
    with pytest.raises(InvalidParameterError) as exc:
        simulate(s, **kwargs)
    assert exc.value.parameter == param
    with pytest.raises(InvalidParameterError):
        SimulationSetup.two_estimator("normal()", 0, "normal(1)", 3)


def test_progress_bar_runs() -> None:
    res = simulate_two("normal()", 3, "exponential()", 3, reps=4_000, task_reps=1_000,
                       progress=True)
    assert res.tasks == 4


@pytest.mark.parametrize("name", ["mse_decomposition", "benefit_factorisation",
                                  "headline_positive_weight_helps", "mse_global"])
def test_montecarlo_route_agrees(name: str) -> None:
    res = run(get(name), "montecarlo")
    assert res.status == "agreed", res.detail
    assert res.examples > 0


@pytest.mark.parametrize("name, wrong", [
    ("mse_decomposition", (1 - a) ** 2 * s_L + a**2 * s_G + 2 * a * (1 - a) * c),
    ("mse_global", s_G + Delta),
    ("benefit_factorisation", a * (2 * s_L - a * (s_L + s_G))),
])
def test_montecarlo_route_rejects_wrong_formula(name: str, wrong) -> None:
    res = check(get(name), formula=wrong)
    assert res.status == "failed", res.detail


def test_montecarlo_route_not_applicable_without_plan() -> None:
    assert check(get("D_nonnegative")).status == "not-applicable"


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["simulate", "--local", "exponential(scale=2)", "--n-local", "5", "--global",
               "binomial(n=1, p=0.3)", "--n-global", "50", "--weight", "0.2", "--reps",
               "50000", "--seed", "1", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("predicted_mse", "empirical_mse", "ci_low", "ci_high", "agrees",
                "optimal_weight", "empirical_optimal_weight"):
        assert key in out
    assert out["agrees"] is True
    assert out["ci_low"] <= out["predicted_mse"] <= out["ci_high"]
    assert out["predicted_mse"] == pytest.approx(m.mse(0.2, 0.8, 0.0042, -1.7))


def test_cli_several_nodes(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["simulate", "--local", "exponential(scale=2)", "--n-local", "5", "--global",
               "binomial(n=1, p=0.3)", "--n-global", "50", "--node", "poisson(2)", "20",
               "--include-local", "--reps", "50000", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cov"] == pytest.approx(4.0 / 75)  # v_0 / N0
    assert out["agrees"] and out["optimal_weight_agrees"]


def test_cli_text(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["simulate", "--local", "poisson(2)", "--n-local", "3", "--global",
               "gamma(2)", "--n-global", "10", "--reps", "20000"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "predicted MSE" in text and "empirical MSE" in text and "a*" in text


@pytest.mark.parametrize("local", ["exponential(scale=-2)", "standard_cauchy()", "normal(",
                                   "nosuch(1)", "standard_t(df=2)"])
def test_cli_bad_spec_exits_2(local: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["simulate", "--local", local, "--n-local", "5", "--global", "normal()",
               "--n-global", "5", "--reps", "100"])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--local" in err


def test_infinite_fourth_moment_is_flagged(capsys: pytest.CaptureFixture[str]) -> None:
    """pareto(a=3) and standard_t(df=3) have finite variance (accepted) but infinite 4th
    moments, so the standard errors of squared errors are unreliable: say so."""
    res = simulate_two("pareto(a=3)", 5, "standard_t(df=3)", 5, reps=2_000)
    assert not res.ci_valid and res.summary(0.5)["ci_valid"] is False
    rc = main(["simulate", "--local", "pareto(a=3)", "--n-local", "5", "--global",
               "standard_t(df=3)", "--n-global", "5", "--reps", "2000"])
    assert rc == 0
    assert "infinite 4th moment" in capsys.readouterr().out


def test_cli_scheduler_address_gives_identical_json(capsys: pytest.CaptureFixture[str]) -> None:
    distributed = pytest.importorskip("distributed")
    argv = ["simulate", "--local", "gamma(2)", "--n-local", "4", "--global", "beta(2, 3)",
            "--n-global", "6", "--reps", "40000", "--seed", "9", "--json"]
    assert main(argv) == 0
    local = json.loads(capsys.readouterr().out)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        assert main([*argv, "--scheduler", cluster.scheduler_address]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert remote == local


def test_degenerate_setting_has_no_optimal_weight(capsys: pytest.CaptureFixture[str]) -> None:
    """s_L = s_G = Delta = 0: D = 0, every weight has MSE 0 and a* is undefined."""
    rc = main(["simulate", "--local", "poisson(0)", "--n-local", "3", "--global",
               "binomial(0, 0.5)", "--n-global", "3", "--reps", "1000", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["agrees"] and out["predicted_mse"] == 0.0 == out["empirical_mse"]
    assert out["optimal_weight"] is None and out["optimal_weight_agrees"] is None
    assert main(["simulate", "--local", "poisson(0)", "--n-local", "3", "--global",
                 "binomial(0, 0.5)", "--n-global", "3", "--reps", "1000"]) == 0
    assert "undefined" in capsys.readouterr().out


@pytest.mark.parametrize("include_local", [False, True])
@pytest.mark.parametrize("weighting", ["size", "uniform"])
def test_truth_agrees_with_settings_engine(include_local: bool, weighting: str) -> None:
    """The simulated settings' s_L, s_G, c, Delta equal the settings engine's derivation."""
    build = settings.pooled if weighting == "size" else settings.uniform_federation
    nodes = [("exponential(2)", 5), ("poisson(3)", 10), ("uniform(0, 6)", 15)]
    ref = build([5, 10, 15], [4, 3, 3], [2, 3, 3], include_local=include_local)
    t = SimulationSetup.from_nodes(nodes, include_local=include_local, weighting=weighting).truth()
    assert t.var_local == pytest.approx(float(ref.var_local), rel=1e-12)
    assert t.var_global == pytest.approx(float(ref.var_global), rel=1e-12)
    assert t.cov == pytest.approx(float(ref.cov), abs=1e-15)
    assert t.bias == pytest.approx(float(ref.bias), rel=1e-12)


@pytest.mark.parametrize("bias", [0.0, 1e4, 1e7, 1e9])
@pytest.mark.parametrize("weight", [0.0, 0.3, 1.0])
def test_standard_error_accurate_at_large_bias(bias: float, weight: float) -> None:
    """The se must equal the sample sd of the squared errors / sqrt(R), computed directly
    (two-pass, numpy, extended precision) from the very same draws; raw moments about theta
    gave 0 at Delta/sd ~ 1e7 (catastrophic cancellation in E[X^2] - m^2)."""
    reps, seed = 5_000, 3
    s = SimulationSetup.two_estimator("normal(0, 1)", 5, f"normal({bias!r}, 1)", 50)
    res = simulate(s, reps, seed=seed)
    rng = np.random.Generator(np.random.PCG64(task_seed(seed, 0)))
    loc, glob = (x.astype(np.longdouble) for x in s.draw(rng, reps))
    err2 = ((1 - weight) * loc + weight * glob) ** 2  # theta = 0
    mean, se = res.empirical_mse([weight])
    assert mean[0] == pytest.approx(err2.mean(), rel=1e-9)
    assert se[0] == pytest.approx(err2.std(ddof=1) / np.sqrt(reps), rel=1e-6)
    ben_mean, ben_se = res.empirical_benefit([weight])
    diff = loc**2 - err2
    assert ben_mean[0] == pytest.approx(diff.mean(), rel=1e-9, abs=1e-9)
    assert ben_se[0] == pytest.approx(diff.std(ddof=1) / np.sqrt(reps), rel=1e-6, abs=1e-12)


def test_cli_large_bias_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    """The reviewer's reproduction: se was 0.0 and agrees False."""
    rc = main(["simulate", "--local", "normal(0,1)", "--n-local", "5", "--global",
               "normal(1e7, 1)", "--n-global", "50", "--weight", "1", "--reps", "20000",
               "--seed", "3", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    # e_G = 1e7 + N(0, 0.02): sd of e_G^2 is 2e7 sqrt(0.02); se = that / sqrt(R)
    assert out["se"] == pytest.approx(2e7 * np.sqrt(0.02) / np.sqrt(20_000), rel=0.05)
    assert out["agrees"] is True


def test_reps_must_allow_a_standard_error(capsys: pytest.CaptureFixture[str]) -> None:
    s = SimulationSetup.two_estimator("normal()", 3, "normal(1)", 3)
    with pytest.raises(InvalidParameterError) as exc:
        simulate(s, 1)
    assert exc.value.parameter == "reps"
    assert simulate(s, 2).reps == 2
    rc = main(["simulate", "--local", "normal()", "--n-local", "3", "--global", "normal(1)",
               "--n-global", "3", "--reps", "1"])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "reps" in err


@pytest.mark.parametrize("address", ["garbage", "tcp://", "tcp://host", "tcp://host:0",
                                     "tcp://host:99999", "http://host:8786", "inproc://",
                                     "tcp://a b:1", ""])
def test_malformed_scheduler_exits_2_quickly(address: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    import time

    t0 = time.perf_counter()
    rc = main(["simulate", "--local", "normal()", "--n-local", "3", "--global", "normal(1)",
               "--n-global", "3", "--reps", "100", "--scheduler", address])
    assert rc == 2
    assert time.perf_counter() - t0 < 5
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "scheduler" in err


@pytest.mark.parametrize("address, want", [
    ("tcp://127.0.0.1:8786", "tcp://127.0.0.1:8786"), ("10.0.0.5:8786", "tcp://10.0.0.5:8786"),
    ("tls://sched.example.org:8786", "tls://sched.example.org:8786"),
    ("tcp://[::1]:8786", "tcp://[::1]:8786"), ("inproc://192.168.1.2/123/4", None),
])
def test_scheduler_address_formats(address: str, want: str | None) -> None:
    assert check_scheduler_address(address) == (want or address)


@pytest.mark.parametrize("spec", ["normal(9**9**9)", "normal(1/0)", "normal(2.0**10000)",
                                  "binomial(n=1e30, p=0.5)", "normal(1e200)",
                                  "uniform(0, 1e308)", "exponential(1e200)"])
def test_cli_unbounded_spec_exits_2(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["simulate", "--local", "normal()", "--n-local", "5", "--global", spec,
               "--n-global", "5", "--reps", "100"])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--global" in err


def test_sum_law_overflow_is_rejected_when_building_the_setting(
        capsys: pytest.CaptureFixture[str]) -> None:
    """binomial(2^62, p) is a valid distribution, but the sum of 5 draws is binomial(5 2^62, p),
    beyond numpy's int64: rejected up front, not an OverflowError traceback mid-run."""
    assert SimulationSetup.two_estimator("binomial(2**62, 0.5)", 1, "normal()", 3).nodes[0].n == 1
    with pytest.raises(InvalidParameterError) as exc:
        SimulationSetup.two_estimator("binomial(2**62, 0.5)", 5, "normal()", 3)
    assert exc.value.parameter == "n[0]"
    rc = main(["simulate", "--local", "binomial(2**62, 0.5)", "--n-local", "5", "--global",
               "normal()", "--n-global", "5", "--reps", "100"])
    assert rc == 2
    assert capsys.readouterr().err.count("\n") == 1
