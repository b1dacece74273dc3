"""Input validation for text and conversation estimators."""

from collections.abc import Iterator

import numpy as np

_BARE_STRING = (
    "Iterable over raw text documents expected, string object received. "
    "Wrap a single text in a list: [text]."
)


def _is_dataframe(X):
    return type(X).__module__.startswith("pandas") and hasattr(X, "columns")


def check_texts(X, *, column="summary"):
    """Validate text input the way scikit-learn's text vectorizers do.

    Parameters
    ----------
    X : iterable of str, pandas Series, or DataFrame
        The texts. A DataFrame must have one column, or a ``column`` column
        (the summarizer's pandas output works as is). A bare string is
        rejected: it is almost always a mistake for ``[text]``.
    column : str, default="summary"
        Column taken from a DataFrame with several columns.

    Returns
    -------
    texts : list of str
    """
    if isinstance(X, (str, bytes)):
        raise ValueError(_BARE_STRING)
    if _is_dataframe(X):
        if column in X.columns:
            X = X[column]
        elif X.shape[1] == 1:
            X = X.iloc[:, 0]
        else:
            raise ValueError(
                f"A DataFrame of texts needs one column or a {column!r} column; "
                f"got columns {list(X.columns)}."
            )
    if isinstance(X, np.ndarray) and X.ndim != 1:
        if X.ndim == 2 and X.shape[1] == 1:
            X = X[:, 0]
        else:
            raise ValueError(
                f"Expected a 1-D sequence of texts, got an array of shape {X.shape}."
            )
    try:
        texts = list(X)
    except TypeError:
        raise TypeError(
            f"Expected an iterable of texts, got {type(X).__name__}."
        ) from None
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(
                f"Text {i} is {type(text).__name__}, not str: every element "
                "must be a string."
            )
    return texts


def is_one_shot(X):
    """Whether ``X`` is an iterator (a generator...), readable only once.

    Stateless steps (the summarizer, the embedders) do not read such input
    in ``fit``, as :class:`~sklearn.feature_extraction.text.HashingVectorizer`
    does not: reading it there would leave nothing for ``transform``, and
    ``fit_transform`` (``fit(X).transform(X)``) would return no rows.
    """
    return isinstance(X, Iterator)


def check_conversations(X):
    """Validate conversation input and return a list of ``Conversation``.

    Accepts a list of ``Conversation`` objects or dicts, or a DataFrame, as
    :func:`kura_sklearn.load_conversations` reads them. A bare string is
    rejected, as text vectorizers do; read files with ``load_conversations``.
    """
    from ..conversation import Conversation, load_conversations

    if isinstance(X, (list, tuple)) and all(isinstance(c, Conversation) for c in X):
        conversations = list(X)
    elif isinstance(X, (str, bytes)):
        raise ValueError(
            "A list of conversations expected, string object received. To read "
            "a file, pass load_conversations(path)."
        )
    elif isinstance(X, (Conversation, dict)):
        raise ValueError(
            f"A list of conversations expected, one {type(X).__name__} "
            "received. Wrap a single conversation in a list: [conversation]."
        )
    else:
        conversations = load_conversations(X)
    seen = {}
    for i, conv in enumerate(conversations):
        if conv.chat_id in seen:
            from ..conversation import ConversationValidationError

            raise ConversationValidationError(
                f"duplicate chat_id, also used by conversation {seen[conv.chat_id]}",
                index=i,
                chat_id=conv.chat_id,
                field="chat_id",
            )
        seen[conv.chat_id] = i
    return conversations


def output_is_pandas(estimator, method="transform"):
    """Whether ``set_output`` (or the global config) asks for pandas output."""
    from sklearn import get_config

    config = getattr(estimator, "_sklearn_output_config", {}).get(method)
    if config is None or config == "default":
        config = get_config().get(f"{method}_output", "default")
    return config == "pandas"
