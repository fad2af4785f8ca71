"""The runtime layer: atomic write, content-hash store, progress bar and process pool, and
the layer's own rule (it imports nothing of the package but ``modelavg_sym.errors``)."""

from __future__ import annotations

import ast
import hashlib
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.runtime import atomic, pool, store
from modelavg_sym.runtime.atomic import atomic_write, is_temporary
from modelavg_sym.runtime.pool import check_workers, parallel_map, process_pool
from modelavg_sym.runtime.progress import Progress
from modelavg_sym.runtime.store import ContentStore, content_hash, stable_hash

PACKAGE = Path(__file__).resolve().parent.parent / "modelavg_sym"

# --------------------------------------------------------------------------- atomic


def test_atomic_write_bytes_and_text(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "f.txt"
    assert atomic_write(target, b"one") == target
    assert target.read_bytes() == b"one"
    atomic_write(target, "twö")
    assert target.read_bytes() == "twö".encode()
    assert stat.S_IMODE(target.stat().st_mode) == atomic.FILE_MODE
    assert os.listdir(target.parent) == ["f.txt"]


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()],
                         ids=["OSError", "KeyboardInterrupt"])
def test_interrupted_write_keeps_old_file_and_leaves_no_temp(tmp_path: Path, monkeypatch,
                                                             exc: BaseException) -> None:
    """An exception in the middle of the write (after the data went into the temporary
    file, before the rename) leaves the old content and removes the temporary file."""
    target = tmp_path / "f.bin"
    atomic_write(target, b"old")
    seen: list[list[str]] = []
    real_fsync = os.fsync

    def fsync_then_fail(fd: int) -> None:
        real_fsync(fd)
        seen.append(sorted(os.listdir(tmp_path)))
        raise exc

    monkeypatch.setattr(os, "fsync", fsync_then_fail)
    with pytest.raises(type(exc)):
        atomic_write(target, b"new" * 1000)
    monkeypatch.undo()
    assert len(seen[0]) == 2 and any(is_temporary(n) for n in seen[0])  # it was mid-write
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_failed_rename_keeps_old_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "f"
    atomic_write(target, b"old")

    def boom(src: object, dst: object) -> None:
        raise OSError("rename refused")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="rename refused"):
        atomic_write(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["f"]


def test_directory_target_is_refused_without_a_temp_file(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError):
        atomic_write(tmp_path / "d", b"x")
    assert os.listdir(tmp_path) == ["d"] and os.listdir(tmp_path / "d") == []


def test_temporary_names() -> None:
    assert is_temporary(".report.md.k3j_x9.tmp")
    for name in ("report.md", ".report.md", "x.tmp", ".gitignore", ".tmp"):
        assert not is_temporary(name), name


# --------------------------------------------------------------------------- store


def test_stable_hash_is_length_prefixed_sha256() -> None:
    """An independent reference: sha256 over len:bytes of each part, first 20 hex digits."""
    ref = hashlib.sha256(b"2:ab1:c").hexdigest()[:20]
    assert stable_hash("ab", "c") == ref
    assert stable_hash("ab", "c") != stable_hash("a", "bc") != stable_hash("abc")
    assert content_hash(b"xyz") == hashlib.sha256(b"xyz").hexdigest()


def test_stable_hash_independent_of_hash_seed() -> None:
    code = "from modelavg_sym.runtime.store import stable_hash; print(stable_hash('a', 'é'))"
    out = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONHASHSEED": seed}, check=True).stdout
           for seed in ("0", "4242")}
    assert out == {stable_hash("a", "é") + "\n"}


def test_store_get_put(tmp_path: Path) -> None:
    s = ContentStore(tmp_path / "cache" / "verify", suffix=".json")
    key = stable_hash("theorem", "route")
    assert s.get(key) is None and key not in s
    assert not (tmp_path / "cache").exists()  # reading creates nothing
    path = s.put(key, '{"status": "proved"}')
    assert path == tmp_path / "cache" / "verify" / f"{key}.json"
    assert s.get(key) == b'{"status": "proved"}' and key in s
    s.put(key, b"replaced")
    assert s.get(key) == b"replaced"
    s.put(key, b"kept?", replace=False)
    assert s.get(key) == b"replaced"
    assert os.listdir(path.parent) == [path.name]


@pytest.mark.parametrize("key", ["", "../escape", "a/b", "a.b", "x" * 129, None, "ké"])
def test_store_rejects_keys_that_are_not_digests(tmp_path: Path, key: object) -> None:
    s = ContentStore(tmp_path)
    for op in (s.get, lambda k: s.put(k, b"x")):
        with pytest.raises(InvalidParameterError) as exc:
            op(key)  # type: ignore[arg-type]
        assert exc.value.parameter == "key"
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- progress


def test_progress_is_a_noop_when_disabled_or_not_a_terminal(capsys) -> None:
    for bar in (Progress("x", 3, enabled=False), Progress("x", 3), Progress("x")):
        with bar:  # capsys' stderr is not a terminal: the default is off
            bar.advance()
            bar.advance(2, description="y")
            bar.note("z")
        assert not bar.active
    assert capsys.readouterr() == ("", "")


def test_progress_is_a_noop_without_rich(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "rich.progress", None)  # import fails
    bar = Progress("x", 2, enabled=True)
    with bar:
        bar.advance()
    assert not bar.active


def test_progress_min_total(monkeypatch) -> None:
    monkeypatch.setattr("modelavg_sym.runtime.progress.stderr_is_tty", lambda: True)
    assert not Progress("x", 3, min_total=16).active
    assert Progress("x", 16, min_total=16).active
    assert Progress("spinner").active


def test_progress_bar_and_spinner_run() -> None:
    pytest.importorskip("rich")
    with Progress("bar", 3, enabled=True) as bar:
        assert bar.active
        bar.advance()
        bar.advance(description="second")
        bar.note("third")
    with Progress("spinner", enabled=True) as spinner:
        assert spinner.active
        spinner.note("working")


# --------------------------------------------------------------------------- pool

_STATE = {"value": 0}


def _read_state(offset: int) -> int:
    return _STATE["value"] + offset


def _fail_on(bad: int, t: int) -> int:
    if t == bad:
        raise ArithmeticError(f"task {t}")
    return t


@pytest.mark.parametrize("workers, start_method", [(1, None), (2, None), (2, "fork")])
def test_parallel_map_order_shared_and_window(workers: int, start_method: str | None) -> None:
    got = list(parallel_map(divmod, 7, lambda t: (t + 2,), shared=(100,), workers=workers,
                            start_method=start_method))
    assert got == [divmod(100, t + 2) for t in range(7)]
    assert list(parallel_map(pow, 9, lambda t: (t, 2), workers=workers, window=1,
                             start_method=start_method)) == [t * t for t in range(9)]


def test_fork_workers_see_state_set_at_run_time() -> None:
    """Why verification asks for fork: the workers inherit what the parent built."""
    _STATE["value"] = 42
    try:
        assert list(parallel_map(_read_state, 3, lambda t: (t,), workers=2,
                                 start_method="fork")) == [42, 43, 44]
    finally:
        _STATE["value"] = 0


def test_task_error_propagates_and_pool_survives() -> None:
    with pytest.raises(ArithmeticError, match="task 3"):
        list(parallel_map(_fail_on, 6, lambda t: (t,), shared=(3,), workers=2))
    assert list(parallel_map(_fail_on, 4, lambda t: (t,), shared=(-1,), workers=2)) == [0, 1,
                                                                                          2, 3]


def test_tasks_are_submitted_lazily() -> None:
    asked: list[int] = []

    def args(t: int) -> tuple[int, int]:
        asked.append(t)
        return (t, 1)

    it = parallel_map(pow, 100, args, workers=2, window=3)
    assert [next(it), next(it)] == [0, 1]
    it.close()
    assert len(asked) <= 5  # at most the window ahead, not all 100 tasks
    assert list(parallel_map(pow, 3, lambda t: (t, 1), workers=2)) == [0, 1, 2]


def test_pools_are_cached_per_worker_count() -> None:
    assert process_pool(2) is process_pool(2)
    assert process_pool(2, "fork") is not process_pool(2, "fork")  # never cached


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2", None, 10**400])
def test_bad_worker_counts(workers: object) -> None:
    with pytest.raises(InvalidParameterError) as exc:
        list(parallel_map(pow, 1, lambda t: (t, 1), workers=workers))  # type: ignore[arg-type]
    assert exc.value.parameter == "workers"
    assert check_workers(3.0) == 3


@pytest.mark.slow
def test_interrupt_stops_workers_at_once() -> None:
    """Ctrl-C while tasks run: KeyboardInterrupt in the parent within a second, the
    workers terminated (not left to finish a 60 s task)."""
    ex = process_pool(2)
    list(parallel_map(pow, 2, lambda t: (t, 1), workers=2))  # workers up
    pids = list(ex._processes)
    timer = threading.Timer(0.5, _interrupt_main)
    t0 = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        list(parallel_map(time.sleep, 4, lambda t: (60,), workers=2))
    assert time.perf_counter() - t0 < 5
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids)
    assert process_pool(2) is not ex  # the stopped pool is not reused
    assert list(parallel_map(pow, 3, lambda t: (t, 2), workers=2)) == [0, 1, 4]


def _interrupt_main() -> None:
    import signal

    os.kill(os.getpid(), signal.SIGINT)  # a real signal: it interrupts a blocking wait


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return True


# --------------------------------------------------------------------------- Dask


@pytest.mark.parametrize("address, want", [
    ("tcp://127.0.0.1:8786", "tcp://127.0.0.1:8786"), ("10.0.0.5:8786", "tcp://10.0.0.5:8786"),
    (" tls://sched.example.org:8786 ", "tls://sched.example.org:8786"),
    ("tcp://[::1]:8786", "tcp://[::1]:8786"), ("inproc://192.168.1.2/123/4", None),
])
def test_scheduler_addresses_accepted(address: str, want: str | None) -> None:
    pytest.importorskip("distributed")
    assert pool.check_scheduler_address(address) == (want or address)


@pytest.mark.parametrize("address", ["garbage", "tcp://", "tcp://host", "tcp://host:0",
                                     "tcp://host:99999", "http://host:8786", "inproc://",
                                     "tcp://a b:1", "", "tcp://:8786", 8786, None])
def test_scheduler_addresses_rejected_naming_the_flag(address: object) -> None:
    pytest.importorskip("distributed")
    with pytest.raises(InvalidParameterError) as exc:
        pool.check_scheduler_address(address, "--scheduler")
    assert exc.value.parameter == "--scheduler" and isinstance(exc.value, ValueError)
    assert "tcp://HOST:PORT" in str(exc.value)


def test_scheduler_that_is_not_dask_fails_within_the_timeout(tmp_path: Path) -> None:
    """A server that accepts TCP but is not Dask (Client alone waits forever)."""
    pytest.importorskip("distributed")
    server = subprocess.Popen([sys.executable, "-m", "http.server", "0", "--bind",
                               "127.0.0.1"], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        line = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N ..."
        port = int(line.split(" port ")[1].split()[0])
        t0 = time.perf_counter()
        with pytest.raises(InvalidParameterError) as exc:
            list(parallel_map(pow, 1, lambda t: (t, 1), scheduler=f"tcp://127.0.0.1:{port}",
                              scheduler_timeout=1.0))
        assert time.perf_counter() - t0 < 10
        assert exc.value.parameter == "scheduler" and "within 1 s" in str(exc.value)
    finally:
        server.terminate()
        server.wait(10)


def test_scheduler_that_does_not_listen_fails_quickly() -> None:
    pytest.importorskip("distributed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    t0 = time.perf_counter()
    with pytest.raises(InvalidParameterError, match="reachable"):
        pool.probe_scheduler(f"tcp://127.0.0.1:{port}", timeout=1.0)
    assert time.perf_counter() - t0 < 10


# --------------------------------------------------------------------------- layering


def _imports(path: Path) -> set[str]:
    """Every module imported anywhere in the file (function bodies included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def test_runtime_imports_only_stdlib_optional_libs_and_errors() -> None:
    allowed_third_party = {"rich", "distributed"}
    files = sorted((PACKAGE / "runtime").glob("*.py"))
    assert {f.name for f in files} >= {"pool.py", "progress.py", "atomic.py", "store.py"}
    for f in files:
        for mod in _imports(f):
            top = mod.split(".")[0]
            if top == "modelavg_sym":
                assert mod.startswith(("modelavg_sym.errors", "modelavg_sym.runtime")), (f, mod)
            else:
                assert top in sys.stdlib_module_names or top in allowed_third_party, (f, mod)


def test_simulation_never_imports_matplotlib() -> None:
    for f in sorted((PACKAGE / "simulation").glob("*.py")):
        assert not any(m.split(".")[0] == "matplotlib" for m in _imports(f)), f


def test_one_home_for_pools_progress_and_atomic_writes() -> None:
    """Outside runtime/, nobody builds a process pool, a rich display or a temp-file rename."""
    needles = ("ProcessPoolExecutor", "os.replace", "mkstemp", "from rich", "import rich",
               "set_forkserver_preload", "distributed import Client")
    for f in sorted(PACKAGE.rglob("*.py")):
        if "runtime" in f.relative_to(PACKAGE).parts:
            continue
        text = f.read_text(encoding="utf-8")
        for needle in needles:
            assert needle not in text, (f, needle)
    assert atomic.__name__ and store.__name__  # the homes


# --------------------------------------------------------------------------- sources


def _reference_sources(root: Path) -> list[Path]:
    """The package's sources as first defined: two ``rglob`` passes, then filtered."""
    from modelavg_sym.runtime.sources import SUFFIXES

    return sorted(p for pattern in SUFFIXES for p in root.rglob(pattern)
                  if p.is_file() and not any(part == "__pycache__" or part.startswith(".")
                                             for part in p.relative_to(root).parts))


def _reference_hash(root: Path, exclude: tuple[str, ...]) -> str:
    parts: list[str] = []
    for p in _reference_sources(root):
        rel = p.relative_to(root).as_posix()
        if rel.split("/", 1)[0] not in exclude:
            parts += [rel, p.read_text(encoding="utf-8").replace("\r\n", "\n")]
    return stable_hash(*parts)


def test_source_walk_and_hash_are_those_of_the_rglob_definition(tmp_path: Path) -> None:
    """:func:`~modelavg_sym.runtime.sources.source_hash` (one scandir walk, binary reads)
    lists and hashes what the two-``rglob`` definition did, so every cache key is kept:
    path order by parts (``a/b.py`` before ``a-b.py``), symbolic links to files in and
    to directories not followed, hidden and ``__pycache__`` entries out, CR and CRLF
    read as newlines, ``exclude`` by top-level directory."""
    from modelavg_sym.runtime import sources

    root = tmp_path / "pkg"
    for rel, data in {"a/b.py": b"x\r\ny\rz\r\r\n", "a-b.py": b"1\n", "a-b/c.py": b"2\n",
                      "A.py": b"3\n", "x.PY": b"4\n", "real/f.toml": b"t = 1\n",
                      ".hid/d.py": b"5\n", ".h.py": b"6\n", "__pycache__/e.py": b"7\n",
                      "commands/g.py": "é = 1\n".encode(), "dir.py/h.py": b"8\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "link").symlink_to(root / "real", target_is_directory=True)
    (root / "g.toml").symlink_to(root / "real" / "f.toml")
    (root / "broken.py").symlink_to(root / "nowhere.py")
    for d in (root, PACKAGE):
        assert sources.package_sources(d) == _reference_sources(d)
        for exclude in ((), sources.PRESENTATION):
            assert sources.source_hash(exclude, d) == _reference_hash(d, exclude)
    assert [p.relative_to(root).as_posix() for p in sources.package_sources(root)] == [
        "A.py", "a/b.py", "a-b/c.py", "a-b.py", "commands/g.py", "dir.py/h.py", "g.toml",
        "real/f.toml"]
