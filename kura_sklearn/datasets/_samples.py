"""Loader for the sample of conversations that ships with kura_sklearn."""

import json
from collections.abc import Iterable
from functools import cache
from importlib.resources import files

_DATA_FILE = "sample_conversations.jsonl"


@cache
def _records_text():
    """The packaged JSONL file as text, read once per process."""
    path = files("kura_sklearn.datasets") / "data" / _DATA_FILE
    return path.read_text(encoding="utf-8")


def _records():
    """Fresh parsed records, so that callers can never share mutable state."""
    return [json.loads(line) for line in _records_text().splitlines() if line.strip()]


def sample_topics():
    """The topic labels of the bundled sample, sorted.

    Each conversation's label is in ``conversation.metadata["topic"]``.

    Returns
    -------
    topics : list of str
        Distinct topic labels in alphabetical order.

    See Also
    --------
    load_sample_conversations : Load the conversations themselves.

    Examples
    --------
    >>> from kura_sklearn.datasets import sample_topics
    >>> topics = sample_topics()
    >>> len(topics)
    20
    >>> topics[:3]
    ['academic_writing', 'business_email', 'career_advice']
    """
    return sorted({record["metadata"]["topic"] for record in _records()})


def load_sample_conversations(*, topics=None):
    """Load the bundled sample of 300 conversations with an AI assistant.

    The sample was written for this project: invented, realistic chats
    between users and an assistant across 20 topics (coding, writing,
    travel, finance, ...) in eight languages, about three quarters in
    English. It needs no network access, so examples, docs and tests can
    run the whole pipeline offline. Some conversations hold requests the
    assistant refuses (topic ``"concerning_requests"``), and three hold
    HTML or script-like text on purpose, to check that reports escape
    untrusted text. See ``kura_sklearn/datasets/data/README.md`` for
    details.

    Parameters
    ----------
    topics : str or iterable of str, default=None
        Topic labels to keep (see :func:`sample_topics`). ``None`` keeps
        every conversation.

    Returns
    -------
    conversations : list of Conversation
        In file order, which is the order of ``created_at`` (2025). Each
        has ``chat_id`` ``"sample-0001"`` to ``"sample-0300"`` and
        ``metadata`` with ``"topic"``, ``"language"`` (e.g.
        ``"english"``, ``"spanish"``) and ``"source"``.

    Raises
    ------
    ValueError
        When ``topics`` names a label that is not in the sample, or is empty.

    See Also
    --------
    sample_topics : The topic labels.
    kura_sklearn.load_conversations : Read your own conversations.

    Examples
    --------
    >>> from kura_sklearn.datasets import load_sample_conversations
    >>> conversations = load_sample_conversations()
    >>> len(conversations)
    300
    >>> conversations[0].chat_id
    'sample-0001'
    >>> sorted(conversations[0].metadata)
    ['language', 'source', 'topic', 'user_id']
    >>> cooking = load_sample_conversations(topics=["cooking_recipes"])
    >>> len(cooking)
    16
    >>> {c.metadata["topic"] for c in cooking}
    {'cooking_recipes'}
    """
    from ..conversation import load_conversations

    records = _records()
    if topics is not None:
        wanted = _check_topics(topics, {r["metadata"]["topic"] for r in records})
        records = [r for r in records if r["metadata"]["topic"] in wanted]
    return load_conversations(records, format="kura")


def _check_topics(topics, known):
    if isinstance(topics, str):
        topics = [topics]
    elif not isinstance(topics, Iterable):
        raise TypeError(
            f"topics must be a str or an iterable of str, got {type(topics).__name__}"
        )
    wanted = set(topics)
    if not wanted:
        raise ValueError("topics is empty; pass None to keep every conversation")
    unknown = sorted(str(t) for t in wanted - known)
    if unknown:
        raise ValueError(
            f"unknown topic label(s) {unknown}; the sample has {sorted(known)}"
        )
    return wanted
