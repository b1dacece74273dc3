"""The embeddings and labels a scorer reads from any supported estimator."""

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.validation import _num_samples, check_is_fitted

from ..utils import check_texts


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
