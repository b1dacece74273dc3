"""Clusterers for embeddings: K-means sized by Kura's rule, a K-means tree for
large inputs, and HDBSCAN."""

from ._hdbscan import HDBSCANClusterer
from ._kmeans import KMeansClusterer, MiniBatchKMeansClusterer, kura_n_clusters
from ._merge import merge_clusters
from ._tree import KMeansTreeClusterer

__all__ = [
    "HDBSCANClusterer",
    "KMeansClusterer",
    "KMeansTreeClusterer",
    "MiniBatchKMeansClusterer",
    "kura_n_clusters",
    "merge_clusters",
]
