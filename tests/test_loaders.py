"""Tests for load_conversations: every source, format and bad input."""

import json
import logging
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from kura_sklearn.conversation import (
    Conversation,
    ConversationValidationError,
    load_conversations,
    stable_chat_id,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
UTC = timezone.utc

KURA_RECORDS = [
    {
        "chat_id": "c1",
        "created_at": "2024-05-01T10:00:00Z",
        "messages": [
            {"role": "user", "content": "My regex matches too much."},
            {"role": "assistant", "content": "Make the quantifier lazy: .*?"},
        ],
        "metadata": {"tier": "free"},
    },
    {
        "chat_id": "c2",
        "created_at": "2024-05-02T09:30:00Z",
        "messages": [{"role": "user", "content": "Translate 'cat' to French."}],
    },
]


def write_jsonl(path, lines):
    """Write raw lines (str) or records (dict) as a JSONL file."""
    text = "\n".join(
        line if isinstance(line, str) else json.dumps(line) for line in lines
    )
    path.write_text(text + "\n", encoding="utf-8")
    return path


def assert_names(
    error, *, reason=None, index=None, chat_id=None, field=None, line=None, source=None
):
    """Check the error's attributes and that its message names each of them."""
    message = str(error)
    if reason is not None:
        assert reason in message
    if index is not None:
        assert error.index == index
        assert f"conversation {index}" in message
    if chat_id is not None:
        assert error.chat_id == chat_id
        assert repr(chat_id) in message
    if field is not None:
        assert error.field == field
        assert repr(field) in message
    if line is not None:
        assert error.line == line
        assert f"line {line}" in message
    if source is not None:
        assert str(source) in message


def load_error(source, **kwargs):
    with pytest.raises(ConversationValidationError) as info:
        load_conversations(source, **kwargs)
    return info.value


# ---------------------------------------------------------------- happy paths


# JSONL and NDJSON files give one conversation per non-blank line, in order.
@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson", ".JSONL"])
def test_jsonl_file_reads_one_conversation_per_line(tmp_path, suffix):
    path = write_jsonl(
        tmp_path / f"data{suffix}", [KURA_RECORDS[0], "", "   ", KURA_RECORDS[1]]
    )
    conversations = load_conversations(path)
    assert [c.chat_id for c in conversations] == ["c1", "c2"]
    assert conversations[0].created_at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert conversations[0].metadata == {"tier": "free"}
    assert conversations[0].messages[1].content == "Make the quantifier lazy: .*?"


# A path given as str or as Path reads the same.
@pytest.mark.parametrize("as_type", [str, Path])
def test_path_may_be_str_or_pathlike(tmp_path, as_type):
    path = write_jsonl(tmp_path / "data.jsonl", KURA_RECORDS)
    assert len(load_conversations(as_type(path))) == 2


# A .json file may hold an array of records or an object with "conversations".
@pytest.mark.parametrize("wrap", [False, True], ids=["array", "object"])
def test_json_file_reads_array_or_conversations_object(tmp_path, wrap):
    data = {"conversations": KURA_RECORDS} if wrap else KURA_RECORDS
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert [c.chat_id for c in load_conversations(path)] == ["c1", "c2"]


# Any iterable of records works: list, tuple or generator.
@pytest.mark.parametrize("container", [list, tuple, lambda rs: (r for r in rs)])
def test_iterable_of_records(container):
    conversations = load_conversations(container(KURA_RECORDS))
    assert [c.chat_id for c in conversations] == ["c1", "c2"]


# An empty input gives an empty list.
@pytest.mark.parametrize("source", [[], ()])
def test_empty_iterable_gives_empty_list(source):
    assert load_conversations(source) == []


# Conversation objects pass through unchanged, mixed with records.
def test_conversation_objects_pass_through_unchanged():
    existing = Conversation(
        chat_id="kept", messages=[{"role": "user", "content": "hi"}]
    )
    conversations = load_conversations([existing, KURA_RECORDS[1]])
    assert conversations[0] is existing
    assert conversations[1].chat_id == "c2"


# Kura records: unknown top-level keys go to metadata, unknown message keys drop.
def test_kura_unknown_keys_move_to_metadata_and_message_extras_drop():
    record = {
        "chat_id": "c1",
        "user_tier": "pro",
        "metadata": {"language": "en"},
        "messages": [{"role": "user", "content": "hi", "tokens": 1, "id": "m1"}],
    }
    (conversation,) = load_conversations([record])
    assert conversation.metadata == {"language": "en", "user_tier": "pro"}
    assert conversation.messages[0].model_dump() == {
        "role": "user",
        "content": "hi",
        "created_at": None,
    }


# An explicit metadata value wins over a top-level key of the same name.
def test_kura_explicit_metadata_wins_over_top_level_key():
    record = {
        "chat_id": "c1",
        "tier": "top",
        "metadata": {"tier": "meta"},
        "messages": [{"role": "user", "content": "hi"}],
    }
    assert load_conversations([record])[0].metadata == {"tier": "meta"}


# created_at accepts ISO text, datetimes, Timestamps and epoch seconds.
@pytest.mark.parametrize(
    "value",
    [
        "2024-05-01T10:00:00Z",
        "2024-05-01T12:00:00+02:00",
        datetime(2024, 5, 1, 10, tzinfo=UTC),
        pd.Timestamp("2024-05-01T10:00:00Z"),
        1714557600,
        1714557600.0,
    ],
    ids=["iso-z", "iso-offset", "datetime", "timestamp", "epoch-int", "epoch-float"],
)
@pytest.mark.parametrize("level", ["conversation", "message"])
def test_created_at_accepts_iso_datetime_timestamp_and_epoch(value, level):
    message = {"role": "user", "content": "hi"}
    record = {"chat_id": "c1", "messages": [message]}
    if level == "conversation":
        record["created_at"] = value
    else:
        message["created_at"] = value
    (conversation,) = load_conversations([record])
    got = (
        conversation.created_at
        if level == "conversation"
        else conversation.messages[0].created_at
    )
    assert type(got) is datetime
    assert got == datetime(2024, 5, 1, 10, tzinfo=UTC)


# Conversations without chat_id get content ids; repeats get -2, -3 in order.
def test_missing_chat_ids_are_content_derived_and_repeats_numbered():
    same = {"messages": [{"role": "user", "content": "hello"}]}
    other = {"messages": [{"role": "user", "content": "bye"}]}
    ids = [c.chat_id for c in load_conversations([same, other, same, same])]
    base = stable_chat_id(same["messages"])
    assert ids == [base, stable_chat_id(other["messages"]), f"{base}-2", f"{base}-3"]


# A generated id never collides with an explicit one, even one given later.
def test_generated_chat_id_skips_ids_used_explicitly():
    messages = [{"role": "user", "content": "hello"}]
    base = stable_chat_id(messages)
    records = [{"messages": messages}, {"chat_id": base, "messages": messages}]
    assert [c.chat_id for c in load_conversations(records)] == [f"{base}-2", base]


# Generated ids are identical in a fresh interpreter given the same input.
def test_generated_chat_ids_are_stable_across_processes(tmp_path):
    path = write_jsonl(
        tmp_path / "data.jsonl", [{"messages": [{"role": "user", "content": "hi"}]}] * 2
    )
    code = (
        "import sys; from kura_sklearn.conversation import load_conversations; "
        "print([c.chat_id for c in load_conversations(sys.argv[1])])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONHASHSEED": "7"},
    )
    assert result.stdout.strip() == str([c.chat_id for c in load_conversations(path)])


# Integer chat_ids are kept as text.
def test_integer_chat_id_becomes_string():
    record = {"chat_id": 7, "messages": [{"role": "user", "content": "hi"}]}
    assert load_conversations([record])[0].chat_id == "7"


# OpenAI chat format: id, content parts, tool calls, role aliases, extra keys.
def test_openai_chat_format():
    record = {
        "id": "chatcmpl-1",
        "created": 1714557600,
        "model": "gpt-4o",
        "messages": [
            {"role": "developer", "content": "Answer briefly."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this image?"},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                    {"type": "input_text", "text": "And the weather?"},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {
                "role": "assistant",
                "content": None,
                "function_call": {"name": "weather", "arguments": "{}"},
            },
            {"role": "function", "name": "weather", "content": "rainy"},
            {
                "role": "assistant",
                "content": [
                    {"type": "output_text", "text": "A cat."},
                    {"type": "refusal", "refusal": "no"},
                    {"type": "output_text", "text": "Sunny."},
                ],
            },
        ],
    }
    (conversation,) = load_conversations([record])
    assert conversation.chat_id == "chatcmpl-1"
    assert conversation.created_at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert conversation.metadata == {"model": "gpt-4o"}
    assert [(m.role, m.content) for m in conversation.messages] == [
        ("system", "Answer briefly."),
        ("user", "What is in this image?\nAnd the weather?"),
        ("assistant", ""),
        ("tool", "sunny"),
        ("assistant", ""),
        ("tool", "rainy"),
        ("assistant", "A cat.\nSunny."),
    ]


# format= forces a reader: "openai" applies role aliases even with a chat_id.
@pytest.mark.parametrize("fmt, role", [("openai", "system"), ("auto", None)])
def test_format_parameter_forces_the_reader(fmt, role):
    record = {"chat_id": "c1", "messages": [{"role": "developer", "content": "x"}]}
    if role is None:  # auto: a record with chat_id is a Kura record
        error = load_error([record], format=fmt)
        assert_names(error, field="messages[0].role", reason="'developer'")
    else:
        assert load_conversations([record], format=fmt)[0].messages[0].role == role


CLAUDE_EXPORT = [
    {
        "uuid": "3f1c-aa",
        "name": "Sourdough starter",
        "created_at": "2024-03-01T08:00:00.000000Z",
        "updated_at": "2024-03-01T08:05:00.000000Z",
        "account": {"uuid": "acct"},
        "chat_messages": [
            {
                "uuid": "m1",
                "sender": "human",
                "text": "My starter smells odd.",
                "content": [{"type": "text", "text": "My starter smells odd."}],
                "created_at": "2024-03-01T08:00:00.000000Z",
                "attachments": [],
            },
            {
                "uuid": "m2",
                "sender": "assistant",
                "text": "",
                "content": [
                    {"type": "text", "text": "Feed it twice a day."},
                    {"type": "tool_use", "name": "search", "input": {}},
                    {"type": "text", "text": "Keep it warm."},
                ],
                "created_at": "2024-03-01T08:00:05.000000Z",
            },
        ],
    },
    {
        "uuid": "empty-1",
        "name": "",
        "created_at": "2024-03-02T08:00:00Z",
        "chat_messages": [],
    },
    {
        "uuid": "empty-2",
        "name": "",
        "created_at": "2024-03-03T08:00:00Z",
        "chat_messages": [],
    },
]


# claude.ai exports: uuid/sender/text mapping, metadata, empty chats skipped.
@pytest.mark.parametrize("fmt", ["auto", "claude"])
def test_claude_export(tmp_path, caplog, fmt):
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(CLAUDE_EXPORT), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="kura_sklearn.conversation"):
        conversations = load_conversations(path, format=fmt)
    assert len(conversations) == 1
    conversation = conversations[0]
    assert conversation.chat_id == "3f1c-aa"
    assert conversation.created_at == datetime(2024, 3, 1, 8, tzinfo=UTC)
    assert conversation.metadata == {"name": "Sourdough starter", "source": "claude.ai"}
    assert [(m.role, m.content) for m in conversation.messages] == [
        ("user", "My starter smells odd."),
        ("assistant", "Feed it twice a day.\nKeep it warm."),
    ]
    assert conversation.messages[1].created_at == datetime(
        2024, 3, 1, 8, 0, 5, tzinfo=UTC
    )
    assert "Skipped 2 claude.ai conversation(s)" in caplog.text


# One row per message: grouped by chat_id in order of first appearance.
def test_dataframe_per_message_groups_rows_by_chat_id():
    df = pd.DataFrame(
        {
            "chat_id": ["b", "a", "b", "a"],
            "role": ["user", "user", "assistant", "assistant"],
            "content": ["b1", "a1", "b2", "a2"],
            "created_at": pd.to_datetime(
                [
                    "2024-01-02 10:00",
                    "2024-01-01 09:00",
                    "2024-01-02 09:00",
                    "2024-01-01 09:01",
                ]
            ),
            "tier": ["pro", "free", "ignored", "ignored"],
        }
    )
    conversations = load_conversations(df, metadata_columns=["tier"])
    assert [c.chat_id for c in conversations] == ["b", "a"]
    assert [m.content for m in conversations[0].messages] == ["b1", "b2"]
    # the conversation starts at its earliest message, not its first row
    assert conversations[0].created_at == datetime(2024, 1, 2, 9)
    assert conversations[0].messages[0].created_at == datetime(2024, 1, 2, 10)
    assert [c.metadata for c in conversations] == [{"tier": "pro"}, {"tier": "free"}]


# Column names are configurable; created_at is optional.
def test_dataframe_per_message_with_custom_column_names():
    df = pd.DataFrame(
        {"conv": [1, 1], "speaker": ["user", "assistant"], "text": ["hi", "hello"]}
    )
    (conversation,) = load_conversations(
        df, chat_id_column="conv", role_column="speaker", content_column="text"
    )
    assert conversation.chat_id == "1"
    assert conversation.created_at is None
    assert [m.role for m in conversation.messages] == ["user", "assistant"]


# One row per conversation: messages as lists or JSON text; chat_id optional.
def test_dataframe_per_conversation():
    messages = [{"role": "user", "content": "hi"}]
    df = pd.DataFrame(
        {
            "messages": [
                messages,
                json.dumps(messages),
                [{"role": "user", "content": "other"}],
            ],
            "created_at": ["2024-01-01T00:00:00Z", None, "2024-01-03T00:00:00Z"],
            "source": ["web", "api", "web"],
        }
    )
    conversations = load_conversations(df, metadata_columns=["source"])
    base = stable_chat_id(messages)
    assert [c.chat_id for c in conversations] == [
        base,
        f"{base}-2",
        stable_chat_id([{"role": "user", "content": "other"}]),
    ]
    assert conversations[1].created_at is None
    assert conversations[0].created_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert [c.metadata["source"] for c in conversations] == ["web", "api", "web"]


# CSV: read as text, so ids like "007", the text "NA" and newlines survive.
def test_csv_per_message(tmp_path):
    path = tmp_path / "chats.csv"
    path.write_text(
        "chat_id,role,content,created_at\n"
        '007,user,"first line\nsecond line",2024-01-01T10:00:00Z\n'
        "007,assistant,NA,\n"
        "008,user,hi,1704103200\n",
        encoding="utf-8",
    )
    conversations = load_conversations(path)
    assert [c.chat_id for c in conversations] == ["007", "008"]
    assert [m.content for m in conversations[0].messages] == [
        "first line\nsecond line",
        "NA",
    ]
    assert conversations[0].messages[1].created_at is None
    assert conversations[1].created_at == datetime(2024, 1, 1, 10, tzinfo=UTC)


# CSV with a messages column holding JSON: one row per conversation.
def test_csv_per_conversation(tmp_path):
    df = pd.DataFrame(
        {
            "chat_id": ["c1", "c2"],
            "messages": [
                json.dumps([{"role": "user", "content": "hi"}]),
                json.dumps([{"role": "user", "content": 'a, "b"\nc'}]),
            ],
            "tier": ["free", "pro"],
        }
    )
    path = tmp_path / "chats.csv"
    df.to_csv(path, index=False)
    conversations = load_conversations(path, metadata_columns="tier")
    assert [c.chat_id for c in conversations] == ["c1", "c2"]
    assert conversations[1].messages[0].content == 'a, "b"\nc'
    assert conversations[1].metadata == {"tier": "pro"}


# Parquet, in both layouts, including nested message lists and timestamps.
@pytest.mark.parametrize("layout", ["per-message", "per-conversation"])
def test_parquet(tmp_path, layout):
    if layout == "per-message":
        df = pd.DataFrame(
            {
                "chat_id": ["c1", "c1"],
                "role": ["user", "assistant"],
                "content": ["hi", "hello"],
                "created_at": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:01"]),
            }
        )
    else:
        df = pd.DataFrame(
            {
                "chat_id": ["c1"],
                "created_at": pd.to_datetime(["2024-01-01 10:00"]),
                "messages": [
                    [
                        {
                            "role": "user",
                            "content": "hi",
                            "created_at": datetime(2024, 1, 1, 10),
                        },
                        {"role": "assistant", "content": "hello", "created_at": None},
                    ]
                ],
            }
        )
    path = tmp_path / "chats.parquet"
    df.to_parquet(path)
    (conversation,) = load_conversations(path)
    assert conversation.chat_id == "c1"
    assert conversation.created_at == datetime(2024, 1, 1, 10)
    assert type(conversation.created_at) is datetime
    assert [m.content for m in conversation.messages] == ["hi", "hello"]


# Importing the subpackage does not import pandas.
def test_import_does_not_load_pandas():
    code = "import sys, kura_sklearn.conversation; print('pandas' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    assert result.stdout.strip() == "False"


# ---------------------------------------------------------------- bad sources


# A path that is not an existing file raises FileNotFoundError naming it.
@pytest.mark.parametrize("name", ["missing.jsonl", "not a path at all", "."])
def test_missing_file_raises_file_not_found(tmp_path, name):
    target = str(tmp_path / name) if name != "." else str(tmp_path)
    with pytest.raises(FileNotFoundError, match="No such file") as info:
        load_conversations(target)
    assert target in str(info.value)


# Unsupported suffixes raise ValueError naming the supported ones.
@pytest.mark.parametrize("suffix", [".txt", ".xlsx", ""])
def test_unsupported_suffix_names_supported_ones(tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(ValueError, match="supported suffixes") as info:
        load_conversations(path)
    for supported in (".csv", ".json", ".jsonl", ".ndjson", ".parquet"):
        assert supported in str(info.value)


# A single dict, a number or bytes is not a source.
@pytest.mark.parametrize(
    "source, match",
    [(KURA_RECORDS[0], "pass a list"), (42, "int"), (b"[]", "bytes")],
)
def test_non_iterable_sources_raise_type_error(source, match):
    with pytest.raises(TypeError, match=match):
        load_conversations(source)


# Unknown format names are rejected.
def test_unknown_format_raises_value_error():
    with pytest.raises(ValueError, match="format must be one of"):
        load_conversations(KURA_RECORDS, format="chatgpt")


# metadata_columns is only for tabular input; claude format only for JSON.
@pytest.mark.parametrize(
    "source, kwargs, match",
    [
        (KURA_RECORDS, {"metadata_columns": ["tier"]}, "metadata_columns"),
        (pd.DataFrame({"messages": [[]]}), {"format": "claude"}, "claude"),
    ],
)
def test_options_that_do_not_apply_to_the_source(source, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_conversations(source, **kwargs)


# ------------------------------------------------------------ bad JSON files


# Invalid JSON on a JSONL line names the file and the 1-based line.
def test_jsonl_invalid_json_names_file_and_line(tmp_path):
    path = write_jsonl(
        tmp_path / "data.jsonl",
        [KURA_RECORDS[0], "", '{"chat_id": "c2", "messages": ['],
    )
    error = load_error(path)
    assert_names(error, reason="invalid JSON", line=3, index=1, source=path)


# A JSONL line holding a JSON value that is not an object is rejected.
@pytest.mark.parametrize("value", ["[1, 2]", '"text"', "3"])
def test_jsonl_line_not_an_object(tmp_path, value):
    path = write_jsonl(tmp_path / "data.jsonl", [KURA_RECORDS[0], value])
    error = load_error(path)
    assert_names(error, reason="expected a dict", line=2, index=1, source=path)


# Invalid JSON in a .json file names the file and the line.
def test_json_invalid_names_file_and_line(tmp_path):
    path = tmp_path / "data.json"
    path.write_text('[\n{"chat_id": "c1",\n oops}\n]', encoding="utf-8")
    error = load_error(path)
    assert_names(error, reason="invalid JSON", line=3, source=path)


# A .json file must hold an array or an object with a "conversations" list.
@pytest.mark.parametrize("data", [{"chat_id": "c1"}, {"conversations": "x"}, "text", 5])
def test_json_wrong_top_level(tmp_path, data):
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    error = load_error(path)
    assert_names(error, reason="expected a JSON array", source=path)


# ---------------------------------------------------------- bad records


def with_messages(messages, **record):
    return {"chat_id": "c9", **record, "messages": messages}


BAD_RECORDS = [
    # (record, field, reason)
    (with_messages([]), "messages", "no messages"),
    (with_messages("hi"), "messages", "expected a list of messages, got str"),
    (
        with_messages({"role": "user"}),
        "messages",
        "expected a list of messages, got dict",
    ),
    ({"chat_id": "c9"}, "messages", "required field is missing"),
    (
        with_messages([{"role": "bot", "content": "x"}]),
        "messages[0].role",
        "unknown role 'bot'; expected one of ['user', 'assistant', 'system', 'tool']",
    ),
    (
        with_messages(
            [{"role": "user", "content": "a"}, {"role": "user", "content": 5}]
        ),
        "messages[1].content",
        "expected a string, got int",
    ),
    (
        with_messages([{"role": "user", "content": {"text": "x"}}]),
        "messages[0].content",
        "expected a string, got dict",
    ),
    (
        with_messages([{"role": "user", "content": ["x"]}]),
        "messages[0].content",
        "expected a string, got list",
    ),
    (with_messages([{"role": "user"}]), "messages[0].content", "content is missing"),
    (
        with_messages([{"content": "x"}]),
        "messages[0].role",
        "required field is missing",
    ),
    (with_messages(["hi"]), "messages[0]", "expected a dict (one message), got str"),
    (
        with_messages([{"role": "user", "content": "x"}], created_at="yesterday"),
        "created_at",
        "cannot read 'yesterday'",
    ),
    (
        with_messages([{"role": "user", "content": "x", "created_at": [2024]}]),
        "messages[0].created_at",
        "got list",
    ),
    (
        with_messages([{"role": "user", "content": "x"}], created_at=1714557600000),
        "created_at",
        "out of range",
    ),
    (
        with_messages([{"role": "user", "content": "x"}], metadata="free"),
        "metadata",
        "expected a dict, got str",
    ),
    # issue 12, item 4: a lone surrogate (an emoji cut in two) passed
    # validation, then crashed Parquet and the cache naming no conversation
    (
        with_messages([{"role": "user", "content": "cut \ud83d emoji"}]),
        "messages[0].content",
        "lone surrogate '\\ud83d' at character 4",
    ),
    (
        with_messages([{"role": "user", "content": "x"}], metadata={"n": ["\udc00"]}),
        "metadata",
        "lone surrogate",
    ),
]


# Every bad Kura record is reported with its position, chat_id and field.
@pytest.mark.parametrize("record, field, reason", BAD_RECORDS)
def test_bad_kura_record_names_conversation_and_field(record, field, reason):
    error = load_error([KURA_RECORDS[0], record])
    assert_names(error, reason=reason, index=1, chat_id="c9", field=field)


# The same bad records in a JSONL file also name the file and the line.
@pytest.mark.parametrize("record, field, reason", BAD_RECORDS)
def test_bad_kura_record_in_jsonl_names_line(tmp_path, record, field, reason):
    path = write_jsonl(tmp_path / "data.jsonl", [KURA_RECORDS[0], "", record])
    error = load_error(path)
    assert_names(
        error, reason=reason, index=1, chat_id="c9", field=field, line=3, source=path
    )


# A lone surrogate in a chat_id is reported as invalid Unicode, not a crash.
def test_lone_surrogate_in_chat_id_is_invalid():
    error = load_error(
        [{"chat_id": "a\ud83d", "messages": [{"role": "user", "content": "x"}]}]
    )
    assert_names(error, index=0, field="chat_id", reason="not valid Unicode")


# A record that is not a dict is reported with its position.
@pytest.mark.parametrize("record", ["hello", 3, ["a"], None])
def test_record_not_a_dict(record):
    error = load_error([KURA_RECORDS[0], record])
    assert_names(error, reason="expected a dict", index=1)


# Without a chat_id the error names the position only.
def test_error_without_chat_id_names_position():
    error = load_error([{"messages": [{"role": "robot", "content": "x"}]}])
    assert_names(error, index=0, field="messages[0].role", reason="'robot'")
    assert error.chat_id is None


# Duplicate explicit chat_ids name the id and both positions.
def test_duplicate_chat_id_names_both_positions():
    records = [KURA_RECORDS[0], KURA_RECORDS[1], {**KURA_RECORDS[1]}]
    error = load_error(records)
    assert_names(
        error, reason="duplicate chat_id 'c2'", index=2, chat_id="c2", field="chat_id"
    )
    assert "conversation 1 and conversation 2" in str(error)


# In a JSONL file the duplicate error also gives both lines.
def test_duplicate_chat_id_in_jsonl_names_both_lines(tmp_path):
    path = write_jsonl(
        tmp_path / "data.jsonl", [KURA_RECORDS[0], "", KURA_RECORDS[1], KURA_RECORDS[0]]
    )
    error = load_error(path)
    assert_names(error, chat_id="c1", index=2, line=4, source=path)
    assert "conversation 0 (line 1) and conversation 2 (line 4)" in str(error)


# A passed-through Conversation counts towards duplicate detection.
def test_duplicate_between_conversation_object_and_record():
    existing = Conversation(chat_id="c1", messages=[{"role": "user", "content": "x"}])
    error = load_error([existing, KURA_RECORDS[0]])
    assert_names(error, chat_id="c1", index=1, reason="duplicate")


BAD_OPENAI_MESSAGES = [
    # (messages, field, reason)
    (
        [{"role": "user", "content": None}],
        "messages[0].content",
        "only assistant messages that carry tool_calls",
    ),
    (
        [{"role": "assistant", "content": None}],
        "messages[0].content",
        "content is missing",
    ),
    ([{"role": "assistant"}], "messages[0].content", "content is missing"),
    (
        [{"role": "assistant", "content": None, "tool_calls": []}],
        "messages[0].content",
        "content is missing",
    ),
    (
        [{"role": "user", "content": [{"type": "text", "text": 3}]}],
        "messages[0].content[0].text",
        "expected a string, got int",
    ),
    (
        [{"role": "user", "content": [7]}],
        "messages[0].content[0]",
        "expected a content part (dict), got int",
    ),
    (
        [{"role": "user", "content": 12}],
        "messages[0].content",
        "expected a string, got int",
    ),
    ([{"role": "critic", "content": "x"}], "messages[0].role", "unknown role"),
    ([], "messages", "no messages"),
]


# Bad OpenAI-format messages are reported with the id and the field.
@pytest.mark.parametrize("messages, field, reason", BAD_OPENAI_MESSAGES)
def test_bad_openai_record_names_conversation_and_field(messages, field, reason):
    record = {"id": "chatcmpl-9", "messages": messages}
    error = load_error([KURA_RECORDS[0], record])
    assert_names(error, reason=reason, index=1, chat_id="chatcmpl-9", field=field)


# Bad claude.ai records name the uuid and the chat_messages field.
@pytest.mark.parametrize(
    "chat_messages, field, reason",
    [
        (
            [{"sender": "bot", "text": "x"}],
            "chat_messages[0].sender",
            "unknown sender 'bot'; expected one of ['human', 'assistant']",
        ),
        (
            [{"sender": "human", "text": 5}],
            "chat_messages[0].text",
            "expected a string, got int",
        ),
        (
            [{"sender": "human", "text": "", "content": "x"}],
            "chat_messages[0].content",
            "expected a string or a list of content parts",
        ),
        (["x"], "chat_messages[0]", "expected a dict"),
        ("x", "chat_messages", "expected a list of messages, got str"),
    ],
)
def test_bad_claude_record_names_conversation_and_field(
    tmp_path, chat_messages, field, reason
):
    path = tmp_path / "conversations.json"
    record = {"uuid": "u-1", "name": "n", "chat_messages": chat_messages}
    path.write_text(json.dumps([CLAUDE_EXPORT[0], record]), encoding="utf-8")
    error = load_error(path)
    assert_names(error, reason=reason, index=1, chat_id="u-1", field=field, source=path)


# format="claude" on a record without chat_messages says what is missing.
def test_forced_claude_format_on_other_record():
    error = load_error(KURA_RECORDS, format="claude")
    assert_names(
        error, index=0, field="chat_messages", reason="required field is missing"
    )


# ------------------------------------------------------- bad DataFrames / CSV


# A per-message DataFrame missing a column names it and the columns present.
@pytest.mark.parametrize("missing", ["chat_id", "role", "content"])
def test_dataframe_missing_required_column(missing):
    columns = {"chat_id": ["c1"], "role": ["user"], "content": ["hi"]}
    del columns[missing]
    with pytest.raises(ValueError, match=f"no column '{missing}'") as info:
        load_conversations(pd.DataFrame(columns))
    assert f"columns present: {list(columns)}" in str(info.value)
    assert "'messages'" in str(info.value)


# Missing metadata columns are named too.
def test_dataframe_missing_metadata_column():
    df = pd.DataFrame({"chat_id": ["c1"], "role": ["user"], "content": ["hi"]})
    with pytest.raises(ValueError, match="no column 'tier'.*'chat_id', 'role'"):
        load_conversations(df, metadata_columns=["tier"])


# A bad cell in a per-message DataFrame names the column and 1-based row.
@pytest.mark.parametrize(
    "column, value, reason",
    [
        ("role", "robot", "unknown role 'robot'"),
        ("role", None, "required field is missing"),
        ("content", 3, "expected a string, got int"),
        ("content", None, "content is missing"),
        ("created_at", "soon", "cannot read 'soon'"),
    ],
)
def test_dataframe_per_message_bad_cell_names_row_and_column(column, value, reason):
    df = pd.DataFrame(
        {
            "chat_id": ["c1", "c2", "c2"],
            "role": ["user", "user", "assistant"],
            "content": ["a", "b", "c"],
            "created_at": ["2024-01-01T00:00:00Z"] * 3,
        },
        dtype=object,
    )
    df.loc[2, column] = value
    error = load_error(df)
    assert_names(error, reason=reason, index=1, chat_id="c2", field=column, line=3)


# A row without chat_id cannot be grouped and is reported by row.
def test_dataframe_per_message_missing_chat_id_names_row():
    df = pd.DataFrame(
        {"chat_id": ["c1", None], "role": ["user", "user"], "content": ["a", "b"]}
    )
    error = load_error(df)
    assert_names(error, reason="missing chat_id", field="chat_id", line=2)


# In a per-conversation DataFrame, a bad message names the column and row.
@pytest.mark.parametrize(
    "messages, field, reason",
    [
        ([{"role": "bot", "content": "x"}], "msgs[0].role", "unknown role 'bot'"),
        ([], "msgs", "no messages"),
        ("[{", "msgs", "invalid JSON"),
        (None, "msgs", "required field is missing"),
        (5, "msgs", "expected a list of messages, got int"),
    ],
)
def test_dataframe_per_conversation_bad_messages(messages, field, reason):
    df = pd.DataFrame(
        {
            "chat_id": ["c1", "c2"],
            "msgs": [[{"role": "user", "content": "x"}], messages],
        }
    )
    error = load_error(df, messages_column="msgs")
    assert_names(error, reason=reason, index=1, chat_id="c2", field=field, line=2)


# Duplicate chat_ids across per-conversation rows name both rows.
def test_dataframe_per_conversation_duplicate_chat_id():
    messages = [{"role": "user", "content": "x"}]
    df = pd.DataFrame({"chat_id": ["c1", "c2", "c1"], "messages": [messages] * 3})
    error = load_error(df)
    assert_names(error, chat_id="c1", index=2, line=3, field="chat_id")
    assert "conversation 0 (line 1) and conversation 2 (line 3)" in str(error)


# CSV errors give the physical line, even after a field spanning lines.
def test_csv_bad_row_names_file_line(tmp_path):
    path = tmp_path / "chats.csv"
    path.write_text(
        "chat_id,role,content\n"
        'c1,user,"one\ntwo\nthree"\n'
        "c1,assistant,ok\n"
        "c2,robot,hi\n",
        encoding="utf-8",
    )
    error = load_error(path)
    assert_names(
        error,
        reason="unknown role 'robot'",
        index=1,
        chat_id="c2",
        field="role",
        line=6,
        source=path,
    )


# A CSV messages cell that is not valid JSON names the file line.
def test_csv_per_conversation_invalid_json_names_line(tmp_path):
    path = tmp_path / "chats.csv"
    path.write_text(
        "chat_id,messages\n"
        'c1,"[{""role"": ""user"", ""content"": ""hi""}]"\n'
        'c2,"[{""role"": ""user"""\n',
        encoding="utf-8",
    )
    error = load_error(path)
    assert_names(
        error,
        reason="invalid JSON",
        index=1,
        chat_id="c2",
        field="messages",
        line=3,
        source=path,
    )


# ------------------------------------------- issue 12, item 9: load errors


def conversation_lines(n):
    return [
        json.dumps(
            {"chat_id": f"c{i}", "messages": [{"role": "user", "content": "hi"}]}
        )
        for i in range(n)
    ]


# Invalid UTF-8 is reported at its line and byte in the file, not at an
# offset into whichever chunk the decoder was reading (5450 for line 3001).
def test_invalid_utf8_in_jsonl_names_the_line_and_byte(tmp_path):
    lines = [line.encode() for line in conversation_lines(3005)]
    lines[3000] = lines[3000].replace(b'"hi"', b'"h\xffi"')
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    error = load_error(path)
    column = lines[3000].index(b"\xff") + 1
    assert_names(error, index=3000, line=3001, source=path)
    assert f"invalid UTF-8: byte 0xff at byte {column} of the line" in str(error)


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_invalid_utf8_in_csv_and_json_names_the_line(tmp_path, suffix):
    if suffix == ".csv":
        rows = [f"c{i},user,hello {i}".encode() for i in range(3005)]
        lines = [b"chat_id,role,content", *rows]
    else:
        lines = [b"[", *[line.encode() + b"," for line in conversation_lines(3005)]]
        lines[-1] = lines[-1].rstrip(b",")
        lines.append(b"]")
    lines[3001] = lines[3001].replace(b"h", b"\xe9h", 1)
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(b"\n".join(lines) + b"\n")
    error = load_error(path)
    column = lines[3001].index(b"\xe9") + 1
    assert_names(error, line=3002, source=path)
    assert f"byte 0xe9 at byte {column} of the line" in str(error)


# A record cut short (a writer killed mid-line) is reported at its end, not
# at "column 1" of the line ending (issue 12, item 12: a wrong JSON column).
@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_jsonl_cut_record_names_the_column_where_it_ends(tmp_path, ending):
    lines = conversation_lines(3)
    lines[1] = lines[1][: lines[1].index("[") + 1]  # '{"chat_id": "c1", "messages": ['
    path = tmp_path / "cut.jsonl"
    path.write_bytes(ending.join(lines).encode() + ending.encode())
    error = load_error(path)
    assert_names(error, index=1, line=2)
    assert f"invalid JSON (Expecting value, column {len(lines[1]) + 1})" in str(error)


# A stray carriage return inside a JSONL record does not cut it in two.
def test_jsonl_lines_end_at_newlines_only(tmp_path):
    lines = conversation_lines(3)
    lines[1] = lines[1].replace('"hi"', '"h\\u0069\r"')  # raw CR: invalid JSON
    path = tmp_path / "cr.jsonl"
    path.write_bytes("\n".join(lines).encode() + b"\n")
    error = load_error(path)
    assert_names(error, index=1, line=2, reason="Invalid control character")
    assert f"column {lines[1].index(chr(13)) + 1})" in str(error)


# JSON nested past the recursion limit is reported, not a RecursionError.
@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_deeply_nested_json_is_reported(tmp_path, suffix):
    record = '{"chat_id": "x", "messages": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path = tmp_path / f"deep{suffix}"
    path.write_text(f"[{record}]" if suffix == ".json" else record + "\n")
    error = load_error(path)
    assert_names(error, reason="nested too deeply", source=path)


# A 0-byte CSV holds no conversations, like an empty JSONL file.
def test_empty_csv_gives_no_conversations(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert load_conversations(path) == []


# Content parts are read the same with or without a chat_id.
def test_content_parts_do_not_depend_on_the_chat_id():
    content = [{"type": "text", "text": "Fix my regex"}, {"type": "image_url"}]
    with_id, without_id = load_conversations(
        [
            {"chat_id": "p1", "messages": [{"role": "user", "content": content}]},
            {"messages": [{"role": "user", "content": content}]},
        ]
    )
    assert with_id.chat_id == "p1"
    assert with_id.messages == without_id.messages
    assert with_id.messages[0].content == "Fix my regex"


# A single Conversation is rejected with the fix, not read as its fields.
def test_single_conversation_is_rejected_clearly():
    conversation = load_conversations(KURA_RECORDS[:1])[0]
    with pytest.raises(TypeError, match=r"single Conversation.*\[conversation\]"):
        load_conversations(conversation)


# ------------------------------------------ issue 12, item 13: on_invalid


def mixed_jsonl(tmp_path):
    """Good conversations c0..c3 with five bad lines among them."""
    good = conversation_lines(4)
    lines = [
        good[0].encode(),
        b"{not json",  # line 2
        good[1].encode(),
        json.dumps(with_messages([{"role": "bot", "content": "x"}])).encode(),  # 4
        good[1].encode(),  # line 5: c1 again
        good[2].replace('"hi"', '"h\\ud83di"').encode(),  # 6: lone surrogate
        good[3].encode().replace(b"hi", b"h\xffi"),  # 7: invalid UTF-8
        good[3].encode(),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


# "raise" (the default) stops at the first invalid record, as before.
def test_on_invalid_raise_stops_at_the_first(tmp_path):
    error = load_error(mixed_jsonl(tmp_path), on_invalid="raise")
    assert_names(error, line=2, reason="invalid JSON")


# "skip" keeps every valid record, in order, and logs one warning.
def test_on_invalid_skip_keeps_the_valid_records(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, "kura_sklearn.conversation._loaders"):
        conversations = load_conversations(mixed_jsonl(tmp_path), on_invalid="skip")
    assert [c.chat_id for c in conversations] == ["c0", "c1", "c3"]
    (message,) = [r.getMessage() for r in caplog.records]
    assert "Skipped 5 invalid record(s)" in message and "line 2" in message


# A callable sees each skipped record's line, chat_id, field and reason.
def test_on_invalid_callable_gets_every_error(tmp_path):
    errors = []
    load_conversations(mixed_jsonl(tmp_path), on_invalid=errors.append)
    errors.sort(key=lambda e: e.line)  # repeated ids are found after the rest
    found = [(e.line, e.chat_id, e.field) for e in errors]
    assert found == [
        (2, None, None),
        (4, "c9", "messages[0].role"),
        (5, "c1", "chat_id"),
        (6, "c2", "messages[0].content"),
        (7, None, None),
    ]
    assert [e.reason.split(" ")[0] for e in errors] == [
        "invalid",
        "unknown",
        "duplicate",
        "lone",
        "invalid",
    ]


# Rows of a one-row-per-message frame are skipped one conversation at a time.
def test_on_invalid_skip_in_a_per_message_frame():
    df = pd.DataFrame(
        {
            "chat_id": ["a", "", "b", "b", "c"],
            "role": ["user", "user", "user", "wizard", "user"],
            "content": ["hi", "orphan", "hello", "bad", "hey"],
        }
    )
    errors = []
    conversations = load_conversations(df, on_invalid=errors.append)
    assert [c.chat_id for c in conversations] == ["a", "c"]
    assert [(e.line, e.field) for e in errors] == [(2, "chat_id"), (4, "role")]


# Errors of the whole input still raise, and bad values are refused.
def test_on_invalid_does_not_hide_errors_of_the_whole_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("[{")
    with pytest.raises(ConversationValidationError, match="invalid JSON"):
        load_conversations(path, on_invalid="skip")
    with pytest.raises(ValueError, match="no column"):
        load_conversations(pd.DataFrame({"x": [1]}), on_invalid="skip")
    with pytest.raises(ValueError, match="on_invalid must be"):
        load_conversations([], on_invalid="ignore")
