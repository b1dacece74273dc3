"""What namers share: the name record, member texts and bounded example sampling."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np

from ..utils import (  # noqa: F401 - re-exported by naming
    centroids,
    cluster_sums,
    group_directions,
    group_indices,
    slugify,
)


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
    source : {"offline", "llm", "fallback", "withheld"}
        Who wrote it: an offline namer, the LLM, an offline method standing
        in after the LLM failed (``on_error="fallback"``), or the privacy
        thresholds ("withheld": a notice in place of the name).
    """

    name: str
    description: str
    keywords: tuple = field(default=())
    source: str = "offline"


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
