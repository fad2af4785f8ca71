"""The README's setting files and user property test, and examples/own_setting.py, run as
written (the exact text of the README is what is loaded and executed)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from modelavg_sym import load_setting
from modelavg_sym.cli import main
from modelavg_sym.derive.presentation import check
from modelavg_sym.derive.settingfile import setting_derivation

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## Your own setting", 1)[1].split("\n## ", 1)[0]
TOML = re.findall(r"```toml\n(.*?)```", SECTION, re.S)
PY = re.findall(r"```py\n(.*?)```", SECTION, re.S)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELAVG_CACHE_DIR", str(tmp_path / "cache"))


def test_the_readme_shows_two_setting_files_and_one_user_test() -> None:
    assert len(TOML) == 2 and len(PY) == 1


@pytest.mark.parametrize("index", [0, 1])
def test_readme_setting_files_load_and_their_pages_are_right(index: int, tmp_path: Path
                                                             ) -> None:
    path = tmp_path / "setting.toml"
    path.write_text(TOML[index])
    setting = load_setting(path)
    d = setting_derivation(setting)
    pres = d.presentation()
    assert check(pres, d.results, [s.rhs for s in d.steps]) == []  # type: ignore[arg-type]
    if index == 1:  # K + 1 nodes at the representative K = 3
        assert len(setting.population.n) == 4
        assert any("K + 1 = 4" in n for n in d.notes)


def test_readme_first_setting_derives(tmp_path: Path) -> None:
    path = tmp_path / "three_clusters.toml"
    path.write_text(TOML[0])
    assert main(["derive", str(path), "--out", str(tmp_path / "out"), "--route", "smt"]) == 0
    assert (tmp_path / "out" / "setting_three_clusters.md").exists()


def test_readme_user_property_test_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    (tmp_path / "three_clusters.toml").write_text(TOML[0])
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(PY[0], "README.md", "exec"), namespace)
    tests = [v for k, v in namespace.items() if k.startswith("test_") and callable(v)]
    assert len(tests) == 1
    tests[0]()


def test_example_script_runs(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "own_setting.py"),
                           str(tmp_path)], capture_output=True, text=True, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "a* = 72/113 (exact)" in proc.stdout
    for name in ("setting.toml", "two_clusters_numeric.py", "mse.png", "optimal_weight.tex"):
        assert (tmp_path / name).stat().st_size > 0
    assert "\\begin{equation}" in (tmp_path / "optimal_weight.tex").read_text()
