"""HDBSCAN density clusters, with noise, and prediction for new points."""

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils import VersionStampMixin


class HDBSCANClusterer(VersionStampMixin, ClusterMixin, BaseEstimator):
    """HDBSCAN from the ``hdbscan`` package: clusters of any size, and noise.

    Points in no dense region get the label -1 and stay noise: they are never
    folded into a cluster. The number of clusters is found, not given.

    Parameters
    ----------
    min_cluster_size : int, default=5
        Smallest group of points that counts as a cluster.
    min_samples : int, default=None
        How conservative the clustering is; ``None`` means
        ``min_cluster_size``. Larger values declare more points noise.
    cluster_selection_epsilon : float, default=0.0
        Clusters closer than this distance are merged.
    cluster_selection_method : {"eom", "leaf"}, default="eom"
        "eom" favours a few large clusters, "leaf" many small homogeneous ones.
    metric : str, default="euclidean"
        Distance metric. For L2-normalised embeddings euclidean distance
        orders neighbours as cosine distance does.
    alpha : float, default=1.0
        Distance scaling of the robust single linkage.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training point, -1 for noise.
    probabilities_ : ndarray of shape (n_samples,)
        Strength of each point's membership of its cluster (0 for noise).
    n_clusters_ : int
        Number of clusters found (noise excluded).
    estimator_ : hdbscan.HDBSCAN or None
        The fitted estimator, with its prediction data; None when there were
        too few points for any cluster (every label is then -1).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.

    See Also
    --------
    KMeansClusterer : Every point in a cluster, the count set by a rule.

    Notes
    -----
    ``predict`` uses ``hdbscan.approximate_predict``: a new point joins the
    cluster its nearest training points support in the condensed tree, or is
    noise (-1) when it falls outside every cluster. It does not refit, so the
    labels of new points may differ from the ones a refit would give; on the
    training points it can differ from ``labels_`` near cluster edges. For a
    transductive evaluation in a grid search use ``cv=[(idx, idx)]`` and
    score ``labels_``.

    Examples
    --------
    >>> import numpy as np
    >>> from kura_sklearn import HDBSCANClusterer
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.normal(0, 0.1, (20, 2)), rng.normal(5, 0.1, (20, 2)),
    ...                [[50.0, 50.0]]])
    >>> hdb = HDBSCANClusterer(min_cluster_size=5).fit(X)
    >>> hdb.n_clusters_, int(hdb.labels_[-1])
    (2, -1)
    >>> hdb.predict([[0.0, 0.05], [5.0, 5.0]]).tolist() == hdb.labels_[[0, 20]].tolist()
    True
    """

    _parameter_constraints: dict = {
        "min_cluster_size": [Interval(Integral, 2, None, closed="left")],
        "min_samples": [Interval(Integral, 1, None, closed="left"), None],
        "cluster_selection_epsilon": [Interval(Real, 0, None, closed="left")],
        "cluster_selection_method": [StrOptions({"eom", "leaf"})],
        "metric": [str],
        "alpha": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        min_cluster_size=5,
        *,
        min_samples=None,
        cluster_selection_epsilon=0.0,
        cluster_selection_method="eom",
        metric="euclidean",
        alpha=1.0,
    ):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.cluster_selection_epsilon = cluster_selection_epsilon
        self.cluster_selection_method = cluster_selection_method
        self.metric = metric
        self.alpha = alpha

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Find the clusters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Embeddings.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        import hdbscan

        X = validate_data(
            self, X, dtype=np.float64, ensure_min_samples=2, force_writeable=True
        )  # hdbscan's Cython writes
        model = hdbscan.HDBSCAN(
            min_cluster_size=self.min_cluster_size,
            min_samples=self.min_samples,
            cluster_selection_epsilon=float(self.cluster_selection_epsilon),
            cluster_selection_method=self.cluster_selection_method,
            metric=self.metric,
            alpha=float(self.alpha),
            prediction_data=True,
        )
        if X.shape[0] <= (self.min_samples or self.min_cluster_size):
            # Too few points for any dense region (hdbscan itself would fail
            # building its prediction data): everything is noise.
            self.estimator_ = None
            self.labels_ = np.full(X.shape[0], -1, dtype=np.intp)
            self.probabilities_ = np.zeros(X.shape[0])
        else:
            self.estimator_ = model.fit(X)
            self.labels_ = np.asarray(model.labels_, dtype=np.intp)
            self.probabilities_ = np.asarray(model.probabilities_, dtype=np.float64)
        self.n_clusters_ = int(self.labels_.max() + 1) if self.labels_.size else 0
        return self

    def predict(self, X):
        """Assign new points to the fitted clusters, or to noise (-1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New embeddings.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster of each point, -1 for noise.
        """
        import hdbscan

        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False, force_writeable=True)
        if self.n_clusters_ == 0:
            return np.full(X.shape[0], -1, dtype=np.intp)
        labels, _ = hdbscan.approximate_predict(_query_copy(self.estimator_), X)
        return np.asarray(labels, dtype=np.intp)


def _query_copy(estimator):
    """``estimator`` with a private copy of its neighbour-search tree.

    A tree query updates the tree's call counters, which are part of its
    pickled state: predicting would change the fitted estimator (its pickle,
    a joblib hash). The copies are shallow: the arrays are shared, not
    copied, so this costs microseconds whatever the size of the data.
    """
    estimator = copy.copy(estimator)
    prediction_data = copy.copy(estimator._prediction_data)
    prediction_data.tree = copy.copy(prediction_data.tree)
    estimator._prediction_data = prediction_data
    return estimator
