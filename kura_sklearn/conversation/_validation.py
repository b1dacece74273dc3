"""Where a record came from, its errors, and the value checks every reader shares."""

import math
import numbers
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache

from pydantic import TypeAdapter, ValidationError

from ._types import ConversationValidationError

_MESSAGE_FIELD = re.compile(r"messages\[(\d+)\](?:\.([^.\[]+))?(.*)")

_TOP_FIELD = re.compile(r"[^.\[]+")


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
class _Invalid:
    """An item that could not be read as a record: its error."""

    error: ConversationValidationError


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
