"""Scorers ``scorer(estimator, X, y=None)`` for choosing clustering settings."""

from ._scorers import (
    adjusted_rand_scorer,
    calinski_harabasz_scorer,
    davies_bouldin_scorer,
    internal_scorer,
    make_cluster_count_scorer,
    noise_aware_silhouette_scorer,
    normalized_mutual_info_scorer,
    silhouette_scorer,
    v_measure_scorer,
)

__all__ = [
    "adjusted_rand_scorer",
    "calinski_harabasz_scorer",
    "davies_bouldin_scorer",
    "internal_scorer",
    "make_cluster_count_scorer",
    "noise_aware_silhouette_scorer",
    "normalized_mutual_info_scorer",
    "silhouette_scorer",
    "v_measure_scorer",
]
