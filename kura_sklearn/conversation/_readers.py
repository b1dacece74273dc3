"""Sources (JSONL, JSON, CSV and Parquet files, iterables, DataFrames) as records."""

import csv
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from ._types import Conversation, ConversationValidationError
from ._validation import (
    _as_list,
    _cell,
    _earliest,
    _Invalid,
    _is_missing,
    _json_type_name,
    _Origin,
    _read_datetime,
    _shown_id,
)

_SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
}


@dataclass(frozen=True)
class _Columns:
    chat_id: str
    role: str
    content: str
    created_at: str
    messages: str
    metadata: list | None


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
