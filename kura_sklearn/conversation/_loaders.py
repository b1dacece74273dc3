"""Read conversations from files, records and DataFrames."""

import csv
import json
import logging
import math
import numbers
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from ._types import (
    Conversation,
    ConversationValidationError,
    _pydantic_error_to_ours,
    stable_chat_id,
)

logger = logging.getLogger(__name__)

FORMATS = ("auto", "kura", "openai", "claude")
_SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
}

_KURA_KEYS = frozenset({"chat_id", "created_at", "messages", "metadata"})
_OPENAI_KEYS = frozenset(
    {"chat_id", "id", "created_at", "created", "messages", "metadata"}
)
_MESSAGE_KEYS = ("role", "content", "created_at")
_TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})
_OPENAI_ROLE_ALIASES = {"developer": "system", "function": "tool"}
_CLAUDE_SENDERS = {"human": "user", "assistant": "assistant"}

# Conversations without an id are validated under this one, then re-keyed.
_PENDING_ID = "pending"
_MESSAGE_FIELD = re.compile(r"messages\[(\d+)\](?:\.([^.\[]+))?(.*)")
_TOP_FIELD = re.compile(r"[^.\[]+")


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


# --------------------------------------------------------------------------
# Where an item came from, to make error messages precise


@dataclass(frozen=True)
class _Columns:
    chat_id: str
    role: str
    content: str
    created_at: str
    messages: str
    metadata: list | None


@dataclass(frozen=True)
class _Origin:
    """Position of one record in the input, and how to name its fields."""

    index: int | None
    line: int | None = None
    source: str | None = None
    # DataFrame input: 0-based row of the record, and of each message in the
    # one-row-per-message layout; row_to_line turns a row into a line.
    row: int | None = None
    message_rows: tuple | None = None
    row_to_line: Callable | None = None
    # record field -> DataFrame column, and message key -> column
    field_columns: Mapping = field(default_factory=dict)
    message_columns: Mapping | None = None

    def error(self, reason, *, field=None, chat_id=None):
        field, line = self._locate(field)
        return ConversationValidationError(
            reason,
            index=self.index,
            chat_id=chat_id,
            field=field,
            line=line,
            source=self.source,
        )

    def current_line(self):
        """The line (or DataFrame row) of the record itself."""
        return self._locate(None)[1]

    def _line_of_row(self, row):
        return None if row is None else self.row_to_line(row)

    def _locate(self, field):
        line = self.line if self.row is None else self._line_of_row(self.row)
        if field is None:
            return None, line
        match = _MESSAGE_FIELD.fullmatch(field)
        if match and self.message_rows is not None:
            k, key, rest = int(match.group(1)), match.group(2), match.group(3)
            if k < len(self.message_rows):
                line = self._line_of_row(self.message_rows[k])
            if key is not None:
                field = self.message_columns.get(key, key) + rest
            return field, line
        top = _TOP_FIELD.match(field).group()
        if top in self.field_columns:
            field = self.field_columns[top] + field[len(top) :]
        return field, line


@dataclass(frozen=True)
class _Parsed:
    conversation: Conversation
    explicit_id: bool
    origin: _Origin


# --------------------------------------------------------------------------
# Sources -> (item, origin) pairs


def _items_from_path(path, fmt, columns):
    if path.is_dir():
        raise FileNotFoundError(f"No such file: {str(path)!r} is a directory")
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {str(path)!r}")
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ValueError(
            f"Cannot read {str(path)!r}: unsupported suffix {path.suffix!r}; "
            f"supported suffixes are {sorted(_SUFFIXES)}."
        )
    if kind in ("jsonl", "json"):
        _reject_metadata_columns(columns)
        reader = _items_from_jsonl if kind == "jsonl" else _items_from_json
        return reader(path, fmt)
    import pandas as pd

    if kind == "parquet":
        df = pd.read_parquet(path)
        return _items_from_dataframe(df, fmt, columns, source=str(path))
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return iter(())  # no header, no rows: no conversations, as for JSONL
    except UnicodeDecodeError:
        raise _utf8_error(path.read_bytes(), str(path)) from None
    return _items_from_dataframe(
        df, fmt, columns, source=str(path), row_to_line=_csv_line_finder(path)
    )


_BOM = b"\xef\xbb\xbf"


def _items_from_jsonl(path, fmt):
    source = str(path)
    index = 0
    # bytes, split on "\n" only: a stray "\r" inside a record does not cut
    # it in two (text mode would), and invalid UTF-8 is found on its line
    with open(path, "rb") as file:
        for line_number, raw in enumerate(file, start=1):
            if line_number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            origin = _Origin(index=index, line=line_number, source=source)
            try:
                # without its line ending: a record cut short is then reported
                # at its end, not at "column 1" of a line after it
                text = raw.rstrip(b"\r\n").decode("utf-8")
                if not text.strip():
                    continue
                record = _parse_json(text, origin)
            except UnicodeDecodeError as exc:
                record = _Invalid(origin.error(_utf8_reason(raw, exc.start)))
            except ConversationValidationError as exc:
                record = _Invalid(exc)
            yield record, origin, fmt
            index += 1


def _parse_json(text, origin):
    """``json.loads(text)``, its errors as ConversationValidationError."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise origin.error(f"invalid JSON ({exc.msg}, column {exc.colno})") from exc
    except RecursionError:
        raise origin.error(
            "invalid JSON: nested too deeply (arrays or objects inside each "
            f"other more than about {sys.getrecursionlimit()} levels)"
        ) from None


def _utf8_reason(line, start):
    """Where the first invalid UTF-8 byte of ``line`` is, for a reader."""
    return (
        f"invalid UTF-8: byte 0x{line[start]:02x} at byte {start + 1} of the "
        "line; save the file as UTF-8"
    )


def _utf8_error(data, source):
    """The first invalid UTF-8 byte of a file's ``data``, by line."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line_end = data.find(b"\n", exc.start)
        line = data[line_start : line_end if line_end >= 0 else len(data)]
        return ConversationValidationError(
            _utf8_reason(line, exc.start - line_start),
            line=data.count(b"\n", 0, exc.start) + 1,
            source=source,
        )
    return ConversationValidationError("invalid UTF-8", source=source)


def _items_from_json(path, fmt):
    source = str(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _utf8_error(data, source) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConversationValidationError(
            f"invalid JSON ({exc.msg}, column {exc.colno})",
            line=exc.lineno,
            source=source,
        ) from exc
    except RecursionError:
        raise ConversationValidationError(
            "invalid JSON: nested too deeply (arrays or objects inside each "
            f"other more than about {sys.getrecursionlimit()} levels)",
            source=source,
        ) from None
    if isinstance(data, Mapping) and isinstance(data.get("conversations"), list):
        data = data["conversations"]
    if not isinstance(data, list):
        raise ConversationValidationError(
            "expected a JSON array of conversations or an object with a "
            f"'conversations' list, got {_json_type_name(data)}",
            source=source,
        )
    for index, record in enumerate(data):
        yield record, _Origin(index=index, source=source), fmt


def _items_from_iterable(source, fmt):
    if isinstance(source, Mapping):
        raise TypeError(
            "load_conversations got a single dict; pass a list of records "
            "(e.g. [record]) instead."
        )
    if isinstance(source, Conversation):
        raise TypeError(
            "load_conversations got a single Conversation; pass a list of "
            "conversations (e.g. [conversation]) instead."
        )
    if isinstance(source, (bytes, bytearray)) or not isinstance(source, Iterable):
        raise TypeError(
            "source must be a file path, an iterable of dicts or Conversation "
            f"objects, or a pandas DataFrame; got {type(source).__name__}."
        )
    return ((item, _Origin(index=index), fmt) for index, item in enumerate(source))


def _items_from_dataframe(df, fmt, columns, *, source=None, row_to_line=None):
    if fmt == "claude":
        raise ValueError(
            "format='claude' reads claude.ai JSON exports; it does not apply "
            "to DataFrame, CSV or Parquet input."
        )
    if row_to_line is None:
        row_to_line = _dataframe_row_to_line
    if columns.metadata:
        _require_columns(df, columns.metadata, source=source)
    if columns.messages in df.columns:
        return _conversation_rows(df, fmt, columns, source, row_to_line)
    _require_columns(
        df,
        [columns.chat_id, columns.role, columns.content],
        source=source,
        hint=(
            " One row per message needs chat_id, role and content columns; "
            f"one row per conversation needs a {columns.messages!r} column."
        ),
    )
    return _message_rows(df, fmt, columns, source, row_to_line)


def _conversation_rows(df, fmt, columns, source, row_to_line):
    """One DataFrame row per conversation, messages in ``columns.messages``."""
    if fmt == "auto":
        fmt = "kura" if columns.chat_id in df.columns else "openai"
    field_columns = {
        "chat_id": columns.chat_id,
        "created_at": columns.created_at,
        "messages": columns.messages,
    }
    chat_ids = _column_values(df, columns.chat_id)
    created = _column_values(df, columns.created_at)
    metadata = {name: df[name].tolist() for name in columns.metadata or ()}
    for row, messages in enumerate(df[columns.messages].tolist()):
        origin = _Origin(
            index=row,
            source=source,
            row=row,
            row_to_line=row_to_line,
            field_columns=field_columns,
        )
        chat_id = _cell(chat_ids[row])
        if chat_id == "":
            chat_id = None
        try:
            cell = _messages_cell(messages, origin, _shown_id(chat_id))
        except ConversationValidationError as exc:
            yield _Invalid(exc), origin, fmt
            continue
        record = {"messages": cell}
        if chat_id is not None:
            record["chat_id"] = chat_id
        if _cell(created[row]) is not None:
            record["created_at"] = created[row]
        if metadata:
            record["metadata"] = {name: _cell(v[row]) for name, v in metadata.items()}
        yield record, origin, fmt


def _message_rows(df, fmt, columns, source, row_to_line):
    """One DataFrame row per message, grouped by ``columns.chat_id``."""
    if fmt == "auto":
        fmt = "kura"
    chat_ids = df[columns.chat_id].tolist()
    roles = df[columns.role].tolist()
    contents = df[columns.content].tolist()
    created = _column_values(df, columns.created_at)
    metadata = {name: df[name].tolist() for name in columns.metadata or ()}
    message_columns = {
        "role": columns.role,
        "content": columns.content,
        "created_at": columns.created_at,
    }

    groups = {}
    for row, chat_id in enumerate(chat_ids):
        chat_id = _cell(chat_id)
        reason = None
        if chat_id is None or chat_id == "":
            reason = "missing chat_id; with one row per message every row needs one"
        else:
            try:
                groups.setdefault(chat_id, []).append(row)
            except TypeError:
                reason = (
                    "chat_id must be a string or an integer, got "
                    f"{type(chat_id).__name__}"
                )
        if reason is not None:  # this row belongs to no conversation
            error = ConversationValidationError(
                reason, field=columns.chat_id, line=row_to_line(row), source=source
            )
            yield _Invalid(error), _Origin(index=None, source=source), fmt

    for index, (chat_id, rows) in enumerate(groups.items()):
        origin = _Origin(
            index=index,
            source=source,
            row=rows[0],
            message_rows=tuple(rows),
            row_to_line=row_to_line,
            field_columns={"chat_id": columns.chat_id},
            message_columns=message_columns,
        )
        try:
            record = _message_group(
                chat_id, rows, roles, contents, created, origin, fmt
            )
        except ConversationValidationError as exc:
            yield _Invalid(exc), origin, fmt
            continue
        if metadata:
            record["metadata"] = {
                name: _cell(values[rows[0]]) for name, values in metadata.items()
            }
        yield record, origin, fmt


def _message_group(chat_id, rows, roles, contents, created, origin, fmt):
    """The record of one conversation's rows (one row per message)."""
    messages = []
    for k, row in enumerate(rows):
        message = {}
        for key, value in (("role", roles[row]), ("content", contents[row])):
            if _cell(value) is not None:
                message[key] = value
        message["created_at"] = _read_datetime(
            created[row], origin, f"messages[{k}].created_at", chat_id
        )
        messages.append(message)
    record = {"chat_id": chat_id, "messages": messages}
    record["created_at"] = _earliest(messages, origin, chat_id)
    return record


def _messages_cell(value, origin, shown_id):
    """The messages of a one-row-per-conversation DataFrame cell, as a list."""
    if isinstance(value, str) and not value.strip():
        return None  # empty CSV cell: reported as missing
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise origin.error(
                f"expected a JSON list of messages, got invalid JSON ({exc.msg})",
                field="messages",
                chat_id=shown_id,
            ) from exc
    messages = _as_list(value)
    if messages is not None:
        return messages
    return None if _is_missing(value) else value  # reported by _message_list


def _column_values(df, name):
    return df[name].tolist() if name in df.columns else [None] * len(df)


def _require_columns(df, names, *, source=None, hint=""):
    missing = [name for name in names if name not in df.columns]
    if missing:
        where = f"{source}: " if source is not None else ""
        raise ValueError(
            f"{where}DataFrame has no column {', '.join(map(repr, missing))}; "
            f"columns present: {list(df.columns)}.{hint}"
        )


def _dataframe_row_to_line(row):
    return row + 1


def _csv_line_finder(path):
    """Map a 0-based CSV data row to the file line it starts on (header = 1).

    The file is scanned only when an error needs a line number. Fields may
    span lines, so the row position alone is not enough.
    """

    @cache
    def starts():
        lines = []
        try:
            with open(path, newline="", encoding="utf-8-sig") as file:
                reader = csv.reader(file)
                next_start = 1
                for record in reader:
                    if record:  # pandas skips blank lines too
                        lines.append(next_start)
                    next_start = reader.line_num + 1
        except (OSError, UnicodeDecodeError, csv.Error):
            return []
        return lines[1:]

    def row_to_line(row):
        lines = starts()
        return lines[row] if row < len(lines) else row + 2

    return row_to_line


# --------------------------------------------------------------------------
# Records -> Conversation


@dataclass(frozen=True)
class _Invalid:
    """An item that could not be read as a record: its error."""

    error: ConversationValidationError


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


def _parse_record(record, fmt, origin):
    """Validate one record; None for a claude.ai conversation to skip."""
    if not isinstance(record, Mapping):
        raise origin.error(
            "expected a dict (one conversation) or a Conversation, got "
            f"{type(record).__name__}"
        )
    if fmt == "auto":
        fmt = _detect_format(record)
    if fmt == "claude":
        fields = _claude_fields(record, origin)
        if fields is None:
            return None
    elif fmt == "openai":
        fields = _openai_fields(record, origin)
    else:
        fields = _kura_fields(record, origin)
    return _validate(fields, origin)


def _detect_format(record):
    if "chat_messages" in record:
        return "claude"
    if "messages" in record and "chat_id" not in record:
        return "openai"
    return "kura"


def _kura_fields(record, origin):
    chat_id = record.get("chat_id")
    shown_id = _shown_id(chat_id)
    messages = _message_list(record, "messages", origin, shown_id)
    return {
        "chat_id": chat_id,
        "created_at": _read_datetime(
            record.get("created_at"), origin, "created_at", shown_id
        ),
        "messages": [
            _kura_message(m, k, origin, shown_id) for k, m in enumerate(messages)
        ],
        "metadata": _metadata(record, _KURA_KEYS, origin, shown_id),
    }


def _openai_fields(record, origin):
    chat_id = record.get("chat_id")
    if chat_id is None:
        chat_id = record.get("id")
    created_at = record.get("created_at")
    if created_at is None:
        created_at = record.get("created")
    shown_id = _shown_id(chat_id)
    messages = _message_list(record, "messages", origin, shown_id)
    return {
        "chat_id": chat_id,
        "created_at": _read_datetime(created_at, origin, "created_at", shown_id),
        "messages": [
            _openai_message(m, k, origin, shown_id) for k, m in enumerate(messages)
        ],
        "metadata": _metadata(record, _OPENAI_KEYS, origin, shown_id),
    }


def _claude_fields(record, origin):
    chat_id = record.get("uuid")
    shown_id = _shown_id(chat_id)
    raw = record.get("chat_messages")
    if raw is None:
        raise origin.error(
            "required field is missing", field="chat_messages", chat_id=shown_id
        )
    chat_messages = _as_list(raw)
    if chat_messages is None:
        raise origin.error(
            f"expected a list of messages, got {type(raw).__name__}",
            field="chat_messages",
            chat_id=shown_id,
        )
    if not chat_messages:
        return None
    messages = []
    for k, message in enumerate(chat_messages):
        where = f"chat_messages[{k}]"
        _require_mapping(message, origin, where, shown_id)
        sender = message.get("sender")
        if sender not in _CLAUDE_SENDERS:
            raise origin.error(
                f"unknown sender {sender!r}; expected one of {list(_CLAUDE_SENDERS)}",
                field=f"{where}.sender",
                chat_id=shown_id,
            )
        text = message.get("text")
        if text is not None and not isinstance(text, str):
            raise origin.error(
                f"expected a string, got {type(text).__name__}",
                field=f"{where}.text",
                chat_id=shown_id,
            )
        if not text:
            text = _join_text_parts(
                message.get("content"), origin, f"{where}.content", shown_id
            )
        messages.append(
            {
                "role": _CLAUDE_SENDERS[sender],
                "content": text,
                "created_at": _read_datetime(
                    message.get("created_at"), origin, f"{where}.created_at", shown_id
                ),
            }
        )
    return {
        "chat_id": chat_id,
        "created_at": _read_datetime(
            record.get("created_at"), origin, "created_at", shown_id
        ),
        "messages": messages,
        "metadata": {"name": record.get("name"), "source": "claude.ai"},
    }


def _message_list(record, key, origin, shown_id):
    if key not in record or record[key] is None:
        raise origin.error("required field is missing", field=key, chat_id=shown_id)
    messages = _as_list(record[key])
    if messages is None:
        raise origin.error(
            f"expected a list of messages, got {type(record[key]).__name__}",
            field=key,
            chat_id=shown_id,
        )
    if not messages:
        raise origin.error(
            "the conversation has no messages", field=key, chat_id=shown_id
        )
    return messages


def _kura_message(message, k, origin, shown_id):
    _require_mapping(message, origin, f"messages[{k}]", shown_id)
    result = {key: message[key] for key in _MESSAGE_KEYS if key in message}
    if result.get("content", None) is None:
        raise origin.error(
            "content is missing", field=f"messages[{k}].content", chat_id=shown_id
        )
    if _is_content_parts(result["content"]):
        # as in OpenAI records: a record's format must not depend on whether
        # it has a chat_id
        result["content"] = _join_text_parts(
            result["content"], origin, f"messages[{k}].content", shown_id
        )
    result["created_at"] = _read_datetime(
        message.get("created_at"), origin, f"messages[{k}].created_at", shown_id
    )
    return result


def _openai_message(message, k, origin, shown_id):
    _require_mapping(message, origin, f"messages[{k}]", shown_id)
    result = {key: message[key] for key in _MESSAGE_KEYS if key in message}
    role = result.get("role")
    if isinstance(role, str):
        result["role"] = role = _OPENAI_ROLE_ALIASES.get(role, role)
    content = result.get("content")
    if content is None:
        calls_tools = message.get("tool_calls") or message.get("function_call")
        if not (role == "assistant" and calls_tools):
            raise origin.error(
                "content is missing; only assistant messages that carry "
                "tool_calls or function_call may have none",
                field=f"messages[{k}].content",
                chat_id=shown_id,
            )
        result["content"] = ""
    elif not isinstance(content, str) and _as_list(content) is not None:
        result["content"] = _join_text_parts(
            content, origin, f"messages[{k}].content", shown_id
        )
    result["created_at"] = _read_datetime(
        message.get("created_at"), origin, f"messages[{k}].created_at", shown_id
    )
    return result


def _is_content_parts(content):
    """A non-empty list of typed content parts (``{"type": ..., ...}``)."""
    items = None if isinstance(content, str) else _as_list(content)
    return bool(items) and all(
        isinstance(part, Mapping) and "type" in part for part in items
    )


def _join_text_parts(parts, origin, where, shown_id):
    """Join the text of content parts with newlines, skipping non-text parts."""
    if parts is None:
        return ""
    items = _as_list(parts)
    if items is None:
        raise origin.error(
            f"expected a string or a list of content parts, got {type(parts).__name__}",
            field=where,
            chat_id=shown_id,
        )
    texts = []
    for j, part in enumerate(items):
        if isinstance(part, str):
            texts.append(part)
            continue
        _require_mapping(
            part, origin, f"{where}[{j}]", shown_id, what="a content part (dict)"
        )
        if part.get("type") not in _TEXT_PART_TYPES:
            continue
        text = part.get("text")
        if not isinstance(text, str):
            raise origin.error(
                f"expected a string, got {type(text).__name__}",
                field=f"{where}[{j}].text",
                chat_id=shown_id,
            )
        texts.append(text)
    return "\n".join(texts)


def _metadata(record, known_keys, origin, shown_id):
    """The record's metadata plus its unknown top-level keys."""
    metadata = record.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, Mapping):
        raise origin.error(
            f"expected a dict, got {type(metadata).__name__}",
            field="metadata",
            chat_id=shown_id,
        )
    merged = dict(metadata)
    for key, value in record.items():
        if key not in known_keys:
            merged.setdefault(key, value)
    return merged


def _validate(fields, origin):
    chat_id = fields["chat_id"]
    explicit_id = chat_id is not None
    payload = dict(fields, chat_id=chat_id if explicit_id else _PENDING_ID)
    try:
        conversation = Conversation.model_validate(payload)
    except ValidationError as exc:
        ours = _pydantic_error_to_ours(exc)
        raise origin.error(
            ours.reason, field=ours.field, chat_id=_shown_id(chat_id)
        ) from exc
    return _Parsed(conversation, explicit_id, origin)


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


# --------------------------------------------------------------------------
# Small value helpers


def _read_datetime(value, origin, where, shown_id):
    try:
        return _to_datetime(value)
    except ValueError as exc:
        raise origin.error(str(exc), field=where, chat_id=shown_id) from None


def _to_datetime(value):
    """A datetime from ISO text, a datetime/Timestamp or epoch seconds."""
    if _is_missing(value):
        return None
    if isinstance(value, datetime):
        to_pydatetime = getattr(value, "to_pydatetime", None)  # pandas Timestamp
        return to_pydatetime() if to_pydatetime is not None else value
    if type(value).__name__ == "datetime64":  # numpy
        return value.astype("datetime64[us]").item()
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise ValueError(
                f"epoch seconds {value!r} are out of range (milliseconds?)"
            ) from None
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return _datetime_adapter().validate_python(value.strip())
        except ValidationError:
            raise ValueError(
                f"cannot read {value!r} as a date-time; expected ISO 8601 text"
            ) from None
    raise ValueError(
        "expected ISO 8601 text, a datetime or epoch seconds, got "
        f"{type(value).__name__}"
    )


@cache
def _datetime_adapter():
    # pydantic's parser: ISO 8601 with "Z", dates alone, numeric epoch text.
    return TypeAdapter(datetime)


def _earliest(messages, origin, shown_id):
    times = [m["created_at"] for m in messages if m["created_at"] is not None]
    try:
        return min(times, default=None)
    except TypeError:
        raise origin.error(
            "created_at mixes timezone-aware and naive date-times",
            field="created_at",
            chat_id=shown_id,
        ) from None


def _is_missing(value):
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return math.isnan(value)
    return False


def _cell(value):
    """A DataFrame cell as a Python value, None when missing."""
    if _is_missing(value):
        return None
    numpy_scalar = (
        type(value).__module__ == "numpy"
        and getattr(value, "ndim", None) == 0
        and type(value).__name__ != "datetime64"
    )
    return value.item() if numpy_scalar else value


def _as_list(value):
    """value as a list if it is a list, tuple or 1-d array; else None."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 1:
        return value.tolist()
    return None


def _require_mapping(value, origin, where, shown_id, what="a dict (one message)"):
    if not isinstance(value, Mapping):
        raise origin.error(
            f"expected {what}, got {type(value).__name__}",
            field=where,
            chat_id=shown_id,
        )


def _shown_id(chat_id):
    """The chat_id as it should appear in error messages, if usable."""
    if isinstance(chat_id, str) or (
        isinstance(chat_id, int) and not isinstance(chat_id, bool)
    ):
        return str(chat_id)
    return None


def _json_type_name(value):
    return {dict: "an object", list: "an array", str: "a string"}.get(
        type(value), type(value).__name__
    )


def _is_dataframe(value):
    return (
        type(value).__module__.startswith("pandas")
        and type(value).__name__ == "DataFrame"
    )


def _check_metadata_columns(metadata_columns):
    if metadata_columns is None:
        return None
    if isinstance(metadata_columns, str):
        return [metadata_columns]
    return list(metadata_columns)


def _reject_metadata_columns(columns):
    if columns.metadata is not None:
        raise ValueError(
            "metadata_columns applies only to DataFrame, CSV and Parquet input; "
            "records carry their own 'metadata'."
        )
