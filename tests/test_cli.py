"""The CLI: weight command output, JSON keys, and one-line errors with exit code 2."""

import json
import subprocess
import sys

import pytest

from modelavg_sym.cli import main


def test_weight_json(capsys):
    assert (
        main(
            [
                "weight",
                "--var-local",
                "1",
                "--var-global",
                "0.5",
                "--bias",
                "0.3",
                "--weight",
                "0.2",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {
        "optimal_weight",
        "mse_local",
        "mse_global",
        "min_mse",
        "beneficial_interval",
        "mse",
        "benefit",
    }
    assert out["optimal_weight"] == pytest.approx(100 / 159)
    assert out["mse_local"] == 1.0
    assert out["mse_global"] == pytest.approx(0.59)
    assert len(out["beneficial_interval"]) == 2


def test_weight_text(capsys):
    assert main(["weight", "--var-local", "1", "--var-global", "0.5", "--bias", "0.3"]) == 0
    out = capsys.readouterr().out
    assert "0.62893081761" in out and "beneficial" in out


@pytest.mark.parametrize(
    "argv,param",
    [
        (["--var-local", "-1", "--var-global", "1", "--bias", "0"], "var_local"),
        (["--var-local", "1", "--var-global", "nan", "--bias", "0"], "var_global"),
        (["--var-local", "1", "--var-global", "1", "--bias", "inf"], "bias"),
        (["--var-local", "1", "--var-global", "1", "--bias", "0", "--cov", "3"], "cov"),
        (["--var-local", "1", "--var-global", "1", "--bias", "0", "--cov", "1"], "D = "),
    ],
)
def test_weight_bad_input(argv, param, capsys):
    assert main(["weight", *argv]) == 2
    err = capsys.readouterr().err
    assert param in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_python_m_subprocess():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelavg_sym",
            "weight",
            "--var-local",
            "-1",
            "--var-global",
            "1",
            "--bias",
            "0",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("modelavg-sym weight: error: var_local")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_derive_as_the_program_ends_without_teardown_and_loses_no_output(tmp_path):
    """Run as the program, derive ends by os._exit after flushing and the atexit handlers
    (cli._quick_exit): its report, its failure line and its exit code are all there."""
    path = tmp_path / "correlated.toml"
    path.write_text('title = "Correlated"\n[nodes]\ncount = 2\nn = ["n_0", "n_1"]\n'
                    'var = "v"\nmean = "mu"\n[assumptions]\npositive = ["n_0", "n_1", "v"]\n'
                    'real = ["mu"]\n[estimators]\nglobal = "2*xbar_0 - xbar_1"\n')
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "modelavg_sym", "derive", str(path), "--route", "smt",
         "--no-cache", "--out", str(out), "--numeric", "n_0=1", "n_1=1", "v=1", "mu=0"],
        capture_output=True, text=True)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("Correlated: ") and lines[-1].split()[0] == "personalization_value"
    assert "(smt: refuted)" in proc.stderr and "Traceback" not in proc.stderr
    assert (out / "verification.json").is_file()


def test_scheduler_that_is_not_dask_fails_within_the_timeout(tmp_path):
    """A server that accepts TCP but is not a Dask scheduler: one line, exit 2, bounded."""
    import socket
    import time

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        t0 = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "modelavg_sym", "simulate", "--local", "normal(0,1)",
             "--n-local", "2", "--global", "normal(0,1)", "--n-global", "2", "--reps", "10",
             "--scheduler", f"tcp://127.0.0.1:{port}", "--scheduler-timeout", "1"],
            capture_output=True, text=True, timeout=60, cwd=tmp_path)
        elapsed = time.monotonic() - t0
    finally:
        server.close()
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "scheduler" in proc.stderr and elapsed < 20
