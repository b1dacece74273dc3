"""Record dialects to Conversations: Kura, OpenAI chat, claude.ai export."""

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from ._types import Conversation, _pydantic_error_to_ours
from ._validation import _as_list, _Origin, _read_datetime, _require_mapping, _shown_id

FORMATS = ("auto", "kura", "openai", "claude")

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


@dataclass(frozen=True)
class _Parsed:
    conversation: Conversation
    explicit_id: bool
    origin: _Origin


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
