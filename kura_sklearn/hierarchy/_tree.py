"""The fitted cluster tree: one record per cluster and the walks over them.

Every view of the tree (the tables, the terminal tree, the map, the report,
the insight measures) asks :class:`ClusterTree` for parents, ancestors and
roots instead of walking ``parent_id`` links itself, and values that follow
from the tree (a cluster's count and slug, the members' rows) are computed
when asked rather than stored.
"""

from dataclasses import dataclass
from operator import itemgetter

import numpy as np

from ..utils import slugify


@dataclass(frozen=True)
class Cluster:
    """One base cluster or meta-cluster of a fitted tree.

    Parameters
    ----------
    id : int
        Base clusters are ``0..n_base-1`` (the values of a fitted
        clusterer's ``labels_``); meta-clusters follow, children before
        their parents.
    name, description : str
        What it is about. For a withheld cluster (``hidden``), a notice
        instead of the text written from its members.
    parent_id : int or None
        The meta-cluster holding it; None for a root.
    level : int
        0 for base clusters, 1 for their first parents, and so on; a parent's
        level is above each of its children's.
    member_ids : tuple of str
        chat_ids of the conversations in it, with all its descendants'.
    children : tuple of int, default=()
        Ids of its child clusters (empty for base clusters).
    keywords : tuple of str, default=()
        Distinctive terms, when the namer provides them.
    name_source : {"offline", "llm", "fallback"}, default="offline"
        Who named it: an offline namer, the LLM, or an offline method that
        stood in after the LLM failed (the namer's ``on_error="fallback"``).
    hidden : bool, default=False
        True when its name, description and keywords are withheld (too few
        conversations or users, or a low privacy rating).
    n_users : int or None, default=None
        Distinct users among the members, when the input named them.
    privacy_score : int or None, default=None
        Clio's 1-5 privacy rating of the name and description by an LLM
        namer with ``audit_privacy=True``; None unaudited.

    Attributes
    ----------
    count : int
        Conversations in it, ``len(member_ids)``.
    slug : str
        An ASCII form of the name, unique in the tree: ``"<name>-<id>"``.

    See Also
    --------
    ClusterTree : The clusters of a fit and the walks over them.

    Examples
    --------
    >>> from kura_sklearn.hierarchy import Cluster
    >>> cluster = Cluster(id=3, name="Reset passwords", description="...",
    ...                   parent_id=None, level=1, member_ids=("a", "b"),
    ...                   children=(0, 1))
    >>> cluster.count, cluster.slug
    (2, 'reset-passwords-3')
    """

    id: int
    name: str
    description: str
    parent_id: int | None
    level: int
    member_ids: tuple
    children: tuple = ()
    keywords: tuple = ()
    name_source: str = "offline"
    hidden: bool = False
    n_users: int | None = None
    privacy_score: int | None = None

    @property
    def count(self):
        return len(self.member_ids)

    @property
    def slug(self):
        return f"{slugify(self.name)}-{self.id}"


@dataclass(frozen=True)
class ClusterTree:
    """The base clusters and meta-clusters of a fit, and the walks over them.

    Parameters
    ----------
    clusters : sequence of Cluster
        Indexed by id: ``clusters[i].id == i``, the base clusters (level 0)
        first, every parent after its children, and ``parent_id`` and
        ``children`` agreeing.

    Attributes
    ----------
    clusters : tuple of Cluster
        Every cluster, indexed by id.
    n_base : int
        Number of base clusters (ids ``0..n_base-1``).
    n_levels : int
        Highest level plus one.
    parents : ndarray of shape (n_clusters,)
        Parent id of each cluster, -1 for a root.
    levels : ndarray of shape (n_clusters,)
        Level of each cluster.
    roots : tuple of int
        Ids of the clusters with no parent.

    See Also
    --------
    build_hierarchy : Builds the tree above the base clusters.

    Examples
    --------
    >>> import numpy as np
    >>> from kura_sklearn.hierarchy import Cluster, ClusterTree
    >>> tree = ClusterTree([
    ...     Cluster(0, "Reset passwords", "", 2, 0, ("a", "b")),
    ...     Cluster(1, "Unlock accounts", "", 2, 0, ("c",)),
    ...     Cluster(2, "Get into accounts", "", None, 1, ("a", "b", "c"), (0, 1)),
    ... ])
    >>> tree.roots, tree.ancestors(1), tree.root_of(0)
    ((2,), [1, 2], 2)
    >>> tree.ancestor_matrix(np.array([1, -1, 0]))
    array([[ 1,  2],
           [-1, -1],
           [ 0,  2]])
    >>> [rows.tolist() for rows in tree.member_rows(np.array([1, -1, 0, 0]))]
    [[2, 3], [0], [2, 3, 0]]
    """

    clusters: tuple

    def __post_init__(self):
        clusters = tuple(self.clusters)
        object.__setattr__(self, "clusters", clusters)
        for i, c in enumerate(clusters):
            if c.id != i:
                raise ValueError(f"Cluster {c.id} is at position {i}: ids are 0..n-1.")
            if c.parent_id is not None:
                parent = clusters[c.parent_id]
                if c.id not in parent.children or parent.level <= c.level:
                    raise ValueError(
                        f"Cluster {c.id} names {c.parent_id} as its parent, which "
                        "does not list it as a child on a higher level."
                    )
            for child in c.children:
                if clusters[child].parent_id != c.id:
                    raise ValueError(
                        f"Cluster {c.id} lists {child} as a child, whose parent "
                        f"is {clusters[child].parent_id}."
                    )
        n_base = sum(c.level == 0 for c in clusters)
        if any(c.level != 0 for c in clusters[:n_base]):
            raise ValueError("The base clusters (level 0) must come first.")

    def __len__(self):
        return len(self.clusters)

    def __iter__(self):
        return iter(self.clusters)

    def __getitem__(self, cluster_id):
        return self.clusters[cluster_id]

    @property
    def n_base(self):
        return sum(c.level == 0 for c in self.clusters)

    @property
    def n_levels(self):
        return max((c.level for c in self.clusters), default=-1) + 1

    @property
    def parents(self):
        return np.array(
            [-1 if c.parent_id is None else c.parent_id for c in self.clusters],
            dtype=np.intp,
        )

    @property
    def levels(self):
        return np.array([c.level for c in self.clusters], dtype=np.intp)

    @property
    def roots(self):
        return tuple(c.id for c in self.clusters if c.parent_id is None)

    def children(self, cluster_id):
        """Ids of the children of ``cluster_id`` (empty for a base cluster)."""
        return self.clusters[cluster_id].children

    def ancestors(self, cluster_id):
        """Ids from ``cluster_id`` up to its root, inclusive.

        Parameters
        ----------
        cluster_id : int

        Returns
        -------
        chain : list of int
            ``cluster_id`` first, its root last.
        """
        chain = [int(cluster_id)]
        while self.clusters[chain[-1]].parent_id is not None:
            chain.append(self.clusters[chain[-1]].parent_id)
        return chain

    def root_of(self, cluster_ids):
        """The root above each cluster.

        Parameters
        ----------
        cluster_ids : int or array-like of int
            Cluster ids; in an array, -1 (noise) stays -1.

        Returns
        -------
        root : int or ndarray of int
        """
        roots = np.arange(len(self.clusters), dtype=np.intp)
        parents = self.parents
        # parents have higher levels: walk down from the top so each
        # cluster's parent already knows its root
        for c in np.argsort(-self.levels, kind="stable"):
            if parents[c] >= 0:
                roots[c] = roots[parents[c]]
        if np.ndim(cluster_ids) == 0:
            return int(roots[int(cluster_ids)])
        ids = np.asarray(cluster_ids, dtype=np.intp)
        return np.where(ids >= 0, roots[np.maximum(ids, 0)], -1)

    def ancestor_matrix(self, labels=None):
        """Each label's ancestor on every level, as one integer matrix.

        Parameters
        ----------
        labels : array-like of shape (n_samples,), default=None
            Base-cluster labels, -1 for noise; None is every base cluster
            once (``0..n_base-1``).

        Returns
        -------
        ids : ndarray of shape (n_samples, n_levels)
            ``ids[i, level]``: the cluster on that level above (or at)
            ``labels[i]``; -1 where the chain skips the level or ends below
            it, and on the whole row of a noise label.
        """
        n_base = self.n_base
        parents, levels = self.parents, self.levels
        # one row per base cluster plus an all -1 row for noise, filled one
        # step up the chains at a time: as many steps as levels, no per-row loop
        table = np.full((n_base + 1, self.n_levels), -1, dtype=np.intp)
        rows = np.arange(n_base)
        current = rows.copy()
        while len(rows):
            table[rows, levels[current]] = current
            current = parents[current]
            alive = current >= 0
            rows, current = rows[alive], current[alive]
        if labels is None:
            return table[:n_base]
        labels = np.asarray(labels, dtype=np.intp)
        return table[np.where(labels >= 0, labels, n_base)]

    def member_rows(self, labels):
        """The rows of ``labels`` in each cluster, in ``member_ids`` order.

        Parameters
        ----------
        labels : array-like of shape (n_samples,)
            The base-cluster label of each row of the training data (-1 for
            noise), e.g. a fitted clusterer's ``labels_``.

        Returns
        -------
        rows : list of ndarray of int
            ``rows[c]``: the positions of cluster ``c``'s conversations, a
            base cluster's in ascending order and a parent's as its
            children's one after the other, as ``member_ids`` lists them.
        """
        labels = np.asarray(labels, dtype=np.intp)
        order = np.argsort(labels, kind="stable")
        bounds = np.searchsorted(labels[order], np.arange(self.n_base + 1))
        rows = [None] * len(self.clusters)
        for c in range(self.n_base):
            rows[c] = order[bounds[c] : bounds[c + 1]]
        for c in np.argsort(self.levels, kind="stable")[self.n_base :]:
            rows[c] = np.concatenate([rows[k] for k in self.clusters[c].children])
        return rows


def tree_of_nodes(nodes, chat_ids):
    """The nodes :func:`build_hierarchy` grew, as a tree of frozen records.

    Parameters
    ----------
    nodes : list
        Objects with ``id``, ``name`` (a ``ClusterName``), ``parent``,
        ``level``, ``members`` (row positions) and ``children``.
    chat_ids : sequence of str
        The id of each row.

    Returns
    -------
    tree : ClusterTree
    """
    return ClusterTree(
        [
            Cluster(
                id=node.id,
                name=node.name.name,
                description=node.name.description,
                parent_id=node.parent,
                level=node.level,
                member_ids=_pick(chat_ids, node.members),
                children=tuple(node.children),
                keywords=tuple(node.name.keywords),
                name_source=getattr(node.name, "source", "offline"),
            )
            for node in nodes
        ]
    )


def _pick(values, positions):
    """``tuple(values[i] for i in positions)``, at C speed."""
    if len(positions) == 0:
        return ()
    if len(positions) == 1:
        return (values[int(positions[0])],)
    return itemgetter(*np.asarray(positions).tolist())(values)
