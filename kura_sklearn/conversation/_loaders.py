"""Read conversations from files, records and DataFrames: the public entry point."""

import logging
import os
from pathlib import Path

from ._dialects import FORMATS, _parse_record, _Parsed
from ._readers import (
    _check_metadata_columns,
    _Columns,
    _is_dataframe,
    _items_from_dataframe,
    _items_from_iterable,
    _items_from_path,
    _reject_metadata_columns,
)
from ._types import Conversation, ConversationValidationError, stable_chat_id
from ._validation import _Invalid

logger = logging.getLogger(__name__)


def load_conversations(
    source,
    *,
    format="auto",
    chat_id_column="chat_id",
    role_column="role",
    content_column="content",
    created_at_column="created_at",
    messages_column="messages",
    metadata_columns=None,
    on_invalid="raise",
):
    """Read conversations from a file, a list of records or a DataFrame.

    Parameters
    ----------
    source : str, os.PathLike, iterable of dict or Conversation, or DataFrame
        Where the conversations are:

        - a path to a ``.jsonl``/``.ndjson`` file (one JSON object per line,
          blank lines skipped), a ``.json`` file (an array of records, or an
          object whose ``"conversations"`` key holds one), a ``.csv`` or a
          ``.parquet`` file (read as a DataFrame, see below);
        - a list, tuple or other iterable of records (dicts) and
          :class:`Conversation` objects, which pass through unchanged;
        - a pandas DataFrame, either with one row per conversation (when it
          has a ``messages_column``, holding lists of message dicts or their
          JSON text) or with one row per message, grouped into conversations
          by ``chat_id_column``.

    format : {"auto", "kura", "openai", "claude"}, default="auto"
        Record format. ``"auto"`` detects it for each record: records with
        ``"chat_messages"`` are claude.ai exports, records with
        ``"messages"`` and no ``"chat_id"`` are OpenAI chat format, and the
        rest are Kura records.

        - ``"kura"``: ``{"chat_id", "created_at", "messages": [{"role",
          "content", "created_at"?}], "metadata"?}``. Unknown top-level keys
          are moved into ``metadata``; unknown message keys are dropped.
          ``content`` may be a list of typed content parts, read as in
          OpenAI records.
        - ``"openai"``: ``{"messages": [{"role", "content"}], ...}``. ``"id"``
          becomes the chat_id and ``"created"`` the creation time; other keys
          go to ``metadata``. ``content`` may be a list of parts (the text
          parts are joined with newlines, the others skipped) and may be
          None only for assistant messages that carry ``tool_calls`` or
          ``function_call``. Role ``"developer"`` is read as ``"system"``
          and ``"function"`` as ``"tool"``.
        - ``"claude"``: a claude.ai data export (``conversations.json``):
          records with ``"uuid"``, ``"name"``, ``"created_at"`` and
          ``"chat_messages"``.

    chat_id_column : str, default="chat_id"
        DataFrame column with the conversation id. Required in the
        one-row-per-message layout, optional with one row per conversation.
    role_column : str, default="role"
        DataFrame column with each message's role (one row per message).
    content_column : str, default="content"
        DataFrame column with each message's text (one row per message).
    created_at_column : str, default="created_at"
        Optional DataFrame column with creation times: of each message with
        one row per message (the conversation then starts at the earliest),
        of the conversation with one row per conversation.
    messages_column : str, default="messages"
        DataFrame column whose presence selects the one-row-per-conversation
        layout.
    metadata_columns : list of str, default=None
        DataFrame columns copied into each conversation's ``metadata`` (from
        its first row in the one-row-per-message layout). Only for
        DataFrame, CSV and Parquet input.
    on_invalid : {"raise", "skip"} or callable, default="raise"
        What to do with a record that cannot be read as a conversation (an
        invalid JSONL line or UTF-8 sequence, a bad field, a repeated
        chat_id). ``"raise"`` stops at the first one. ``"skip"`` leaves it
        out and logs one warning with the count and the first error. A
        callable is called with each record's
        :class:`ConversationValidationError` (its ``line``, ``index``,
        ``chat_id``, ``field`` and ``reason``), and the record is skipped.
        Errors of the whole file (unreadable JSON array, missing columns)
        always raise.

    Returns
    -------
    conversations : list of Conversation
        In input order.

    Raises
    ------
    ConversationValidationError
        When a record or row cannot be read as a conversation. The message
        names the conversation (position in the input and chat_id when
        known), the field and, for files, the path and line.
    FileNotFoundError
        When ``source`` is a string or path that is not an existing file.
    ValueError
        For an unsupported file suffix, an unknown ``format``, or a
        DataFrame that lacks a required column.
    TypeError
        For a source that is not a path, an iterable of records or a
        DataFrame (for instance a single dict).

    Notes
    -----
    Conversations without a chat_id get :func:`stable_chat_id` of their
    messages. Repeats of identical content within one input get ``"-2"``,
    ``"-3"``... appended in input order, so ids are stable across processes
    and runs as long as the input order is. Duplicate explicit chat_ids are
    an error.

    claude.ai exports routinely contain conversations with no messages
    (opened and abandoned); they are skipped and a warning on the
    ``kura_sklearn.conversation._loaders`` logger says how many. In every
    other format a conversation without messages is an error.

    ``created_at`` values may be ISO 8601 text, :class:`datetime.datetime`
    or pandas ``Timestamp`` objects, or epoch seconds (int or float, read
    as UTC). They are stored as :class:`datetime.datetime`; empty text means
    unknown.

    CSV files are read as text (``dtype=str``, no NA conversion), so ids such
    as ``"007"`` and texts such as ``"NA"`` survive, and metadata values are
    strings. Error line numbers count physical lines of the file, the header
    being line 1. For DataFrames, ``line`` is the 1-based row position. Errors
    in ``.json`` files name the position in the array, not a line.

    Examples
    --------
    >>> from kura_sklearn.conversation import load_conversations
    >>> conversations = load_conversations([
    ...     {"chat_id": "c1", "created_at": "2024-05-01T10:00:00Z",
    ...      "messages": [{"role": "user", "content": "Fix my regex"},
    ...                   {"role": "assistant", "content": "Escape the dot."}]},
    ...     {"messages": [  # OpenAI chat format, no id
    ...         {"role": "developer", "content": "Be brief."},
    ...         {"role": "user", "content": [{"type": "text", "text": "2+2?"}]}]},
    ... ])
    >>> [c.chat_id for c in conversations]
    ['c1', 'conv-...']
    >>> [m.role for m in conversations[1].messages]
    ['system', 'user']

    One row per message, grouped by ``chat_id``:

    >>> import pandas as pd
    >>> df = pd.DataFrame({"chat_id": ["a", "b", "a"],
    ...                    "role": ["user", "user", "assistant"],
    ...                    "content": ["Hi", "Hello?", "Hi! How can I help?"]})
    >>> [(c.chat_id, len(c.messages)) for c in load_conversations(df)]
    [('a', 2), ('b', 1)]
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {list(FORMATS)}, got {format!r}")
    if not (on_invalid in ("raise", "skip") or callable(on_invalid)):
        raise ValueError(
            f"on_invalid must be 'raise', 'skip' or a callable, got {on_invalid!r}"
        )
    columns = _Columns(
        chat_id=chat_id_column,
        role=role_column,
        content=content_column,
        created_at=created_at_column,
        messages=messages_column,
        metadata=_check_metadata_columns(metadata_columns),
    )
    if isinstance(source, (str, os.PathLike)):
        items = _items_from_path(Path(os.fspath(source)), format, columns)
    elif _is_dataframe(source):
        items = _items_from_dataframe(source, format, columns)
    else:
        _reject_metadata_columns(columns)
        items = _items_from_iterable(source, format)
    return _build_conversations(items, on_invalid)


def _invalid_handler(on_invalid):
    """A function taking each invalid record's error: raise, or skip it."""
    if on_invalid == "raise":

        def handle(error):
            raise error

        return handle, lambda: None
    if callable(on_invalid):
        return on_invalid, lambda: None
    skipped = []

    def finish():
        if skipped:
            logger.warning(
                "Skipped %d invalid record(s); the first: %s", len(skipped), skipped[0]
            )

    return skipped.append, finish


def _build_conversations(items, on_invalid="raise"):
    """Validate (record, origin, format) items into Conversations."""
    handle, finish = _invalid_handler(on_invalid)
    parsed = []
    n_skipped = 0
    for record, origin, record_fmt in items:
        if isinstance(record, Conversation):
            parsed.append(_Parsed(record, True, origin))
            continue
        try:
            if isinstance(record, _Invalid):
                raise record.error
            result = _parse_record(record, record_fmt, origin)
        except ConversationValidationError as exc:
            handle(exc)
            continue
        if result is None:
            n_skipped += 1
        else:
            parsed.append(result)
    if n_skipped:
        logger.warning(
            "Skipped %d claude.ai conversation(s) with no messages.", n_skipped
        )
    conversations = _assign_chat_ids(parsed, handle)
    finish()
    return conversations


def _assign_chat_ids(parsed, handle):
    """Reject duplicate explicit ids; give the others content-derived ones.

    ``handle`` gets the error of each repeat of an explicit id (it raises, or
    the repeat is dropped and the first kept).
    """
    first_seen = {}
    kept = []
    for item in parsed:
        if item.explicit_id:
            chat_id = item.conversation.chat_id
            if chat_id in first_seen:
                handle(_duplicate_error(chat_id, first_seen[chat_id], item.origin))
                continue
            first_seen[chat_id] = item.origin
        kept.append(item)
    parsed = kept

    used = set(first_seen)
    repeats = {}
    conversations = []
    for item in parsed:
        conversation = item.conversation
        if not item.explicit_id:
            base = stable_chat_id(conversation.messages)
            n = repeats.get(base, 0)
            chat_id = None
            while chat_id is None or chat_id in used:
                n += 1
                chat_id = base if n == 1 else f"{base}-{n}"
            repeats[base] = n
            used.add(chat_id)
            conversation = conversation.model_copy(update={"chat_id": chat_id})
        conversations.append(conversation)
    return conversations


def _duplicate_error(chat_id, first, second):
    def position(origin):
        line = origin.current_line()
        return f"conversation {origin.index}" + (
            f" (line {line})" if line is not None else ""
        )

    return second.error(
        f"duplicate chat_id {chat_id!r}: used by {position(first)} and "
        f"{position(second)}",
        field="chat_id",
        chat_id=chat_id,
    )
