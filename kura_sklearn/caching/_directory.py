"""The default store: a diskcache (SQLite) directory on this machine.

diskcache unpickles any row whose mode says "pickle", whatever wrote it, and
reads or deletes the file a row names. ``_DataDisk`` stores bytes only and
refuses every row that is not raw bytes or a file inside the directory, so a
planted row is an unreadable entry (recomputed), never code and never a path
elsewhere.
"""

import functools
import json
import os
import sqlite3
import warnings

import diskcache
from diskcache.core import MODE_BINARY, MODE_RAW, UNKNOWN

from ._codec import UnreadableEntry

#: The file that says which layout of values a directory holds.
MARKER = "kura_sklearn_cache.json"


class _DataDisk(diskcache.Disk):
    """diskcache's Disk for bytes only: no pickles in, none out."""

    def store(self, value, read, key=UNKNOWN):
        if type(value) is not bytes:
            raise TypeError(f"the store keeps bytes, got {type(value).__name__}")
        return super().store(value, read, key=key)

    def fetch(self, mode, filename, value, read):
        if mode == MODE_RAW and isinstance(value, (bytes, memoryview)):
            return bytes(value)
        if mode == MODE_BINARY and not read and self._inside(filename):
            return super().fetch(mode, filename, value, read)
        raise UnreadableEntry(f"row of mode {mode!r} (only raw bytes are read)")

    def remove(self, file_path):
        if self._inside(file_path):
            super().remove(file_path)

    def _inside(self, filename):
        if not isinstance(filename, str):
            return False
        root = os.path.realpath(self._directory)
        full = os.path.realpath(os.path.join(root, filename))
        return full != root and os.path.commonpath([root, full]) == root


class DirectoryStore:
    """The per-item cache in a local directory (diskcache over SQLite).

    Safe for many threads and processes of one machine writing at once; not
    for a network filesystem (SQLite's locks and WAL mode need a local
    disk). Values are bytes, stored raw; the handle is opened lazily once per
    process, so the store pickles as its path alone.

    Parameters
    ----------
    directory : str or path
        Created if missing.

    Examples
    --------
    >>> import tempfile
    >>> from kura_sklearn.caching import DirectoryStore
    >>> store = DirectoryStore(tempfile.mkdtemp())
    >>> store.set("k", b"data")
    >>> store.get("k"), store.get("missing")
    (b'data', None)
    """

    #: Entries found unreadable (and recomputed) through this handle.
    n_unreadable = 0

    def __init__(self, directory):
        self.directory = os.path.abspath(os.fspath(directory))

    def __repr__(self):
        return f"DirectoryStore({self.directory!r})"

    def __getstate__(self):
        return {"directory": self.directory}

    @property
    def _cache(self):
        pid = os.getpid()
        if self.__dict__.get("_pid") != pid:  # first use, or a forked child
            self._handle, self._pid = _open(self.directory, pid), pid
        return self._handle

    def get(self, key):
        """Stored bytes for ``key``, or None; raises UnreadableEntry."""
        return self._cache.get(key)

    def set(self, key, value):
        """Store ``value`` (bytes) under ``key``."""
        self._cache.set(key, value)

    def __len__(self):
        return len(self._cache)


@functools.lru_cache(maxsize=8)
def _open(directory, pid):
    # pid is part of the key: a forked child opens its own connection.
    existed = os.path.exists(os.path.join(directory, "cache.db"))
    try:
        cache = diskcache.Cache(
            directory, disk=_DataDisk, size_limit=2**40, eviction_policy="none"
        )
    except sqlite3.DatabaseError as exc:
        raise ValueError(
            f"{directory} is not a readable cache directory ({exc}); "
            "move it aside or delete it."
        ) from None
    _check_format(directory, cache, existed)
    return cache


def _check_format(directory, cache, existed):
    """Warn once about entries of an older layout; mark the directory."""
    from ._store import CACHE_FORMAT

    path = os.path.join(directory, MARKER)
    try:
        with open(path, encoding="utf-8") as f:
            found = json.load(f)["format"]
    except FileNotFoundError:
        found = None
    except (OSError, ValueError, TypeError, KeyError):
        found = "unreadable"
    if found == CACHE_FORMAT:
        return
    if isinstance(found, int) and found > CACHE_FORMAT:
        warnings.warn(
            f"The cache in {directory} is marked as format {found}, written by "
            f"a newer kura_sklearn; this one (format {CACHE_FORMAT}) adds its "
            "own entries beside them.",
            UserWarning,
            stacklevel=4,
        )
        return
    n_old = len(cache) if existed else 0
    if n_old:
        warnings.warn(
            f"The cache in {directory} holds {n_old} entries written by an "
            "older kura_sklearn, whose values were pickles. They are ignored, "
            "never read (unpickling runs code): items are recomputed as "
            "needed. Delete the directory to free the space.",
            UserWarning,
            stacklevel=4,
        )
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"format": CACHE_FORMAT, "values": "JSON or raw arrays"}, f)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache still serves its entries
