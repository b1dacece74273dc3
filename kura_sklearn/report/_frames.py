"""The tidy tables every view is made from: one row per conversation, per cluster."""

import numpy as np


def fitted_clusterer(estimator):
    """The fitted :class:`~kura_sklearn.ConversationClusterer` inside ``estimator``.

    Parameters
    ----------
    estimator : ConversationClusterer or Pipeline
        A fitted clusterer, or a fitted pipeline whose last step is one
        (as :func:`~kura_sklearn.make_kura_pipeline` builds).

    Returns
    -------
    clusterer : ConversationClusterer
    """
    from sklearn.utils.validation import check_is_fitted

    # recognised by what it offers, not by importing its class: report is
    # imported by pipeline (print_tree), never the reverse
    last = estimator[-1] if hasattr(estimator, "steps") else estimator
    if not all(hasattr(last, a) for a in ("hierarchy_frame", "_ancestor_columns")):
        raise TypeError(
            "Expected a ConversationClusterer or a Pipeline ending in one, "
            f"got {type(last).__name__}."
        )
    check_is_fitted(last)
    return last


def conversations_table(estimator):
    """One row per training conversation, with a plain ``chat_id`` column.

    Parameters
    ----------
    estimator : ConversationClusterer or Pipeline
        Fitted.

    Returns
    -------
    table : pandas.DataFrame
        ``chat_id``, ``summary``, the facets, ``cluster_id``, ``cluster_name``,
        ``level_k_id``/``level_k_name`` for every meta level, ``x``, ``y``.
    """
    frame = fitted_clusterer(estimator).conversation_frame()
    return frame.reset_index()


def clusters_table(estimator):
    """One row per cluster (base and meta), with a share of all conversations.

    Parameters
    ----------
    estimator : ConversationClusterer or Pipeline
        Fitted.

    Returns
    -------
    table : pandas.DataFrame
        The columns of ``hierarchy_frame()`` plus ``share`` (count over the
        number of conversations); list-valued columns hold lists, and
        ``mean_concerning_score`` is a float (NaN when unknown), so the table
        writes to Parquet as is.
    """
    clusterer = fitted_clusterer(estimator)
    frame = clusterer.hierarchy_frame().reset_index(drop=True)
    for column in ("member_ids", "children", "keywords"):
        frame[column] = [list(v) for v in frame[column]]
    frame["mean_concerning_score"] = np.asarray(
        [np.nan if v is None else v for v in frame["mean_concerning_score"]],
        dtype=np.float64,
    )
    frame["share"] = frame["count"] / max(len(clusterer.labels_), 1)
    return frame


def assignments_table(estimator, labels, chat_ids=None):
    """Base cluster and every ancestor of each label, e.g. from ``predict``.

    Parameters
    ----------
    estimator : ConversationClusterer or Pipeline
        Fitted.
    labels : array-like of shape (n_samples,)
        Base-cluster labels (-1 for noise).
    chat_ids : sequence of str, default=None
        Row labels; positions when None.

    Returns
    -------
    table : pandas.DataFrame
        ``chat_id``, ``cluster_id``, ``cluster_name``, then
        ``level_k_id``/``level_k_name`` for each meta level (missing for
        noise). Each base cluster's chain is computed once, so the cost is
        linear in the number of rows.
    """
    import pandas as pd

    clusterer = fitted_clusterer(estimator)
    labels = np.asarray(labels, dtype=np.intp)
    if chat_ids is None:
        chat_ids = [str(i) for i in range(len(labels))]
    columns = clusterer._ancestor_columns(labels)
    return pd.DataFrame({"chat_id": list(chat_ids), **columns})
