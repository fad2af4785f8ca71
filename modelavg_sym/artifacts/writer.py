"""Write artifacts into an output root, or check that it is current (SymForce's golden
check): atomic writes, orphan removal, and a unified diff naming the fixing command.

Only ``derivations/`` and ``reports/`` under the output root are touched; files matching
:data:`modelavg_sym.artifacts.build.EXCLUDED` (``reports/benchmarks.md``, pdflatex output)
are neither compared nor removed.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .build import ROOTS, Artifact, is_excluded

FIX_COMMAND = "modelavg-sym regenerate"
_TEXT_SUFFIXES = {".md", ".json", ".tex", ".txt", ".py"}
#: At most this many diff lines per stale file in --check output.
MAX_DIFF_LINES = 80


@dataclass
class Plan:
    """What a write would change: relative paths with their new bytes, and orphans."""

    missing: list[tuple[str, bytes]] = field(default_factory=list)
    stale: list[tuple[str, bytes, bytes]] = field(default_factory=list)  # path, old, new
    unchanged: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.orphans)


def existing_files(out_root: Path) -> list[str]:
    """Relative posix paths of every file under the owned roots (sorted)."""
    found: list[str] = []
    for root in ROOTS:
        base = out_root / root
        if not base.is_dir():
            continue
        for dirpath, _dirs, files in os.walk(base):
            for f in files:
                found.append((Path(dirpath) / f).relative_to(out_root).as_posix())
    return sorted(found)


def plan(arts: Sequence[Artifact], out_root: Path, cache_dir: Path | None = None,
         progress: Callable[[str], None] | None = None) -> Plan:
    """Compare fresh artifacts with the files under ``out_root``."""
    p = Plan()
    wanted = {a.path for a in arts}
    for a in arts:
        new = a.content(cache_dir)
        if progress:
            progress(a.path)
        target = out_root / a.path
        if not target.is_file():
            p.missing.append((a.path, new))
            continue
        old = target.read_bytes()
        if old == new:
            p.unchanged.append(a.path)
        else:
            p.stale.append((a.path, old, new))
    p.orphans = [f for f in existing_files(out_root) if f not in wanted and not is_excluded(f)]
    return p


def atomic_write(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file in the same directory and
    ``os.replace`` (readers never see a partial file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def apply(p: Plan, out_root: Path) -> list[str]:
    """Write missing and stale files, remove orphans (and emptied directories).

    Returns one line per change (``added``, ``updated``, ``removed``).
    """
    lines: list[str] = []
    for path, new in p.missing:
        atomic_write(out_root / path, new)
        lines.append(f"added    {path}")
    for path, _old, new in p.stale:
        atomic_write(out_root / path, new)
        lines.append(f"updated  {path}")
    for path in p.orphans:
        (out_root / path).unlink()
        lines.append(f"removed  {path}")
        parent = (out_root / path).parent
        while parent != out_root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    return sorted(lines, key=lambda s: s[9:])


def _digest(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()[:12]


def diff(path: str, old: bytes, new: bytes, max_lines: int = MAX_DIFF_LINES) -> str:
    """Unified diff (text files) or a one-line hash comparison (binary files)."""
    if Path(path).suffix in _TEXT_SUFFIXES:
        try:
            a = old.decode("utf-8").splitlines(keepends=True)
            b = new.decode("utf-8").splitlines(keepends=True)
        except UnicodeDecodeError:
            pass
        else:
            lines = list(difflib.unified_diff(a, b, f"committed/{path}", f"fresh/{path}", n=2))
            lines = [ln if ln.endswith("\n") else ln + "\n" for ln in lines]
            if len(lines) > max_lines:
                lines = [*lines[:max_lines], f"... ({len(lines) - max_lines} more diff lines)\n"]
            return "".join(lines)
    return (f"binary file {path} differs: committed sha256 {_digest(old)}, "
            f"fresh sha256 {_digest(new)}\n")


def check_report(p: Plan) -> str:
    """The ``--check`` message: stale, missing and orphaned files, diffs, and the fix."""
    if p.clean:
        return ""
    out = ["generated artifacts are out of date:"]
    out += [f"  stale    {path}" for path, _o, _n in p.stale]
    out += [f"  missing  {path}" for path, _n in p.missing]
    out += [f"  orphaned {path}" for path in p.orphans]
    out.append("")
    for path, old, new in p.stale:
        out.append(diff(path, old, new).rstrip("\n"))
    out.append("")
    out.append(f"run `{FIX_COMMAND}` to update them (it also removes orphaned files).")
    return "\n".join(out) + "\n"
