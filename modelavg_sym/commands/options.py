"""Options shared by several subcommands."""

from __future__ import annotations

import argparse

from modelavg_sym.runtime.pool import SCHEDULER_TIMEOUT


def seconds(text: str) -> float:
    """A time limit in seconds, in (0, 3600]."""
    value = float(text)
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be between 0 and 3600 seconds, got {text}")
    return value


def add_scheduler_timeout(p: argparse.ArgumentParser) -> None:
    """``--scheduler-timeout SECONDS``: how long a Dask scheduler has to answer."""
    p.add_argument("--scheduler-timeout", type=seconds, default=SCHEDULER_TIMEOUT,
                   metavar="SECONDS", help="fail if the scheduler does not answer a Dask "
                   f"handshake within this time (default {SCHEDULER_TIMEOUT:g} s)")
