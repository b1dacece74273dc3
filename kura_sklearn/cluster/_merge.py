"""Group clusters into fewer, broader ones, each weighed by its size.

What the hierarchy and the offline namers use to merge clusters. A cluster is
its centroid and its number of members; grouping centroids with K-means
weighted by those sizes minimises the same objective as K-means over every
member, under the constraint that a cluster is never split. Grouping the
centroids *unweighted* instead treats a cluster of one conversation like a
cluster of a thousand, and a parent's mean (which shrinks towards the global
mean as it grows) then sits near everything: repeated level after level it
absorbs its neighbours, and one root ends up holding most of the data.
"""

import numpy as np
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state

#: Above this many clusters, merging uses a weighted K-means tree
#: (near-linear) instead of flat K-means (cost n_clusters x n_groups).
_FLAT_MAX = 20_000


def merge_clusters(vectors, sizes, n_groups, *, n_init=10, random_state=None):
    """Group clusters, given by their centroids and sizes, into ``n_groups``.

    The centroids are L2-normalised (the embeddings are compared by cosine)
    and grouped by K-means with each centroid weighted by its cluster's
    size, keeping the best of ``n_init`` starts.

    Parameters
    ----------
    vectors : array-like of shape (n_clusters, n_features)
        Centroid of each cluster.
    sizes : array-like of shape (n_clusters,)
        Members of each cluster; its weight.
    n_groups : int
        Groups wanted. Fewer are returned when there are fewer distinct
        centroids.
    n_init : int, default=10
        K-means starts; the one with the lowest weighted inertia is kept.
    random_state : int, RandomState instance or None, default=None
        Seed of the K-means starts.

    Returns
    -------
    assignment : ndarray of shape (n_clusters,)
        Group of each cluster, numbered ``0..m-1`` in order of first use.

    Examples
    --------
    >>> import numpy as np
    >>> from kura_sklearn.cluster import merge_clusters
    >>> vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]])
    >>> merge_clusters(vectors, [10, 1, 5, 5], 2, random_state=0).tolist()
    [0, 0, 1, 1]
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    sizes = np.asarray(sizes, dtype=np.float64)
    k = len(vectors)
    if k == 0:
        return np.empty(0, dtype=np.intp)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms == 0, 1, norms)
    n_distinct = len(np.unique(unit.round(12), axis=0))
    n_groups = int(max(1, min(n_groups, n_distinct)))
    if n_groups == 1:
        return np.zeros(k, dtype=np.intp)
    weights = np.maximum(sizes, 1e-12)
    if n_groups >= k:
        raw = np.arange(k)
    elif k > _FLAT_MAX:
        from ._tree import KMeansTreeClusterer

        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        raw = KMeansTreeClusterer(n_clusters=n_groups, random_state=seed).fit_predict(
            unit.astype(np.float32), sample_weight=weights
        )
    else:
        raw = KMeans(
            n_clusters=n_groups, n_init=n_init, random_state=random_state
        ).fit_predict(unit, sample_weight=weights)
    # number the groups actually used 0..m-1, in order of first use
    _, first, inverse = np.unique(raw, return_index=True, return_inverse=True)
    return np.argsort(np.argsort(first))[inverse.ravel()].astype(np.intp)
