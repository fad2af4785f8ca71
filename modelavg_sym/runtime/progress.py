"""The one progress display: a rich progress bar (or spinner) on stderr, or nothing.

:class:`Progress` has one interface whether or not anything is shown, so callers never
branch: it is a no-op when rich (the optional ``progress`` extra) is not installed, when
stderr is not a terminal (the default), or when disabled.  The display is transient: it
disappears when the ``with`` block ends, leaving the output clean.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any


def stderr_is_tty() -> bool:
    """True when stderr is an interactive terminal (False for a closed or replaced stream)."""
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """A progress bar over ``total`` steps, or a spinner with a message when ``total`` is
    None.

    Usage::

        with Progress("simulating", total=n) as bar:
            for ...:
                bar.advance()

    Args:
        label: text shown before the bar (or the spinner's first message).
        total: number of steps; None for a spinner whose text :meth:`note` replaces.
        enabled: True or False to force; None (default) shows it when stderr is a
            terminal and ``total`` is None or at least ``min_total``.
        min_total: with ``enabled=None``, shorter runs get no bar.
    """

    def __init__(self, label: str, total: int | None = None, *, enabled: bool | None = None,
                 min_total: int = 0) -> None:
        self.label = label
        self.total = total
        if enabled is None:
            enabled = stderr_is_tty() and (total is None or total >= min_total)
        self._display: Any = None
        self._task: Any = None
        if enabled:
            self._display = self._make(label, total)

    def _make(self, label: str, total: int | None) -> Any:
        try:  # rich is optional (the ``progress`` extra): without it, no display
            from rich.console import Console
            from rich.progress import Progress as RichProgress
        except ImportError:
            return None
        console = Console(stderr=True)
        if total is None:
            return console.status(label)
        bar = RichProgress(console=console, transient=True)
        self._task = bar.add_task(label, total=total)
        return bar

    @property
    def active(self) -> bool:
        """True when something is displayed."""
        return self._display is not None

    def __enter__(self) -> Progress:
        if self._display is not None:
            self._display.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._display is not None:
            self._display.stop()

    def advance(self, steps: int = 1, description: str | None = None) -> None:
        """``steps`` more steps done; ``description`` replaces the bar's label."""
        if self._display is None or self._task is None:
            return
        if description is None:
            self._display.advance(self._task, steps)
        else:
            self._display.update(self._task, advance=steps, description=description)

    def note(self, message: str) -> None:
        """Show ``message``: the spinner's text, or the bar's label."""
        if self._display is None:
            return
        if self._task is None:
            self._display.update(f"{self.label}: {message}")
        else:
            self._display.update(self._task, description=message)
