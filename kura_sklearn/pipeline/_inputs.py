"""The clusterer's input: summaries as texts, chat_ids, facets and users.

The summarizer's output comes as a DataFrame indexed by chat_id (or as a
:class:`~kura_sklearn.summarization.SummaryArray` carrying the same), or as
plain texts; these read what each form offers.
"""

import numpy as np

from ..summarization import SummaryArray
from ..utils import check_texts


def _as_frame(X):
    """The summarizer's default output as its pandas output; X otherwise.

    A :class:`~kura_sklearn.summarization.SummaryArray` carries the chat_ids
    and facets, so that ``set_output(transform="default")`` loses neither.
    """
    if isinstance(X, SummaryArray):
        frame = X.to_frame()
        if frame is not None:
            return frame
    return X


def _check_summaries(X, column="summary"):
    """Texts and chat_ids from summaries or the summarizer's DataFrame.

    ``column`` names the DataFrame column to cluster ("summary", "request",
    a custom schema field...); a column other than "summary" needs the
    summarizer's DataFrame, and every row must have a text there. A Series
    or DataFrame gives its index as chat_ids; other input, positions.
    """
    frame = hasattr(X, "columns")
    if column != "summary":
        if not frame or column not in X.columns:
            found = list(X.columns) if frame else type(X).__name__
            raise ValueError(
                f"text_column={column!r} needs the summarizer's output with a "
                f"{column!r} column; got {found}."
            )
        missing = [i for i, v in zip(X.index, X[column]) if not isinstance(v, str)]
        if missing:
            raise ValueError(
                f"Conversation {str(missing[0])!r} has no {column!r} text "
                f"({len(missing)} of {len(X)} have none): cluster a facet every "
                "conversation has (the offline summarizer fills summary and "
                "request; task and custom fields need an LLM)."
            )
    texts = check_texts(X, column=column)
    if hasattr(X, "index") and hasattr(X, "iloc"):
        return texts, [str(i) for i in X.index]
    return texts, [str(i) for i in range(len(texts))]


def _facets(X, column="summary"):
    """Every column of the summarizer's DataFrame but the clustered ``column``.

    Kept so that the fitted clusterer can report facets (languages, concerning
    score...) per conversation and per cluster; plain lists keep the fitted
    object loadable with skops.
    """
    columns = getattr(X, "columns", None)
    if columns is None:
        return {}
    return {
        str(name): [_plain(v) for v in X[name]] for name in columns if name != column
    }


def _user_ids(X, chat_ids):
    """Each summary's user from a ``user_id`` column, else None.

    A missing user id counts as a user of its own (its chat_id), so that
    conversations of unknown users never merge into one.
    """
    columns = getattr(X, "columns", None)
    if columns is None or "user_id" not in columns:
        return None
    return [
        ("chat", c) if u is None or u != u else ("user", str(u))
        for u, c in zip(X["user_id"], chat_ids)
    ]


def _plain(value):
    """A facet value as a Python scalar or list (NaN becomes None)."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value
