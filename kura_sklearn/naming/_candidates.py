"""Candidate names of a cluster: the phrases its members share and the
requests of its most central members, cut of function words at their ends.

The words a name may not start or end with are here too: scikit-learn's
English stop words less the open-class words they hold, request openers,
and the function words of six more languages.
"""

import re
from collections import Counter

import numpy as np
from scipy import sparse

#: Phrases end at punctuation: a candidate never spans two clauses.
_CLAUSE = re.compile(r"[.,;:!?()\[\]{}\"“”«»…\n]+|\s[-–—]\s")
_TOKEN = re.compile(r"[^\W_](?:[\w'’-]*[^\W_])?")
#: Members read per cluster when mining phrases: the work stays bounded.
_MAX_MEMBERS = 200
#: Most central members whose requests are candidate names.
_N_CENTRAL = 20
#: Longest sentence kept as a candidate name, in words.
_MAX_SENTENCE_WORDS = 12
_SENTENCE = re.compile(r"[.!?;\n]+\s*")
#: Characters of a text read when mining phrases (a 2 MB message costs
#: no more than a long one).
_MAX_CHARS = 2000


def _phrase_analyzer(stop_words, max_words):
    """Callable that lists the candidate phrases of one text (each once)."""
    stop = frozenset(stop_words)

    def analyze(text):
        found = set()
        for clause in _CLAUSE.split(text[:_MAX_CHARS].lower()):
            words = _TOKEN.findall(clause)
            edge_ok = [w not in stop and not w.isdigit() and len(w) > 1 for w in words]
            for i in range(len(words)):
                if not edge_ok[i]:
                    continue
                for j in range(i, min(i + max_words, len(words))):
                    if edge_ok[j]:
                        found.add(" ".join(words[i : j + 1]))
        return list(found)

    return analyze


def central_sentences(texts, members, embeddings, centroid, edge, min_share):
    """The requests of the most central members, as candidate names.

    ``edge`` are the words a name may not start or end with; ``min_share``
    the share of members that must use a word for an opening to keep it.

    A summary says the request first, so the first sentence of each of
    the ``_N_CENTRAL`` members nearest the centroid is a candidate, cut
    of function words at its ends, and so is its longest opening whose
    words enough members use ("book a one way flight" from "book a one
    way flight from lax to washington"): a name says what the members
    share, not one member's dates and places.
    """
    if not len(members):
        return []
    sims = np.asarray(embeddings[members]) @ centroid
    central = members[np.argsort(-sims, kind="stable")[:_N_CENTRAL]]
    edge = frozenset(edge)
    spread = np.asarray(members)[_spread(len(members), _MAX_MEMBERS)]
    used = Counter(
        w for i in spread for w in set(_TOKEN.findall(texts[i][:_MAX_CHARS].lower()))
    )
    need = max(2, min_share * len(spread))
    out = []
    for i in central:
        first = next(
            (s for s in _SENTENCE.split(texts[i][:_MAX_CHARS]) if s.strip()), ""
        )
        words = _TOKEN.findall(first.lower())
        if not words:
            continue
        if len(words) <= _MAX_SENTENCE_WORDS:
            # a sentence of function words only ("hello there?") is
            # kept whole: it is what such a cluster is about
            out.append(_trim(" ".join(words), edge) or " ".join(words))
        shared = 0
        while shared < len(words) and (
            words[shared] in edge or used[words[shared]] >= need
        ):
            shared += 1
        opening = _trim(" ".join(words[:shared][:_MAX_SENTENCE_WORDS]), edge)
        if opening:
            out.append(opening)
    return list(dict.fromkeys(out))


def children_share(dtm, kept, g, terms, child_of):
    """Share of the children of group ``g`` that use each of ``terms``
    (0 for a term only one child uses)."""
    start = sum(len(m) for m in kept[:g])
    block = dtm[start : start + len(kept[g])][:, terms].tocsc()
    n_children = int(child_of.max()) + 1 if len(child_of) else 0
    if n_children < 2:
        return np.ones(len(terms))
    indicator = sparse.csr_matrix(
        (np.ones(len(child_of)), (child_of, np.arange(len(child_of)))),
        shape=(n_children, len(child_of)),
    )
    using = np.asarray(((indicator @ block) > 0).sum(axis=0)).ravel()
    return np.where(using >= 2, using / n_children, 0.0)


# Words of scikit-learn's English stop list that carry meaning in a request
# ("find a doctor", "call a cab", "show my balance"): a phrase may start or
# end with them.
_OPEN_CLASS = """
amount back bill bottom call cry describe detail empty fill find fire found
front full get give go interest keep made mill move name part put see serious
show side system take thick thin top
""".split()

# Words that open or close a request without saying what it is about.
_REQUEST_WORDS = """
want wants wanted need needs like please help thanks thank hi hello hey just
really would could can able sure ok okay yes i'd i'm i've i'll id im ive
you're it's that's there's let's don't can't wanna gonna
""".split()


def phrase_edge_words():
    """Words a name may not start or end with: function words, not verbs.

    scikit-learn's English stop words without the open-class words it holds
    (find, call, show...), request openers (want, please, hello...), and the
    function words of six more languages.
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from ..summarization import FUNCTION_WORDS as _FUNCTION_WORDS

    words = (set(ENGLISH_STOP_WORDS) - set(_OPEN_CLASS)) | set(_REQUEST_WORDS)
    for vocabulary in _FUNCTION_WORDS.values():
        words |= vocabulary
    return sorted(words)


def _spread(n, limit):
    """At most ``limit`` positions of ``range(n)``, evenly spread."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).astype(np.intp))


def _trim(text, edge):
    """``text`` without the function words at its start and end."""
    words = text.split()
    while words and words[0] in edge:
        words.pop(0)
    while words and words[-1] in edge:
        words.pop()
    return " ".join(words)


def _first_quotes(description):
    """The quoted requests of a description written by ``_record``."""
    return re.findall(r'"([^"]*)"', description)


def _english():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return sorted(ENGLISH_STOP_WORDS)
