"""2-D maps of embeddings for cluster maps: UMAP, or PCA when UMAP would not pay."""

from ._projector import MapProjector

__all__ = ["MapProjector"]
