"""The generated modules of the numeric layer: their paths, their sources, and writing or
checking them (the whole artifact set is written by ``modelavg-sym regenerate``; this is
the quick path for just these files, ``python -m modelavg_sym.codegen``)."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path

from modelavg_sym.codegen import cext, estimators, fused, python
from modelavg_sym.runtime.atomic import atomic_write

#: Repo-relative path of each generated module -> the function that prints it.
GENERATED: dict[str, Callable[[], str]] = {
    "modelavg_sym/numeric/_generated.py": python.module_source,
    "modelavg_sym/numeric/_fastkernels.py": fused.module_source,
    estimators.GENERATED_PATH: estimators.module_source,
    cext.GENERATED_PATH: cext.module_source,
}


def generated_sources() -> dict[str, str]:
    """Repo-relative path -> source text of every generated module (deterministic)."""
    return {path: fn() for path, fn in GENERATED.items()}


def package_root() -> Path:
    """The directory that holds the ``modelavg_sym`` package (a checkout's root)."""
    return Path(__file__).resolve().parents[2]


def write_generated(root: Path | None = None) -> list[Path]:
    """Write every generated module under ``root`` (default: :func:`package_root`), each
    atomically (:func:`~modelavg_sym.runtime.atomic.atomic_write`), and only when its text
    changed; returns the paths written."""
    root = root or package_root()
    written = []
    for rel, text in generated_sources().items():
        target = root / rel
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        atomic_write(target, text)
        written.append(target)
    return written


def stale_generated(root: Path | None = None) -> str:
    """A unified diff of every generated module under ``root`` that differs from a fresh
    generation (empty when all are current)."""
    root = root or package_root()
    out = []
    for rel, text in generated_sources().items():
        target = root / rel
        old = target.read_text(encoding="utf-8") if target.is_file() else ""
        if old != text:
            out += difflib.unified_diff(old.splitlines(keepends=True),
                                        text.splitlines(keepends=True),
                                        f"committed/{rel}", f"fresh/{rel}", n=2)
    return "".join(out)
