"""Scorers for choosing clustering settings, and measures of a fitted tree.

- Scorers ``scorer(estimator, X, y=None)`` for unsupervised search (see
  :mod:`kura_sklearn.metrics._scorers`).
- :func:`score_tree` and :func:`harmonic_purity`: what a fitted tree tells a
  user, against labels kept aside, beside a naive baseline.
- :func:`topic_coherence` and :func:`topic_diversity`: label-free measures of
  the clusters' keywords.
"""

from ._cluster_count import make_cluster_count_scorer
from ._insight import InsightReport, harmonic_purity, readable_label, score_tree
from ._scorers import (
    adjusted_rand_scorer,
    calinski_harabasz_scorer,
    davies_bouldin_scorer,
    internal_scorer,
    noise_aware_silhouette_scorer,
    normalized_mutual_info_scorer,
    silhouette_scorer,
    v_measure_scorer,
)
from ._topics import topic_coherence, topic_diversity

__all__ = [
    "InsightReport",
    "adjusted_rand_scorer",
    "calinski_harabasz_scorer",
    "davies_bouldin_scorer",
    "harmonic_purity",
    "internal_scorer",
    "make_cluster_count_scorer",
    "noise_aware_silhouette_scorer",
    "normalized_mutual_info_scorer",
    "readable_label",
    "score_tree",
    "silhouette_scorer",
    "topic_coherence",
    "topic_diversity",
    "v_measure_scorer",
]
