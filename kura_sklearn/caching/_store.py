"""Per-item, content-addressed cache for LLM answers and embeddings.

Each finished item is written as soon as it is done, under a key that hashes
everything that decides the answer: the content itself (never an id alone),
the model, the server, the prompt and schema, the sampling settings and the
library's prompt version. So a second run computes only what is new, a run
killed half-way resumes where it stopped, and a changed prompt or model
misses exactly the entries it changes. The store is diskcache (SQLite), safe
for several threads and processes writing one directory.

Nothing secret enters a key or a value: keys name the *variable* holding the
API key, never the key.
"""

import functools
import hashlib
import json
import os

#: Bump when the layout of cached values changes.
CACHE_FORMAT = 1


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


@functools.lru_cache(maxsize=8)
def _open(directory, pid):
    import diskcache

    # pid is part of the key: a forked child opens its own connection.
    return diskcache.Cache(directory, size_limit=2**40, eviction_policy="none")


def open_cache(directory):
    """The process's handle on the cache in ``directory`` (created if needed)."""
    return _open(os.path.abspath(os.fspath(directory)), os.getpid())


def cached_map(
    directory,
    keys,
    compute,
    *,
    encode=lambda v: v,
    decode=lambda v: v,
    progress=None,
):
    """Values for ``keys``, computing only the missing ones, each stored once done.

    Parameters
    ----------
    directory : str, path or None
        Cache directory; None computes everything and stores nothing.
    keys : list of str
        One key per item; items with equal keys are computed once.
    compute : callable
        ``compute(indices, on_result)`` computes the items at ``indices`` (of
        the de-duplicated missing items) and calls ``on_result(j, value)`` as
        each finishes; it may raise after some succeeded.
    encode, decode : callable
        Turn a value into what is stored, and back.
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
    """
    values = [None] * len(keys)
    cache = open_cache(directory) if directory is not None else None
    missing = {}
    for i, key in enumerate(keys):
        stored = cache.get(key) if cache is not None else None
        if stored is not None:
            values[i] = decode(stored)
        else:
            missing.setdefault(key, []).append(i)
    todo = list(missing)
    n_cached = len(keys) - sum(len(idx) for idx in missing.values())
    if progress is not None and n_cached:
        progress.update(n_cached)

    def on_result(j, value):
        if cache is not None:
            cache.set(todo[j], encode(value))
        for i in missing[todo[j]]:
            values[i] = value
        if progress is not None:
            progress.update(len(missing[todo[j]]))

    if todo:
        compute([missing[key][0] for key in todo], on_result)
    return values, len(todo)
