"""Languages of a text: human ones by a language identifier, programming ones by code.

Human languages come from py3langid (langid.py's naive Bayes model over byte
n-grams), restricted to :data:`LANGUAGES`: on the texts of
``benchmarks/bench_languages.py`` it named the right language more often
than lingua-language-detector, never a wrong one at :data:`MIN_CONFIDENCE`,
in a tenth of lingua's memory. Programming languages are named only on
evidence of code (a fenced block's tag, or lines written in the language's
syntax), never on a mention: "how do I learn python" is prose.
"""

import functools
import re

#: Human languages told apart: ISO 639-1 code to the lower-case English name
#: reported. Widely written languages only: rare ones mostly add wrong
#: answers for short texts (a greeting read as Sotho or Nigerian Pidgin).
LANGUAGES = {
    "ar": "arabic",
    "bg": "bulgarian",
    "bn": "bengali",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "et": "estonian",
    "fa": "persian",
    "fi": "finnish",
    "fr": "french",
    "he": "hebrew",
    "hi": "hindi",
    "hr": "croatian",
    "hu": "hungarian",
    "id": "indonesian",
    "it": "italian",
    "ja": "japanese",
    "ko": "korean",
    "lt": "lithuanian",
    "lv": "latvian",
    "ms": "malay",
    "nl": "dutch",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sk": "slovak",
    "sl": "slovenian",
    "sr": "serbian",
    "sv": "swedish",
    "sw": "swahili",
    "ta": "tamil",
    "th": "thai",
    "tl": "tagalog",
    "tr": "turkish",
    "uk": "ukrainian",
    "ur": "urdu",
    "vi": "vietnamese",
    "zh": "chinese",
}
#: Least probability for a language to be named; below it, none is (a
#: greeting such as "ok" or "lol" gets no language rather than a wrong one).
MIN_CONFIDENCE = 0.5
#: Share of the text a second language must fill (in whole lines of
#: ``MIN_LINE_CHARS`` or more) to be listed after the first.
MIN_SHARE = 0.2
MIN_LINE_CHARS = 40
#: Characters read per text: enough to know its languages, and bounded.
MAX_CHARS = 10_000

_CODE_BLOCK = re.compile(r"```[ \t]*([\w+#.-]*)[^\n]*\n?(.*?)(?:```|$)", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_URL = re.compile(r"https?://\S+")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)

# Fence tags, lower-cased, to the language they name.
_FENCE_TAGS = {
    "python": "python",
    "py": "python",
    "python3": "python",
    "ipython": "python",
    "javascript": "javascript",
    "js": "javascript",
    "jsx": "javascript",
    "node": "javascript",
    "typescript": "typescript",
    "ts": "typescript",
    "tsx": "typescript",
    "sql": "sql",
    "mysql": "sql",
    "postgresql": "sql",
    "java": "java",
    "c": "c",
    "cpp": "c++",
    "c++": "c++",
    "rust": "rust",
    "rs": "rust",
    "go": "go",
    "golang": "go",
    "bash": "bash",
    "sh": "bash",
    "shell": "bash",
    "zsh": "bash",
    "console": "bash",
    "html": "html",
    "css": "css",
    "r": "r",
    "ruby": "ruby",
    "php": "php",
    "csharp": "c#",
    "cs": "c#",
    "c#": "c#",
    "kotlin": "kotlin",
    "swift": "swift",
}
# Syntax that only code has, tried on each line (and each code block).
_SYNTAX = [
    (
        "python",
        re.compile(
            r"^\s*def \w+\(.*\)\s*(->.*)?:|^\s*from [\w.]+ import [\w*]|"
            r"^\s*import [\w.]+( as \w+)?\s*$|^\s*print\(.*\)\s*$|"
            r"^Traceback \(most recent call last\)",
            re.M,
        ),
    ),
    (
        "javascript",
        re.compile(
            r"^\s*(const|let|var) \w+ = |\bconsole\.log\(|^\s*function \w+\(|"
            r"\)\s*=>\s*\{|\brequire\(['\"]",
            re.M,
        ),
    ),
    (
        "typescript",
        re.compile(
            r"^\s*(export )?interface \w+ \{|^\s*(export )?type \w+ = |"
            r"\w+: (string|number|boolean)\s*[;,)=]",
            re.M,
        ),
    ),
    (
        "sql",
        re.compile(
            r"\bSELECT\s.+\sFROM\s+\w|\bINSERT INTO \w|\bCREATE TABLE \w|"
            r"\bUPDATE \w+ SET\b"
        ),
    ),
    (
        "java",
        re.compile(r"\bpublic static void main\b|\bSystem\.out\.print"),
    ),
    ("c", re.compile(r"^\s*#include\s*<[\w/]+\.h>", re.M)),
    ("c++", re.compile(r"^\s*#include\s*<\w+>|\bstd::\w+", re.M)),
    ("rust", re.compile(r"\bfn \w+\(.*\)\s*(->.*)?\{|\blet mut \w+|\bprintln!\(")),
    ("go", re.compile(r"^\s*package main\b|^\s*func \w+\(|\bfmt\.Print", re.M)),
    (
        "bash",
        re.compile(
            r"^\s*(\$|sudo) \w|^#!/bin/(ba)?sh|"
            r"^\s*(grep|chmod|chown|ls|cd|curl|wget|apt(-get)?|pip3?|npm|git|"
            r"docker|kubectl) (-{1,2}\w|\S+ -{1,2}\w)",
            re.M,
        ),
    ),
    (
        "html",
        re.compile(
            r"<(html|head|body|div|span|p|ul|table|script)\b[^>]*>.*</\1>", re.S
        ),
    ),
    ("r", re.compile(r"\w+ <- c\(|\blibrary\(\w+\)|\bggplot\(")),
]


@functools.lru_cache(maxsize=1)
def _language_identifier():
    """py3langid's model over :data:`LANGUAGES`, loaded once per process."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def _prose(text):
    """``text`` without code blocks, inline code and URLs."""
    text = _CODE_BLOCK.sub("\n", text[:MAX_CHARS])
    return _URL.sub(" ", _INLINE_CODE.sub(" ", text))


def _best(identifier, text):
    code, probability = identifier.classify(text)
    return LANGUAGES.get(code) if probability >= MIN_CONFIDENCE else None


def detect_human_languages(text):
    """Human languages of ``text``, most evident first (lower-case names).

    The first is the language of the whole text, when the identifier is
    confident of it; others are those of whole lines filling at least
    :data:`MIN_SHARE` of the text. Code and URLs are left out. A text too
    short to tell (a greeting such as "ok") gets none.

    Examples
    --------
    >>> from kura_sklearn.summarization._language import detect_human_languages
    >>> detect_human_languages("¿Cómo puedo preparar una tortilla de patatas?")
    ['spanish']
    >>> detect_human_languages("lol")
    []
    """
    prose = _prose(text)
    if not _LETTER.search(prose):
        return []
    identifier = _language_identifier()
    first = _best(identifier, prose)
    lines = [line for line in prose.splitlines() if len(line) >= MIN_LINE_CHARS]
    if len(lines) < 2:
        return [first] if first else []
    chars = {}
    for line in lines:
        language = _best(identifier, line)
        if language:
            chars[language] = chars.get(language, 0) + len(line)
    total = sum(len(line) for line in lines)
    found = [first] if first else []
    found += [
        language
        for language, n in sorted(chars.items(), key=lambda kv: -kv[1])
        if n >= MIN_SHARE * total and language not in found
    ]
    return found


def detect_programming_languages(text):
    """Programming languages ``text`` shows code in, most evident first.

    Evidence is a fenced code block's tag (`````python``) or a line in the
    language's syntax (``def f(x):``, ``SELECT name FROM users``,
    ``$ grep -r todo``), inside a code block or not; naming a language in
    prose ("how do I learn python", "react or vue?") is no evidence.

    Examples
    --------
    >>> from kura_sklearn.summarization._language import (
    ...     detect_programming_languages)
    >>> detect_programming_languages("Why does this fail?\\n```python\\nx = [1\\n```")
    ['python']
    >>> detect_programming_languages("should I learn python or javascript?")
    []
    """
    text = text[:MAX_CHARS]
    hits = {}  # language -> position of its first evidence
    for match in _CODE_BLOCK.finditer(text):
        language = _FENCE_TAGS.get(match.group(1).lower())
        if language:
            hits.setdefault(language, match.start())
    for language, pattern in _SYNTAX:
        match = pattern.search(text)
        if match:
            hits[language] = min(hits.get(language, match.start()), match.start())
    return sorted(hits, key=hits.get)


def non_english_share(languages):
    """Share of conversations whose main human language is not English.

    Parameters
    ----------
    languages : iterable of list of str or None
        Each conversation's ``languages`` facet, most evident first.
        Programming languages are skipped; a conversation with no human
        language counts as English (a greeting, code only).

    Returns
    -------
    share : float
        In [0, 1]; 0.0 for no conversations.

    Examples
    --------
    >>> from kura_sklearn.summarization._language import non_english_share
    >>> non_english_share([["english"], ["french"], ["python"], None])
    0.25
    """
    code = set(_FENCE_TAGS.values())
    n = n_other = 0
    for facet in languages:
        n += 1
        if facet is None or isinstance(facet, (float, str)):  # missing
            facet = ()
        human = [str(x).strip().lower() for x in facet]
        human = [x for x in human if x and x not in code]
        n_other += bool(human) and human[0] != "english"
    return n_other / n if n else 0.0


# --- normalising the names an LLM gives ----------------------------------

#: ISO 639-2/3 codes of :data:`LANGUAGES` (bibliographic and terminology).
_ISO_639_3 = {
    "ara": "ar", "bul": "bg", "ben": "bn", "cat": "ca", "ces": "cs", "cze": "cs",
    "dan": "da", "deu": "de", "ger": "de", "ell": "el", "gre": "el", "eng": "en",
    "spa": "es", "est": "et", "fas": "fa", "per": "fa", "fin": "fi", "fra": "fr",
    "fre": "fr", "heb": "he", "hin": "hi", "hrv": "hr", "hun": "hu", "ind": "id",
    "ita": "it", "jpn": "ja", "kor": "ko", "lit": "lt", "lav": "lv", "msa": "ms",
    "may": "ms", "nld": "nl", "dut": "nl", "nor": "no", "nob": "no", "nno": "no",
    "pol": "pl", "por": "pt", "ron": "ro", "rum": "ro", "rus": "ru", "slk": "sk",
    "slo": "sk", "slv": "sl", "srp": "sr", "swe": "sv", "swa": "sw", "tam": "ta",
    "tha": "th", "tgl": "tl", "fil": "tl", "tur": "tr", "ukr": "uk", "urd": "ur",
    "vie": "vi", "zho": "zh", "chi": "zh", "cmn": "zh", "yue": "zh", "iw": "he",
    "nb": "no", "nn": "no",
}  # fmt: skip
#: Endonyms and other names of :data:`LANGUAGES` (lower-case) to their code.
_OTHER_NAMES = {
    "español": "es", "espanol": "es", "castellano": "es", "castilian": "es",
    "français": "fr", "francais": "fr", "deutsch": "de", "italiano": "it",
    "português": "pt", "portugues": "pt", "nederlands": "nl", "flemish": "nl",
    "русский": "ru", "中文": "zh", "汉语": "zh", "普通话": "zh", "mandarin": "zh",
    "cantonese": "zh", "日本語": "ja", "한국어": "ko", "العربية": "ar",
    "farsi": "fa", "فارسی": "fa", "filipino": "tl", "bahasa indonesia": "id",
    "bahasa melayu": "ms", "bahasa": "id", "bokmål": "no", "bokmal": "no",
    "nynorsk": "no", "svenska": "sv", "polski": "pl", "türkçe": "tr",
    "turkce": "tr", "українська": "uk", "עברית": "he", "ελληνικά": "el",
    "हिन्दी": "hi", "हिंदी": "hi", "tiếng việt": "vi", "ไทย": "th",
    "kiswahili": "sw", "suomi": "fi", "dansk": "da", "norsk": "no",
    "čeština": "cs", "magyar": "hu", "română": "ro",
}  # fmt: skip
_NAME_TO_CODE = {name: code for code, name in LANGUAGES.items()}
#: Names of programming, query and markup languages a model may list, to the
#: name the offline detector reports (the fence tags' names, lower-case).
_PROGRAMMING_NAMES = {
    **_FENCE_TAGS,
    "javascript (node.js)": "javascript",
    "node.js": "javascript",
    "nodejs": "javascript",
    "c sharp": "c#",
    "golang": "go",
    "shell script": "bash",
    "powershell": "powershell",
    "scala": "scala",
    "haskell": "haskell",
    "perl": "perl",
    "lua": "lua",
    "dart": "dart",
    "julia": "julia",
    "matlab": "matlab",
    "objective-c": "objective-c",
    "assembly": "assembly",
    "fortran": "fortran",
    "cobol": "cobol",
    "elixir": "elixir",
    "clojure": "clojure",
    "visual basic": "visual basic",
    "vba": "visual basic",
    "latex": "latex",
    "tex": "latex",
    "markdown": "markdown",
    "json": "json",
    "yaml": "yaml",
    "xml": "xml",
    "graphql": "graphql",
    "solidity": "solidity",
    "scss": "css",
    "sass": "css",
    "plsql": "sql",
    "pl/sql": "sql",
    "t-sql": "sql",
    "tsql": "sql",
    "sqlite": "sql",
    "dockerfile": "dockerfile",
    "terraform": "terraform",
}
_VARIANT = re.compile(r"\s*[(\[].*?[)\]]\s*")


def _clean_name(name):
    return " ".join(_VARIANT.sub(" ", str(name)).split()).strip(" .,;:'\"").lower()


def normalize_human_language(name):
    """The lower-case English name of a human language, however it was given.

    ISO 639-1/2/3 codes (with or without a region, ``"en-US"``), English
    names in any case, endonyms (``"Español"``) and regional variants
    (``"Brazilian Portuguese"``, ``"Spanish (Mexico)"``) of the languages of
    :data:`LANGUAGES` become that language's name, as the offline detector
    reports it; any other name is lower-cased and kept.

    Examples
    --------
    >>> from kura_sklearn.summarization._language import normalize_human_language
    >>> [normalize_human_language(x) for x in ["English", "es-MX", "Français",
    ...                                         "Brazilian Portuguese", "Klingon"]]
    ['english', 'spanish', 'french', 'portuguese', 'klingon']
    """
    text = _clean_name(name)
    if not text:
        return ""
    tag = text.replace("_", "-")
    code = tag.split("-")[0]
    if text in _NAME_TO_CODE:
        return text
    for table in (LANGUAGES, _ISO_639_3):
        if code in table and (tag == code or "-" in tag):
            return LANGUAGES[table[code]] if table is _ISO_639_3 else table[code]
    if text in _OTHER_NAMES:
        return LANGUAGES[_OTHER_NAMES[text]]
    words = text.split()
    for word in (words[-1], words[0]):  # "brazilian portuguese", "arabic dialect"
        if word in _NAME_TO_CODE:
            return word
        if word in _OTHER_NAMES:
            return LANGUAGES[_OTHER_NAMES[word]]
    return text


def normalize_programming_language(name):
    """The lower-case name of a programming language, as the detector reports it.

    Examples
    --------
    >>> from kura_sklearn.summarization._language import (
    ...     normalize_programming_language)
    >>> [normalize_programming_language(x) for x in ["Python 3", "JS", "C++"]]
    ['python', 'javascript', 'c++']
    """
    text = _clean_name(name)
    if text in _PROGRAMMING_NAMES:
        return _PROGRAMMING_NAMES[text]
    base = re.sub(r"\s*v?\d+(\.\d+)*$", "", text)  # "python 3", "es6" stays
    return _PROGRAMMING_NAMES.get(base, text)


def split_languages(human, programming=()):
    """Normalised human and programming languages, each in order, no repeats.

    A programming language listed among the human ones (as the schema before
    ``programming_languages`` asked, and as models still do) moves after the
    programming ones, unless it names a human language too (``"cs"`` is
    Czech there); nothing is dropped but empty names.

    Examples
    --------
    >>> from kura_sklearn.summarization._language import split_languages
    >>> split_languages(["English", "Python", "es"], ["SQL"])
    (['english', 'spanish'], ['sql', 'python'])
    """
    known = set(LANGUAGES.values())
    humans, codes = [], []
    for name in human or ():
        language = normalize_human_language(name)
        if language not in known and _clean_name(name) in _PROGRAMMING_NAMES:
            codes.append(normalize_programming_language(name))
        else:
            humans.append(language)
    codes = [normalize_programming_language(n) for n in programming or ()] + codes
    dedupe = lambda names: list(dict.fromkeys(n for n in names if n))  # noqa: E731
    return dedupe(humans), dedupe(codes)
