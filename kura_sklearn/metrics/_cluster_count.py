"""A scorer that also wants the number of clusters in a range."""

from numbers import Integral, Real

from ._scorer_inputs import _embeddings_and_labels
from ._scorers import _METRIC_OF, _n_clusters, _score_and_labels, silhouette_scorer


class _ClusterCountScorer:
    """``base`` minus ``penalty`` per cluster outside the wanted range."""

    def __init__(self, base, min_clusters, max_clusters, penalty):
        self.base = base
        self.min_clusters = min_clusters
        self.max_clusters = max_clusters
        self.penalty = penalty

    def outside(self, n_clusters):
        """How many clusters ``n_clusters`` lies outside the range."""
        below = max(0, self.min_clusters - n_clusters)
        above = 0
        if self.max_clusters is not None:
            above = max(0, n_clusters - self.max_clusters)
        return below + above

    def __call__(self, estimator, X, y=None):
        name = _METRIC_OF.get(self.base)
        if name is not None:  # one pass for the score and the count
            score, labels = _score_and_labels(name, estimator, X, y)
        else:
            score = float(self.base(estimator, X, y))
            _, labels = _embeddings_and_labels(estimator, X, embeddings=False)
        outside = self.outside(_n_clusters(labels))
        return score - self.penalty * outside if outside else score

    def __repr__(self):
        base = getattr(self.base, "__name__", repr(self.base))
        return (
            f"make_cluster_count_scorer({base}, min_clusters={self.min_clusters}, "
            f"max_clusters={self.max_clusters}, penalty={self.penalty})"
        )


def make_cluster_count_scorer(
    base=silhouette_scorer, *, min_clusters=2, max_clusters=None, penalty=0.1
):
    """A scorer that also wants the number of clusters in a range.

    With ``k`` the number of distinct labels the estimator gives ``X``, noise
    (-1) excluded, the score is::

        base(estimator, X, y) - penalty * (max(0, min_clusters - k)
                                           + max(0, k - max_clusters))

    that is, ``penalty`` per cluster missing or in excess; inside the range
    it is the base score unchanged. ``penalty=np.inf`` makes the range a
    hard constraint (the score is then ``-inf`` outside it).

    Parameters
    ----------
    base : callable, default=silhouette_scorer
        ``base(estimator, X, y) -> float``, greater is better. The scorers of
        this module share one embedding pass with the count; any other
        callable is called as is and the labels computed once more.
    min_clusters : int, default=2
        Fewest clusters wanted.
    max_clusters : int, default=None
        Most clusters wanted; None for no upper bound.
    penalty : float, default=0.1
        Subtracted per cluster outside the range. On the silhouette's scale
        (2 units wide) 0.1 is gentle; scale it to the base score, e.g. a few
        percent of typical Calinski-Harabasz values.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None) -> float``, picklable.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.cluster import KMeans
    >>> from kura_sklearn.metrics import make_cluster_count_scorer, silhouette_scorer
    >>> X = np.array([[1, 0], [1, 0.1], [0, 1], [0.1, 1]])
    >>> km = KMeans(2, random_state=0).fit(X)
    >>> scorer = make_cluster_count_scorer(min_clusters=3, penalty=0.5)
    >>> round(silhouette_scorer(km, X) - scorer(km, X), 2)
    0.5
    """
    if not callable(base):
        raise TypeError(f"base must be a scorer callable, got {base!r}.")
    if not isinstance(min_clusters, Integral) or min_clusters < 1:
        raise ValueError(f"min_clusters must be an int >= 1, got {min_clusters!r}.")
    if max_clusters is not None and (
        not isinstance(max_clusters, Integral) or max_clusters < min_clusters
    ):
        raise ValueError(
            f"max_clusters must be None or an int >= min_clusters ({min_clusters}), "
            f"got {max_clusters!r}."
        )
    if not isinstance(penalty, Real) or not penalty >= 0:
        raise ValueError(f"penalty must be a number >= 0, got {penalty!r}.")
    if max_clusters is not None:
        max_clusters = int(max_clusters)
    return _ClusterCountScorer(base, int(min_clusters), max_clusters, float(penalty))
