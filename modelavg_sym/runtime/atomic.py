"""The one atomic file write: readers see the old file or the new one, never a mixture.

:func:`atomic_write` writes into a temporary file *in the target's directory* (so the
final rename never crosses a file system), flushes and fsyncs it, sets its mode and
``os.replace``-s it over the target (atomic on POSIX and Windows).  On any exception,
``KeyboardInterrupt`` included, the temporary file is removed and the old target is left
untouched.  Temporary files are named ``.<target name>.<random>.tmp``
(:func:`is_temporary`), hidden, so a crash (``kill -9``) between the write and the rename
leaves at most a file that :func:`is_temporary` recognises.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

#: Suffix of the temporary files of :func:`atomic_write` (they also start with ``.``).
TEMP_SUFFIX = ".tmp"
#: Mode of written files (rw-r--r--), whatever ``mkstemp``'s private 0o600.
FILE_MODE = 0o644


def atomic_write(path: str | os.PathLike[str], data: bytes | str, *, encoding: str = "utf-8",
                 mode: int = FILE_MODE, durable: bool = True) -> Path:
    """Replace the file at ``path`` with ``data`` atomically; returns the path.

    ``data`` is written as is (bytes) or encoded with ``encoding`` (str).  Missing parent
    directories are created.  ``durable``: fsync the file before the rename and the
    directory after it, so the new content survives a power cut once this returns.

    Raises:
        IsADirectoryError: ``path`` is a directory (nothing is written).
        OSError: the write or the rename failed; the old file is intact and the temporary
            file removed (also on ``KeyboardInterrupt``).
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
    payload = data.encode(encoding) if isinstance(data, str) else bytes(data)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                   suffix=TEMP_SUFFIX)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
    finally:
        if tmp is not None:  # any exception, KeyboardInterrupt included
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    if durable:
        _fsync_directory(target.parent)
    return target


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # Windows, or no permission to read the directory
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def is_temporary(path: str | os.PathLike[str]) -> bool:
    """True for a name :func:`atomic_write` gives its temporary files
    (``.<name>.<random>.tmp``): left behind only by a killed process."""
    name = Path(path).name
    return name.startswith(".") and name.endswith(TEMP_SUFFIX) and name.count(".") >= 3
