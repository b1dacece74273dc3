"""Validated conversation and message types."""

import hashlib
import html
import json
import re
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Role = Literal["user", "assistant", "system", "tool"]
ROLES = get_args(Role)

_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_unicode(text):
    """``text`` unchanged, or a ValueError naming its first lone surrogate.

    JSON's ``"\\ud83d"`` escape decodes to half of a surrogate pair (an
    emoji cut in two, typically), which Python keeps in a str but no UTF-8
    writer (Parquet, the cache, an HTTP request) accepts.
    """
    match = _SURROGATE.search(text)
    if match is not None:
        raise ValueError(
            f"lone surrogate {match.group()!a} at character {match.start()} is "
            "not valid Unicode (half of an emoji cut in two?); repair or remove it"
        )
    return text


def _check_nested_unicode(value):
    """Run :func:`_check_unicode` over every string in nested dicts and lists.

    Iterative, so that deeply nested metadata cannot exhaust the stack.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _check_unicode(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return value


class ConversationValidationError(ValueError):
    """Raised when input cannot be read as conversations.

    The message names the conversation (its position in the input and, when
    known, its ``chat_id``), the field at fault, and for files the line.

    Attributes
    ----------
    index : int or None
        Position of the faulty conversation in the input.
    chat_id : str or None
        Its ``chat_id`` when the input had one.
    field : str or None
        Dotted path of the faulty field, e.g. ``"messages[2].role"``.
    line : int or None
        1-based line number for line-oriented files (JSONL, CSV).
    """

    def __init__(
        self, reason, *, index=None, chat_id=None, field=None, line=None, source=None
    ):
        self.reason = reason
        self.index = index
        self.chat_id = chat_id
        self.field = field
        self.line = line
        self.source = source
        super().__init__(self._format())

    def _format(self):
        where = []
        if self.source is not None:
            where.append(str(self.source))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.index is not None:
            where.append(f"conversation {self.index}")
        if self.chat_id is not None:
            where.append(f"chat_id={self.chat_id!r}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason


class Message(BaseModel):
    """One turn of a conversation.

    Parameters
    ----------
    role : {"user", "assistant", "system", "tool"}
        Who wrote the message.
    content : str
        The message text. Non-string content is rejected, not coerced.
    created_at : datetime, default=None
        When the message was written, if known.

    Examples
    --------
    >>> from kura_sklearn import Message
    >>> Message(role="user", content="How do I reverse a list in Python?").role
    'user'
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    role: Role
    content: str
    created_at: datetime | None = Field(default=None, strict=False)

    @field_validator("content")
    @classmethod
    def _content_is_valid_unicode(cls, value):
        return _check_unicode(value)


class Conversation(BaseModel):
    """A chat between a user and an AI assistant.

    Parameters
    ----------
    chat_id : str
        Unique identifier. Loaders generate a stable one from the content
        when the input has none (see :func:`stable_chat_id`).
    messages : list of Message
        The turns, in order. At least one.
    created_at : datetime, default=None
        When the conversation started, if known.
    metadata : dict, default={}
        Anything else the caller wants to carry along (user tier, source...).

    Examples
    --------
    >>> from kura_sklearn import Conversation
    >>> conv = Conversation(chat_id="c1", messages=[
    ...     {"role": "user", "content": "Translate 'cat' to French."},
    ...     {"role": "assistant", "content": "'Chat'."}])
    >>> len(conv.messages), conv.messages[0].content
    (2, "Translate 'cat' to French.")
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    chat_id: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    created_at: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("chat_id", mode="before")
    @classmethod
    def _chat_id_is_string(cls, value):
        # Integer ids are common in exports; keep them, as text.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("chat_id", "metadata")
    @classmethod
    def _is_valid_unicode(cls, value):
        return _check_nested_unicode(value)

    def content_hash(self):
        """Hash of the messages (roles and texts) only, not of the id or metadata.

        Two conversations with the same turns have the same hash; caches keyed
        by content use it so that changed text is never served stale results.

        Returns
        -------
        digest : str
            Hex SHA-256 digest.
        """
        return _messages_digest([(m.role, m.content) for m in self.messages])

    def render(self, max_chars=None):
        """The conversation as plain text, one ``role: content`` block per turn.

        Parameters
        ----------
        max_chars : int, default=None
            Character budget. When the text is longer, the start and the end
            are kept (the request and the outcome matter most) and a marker
            replaces the middle.

        Returns
        -------
        text : str
        """
        text = "\n\n".join(f"{m.role}: {m.content}" for m in self.messages)
        return truncate_middle(text, max_chars)

    def render_xml(self, max_chars=None):
        """The conversation as ``<message>`` elements with escaped text, for prompts.

        Each turn is one ``<message role="...">`` element whose text has
        ``&``, ``<`` and ``>`` escaped, so no message can close the element
        or the ``<conversation>`` around it, nor open a turn of its own (a
        line ``user: ...`` in a message stays inside that message).

        Parameters
        ----------
        max_chars : int, default=None
            Budget of message text, in characters before escaping. When the
            messages are longer, the first two thirds of the budget are
            taken from the start and the last third from the end (the
            request and the outcome matter most); messages cut in between
            are replaced by one ``<truncated/>`` element.

        Returns
        -------
        text : str

        Examples
        --------
        >>> from kura_sklearn import Conversation
        >>> conv = Conversation(chat_id="c", messages=[
        ...     {"role": "user", "content": "Is 2 < 3?</conversation>"}])
        >>> print(conv.render_xml())
        <message role="user">Is 2 &lt; 3?&lt;/conversation&gt;</message>
        """
        turns = [(m.role, m.content) for m in self.messages]
        total = sum(len(content) for _, content in turns)
        if max_chars is not None and total > max_chars:
            head, tail = _budget_turns(turns, max_chars)
        else:
            head, tail = turns, None
        parts = [_message_element(role, content) for role, content in head]
        if tail is not None:
            parts.append("<truncated/>")
            parts.extend(_message_element(role, content) for role, content in tail)
        return "\n".join(parts)


def _message_element(role, content):
    role = html.escape(role, quote=True)
    return f'<message role="{role}">{html.escape(content, quote=False)}</message>'


def _budget_turns(turns, max_chars):
    """The turns kept at the start and at the end within ``max_chars``."""
    head_budget = (max_chars * 2) // 3
    tail_budget = max_chars - head_budget
    head, used = [], 0
    for role, content in turns:
        if used >= head_budget:
            break
        piece = content[: head_budget - used]
        head.append((role, piece))
        used += len(piece)
    tail, used = [], 0
    # the tail never re-reads what the head already holds
    rest = turns[len(head) - 1 :] if head else turns
    cut_first = len(head[-1][1]) if head else 0
    for k, (role, content) in enumerate(reversed(rest)):
        if used >= tail_budget:
            break
        if k == len(rest) - 1:  # the head's last (cut) turn
            content = content[cut_first:]
        piece = content[max(0, len(content) - (tail_budget - used)) :]
        if piece:
            tail.append((role, piece))
            used += len(piece)
    return head, tail[::-1]


def truncate_middle(text, max_chars):
    """Keep the first two thirds and the last third of a too-long text."""
    if max_chars is None or len(text) <= max_chars:
        return text
    marker = "\n\n[... truncated ...]\n\n"
    keep = max(max_chars - len(marker), 0)
    head = (keep * 2) // 3
    tail = keep - head
    return text[:head] + marker + (text[-tail:] if tail else "")


def _messages_digest(pairs):
    payload = json.dumps(pairs, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def stable_chat_id(messages):
    """A chat_id derived from message content, for input that has none.

    The id is ``"conv-"`` followed by the first 16 hex digits of the SHA-256
    of the (role, content) pairs, so the same conversation always gets the
    same id, in any process. Loaders add ``"-2"``, ``"-3"``... to repeats of
    identical content within one input so that ids stay unique.

    Parameters
    ----------
    messages : list of Message or dict
        The turns.

    Returns
    -------
    chat_id : str

    Examples
    --------
    >>> from kura_sklearn.conversation import stable_chat_id
    >>> stable_chat_id([{"role": "user", "content": "hi"}])
    'conv-...'
    """
    pairs = []
    for m in messages:
        if isinstance(m, Message):
            pairs.append((m.role, m.content))
        else:
            pairs.append((m.get("role"), m.get("content")))
    return "conv-" + _messages_digest(pairs)[:16]


def _pydantic_error_to_ours(
    exc: ValidationError, *, index=None, chat_id=None, line=None, source=None
):
    """Turn pydantic's first error into a ConversationValidationError."""
    err = exc.errors()[0]
    field = ""
    for part in err["loc"]:
        if isinstance(part, int):
            field += f"[{part}]"
        else:
            field += ("." if field else "") + str(part)
    reason = err["msg"]
    if err["type"] == "literal_error" and field.endswith(".role"):
        reason = f"unknown role {err.get('input')!r}; expected one of {list(ROLES)}"
    elif err["type"] == "string_type":
        reason = f"expected a string, got {type(err.get('input')).__name__}"
    elif err["type"] == "too_short" and field == "messages":
        reason = "the conversation has no messages"
    elif err["type"] == "missing":
        reason = "required field is missing"
    elif err["type"] == "string_unicode":
        reason = "not valid Unicode (a lone surrogate?); repair or remove it"
    elif err["type"] == "value_error" and "error" in err.get("ctx", {}):
        reason = str(err["ctx"]["error"])  # without pydantic's "Value error, "
    return ConversationValidationError(
        reason,
        index=index,
        chat_id=chat_id,
        field=field or None,
        line=line,
        source=source,
    )
