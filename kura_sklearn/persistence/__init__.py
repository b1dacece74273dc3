"""Persistence of fitted estimators: joblib, and skops with trusted types."""

from ._io import (
    HDBSCAN_TYPES,
    RECORD_TYPES,
    load,
    load_skops,
    save,
    save_skops,
    trusted_types,
)

__all__ = [
    "HDBSCAN_TYPES",
    "RECORD_TYPES",
    "TRUSTED_TYPES",
    "load",
    "load_skops",
    "save",
    "save_skops",
    "trusted_types",
]


def __getattr__(name):
    # TRUSTED_TYPES (the list trusted_types() returns) is built on first use.
    if name == "TRUSTED_TYPES":
        return trusted_types()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
