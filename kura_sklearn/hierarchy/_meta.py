"""Meta-clustering: group the base clusters under broader parents, level by level.

Two procedures, one tree shape. With an offline namer the levels are planned
from the top down: the roots are the best grouping of the base clusters into
``max_clusters`` (K-means over their centroids, each weighted by its size,
which is K-means over every conversation with clusters kept whole), and each
level below splits its parents further, so the top level follows the data's
coarse structure however many levels sit under it. With an LLM namer,
Clio's loop runs bottom-up: the number of levels is planned as for the
offline path (:func:`plan_levels`, about ten children per parent, so 1,000
base clusters make 1,000 -> 100 -> 10), and each level asks the namer for
about its target of parents, between half and one and a half times it
(:func:`level_target`; the top level at most ``max_clusters``). A level whose
parents fall outside that band, or that does not shrink the roots, is
replaced by the size-weighted merge into the target, and ``max_levels`` caps
the depth. Both always terminate, and neither emits a parent with a single
child: such a child stays a root for the next level.
"""

import inspect
import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np
from sklearn.utils import check_random_state

from ..cluster import merge_clusters
from ..naming import MemberTexts
from ..utils import cluster_sums, group_directions, group_indices
from ._tree import tree_of_nodes

logger = logging.getLogger(__name__)

#: Children per parent the planned levels aim at (Clio: 1,000 -> 100 -> 10).
FANOUT = 10

#: A root with a smaller share of the conversations is folded into the
#: nearest other root: the top level names topics, not outliers.
MIN_ROOT_SHARE = 0.01


@dataclass
class _Node:
    """One cluster while the tree is being built (a :class:`Cluster` once done)."""

    id: int
    name: object  # ClusterName
    level: int
    members: np.ndarray  # indices of the conversations in it
    children: list = field(default_factory=list)
    parent: int | None = None


def level_bound(n_roots, max_clusters, levels_left):
    """Most parents a level of the LLM loop had before issue 13 (for comparison).

    The levels left share the reduction from ``n_roots`` to ``max_clusters``
    evenly: each divides the roots by ``(n_roots / max_clusters) **
    (1 / levels_left)``, and by at least 2. The last level allowed merges
    straight to ``max_clusters``. The loop now aims at :func:`level_target`
    on the levels :func:`plan_levels` gives (100 base clusters: one meta
    level where this schedule made four).

    Examples
    --------
    >>> [level_bound(n, 10, 5) for n in (30, 320, 100_000)]
    [15, 160, 15849]
    >>> level_bound(320, 10, 1)
    10
    """
    if levels_left <= 1:
        return max_clusters
    ratio = max(2.0, (n_roots / max_clusters) ** (1.0 / levels_left))
    # the tolerance keeps exact roots exact: 64 ** (1 / 3) is 3.9999999999999996
    return max(max_clusters, math.ceil(n_roots / ratio - 1e-9))


def level_target(n_roots, max_clusters, levels_left):
    """Parents aimed at by the next LLM level, and the band it must land in.

    The levels left share the reduction from ``n_roots`` to ``max_clusters``
    with a fixed ratio: the next level aims at ``max_clusters * (n_roots /
    max_clusters) ** ((levels_left - 1) / levels_left)`` parents and accepts
    between half and one and a half times that (Clio's band). The last
    level aims at ``max_clusters``, which is also its upper bound.

    Returns
    -------
    target, low, high : int

    Examples
    --------
    >>> level_target(1000, 10, 2), level_target(100, 10, 1)
    ((100, 50, 150), (10, 5, 10))
    >>> level_target(12, 10, 1), level_target(10_000, 10, 3)
    ((10, 5, 10), (1000, 500, 1500))
    """
    if levels_left <= 1:
        target = high = max_clusters
    else:
        ratio = n_roots / max_clusters
        target = round(max_clusters * ratio ** ((levels_left - 1) / levels_left))
        target = max(max_clusters, min(target, n_roots - 1))
        high = max(target, min(n_roots - 1, math.floor(1.5 * target)))
    low = max(1, math.ceil(target / 2))
    return target, low, high


def plan_levels(n_base, max_clusters, max_levels, fanout=FANOUT):
    """Number of clusters aimed at on each meta level, from the bottom up.

    As few levels as give about ``fanout`` children per parent (at most
    ``max_levels``), the sizes spaced evenly on a log scale from ``n_base``
    down to ``max_clusters``.

    Examples
    --------
    >>> plan_levels(30, 10, 5), plan_levels(300, 10, 5), plan_levels(100_000, 10, 5)
    ([10], [55, 10], [10000, 1000, 100, 10])
    >>> plan_levels(100_000, 10, 2), plan_levels(8, 10, 5)
    ([1000, 10], [])
    """
    if n_base <= max_clusters or max_levels < 1:
        return []
    ratio = n_base / max_clusters
    n_levels = min(max_levels, max(1, math.ceil(math.log(ratio, fanout) - 1e-9)))
    return [
        max(max_clusters, round(max_clusters * ratio ** ((n_levels - lv) / n_levels)))
        for lv in range(1, n_levels + 1)
    ]


def nested_partition(centroids, sizes, level_sizes, *, random_state=None):
    """Group base clusters into nested partitions, planned from the top.

    The top partition is the size-weighted K-means of the base centroids
    into ``level_sizes[-1]`` groups, with roots holding less than
    ``MIN_ROOT_SHARE`` of the members folded into the nearest other root.
    Each lower level splits every group of the level above into a number of
    parts proportional to its base clusters, with the same weighted K-means.

    Parameters
    ----------
    centroids : ndarray of shape (n_base, n_features)
        Mean embedding of each base cluster.
    sizes : ndarray of shape (n_base,)
        Members of each base cluster.
    level_sizes : list of int
        Groups wanted per meta level, bottom first (see :func:`plan_levels`).
    random_state : int, RandomState instance or None, default=None
        Seed of the K-means starts.

    Returns
    -------
    partitions : list of ndarray of shape (n_base,)
        ``partitions[l][c]``: the group of base cluster ``c`` at meta level
        ``l + 1``; groups of a level lie within one group of the level above.

    Examples
    --------
    >>> import numpy as np
    >>> from kura_sklearn.hierarchy import nested_partition
    >>> cents = np.array([[1, 0], [1, .1], [.9, .3], [0, 1], [.1, 1], [.3, .9]])
    >>> parts = nested_partition(cents, np.ones(6), [4, 2], random_state=0)
    >>> [p.tolist() for p in parts]
    [[0, 0, 1, 2, 2, 3], [0, 0, 0, 1, 1, 1]]
    """
    rng = check_random_state(random_state)
    centroids = np.asarray(centroids, dtype=np.float64)
    sizes = np.asarray(sizes, dtype=np.float64)
    k = len(centroids)
    if not level_sizes:
        return []
    top = merge_clusters(centroids, sizes, level_sizes[-1], random_state=rng)
    top = _fold_small_groups(centroids, sizes, top)
    partitions = [top]
    for target in reversed(level_sizes[:-1]):
        above = partitions[0]
        below = np.empty(k, dtype=np.intp)
        next_id = 0
        for members in group_indices(above, range(int(above.max()) + 1)):
            share = max(1, round(target * len(members) / k))
            parts = merge_clusters(
                centroids[members], sizes[members], share, n_init=3, random_state=rng
            )
            below[members] = parts + next_id
            next_id += int(parts.max()) + 1
        partitions.insert(0, below)
    return partitions


def _fold_small_groups(centroids, sizes, groups):
    """Fold groups under ``MIN_ROOT_SHARE`` of ``sizes`` into the nearest other."""
    n_groups = int(groups.max()) + 1
    weight = np.bincount(groups, sizes, n_groups)
    small = weight < MIN_ROOT_SHARE * sizes.sum()
    if not small.any() or small.all():
        return groups
    unit = centroids / np.maximum(
        np.linalg.norm(centroids, axis=1, keepdims=True), 1e-300
    )
    sums = group_directions(unit, sizes, groups, n_groups)
    kept = np.flatnonzero(~small)
    target = np.arange(n_groups)
    for g in np.flatnonzero(small):
        target[g] = kept[np.argmax(sums[kept] @ sums[g])]
    _, out = np.unique(target[groups], return_inverse=True)
    return out.ravel().astype(np.intp)


def build_hierarchy(
    base_names,
    labels,
    texts,
    embeddings,
    *,
    namer,
    embed_names,
    max_clusters,
    max_levels,
    chat_ids=None,
    random_state=None,
    verbose=0,
):
    """Add meta levels above the base clusters until ``max_clusters`` roots at most.

    Parameters
    ----------
    base_names : list of ClusterName
        The name of each base cluster, ids ``0..k-1``.
    labels : ndarray of shape (n_conversations,)
        The base cluster of each conversation, -1 for noise (in no cluster).
    texts : list of str
        The conversations' summaries.
    embeddings : ndarray of shape (n_conversations, n_features)
        Their embeddings.
    namer : namer
        With ``name_groups`` and ``embeds_names=False`` (the offline namers),
        the levels are planned top-down (:func:`nested_partition`) and the
        namer only names them; otherwise its ``merge_round`` proposes each
        level (the LLM loop).
    embed_names : callable
        Embeds a list of texts with the clusterer's embedder (used for the
        LLM namer's "name: description" strings and by namers that embed
        candidate names).
    max_clusters : int
        Most roots allowed at the top.
    max_levels : int
        Most meta levels built.
    chat_ids : sequence of str, default=None
        The conversations' ids, for the clusters' ``member_ids``; None uses
        their positions (``"0"``, ``"1"``...).
    random_state : int, RandomState instance or None
        Seed of the merges and of the namer.
    verbose : int, default=0
        Above 0, log the start and the outcome of each level at INFO level
        (logger ``kura_sklearn.hierarchy._meta``).

    Returns
    -------
    tree : ClusterTree
        Base and meta clusters, ids in creation order (children before
        their parents), named as the namer named them.
    calls_per_level : dict of int to int
        LLM calls made at each meta level.
    """
    labels = np.asarray(labels, dtype=np.intp)
    members = group_indices(labels, range(len(base_names)))
    nodes = [
        _Node(id=c, name=name, level=0, members=rows)
        for c, (name, rows) in enumerate(zip(base_names, members))
    ]
    builder = _Builder(nodes, texts, embeddings, namer, embed_names)
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    if not namer.embeds_names and hasattr(namer, "name_groups"):
        builder.planned(max_clusters, max_levels, seed, verbose)
    else:
        builder.llm_loop(max_clusters, max_levels, seed, verbose)
    if chat_ids is None:
        chat_ids = [str(i) for i in range(len(labels))]
    return tree_of_nodes(builder.nodes, chat_ids), builder.calls_per_level


class _Builder:
    """The growing tree: nodes, current roots, and each node's embedding sum."""

    def __init__(self, nodes, texts, embeddings, namer, embed_names):
        self.nodes = nodes
        self.roots = [node.id for node in nodes]
        self.texts = texts
        self.namer = namer
        self.embed_names = embed_names
        self.calls_per_level = {}
        # Sum and count of the members' embeddings per node: a parent's are
        # its children's added up, so each level costs O(roots x d).
        self.sums, self.counts = _base_sums(nodes, embeddings)
        self.cache = {}  # shared by the levels' MemberTexts (the term matrix)

    def centroids(self, ids):
        return self.sums[ids] / np.maximum(self.counts[ids], 1)[:, None]

    def planned(self, max_clusters, max_levels, seed, verbose):
        base = list(self.roots)
        sizes = self.counts[base]
        level_sizes = plan_levels(len(base), max_clusters, max_levels)
        partitions = nested_partition(
            self.centroids(base), sizes, level_sizes, random_state=seed
        )
        # any base cluster below a node tells which group the node is in
        below = np.asarray(base, dtype=np.intp)
        for level, part in enumerate(partitions, start=1):
            started = time.perf_counter()
            n_roots = len(self.roots)
            if verbose:
                logger.info(
                    "Level %d: merging %d clusters into %d groups",
                    level,
                    n_roots,
                    int(part.max()) + 1,
                )
            self.calls_per_level[level] = 0
            # base ids are 0..k-1, so a partition is indexed by them
            self._grow(level, part[below], seed)
            below = self._representatives()
            if verbose:
                logger.info(
                    "Level %d: %d clusters merged into %d roots in %.1f s",
                    level,
                    n_roots,
                    len(self.roots),
                    time.perf_counter() - started,
                )

    def _representatives(self):
        """One base cluster under each current root."""
        out = []
        for r in self.roots:
            node = self.nodes[r]
            while node.children:
                node = self.nodes[node.children[0]]
            out.append(node.id)
        return np.asarray(out, dtype=np.intp)

    def _grow(self, level, groups, seed, names=None):
        """Make a parent for each group of 2+ current roots; single ones stay roots.

        ``groups[i]`` is the group of ``self.roots[i]``. Parents are named by
        the namer's ``name_groups`` unless ``names`` (one per group) is given.
        """
        roots = self.roots
        n_groups = int(groups.max()) + 1 if len(groups) else 0
        grouped = group_indices(groups, range(n_groups))
        multi = [g for g in range(n_groups) if len(grouped[g]) >= 2]
        if names is None and multi:
            positions = np.concatenate([grouped[g] for g in multi])
            child_ids = [roots[i] for i in positions]
            sub_assignment = np.repeat(
                np.arange(len(multi)), [len(grouped[g]) for g in multi]
            )
            member_texts = MemberTexts(
                self.texts, [self.nodes[c].members for c in child_ids], self.cache
            )
            named = self.namer.name_groups(
                [self.nodes[c].name for c in child_ids],
                sub_assignment,
                member_texts,
                self.centroids(child_ids),
                embed=self.embed_names,
                random_state=seed,
            )
            names = {g: named[j] for j, g in enumerate(multi)}
        new_roots, new_sums, new_counts = [], [], []
        for g in range(n_groups):
            positions = grouped[g]
            if len(positions) == 0:
                continue
            if len(positions) == 1:  # no parent of one child: it stays a root
                new_roots.append(roots[positions[0]])
                continue
            child_ids = [roots[i] for i in positions]
            node = _Node(
                id=len(self.nodes),
                name=names[g],
                level=level,
                members=np.concatenate([self.nodes[c].members for c in child_ids]),
                children=child_ids,
            )
            for c in child_ids:
                self.nodes[c].parent = node.id
            self.nodes.append(node)
            new_roots.append(node.id)
            new_sums.append(self.sums[child_ids].sum(axis=0))
            new_counts.append(self.counts[child_ids].sum())
        if new_sums:
            self.sums = np.vstack([self.sums, *new_sums])
            self.counts = np.concatenate([self.counts, new_counts])
        self.roots = new_roots

    def llm_loop(self, max_clusters, max_levels, seed, verbose):
        # as many levels as the plan gives (about ten children per parent);
        # max_levels still caps a loop that needs more
        n_levels = len(plan_levels(len(self.roots), max_clusters, max_levels))
        targeted = "target" in inspect.signature(self.namer.merge_round).parameters
        level = 0
        while len(self.roots) > max_clusters and level < max_levels:
            level += 1
            roots = self.roots
            target, low, high = level_target(
                len(roots), max_clusters, max(1, n_levels - level + 1)
            )
            started = time.perf_counter()
            if verbose:
                logger.info(
                    "Level %d: merging %d clusters into about %d parents (%d to %d)",
                    level,
                    len(roots),
                    target,
                    low,
                    high,
                )
            children = [self.nodes[r].name for r in roots]
            member_texts = MemberTexts(
                self.texts, [self.nodes[r].members for r in roots], self.cache
            )
            if self.namer.embeds_names:
                vectors = np.asarray(
                    self.embed_names([f"{c.name}: {c.description}" for c in children]),
                    dtype=np.float64,
                )
            else:
                vectors = self.centroids(roots)
            extra = {"target": target, "embed": self.embed_names} if targeted else {}
            assignment, parents, n_calls = self.namer.merge_round(
                children, vectors, member_texts, high, random_state=seed, **extra
            )
            self.calls_per_level[level] = n_calls
            assignment = np.asarray(assignment, dtype=np.intp)
            if not low <= len(parents) <= high or len(parents) >= len(roots):
                logger.warning(
                    "level %d: %d parents for %d roots (band %d to %d); merging "
                    "by size-weighted K-means into %d, names marked 'fallback'",
                    level,
                    len(parents),
                    len(roots),
                    low,
                    high,
                    target,
                )
                assignment = merge_clusters(
                    self.centroids(roots), self.counts[roots], target, random_state=seed
                )
                parents = None
            names = None if parents is None else dict(enumerate(parents))
            if names is None:
                names = self._offline_names(roots, assignment, member_texts, seed)
            del member_texts
            self._grow(level, assignment, seed, names=names)
            if verbose:
                logger.info(
                    "Level %d: %d clusters merged into %d roots in %.1f s%s",
                    level,
                    len(roots),
                    len(self.roots),
                    time.perf_counter() - started,
                    f" ({n_calls} LLM calls)" if n_calls else "",
                )
            if len(self.roots) >= len(roots):
                break  # nothing merged (every group of one): stop, never loop

    def _offline_names(self, roots, assignment, member_texts, seed):
        """Keyword names for a round the LLM's answers could not make.

        They stand in for the LLM's, so they are marked ``"fallback"``.
        """
        from dataclasses import replace

        from ..naming import KeywordNamer

        named = KeywordNamer().name_groups(
            [self.nodes[r].name for r in roots],
            assignment,
            member_texts,
            self.centroids(roots),
            embed=self.embed_names,
            random_state=seed,
        )
        return {g: replace(name, source="fallback") for g, name in enumerate(named)}


def _base_sums(nodes, embeddings):
    """Sums and counts of the members' embeddings of ``nodes`` (ids 0..k-1)."""
    n = embeddings.shape[0]
    labels = np.full(n, -1, dtype=np.intp)
    for node in nodes:
        labels[node.members] = node.id
    sums, counts = cluster_sums(embeddings, labels, len(nodes))
    return sums, counts.astype(np.float64)
