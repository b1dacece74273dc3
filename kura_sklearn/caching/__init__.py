"""The per-item, content-addressed cache behind LLM and embedding estimators."""

from ._store import CACHE_FORMAT, cached_map, item_key, open_cache

__all__ = ["CACHE_FORMAT", "cached_map", "item_key", "open_cache"]
