"""The tidy tables every view is made from: one row per conversation, per cluster.

Built from a fitted clusterer's tree (``tree_``) and what it kept of its
training data (``labels_``, ``map_``, ``summaries_``, ``facets_``,
``chat_ids_``): a cluster's position on the map and its mean concerning score
are computed here, when asked, not stored in the tree.
"""

import numpy as np

#: The columns of :func:`hierarchy_frame`, in order.
CLUSTER_COLUMNS = [
    "id",
    "name",
    "description",
    "slug",
    "parent_id",
    "level",
    "count",
    "member_ids",
    "children",
    "x",
    "y",
    "keywords",
    "mean_concerning_score",
    "hidden",
    "name_source",
    "n_users",
    "privacy_score",
]


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
    # imported by pipeline (its table and tree shortcuts), never the reverse
    last = estimator[-1] if hasattr(estimator, "steps") else estimator
    if not all(hasattr(last, a) for a in ("hierarchy_frame", "conversation_frame")):
        raise TypeError(
            "Expected a ConversationClusterer or a Pipeline ending in one, "
            f"got {type(last).__name__}."
        )
    check_is_fitted(last)
    return last


def hierarchy_frame(estimator):
    """One row per cluster (base and meta): the tidy tree.

    Parameters
    ----------
    estimator : ConversationClusterer or Pipeline
        Fitted.

    Returns
    -------
    frame : pandas.DataFrame
        Indexed by id. Columns: id, name, description, slug, parent_id
        (nullable Int64), level, count, member_ids, children, x and y (the
        mean map position of the members), keywords, mean_concerning_score
        (None without that facet), hidden, name_source (``"offline"``,
        ``"llm"`` or ``"fallback"``), n_users, privacy_score.

    Examples
    --------
    >>> from kura_sklearn import ConversationClusterer, KMeansClusterer
    >>> from kura_sklearn.report import hierarchy_frame
    >>> model = ConversationClusterer(clusterer=KMeansClusterer(n_clusters=2),
    ...                               max_clusters=1, random_state=0)
    >>> model = model.fit(["reset my password", "forgot my password",
    ...                    "bake sourdough bread", "bread will not rise"])
    >>> hierarchy_frame(model)[["level", "count", "parent_id"]]
       level  count  parent_id
    0      0      2          2
    1      0      2          2
    2      1      4       <NA>
    """
    import pandas as pd

    clusterer = fitted_clusterer(estimator)
    tree = clusterer.tree_
    rows = tree.member_rows(clusterer.labels_)
    concerning = _float_facet(clusterer.facets_, "concerning_score")
    records = []
    for cluster, members in zip(tree, rows):
        x, y = clusterer.map_[members].mean(axis=0)
        mean_concerning = None
        if concerning is not None:
            scores = concerning[members]
            if np.isfinite(scores).any():
                mean_concerning = float(np.nanmean(scores))
        values = {"x": float(x), "y": float(y)}
        values["mean_concerning_score"] = mean_concerning
        # a shallow record per cluster: dataclasses.asdict would deep-copy
        # every member_ids tuple element by element
        records.append(
            [
                values[name] if name in values else getattr(cluster, name)
                for name in CLUSTER_COLUMNS
            ]
        )
    frame = pd.DataFrame(records, columns=CLUSTER_COLUMNS).set_index("id", drop=False)
    frame["parent_id"] = frame["parent_id"].astype("Int64")
    frame.index.name = None
    return frame


def conversation_frame(estimator):
    """One row per training summary: its base cluster and every ancestor.

    Parameters
    ----------
    estimator : ConversationClusterer or Pipeline
        Fitted.

    Returns
    -------
    frame : pandas.DataFrame
        Indexed by chat_id. Columns: summary, the facets seen at ``fit``,
        cluster_id, cluster_name, then ``level_1_id``/``level_1_name``... up
        to the top level, and x, y. Noise rows have cluster_id -1 and
        empty names.
    """
    import pandas as pd

    clusterer = fitted_clusterer(estimator)
    # the clustered texts under their own name ("summary", or the
    # text_column the tree was built over, with the summaries a facet)
    text_column = getattr(clusterer, "text_column", "summary")
    columns = {text_column: clusterer.summaries_}
    columns.update(clusterer.facets_)
    columns.update(_ancestor_columns(clusterer.tree_, clusterer.labels_))
    columns["x"], columns["y"] = clusterer.map_[:, 0], clusterer.map_[:, 1]
    return pd.DataFrame(columns, index=pd.Index(clusterer.chat_ids_, name="chat_id"))


def _ancestor_columns(tree, labels):
    """Base cluster and every ancestor of each label, as columns.

    Parameters
    ----------
    tree : ClusterTree
    labels : array-like of shape (n_samples,)
        Base-cluster labels, -1 for noise.

    Returns
    -------
    columns : dict of str to array
        ``cluster_id``, ``cluster_name``, then ``level_k_id`` (nullable
        Int64, missing for noise and where the chain skips level k) and
        ``level_k_name`` for each meta level k.
    """
    import pandas as pd

    labels = np.asarray(labels, dtype=np.intp)
    ids = tree.ancestor_matrix(labels)
    names = np.array([c.name for c in tree] + [None], dtype=object)
    columns = {"cluster_id": labels}
    for level in range(ids.shape[1]):
        level_ids = ids[:, level]
        level_names = names[np.where(level_ids >= 0, level_ids, len(tree))]
        if level == 0:
            columns["cluster_name"] = level_names
            continue
        column = pd.array(np.where(level_ids >= 0, level_ids, 0), dtype="Int64")
        column[level_ids < 0] = pd.NA
        columns[f"level_{level}_id"] = column
        columns[f"level_{level}_name"] = level_names
    return columns


def _float_facet(facets, name):
    """A numeric facet as floats (NaN for None), or None when absent."""
    if name not in facets:
        return None
    return np.asarray(
        [np.nan if v is None else float(v) for v in facets[name]], dtype=np.float64
    )


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
    return conversation_frame(estimator).reset_index()


def clusters_table(estimator):
    """One row per cluster (base and meta), with a share of all conversations.

    Parameters
    ----------
    estimator : ConversationClusterer or Pipeline
        Fitted.

    Returns
    -------
    table : pandas.DataFrame
        The columns of :func:`hierarchy_frame` plus ``share`` (count over the
        number of conversations); list-valued columns hold lists, and
        ``mean_concerning_score`` is a float (NaN when unknown), so the table
        writes to Parquet as is.
    """
    clusterer = fitted_clusterer(estimator)
    frame = hierarchy_frame(clusterer).reset_index(drop=True)
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
    columns = _ancestor_columns(clusterer.tree_, labels)
    return pd.DataFrame({"chat_id": list(chat_ids), **columns})
