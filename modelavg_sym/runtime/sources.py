"""The package's own source files and their content hash (no sympy: a warm ``regenerate``
computes its run key from this without importing the derivation engine).

The hash keys the verdict cache (minus the presentation subpackages, which cannot change
a verdict), the render cache and the whole-run cache of ``regenerate``.
"""

from __future__ import annotations

import fnmatch
import os
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


def _walk_sources(root: Path) -> list[tuple[tuple[str, ...], str]]:
    """(relative path parts, absolute path) of every package source under ``root``, in
    :func:`package_sources` order.  One ``os.scandir`` walk with string paths (the two
    ``Path.rglob`` passes it replaces cost more than reading the files): like ``rglob`` it
    does not descend into symbolic links to directories and takes a file, or a symbolic
    link to one, whose name matches :data:`SUFFIXES`; hidden and ``__pycache__``
    directories are not entered, since nothing under them is a source."""
    found: list[tuple[tuple[str, ...], str]] = []
    stack: list[tuple[str, tuple[str, ...]]] = [(str(root), ())]
    while stack:
        path, parts = stack.pop()
        with os.scandir(path) as entries:
            for e in entries:
                name = e.name
                if _is_generated_cache((name,)):
                    continue
                if e.is_dir() and not e.is_symlink():
                    stack.append((e.path, (*parts, name)))
                elif any(fnmatch.fnmatchcase(name, pat) for pat in SUFFIXES) and e.is_file():
                    found.append(((*parts, name), e.path))
    found.sort()  # by parts, as Path objects sort
    return found


def package_sources(package_dir: Path | None = None) -> list[Path]:
    """Every ``*.py`` and ``*.toml`` file of the package, whether git tracks it or not (an
    untracked provider module can change a verdict), minus ``__pycache__`` and hidden
    files.

    Sorted as paths, so the list depends only on relative paths: a fresh clone, where every
    file is tracked, hashes to the same value as the working tree it was committed from.
    """
    return [Path(path) for _parts, path in _walk_sources(package_dir or PACKAGE_DIR)]


def source_hash(exclude: Iterable[str] = PRESENTATION, package_dir: Path | None = None) -> str:
    """Hash of the package's sources (:func:`package_sources`: relative posix path and
    content with newlines normalised, in sorted path order), minus the ``exclude``
    subpackages.  It depends on file contents and relative paths only.

    Each file is read once, as bytes: decoding (which checks UTF-8, as reading text did)
    and universal newlines (``\r\n`` and ``\r`` become ``\n``) give the text the hash
    has always been of."""
    excl = tuple(exclude)
    parts: list[str] = []
    for rel, path in _walk_sources(package_dir or PACKAGE_DIR):
        if rel[0] in excl:
            continue
        with open(path, "rb") as fh:
            data = fh.read()
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        parts += ["/".join(rel), data.decode("utf-8")]
    return stable_hash(*parts)
