"""The CLI never shows a traceback: random argv from a grammar of the real flags plus
garbage and hostile values; every run ends with exit code 0, 1 or 2, a one-line error on
failure, and nothing written."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelavg_sym.cli import MAX_MESSAGE, main

NUMBERS = ["0", "1", "0.5", "-1", "-1e-3", "-.5", "2e-1", "-2e-1", "1e400", "-1e400",
           "1e-400", "nan", "-inf", "inf", "9223372036854775808", "18446744073709551616",
           "1_000", "0x10", "", " ", "1,5", "1e", "--", "-"]
SPECS = ["normal(0,1)", "exponential(scale=2)", "binomial(n=1, p=0.3)", "poisson(3)",
         "mixture(0.3*normal(0,1), 0.7*gamma(2))", "normal(" + "-" * 2000 + "1,1)",
         "normal(1e400, 1)", "gamma(-1)", "__import__('os')", "normal(0,1" + ")" * 500,
         "x" * 10_000, "normal(a=1)", "uniform(2, 1)"]
GARBAGE = ["--nope", "-x", "\x00", "é", "weight", "--json", "--", "-h" + "h" * 5]

FLAGS: dict[str, dict[str, list[str]]] = {
    "weight": {"--var-local": NUMBERS, "--var-global": NUMBERS, "--bias": NUMBERS,
               "--cov": NUMBERS, "--weight": NUMBERS, "--json": []},
    "simulate": {"--local": SPECS, "--n-local": ["1", "2", "5", "0", "-3", "1e3",
                                                  "18446744073709551616"],
                 "--global": SPECS, "--n-global": ["1", "3", "0", "x"],
                 "--weight": NUMBERS, "--reps": ["2", "10", "100", "1", "0", "-5",
                                                  "9223372036854775808"],
                 "--seed": ["0", "1", "-1", "99999999999999999999999"],
                 "--confidence": ["0.9", "0.999", "1", "0", "nan"],
                 "--include-local": [], "--uniform": [], "--json": []},
    "personalize": {"--method": ["plugin", "naive", "random-effects", "james-stein", "bad"],
                    "--node-col": ["node", "x", ""], "--value-col": ["value", "y"],
                    "--summaries": [], "--json": []},
}
PATHS = ["good.csv", "empty.csv", "bad.csv", "missing.csv", "dir", "/dev/null"]


@st.composite
def argvs(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(sorted(FLAGS)))
    argv = [command]
    flags = FLAGS[command]
    if command == "personalize" and draw(st.booleans()):
        argv.append(draw(st.sampled_from(PATHS)))
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            argv.append(draw(st.sampled_from(GARBAGE)))
        elif kind == 1:
            argv.append(draw(st.text(max_size=12)))
        else:
            flag = draw(st.sampled_from(sorted(flags)))
            argv.append(flag)
            if flags[flag]:
                argv.append(draw(st.sampled_from(flags[flag])))
    return argv


def _workdir(tmp: Path) -> None:
    (tmp / "good.csv").write_text("node,value\na,1\na,2\nb,3\nb,5\nc,4\nc,4.5\n")
    (tmp / "empty.csv").write_text("")
    (tmp / "bad.csv").write_text("node,value\na,1\nb,oops\n")
    (tmp / "dir").mkdir()


def _run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
            code = exc.code if isinstance(exc.code, int) else 2
    return code, err.getvalue()


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(argv=argvs())
def test_cli_fuzz(argv: list[str], tmp_path_factory: pytest.TempPathFactory) -> None:
    tmp = tmp_path_factory.mktemp("fuzz")
    _workdir(tmp)
    before = sorted(p.name for p in tmp.rglob("*"))
    old = Path.cwd()
    os.chdir(tmp)
    try:
        code, err = _run(argv)
    finally:
        os.chdir(old)
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    if code != 0:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert lines and len(lines[-1]) <= MAX_MESSAGE + 40, (argv, err)
        assert sorted(p.name for p in tmp.rglob("*")) == before, argv


HOSTILE = [
    ["simulate", "--local", "normal(" + "-" * 2000 + "1,1)", "--n-local", "2",
     "--global", "normal(0,1)", "--n-global", "2", "--reps", "10"],
    ["simulate", "--local", "normal(" + "-" * 10_000 + "1,1)", "--n-local", "2",
     "--global", "normal(0,1)", "--n-global", "2", "--reps", "10"],
    ["simulate", "--local", "normal(0,1)", "--n-local", "2", "--global", "normal(0,1)",
     "--n-global", "2", "--reps", "9223372036854775808"],
    ["simulate", "--local", "normal(0,1)", "--n-local", "18446744073709551616",
     "--global", "normal(0,1)", "--n-global", "2", "--reps", "10"],
    ["weight", "--var-local", "1", "--var-global", "1", "--bias", "-1e-3", "--cov", "-1e-2"],
    ["weight", "--var-local", "1e400", "--var-global", "1", "--bias", "0"],
]


@pytest.mark.parametrize("argv", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_argv_through_the_console_script(argv: list[str], tmp_path: Path) -> None:
    """The listed hostile inputs, through the real entry point in a fresh process."""
    proc = subprocess.run([sys.executable, "-m", "modelavg_sym", *argv], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 2), proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr) <= MAX_MESSAGE + 80
    assert list(tmp_path.iterdir()) == []


def test_negative_numbers_in_scientific_notation_are_values() -> None:
    code, err = _run(["weight", "--var-local", "1", "--var-global", "1", "--bias", "-1e-3",
                      "--cov", "-2E-1"])
    assert code == 0, err


def test_broken_pipe_is_quiet(tmp_path: Path) -> None:
    """``modelavg-sym weight ... | head -1``: no BrokenPipeError traceback."""
    cmd = (f"{sys.executable} -m modelavg_sym weight --var-local 1 --var-global 0.5 "
           "--bias 0.3 | head -c 1")
    proc = subprocess.run(["bash", "-c", f"set -o pipefail; {cmd}"], capture_output=True,
                          text=True, timeout=60)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
