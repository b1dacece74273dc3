"""Tests for kura_sklearn.datasets: the loader and the bundled sample's invariants."""

import json
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone
from importlib.resources import files

import pytest

from kura_sklearn.conversation import Conversation
from kura_sklearn.datasets import load_sample_conversations, sample_topics

DATA = files("kura_sklearn.datasets") / "data"
N_CONVERSATIONS = 300
HTML_PROBES = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    '<b>bold</b> & "quotes"',
)
MIN_PER_LANGUAGE = {
    "spanish": 5,
    "french": 5,
    "german": 5,
    "portuguese": 3,
    "japanese": 3,
    "chinese": 3,
    "russian": 3,
}


@pytest.fixture(scope="module")
def conversations():
    return load_sample_conversations()


def _user_text(conversation):
    return "\n".join(m.content for m in conversation.messages if m.role == "user")


# --- loader -----------------------------------------------------------------


def test_loads_all_conversations(conversations):
    assert len(conversations) == N_CONVERSATIONS
    assert all(isinstance(c, Conversation) for c in conversations)


def test_chat_ids_unique_and_sequential(conversations):
    ids = [c.chat_id for c in conversations]
    assert len(set(ids)) == len(ids)
    assert ids == [f"sample-{i:04d}" for i in range(1, N_CONVERSATIONS + 1)]


def test_created_at_in_2025_and_in_file_order(conversations):
    stamps = [c.created_at for c in conversations]
    assert all(s is not None and s.utcoffset() is not None for s in stamps)
    assert stamps == sorted(stamps)
    assert stamps[0] >= datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert stamps[-1] < datetime(2026, 1, 1, tzinfo=timezone.utc)
    # spread over the year, not bunched
    assert len({s.month for s in stamps}) == 12


def test_metadata_keys(conversations):
    for c in conversations:
        assert set(c.metadata) == {"topic", "language", "source", "user_id"}, c.chat_id
        assert c.metadata["source"] == "kura_sklearn sample"
        assert re.fullmatch(r"u-\d{4}", c.metadata["user_id"]), c.chat_id


def test_calls_return_independent_objects():
    first = load_sample_conversations()
    first[0].metadata["topic"] = "changed"
    first.clear()
    again = load_sample_conversations()
    assert len(again) == N_CONVERSATIONS
    assert again[0].metadata["topic"] != "changed"


def test_sample_topics_sorted_and_complete(conversations):
    topics = sample_topics()
    assert topics == sorted(topics)
    assert topics == sorted({c.metadata["topic"] for c in conversations})
    assert 15 <= len(topics) <= 25


def test_topic_filter_keeps_only_those_topics_in_order(conversations):
    kept = load_sample_conversations(topics=["sql_data", "translation"])
    expected = [
        c.chat_id
        for c in conversations
        if c.metadata["topic"] in {"sql_data", "translation"}
    ]
    assert [c.chat_id for c in kept] == expected
    assert {c.metadata["topic"] for c in kept} == {"sql_data", "translation"}


def test_topic_filter_accepts_one_string_and_any_iterable():
    by_str = load_sample_conversations(topics="math_homework")
    by_tuple = load_sample_conversations(topics=("math_homework",))
    by_set = load_sample_conversations(topics={"math_homework"})
    assert [c.chat_id for c in by_str] == [c.chat_id for c in by_tuple]
    assert [c.chat_id for c in by_str] == [c.chat_id for c in by_set]
    assert by_str and all(c.metadata["topic"] == "math_homework" for c in by_str)


def test_topic_filter_all_topics_is_everything():
    assert len(load_sample_conversations(topics=sample_topics())) == N_CONVERSATIONS


def test_unknown_topic_is_an_error():
    with pytest.raises(ValueError, match="unknown topic.*'knitting'"):
        load_sample_conversations(topics=["cooking_recipes", "knitting"])


def test_empty_topics_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        load_sample_conversations(topics=[])


def test_topics_of_wrong_type_is_an_error():
    with pytest.raises(TypeError, match="topics"):
        load_sample_conversations(topics=3)


def test_topics_is_keyword_only():
    with pytest.raises(TypeError):
        load_sample_conversations(["cooking_recipes"])


def test_import_is_light():
    code = (
        "import sys, json\n"
        "import kura_sklearn.datasets as d\n"
        "before = [m for m in ('pandas', 'sklearn') if m in sys.modules]\n"
        "d.load_sample_conversations(topics=['sql_data'])\n"
        "after = [m for m in ('pandas', 'sklearn') if m in sys.modules]\n"
        "print(json.dumps([before, after]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    before, after = json.loads(out.stdout)
    assert before == []
    assert after == []


# --- the data -----------------------------------------------------------------


def test_raw_file_is_one_kura_record_per_line():
    lines = (DATA / "sample_conversations.jsonl").read_text(encoding="utf-8")
    lines = lines.splitlines()
    assert len(lines) == N_CONVERSATIONS
    for line in lines:
        record = json.loads(line)
        assert set(record) == {"chat_id", "created_at", "messages", "metadata"}
        assert re.fullmatch(r"2025-\d\d-\d\dT\d\d:\d\d:00Z", record["created_at"])
        for message in record["messages"]:
            assert set(message) == {"role", "content"}


def test_every_conversation_is_well_formed(conversations):
    for c in conversations:
        roles = [m.role for m in c.messages]
        assert 2 <= len(roles) <= 6, c.chat_id
        turns = roles[1:] if roles[0] == "system" else roles
        assert "system" not in turns, c.chat_id
        assert turns, c.chat_id
        expected = ["user" if i % 2 == 0 else "assistant" for i in range(len(turns))]
        assert turns == expected, c.chat_id
        assert "assistant" in turns, c.chat_id
        for m in c.messages:
            assert m.content == m.content.strip() and m.content, c.chat_id


def test_some_conversations_have_a_system_message(conversations):
    n_system = sum(c.messages[0].role == "system" for c in conversations)
    assert 3 <= n_system <= 20


def test_multi_turn_conversations_present(conversations):
    lengths = Counter(len(c.messages) for c in conversations)
    assert lengths[2] < N_CONVERSATIONS * 0.85
    assert sum(n for k, n in lengths.items() if k >= 4) >= 30


def test_no_duplicate_conversations(conversations):
    texts = [_user_text(c) for c in conversations]
    assert len(set(texts)) == len(texts)
    assert len({c.content_hash() for c in conversations}) == len(conversations)


def test_each_topic_has_enough_conversations(conversations):
    counts = Counter(c.metadata["topic"] for c in conversations)
    assert len(counts) == 20
    for topic, n in counts.items():
        assert 8 <= n <= 25, (topic, n)


def test_expected_topics_present():
    for topic in (
        "python_debugging",
        "javascript_web",
        "translation",
        "cooking_recipes",
        "concerning_requests",
    ):
        assert topic in sample_topics()


def test_languages(conversations):
    counts = Counter(c.metadata["language"] for c in conversations)
    assert 0.70 <= counts["english"] / len(conversations) <= 0.80
    for language, minimum in MIN_PER_LANGUAGE.items():
        assert counts[language] >= minimum, (language, counts[language])
    assert set(counts) == {"english", *MIN_PER_LANGUAGE}


@pytest.mark.parametrize(
    "language, pattern",
    [
        ("japanese", r"[\u3040-\u30ff]"),  # hiragana / katakana
        ("chinese", r"[\u4e00-\u9fff]"),
        ("russian", r"[\u0400-\u04ff]"),  # Cyrillic
        ("spanish", r"[ñáéíóú¿¡]|\b(?:el|una|que|para|como)\b"),
        ("german", r"[äöüß]|\b(?:ich|und|der|die|das)\b"),
        ("french", r"[éèàçê]|\b(?:je|une|les|des|pour)\b"),
        ("portuguese", r"[ãõçáéê]|\b(?:uma|para|com|não)\b"),
    ],
)
def test_non_english_conversations_are_written_in_that_language(
    conversations, language, pattern
):
    chosen = [c for c in conversations if c.metadata["language"] == language]
    assert chosen
    for c in chosen:
        assert re.search(pattern, _user_text(c), flags=re.IGNORECASE), c.chat_id


def test_chinese_is_not_japanese(conversations):
    for c in conversations:
        if c.metadata["language"] == "chinese":
            assert not re.search(r"[\u3040-\u30ff]", _user_text(c)), c.chat_id


@pytest.mark.parametrize("probe", HTML_PROBES)
def test_html_like_conversations_present_exactly_once(conversations, probe):
    hits = [c for c in conversations if probe in _user_text(c)]
    assert len(hits) == 1
    assert hits[0].metadata["topic"] == "javascript_web"
    # and in no other conversation, in any role
    anywhere = [c for c in conversations if any(probe in m.content for m in c.messages)]
    assert anywhere == hits


def test_concerning_requests_are_refused_or_redirected(conversations):
    concerning = [
        c for c in conversations if c.metadata["topic"] == "concerning_requests"
    ]
    assert len(concerning) >= 8
    # a refusal, or (for self-harm) a pointer to a crisis line
    refusal = re.compile(
        r"can't (?:help|write)|not going to|but not with|no puedo|не могу|crisis line",
        re.IGNORECASE,
    )
    for c in concerning:
        first_reply = next(m.content for m in c.messages if m.role == "assistant")
        assert refusal.search(first_reply), c.chat_id


def test_no_email_addresses(conversations):
    email = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
    for c in conversations:
        for m in c.messages:
            assert not email.search(m.content), c.chat_id


def test_data_readme_counts_match_the_data(conversations):
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert "MIT" in readme
    topics = Counter(c.metadata["topic"] for c in conversations)
    languages = Counter(c.metadata["language"] for c in conversations)
    for topic, n in topics.items():
        assert re.search(rf"^\| `{topic}` \| {n} \|$", readme, re.MULTILINE), topic
    for language, n in languages.items():
        assert re.search(rf"^\| {language} \| {n} \|$", readme, re.MULTILINE), language
    for probe in HTML_PROBES:
        assert probe in readme
