"""K-means clusterers sized by Kura's rule, ``ceil(n / clusters_per_group)``."""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils import VersionStampMixin


def kura_n_clusters(n_samples, clusters_per_group):
    """Kura's sizing rule: ``ceil(n_samples / clusters_per_group)``, at least 1.

    Examples
    --------
    >>> from kura_sklearn.cluster import kura_n_clusters
    >>> kura_n_clusters(95, 10)
    10
    """
    return max(1, math.ceil(n_samples / clusters_per_group))


class _BaseKMeansClusterer(
    VersionStampMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    ClusterMixin,
    BaseEstimator,
):
    """Shared logic: resolve the number of clusters, fit, predict."""

    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 1, None, closed="left"), None],
        "clusters_per_group": [Interval(Real, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"})],
        "n_init": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def _check_new_data(self, X):
        """``X`` validated against the data seen in ``fit``."""
        return validate_data(
            self,
            X,
            dtype=[np.float64, np.float32],
            accept_sparse="csr",
            order="C",
            reset=False,
        )

    def _make_estimator(self, n_clusters):
        raise NotImplementedError

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Compute the clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Embeddings. float32 input stays float32.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the points.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X = validate_data(
            self, X, dtype=[np.float64, np.float32], accept_sparse="csr", order="C"
        )
        if self.n_clusters is not None:
            n_clusters = self.n_clusters
        else:
            n_clusters = kura_n_clusters(X.shape[0], self.clusters_per_group)
        # fitted attributes only once the fit has succeeded
        estimator = self._make_estimator(n_clusters).fit(X, sample_weight=sample_weight)
        self.n_clusters_ = n_clusters
        self.estimator_ = estimator
        self.labels_ = estimator.labels_
        self.cluster_centers_ = estimator.cluster_centers_
        self.inertia_ = estimator.inertia_
        self.n_iter_ = estimator.n_iter_
        return self

    def predict(self, X):
        """Assign each point to its nearest cluster centre.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New embeddings.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the cluster each point belongs to.
        """
        check_is_fitted(self)
        X = self._check_new_data(X)
        return self.estimator_.predict(X)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the inertia of ``X`` on the fitted centres.

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
            ``-inertia``; larger is better, as scikit-learn's ``KMeans.score``.
        """
        check_is_fitted(self)
        X = self._check_new_data(X)
        return self.estimator_.score(X, sample_weight=sample_weight)

    def transform(self, X):
        """Distances from each point to every cluster centre.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Embeddings.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters_)
        """
        check_is_fitted(self)
        X = self._check_new_data(X)
        return self.estimator_.transform(X)

    @property
    def _n_features_out(self):
        """Distance columns of ``transform`` (for ``get_feature_names_out``:
        ``"<classname>0"`` to ``"<classname>{n_clusters_ - 1}"``), as
        scikit-learn's KMeans."""
        return self.n_clusters_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class KMeansClusterer(_BaseKMeansClusterer):
    """K-means with Kura's sizing rule.

    The number of clusters is fixed, or derived from the data at ``fit`` as
    ``ceil(n_samples / clusters_per_group)``, so a grid search can tune the
    average cluster size rather than a count that depends on the sample.

    Parameters
    ----------
    n_clusters : int, default=None
        Fixed number of clusters. ``None`` applies Kura's rule,
        ``ceil(n_samples / clusters_per_group)``, at ``fit``.
    clusters_per_group : float, default=10
        Average cluster size wanted when ``n_clusters`` is None (Kura's default
        is 10).
    init : {"k-means++", "random"}, default="k-means++"
        Initialisation, as in scikit-learn.
    n_init : "auto" or int, default="auto"
        Runs with different centroid seeds.
    max_iter : int, default=300
        Maximum iterations.
    tol : float, default=1e-4
        Relative tolerance for convergence.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation. Pass an int for reproducible clusters.
    algorithm : {"lloyd", "elkan"}, default="lloyd"
        K-means algorithm, as in scikit-learn.

    Attributes
    ----------
    n_clusters_ : int
        Number of clusters used, resolved at ``fit``.
    cluster_centers_ : ndarray of shape (n_clusters_, n_features)
        Cluster centres.
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training point.
    inertia_ : float
        Sum of squared distances of points to their centre.
    n_iter_ : int
        Iterations run.
    estimator_ : sklearn.cluster.KMeans
        The fitted scikit-learn estimator.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.

    See Also
    --------
    MiniBatchKMeansClusterer : Faster on large inputs.
    HDBSCANClusterer : Density-based clusters with noise.

    Notes
    -----
    Kura's rule makes K-means cost grow with n x k, that is with n squared:
    on large inputs prefer :class:`MiniBatchKMeansClusterer` or a fixed
    ``n_clusters``.

    Examples
    --------
    >>> import numpy as np
    >>> from kura_sklearn import KMeansClusterer
    >>> X = np.array([[0, 0], [0, 1], [10, 10], [10, 11]], dtype=float)
    >>> km = KMeansClusterer(clusters_per_group=2, random_state=0).fit(X)
    >>> km.n_clusters_
    2
    >>> km.predict([[0, 0.5], [10, 10.5]]) == km.labels_[[0, 2]]
    array([ True,  True])
    """

    _parameter_constraints: dict = {
        **_BaseKMeansClusterer._parameter_constraints,
        "algorithm": [StrOptions({"lloyd", "elkan"})],
    }

    def __init__(
        self,
        n_clusters=None,
        *,
        clusters_per_group=10,
        init="k-means++",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        random_state=None,
        algorithm="lloyd",
    ):
        self.n_clusters = n_clusters
        self.clusters_per_group = clusters_per_group
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.algorithm = algorithm

    def _make_estimator(self, n_clusters):
        return KMeans(
            n_clusters=n_clusters,
            init=self.init,
            n_init=self.n_init,
            max_iter=self.max_iter,
            tol=self.tol,
            random_state=self.random_state,
            algorithm=self.algorithm,
        )


class MiniBatchKMeansClusterer(_BaseKMeansClusterer):
    """Mini-batch K-means with Kura's sizing rule, for large inputs.

    Parameters
    ----------
    n_clusters : int, default=None
        Fixed number of clusters. ``None`` applies Kura's rule,
        ``ceil(n_samples / clusters_per_group)``, at ``fit``.
    clusters_per_group : float, default=10
        Average cluster size wanted when ``n_clusters`` is None (Kura's default
        is 10).
    init : {"k-means++", "random"}, default="k-means++"
        Initialisation, as in scikit-learn.
    n_init : "auto" or int, default="auto"
        Runs with different centroid seeds.
    max_iter : int, default=100
        Maximum iterations over the whole data.
    tol : float, default=0.0
        Relative tolerance for convergence.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation. Pass an int for reproducible clusters.
    batch_size : int, default=1024
        Points per mini-batch.
    max_no_improvement : int, default=10
        Stop after this many mini-batches without improvement.
    reassignment_ratio : float, default=0.01
        Controls how often small clusters are re-seeded.

    Attributes
    ----------
    n_clusters_ : int
        Number of clusters used, resolved at ``fit``.
    cluster_centers_ : ndarray of shape (n_clusters_, n_features)
        Cluster centres.
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training point.
    inertia_ : float
        Sum of squared distances of points to their centre.
    n_iter_ : int
        Iterations run.
    estimator_ : sklearn.cluster.MiniBatchKMeans
        The fitted scikit-learn estimator.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.

    See Also
    --------
    KMeansClusterer : Full-batch K-means.

    Examples
    --------
    >>> import numpy as np
    >>> from kura_sklearn import MiniBatchKMeansClusterer
    >>> X = np.random.RandomState(0).normal(size=(200, 8))
    >>> mbk = MiniBatchKMeansClusterer(clusters_per_group=20, random_state=0).fit(X)
    >>> mbk.n_clusters_
    10
    """

    _parameter_constraints: dict = {
        **_BaseKMeansClusterer._parameter_constraints,
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_no_improvement": [Interval(Integral, 0, None, closed="left"), None],
        "reassignment_ratio": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_clusters=None,
        *,
        clusters_per_group=10,
        init="k-means++",
        n_init="auto",
        max_iter=100,
        tol=0.0,
        random_state=None,
        batch_size=1024,
        max_no_improvement=10,
        reassignment_ratio=0.01,
    ):
        self.n_clusters = n_clusters
        self.clusters_per_group = clusters_per_group
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.batch_size = batch_size
        self.max_no_improvement = max_no_improvement
        self.reassignment_ratio = reassignment_ratio

    def _make_estimator(self, n_clusters):
        return MiniBatchKMeans(
            n_clusters=n_clusters,
            init=self.init,
            n_init=self.n_init,
            max_iter=self.max_iter,
            tol=self.tol,
            random_state=self.random_state,
            batch_size=self.batch_size,
            max_no_improvement=self.max_no_improvement,
            reassignment_ratio=self.reassignment_ratio,
        )
