"""Persistence of fitted estimators: joblib, and skops with trusted types."""

from ._io import HDBSCAN_TYPES, TRUSTED_TYPES, load, load_skops, save, save_skops

__all__ = ["HDBSCAN_TYPES", "TRUSTED_TYPES", "load", "load_skops", "save", "save_skops"]
