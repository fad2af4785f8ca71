"""``modelavg-sym bench``: run the benchmark suite of a source checkout.

The benchmarks live in ``benchmarks/`` at the project root, next to ``tests/``: they are
development tooling that measures the installed package from outside (and spawns
subprocesses for the regenerate and test-suite timings), so they are not shipped in the
wheel.  This command finds them relative to the package's own location (an editable
install or a plain checkout) and runs ``python -m benchmarks`` in a fresh interpreter with
the project root as working directory, passing the options through; a fresh process also
keeps the 10^7-element arrays and JIT state out of the caller.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path


def project_root() -> Path | None:
    """The checkout containing this package and a ``benchmarks/`` package, or None."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "benchmarks" / "__main__.py").is_file() else None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    p.add_argument("--tests", action="store_true",
                   help="also time the CI test profile of the whole suite (minutes)")
    p.add_argument("--only", metavar="NAMES", default=None,
                   help="comma-separated subset: startup, scalar, kernels, personalize, "
                        "nestimators, simulation, regenerate, tests")
    p.add_argument("--repeats", type=int, default=None, help="repeats per timing (median)")
    p.add_argument("--out", metavar="FILE", default=None,
                   help="Markdown report (default: reports/benchmarks.md)")
    p.add_argument("--no-write", action="store_true", help="print the table only")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is not met")


def run(args: argparse.Namespace) -> int:
    root = project_root()
    if root is None:
        print("modelavg-sym bench: error: benchmarks/ not found next to the package; run it "
              "from a source checkout (pip install -e .)", file=sys.stderr)
        return 2
    cmd = [sys.executable, "-m", "benchmarks"]
    for flag in ("quick", "tests", "no_write", "strict"):
        if getattr(args, flag):
            cmd.append("--" + flag.replace("_", "-"))
    for opt in ("only", "repeats", "out"):
        value = getattr(args, opt)
        if value is not None:
            cmd += ["--" + opt, str(Path(value).resolve()) if opt == "out" else str(value)]
    return subprocess.run(cmd, cwd=root, check=False).returncode
