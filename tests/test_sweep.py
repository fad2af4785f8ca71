"""``modelavg-sym sweep``: the risk-study grid from the command line, locally or on Dask."""

from __future__ import annotations

import json

import pytest

from modelavg_sym.cli import main
from modelavg_sym.simulation import risk


@pytest.fixture(scope="module")
def ci_json() -> list[dict]:
    return json.loads(json.dumps(list(risk.ci_rows())))


def test_sweep_json_is_the_ci_table(capsys: pytest.CaptureFixture[str],
                                    ci_json: list[dict]) -> None:
    assert main(["sweep", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == ci_json
    assert {r["method"] for r in rows} == set(risk.RISK_METHODS)


def test_sweep_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "--profile", "ci"]) == 0
    out = capsys.readouterr().out
    assert out == risk.render_markdown(risk.ci_rows())
    assert out.startswith("| noise | k | n |")


def test_sweep_two_workers_identical(capsys: pytest.CaptureFixture[str],
                                     ci_json: list[dict]) -> None:
    assert main(["sweep", "--json", "--workers", "2"]) == 0
    assert json.loads(capsys.readouterr().out) == ci_json


def test_sweep_on_dask_scheduler_identical(capsys: pytest.CaptureFixture[str],
                                           ci_json: list[dict]) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        assert main(["sweep", "--json", "--scheduler", cluster.scheduler_address]) == 0
    assert json.loads(capsys.readouterr().out) == ci_json


@pytest.mark.parametrize("argv, word", [
    (["--scheduler", "garbage"], "scheduler"), (["--workers", "0"], "workers"),
    (["--profile", "huge"], "profile"),
])
def test_sweep_bad_arguments_exit_2(argv: list[str], word: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and word in err
