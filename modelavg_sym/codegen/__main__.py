"""``python -m modelavg_sym.codegen [--check]``: write (or check) only the generated
numeric modules, without the rest of ``modelavg-sym regenerate``."""

from __future__ import annotations

import sys

from modelavg_sym.codegen.generate import stale_generated, write_generated


def main(argv: list[str] | None = None) -> int:
    """Write the generated modules (``--check``: print a diff and return 1 if stale)."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--check"]:
        diff = stale_generated()
        if diff:
            print(diff, end="")
            print("generated modules are stale; run `python -m modelavg_sym.codegen` "
                  "(or `modelavg-sym regenerate`)", file=sys.stderr)
            return 1
        return 0
    if args:
        print("usage: python -m modelavg_sym.codegen [--check]", file=sys.stderr)
        return 2
    for path in write_generated():
        print(f"updated  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
