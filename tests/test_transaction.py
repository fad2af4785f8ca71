"""regenerate is transactional: an interrupted change leaves the old tree, a second
concurrent run is refused, stray temporary files are reported and removed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelavg_sym.artifacts import writer
from modelavg_sym.artifacts.runcache import Artifact
from modelavg_sym.runtime import transaction as tx


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _old_tree(root: Path) -> dict[str, bytes]:
    files = {"reports/a.txt": b"old a", "reports/b.txt": b"old b", "reports/gone.txt": b"x"}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def test_apply_changes_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = _old_tree(tmp_path)
    real_move = tx._move
    calls = {"n": 0}

    def interrupted(root: Path, txn: Path, op: dict) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # after two files were swapped in
            raise KeyboardInterrupt
        real_move(root, txn, op)

    monkeypatch.setattr(tx, "_move", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tx.apply_changes(tmp_path, {"reports/a.txt": b"new a", "reports/c.txt": b"new c",
                                    "reports/b.txt": b"new b"}, ["reports/gone.txt"])
    assert _tree(tmp_path) == old  # rolled back, nothing staged left behind
    monkeypatch.setattr(tx, "_move", real_move)
    tx.apply_changes(tmp_path, {"reports/a.txt": b"new a", "reports/c.txt": b"new c"},
                     ["reports/gone.txt"])
    assert _tree(tmp_path) == {"reports/a.txt": b"new a", "reports/b.txt": b"old b",
                               "reports/c.txt": b"new c"}


def test_a_killed_change_is_rolled_back_by_the_next(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """kill -9 in the middle: the journal stays; recover() restores the old tree."""
    old = _old_tree(tmp_path)

    real_move = tx._move

    def killed(root: Path, txn: Path, op: dict) -> None:
        if op["path"] == "reports/b.txt":
            raise SystemExit  # the process vanishes here (no rollback: see below)
        real_move(root, txn, op)

    monkeypatch.setattr(tx, "recover", lambda root: False)  # no in-process rollback
    monkeypatch.setattr(tx, "_move", killed)
    with pytest.raises(SystemExit):
        tx.apply_changes(tmp_path, {"reports/a.txt": b"new", "reports/b.txt": b"new"}, [])
    monkeypatch.undo()
    assert tx.pending(tmp_path)
    arts = [Artifact(rel, "g", "h", (lambda d=d: d)) for rel, d in old.items()]
    assert "interrupted regenerate" in writer.check_report(writer.plan(arts, tmp_path))
    assert tx.recover(tmp_path)
    assert _tree(tmp_path) == old and not tx.pending(tmp_path)


def test_lock_refuses_a_second_writer(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; "
        "from modelavg_sym.runtime.transaction import Lock\n"
        f"with Lock(Path({str(tmp_path)!r})):\n"
        "    print('held', flush=True); time.sleep(30)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(tx.Busy, match=f"pid {holder.pid}"), tx.Lock(tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait()
    with tx.Lock(tmp_path):  # the holder is gone: its stale lock is taken over
        assert (tmp_path / tx.LOCK_NAME).read_text() == str(os.getpid())
    assert not (tmp_path / tx.LOCK_NAME).exists()


def test_stray_temporary_files_are_reported_and_removed(tmp_path: Path) -> None:
    _old_tree(tmp_path)
    stray = tmp_path / "reports" / ".a.txt.k2j3h4.tmp"
    stray.write_bytes(b"half")
    arts = [Artifact("reports/a.txt", "g", "h", lambda: b"old a")]
    p = writer.plan(arts, tmp_path)
    assert "reports/.a.txt.k2j3h4.tmp" in writer.check_report(p)
    writer.apply(p, tmp_path)
    assert not stray.exists()


@pytest.mark.slow
def test_sigint_during_regenerate_leaves_the_old_tree(tmp_path: Path) -> None:
    """A real regenerate interrupted with SIGINT: exit 130 quickly, old tree intact."""
    import shutil

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "out"
    for tree in ("derivations", "reports"):
        shutil.copytree(root / tree, out / tree)
    before = _tree(out)
    proc = subprocess.Popen([sys.executable, "-m", "modelavg_sym", "regenerate", "--out",
                             str(out), "--no-verify", "--quiet", "--notation", "sigma",
                             "--cache-dir", str(tmp_path / "cache")],
                            stderr=subprocess.PIPE, text=True)
    time.sleep(3)  # deriving: the cache is empty
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert time.monotonic() - t0 < 5
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert _tree(out) == before
    assert not tx.pending(out) and not (out / tx.LOCK_NAME).exists()
