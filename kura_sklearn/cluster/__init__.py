"""Clusterers for embeddings: K-means sized by Kura's rule, and HDBSCAN."""

from ._hdbscan import HDBSCANClusterer
from ._kmeans import KMeansClusterer, MiniBatchKMeansClusterer, kura_n_clusters

__all__ = [
    "HDBSCANClusterer",
    "KMeansClusterer",
    "MiniBatchKMeansClusterer",
    "kura_n_clusters",
]
