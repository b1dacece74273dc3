"""Outliers on predict: how far from its cluster a new point may fall.

A fitted clusterer places every new point somewhere, however far it is from
all of its clusters. These functions learn, from the training members alone,
how far a *new* member of each cluster may plausibly lie from the cluster's
centroid, so that points beyond it can be called outliers.

Two choices make the thresholds generalise:

- **Leave-one-out distances.** A training member pulls its own centroid
  towards itself, most in a small cluster (a tenth of the way in a cluster of
  ten): its distance to that centroid understates how far a new member would
  be. Each member is measured against the centroid of the *other* members,
  which is what a new point meets at predict time.
- **Per-cluster centre, pooled tail.** Clusters differ in spread, so each
  gets its own typical distance (the median of its members' leave-one-out
  distances, shrunk towards the median over all clusters when it has few
  members: K-means at Kura's ten per cluster leaves most clusters with about
  ten). A high quantile of ten points is noise, so the tail is not estimated
  per cluster: each member's excess over its cluster's typical distance is
  pooled over all clusters and one quantile is taken. A cluster's threshold
  is its typical distance plus that quantile. The excess is added, not
  multiplied: scaling by the median made loose clusters accept nearly
  anything (``benchmarks/bench_outliers.py`` measured it).
"""

import numpy as np
from scipy import sparse

#: Prior weight, in members, of the pooled median in a cluster's typical
#: distance: a cluster with this many members counts its own median half.
_SCALE_PRIOR = 5

#: Distances are computed in float32 from float32 embeddings: a training
#: point identical to its centroid can sit this far above zero.
_ATOL = 1e-6

_CHUNK = 8192


def _unit_rows(x):
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1, norms)


def centroid_distances(embeddings, centroids, labels):
    """Cosine distance of each point to the centroid of its cluster.

    Parameters
    ----------
    embeddings : array-like of shape (n_samples, n_features)
        Points; compared by cosine, so they need not be normalised.
    centroids : array-like of shape (n_clusters, n_features)
        One row per cluster.
    labels : array-like of shape (n_samples,)
        Cluster of each point; -1 (noise) gives a distance of NaN.

    Returns
    -------
    distances : ndarray of shape (n_samples,)
        ``1 - cos(point, centroid)``, between 0 and 2.
    """
    labels = np.asarray(labels, dtype=np.intp)
    centroids = _unit_rows(centroids)
    distances = np.full(len(labels), np.nan)
    for start in range(0, len(labels), _CHUNK):  # bounded memory
        block = _unit_rows(embeddings[start : start + _CHUNK])
        rows = labels[start : start + _CHUNK]
        placed = rows >= 0
        sims = np.einsum("ij,ij->i", block[placed], centroids[rows[placed]])
        distances[start : start + _CHUNK][placed] = 1.0 - sims
    return distances


def leave_one_out_distances(embeddings, labels, n_clusters):
    """Cosine distance of each member to the centroid of its cluster's others.

    Parameters
    ----------
    embeddings : array-like of shape (n_samples, n_features)
        Training points.
    labels : array-like of shape (n_samples,)
        Their clusters ``0..n_clusters-1``; -1 for noise.
    n_clusters : int
        Number of clusters.

    Returns
    -------
    distances : ndarray of shape (n_samples,)
        NaN for noise and for the only member of a cluster (it has no
        others to be compared with).
    """
    labels = np.asarray(labels, dtype=np.intp)
    members = labels >= 0
    sums = np.zeros((n_clusters, np.shape(embeddings)[1]))
    counts = np.bincount(labels[members], minlength=n_clusters)
    for start in range(0, len(labels), _CHUNK):
        rows = labels[start : start + _CHUNK]
        keep = np.flatnonzero(rows >= 0)
        block = _unit_rows(embeddings[start : start + _CHUNK])[keep]
        indicator = sparse.csr_matrix(
            (np.ones(len(keep)), (rows[keep], np.arange(len(keep)))),
            shape=(n_clusters, len(keep)),
        )
        sums += indicator @ block
    distances = np.full(len(labels), np.nan)
    for start in range(0, len(labels), _CHUNK):
        rows = labels[start : start + _CHUNK]
        keep = (rows >= 0) & (counts[np.maximum(rows, 0)] > 1)
        block = _unit_rows(embeddings[start : start + _CHUNK])[keep]
        others = sums[rows[keep]] - block
        norms = np.linalg.norm(others, axis=1)
        sims = np.einsum("ij,ij->i", block, others) / np.where(norms == 0, 1, norms)
        distances[start : start + _CHUNK][keep] = 1.0 - sims
    return distances


def outlier_thresholds(embeddings, labels, n_clusters, *, quantile):
    """Each cluster's largest cosine distance for a new point still to join it.

    Parameters
    ----------
    embeddings : array-like of shape (n_samples, n_features)
        Training points.
    labels : array-like of shape (n_samples,)
        Their clusters ``0..n_clusters-1``; -1 for noise, which is ignored.
    n_clusters : int
        Number of clusters.
    quantile : float in (0, 1]
        Share of the training members whose leave-one-out distance falls
        within their cluster's threshold (pooled over the clusters): about
        the share of new points, drawn like the training data, that are
        assigned.

    Returns
    -------
    thresholds : ndarray of shape (n_clusters,)
        Cosine distance to the centroid beyond which a new point is an
        outlier; ``inf`` for every cluster when no cluster has two members
        (nothing to learn from).

    Notes
    -----
    A cluster's typical distance is ``(k m_c + p m) / (k + p)``: ``m_c`` the
    median of its ``k`` members' leave-one-out distances (``k = 0`` for a
    single member), ``m`` the median over every cluster's members and
    ``p = 5``. Its threshold is that plus the ``quantile`` of the members'
    excesses (distance minus their cluster's typical distance), pooled over
    all clusters.

    Examples
    --------
    >>> import numpy as np
    >>> from kura_sklearn.cluster import outlier_thresholds
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([[1, 0, 0] + 0.1 * rng.normal(size=(20, 3)),
    ...                [0, 1, 0] + 0.3 * rng.normal(size=(20, 3))])
    >>> t = outlier_thresholds(X, np.repeat([0, 1], 20), 2, quantile=0.99)
    >>> bool(t[0] < t[1])  # the wider cluster accepts points farther out
    True
    """
    labels = np.asarray(labels, dtype=np.intp)
    distances = leave_one_out_distances(embeddings, labels, n_clusters)
    known = np.isfinite(distances)
    if not known.any():
        return np.full(n_clusters, np.inf)
    pooled = float(np.median(distances[known]))
    sizes = np.bincount(labels[known], minlength=n_clusters)
    order = np.argsort(labels[known], kind="stable")
    groups = np.split(distances[known][order], np.cumsum(sizes)[:-1])
    medians = np.array([np.median(g) if len(g) else pooled for g in groups])
    typical = (sizes * medians + _SCALE_PRIOR * pooled) / (sizes + _SCALE_PRIOR)
    excess = distances[known] - typical[labels[known]]
    return typical + float(np.quantile(excess, quantile)) + _ATOL
