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

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

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
from sklearn.utils import column_or_1d

from ._scorer_inputs import _embeddings_and_labels

# --- the metrics on (embeddings, labels, y) ---------------------------------


def _cosine_silhouette(points, labels):
    return silhouette_score(points, labels, metric="cosine")


@dataclass(frozen=True)
class _Metric:
    """What a scorer computes and what it needs.

    ``needs`` is ``"embeddings"`` for an internal metric,
    ``function(points, labels)`` on the points that are not noise, or ``"y"``
    for a comparison with the true labels, ``function(y, labels)``.
    """

    function: Callable
    needs: str
    # -1.0 for an index where smaller is better, so greater is better
    sign: float = 1.0
    # internal: the score when undefined (fewer than 2 clusters, or as many
    # clusters as points): the worst of the range
    worst: float | None = None
    # internal: the metric takes no sparse matrix
    dense: bool = False
    # internal: times the fraction of points kept, i.e. noise scored 0
    noise_counts_zero: bool = False


# In the order internal_scorer returns them.
_METRICS = {
    "silhouette": _Metric(_cosine_silhouette, "embeddings", worst=-1.0),
    "davies_bouldin": _Metric(
        davies_bouldin_score, "embeddings", sign=-1.0, worst=-math.inf, dense=True
    ),
    "calinski_harabasz": _Metric(
        calinski_harabasz_score, "embeddings", worst=0.0, dense=True
    ),
    "noise_aware_silhouette": _Metric(
        _cosine_silhouette, "embeddings", worst=-1.0, noise_counts_zero=True
    ),
    "adjusted_rand": _Metric(adjusted_rand_score, "y"),
    "normalized_mutual_info": _Metric(normalized_mutual_info_score, "y"),
    "v_measure": _Metric(v_measure_score, "y"),
}


def _n_clusters(labels):
    """Clusters among the labels, noise (-1) excluded."""
    return int(np.unique(labels[labels != -1]).size)


def _internal(metric, points, labels, computed=None):
    """An internal metric with noise removed; its worst value if undefined.

    ``computed`` maps a metric function to its value on the kept points, so
    that metrics sharing a function (the two silhouettes) compute it once.
    """
    keep = labels != -1
    kept_fraction = float(keep.mean()) if keep.size else 0.0
    points, labels = points[keep], labels[keep]
    k = _n_clusters(labels)
    if not 2 <= k <= labels.shape[0] - 1:
        return metric.worst
    computed = {} if computed is None else computed
    if metric.function not in computed:
        if metric.dense and sp.issparse(points):
            points = points.toarray()
        computed[metric.function] = float(metric.function(points, labels))
    score = metric.sign * computed[metric.function]
    # noise points count as silhouette 0: the mean over all points
    return score * kept_fraction if metric.noise_counts_zero else score


def _check_y(name, y):
    if y is None:
        raise ValueError(
            f"{name}_scorer compares the clusters with true labels, and y is "
            "None: pass them, as in search.fit(X, y). Without true labels use "
            "silhouette_scorer, davies_bouldin_scorer or calinski_harabasz_scorer."
        )


def _from_labels(metric, points, labels, y):
    if metric.needs == "y":
        y = column_or_1d(y)
        if y.shape[0] != labels.shape[0]:
            raise ValueError(
                f"y has {y.shape[0]} labels but X has {labels.shape[0]} samples."
            )
        return metric.sign * float(metric.function(y, labels))
    return _internal(metric, points, labels)


def _score_and_labels(name, estimator, X, y):
    """Metric ``name`` of the estimator's clusters of X, and those labels."""
    metric = _METRICS[name]
    if metric.needs == "y":
        _check_y(name, y)
    points, labels = _embeddings_and_labels(
        estimator, X, embeddings=metric.needs == "embeddings"
    )
    return _from_labels(metric, points, labels, y), labels


# --- public scorers ----------------------------------------------------------

#: Each public scorer -> its metric name in ``_METRICS``.
_METRIC_OF = {}


def _scorer(name):
    """Make the decorated stub the scorer of metric ``name``.

    The stub gives the public name, signature and docstring (real ones, for
    readers and IDEs); its body is never run.
    """

    def decorate(stub):
        def scorer(estimator, X, y=None):
            return _score_and_labels(name, estimator, X, y)[0]

        functools.update_wrapper(scorer, stub)
        _METRIC_OF[scorer] = name
        return scorer

    return decorate


@_scorer("silhouette")
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


@_scorer("noise_aware_silhouette")
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


@_scorer("davies_bouldin")
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


@_scorer("calinski_harabasz")
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


@_scorer("adjusted_rand")
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


@_scorer("normalized_mutual_info")
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


@_scorer("v_measure")
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
    computed = {}
    return {
        name: _internal(metric, points, labels, computed)
        for name, metric in _METRICS.items()
        if metric.needs == "embeddings"
    }


def __getattr__(name):
    # pickles made before the count scorer moved to its own module name it
    # here: resolve it lazily (that module imports this one)
    if name == "_ClusterCountScorer":
        from ._cluster_count import _ClusterCountScorer

        return _ClusterCountScorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
