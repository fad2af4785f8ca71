"""Changing many files as one: a lock against concurrent writers and a journal that makes
an interrupted change roll back.

:func:`apply_changes` stages every new file under ``<root>/.modelavg-txn/new/``, then
writes a journal (the commit point), then moves the old files aside into
``.modelavg-txn/old/`` and the staged files into place, each by one ``os.replace``.  Until
the journal is removed, the change can be undone: an exception (``KeyboardInterrupt``
included) rolls it back at once, and a process killed outright leaves the journal, which
the next :func:`apply_changes` or :func:`recover` rolls back.  Either way the tree is the
old one or the new one, never a mixture.

:class:`Lock` is an ``O_EXCL`` lock file holding the owner's pid; a lock whose owner no
longer runs is taken over.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.runtime.atomic import atomic_write

#: Working directory of a change, at the root of the tree it changes.
TXN_DIR = ".modelavg-txn"
#: The lock file, at the root of the tree.
LOCK_NAME = ".modelavg-regenerate.lock"
_JOURNAL = "journal.json"


class Busy(InvalidParameterError):
    """Another process holds the lock on the tree."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class Lock:
    """``with Lock(root):`` excludes every other holder of the lock on ``root``.

    Raises :class:`Busy` (a ValueError) naming the holder's pid when a live process holds
    it; a stale lock (its process has ended) is removed and taken.
    """

    def __init__(self, root: Path, what: str = "regenerate") -> None:
        self.path = Path(root) / LOCK_NAME
        self.what = what

    def __enter__(self) -> Lock:
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder is not None and _alive(holder) and holder != os.getpid():
                    raise Busy("--out", f"is being written by another {self.what} "
                               f"(pid {holder}); wait for it or remove {self.path} "
                               "if that process is gone") from None
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(str(os.getpid()))
            return self
        raise Busy("--out", f"could not take the lock {self.path}")

    def _holder(self) -> int | None:
        try:
            return int(self.path.read_text().strip() or "0") or None
        except (OSError, ValueError):
            return None

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def pending(root: Path) -> bool:
    """True when an interrupted change left its working directory under ``root``."""
    return (Path(root) / TXN_DIR).exists()


def recover(root: Path) -> bool:
    """Roll back an interrupted change under ``root`` (call with the lock held).

    Returns True if there was one.  Without a journal nothing had been moved yet: the
    staged files are simply discarded.
    """
    txn = Path(root) / TXN_DIR
    if not txn.exists():
        return False
    journal = txn / _JOURNAL
    if journal.is_file():
        ops = json.loads(journal.read_text(encoding="utf-8"))
        _roll_back(Path(root), txn, ops)
    shutil.rmtree(txn)
    return True


def _roll_back(root: Path, txn: Path, ops: Sequence[Mapping[str, object]]) -> None:
    """Undo the moves of a journal in reverse order (idempotent)."""
    for op in reversed(ops):
        rel = str(op["path"])
        target, old = root / rel, txn / "old" / rel
        if old.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(old, target)
        elif not op["existed"] and target.exists() and op["kind"] == "write":
            target.unlink()


def apply_changes(root: Path, writes: Mapping[str, bytes], removals: Sequence[str]) -> None:
    """Write ``writes`` (relative path -> bytes) and remove ``removals`` under ``root`` as
    one change: all of it or none of it (see the module docstring)."""
    root = Path(root)
    recover(root)
    txn = root / TXN_DIR
    try:
        for rel, data in writes.items():
            staged = txn / "new" / rel
            staged.parent.mkdir(parents=True, exist_ok=True)
            staged.write_bytes(data)
        ops = [{"kind": "write", "path": rel, "existed": (root / rel).exists()}
               for rel in writes]
        ops += [{"kind": "remove", "path": rel, "existed": True} for rel in removals]
        atomic_write(txn / _JOURNAL, json.dumps(ops))  # the commit point
        for op in ops:
            _move(root, txn, op)
    except BaseException:
        recover(root)
        raise
    shutil.rmtree(txn)


def _move(root: Path, txn: Path, op: Mapping[str, object]) -> None:
    rel = str(op["path"])
    target = root / rel
    if op["existed"]:
        old = txn / "old" / rel
        old.parent.mkdir(parents=True, exist_ok=True)
        os.replace(target, old)
    if op["kind"] == "write":
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(txn / "new" / rel, target)


@contextlib.contextmanager
def locked(root: Path, what: str = "regenerate") -> Iterator[None]:
    """Hold the lock on ``root`` for the body."""
    with Lock(root, what):
        yield
