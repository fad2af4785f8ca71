"""The one content-hash keyed cache: a directory of entries named by hash keys.

A key names the *inputs* of a computation (:func:`stable_hash` of everything it depends
on) or the content itself (:func:`content_hash`), so an entry never goes stale: a changed
input is a different key.  Entries are written atomically
(:func:`modelavg_sym.runtime.atomic.atomic_write`), so a reader sees a whole entry or
none, and concurrent writers of one key write the same bytes.  The directory is created
on the first :meth:`ContentStore.put`; reading never creates anything.
"""

from __future__ import annotations

import hashlib
import string
from pathlib import Path

from modelavg_sym.errors import InvalidParameterError
from modelavg_sym.runtime.atomic import atomic_write

_KEY_CHARS = frozenset(string.ascii_letters + string.digits + "-_")
#: Longest accepted key (a sha512 hex digest is 128 characters).
MAX_KEY = 128


def stable_hash(*parts: str) -> str:
    """sha256 (first 20 hex digits) of the parts, each prefixed by its byte length, so
    ``("ab", "c")`` and ``("a", "bc")`` differ.  Independent of the process and of
    ``PYTHONHASHSEED``."""
    h = hashlib.sha256()
    for p in parts:
        b = p.encode("utf-8")
        h.update(str(len(b)).encode() + b":" + b)
    return h.hexdigest()[:20]


def content_hash(data: bytes) -> str:
    """Full sha256 hex digest of ``data`` (the key of a content-addressed entry)."""
    return hashlib.sha256(data).hexdigest()


class ContentStore:
    """Entries ``<root>/<key><suffix>`` with get/put of bytes by key.

    Keys are 1 to :data:`MAX_KEY` letters, digits, ``-`` or ``_`` (hash digests), so a
    key can never name a path outside ``root``.
    """

    def __init__(self, root: str | Path, suffix: str = "") -> None:
        self.root = Path(root)
        self.suffix = suffix

    def __repr__(self) -> str:
        return f"ContentStore({str(self.root)!r}, suffix={self.suffix!r})"

    def path(self, key: str) -> Path:
        """Where the entry for ``key`` lives.

        Raises:
            InvalidParameterError: ``key`` is not a valid key.
        """
        if not (isinstance(key, str) and 0 < len(key) <= MAX_KEY and set(key) <= _KEY_CHARS):
            raise InvalidParameterError("key", f"must be 1-{MAX_KEY} letters, digits, '-' or "
                                        "'_' (a hash digest)", f"got {key!r:.60}")
        return self.root / f"{key}{self.suffix}"

    def __contains__(self, key: str) -> bool:
        return self.path(key).is_file()

    def get(self, key: str) -> bytes | None:
        """The entry's bytes, or ``None`` when absent or unreadable."""
        try:
            return self.path(key).read_bytes()
        except OSError:
            return None

    def put(self, key: str, data: bytes | str, *, replace: bool = True) -> Path:
        """Store ``data`` (str as UTF-8) under ``key`` atomically; returns the entry's path.

        ``replace=False`` keeps an existing entry (for content-addressed keys, where an
        entry with that key already holds these bytes).
        """
        path = self.path(key)
        if not replace and path.is_file():
            return path
        return atomic_write(path, data)
