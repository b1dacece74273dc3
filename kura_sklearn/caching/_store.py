"""Per-item, content-addressed cache for LLM answers and embeddings.

Each finished item is written as soon as it is done, under a key that hashes
everything that decides the answer: the content itself (never an id alone),
the model, the server, the prompt and schema, the sampling settings and the
library's prompt version. So a second run computes only what is new, a run
killed half-way resumes where it stopped, and a changed prompt or model
misses exactly the entries it changes.

Where entries live is a store: anything with ``get(key) -> bytes or None``
and ``set(key, bytes)`` (:class:`CacheStore`). A directory
(:class:`DirectoryStore`, diskcache over SQLite, one machine) is the default;
a ``redis://`` URL selects :class:`RedisStore`, which the machines of a
cluster share. Values reach a store only as data-only bytes (JSON, or a raw
numeric array; see ``_codec``): nothing is pickled, so an entry someone
planted is at worst wrong data, which the caller's checks turn into a
recomputed item, counted and logged.

Nothing secret enters a key or a value: keys name the *variable* holding the
API key, never the key.
"""

import functools
import hashlib
import json
import logging
import os
from typing import Protocol, runtime_checkable

from ._codec import UnreadableEntry, decode_value, encode_value
from ._directory import DirectoryStore
from ._redis import RedisStore

logger = logging.getLogger(__name__)

#: Bump when the layout of cached values changes; it is part of every key, so
#: entries of another layout are never looked up. 2: data-only values (1 held
#: pickles).
CACHE_FORMAT = 2

_URL_SCHEMES = {"redis": RedisStore, "rediss": RedisStore}


def item_key(kind, **parts):
    """Stable hex key for one item: SHA-256 of canonical JSON of ``parts``.

    Parameters
    ----------
    kind : str
        What is cached ("summary", "embedding", ...).
    **parts
        JSON-serialisable values that decide the answer.

    Returns
    -------
    key : str

    Examples
    --------
    >>> from kura_sklearn.caching import item_key
    >>> item_key("embedding", model="m", text="hi") == item_key(
    ...     "embedding", text="hi", model="m")
    True
    """
    payload = json.dumps(
        {"kind": kind, "format": CACHE_FORMAT, **parts},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@runtime_checkable
class CacheStore(Protocol):
    """Where the per-item cache keeps its entries: bytes by key.

    Two methods make a store. ``get`` returns the bytes stored under a key,
    or None; ``set`` stores bytes under a key, from any thread. An optional
    ``get_many(keys)`` (a list of bytes or None) saves round trips. A store
    never interprets values: the cache hands it data-only bytes and decodes
    what it gets back as data. Stores held by estimators must pickle (open
    connections lazily, per process).
    """

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes) -> None: ...


@functools.lru_cache(maxsize=16)
def _store_for(kind, location):
    return kind(location)


def open_store(cache):
    """The process's store for a ``cache_dir`` value.

    Parameters
    ----------
    cache : str, path, CacheStore or None
        A directory (:class:`DirectoryStore`, created if needed), a
        ``redis://`` or ``rediss://`` URL (:class:`RedisStore`), a store
        object (returned as it is), or None (no cache).

    Returns
    -------
    store : CacheStore or None
        One handle per location and process, so its ``n_unreadable`` counts
        every unreadable entry met in this process.

    Examples
    --------
    >>> from kura_sklearn.caching import open_store
    >>> open_store("redis://cache-host:6379/0")
    RedisStore('redis://cache-host:6379/0')
    """
    if cache is None:
        return None
    if isinstance(cache, (str, os.PathLike)):
        location = os.fspath(cache)
        scheme, sep, _ = location.partition("://")
        if sep:
            kind = _URL_SCHEMES.get(scheme.lower())
            if kind is None:
                raise ValueError(
                    f"Unknown cache URL scheme {scheme!r}; use a directory or "
                    f"one of {sorted(_URL_SCHEMES)}."
                )
            return _store_for(kind, location)
        return _store_for(DirectoryStore, os.path.abspath(location))
    if callable(getattr(cache, "get", None)) and callable(getattr(cache, "set", None)):
        return cache
    raise TypeError(
        "cache_dir must be a directory, a redis:// URL or a store with get and "
        f"set methods, got {type(cache).__name__}."
    )


#: Kept for code written against the first cache: the same as open_store.
open_cache = open_store


def _fetch(store, keys):
    """Stored bytes (None if absent, UnreadableEntry if unreadable) per key."""
    get_many = getattr(store, "get_many", None)
    if get_many is not None:
        return list(get_many(keys))
    out = []
    for key in keys:
        try:
            out.append(store.get(key))
        except UnreadableEntry as exc:
            out.append(exc)
    return out


def _note_unreadable(store, reasons):
    try:
        store.n_unreadable = getattr(store, "n_unreadable", 0) + len(reasons)
    except AttributeError:
        pass
    logger.warning(
        "%d unreadable entr%s in the cache %r recomputed (first: %s); %d in this "
        "process so far.",
        len(reasons),
        "y" if len(reasons) == 1 else "ies",
        store,
        reasons[0],
        getattr(store, "n_unreadable", len(reasons)),
    )


def cached_map(
    cache,
    keys,
    compute,
    *,
    encode=None,
    decode=None,
    check=None,
    progress=None,
):
    """Values for ``keys``, computing only the missing ones, each stored once done.

    Parameters
    ----------
    cache : str, path, CacheStore or None
        Where entries live (see :func:`open_store`); None computes
        everything and stores nothing.
    keys : list of str
        One key per item; items with equal keys are computed once.
    compute : callable
        ``compute(indices, on_result)`` computes the items at ``indices`` (of
        the de-duplicated missing items) and calls ``on_result(j, value)`` as
        each finishes; it may raise after some succeeded.
    encode : callable, default=None
        Turns a computed value into what is stored: JSON-compatible data or
        a numeric ndarray. A value that is neither is used but not stored.
    decode : callable, default=None
        Turns stored data back into a value; raising (any exception) marks
        the entry unreadable.
    check : callable, default=None
        ``check(i, value)`` raises if a decoded value cannot serve item ``i``
        (e.g. it does not fit the item's schema); the entry is then
        unreadable.
    progress : object with an ``update(n)`` method, default=None
        Told of every item as it is done: the cached ones at once, each
        computed one (with its duplicates) as it arrives, from whichever
        thread calls ``on_result``.

    Returns
    -------
    values : list
        One per key.
    n_computed : int
        Distinct items computed in this call.

    Notes
    -----
    Unreadable entries (not data this cache wrote, corrupt, or failing
    ``decode`` or ``check``) are recomputed and overwritten; each call that
    meets some logs a warning, and the store's ``n_unreadable`` counts them.
    """
    store = open_store(cache)
    first = {}
    for i, key in enumerate(keys):
        first.setdefault(key, i)
    found, reasons = {}, []
    if store is not None and first:
        for key, raw in zip(first, _fetch(store, list(first))):
            if raw is None:
                continue
            try:
                if isinstance(raw, Exception):
                    raise raw
                value = decode_value(raw)
                if decode is not None:
                    value = decode(value)
                if check is not None:
                    check(first[key], value)
            except Exception as exc:  # any failure to read: recompute
                reasons.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            found[key] = value
    if reasons:
        _note_unreadable(store, reasons)
    values = [None] * len(keys)
    missing = {}
    for i, key in enumerate(keys):
        if key in found:
            values[i] = found[key]
        else:
            missing.setdefault(key, []).append(i)
    todo = list(missing)
    n_cached = len(keys) - sum(len(idx) for idx in missing.values())
    if progress is not None and n_cached:
        progress.update(n_cached)

    def on_result(j, value):
        if store is not None:
            _store_value(store, todo[j], value, encode)
        for i in missing[todo[j]]:
            values[i] = value
        if progress is not None:
            progress.update(len(missing[todo[j]]))

    if todo:
        compute([missing[key][0] for key in todo], on_result)
    return values, len(todo)


def _store_value(store, key, value, encode):
    try:
        data = encode_value(value if encode is None else encode(value))
    except (TypeError, ValueError) as exc:
        logger.warning("A value was not cached: it is not data (%s).", exc)
        return
    store.set(key, data)
