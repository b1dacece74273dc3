"""Offline cluster names: distinctive keywords by class-based TF-IDF.

Each cluster's texts are treated as one document and weighed against the
other clusters (c-TF-IDF, as BERTopic does): a term scores high when it is
frequent in the cluster and rare across clusters. The name is the top
terms; the description quotes the cluster's most central text.
"""

import logging
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.utils._param_validation import Interval

from ..utils._progress import progress
from ..utils._versioning import VersionStampMixin
from ._base import ClusterName, centroids

logger = logging.getLogger(__name__)


def class_tfidf_keywords(
    texts, labels, *, n_keywords=4, ngram_range=(1, 2), stop_words="auto"
):
    """Top c-TF-IDF terms of each cluster.

    Parameters
    ----------
    texts : list of str
        One text per item.
    labels : array-like of shape (n_items,)
        Cluster of each item; -1 (noise) is ignored.
    n_keywords : int, default=4
        Terms per cluster.
    ngram_range : tuple, default=(1, 2)
        Word n-grams considered.
    stop_words : "auto", "english", list or None, default="auto"
        Words never used as keywords; "auto" is :func:`default_stop_words`.

    Returns
    -------
    keywords : dict of int to list of str
        Best terms first. A cluster whose texts hold no usable term gets [].

    Examples
    --------
    >>> from kura_sklearn.naming import class_tfidf_keywords
    >>> texts = ["reset my password", "password reset link", "bake bread",
    ...          "bread recipe"]
    >>> class_tfidf_keywords(texts, [0, 0, 1, 1], n_keywords=1)
    {0: ['password'], 1: ['bread']}
    """
    labels = np.asarray(labels)
    if isinstance(stop_words, str) and stop_words == "auto":
        stop_words = default_stop_words()
    cluster_ids = [int(c) for c in np.unique(labels) if c != -1]
    docs = [
        " ".join(texts[i] for i in np.flatnonzero(labels == c)) for c in cluster_ids
    ]
    vectorizer = CountVectorizer(
        ngram_range=ngram_range,
        stop_words=stop_words,
        token_pattern=r"(?u)\b[^\W\d_]{3,}\b",
    )
    try:
        counts = vectorizer.fit_transform(docs).astype(np.float64)
    except ValueError:  # every text empty or stop words only
        return {c: [] for c in cluster_ids}
    # tf: term frequency within the cluster; idf: log(1 + mean words per
    # cluster / frequency of the term across all clusters).
    words_per_cluster = np.asarray(counts.sum(axis=1)).ravel()
    tf = counts.multiply(1.0 / np.maximum(words_per_cluster, 1)[:, None]).tocsr()
    term_freq = np.asarray(counts.sum(axis=0)).ravel()
    idf = np.log1p(words_per_cluster.mean() / np.maximum(term_freq, 1))
    scores = tf.multiply(idf).tocsr()
    vocabulary = vectorizer.get_feature_names_out()
    keywords = {}
    for row, c in enumerate(cluster_ids):
        line = scores.getrow(row)
        order = np.argsort(-line.data, kind="stable")
        chosen = []
        for term in vocabulary[line.indices[order]]:
            # skip a unigram already inside a chosen bigram, and vice versa
            if any(term in kept or kept in term for kept in chosen):
                continue
            chosen.append(str(term))
            if len(chosen) == n_keywords:
                break
        keywords[c] = chosen
    return keywords


# Words that name no topic: request fillers, and function words of the
# languages the offline summarizer detects (scikit-learn's list is English only).
_FILLER = """
need want like help please thanks thank hi hello hey just really know make use
using used get got does did doing done way ask asked asking tell give able sure
going good best better new also try tried trying work works working thing things
something anything lot bit want wants wanted write writing question questions
mais quero puedo tengo necesito quiero sobre muy est une avec dans sur sont
kann ich wie und nicht mit bitte auch eine einen habe ist das der die
как что это мне для или можно пожалуйста есть
""".split()


def default_stop_words():
    """scikit-learn's English stop words, request fillers, and function words
    of Spanish, French, German, Portuguese, Italian and Dutch."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from ..summarization._extractive import _FUNCTION_WORDS

    words = set(ENGLISH_STOP_WORDS) | set(_FILLER)
    for vocabulary in _FUNCTION_WORDS.values():
        words |= vocabulary
    return sorted(words)


def _quote(text, max_chars=160):
    text = " ".join(text.split())
    return text if len(text) <= max_chars else text[: max_chars - 3].rstrip() + "..."


class KeywordNamer(VersionStampMixin, BaseEstimator):
    """Name clusters offline from their most distinctive keywords.

    The offline default of :class:`kura_sklearn.ConversationClusterer`: no
    model, no network. Names are the top c-TF-IDF terms of each cluster; the
    description counts the conversations and quotes the most central one.
    Meta-clusters are formed by agglomerative (Ward) clustering of their
    children's centroids and named the same way from all their members.

    Parameters
    ----------
    n_keywords : int, default=3
        Terms in a name.
    ngram_range : tuple of (int, int), default=(1, 2)
        Word n-grams considered as keywords.
    stop_words : "auto", "english", list of str or None, default="auto"
        Words never used as keywords; "auto" adds request fillers and the
        function words of six more languages to scikit-learn's English list.
    verbose : int, default=0
        0 is silent. Above 0, ``name_clusters`` logs the start and end of
        naming (logger ``kura_sklearn.naming._keywords``, INFO). Naming is
        fast, so no bar is needed; meta levels are logged by
        :class:`~kura_sklearn.ConversationClusterer`.

    See Also
    --------
    LLMNamer : Names written by an LLM.

    Examples
    --------
    >>> import numpy as np
    >>> from kura_sklearn.naming import KeywordNamer
    >>> texts = ["reset my password", "password reset link", "bake bread",
    ...          "bread recipe"]
    >>> X = np.array([[1, 0], [1, 0.1], [0, 1], [0.1, 1]])
    >>> namer = KeywordNamer(n_keywords=2)
    >>> names, n_calls = namer.name_clusters(texts, [0, 0, 1, 1], X)
    >>> names[0].name, n_calls
    ('Password, reset', 0)
    """

    _parameter_constraints: dict = {
        "n_keywords": [Interval(Integral, 1, None, closed="left")],
        "ngram_range": [tuple],
        "stop_words": [str, list, None],
        "verbose": ["verbose"],
    }

    #: Meta-clustering groups children by their members' centroids.
    embeds_names = False

    def __init__(
        self, n_keywords=3, *, ngram_range=(1, 2), stop_words="auto", verbose=0
    ):
        self.n_keywords = n_keywords
        self.ngram_range = ngram_range
        self.stop_words = stop_words
        self.verbose = verbose

    def name_clusters(self, texts, labels, embeddings, *, random_state=None):
        """Name every cluster of ``labels`` (noise, -1, excluded).

        Returns
        -------
        names : dict of int to ClusterName
        n_calls : int
            LLM calls made: always 0.
        """
        self._validate_params()
        labels = np.asarray(labels)
        cluster_ids = [int(c) for c in np.unique(labels) if c != -1]
        with progress(
            len(cluster_ids),
            "Naming",
            self.verbose,
            done="Named",
            unit="cluster",
            noun="cluster",
            logger=logger,
        ) as bar:
            names = self._name(texts, labels, embeddings, cluster_ids)
            bar.update(len(names))
        return names, 0

    def _name(self, texts, labels, embeddings, cluster_ids):
        keywords = class_tfidf_keywords(
            texts,
            labels,
            n_keywords=self.n_keywords,
            ngram_range=self.ngram_range,
            stop_words=self.stop_words,
        )
        embeddings = np.asarray(embeddings)
        cents = centroids(embeddings, labels, cluster_ids)
        names = {}
        for row, c in enumerate(cluster_ids):
            members = np.flatnonzero(labels == c)
            central = members[np.argmax(embeddings[members] @ cents[row])]
            words = keywords[c] or ["misc"]
            name = ", ".join(words)
            name = name[0].upper() + name[1:]
            noun = "conversation" if len(members) == 1 else "conversations"
            description = (
                f"{len(members)} {noun} about {', '.join(words)}. "
                f'Most typical: "{_quote(texts[central])}"'
            )
            names[c] = ClusterName(
                name=name, description=description, keywords=tuple(words)
            )
        return names

    def merge_round(
        self, children, vectors, member_texts, max_parents, *, random_state=None
    ):
        """Group clusters into at most ``max_parents`` parents, offline.

        Parameters
        ----------
        children : list of ClusterName
            The current top-level clusters.
        vectors : ndarray of shape (n_children, n_features)
            Their centroids.
        member_texts : list of list of str
            The texts of each child's members.
        max_parents : int
            How many parents at most.
        random_state : ignored
            The merge is deterministic.

        Returns
        -------
        assignment : list of int
            Parent index of each child.
        parents : list of ClusterName
        n_calls : int
            Always 0.
        """
        n_parents = max(1, min(max_parents, len(children)))
        if n_parents == len(children):
            assignment = np.arange(len(children))
        else:
            assignment = AgglomerativeClustering(
                n_clusters=n_parents, linkage="ward"
            ).fit_predict(vectors)
        texts, labels, rows = [], [], []
        for child, parent in enumerate(assignment):
            texts.extend(member_texts[child])
            labels.extend([int(parent)] * len(member_texts[child]))
            rows.extend([vectors[child]] * len(member_texts[child]))
        self._validate_params()
        labels = np.asarray(labels)
        cluster_ids = [int(c) for c in np.unique(labels)]
        names = self._name(texts, labels, np.vstack(rows), cluster_ids)
        return [int(a) for a in assignment], [names[p] for p in range(n_parents)], 0
