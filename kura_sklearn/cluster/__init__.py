"""Clusterers for embeddings: K-means sized by Kura's rule, a K-means tree for
large inputs, and HDBSCAN; thresholds for outliers on predict."""

from ._hdbscan import HDBSCANClusterer
from ._kmeans import KMeansClusterer, MiniBatchKMeansClusterer, kura_n_clusters
from ._merge import merge_clusters
from ._outliers import (
    centroid_distances,
    leave_one_out_distances,
    outlier_thresholds,
)
from ._tree import KMeansTreeClusterer

__all__ = [
    "HDBSCANClusterer",
    "KMeansClusterer",
    "KMeansTreeClusterer",
    "MiniBatchKMeansClusterer",
    "centroid_distances",
    "kura_n_clusters",
    "leave_one_out_distances",
    "merge_clusters",
    "outlier_thresholds",
]
