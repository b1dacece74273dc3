"""Reading conversations and writing tables for the commands.

Conversations are read with the column options of the command line; invalid
records are reported with their file and line; tables go to a file by its
suffix, or to standard output with control characters shown as escapes.
"""

import json
import sys
from pathlib import Path

from ._common import CommandError

#: Column options of ``load_conversations`` (CSV, Parquet), as CLI settings.
COLUMN_SETTINGS = (
    "chat_id_column",
    "role_column",
    "content_column",
    "created_at_column",
    "messages_column",
    "metadata_columns",
)


def _column_options(settings):
    """``load_conversations`` column keywords from settings or arguments."""
    options = {}
    for name in COLUMN_SETTINGS:
        value = settings.get(name)
        if value is None:
            continue
        if name == "metadata_columns" and isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        options[name] = value
    return options


def _load(path, format, columns=None, skipped=None):
    """Conversations of ``path``; with a ``skipped`` list, invalid records
    are left out and their errors appended to it."""
    from ..conversation import load_conversations

    if Path(path).is_dir():
        raise CommandError(f"{path}: is a directory, not a file of conversations")
    if not Path(path).exists():
        raise CommandError(f"{path}: no such file")
    on_invalid = "raise" if skipped is None else skipped.append
    try:
        conversations = load_conversations(
            path, format=format, on_invalid=on_invalid, **(columns or {})
        )
    except (OSError, ValueError) as exc:  # ConversationValidationError too
        raise CommandError(_naming_path(path, exc)) from None
    if len(conversations) < 2:
        raise CommandError(
            f"{path}: {len(conversations)} conversation(s); at least 2 are needed"
        )
    return conversations


def _naming_path(path, exc):
    """The error's message, naming ``path`` once."""
    message = str(exc)
    return message if str(path) in message else f"{path}: {message}"


def _write_skipped(path, errors):
    """One JSON line per skipped record: line, index, chat_id, field, reason."""
    errors = sorted(errors, key=lambda e: (e.line is None, e.line or 0))
    with open(path, "w", encoding="utf-8") as file:
        for error in errors:
            row = {
                "line": error.line,
                "index": error.index,
                "chat_id": error.chat_id,
                "field": error.field,
                "reason": error.reason,
            }
            file.write(json.dumps(row, ensure_ascii=True) + "\n")


def _with_times(table, conversations):
    """``table`` with each conversation's ``created_at`` after ``chat_id``.

    The column is left out when no conversation carries a time, so that
    tables of undated data do not grow an empty column.
    """
    from ..report import conversation_times

    times = conversation_times(table["chat_id"], conversations)
    if times.isna().all():
        return table
    table.insert(1, "created_at", times.dt.tz_localize("UTC").array)
    return table


def _write_table(table, out):
    if out is None or str(out) == "-":
        # standard output is usually a terminal: summaries and names come
        # from conversations, so their control characters are shown as
        # escapes (--out FILE keeps the exact text)
        _terminal_safe_frame(table).to_csv(sys.stdout, index=False)
        return
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        table.to_parquet(out, index=False)
    elif suffix == ".csv":
        table.to_csv(out, index=False)
    elif suffix in (".jsonl", ".ndjson"):
        table.to_json(out, orient="records", lines=True, force_ascii=False)
    else:
        raise CommandError(
            f"--out {out}: unknown format; use .parquet, .csv or .jsonl", 2
        )


def _terminal_safe_frame(table):
    """A copy of ``table`` whose text cells are safe to print on a terminal."""
    from pandas.api.types import is_object_dtype, is_string_dtype

    from ..utils import terminal_safe

    table = table.copy()
    for column in table.columns:
        values = table[column]
        if is_object_dtype(values) or is_string_dtype(values):
            table[column] = [
                terminal_safe(v, keep_newlines=True) if isinstance(v, str) else v
                for v in values
            ]
    return table
