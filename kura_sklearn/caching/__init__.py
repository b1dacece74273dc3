"""The per-item, content-addressed cache behind LLM and embedding estimators."""

from ._codec import UnreadableEntry, decode_value, encode_value
from ._directory import DirectoryStore
from ._redis import RedisStore
from ._store import (
    CACHE_FORMAT,
    CacheStore,
    cached_map,
    item_key,
    open_cache,
    open_store,
)

__all__ = [
    "CACHE_FORMAT",
    "CacheStore",
    "DirectoryStore",
    "RedisStore",
    "UnreadableEntry",
    "cached_map",
    "decode_value",
    "encode_value",
    "item_key",
    "open_cache",
    "open_store",
]
