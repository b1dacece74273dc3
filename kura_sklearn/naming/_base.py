"""What namers share: the name record, slugs, and bounded example sampling."""

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np


@dataclass(frozen=True)
class ClusterName:
    """Name, description and keywords of one cluster.

    Attributes
    ----------
    name : str
        Short imperative name, e.g. "Debug Python list comprehensions".
    description : str
        Two sentences on what the conversations in the cluster asked for.
    keywords : tuple of str
        Distinctive terms (keyword namer only).
    source : {"offline", "llm", "fallback"}
        Who wrote it: an offline namer, the LLM, or an offline method
        standing in after the LLM failed (``on_error="fallback"``).
    """

    name: str
    description: str
    keywords: tuple = field(default=())
    source: str = "offline"


def slugify(text, max_length=60):
    """ASCII, lower-case, hyphen-separated form of ``text`` for ids and URLs.

    Examples
    --------
    >>> from kura_sklearn.naming import slugify
    >>> slugify("Débug Python: list comprehensions!")
    'debug-python-list-comprehensions'
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "cluster"


class MemberTexts(Sequence):
    """Each cluster's member texts, as a read-only list of lists built on demand.

    What :func:`~kura_sklearn.hierarchy.build_hierarchy` gives a namer's
    ``merge_round``: ``member_texts[i]`` is the list of texts of child ``i``,
    as with a plain list of lists, but nothing is copied until asked for.
    Namers that know it use ``texts`` (every text), ``members`` (index
    arrays into ``texts``) and ``cache``, a dict shared by every level of
    one hierarchy, where :class:`KeywordNamer` keeps its term matrix so that
    the texts are tokenised once, not once per level.
    """

    def __init__(self, texts, members, cache=None):
        self.texts = texts
        self.members = members
        self.cache = {} if cache is None else cache

    def __len__(self):
        return len(self.members)

    def __getitem__(self, i):
        members = self.members[i]
        if len(members) == 0:
            return []
        if len(members) == 1:
            return [self.texts[int(members[0])]]
        return list(itemgetter(*np.asarray(members).tolist())(self.texts))

    def sizes(self):
        """Number of member texts of each cluster."""
        return np.asarray([len(m) for m in self.members], dtype=np.int64)


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


def sample_examples(member_idx, embeddings, centroid, max_examples, rng):
    """At most ``max_examples`` members: half nearest the centroid, half random.

    The prompt stays bounded however large the cluster is, and shows both
    its typical requests and its range.
    """
    member_idx = np.asarray(member_idx)
    if len(member_idx) <= max_examples:
        return member_idx
    n_central = max(1, max_examples // 2)
    sims = embeddings[member_idx] @ centroid
    order = np.argsort(-sims, kind="stable")
    central = member_idx[order[:n_central]]
    rest = member_idx[order[n_central:]]
    random_part = rng.choice(rest, size=max_examples - n_central, replace=False)
    return np.concatenate([central, np.sort(random_part)])


def nearest_clusters(cluster_centroids, i, n):
    """Indices of the ``n`` clusters whose centroids are nearest cluster ``i``'s."""
    sims = cluster_centroids @ cluster_centroids[i]
    sims[i] = -np.inf
    return [
        int(j) for j in np.argsort(-sims, kind="stable")[:n] if np.isfinite(sims[j])
    ]


#: Up to this many clusters, ``all_nearest_clusters`` compares every pair.
_EXACT_NEIGHBOURS_MAX = 8192


def all_nearest_clusters(cluster_centroids, n, *, random_state=None):
    """The ``n`` nearest other clusters of every cluster, by centroid similarity.

    Up to ``_EXACT_NEIGHBOURS_MAX`` clusters the search is exact, in blocks
    (the same answer as :func:`nearest_clusters` for each row). Above it,
    comparing every pair would grow with the square of the number of
    clusters, so the centroids are first split into groups of about 1,000 by
    a :class:`~kura_sklearn.cluster.KMeansTreeClusterer` and each cluster's
    neighbours are searched within its group: near-linear, and the
    neighbours found are near ones, which is what contrastive examples need.

    Returns
    -------
    neighbours : list of list of int
        ``neighbours[i]``: at most ``n`` indices, nearest first, never ``i``.
    """
    cents = np.asarray(cluster_centroids)
    k = len(cents)
    if n <= 0 or k < 2:
        return [[] for _ in range(k)]
    if k <= _EXACT_NEIGHBOURS_MAX:
        return _nearest_within(cents, np.arange(k), n)
    from ..cluster import KMeansTreeClusterer

    groups = KMeansTreeClusterer(
        n_clusters=max(2, k // 1000), random_state=random_state
    ).fit_predict(cents.astype(np.float32))
    out = [None] * k
    for members in group_indices(groups, range(int(groups.max()) + 1)):
        for i, found in zip(members, _nearest_within(cents, members, n)):
            out[i] = found
    return out


def _nearest_within(cents, members, n, block=1024):
    """Exact ``n`` nearest among ``members`` for each of them, in row blocks."""
    sub = cents[members]
    m = len(members)
    n = min(n, m - 1)
    out = []
    for start in range(0, m, block):
        sims = sub[start : start + block] @ sub.T
        local = np.arange(start, start + len(sims))
        sims[np.arange(len(sims)), local] = -np.inf
        if n < m - 1:
            top = np.argpartition(-sims, n - 1, axis=1)[:, :n]
        else:
            top = np.tile(np.arange(m), (len(sims), 1))
        for row, cand in zip(sims, top):
            cand = cand[np.isfinite(row[cand])]
            # nearest first; ties by index, as nearest_clusters' stable sort
            cand = cand[np.lexsort((cand, -row[cand]))]
            out.append([int(members[j]) for j in cand[:n]])
    return out
