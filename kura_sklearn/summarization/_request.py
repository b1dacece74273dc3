"""The user's request, read off the text: sentences ranked by what they say.

Offline there is no model to ask what a conversation is about, so the user's
turns are split into sentences and each sentence is scored by how much it
says (content words, i.e. words that are not grammar), by how often the rest
of the conversation comes back to those words, and, for the request, by how
early it comes. Greetings, thanks and other pleasantries say nothing, so a
conversation that opens with "hello?" is summarised by what follows.

Everything is language-aware through Unicode only: words are runs of letters,
scripts written without spaces (Chinese, Japanese, Thai) are read as
character bigrams, and the grammar words of the language the conversation is
mostly written in are set aside. The lists below are closed grammatical
classes and generic pleasantries, not the vocabulary of any data set.
"""

import math
import re
from collections import Counter

_CODE_BLOCK = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_URL = re.compile(r"https?://\S+")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

# Work is bounded whatever the input: only the start of each message and of
# the conversation is read, so a 2 MB message costs what a 6,000-char one does.
_MESSAGE_CHARS = 6000
_CONVERSATION_CHARS = 40000
_TOKENS_PER_SENTENCE = 60
# The summary adds at most this many later sentences to the request: one,
# as more drift from the ask to its follow-ups.
_MAX_EXTRAS = 1

# A regex splitter: a sentence ends at ., !, ?, ... or ; followed by a space,
# at the CJK full stops (no space needed) and at line breaks. Abbreviations
# ("e.g. this") split too, which only costs a shorter sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?\u2026;])\s+|(?<=[\u3002\uff01\uff1f])|\n+")
_CJK_END = re.compile(r"[\u3002\uff01\uff1f]$")
_PLACEHOLDER = re.compile(r"\[(?:code|url)\]")
# Scripts written without spaces between words: Kana, CJK ideographs, Thai.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\u0e00-\u0e7f]")

# Greetings, thanks, goodbyes and acknowledgements, in the languages below.
_PLEASANTRY = re.compile(
    r"\b(?:"
    r"hi+|hello+|hey+|hiya|howdy|yo|greetings"
    r"|good (?:morning|afternoon|evening|night|day)"
    r"|what'?s up|sup|how are (?:you|u)(?: doing)?(?: today)?|how'?s it going"
    r"|thanks?(?: you)?(?: (?:so|very) much)?|thx|ty|cheers"
    r"|bye|goodbye|see (?:you|ya)"
    r"|ok(?:ay)?|yes|yeah|yep|no|nope|sure|cool|great|nice|perfect|awesome"
    r"|alright|haha\w*|lol|hmm+|please|pls|that'?s (?:all|it)|sounds good"
    r"|(?:is )?any ?(?:one|body) there|are (?:you|u) there"
    r"|hola|buen[oa]s (?:días|dias|tardes|noches)|gracias|adiós|adios|vale|sí"
    r"|bonjour|bonsoir|salut|merci(?: beaucoup)?|au revoir|oui|d'accord"
    r"|hallo|guten (?:morgen|tag|abend)|danke(?: schön)?|tschüss|ja|nein"
    r"|ciao|buongiorno|buonasera|grazie|arrivederci"
    r"|olá|oi|bom dia|boa (?:tarde|noite)|obrigad[oa]|tchau"
    r"|hoi|dank je|bedankt"
    r"|привет|здравствуйте|спасибо|пока"
    r")\b"
    r"|你好|您好|谢谢|再见|こんにちは|ありがとう(?:ございます)?|さようなら"
    r"|안녕하세요|감사합니다|고맙습니다",
    re.IGNORECASE,
)
_LEADING_PLEASANTRIES = re.compile(
    rf"^(?:(?:{_PLEASANTRY.pattern})[\s,.!?;:\-\u3001\u3002\uff01\uff0c]*)+",
    re.IGNORECASE,
)

# Grammar words (articles, pronouns, auxiliaries and modals, prepositions,
# conjunctions, a few indefinites) per language; the conversation's own
# language is chosen by which list its words hit most.
_GRAMMAR_WORDS = {
    lang: frozenset(words.split())
    for lang, words in {
        "english": """
            a an the this that these those some any each every all both either
            neither no not me my mine myself we us our ours you your yours he
            him his she her hers it its they them their theirs one what which
            who whom whose where when why how there here am is are was were be
            been being do does did done have has had having will would shall
            should can could may might must to of in on at by for with from
            into onto about above below over under after before between
            through during without within upon up down out off again than then
            so too very just also only even and or but if because as while
            until though although yet nor whether let get got anything
            something nothing everything anyone someone nobody everyone another
            other others else more most much many such same own now never
            always ever perhaps maybe really quite well still already
            ll re ve""",
        "spanish": """
            el la los las un una unos unas lo le les de del al en con por para
            sin sobre entre que qué como cómo cuando donde quien cual es son
            era ser estar está están estoy soy he ha han hay mi mis tu tus su
            sus me te se nos yo tú él ella ellos usted este esta esto ese esa
            eso muy más ya no sí también puedo puedes puede quiero""",
        "french": """
            le la les un une des du de au aux à en dans sur pour par avec sans
            et ou mais que qu qui quoi comment quand où est sont être ai as
            avons je tu il elle nous vous ils elles on me te se mon ma mes ton
            ta tes son sa ses ce cet cette ces ne pas plus très aussi peux
            peut veux""",
        "german": """
            der die das den dem des ein eine einen einem einer und oder aber
            dass wie was wer wo wann warum ist sind war bin bist sein haben
            hat habe ich du er sie es wir ihr mich mir dich dir sich mein
            meine dein nicht kein keine mit für auf im an am zu zum zur von
            vom bei aus nach auch sehr noch schon kann kannst können will
            möchte bitte""",
        "portuguese": """
            os as um uma uns umas de do da dos das em no na nos nas por para
            com sem ou mas que como quando onde quem é são ser estar está
            estou tem ter eu tu ele ela nós você vocês meu minha seu sua me te
            se não sim muito mais também posso pode quero""",
        "italian": """
            il lo la gli le un una uno di del della dei delle al alla in nel
            nella con per su da ma che come quando dove chi è sono essere ho
            hai ha io tu lui lei noi voi mi ti si mio mia tuo suo non sì molto
            più anche posso puoi voglio""",
        "dutch": """
            de het een en of maar dat die wat hoe wie waar wanneer is zijn ben
            was ik je jij hij zij we wij mij me mijn jouw haar niet geen met
            voor op in aan van naar bij ook heel kan kun wil""",
        "russian": """
            в во не что он она оно они на я с со как а то все так его но да ты
            к у же вы за бы по ее мне от меня о из ему когда ли если уже или
            быть был до вас там себя ей может тут где есть для мы тебя их чем
            без кто этот это эта эти мой моя можно при про""",
    }.items()
}


def _elide(text):
    """``text`` with code blocks as ``[code]`` and URLs as ``[url]``."""
    return _URL.sub("[url]", _CODE_BLOCK.sub(" [code] ", text))


def clean_text(text, max_chars):
    """Fold a message into one line of prose, at most ``max_chars`` long.

    Code blocks become ``[code]`` and URLs ``[url]``; a longer text is cut at
    a word boundary and ends with "...".
    """
    text = _SPACE.sub(" ", _elide(text)).strip()
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars].rsplit(" ", 1)[0] or text[:max_chars]
    return cut.rstrip(",;:") + "..."


def _words(text, limit):
    """Lower-case words of ``text``; unspaced scripts as character bigrams."""
    out = []
    for word in _WORD.finditer(text.lower()):
        word = word.group()
        if _UNSPACED.search(word):
            out.extend(word[i : i + 2] for i in range(max(1, len(word) - 1)))
        elif len(word) > 1:
            out.append(word)
        if len(out) >= limit:
            break
    return out[:limit]


def _read(turns):
    """The examined start of each turn, elided, within the conversation budget.

    Line breaks are kept: they end sentences.
    """
    out, budget = [], _CONVERSATION_CHARS
    for text in turns:
        if budget <= 0:
            break
        text = _elide(text[: min(_MESSAGE_CHARS, budget)])
        budget -= len(text)
        out.append(text)
    return out


def _join(parts):
    """Sentences back into text, with a full stop where a turn had none."""
    text = ""
    for part in parts:
        if not text or _CJK_END.search(text):
            text += part
        elif _UNSPACED.search(text[-1]):
            text += "\u3002" + part
        else:
            text += (". " if text[-1].isalnum() else " ") + part
    return text


def _bare(sentence):
    """``sentence`` without code and URL placeholders."""
    return _PLACEHOLDER.sub("", sentence).strip()


def _content(sentence):
    """``sentence`` without pleasantries and the code and URL placeholders."""
    return _PLEASANTRY.sub(" ", _PLACEHOLDER.sub(" ", sentence))


def _strip_pleasantries(sentence):
    """``sentence`` without the pleasantries it opens with (kept if all it is)."""
    rest = _LEADING_PLEASANTRIES.sub("", sentence)
    if rest == sentence or not _WORD.search(rest):
        return sentence
    return rest[0].upper() + rest[1:]


def request_and_summary(user_turns, other_turns=(), max_chars=300):
    """The user's substantive ask, and a summary of what the user said.

    Parameters
    ----------
    user_turns : list of str
        The user's messages, in order.
    other_turns : list of str, default=()
        The other messages (assistant, system). They are never quoted; they
        only tell which words the conversation keeps coming back to.
    max_chars : int, default=300
        Length cap of each result (plus "..." where a sentence is cut).

    Returns
    -------
    request : str
        The most informative user sentence, weighed by how early its turn
        comes (the k-th turn with content counts 1 / (1 + k)), with the other
        informative sentences of the same turn, in their order, pleasantries
        dropped. A conversation of greetings only keeps its greeting.
    summary : str
        The request, then the most informative sentence of the user's other
        turns (weighed by the same position discount) that is at least half
        as informative as the request's best sentence and adds words the
        request lacks. Equal to ``request`` when the rest of the
        conversation adds nothing.

    Examples
    --------
    >>> request_and_summary(["hello?", "Hi! How do I reset my router password?"])
    ('How do I reset my router password?', 'How do I reset my router password?')
    """
    user = _read(user_turns)
    sentences = []  # (turn, index, text), then content words too
    for t, text in enumerate(user):
        for part in _SENTENCE_END.split(text):
            part = _SPACE.sub(" ", part).strip()
            if part and sentences and sentences[-1][0] == t and not _bare(part):
                # a code block or URL on its own belongs to the sentence before
                sentences[-1] = (t, len(sentences) - 1, sentences[-1][2] + " " + part)
            elif part:
                sentences.append((t, len(sentences), part))
    other = [_words(text, 20 * _TOKENS_PER_SENTENCE) for text in _read(other_turns)]
    counts = Counter(w for s in sentences for w in _words(s[2], _TOKENS_PER_SENTENCE))
    counts.update(w for words in other for w in words)
    language = max(
        _GRAMMAR_WORDS, key=lambda lang: sum(counts[w] for w in _GRAMMAR_WORDS[lang])
    )
    grammar = _GRAMMAR_WORDS[language]
    sentences = [
        (t, i, text, [w for w in content_words if w not in grammar])
        for t, i, text in sentences
        for content_words in [_words(_content(text), _TOKENS_PER_SENTENCE)]
    ]

    # Repetition: the number of other messages that use a word, user or not.
    in_messages = Counter()
    by_turn = {}
    for t, _, _, content in sentences:
        by_turn.setdefault(t, set()).update(content)
    for words in [*by_turn.values(), *map(set, other)]:
        in_messages.update(words)
    info = {
        i: sum(1.0 + math.log1p(in_messages[w] - 1) for w in set(content))
        for _, i, _, content in sentences
    }

    substantive = [s for s in sentences if info[s[1]] > 0]
    if not substantive:  # greetings only: the greeting is what there is
        text = clean_text(" ".join(user[:2]), max_chars)
        return text, text
    rank = {t: k for k, t in enumerate(sorted({s[0] for s in substantive}))}
    best = max(substantive, key=lambda s: (info[s[1]] / (1 + rank[s[0]]), -s[1]))
    parts = _most_informative(
        [s for s in substantive if s[0] == best[0]], info, max_chars, first=best
    )
    request = clean_text(_join(_strip_pleasantries(s[2]) for s in parts), max_chars)

    asked = set().union(*(s[3] for s in parts))
    extras = [
        s
        for s in substantive
        if s[0] != best[0] and info[s[1]] >= info[best[1]] / 2 and set(s[3]) - asked
    ]
    head = request
    if extras and len(head) > max_chars * 2 // 3:
        head = clean_text(head, max_chars * 2 // 3)
    # Later turns are weighed by the same position discount as the request:
    # the first details of an ask say more about it than late digressions.
    weighed = {s[1]: info[s[1]] / (1 + rank[s[0]]) for s in extras}
    more = _most_informative(
        extras, weighed, max_chars - len(head) - 1, limit=_MAX_EXTRAS
    )
    if not more:
        return request, request
    return request, _join([head, *(_strip_pleasantries(s[2]) for s in more)])


def _most_informative(candidates, info, max_chars, first=None, limit=None):
    """The most informative ``candidates`` that fit in ``max_chars``, in order."""
    chosen = [first] if first is not None else []
    room = max_chars - (len(first[2]) if first is not None else 0)
    for s in sorted(candidates, key=lambda s: (-info[s[1]], s[1])):
        if limit is not None and len(chosen) >= limit:
            break
        if s is not first and len(s[2]) + 1 <= room:
            chosen.append(s)
            room -= len(s[2]) + 1
    return sorted(chosen, key=lambda s: s[1])
