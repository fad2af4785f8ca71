"""The package's own source files and their content hash (no sympy: a warm ``regenerate``
computes its run key from this without importing the derivation engine).

The hash keys the verdict cache (minus the presentation subpackages, which cannot change
a verdict), the render cache and the whole-run cache of ``regenerate``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from modelavg_sym.runtime.store import stable_hash

PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: Package subdirectories that cannot change a verification verdict.
PRESENTATION = ("artifacts", "commands")
#: The files that make up the package: its code and its data (the package's own setting
#: files, ``settings/*.toml``, are read by the derivations).
SUFFIXES = ("*.py", "*.toml")


def _is_generated_cache(rel_parts: tuple[str, ...]) -> bool:
    """``__pycache__`` (bytecode, numba's cache files), hidden directories and hidden files
    (editor lock files, temporary files of atomic writes)."""
    return any(part == "__pycache__" or part.startswith(".") for part in rel_parts)


def package_sources(package_dir: Path | None = None) -> list[Path]:
    """Every ``*.py`` and ``*.toml`` file of the package, whether git tracks it or not (an
    untracked provider module can change a verdict), minus ``__pycache__`` and hidden
    files.

    Sorted as paths, so the list depends only on relative paths: a fresh clone, where every
    file is tracked, hashes to the same value as the working tree it was committed from.
    """
    root = package_dir or PACKAGE_DIR
    return sorted(p for pattern in SUFFIXES for p in root.rglob(pattern)
                  if p.is_file() and not _is_generated_cache(p.relative_to(root).parts))


def source_hash(exclude: Iterable[str] = PRESENTATION, package_dir: Path | None = None) -> str:
    """Hash of the package's sources (:func:`package_sources`: relative posix path and
    content with newlines normalised, in sorted path order), minus the ``exclude``
    subpackages.  It depends on file contents and relative paths only."""
    root = package_dir or PACKAGE_DIR
    excl = tuple(exclude)
    parts: list[str] = []
    for p in package_sources(root):
        rel = p.relative_to(root).as_posix()
        if rel.split("/", 1)[0] in excl:
            continue
        parts += [rel, p.read_text(encoding="utf-8").replace("\r\n", "\n")]
    return stable_hash(*parts)
