"""Offline request and summary: the user's substantive ask, not the opening."""

import time

import pytest

from kura_sklearn import Conversation
from kura_sklearn.summarization._extractive import extractive_summary
from kura_sklearn.summarization._request import request_and_summary


def chat(*turns):
    """A conversation alternating user and assistant turns, user first."""
    roles = ["user", "assistant"]
    return Conversation(
        chat_id="c",
        messages=[{"role": roles[i % 2], "content": t} for i, t in enumerate(turns)],
    )


@pytest.mark.parametrize(
    "turns, ask",
    [
        (
            [
                "hello?",
                "Hi!",
                "hi is anyone there?",
                "Yes.",
                "How do I reset my router password?",
            ],
            "How do I reset my router password?",
        ),
        (
            [
                "Hey whats up!",
                "Not much!",
                "Can you write a cover letter for a nursing job in Toronto?",
            ],
            "Can you write a cover letter for a nursing job in Toronto?",
        ),
        (
            ["Hi, thanks. Could you explain how compound interest works?"],
            "Could you explain how compound interest works?",
        ),
    ],
)
def test_greetings_give_way_to_the_substantive_ask(turns, ask):
    # Greetings and filler turns say nothing: the request is the ask after them.
    facets = extractive_summary(chat(*turns))
    assert facets["request"] == ask
    assert "hello" not in facets["summary"].lower()


def test_summary_adds_what_later_turns_say():
    conv = chat(
        "Hello! I'm planning a week in Lisbon in May with my parents.",
        "Lovely, what would you like to know?",
        "Which neighbourhoods are quiet but close to restaurants?",
        "Alfama and Campo de Ourique.",
        "Can we do a day trip to Sintra by train from there?",
        "Yes, from Rossio station.",
        "Thanks!",
    )
    facets = extractive_summary(conv)
    assert facets["request"].startswith("I'm planning a week in Lisbon")
    assert facets["summary"].startswith(facets["request"])
    assert facets["summary"] != facets["request"]
    # one extra: the best later user sentence, earlier turns weighing more
    extra = facets["summary"][len(facets["request"]) :].strip()
    assert extra == "Which neighbourhoods are quiet but close to restaurants?"
    assert "Thanks" not in facets["summary"]


def test_summary_equals_request_when_nothing_is_added():
    facets = extractive_summary(
        chat("How do I sort a dict by value in Python?", "Use sorted().", "thanks!")
    )
    assert facets["summary"] == facets["request"]
    assert facets["request"] == "How do I sort a dict by value in Python?"


@pytest.mark.parametrize(
    "turns", [["hello?"], ["hello?", "Hi!", "hello??"], ["Hey whats up!"], ["Hola"]]
)
def test_greeting_only_conversation_keeps_its_greeting(turns):
    facets = extractive_summary(chat(*turns))
    assert facets["summary"] == facets["request"]
    assert facets["request"].lower().startswith(turns[0].lower()[:4])


@pytest.mark.parametrize("content", ["", "   ", "```\n```"])
def test_never_an_empty_summary(content):
    facets = extractive_summary(chat(content))
    assert facets["summary"] and facets["request"]


def test_code_and_urls_stay_elided():
    facets = extractive_summary(
        chat(
            "hi",
            "hello",
            "Why does this crash?\n```python\nx = [1, 2\n```\nsee https://x.org/a",
        )
    )
    assert facets["request"] == "Why does this crash? [code] see [url]"


def test_huge_message_is_bounded():
    # A 2 MB message costs about what a few thousand characters do.
    huge = "lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 36000
    assert len(huge) > 2_000_000
    start = time.perf_counter()
    facets = extractive_summary(chat("hello", "Hi!", huge, "ok"))
    assert time.perf_counter() - start < 1.0
    for key in ("request", "summary"):
        assert 0 < len(facets[key]) <= 303


@pytest.mark.parametrize("max_chars", [40, 120, 300])
def test_max_chars_caps_both(max_chars):
    conv = chat(
        "Hi. " + "I need a detailed plan for migrating our database servers. " * 5,
        "Sure.",
        "Also the rollback steps for the storage cluster and the network switches.",
    )
    facets = extractive_summary(conv, max_chars=max_chars)
    for key in ("request", "summary"):
        assert len(facets[key]) <= max_chars + 3


@pytest.mark.parametrize(
    "turns, ask",
    [
        (
            ["Hola, buenos días.", "¿Cómo puedo preparar una tortilla de patatas?"],
            "¿Cómo puedo preparar una tortilla de patatas?",
        ),
        (
            ["Bonjour !", "Comment traduire « swamped » en français ?"],
            "Comment traduire « swamped » en français ?",
        ),
        (
            ["Hallo", "Wie schreibe ich eine Bewerbung?"],
            "Wie schreibe ich eine Bewerbung?",
        ),
        (["Привет!", "Как приготовить борщ дома?"], "Как приготовить борщ дома?"),
        (
            ["你好！", "如何学习机器学习？我想找工作。"],
            "如何学习机器学习？我想找工作。",
        ),
        (
            ["こんにちは", "パリの安いホテルを教えてください。"],
            "パリの安いホテルを教えてください。",
        ),
    ],
)
def test_multilingual_greetings_are_skipped(turns, ask):
    # Pleasantries of other languages are skipped too.
    request, _ = request_and_summary(turns)
    assert request == ask


def test_deterministic():
    conv = chat(
        "hey",
        "Hi!",
        "I want a vegetarian lasagna recipe. Also a dessert idea. And a wine.",
        "Here you go.",
        "What about a gluten-free version of the lasagna?",
    )
    first = extractive_summary(conv)
    assert all(extractive_summary(conv) == first for _ in range(3))


def test_conversation_without_user_turns_uses_the_others():
    conv = Conversation(
        chat_id="c",
        messages=[{"role": "assistant", "content": "Welcome to the billing desk."}],
    )
    assert extractive_summary(conv)["request"] == "Welcome to the billing desk."
