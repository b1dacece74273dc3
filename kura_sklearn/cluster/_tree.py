"""K-means tree: Kura's many small clusters at a cost that grows near-linearly.

Kura's sizing rule, ``k = ceil(n / 10)``, makes one flat K-means cost grow
with n x k, that is with n squared. The tree splits the data into
``branching_factor`` groups by K-means (fitted on a bounded sample), shares
the k clusters out among the groups in proportion to their size, and
recurses until a group's share is at most ``max_leaf_clusters``; each leaf
group is then clustered by plain K-means. Every level costs O(n x
branching_factor), the leaves O(n x max_leaf_clusters), and there are about
log(k / max_leaf_clusters) / log(branching_factor) levels.
"""

from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)
from threadpoolctl import threadpool_limits

from ..utils import VersionStampMixin
from ._kmeans import kura_n_clusters

#: Rows per block when computing distances, so memory stays bounded.
_CHUNK = 8192


def _nearest(X, rows, centers, weights=None):
    """Nearest centre of each row ``X[rows]`` and the weighted squared distances.

    Blocks of ``_CHUNK`` rows at a time: memory stays O(chunk x n_centers)
    whatever the number of rows, and ``X`` may be a memory-mapped array.
    """
    centers = np.asarray(centers, dtype=X.dtype)
    center_sq = np.einsum("ij,ij->i", centers, centers)
    labels = np.empty(len(rows), dtype=np.intp)
    inertia = 0.0
    for start in range(0, len(rows), _CHUNK):
        block = np.asarray(X[rows[start : start + _CHUNK]])
        # ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2; the first term is the
        # same for every centre, so it only matters for the distance itself
        d2 = center_sq - 2.0 * (block @ centers.T)
        best = np.argmin(d2, axis=1)
        labels[start : start + len(block)] = best
        dist = d2[np.arange(len(block)), best] + np.einsum("ij,ij->i", block, block)
        dist = np.maximum(dist, 0)
        if weights is not None:
            dist = dist * weights[rows[start : start + _CHUNK]]
        inertia += float(dist.sum(dtype=np.float64))
    return labels, inertia


def _distinct_rows(X):
    """Indices of the first occurrence of each distinct row of ``X``, sorted."""
    X = np.ascontiguousarray(X)
    rows = X.view(np.dtype((np.void, X.dtype.itemsize * X.shape[1]))).ravel()
    return np.sort(np.unique(rows, return_index=True)[1])


def _group(labels, n_groups):
    """Positions of each label value, 0..n_groups-1, from one stable sort."""
    order = np.argsort(labels, kind="stable")
    counts = np.bincount(labels, minlength=n_groups)
    return np.split(order, np.cumsum(counts)[:-1])


def _share(n_clusters, weights, counts):
    """Split ``n_clusters`` among groups in proportion to ``weights``.

    Every non-empty group gets at least one cluster and at most as many as it
    has points; the rest goes by largest remainder, so the shares add up.
    """
    share = weights / weights.sum() * n_clusters
    alloc = np.minimum(np.maximum(np.floor(share), counts > 0), counts).astype(int)
    while alloc.sum() > n_clusters:  # the minimum of one overshot
        alloc[np.argmax(np.where(alloc > 1, alloc - share, -np.inf))] -= 1
    for j in np.argsort(-(share - np.floor(share)), kind="stable"):
        if alloc.sum() == n_clusters:
            break
        if alloc[j] < counts[j]:
            alloc[j] += 1
    while alloc.sum() < n_clusters:  # rare: fill any group with room left
        alloc[np.argmax(counts - alloc)] += 1
    return alloc


class KMeansTreeClusterer(VersionStampMixin, ClusterMixin, BaseEstimator):
    """K-means into many clusters at near-linear cost, by a tree of K-means.

    For Kura's sizing rule on large inputs: ``k = ceil(n / 10)`` clusters
    makes flat K-means cost grow with n x k, i.e. n squared (100,000
    embeddings into 10,000 clusters take minutes, a million take hours).
    This clusterer splits the points into ``branching_factor`` groups by
    K-means fitted on a sample of at most ``max_split_samples`` points, gives
    each group its share of the clusters (in proportion to its size), and
    splits again until a group's share is at most ``max_leaf_clusters``;
    each such leaf group is clustered by plain K-means. Cost grows as
    n x (branching_factor x depth + max_leaf_clusters): near-linear in n.

    The price is that a point never leaves the group its first splits put it
    in, so the inertia is somewhat higher than flat K-means reaches.

    Parameters
    ----------
    n_clusters : int, default=None
        Fixed number of clusters. ``None`` applies Kura's rule,
        ``ceil(n_samples / clusters_per_group)``, at ``fit``.
    clusters_per_group : float, default=10
        Average cluster size wanted when ``n_clusters`` is None.
    branching_factor : int, default=16
        Most groups a split makes; fewer when fewer bring every group's share
        within ``max_leaf_clusters``.
    max_leaf_clusters : int, default=64
        Groups whose share of clusters is at most this are clustered by
        plain K-means; larger shares are split further. Larger values cost
        more and come closer to flat K-means.
    max_split_samples : int, default=16384
        The K-means of a split is fitted on a random sample of at most this
        many of the group's points; all of them are then assigned to the
        nearest group centre.
    init : {"k-means++", "random"}, default="k-means++"
        Initialisation of every K-means in the tree.
    max_iter : int, default=300
        Most iterations of each K-means.
    tol : float, default=1e-4
        Relative tolerance of each K-means.
    random_state : int, RandomState instance or None, default=None
        Seed of the samples and of every K-means. Pass an int for
        reproducible clusters.
    n_jobs : int, default=None
        Leaf groups clustered at once, in threads. Every K-means of the tree
        runs on one thread (they are small, and OpenMP or BLAS threads
        waiting on each other made the fit three to four times slower on the
        busy 2-core machine this was measured on); ``None`` means 1.

    Attributes
    ----------
    n_clusters_ : int
        Number of clusters, resolved at ``fit``. Below the number asked for
        when a leaf group holds fewer distinct points than its share (the
        same text many times): each distinct point is then one cluster.
    cluster_centers_ : ndarray of shape (n_clusters_, n_features)
        Centre of each cluster (the leaves' K-means centres).
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training point; equal to ``predict`` on the
        training points.
    inertia_ : float
        Sum of the (weighted) squared distances of points to their centre.
    n_iter_ : int
        Most iterations run by any K-means of the tree.
    n_leaves_ : int
        Leaf groups clustered by plain K-means.
    depth_ : int
        Levels of splits above the deepest leaf (0: one flat K-means).
    tree_ : list of dict
        The splits and leaves, for ``predict``: each node has ``centers``,
        and either ``children`` (split) or ``offset`` (leaf: its clusters
        are ``offset`` to ``offset + len(centers) - 1``).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.

    See Also
    --------
    KMeansClusterer : Flat K-means; best inertia, cost n x k.
    MiniBatchKMeansClusterer : Flat mini-batch K-means; also n x k per batch.
    sklearn.cluster.BisectingKMeans : A binary tree split by inertia.

    Notes
    -----
    ``predict`` routes each point down the tree (the nearest centre at each
    split, then the nearest centre of its leaf), which costs
    O(branching_factor x depth + max_leaf_clusters) per point rather than
    O(n_clusters); a point can therefore land in a cluster whose centre is
    not its nearest among all of them. On the training points it returns
    ``labels_``.

    Measured on 2 cores against flat ``KMeans`` with the same k = n / 10
    (``benchmarks/bench_tree_kmeans.py``, figures in
    ``benchmarks/RESULTS.md``): on 100,000 MiniLM embeddings of synthetic
    requests, 9.1 s against 1,216 s, for 5.4% more inertia and the same NMI
    against the topics (0.598 against 0.600); at 10,000, 0.8 s against
    12.3 s for 3.1% more. On random blobs, where a first split can cut a
    blob, 15% more inertia.

    Examples
    --------
    >>> import numpy as np
    >>> from kura_sklearn.cluster import KMeansTreeClusterer
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(2000, 8)).astype(np.float32)
    >>> tree = KMeansTreeClusterer(branching_factor=4, max_leaf_clusters=16,
    ...                            random_state=0).fit(X)
    >>> tree.n_clusters_, tree.depth_, tree.cluster_centers_.dtype
    (200, 2, dtype('float32'))
    >>> bool((tree.predict(X) == tree.labels_).all())
    True
    """

    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 1, None, closed="left"), None],
        "clusters_per_group": [Interval(Real, 1, None, closed="left")],
        "branching_factor": [Interval(Integral, 2, None, closed="left")],
        "max_leaf_clusters": [Interval(Integral, 1, None, closed="left")],
        "max_split_samples": [Interval(Integral, 2, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        n_clusters=None,
        *,
        clusters_per_group=10,
        branching_factor=16,
        max_leaf_clusters=64,
        max_split_samples=16384,
        init="k-means++",
        max_iter=300,
        tol=1e-4,
        random_state=None,
        n_jobs=None,
    ):
        self.n_clusters = n_clusters
        self.clusters_per_group = clusters_per_group
        self.branching_factor = branching_factor
        self.max_leaf_clusters = max_leaf_clusters
        self.max_split_samples = max_split_samples
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _kmeans(self, n_clusters, seed):
        return KMeans(
            n_clusters=n_clusters,
            init=self.init,
            n_init=1,
            max_iter=self.max_iter,
            tol=self.tol,
            random_state=seed,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Compute the clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Embeddings. float32 input stays float32; a memory-mapped array
            is read in blocks and never copied whole.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the points.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32], order="C")
        n_samples = X.shape[0]
        weights = None
        if sample_weight is not None:
            weights = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        if self.n_clusters is not None:
            if self.n_clusters > n_samples:
                raise ValueError(
                    f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}."
                )
            self.n_clusters_ = self.n_clusters
        else:
            self.n_clusters_ = kura_n_clusters(n_samples, self.clusters_per_group)
        rng = check_random_state(self.random_state)
        self.n_iter_ = 1
        # Every K-means here is small: one thread each is faster than
        # OpenMP/BLAS threads that wait on each other (several times faster
        # on a busy machine); n_jobs runs leaves side by side instead.
        with threadpool_limits(limits=1):
            tree, leaves = self._grow(X, weights, rng)
            fitted = Parallel(n_jobs=self.n_jobs, prefer="threads")(
                delayed(self._fit_leaf)(X, rows, weights, share, seed)
                for _, rows, share, _, seed in leaves
            )
        labels = np.empty(n_samples, dtype=np.intp)
        centers, offset, inertia = [], 0, 0.0
        for (node_id, rows, *_), (
            leaf_centers,
            leaf_labels,
            leaf_inertia,
            n_iter,
        ) in zip(leaves, fitted):
            self.n_iter_ = max(self.n_iter_, n_iter)
            tree[node_id] = {"centers": leaf_centers, "offset": offset}
            labels[rows] = offset + leaf_labels
            centers.append(leaf_centers)
            offset += len(leaf_centers)
            inertia += leaf_inertia
        self.n_clusters_ = offset
        self.cluster_centers_ = np.vstack(centers).astype(X.dtype, copy=False)
        self.labels_ = labels
        self.inertia_ = inertia
        self.tree_ = tree
        self.n_leaves_ = len(leaves)
        self.depth_ = max(depth for _, _, _, depth, _ in leaves)
        return self

    def _grow(self, X, weights, rng):
        """Split top-down until every share is a leaf.

        Returns the tree (leaves still empty) and the leaves as
        ``(node_id, rows, share, depth, seed)``.
        """
        tree, leaves = [], []
        pending = [(np.arange(X.shape[0]), self.n_clusters_, 0, None)]
        while pending:
            rows, share, depth, parent = pending.pop(0)
            node_id = len(tree)
            tree.append({})
            if parent is not None:
                tree[parent]["children"].append(node_id)
            split = None
            if self.max_leaf_clusters < share < len(rows):
                split = self._split(X, rows, weights, share, rng)
            if split is None:
                leaves.append((node_id, rows, share, depth, rng.randint(2**31 - 1)))
                continue
            centers, groups, shares = split
            tree[node_id] = {"centers": centers, "children": []}
            for group_rows, group_share in zip(groups, shares):
                pending.append((rows[group_rows], int(group_share), depth + 1, node_id))
        return tree, leaves

    def _split(self, X, rows, weights, share, rng):
        """Split ``rows`` into groups; None when they will not divide."""
        # no more groups than needed to bring every share within the leaves
        n_groups = min(self.branching_factor, -(-share // self.max_leaf_clusters))
        n_groups = max(2, n_groups)
        sample = rows
        if len(rows) > self.max_split_samples:
            sample = np.sort(rng.choice(rows, self.max_split_samples, replace=False))
        if len(sample) < n_groups:
            return None
        km = self._kmeans(n_groups, rng.randint(2**31 - 1))
        km.fit(
            np.asarray(X[sample]),
            sample_weight=None if weights is None else weights[sample],
        )
        self.n_iter_ = max(self.n_iter_, km.n_iter_)
        centers = km.cluster_centers_
        assigned, _ = _nearest(X, rows, centers)
        counts = np.bincount(assigned, minlength=n_groups)
        if np.count_nonzero(counts) < 2:
            return None  # e.g. identical points: cluster them as one leaf
        group_weights = counts.astype(np.float64)
        if weights is not None:
            weighted = np.bincount(assigned, weights[rows], n_groups)
            if weighted.sum() > 0:
                group_weights = weighted
        shares = _share(share, group_weights, counts)
        keep = counts > 0
        # drop empty groups; renumber so that children follow the centres
        centers = centers[keep]
        groups = [g for g, k in zip(_group(assigned, n_groups), keep) if k]
        return centers, groups, shares[keep]

    def _fit_leaf(self, X, rows, weights, share, seed):
        Xg = np.asarray(X[rows])
        w = None if weights is None else weights[rows]
        n_iter = 1
        if share >= len(rows):
            centers = Xg.copy()
        elif share >= (distinct := _distinct_rows(Xg)).size:
            # duplicates (the same summary many times): one cluster per
            # distinct point, where K-means would warn and repeat centres
            centers = Xg[distinct]
        else:
            km = self._kmeans(share, seed).fit(Xg, sample_weight=w)
            centers, n_iter = km.cluster_centers_, km.n_iter_
        local = np.arange(len(rows))
        labels, inertia = _nearest(Xg, local, centers, w)
        return centers.astype(X.dtype, copy=False), labels, inertia, n_iter

    def predict(self, X):
        """Route each point down the tree to a cluster.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New embeddings.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster of each point.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, dtype=[np.float64, np.float32], order="C", reset=False
        )
        with threadpool_limits(limits=1):
            return self._route(X)

    def _route(self, X):
        labels = np.empty(X.shape[0], dtype=np.intp)
        pending = [(0, np.arange(X.shape[0]))]
        while pending:
            node_id, rows = pending.pop()
            node = self.tree_[node_id]
            nearest, _ = _nearest(X, rows, node["centers"])
            if "offset" in node:
                labels[rows] = node["offset"] + nearest
                continue
            children = node["children"]
            for child, group in zip(children, _group(nearest, len(children))):
                if len(group):
                    pending.append((child, rows[group]))
        return labels

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the inertia of ``X`` under ``predict``'s assignment.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Embeddings.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the points.

        Returns
        -------
        score : float
            ``-inertia``; larger is better.
        """
        labels = self.predict(X)
        X = validate_data(
            self, X, dtype=[np.float64, np.float32], order="C", reset=False
        )
        weights = None
        if sample_weight is not None:
            weights = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        total = 0.0
        for start in range(0, X.shape[0], _CHUNK):
            block = X[start : start + _CHUNK]
            diff = block - self.cluster_centers_[labels[start : start + _CHUNK]]
            dist = np.einsum("ij,ij->i", diff, diff)
            if weights is not None:
                dist = dist * weights[start : start + _CHUNK]
            total += float(dist.sum(dtype=np.float64))
        return -total
