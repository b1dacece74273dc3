"""Scorers for choosing clustering settings, with or without true labels.

``make_scorer(silhouette_score)`` cannot score a clustering pipeline:
scikit-learn calls ``score_func(y_true, y_pred)``, while an internal metric
needs the points themselves, here the embeddings of the summaries. Every
scorer in this module is instead a plain callable
``scorer(estimator, X, y=None) -> float`` where greater is better, so it
works as ``GridSearchCV(..., scoring=silhouette_scorer)`` or as a value of a
multi-metric ``scoring`` dict. The guide, with the caveats and the costs, is
``docs/model_selection.md``.

Which scorer when
-----------------
- :func:`silhouette_scorer`: the default. Cosine silhouette of the
  embeddings, in [-1, 1]. It favours convex, well-separated blobs, so it
  tends to prefer very few clusters (or, on some data, many small ones), and
  it can mislead with HDBSCAN: only the points HDBSCAN keeps are scored, so a
  setting that calls more points noise may look better.
- :func:`noise_aware_silhouette_scorer`: the silhouette with every noise
  point scored 0, i.e. the silhouette of the kept points times the fraction
  kept. Use it instead of the silhouette whenever a candidate may call
  points noise (HDBSCAN); without noise the two are equal.
- :func:`davies_bouldin_scorer`: minus the Davies-Bouldin index (0 is
  best). Euclidean, cheap; the same bias towards convex clusters.
- :func:`calinski_harabasz_scorer`: variance ratio, unbounded, cheap; it
  grows with compact clusters and favours K-means-like solutions.
- :func:`make_cluster_count_scorer`: any scorer above minus a penalty when
  the number of clusters leaves a wanted range: use it when the metric
  alone drifts to 2 clusters, or to hundreds.
- :func:`adjusted_rand_scorer`, :func:`normalized_mutual_info_scorer`,
  :func:`v_measure_scorer`: when ``y`` holds true labels (e.g. the sample's
  topics), call ``search.fit(X, y)``.
- :func:`internal_scorer`: the three internal scores as one dict, computed
  from one embedding pass; pass ``refit="silhouette"`` with it.

Which points are scored
-----------------------
The estimator may be a Pipeline ending in :class:`ConversationClusterer`
(``X`` = conversations; the earlier steps give the summaries, the fitted
clusterer's ``embedder_`` the embeddings), a bare ``ConversationClusterer``
(``X`` = summaries), a Pipeline ending in any clusterer (the embeddings are
``pipeline[:-1].transform(X)``), or a bare clusterer (``X`` = the
embeddings). The labels are ``predict(X)`` when the final estimator has
``predict``. Transductive clusterers without it (scikit-learn's ``HDBSCAN``,
``AgglomerativeClustering``) are scored by their fitted ``labels_``, which
describe the training set only: search with ``cv=[(idx, idx)]``,
``idx = np.arange(n_samples)``, which fits and scores every candidate on all
the data (anything else raises a ValueError). A ``ConversationClusterer``
fitted with ``store_embeddings=True`` and scored on its training summaries
reuses ``embeddings_`` instead of embedding them again.

Noise (label -1) is left out of the internal metrics; the label-based ones
count it as one more cluster. With fewer than 2 clusters left, or as many
clusters as points, an internal metric is undefined, and the scorer returns
the worst value of its range instead of raising, so one degenerate candidate
never stops a grid search: -1.0 for the silhouette, 0.0 for
Calinski-Harabasz, ``-inf`` for Davies-Bouldin (GridSearchCV then warns
that a score is non-finite).

Examples
--------
Choose K-means' average cluster size on 60 sample conversations. Every
candidate is fitted and scored on all of them (``cv=[(idx, idx)]``), and the
pipeline's ``memory`` embeds them once for all the fits:

>>> import numpy as np
>>> from joblib import Memory
>>> from tempfile import TemporaryDirectory
>>> from sklearn.model_selection import GridSearchCV
>>> from sklearn.pipeline import Pipeline
>>> from kura_sklearn import (ConversationSummarizer, KMeansClusterer,
...                           OnnxEmbedder,
...                           load_sample_conversations)
>>> from kura_sklearn.metrics import silhouette_scorer
>>> conversations = load_sample_conversations()[:60]
>>> summaries = ConversationSummarizer().fit_transform(conversations)
>>> cache = TemporaryDirectory()
>>> pipe = Pipeline([("embed", OnnxEmbedder()),
...                  ("cluster", KMeansClusterer(random_state=0))],
...                 memory=Memory(cache.name, verbose=0))
>>> idx = np.arange(len(summaries))
>>> search = GridSearchCV(pipe, {"cluster__clusters_per_group": [5, 10, 20]},
...                       cv=[(idx, idx)], scoring=silhouette_scorer)
>>> print(search.fit(summaries).best_params_)
{'cluster__clusters_per_group': ...}
>>> cache.cleanup()
"""

import math
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    normalized_mutual_info_score,
    silhouette_score,
    v_measure_score,
)
from sklearn.pipeline import Pipeline
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.validation import _num_samples, check_is_fitted

from ..utils import check_texts

#: Score of an internal metric when it is undefined (fewer than 2 clusters
#: after removing noise, or one cluster per point).
_WORST_SCORES = {
    "silhouette": -1.0,
    "noise_aware_silhouette": -1.0,
    "davies_bouldin": -math.inf,
    "calinski_harabasz": 0.0,
}


# --- embeddings and labels of any supported estimator -----------------------


def _final_estimator(estimator):
    """The last step, looking inside nested Pipelines."""
    while isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    return estimator


def _final_input(estimator, X):
    """The last step and what reaches it: X through every earlier step."""
    while isinstance(estimator, Pipeline):
        if len(estimator.steps) > 1:
            X = estimator[:-1].transform(X)
        estimator = estimator.steps[-1][1]
    return estimator, X


def _fitted_labels(final, n_samples):
    """``labels_`` of a clusterer without ``predict``: training set only."""
    name = type(final).__name__
    if not hasattr(final, "labels_"):
        check_is_fitted(final)
        raise TypeError(
            f"{name} has neither predict nor labels_: there is nothing to score."
        )
    labels = column_or_1d(final.labels_)
    if labels.shape[0] != n_samples:
        raise ValueError(
            f"{name} has no predict, so it is scored by its fitted labels_, "
            f"which describe its {labels.shape[0]} training samples; X has "
            f"{n_samples}. Score it on its training set: in a search use "
            "cv=[(idx, idx)] with idx = np.arange(n_samples)."
        )
    return labels


def _embed(final, Xt):
    """Embeddings of what reaches the final step (its input if numeric)."""
    embedder = getattr(final, "embedder_", None)
    if embedder is None:  # a plain clusterer: its input is the embeddings
        return check_array(Xt, accept_sparse="csr", dtype=[np.float64, np.float32])
    stored = getattr(final, "embeddings_", None)
    trained_on = getattr(final, "summaries_", None)
    if stored is not None and trained_on is not None and check_texts(Xt) == trained_on:
        return np.asarray(stored)  # the training summaries, already embedded
    return check_array(embedder.transform(Xt), dtype=[np.float64, np.float32])


def _embeddings_and_labels(estimator, X, *, embeddings=True):
    """The points and cluster labels a scorer needs.

    Parameters
    ----------
    estimator : fitted clusterer, ConversationClusterer or Pipeline ending in one
    X : input of ``estimator``
    embeddings : bool, default=True
        False when only the labels are needed (label-based scores): the
        embedding step is skipped.

    Returns
    -------
    embeddings : ndarray or sparse matrix of shape (n_samples, n_features), or None
    labels : ndarray of shape (n_samples,)
        -1 marks noise.
    """
    final = _final_estimator(estimator)
    labels = None
    if not hasattr(final, "predict"):  # transductive: checked before any work
        labels = _fitted_labels(final, _num_samples(X))
        if not embeddings:
            return None, labels
    final, Xt = _final_input(estimator, X)
    points = _embed(final, Xt) if embeddings else None
    if labels is None:
        labels = column_or_1d(final.predict(Xt))
    if points is not None and points.shape[0] != labels.shape[0]:
        raise ValueError(f"{points.shape[0]} embeddings but {labels.shape[0]} labels.")
    return points, labels


# --- the metrics on (embeddings, labels, y) ---------------------------------


def _n_clusters(labels):
    """Clusters among the labels, noise (-1) excluded."""
    return int(np.unique(labels[labels != -1]).size)


def _internal(name, points, labels, silhouette=None):
    """An internal metric with noise removed; its worst value if undefined.

    ``silhouette``, when given, is the silhouette of the kept points already
    computed (``noise_aware_silhouette`` derives from it).
    """
    keep = labels != -1
    kept_fraction = float(keep.mean()) if keep.size else 0.0
    points, labels = points[keep], labels[keep]
    k = _n_clusters(labels)
    if not 2 <= k <= labels.shape[0] - 1:
        return _WORST_SCORES[name]
    if name in ("silhouette", "noise_aware_silhouette"):
        if silhouette is None:
            silhouette = float(silhouette_score(points, labels, metric="cosine"))
        # noise points count as silhouette 0: the mean over all points
        return silhouette * kept_fraction if name != "silhouette" else silhouette
    if sp.issparse(points):
        points = points.toarray()
    if name == "davies_bouldin":
        return -float(davies_bouldin_score(points, labels))
    return float(calinski_harabasz_score(points, labels))


_EXTERNAL = {
    "adjusted_rand": adjusted_rand_score,
    "normalized_mutual_info": normalized_mutual_info_score,
    "v_measure": v_measure_score,
}


def _check_y(name, y):
    if y is None:
        raise ValueError(
            f"{name}_scorer compares the clusters with true labels, and y is "
            "None: pass them, as in search.fit(X, y). Without true labels use "
            "silhouette_scorer, davies_bouldin_scorer or calinski_harabasz_scorer."
        )


def _from_labels(name, points, labels, y):
    if name in _EXTERNAL:
        y = column_or_1d(y)
        if y.shape[0] != labels.shape[0]:
            raise ValueError(
                f"y has {y.shape[0]} labels but X has {labels.shape[0]} samples."
            )
        return float(_EXTERNAL[name](y, labels))
    return _internal(name, points, labels)


def _score(name, estimator, X, y):
    external = name in _EXTERNAL
    if external:
        _check_y(name, y)
    points, labels = _embeddings_and_labels(estimator, X, embeddings=not external)
    return _from_labels(name, points, labels, y)


# --- public scorers ----------------------------------------------------------


def silhouette_scorer(estimator, X, y=None):
    """Mean cosine silhouette of the embeddings, noise excluded.

    In [-1, 1], greater is better; -1.0 when fewer than 2 clusters remain
    after removing noise, or there are as many clusters as points.

    Parameters
    ----------
    estimator : fitted estimator
        A clusterer, a :class:`ConversationClusterer`, or a Pipeline ending
        in either.
    X : conversations, summaries, texts or embeddings
        Whatever ``estimator`` takes.
    y : None
        Ignored.

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.cluster import KMeans
    >>> from kura_sklearn.metrics import silhouette_scorer
    >>> X = np.array([[1, 0], [1, 0.1], [0, 1], [0.1, 1]])
    >>> round(silhouette_scorer(KMeans(2, random_state=0).fit(X), X), 2)
    0.99
    >>> silhouette_scorer(KMeans(1, random_state=0).fit(X), X)
    -1.0
    """
    return _score("silhouette", estimator, X, y)


def noise_aware_silhouette_scorer(estimator, X, y=None):
    """Mean cosine silhouette over all points, noise (-1) counted as 0.

    The silhouette of the points the clustering keeps, times the fraction it
    keeps. :func:`silhouette_scorer` leaves noise out, so a setting that
    calls more points noise can look better only because the hard points
    are no longer scored; here each point called noise lowers the score as a
    point on the border between two clusters would. Without noise (K-means)
    it equals :func:`silhouette_scorer`. In [-1, 1], greater is better;
    -1.0 when fewer than 2 clusters remain or there are as many clusters as
    kept points.

    On BANKING77 (``benchmarks/bench_quality.py``), a grid mixing K-means
    and HDBSCAN candidates: the silhouette picks an HDBSCAN setting that
    calls half the queries noise, 24 NMI points below the grid's best; this
    scorer picks one within a point of it.

    Parameters
    ----------
    estimator : fitted estimator
        A clusterer, a :class:`ConversationClusterer`, or a Pipeline ending
        in either.
    X : conversations, summaries, texts or embeddings
        Whatever ``estimator`` takes.
    y : None
        Ignored.

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.cluster import KMeans
    >>> from kura_sklearn.metrics import (noise_aware_silhouette_scorer,
    ...                                   silhouette_scorer)
    >>> X = np.array([[1, 0], [1, 0.1], [0, 1], [0.1, 1], [-1, -1], [-1, -0.9]])
    >>> class HalfNoise:  # a fitted clusterer that calls two points noise
    ...     def predict(self, X):
    ...         return np.array([0, 0, 1, 1, -1, -1])
    >>> model = HalfNoise()
    >>> round(silhouette_scorer(model, X), 2)
    0.99
    >>> round(noise_aware_silhouette_scorer(model, X), 2)
    0.66
    """
    return _score("noise_aware_silhouette", estimator, X, y)


def davies_bouldin_scorer(estimator, X, y=None):
    """Minus the Davies-Bouldin index of the embeddings, noise excluded.

    The index is 0 for perfectly compact, well-separated clusters and grows
    without bound, so the score is at most 0, greater is better; ``-inf``
    when fewer than 2 clusters remain or there are as many clusters as
    points. Euclidean distances: on L2-normalised embeddings they order
    pairs as cosine distances do.

    Parameters
    ----------
    estimator : fitted estimator
        A clusterer, a :class:`ConversationClusterer`, or a Pipeline ending
        in either.
    X : conversations, summaries, texts or embeddings
        Whatever ``estimator`` takes.
    y : None
        Ignored.

    Returns
    -------
    score : float
    """
    return _score("davies_bouldin", estimator, X, y)


def calinski_harabasz_scorer(estimator, X, y=None):
    """Calinski-Harabasz variance ratio of the embeddings, noise excluded.

    Between-cluster over within-cluster dispersion, each per degree of
    freedom: positive and unbounded, greater is better; 0.0 when fewer than
    2 clusters remain or there are as many clusters as points.

    Parameters
    ----------
    estimator : fitted estimator
        A clusterer, a :class:`ConversationClusterer`, or a Pipeline ending
        in either.
    X : conversations, summaries, texts or embeddings
        Whatever ``estimator`` takes.
    y : None
        Ignored.

    Returns
    -------
    score : float
    """
    return _score("calinski_harabasz", estimator, X, y)


def adjusted_rand_scorer(estimator, X, y=None):
    """Adjusted Rand index between the true labels ``y`` and the clusters.

    About 0 for chance, 1 for the same partition. Noise (-1) counts as one
    more cluster. The embedding step is skipped.

    Parameters
    ----------
    estimator : fitted estimator
        A clusterer, a :class:`ConversationClusterer`, or a Pipeline ending
        in either.
    X : conversations, summaries, texts or embeddings
        Whatever ``estimator`` takes.
    y : array-like of shape (n_samples,)
        True labels.

    Returns
    -------
    score : float

    Raises
    ------
    ValueError
        When ``y`` is None.
    """
    return _score("adjusted_rand", estimator, X, y)


def normalized_mutual_info_scorer(estimator, X, y=None):
    """Normalised mutual information between ``y`` and the clusters, in [0, 1].

    Noise (-1) counts as one more cluster. Unlike the adjusted Rand index
    it is not adjusted for chance: with many small clusters it stays well
    above 0 even for random labels.

    Parameters
    ----------
    estimator : fitted estimator
        A clusterer, a :class:`ConversationClusterer`, or a Pipeline ending
        in either.
    X : conversations, summaries, texts or embeddings
        Whatever ``estimator`` takes.
    y : array-like of shape (n_samples,)
        True labels.

    Returns
    -------
    score : float

    Raises
    ------
    ValueError
        When ``y`` is None.
    """
    return _score("normalized_mutual_info", estimator, X, y)


def v_measure_scorer(estimator, X, y=None):
    """V-measure (harmonic mean of homogeneity and completeness), in [0, 1].

    Noise (-1) counts as one more cluster.

    Parameters
    ----------
    estimator : fitted estimator
        A clusterer, a :class:`ConversationClusterer`, or a Pipeline ending
        in either.
    X : conversations, summaries, texts or embeddings
        Whatever ``estimator`` takes.
    y : array-like of shape (n_samples,)
        True labels.

    Returns
    -------
    score : float

    Raises
    ------
    ValueError
        When ``y`` is None.
    """
    return _score("v_measure", estimator, X, y)


def internal_scorer(estimator, X, y=None):
    """The internal scores at once, from one embedding pass.

    A callable returning a dict is a multi-metric ``scoring`` for
    GridSearchCV; name the metric to refit on, e.g. ``refit="silhouette"``.
    Cheaper than a dict of the three scorers, which embeds (and, in a
    Pipeline, summarises) ``X`` once per scorer.

    Parameters
    ----------
    estimator : fitted estimator
        A clusterer, a :class:`ConversationClusterer`, or a Pipeline ending
        in either.
    X : conversations, summaries, texts or embeddings
        Whatever ``estimator`` takes.
    y : None
        Ignored.

    Returns
    -------
    scores : dict of str to float
        ``"silhouette"``, ``"noise_aware_silhouette"``, ``"davies_bouldin"``
        (negated) and ``"calinski_harabasz"``, as their scorers give them
        (the silhouette is computed once for both of its variants).
    """
    points, labels = _embeddings_and_labels(estimator, X)
    scores = {
        name: _internal(name, points, labels)
        for name in _WORST_SCORES
        if name != "noise_aware_silhouette"
    }
    scores["noise_aware_silhouette"] = _internal(
        "noise_aware_silhouette", points, labels, silhouette=scores["silhouette"]
    )
    return scores


_NAME_OF = {
    silhouette_scorer: "silhouette",
    noise_aware_silhouette_scorer: "noise_aware_silhouette",
    davies_bouldin_scorer: "davies_bouldin",
    calinski_harabasz_scorer: "calinski_harabasz",
    adjusted_rand_scorer: "adjusted_rand",
    normalized_mutual_info_scorer: "normalized_mutual_info",
    v_measure_scorer: "v_measure",
}


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
        name = _NAME_OF.get(self.base)
        if name is not None:  # one pass for the score and the count
            external = name in _EXTERNAL
            if external:
                _check_y(name, y)
            points, labels = _embeddings_and_labels(
                estimator, X, embeddings=not external
            )
            score = _from_labels(name, points, labels, y)
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
