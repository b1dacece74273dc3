"""Group geometry: each cluster's members, their embedding sums, centroids
and directions, computed in blocks so a memory-mapped matrix is never copied.

Shared by naming, the hierarchy, the clusterer and the metrics.
"""

import numpy as np

#: Rows per block when summing embeddings, so a memory-mapped matrix is
#: read in pieces and never copied whole.
_CHUNK = 65536


def group_indices(labels, cluster_ids):
    """Positions of each cluster's members, from one stable sort: O(n log n).

    Parameters
    ----------
    labels : array-like of int, shape (n_items,)
        Cluster of each item; values absent from ``cluster_ids`` (noise, -1)
        are left out.
    cluster_ids : sequence of int
        The clusters wanted, in the order wanted.

    Returns
    -------
    members : list of ndarray
        ``members[j]`` holds the positions whose label is ``cluster_ids[j]``,
        in increasing order (as ``np.flatnonzero(labels == c)``, without a
        pass over all items per cluster).

    Examples
    --------
    >>> from kura_sklearn.naming._base import group_indices
    >>> [m.tolist() for m in group_indices([1, 0, -1, 1], [0, 1])]
    [[1], [0, 3]]
    """
    labels = np.asarray(labels)
    cluster_ids = np.asarray(cluster_ids, dtype=labels.dtype if labels.size else int)
    if not len(cluster_ids):
        return []
    order = np.argsort(labels, kind="stable")
    ordered = labels[order]
    starts = np.searchsorted(ordered, cluster_ids, side="left")
    ends = np.searchsorted(ordered, cluster_ids, side="right")
    return [order[a:b] for a, b in zip(starts, ends)]


def cluster_sums(embeddings, labels, n_clusters):
    """Sum and count of the embeddings in each cluster ``0..n_clusters-1``: O(n d).

    Labels outside that range (noise, -1) are ignored. The embeddings are
    read in blocks, so a memory-mapped matrix is never loaded whole; sums
    are accumulated in float64.

    Returns
    -------
    sums : ndarray of shape (n_clusters, n_features)
    counts : ndarray of shape (n_clusters,)
    """
    from scipy import sparse

    labels = np.asarray(labels)
    n, d = embeddings.shape
    sums = np.zeros((n_clusters, d), dtype=np.float64)
    counts = np.zeros(n_clusters, dtype=np.int64)
    for start in range(0, n, _CHUNK):
        block_labels = labels[start : start + _CHUNK]
        keep = (block_labels >= 0) & (block_labels < n_clusters)
        rows = np.flatnonzero(keep)
        if not len(rows):
            continue
        block = np.asarray(embeddings[start : start + _CHUNK])
        indicator = sparse.csr_matrix(
            (np.ones(len(rows)), (block_labels[rows], rows)),
            shape=(n_clusters, len(block)),
        )
        sums += indicator @ block.astype(np.float64, copy=False)
        counts += np.bincount(block_labels[rows], minlength=n_clusters)
    return sums, counts


def centroids(embeddings, labels, cluster_ids):
    """Mean embedding of each cluster, L2-normalised (rows in ``cluster_ids`` order).

    One pass over the embeddings, whatever the number of clusters.
    """
    labels = np.asarray(labels, dtype=np.intp)
    cluster_ids = np.asarray(cluster_ids, dtype=np.intp)
    if not len(cluster_ids):
        return np.empty((0, embeddings.shape[1]))
    # renumber: cluster_ids[j] -> j, any other label -> -1 (ignored)
    lookup = np.full(max(cluster_ids.max(), labels.max(initial=-1)) + 1, -1)
    lookup[cluster_ids] = np.arange(len(cluster_ids))
    rows = np.full(len(labels), -1)
    valid = labels >= 0
    rows[valid] = lookup[labels[valid]]
    sums, counts = cluster_sums(embeddings, rows, len(cluster_ids))
    out = sums / np.maximum(counts, 1)[:, None]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1, norms)


def group_directions(vectors, weights, groups, n_groups):
    """Unit direction of each group's weighted sum of ``vectors``.

    The centroid of a parent made of children: row ``g`` is the sum of the
    rows of ``vectors`` in group ``g``, each times its weight (a child's
    size), L2-normalised (a group with no weight stays zero).

    Parameters
    ----------
    vectors : ndarray of shape (n_items, n_features)
    weights : ndarray of shape (n_items,)
    groups : ndarray of int, shape (n_items,)
        Group ``0..n_groups-1`` of each row.
    n_groups : int

    Returns
    -------
    directions : ndarray of shape (n_groups, n_features)
    """
    sums = np.zeros((n_groups, vectors.shape[1]))
    np.add.at(sums, groups, vectors * np.asarray(weights)[:, None])
    return sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-300)
