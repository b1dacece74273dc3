"""Tests for the Message and Conversation types and their helpers."""

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from kura_sklearn.conversation import (
    ROLES,
    Conversation,
    ConversationValidationError,
    Message,
    stable_chat_id,
    truncate_middle,
)
from kura_sklearn.conversation._types import _pydantic_error_to_ours

REPO_ROOT = Path(__file__).resolve().parents[1]

TURNS = [
    {"role": "user", "content": "How do I sort a dict by value?"},
    {"role": "assistant", "content": "Use sorted(d.items(), key=lambda kv: kv[1])."},
]


def make_conversation(chat_id="c1", messages=TURNS, **kwargs):
    return Conversation(chat_id=chat_id, messages=messages, **kwargs)


# Every documented role is accepted and kept as given.
@pytest.mark.parametrize("role", ROLES)
def test_message_accepts_every_documented_role(role):
    assert Message(role=role, content="x").role == role


# Roles outside the documented set are rejected.
@pytest.mark.parametrize("role", ["bot", "User", "", "developer"])
def test_message_rejects_unknown_role(role):
    with pytest.raises(ValidationError):
        Message(role=role, content="x")


# Message content is never coerced from other types.
@pytest.mark.parametrize("content", [1, 1.5, None, {"text": "hi"}, ["hi"], b"hi"])
def test_message_rejects_non_string_content(content):
    with pytest.raises(ValidationError):
        Message(role="user", content=content)


# Unknown message fields are an error, not silently kept.
def test_message_rejects_extra_fields():
    with pytest.raises(ValidationError):
        Message(role="user", content="x", name="alice")


# created_at accepts ISO text and datetimes and is stored as a datetime.
@pytest.mark.parametrize(
    "value",
    ["2024-05-01T10:00:00+00:00", datetime(2024, 5, 1, 10, tzinfo=timezone.utc)],
)
def test_message_created_at_is_parsed_to_datetime(value):
    message = Message(role="user", content="x", created_at=value)
    assert message.created_at == datetime(2024, 5, 1, 10, tzinfo=timezone.utc)


# A conversation needs at least one message and a non-empty chat_id.
@pytest.mark.parametrize(
    "kwargs",
    [
        {"chat_id": "c1", "messages": []},
        {"chat_id": "", "messages": TURNS},
        {"messages": TURNS},
        {"chat_id": "c1"},
    ],
    ids=["no-messages", "empty-chat-id", "missing-chat-id", "missing-messages"],
)
def test_conversation_rejects_invalid_fields(kwargs):
    with pytest.raises(ValidationError):
        Conversation(**kwargs)


# Integer chat_ids (common in exports) are kept as text; booleans are not ids.
def test_conversation_chat_id_int_becomes_string_bool_rejected():
    assert make_conversation(chat_id=42).chat_id == "42"
    with pytest.raises(ValidationError):
        make_conversation(chat_id=True)


# Unknown top-level fields are an error.
def test_conversation_rejects_extra_fields():
    with pytest.raises(ValidationError):
        make_conversation(user="alice")


# Messages given as dicts are validated into Message objects.
def test_conversation_builds_messages_from_dicts():
    conversation = make_conversation()
    assert all(isinstance(m, Message) for m in conversation.messages)
    assert [m.role for m in conversation.messages] == ["user", "assistant"]
    assert conversation.metadata == {}


# Messages and conversations are immutable.
@pytest.mark.parametrize(
    "make_obj, attribute, value",
    [
        (lambda: Message(role="user", content="x"), "content", "y"),
        (make_conversation, "chat_id", "other"),
        (make_conversation, "metadata", {"a": 1}),
    ],
)
def test_objects_are_frozen(make_obj, attribute, value):
    obj = make_obj()
    with pytest.raises(ValidationError):
        setattr(obj, attribute, value)


# The content hash depends on the turns only, not on id, time or metadata.
def test_content_hash_ignores_chat_id_created_at_and_metadata():
    first = make_conversation(chat_id="a", metadata={"tier": "free"})
    second = make_conversation(
        chat_id="b", created_at=datetime(2024, 1, 1), metadata={"tier": "pro"}
    )
    assert first.content_hash() == second.content_hash()
    assert len(first.content_hash()) == 64


# One changed character, role or turn order gives a different hash.
@pytest.mark.parametrize(
    "messages",
    [
        [TURNS[0], {**TURNS[1], "content": TURNS[1]["content"][:-1] + "!"}],
        [TURNS[0], {**TURNS[1], "role": "system"}],
        [TURNS[1], TURNS[0]],
        TURNS[:1],
    ],
    ids=["one-char", "role", "order", "fewer-turns"],
)
def test_content_hash_changes_with_the_turns(messages):
    assert make_conversation(messages=messages).content_hash() != (
        make_conversation().content_hash()
    )


# render writes one "role: content" block per turn.
def test_render_without_budget_lists_every_turn():
    text = make_conversation().render()
    assert text == (
        "user: How do I sort a dict by value?\n\n"
        "assistant: Use sorted(d.items(), key=lambda kv: kv[1])."
    )


# A render under budget keeps the start and the end and respects the budget.
@pytest.mark.parametrize("max_chars", [40, 60, 100])
def test_render_truncates_middle_within_budget(max_chars):
    messages = [
        {"role": "user", "content": "REQUEST " + "a" * 300},
        {"role": "assistant", "content": "b" * 300 + " OUTCOME"},
    ]
    text = make_conversation(messages=messages).render(max_chars=max_chars)
    assert len(text) <= max_chars
    assert text.startswith("user: REQ")
    assert text.endswith("OME")
    assert "[... truncated ...]" in text


# Text within budget is returned unchanged.
@pytest.mark.parametrize("max_chars", [None, 5, 100])
def test_truncate_middle_leaves_short_text_alone(max_chars):
    assert truncate_middle("hello", max_chars) == "hello"


# Truncation keeps two thirds of the budget from the head, the rest from the tail.
def test_truncate_middle_keeps_head_and_tail():
    text = "".join(chr(ord("a") + i % 26) for i in range(1000))
    out = truncate_middle(text, 100)
    head, tail = out.split("\n\n[... truncated ...]\n\n")
    assert len(out) == 100
    assert text.startswith(head) and text.endswith(tail)
    assert len(head) == 2 * (len(head) + len(tail)) // 3


# The same messages give the same id, as dicts or as Message objects.
def test_stable_chat_id_depends_on_content_only():
    as_messages = [Message(**m) for m in TURNS]
    assert stable_chat_id(TURNS) == stable_chat_id(as_messages)
    assert stable_chat_id(TURNS).startswith("conv-")
    assert len(stable_chat_id(TURNS)) == len("conv-") + 16
    assert stable_chat_id(TURNS) != stable_chat_id(TURNS[:1])


# The id is identical in a fresh interpreter (no per-process hash seed).
def test_stable_chat_id_is_stable_across_processes():
    code = (
        "from kura_sklearn.conversation import stable_chat_id; "
        f"print(stable_chat_id({TURNS!r}))"
    )
    ids = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert ids == {stable_chat_id(TURNS)}


# The error message names source, line, conversation, chat_id and field.
def test_conversation_validation_error_message_names_every_location():
    error = ConversationValidationError(
        "bad role",
        index=3,
        chat_id="c9",
        field="messages[1].role",
        line=7,
        source="data.jsonl",
    )
    assert str(error) == (
        "data.jsonl, line 7, conversation 3, chat_id='c9', "
        "field 'messages[1].role': bad role"
    )
    assert isinstance(error, ValueError)
    assert (error.index, error.chat_id, error.field, error.line) == (
        3,
        "c9",
        "messages[1].role",
        7,
    )


# Pydantic errors become ours, with a dotted field path and a plain reason.
@pytest.mark.parametrize(
    "messages, field, reason",
    [
        ([{"role": "bot", "content": "x"}], "messages[0].role", "unknown role 'bot'"),
        (
            [{"role": "user", "content": 5}],
            "messages[0].content",
            "expected a string, got int",
        ),
        ([], "messages", "the conversation has no messages"),
        ([{"content": "x"}], "messages[0].role", "required field is missing"),
    ],
)
def test_pydantic_error_to_ours_names_field_and_reason(messages, field, reason):
    with pytest.raises(ValidationError) as info:
        Conversation(chat_id="c1", messages=messages)
    error = _pydantic_error_to_ours(info.value, index=2, chat_id="c1")
    assert error.field == field
    assert reason in error.reason
    assert "conversation 2" in str(error) and "'c1'" in str(error)
