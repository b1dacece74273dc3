"""Meta-clustering: group top-level clusters under broader parents until few remain.

Clio's loop, with a guarantee Kura's lacks: it always terminates. Each round
asks the namer to merge the current roots into at most ``level_bound``
parents (the levels allowed share the reduction evenly, at least halving at
each); a round that does not shrink the roots (or overshoots the bound) is
replaced by a deterministic agglomerative merge, and ``max_levels`` caps the
depth, the last level merging straight to ``max_clusters``.
"""

import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..naming import KeywordNamer
from ..naming._base import MemberTexts, cluster_sums, group_indices

logger = logging.getLogger(__name__)


@dataclass
class Node:
    """One cluster in the tree while it is being built."""

    id: int
    name: object  # ClusterName
    level: int
    members: np.ndarray  # indices of the conversations in it
    children: list = field(default_factory=list)
    parent: int | None = None


def level_bound(n_roots, max_clusters, levels_left):
    """Most parents the next level may have.

    The levels left share the reduction from ``n_roots`` to ``max_clusters``
    evenly: each divides the roots by ``(n_roots / max_clusters) **
    (1 / levels_left)``, and by at least 2, so the tree has the same fan-out
    at every level rather than a last level that merges hundreds of roots at
    once. The last level allowed merges straight to ``max_clusters``.

    Parameters
    ----------
    n_roots : int
        Current top-level clusters.
    max_clusters : int
        Most roots allowed at the top.
    levels_left : int
        Meta levels still allowed, this one included.

    Returns
    -------
    bound : int

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


def build_hierarchy(
    base_nodes,
    texts,
    embeddings,
    *,
    namer,
    embed_names,
    max_clusters,
    max_levels,
    random_state=None,
    verbose=0,
):
    """Add meta levels above ``base_nodes`` until at most ``max_clusters`` roots remain.

    Parameters
    ----------
    base_nodes : list of Node
        Level-0 clusters, ids 0..k-1.
    texts : list of str
        The conversations' summaries.
    embeddings : ndarray of shape (n_conversations, n_features)
        Their embeddings.
    namer : KeywordNamer or LLMNamer
        Fitted-parameter object with ``merge_round`` and ``embeds_names``.
    embed_names : callable
        Embeds a list of "name: description" strings (used when
        ``namer.embeds_names``).
    max_clusters : int
        Most roots allowed at the top.
    max_levels : int
        Most meta levels built.
    random_state : int, RandomState instance or None
        Seed passed to the namer.
    verbose : int, default=0
        Above 0, log the start and the outcome of each level at INFO level
        (logger ``kura_sklearn.hierarchy._meta``). The namer's and the name
        embedder's own ``verbose`` decide their bars.

    Returns
    -------
    nodes : list of Node
        Base and meta nodes, ids in creation order, parents set.
    calls_per_level : dict of int to int
        LLM calls made at each meta level.
    """
    nodes = list(base_nodes)
    roots = [node.id for node in nodes]
    calls_per_level = {}
    level = 0
    fallback = KeywordNamer()
    # Sum and count of the members' embeddings per node: a parent's are its
    # children's added up, so each level costs O(roots x d), not O(n x d).
    sums, counts = _base_sums(nodes, embeddings)
    cache = {}  # shared by the levels' MemberTexts (e.g. the namer's term matrix)
    while len(roots) > max_clusters and level < max_levels:
        level += 1
        bound = level_bound(len(roots), max_clusters, max_levels - level + 1)
        started = time.perf_counter()
        if verbose:
            logger.info(
                "Level %d: merging %d clusters into at most %d parents",
                level,
                len(roots),
                bound,
            )
        children = [nodes[r].name for r in roots]
        member_texts = MemberTexts(texts, [nodes[r].members for r in roots], cache)
        centroids = sums[roots] / np.maximum(counts[roots], 1)[:, None]
        if namer.embeds_names:
            vectors = np.asarray(
                embed_names([f"{c.name}: {c.description}" for c in children]),
                dtype=np.float64,
            )
        else:
            vectors = centroids
        assignment, parents, n_calls = namer.merge_round(
            children, vectors, member_texts, bound, random_state=random_state
        )
        calls_per_level[level] = n_calls
        if not 0 < len(parents) <= bound or len(parents) >= len(roots):
            logger.info(
                "level %d: %d parents for %d roots (bound %d); merging "
                "deterministically",
                level,
                len(parents),
                len(roots),
                bound,
            )
            assignment, parents, _ = fallback.merge_round(
                children, centroids, member_texts, bound
            )
        del member_texts
        new_roots = []
        grouped = group_indices(np.asarray(assignment), range(len(parents)))
        new_sums, new_counts = [], []
        for parent_name, positions in zip(parents, grouped):
            if not len(positions):
                continue
            child_ids = [roots[i] for i in positions]
            node = Node(
                id=len(nodes),
                name=parent_name,
                level=level,
                members=np.concatenate([nodes[c].members for c in child_ids]),
                children=child_ids,
            )
            for c in child_ids:
                nodes[c].parent = node.id
            nodes.append(node)
            new_roots.append(node.id)
            new_sums.append(sums[child_ids].sum(axis=0))
            new_counts.append(counts[child_ids].sum())
        sums = np.vstack([sums, *new_sums]) if new_sums else sums
        counts = np.concatenate([counts, new_counts]) if new_counts else counts
        if verbose:
            logger.info(
                "Level %d: %d clusters merged into %d parents in %.1f s%s",
                level,
                len(roots),
                len(new_roots),
                time.perf_counter() - started,
                f" ({n_calls} LLM calls)" if n_calls else "",
            )
        roots = new_roots
    return nodes, calls_per_level


def _base_sums(nodes, embeddings):
    """Sums and counts of the members' embeddings of ``nodes`` (ids 0..k-1)."""
    n = embeddings.shape[0]
    labels = np.full(n, -1, dtype=np.intp)
    for node in nodes:
        labels[node.members] = node.id
    sums, counts = cluster_sums(embeddings, labels, len(nodes))
    return sums, counts.astype(np.float64)
