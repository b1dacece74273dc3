"""A store that machines share: a Redis server (the ``redis`` extra)."""

import functools
import os
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: Keys per MGET round trip.
_BATCH = 1000


class RedisStore:
    """The per-item cache in a Redis server, shared by every machine that reaches it.

    Selected by a ``redis://`` or ``rediss://`` URL as ``cache_dir``. Each
    process opens its own connection on first use, so the store (and every
    estimator holding the URL) pickles and clones as a string. Values are
    the cache's data-only bytes; keys are the item keys under ``prefix``.

    Parameters
    ----------
    url : str
        ``redis://host:port/db`` (``rediss://`` for TLS). A password never
        goes in the URL (it would show in ``get_params``, ``repr`` and
        pickles): add ``?password_env=NAME`` and set the environment variable
        ``NAME`` on every machine.
    prefix : str, default="kura_sklearn:"
        Prepended to every key.

    Examples
    --------
    >>> from kura_sklearn.caching import RedisStore
    >>> RedisStore("redis://127.0.0.1:6379/0")  # no connection until used
    RedisStore('redis://127.0.0.1:6379/0')
    """

    #: Entries found unreadable (and recomputed) through this handle.
    n_unreadable = 0

    def __init__(self, url, *, prefix="kura_sklearn:"):
        self.url = url
        self.prefix = prefix

    def __repr__(self):
        return f"RedisStore({self.url!r})"

    def __getstate__(self):
        return {"url": self.url, "prefix": self.prefix}

    @property
    def _client(self):
        pid = os.getpid()
        if self.__dict__.get("_pid") != pid:  # first use, or a forked child
            self._handle, self._pid = _connect(self.url, pid), pid
        return self._handle

    def get(self, key):
        """Stored bytes for ``key``, or None."""
        return self._client.get(self.prefix + key)

    def get_many(self, keys):
        """Stored bytes (or None) for each of ``keys``, in batched round trips."""
        client, out = self._client, []
        for start in range(0, len(keys), _BATCH):
            batch = keys[start : start + _BATCH]
            out.extend(client.mget([self.prefix + k for k in batch]))
        return out

    def set(self, key, value):
        """Store ``value`` (bytes) under ``key``."""
        self._client.set(self.prefix + key, value)

    def __len__(self):
        return sum(
            1 for _ in self._client.scan_iter(match=self.prefix + "*", count=1000)
        )


@functools.lru_cache(maxsize=8)
def _connect(url, pid):
    # pid is part of the key: a forked child opens its own connection.
    try:
        import redis
    except ImportError:
        raise ImportError(
            "A redis:// cache needs the redis package: "
            "pip install 'kura-sklearn[redis]'."
        ) from None
    parts = urlsplit(url)
    if parts.password is not None:
        # never echo the URL: it holds the password
        raise ValueError(
            "A cache URL must not hold a password (it would show in "
            "get_params, repr and pickles). Put it in an environment variable "
            "and name that variable with ?password_env=NAME."
        )
    query = parse_qsl(parts.query)
    password_env = [v for k, v in query if k == "password_env"]
    query = [(k, v) for k, v in query if k != "password_env"]
    kwargs = {}
    if password_env:
        name = password_env[-1]
        if name not in os.environ:
            raise ValueError(
                f"The cache URL names the environment variable {name!r} for "
                "its password, and it is not set."
            )
        kwargs["password"] = os.environ[name]
    clean = urlunsplit(parts._replace(query=urlencode(query)))
    return redis.Redis.from_url(clean, **kwargs)
