"""Labels: the clusterer's renumbered, and new points placed in the fitted clusters."""

import numpy as np

from ..cluster import centroid_distances


def _renumber(raw):
    """Distinct non-noise labels of ``raw`` (sorted) and ``raw`` renumbered 0..k-1.

    Noise (-1) stays -1. One ``np.unique``, no loop over the rows.
    """
    values, inverse = np.unique(raw, return_inverse=True)
    is_cluster = values != -1
    new_ids = np.where(is_cluster, np.cumsum(is_cluster) - 1, -1).astype(np.intp)
    return [int(c) for c in values[is_cluster]], new_ids[inverse.ravel()]


def _relabel(raw, label_map):
    """``raw`` labels through ``label_map`` (unknown values to -1), vectorised."""
    raw = np.asarray(raw, dtype=np.int64)
    keys = np.fromiter(label_map.keys(), dtype=np.int64, count=len(label_map))
    values = np.fromiter(label_map.values(), dtype=np.intp, count=len(label_map))
    order = np.argsort(keys)
    keys, values = keys[order], values[order]
    pos = np.clip(np.searchsorted(keys, raw), 0, max(len(keys) - 1, 0))
    if not len(keys):
        return np.full(len(raw), -1, dtype=np.intp)
    return np.where(keys[pos] == raw, values[pos], -1).astype(np.intp)


def place(embeddings, clusterer, label_map, centroids, thresholds=None):
    """Base cluster of new points, or -1 for noise and outliers.

    Parameters
    ----------
    embeddings : ndarray of shape (n_samples, n_features)
        The new points.
    clusterer : estimator
        The fitted clusterer; its ``predict`` is used when it has one (its
        labels through ``label_map``), else the nearest of ``centroids``.
    label_map : dict of int to int
        The clusterer's labels to base-cluster ids.
    centroids : ndarray of shape (n_clusters, n_features)
        Unit mean embedding of each base cluster.
    thresholds : ndarray of shape (n_clusters,) or None
        Largest cosine distance to its cluster's centroid at which a point
        is placed; farther ones are outliers (-1). None places every point.

    Returns
    -------
    labels : ndarray of shape (n_samples,)
    nearest : ndarray of shape (n_samples,)
        The cluster each point would join (-1 for the clusterer's noise).
    distances : ndarray of shape (n_samples,)
        Cosine distance to that cluster's centroid.
    """
    if hasattr(clusterer, "predict"):
        nearest = _relabel(np.asarray(clusterer.predict(embeddings)), label_map)
    else:
        nearest = np.empty(len(embeddings), dtype=np.intp)
        for start in range(0, len(embeddings), 8192):  # bounded memory
            sims = embeddings[start : start + 8192] @ centroids.T
            nearest[start : start + 8192] = np.argmax(sims, axis=1)
    distances = centroid_distances(embeddings, centroids, nearest)
    labels = nearest
    if thresholds is not None:
        placed = nearest >= 0
        far = np.zeros(len(nearest), dtype=bool)
        far[placed] = distances[placed] > thresholds[nearest[placed]]
        labels = np.where(far, -1, nearest).astype(np.intp)
    return labels, nearest, distances
