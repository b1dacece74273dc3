"""Offline summaries: no generative model, only what can be read off the text.

The request is the user's substantive ask: the most informative sentences of
the user's earliest turn that says something, greetings and thanks dropped.
The summary is the request plus the most informative sentences of the user's
later turns, when they add to it (see ``_request.py``). Both are cleaned
(code blocks and URLs elided, whitespace folded) and cut at a word boundary
at ``max_chars``. Languages come from
Unicode scripts, common function words and code markers. Scores that need
judgement (concerning, frustration) are left missing rather than guessed.
"""

import re
from collections import Counter

from ._request import request_and_summary

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

# Scripts decide the language for non-Latin text.
_SCRIPTS = [
    ("chinese", re.compile(r"[\u4e00-\u9fff]")),
    ("japanese", re.compile(r"[\u3040-\u30ff]")),
    ("korean", re.compile(r"[\uac00-\ud7af]")),
    ("russian", re.compile(r"[\u0400-\u04ff]")),
    ("arabic", re.compile(r"[\u0600-\u06ff]")),
    ("hebrew", re.compile(r"[\u0590-\u05ff]")),
    ("greek", re.compile(r"[\u0370-\u03ff]")),
    ("hindi", re.compile(r"[\u0900-\u097f]")),
    ("thai", re.compile(r"[\u0e00-\u0e7f]")),
]
# Frequent function words, distinctive enough to tell Latin-script languages apart.
_FUNCTION_WORDS = {
    "english": {
        "the",
        "and",
        "is",
        "are",
        "you",
        "what",
        "how",
        "with",
        "this",
        "that",
        "for",
        "can",
        "my",
        "please",
        "have",
        "it",
        "of",
        "to",
        "do",
        "i",
        "by",
        "your",
        "me",
        "does",
        "why",
        "should",
        "write",
    },
    "spanish": {
        "el",
        "la",
        "los",
        "las",
        "que",
        "es",
        "por",
        "para",
        "como",
        "una",
        "con",
        "del",
        "pero",
        "mi",
        "puedes",
        "qué",
        "cómo",
    },
    "french": {
        "le",
        "les",
        "des",
        "est",
        "une",
        "pour",
        "que",
        "qui",
        "avec",
        "dans",
        "je",
        "vous",
        "mon",
        "pas",
        "comment",
        "sur",
        "du",
    },
    "german": {
        "der",
        "die",
        "das",
        "und",
        "ist",
        "ich",
        "nicht",
        "mit",
        "ein",
        "eine",
        "wie",
        "für",
        "sie",
        "auf",
        "mein",
        "kannst",
        "bitte",
    },
    "portuguese": {
        "não",
        "uma",
        "para",
        "com",
        "você",
        "como",
        "os",
        "as",
        "do",
        "da",
        "meu",
        "minha",
        "por",
        "favor",
        "que",
        "é",
    },
    "italian": {
        "il",
        "di",
        "che",
        "è",
        "per",
        "una",
        "non",
        "sono",
        "come",
        "della",
        "mi",
        "puoi",
        "gli",
        "anche",
        "questo",
    },
    "dutch": {
        "de",
        "het",
        "een",
        "en",
        "is",
        "niet",
        "ik",
        "je",
        "van",
        "voor",
        "met",
        "hoe",
        "wat",
        "mijn",
        "kun",
    },
}
_PROGRAMMING = [
    (
        "python",
        re.compile(
            r"```py(thon)?\b|\bdef \w+\(|\bimport \w+|\bprint\(|"
            r"\bpandas\b|\bnumpy\b|\bpython\b",
            re.I,
        ),
    ),
    (
        "javascript",
        re.compile(
            r"```(js|javascript|jsx)\b|\bconst \w+ =|"
            r"\bconsole\.log\(|=>|\bjavascript\b|\breact\b",
            re.I,
        ),
    ),
    (
        "typescript",
        re.compile(
            r"```(ts|tsx|typescript)\b|\binterface \w+ \{|"
            r"\btypescript\b",
            re.I,
        ),
    ),
    (
        "sql",
        re.compile(
            r"```sql\b|\bselect\b.+\bfrom\b|\binsert into\b|"
            r"\bcreate table\b",
            re.I | re.S,
        ),
    ),
    ("java", re.compile(r"```java\b|\bpublic static void\b|\bSystem\.out\.", re.I)),
    ("c++", re.compile(r"```(cpp|c\+\+)\b|#include\s*<|\bstd::", re.I)),
    ("rust", re.compile(r"```rust\b|\bfn main\(|\blet mut\b|\bcargo\b", re.I)),
    ("go", re.compile(r"```go\b|\bfunc main\(|\bpackage main\b|\bgolang\b", re.I)),
    ("bash", re.compile(r"```(bash|sh|shell)\b|\bsudo \w+|\bchmod\b|\bgrep\b", re.I)),
    ("html", re.compile(r"```html\b|<div\b|<html\b", re.I)),
    ("r", re.compile(r"```r\b|\bggplot\b|<-\s*c\(|\bdplyr\b")),
]


def detect_human_languages(text):
    """Human languages of ``text``, most evident first (lower-case names)."""
    found = []
    for name, pattern in _SCRIPTS:
        if len(pattern.findall(text)) >= 2:
            found.append(name)
    words = Counter(w.lower() for w in _WORD.findall(text))
    scores = {
        lang: sum(words[w] for w in vocab) for lang, vocab in _FUNCTION_WORDS.items()
    }
    best = max(scores.values(), default=0)
    n_best = sum(s == best for s in scores.values())
    # Two hits decide; in a short text one hit does, when no other language ties.
    if best >= 2 or (best == 1 and n_best == 1):
        # Latin-script languages within reach of the best one all count.
        found.extend(
            lang
            for lang, s in sorted(scores.items(), key=lambda kv: -kv[1])
            if s >= max(best, 2) * 0.6 and s > 0
        )
    return found


def detect_programming_languages(text):
    """Programming languages with clear markers in ``text``."""
    return [name for name, pattern in _PROGRAMMING if pattern.search(text)]


def extractive_summary(conversation, max_chars=300):
    """Facets of one conversation computed without a model.

    Returns
    -------
    facets : dict
        ``request`` (the user's substantive ask) and ``summary`` (the
        request plus what the user's later turns add; see
        :func:`request_and_summary`), each at most ``max_chars`` long plus
        "..." where cut, ``languages``; ``task``, ``concerning_score``,
        ``user_frustration`` and ``assistant_errors`` are ``None``: they need
        judgement.
    """
    user_turns = [m.content for m in conversation.messages if m.role == "user"]
    other_turns = [m.content for m in conversation.messages if m.role != "user"]
    if not user_turns:  # e.g. a system prompt and an assistant greeting only
        user_turns, other_turns = other_turns, []
    request, summary = request_and_summary(user_turns, other_turns, max_chars)
    request = request or "(empty conversation)"
    summary = summary or request
    all_text = "\n".join(m.content for m in conversation.messages)
    user_text = "\n".join(user_turns)
    languages = detect_human_languages(user_text) + detect_programming_languages(
        all_text
    )
    return {
        "summary": summary,
        "request": request,
        "task": None,
        "languages": languages,
        "concerning_score": None,
        "user_frustration": None,
        "assistant_errors": None,
    }
