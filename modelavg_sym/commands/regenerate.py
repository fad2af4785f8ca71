"""``modelavg-sym regenerate``: the main job.

Regenerates derivations/ (a Markdown page and a JSON record per derivation) and reports/
(report.md, LaTeX equations, macros and a standalone document, figures, verification
table, compiled sources, manifest), re-verifying every theorem whose content changed.

The output root defaults to the project root (the nearest directory at or above the
current one whose pyproject.toml names ``modelavg-sym``; the current directory if there is
none); ``--out DIR`` writes elsewhere.  ``--check`` writes nothing (no artifact, no cache entry)
and exits 1, with a unified diff and the command that fixes it, when anything is stale,
missing or orphaned.  Only files regenerate made (listed in the previous manifest, or
carrying the generated banner) are ever removed.  Verification results and
rendered files are cached by content hash in ``.modelavg-cache/`` at the project root
(override with ``--cache-dir`` or ``MODELAVG_SYM_CACHE``; ``--no-cache`` disables it).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from modelavg_sym.runtime.transaction import Lock


def add_arguments(p: argparse.ArgumentParser) -> None:
    from modelavg_sym.verify.profiles import PROFILES

    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 listing stale, missing and orphaned files")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="output root (default: the project root)")
    p.add_argument("--notation", metavar="SPEC", default=None,
                   help="notation preset and overrides, e.g. 'sigma' or 'default,a=\\alpha' "
                        "(default: [tool.modelavg-sym.notation] in pyproject.toml)")
    p.add_argument("--profile", choices=sorted(PROFILES), default="ci",
                   help="verification profile (default: ci)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="verification worker processes (default: CPU count, at most 4)")
    p.add_argument("--cache-dir", metavar="DIR", default=None,
                   help="content-hash cache (default: .modelavg-cache in the project root)")
    p.add_argument("--no-cache", action="store_true", help="recompute everything")
    p.add_argument("--no-verify", action="store_true",
                   help="skip verification (statuses 'not-run'; for quick previews, fails --check)")
    p.add_argument("--quiet", action="store_true", help="print only errors and the summary")


def resolve_paths(args: argparse.Namespace) -> tuple[Path, Path, Path | None]:
    """(project root or cwd, output root, cache dir or None)."""
    from modelavg_sym.artifacts.runcache import find_project_root

    root = find_project_root() or Path.cwd().resolve()
    out = Path(args.out).resolve() if args.out else root
    if args.no_cache:
        cache = None
    else:
        env = os.environ.get("MODELAVG_SYM_CACHE")
        cache = Path(args.cache_dir or env or root / ".modelavg-cache").resolve()
    return root, out, cache


def _require_directory(option: str, path: Path) -> None:
    """``path`` must be a directory or creatable as one: it and every existing ancestor
    must be directories.  Raises ValueError naming ``option``."""
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                what = "is" if p == path else f"is under {p}, which is"
                raise ValueError(f"{option} must be a directory; {path} {what} not a directory")
            return


def fix_command(args: argparse.Namespace) -> str:
    """The ``regenerate`` command line that fixes what ``--check`` found (the options
    that select the output: --out, --notation, --profile, --no-verify)."""
    parts = ["modelavg-sym", "regenerate"]
    if args.out:
        parts += ["--out", str(args.out)]
    if args.notation is not None:
        parts += ["--notation", args.notation]
    if args.profile != "ci":
        parts += ["--profile", args.profile]
    if getattr(args, "no_verify", False):
        parts.append("--no-verify")
    return " ".join(shlex.quote(p) for p in parts)


@contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[str], None] | None]:
    """A spinner with the current step on a terminal; otherwise only the slow step
    (verification) is announced, on one line of stderr."""
    if quiet:
        yield None
        return
    from modelavg_sym.runtime.progress import Progress

    with Progress("regenerate") as spinner:
        if spinner.active:
            yield spinner.note
            return

        def plain(msg: str) -> None:
            if msg.startswith("verifying "):
                print(f"regenerate: {msg}", file=sys.stderr, flush=True)

        yield plain


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except OSError as exc:  # unwritable output, a file where a directory belongs, ...
        where = f": {exc.filename}" if exc.filename else ""
        raise ValueError(f"{exc.strerror or exc}{where}") from exc


def _run(args: argparse.Namespace) -> int:
    paths = resolve_paths(args)
    _root, out, cache = paths
    _require_directory("--out", out)
    if cache is not None:
        _require_directory("--cache-dir" if args.cache_dir else "the cache directory", cache)
    if args.check:  # writes nothing: no lock needed
        return _generate(args, paths)
    out.mkdir(parents=True, exist_ok=True)
    with Lock(out):  # a second regenerate into the same tree is refused, not interleaved
        return _generate(args, paths)


def _build(args: argparse.Namespace, root: Path, out: Path, cache: Path | None, key: str | None,
           progress: Callable[[str], None] | None, write_cache: bool):
    """Derive, verify and render every artifact (the derivation engine is loaded here);
    record the run under ``key``.  Returns (artifacts, failed theorems, plan)."""
    from modelavg_sym.artifacts import notation as nt
    from modelavg_sym.artifacts.build import collect, make_context
    from modelavg_sym.artifacts.runcache import store_run
    from modelavg_sym.artifacts.writer import plan

    notation = (nt.parse_spec(args.notation) if args.notation is not None
                else nt.from_pyproject(root / "pyproject.toml"))
    # The committed verification record may seed the verdict cache (its entries are keyed
    # by the hashes of the theorem and of the code that checks it); --no-cache re-verifies
    # every theorem instead, so a record is never evidence of itself there.
    seeds = () if args.no_cache else tuple(dict.fromkeys(
        [out / "reports" / "verification.json", root / "reports" / "verification.json"]))
    ctx = make_context(notation, out, args.profile, cache, seeds, args.jobs, progress,
                       verify=not args.no_verify, write_cache=write_cache)
    arts = collect(ctx)
    p = plan(arts, out, cache, progress, write_cache=write_cache)
    failed = sorted(k for k, v in ctx.summaries.items() if v == "failed")
    if cache and key and write_cache:
        store_run(cache, key, arts, failed)
    return arts, failed, p


def _generate(args: argparse.Namespace, paths: tuple[Path, Path, Path | None]) -> int:
    """Plan (and, without --check, apply) a run into ``paths`` (:func:`resolve_paths`).  A
    run whose inputs are those of a recorded run
    (:func:`~modelavg_sym.artifacts.runcache.run_key`: package sources, versions, notation,
    options) is served from the run cache without loading the derivation engine (no sympy
    import): a warm run costs start-up, hashing and comparing."""
    from modelavg_sym.artifacts.runcache import (
        CacheMiss,
        load_run,
        notation_inputs_key,
        run_key,
    )
    from modelavg_sym.artifacts.writer import apply, check_report, plan

    if args.jobs is not None and args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    if importlib.util.find_spec("matplotlib") is None:
        raise ValueError("the figures need matplotlib: pip install 'modelavg-sym[figures]'")
    t0 = time.perf_counter()
    root, out, cache = paths
    # --check writes nothing: the cache is read (hits are used) but never written.
    write_cache = not args.check
    key = (run_key(notation_inputs_key(args.notation, root / "pyproject.toml"), args.profile,
                   not args.no_verify, out) if cache else None)
    cached = load_run(cache, key) if cache and key else None
    with _progress(args.quiet) as progress:
        p = None
        if cached is not None:  # nothing changed since a recorded run: reuse its bytes
            arts, failed = cached
            try:
                p = plan(arts, out, None, progress)
            except CacheMiss:  # a blob a changed file needs is gone: build after all
                p = None
        if p is None:
            arts, failed, p = _build(args, root, out, cache, key, progress, write_cache)
    secs = time.perf_counter() - t0
    if failed:
        print(f"regenerate: warning: {len(failed)} theorem(s) failed verification: "
              f"{', '.join(failed)} (see reports/report.md)", file=sys.stderr)
    if p.unmanaged and not args.quiet:
        print(f"regenerate: {len(p.unmanaged)} file(s) not made by regenerate left alone: "
              f"{', '.join(p.unmanaged)}", file=sys.stderr)
    if args.check:
        fix = fix_command(args)
        msg = check_report(p, fix)
        if msg:
            print(msg, end="")
            print(f"regenerate --check: {len(p.stale)} stale, {len(p.missing)} missing, "
                  f"{len(p.orphans)} orphaned under {out}; fix with `{fix}`",
                  file=sys.stderr)
            return 1
        if not args.quiet:
            print(f"regenerate --check: all {len(arts)} generated files under {out} are current "
                  f"({secs:.1f} s)")
        return 0
    changed = [x[0] for x in p.missing] + [x[0] for x in p.stale]
    lines = apply(p, out)
    if any(path.endswith("numeric/_cscalar.c") for path in changed):
        print("regenerate: the C extension's source changed; rebuild it with `pip install -e .` "
              "(until then scalar calls take the exact integer path)", file=sys.stderr)
    if not args.quiet:
        for line in lines:
            print(line)
    print(f"regenerate: {len(p.missing)} added, {len(p.stale)} updated, {len(p.orphans)} removed, "
          f"{len(p.unchanged)} unchanged under {out} ({time.perf_counter() - t0:.1f} s)")
    return 0
