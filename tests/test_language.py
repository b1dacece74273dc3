"""Language facets: human languages by py3langid, programming ones on code evidence."""

import pytest

from kura_sklearn.summarization._language import (
    LANGUAGES,
    _language_identifier,
    detect_human_languages,
    detect_programming_languages,
    non_english_share,
)


@pytest.mark.parametrize(
    "text",
    [
        "Hello Hey whats up!",
        "hi is anyone there?",
        "hello?",
        "helloooo",
        "ok thanks",
        "lol",
        "yo what's good",
        "good morning",
        "hey can u help me",
    ],
)
def test_greetings_are_english_or_nothing(text):
    # The hand-written detector read "Hello Hey whats up!" as javascript and
    # "hi is anyone there?" as dutch: a greeting is English or unknown.
    assert detect_human_languages(text) in ([], ["english"])
    assert detect_programming_languages(text) == []


@pytest.mark.parametrize(
    "text, language",
    [
        ("Can you recommend a good sci-fi book?", "english"),
        ("¿Cómo puedo preparar una tortilla de patatas para la cena?", "spanish"),
        ("Comment est-ce que je peux améliorer mon CV pour un poste?", "french"),
        ("Wie kann ich meine Steuererklärung mit dem Programm machen?", "german"),
        ("Como faço um bolo de cenoura sem ovos?", "portuguese"),
        ("Come si prepara il ragù alla bolognese?", "italian"),
        ("Hoe lang moet ik een ei koken?", "dutch"),
        ("Hur lagar man köttbullar?", "swedish"),
        ("Jak napisać dobre CV po polsku?", "polish"),
        ("Evde ekmek nasıl yapılır?", "turkish"),
        ("Как приготовить борщ дома?", "russian"),
        ("Як правильно заварити зелений чай?", "ukrainian"),
        ("如何学习机器学习？", "chinese"),
        ("美味しいカレーの作り方を教えて", "japanese"),
        ("김치찌개 만드는 법 알려줘", "korean"),
        ("كيف أتعلم البرمجة بسرعة؟", "arabic"),
        ("मुझे हिंदी में एक कविता लिखकर दो", "hindi"),
        ("Làm thế nào để nấu phở bò?", "vietnamese"),
    ],
)
def test_clear_sentences_get_their_language(text, language):
    assert detect_human_languages(text) == [language]


def test_code_and_urls_do_not_count_as_prose():
    text = (
        "¿Por qué falla esto?\n```python\nfor item in items:\n    print(item)\n```\n"
        "ver https://example.com/some/english/words"
    )
    assert detect_human_languages(text) == ["spanish"]
    assert detect_human_languages("```\nimport numpy as np\n```") == []


def test_a_second_language_needs_whole_lines():
    # A quoted German letter in an English request: English first, then German.
    text = (
        "Can you help me translate this email to my landlord into German?\n"
        "Sehr geehrter Herr Müller, ich schreibe Ihnen wegen der Heizung.\n"
        "Thanks a lot, I really appreciate your help with this one today."
    )
    assert detect_human_languages(text) == ["english", "german"]
    # a quoted phrase inside an English line is not a second language
    assert detect_human_languages(
        "how do I say 'buenos días' and 'hasta luego' to my Spanish neighbours"
    ) == ["english"]


def test_names_are_lower_case_english_and_the_model_loads_once():
    assert all(name == name.lower() for name in LANGUAGES.values())
    assert _language_identifier() is _language_identifier()


@pytest.mark.parametrize(
    "text, expected",
    [
        # fenced blocks: the tag decides, an untagged block its syntax
        ("Why does this fail?\n```python\nx = [1,2\n```", ["python"]),
        ("```js\nfoo()\n```", ["javascript"]),
        ("```\ndef area(r):\n    return 3.14 * r * r\n```", ["python"]),
        ("```\nSELECT name FROM users WHERE age > 30\n```", ["sql"]),
        ("```\nsome output I do not understand\n```", []),
        # code-like lines outside fences
        ("import numpy as np\nwhy is this slow", ["python"]),
        ("const total = items.length;\nconsole.log(total)", ["javascript"]),
        ("$ grep -rn TODO src/", ["bash"]),
        ("#include <stdio.h>\nint main(void) { return 0; }", ["c"]),
        ("fn main() {\n    let mut x = 1;\n}", ["rust"]),
        ("package main\nfunc main() {}", ["go"]),
        ("scores <- c(1, 2, 3)", ["r"]),
        ("<div class='card'>hi</div>", ["html"]),
        # evidence order: first evidence first
        (
            "```sql\nSELECT 1\n```\nthen in python:\n```py\nprint(1)\n```",
            ["sql", "python"],
        ),
    ],
)
def test_programming_languages_from_code(text, expected):
    assert detect_programming_languages(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "should I learn python or javascript?",
        "react or vue for a small shop website?",
        "what does => mean",
        "how do I use grep",
        "I'm learning rust and go this summer",
        "select a dress from the shop for the wedding",
        "import my contacts from gmail",
        "which is better, java or c++?",
    ],
)
def test_a_mention_in_prose_is_not_code(text):
    assert detect_programming_languages(text) == []


def test_non_english_share():
    facets = [
        ["english"],
        ["french", "english"],
        ["python"],
        None,
        [],
        ["go", "german"],
    ]
    # french and german conversations; code-only and empty count as English
    assert non_english_share(facets) == pytest.approx(2 / 6)
    assert non_english_share([]) == 0.0
