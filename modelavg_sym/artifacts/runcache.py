"""The artifact record and the caches of ``regenerate`` that need no derivation: an
:class:`Artifact` (path, generator, input hash, lazily rendered bytes), the render cache,
and the whole-run cache (:func:`run_key`, :func:`store_run`, :func:`load_run`).

No sympy here: a warm run (nothing changed since a recorded run) is served from this module
and :mod:`modelavg_sym.artifacts.writer` alone; :mod:`modelavg_sym.artifacts.build`
assembles the artifacts when something did change.
"""

from __future__ import annotations

import fnmatch
import json
import os
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelavg_sym.runtime.sources import source_hash
from modelavg_sym.runtime.store import ContentStore, content_hash, stable_hash

#: Files (fnmatch patterns) in derivations/ and reports/ that regenerate neither compares
#: nor removes: the benchmark report (timings vary) and pdflatex's build products.
EXCLUDED: tuple[str, ...] = (
    "reports/benchmarks.md",
    "reports/latex/*.aux", "reports/latex/*.log", "reports/latex/*.out",
    "reports/latex/*.pdf", "reports/latex/*.toc",
)


def is_excluded(path: str) -> bool:
    """True if ``path`` matches :data:`EXCLUDED` (``*`` within one directory: the figures
    in ``reports/latex/figures/`` are artifacts)."""
    return any(fnmatch.fnmatchcase(path, pat) and path.count("/") == pat.count("/")
               for pat in EXCLUDED)
MANIFEST = "reports/manifest.json"
#: Top-level directories regenerate owns.
ROOTS: tuple[str, ...] = ("derivations", "reports")


class CacheMiss(Exception):
    """A recorded run's content blob is missing or does not match its digest: the run
    cannot be served from the cache (``regenerate`` then builds the artifacts)."""


@dataclass
class Artifact:
    """One generated file: where, by which function, from which inputs, and how.

    ``digest`` and ``size`` (the sha256 and length of the content) are known without the
    content for an artifact of a recorded run (:func:`load_run`): the writer compares a
    file with them and reads the content (the ``render`` of such an artifact loads and
    checks its blob, raising :class:`CacheMiss`) only when the file differs.
    """

    path: str
    generator: str
    input_hash: str
    render: Callable[[], bytes]
    _content: bytes | None = field(default=None, repr=False)
    digest: str | None = None
    size: int | None = None

    def content(self, cache_dir: Path | None = None, write_cache: bool = True) -> bytes:
        """The file's bytes, from the render cache when its inputs and the code are unchanged
        (``write_cache=False``: a miss is rendered but not stored)."""
        if self._content is not None:
            return self._content
        store = key = None
        if cache_dir is not None:
            store = render_store(cache_dir)
            key = stable_hash(self.path, self.generator, self.input_hash, _render_source_hash())
            self._content = store.get(key)
            if self._content is not None:
                return self._content
        self._content = self.render()
        if store is not None and key is not None and write_cache:
            store.put(key, self._content)
        return self._content


_RENDER_SOURCE: list[str] = []


def _render_source_hash() -> str:
    if not _RENDER_SOURCE:
        _RENDER_SOURCE.append(source_hash(exclude=()))
    return _RENDER_SOURCE[0]


# ----------------------------------------------------------------------- run-level cache
#
# A warm run should not even re-derive: when the package sources, the configuration and
# the library versions are those of a previous run, its artifacts are the same bytes.  The
# run record maps each path to the sha256 of its content (stored as a blob in the cache).

_RUN_FORMAT = "2"  # 2: entries carry the content's size
_VERSIONED = ("sympy", "numpy", "matplotlib", "mpmath", "hypothesis", "z3-solver", "lark")


def _versions(dists: tuple[str, ...]) -> list[str]:
    """``name=version`` of each distribution (``none`` when not installed).  Read from the
    ``<name>-<version>.dist-info`` directory names on ``sys.path`` (what
    :func:`importlib.metadata.version` finds first, without its 40 ms import); a name not
    found that way is asked of :mod:`importlib.metadata`."""
    want = {d.lower().replace("-", "_"): d for d in dists}
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for n in names:
            if n.endswith(".dist-info") and "-" in n:
                dist, ver = n[:-len(".dist-info")].rsplit("-", 1)
                key = dist.lower().replace("-", "_").replace(".", "_")
                if key in want and want[key] not in found:
                    found[want[key]] = ver
    out = []
    for d in dists:
        if d not in found:
            from importlib.metadata import PackageNotFoundError, version

            try:
                found[d] = version(d)
            except PackageNotFoundError:
                found[d] = "none"
        out.append(f"{d}={found[d]}")
    return out


def _outside_registrations() -> list[str]:
    """Modules outside the package that registered a derivation, a theorem area or a
    figure in this process.  Only registries already imported are looked at: nothing can
    have been registered in one that was never loaded (so a warm run, which loads none of
    them, stays free of the derivation engine)."""
    mods = sys.modules
    fns: list[Any] = []
    if (reg := mods.get("modelavg_sym.artifacts.registry")) is not None:
        fns += list(reg.derivation_functions())
    if (thm := mods.get("modelavg_sym.theorems")) is not None:
        fns += list(thm.AREAS)
    if (figs := mods.get("modelavg_sym.artifacts.figures")) is not None:
        fns += [f.draw for f in figs.FIGURES]
    return [f.__module__ for f in fns if not f.__module__.startswith("modelavg_sym")]


def run_key(notation_key: str, profile: str, verify: bool, out_root: Path) -> str | None:
    """Content hash of every input of a run (the package's sources, Python and library
    versions, the notation's key, profile, verification on/off, whether a benchmark report
    is present), or ``None`` when something registered from outside the package (a
    derivation, figure or theorem area, as a test may add) makes the package sources an
    incomplete description of the inputs."""
    if _outside_registrations():
        return None
    vers = _versions(_VERSIONED)
    bench = (out_root / "reports" / "benchmarks.md").is_file()
    return stable_hash(_RUN_FORMAT, _render_source_hash(), sys.version, *vers, notation_key,
                       profile, str(verify), str(bench))


def render_store(cache_dir: Path) -> ContentStore:
    """The render cache: ``<cache_dir>/artifacts/<key>``, keyed by an artifact's path,
    generator, input hash and the package sources."""
    return ContentStore(cache_dir / "artifacts")


def _blob_store(cache_dir: Path) -> ContentStore:
    return ContentStore(cache_dir / "blobs")  # keyed by the content's sha256


def _run_store(cache_dir: Path) -> ContentStore:
    return ContentStore(cache_dir / "runs", suffix=".json")  # keyed by run_key


def store_run(cache_dir: Path, key: str, arts: list[Artifact], failed: list[str]) -> None:
    """Record a run: each artifact's path, generator, input hash, content blob (named by
    its sha256) and size."""
    blobs = _blob_store(cache_dir)
    entries = []
    for a in arts:
        data = a.content(cache_dir)
        bk = content_hash(data)
        blobs.put(bk, data, replace=False)
        entries.append({"path": a.path, "generator": a.generator, "input_hash": a.input_hash,
                        "blob": bk, "size": len(data)})
    _run_store(cache_dir).put(key, json.dumps({"artifacts": entries, "failed": failed}))


def load_run(cache_dir: Path, key: str) -> tuple[list[Artifact], list[str]] | None:
    """The artifacts of a recorded run, or ``None`` when there is none (or its record is
    malformed).  Each carries its content's ``digest`` and ``size``; the content itself is
    read from the blob store, and checked against the digest, only when asked for
    (:class:`CacheMiss` if the blob is gone or corrupt), so a run whose files are all
    current reads no blob."""
    try:
        raw = _run_store(cache_dir).get(key)
        if raw is None:
            return None
        data = json.loads(raw.decode("utf-8"))
        blobs = _blob_store(cache_dir)
        arts = []
        for e in data["artifacts"]:
            digest, size = e["blob"], e["size"]
            if not (isinstance(digest, str) and type(size) is int):
                return None
            blobs.path(digest)  # a valid key, or ValueError
            arts.append(Artifact(e["path"], e["generator"], e["input_hash"],
                                 _blob_reader(blobs, digest), digest=digest, size=size))
        return arts, list(data["failed"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _blob_reader(blobs: ContentStore, digest: str) -> Callable[[], bytes]:
    """The content of blob ``digest``, checked against it (:class:`CacheMiss` if not)."""

    def read() -> bytes:
        data = blobs.get(digest)
        if data is None or content_hash(data) != digest:
            raise CacheMiss(f"run cache blob {digest} is missing or corrupt")
        return data

    return read


# ----------------------------------------------------------------------- the project


def find_project_root(start: Path | None = None) -> Path | None:
    """The nearest directory at or above ``start`` (default cwd) whose pyproject.toml
    names the project ``modelavg-sym``; ``None`` if there is none."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        pp = d / "pyproject.toml"
        if pp.is_file():
            try:
                with pp.open("rb") as fh:
                    if tomllib.load(fh).get("project", {}).get("name") == "modelavg-sym":
                        return d
            except (OSError, tomllib.TOMLDecodeError):
                continue
    return None


def notation_inputs_key(spec: str | None, pyproject: Path | None) -> str:
    """A key of what selects the notation, read without building it: the ``--notation``
    value, else the ``[tool.modelavg-sym.notation]`` table of ``pyproject`` (canonical
    JSON).  Equal inputs give equal notations (the presets are package sources, which the
    run key hashes); different spellings of one notation only miss the cache."""
    if spec is not None:
        return "spec:" + spec
    table: object = {}
    if pyproject is not None and pyproject.is_file():
        with pyproject.open("rb") as fh:
            table = tomllib.load(fh).get("tool", {}).get("modelavg-sym", {}).get("notation", {})
    return "pyproject:" + json.dumps(table, sort_keys=True, default=str)
