"""Offline summaries: no generative model, only what can be read off the text.

The request is the user's substantive ask: the most informative sentences of
the user's earliest turn that says something, greetings and thanks dropped.
The summary is the request plus the most informative sentences of the user's
later turns, when they add to it (see ``_request.py``). Both are cleaned
(code blocks and URLs elided, whitespace folded) and cut at a word boundary
at ``max_chars``. Languages come from
``_language.py`` (a language identifier, and code evidence). Scores that need
judgement (concerning, frustration) are left missing rather than guessed.
"""

from ._language import detect_human_languages, detect_programming_languages
from ._request import request_and_summary

# Frequent function words of seven languages (naming uses them as stop words).
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


def extractive_summary(conversation, max_chars=300):
    """Facets of one conversation computed without a model.

    Returns
    -------
    facets : dict
        ``request`` (the user's substantive ask) and ``summary`` (the
        request plus what the user's later turns add; see
        :func:`request_and_summary`), each at most ``max_chars`` long plus
        "..." where cut, ``languages`` (human) and ``programming_languages``
        (of code); ``task``, ``concerning_score``,
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
    return {
        "summary": summary,
        "request": request,
        "task": None,
        "languages": detect_human_languages(user_text),
        "programming_languages": detect_programming_languages(all_text),
        "concerning_score": None,
        "user_frustration": None,
        "assistant_errors": None,
    }
