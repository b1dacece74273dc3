"""Offline cluster names: distinctive keywords by class-based TF-IDF.

Each cluster's texts are treated as one document and weighed against the
other clusters (c-TF-IDF, as BERTopic does): a term scores high when it is
frequent in the cluster and rare across clusters. The name is the top
terms; the description quotes the cluster's most central text.
"""

import logging
from numbers import Integral

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.utils._param_validation import Interval

from ..utils import VersionStampMixin, progress, shorten
from ._base import (
    ClusterName,
    MemberTexts,
    centroids,
    group_directions,
    group_indices,
)

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
    cluster_ids = np.asarray([int(c) for c in np.unique(labels) if c != -1], dtype=int)
    if not len(cluster_ids):
        return {}
    kept = np.flatnonzero(labels != -1)
    matrix = term_matrix([texts[i] for i in kept], ngram_range, stop_words)
    if matrix is None:  # every text empty or stop words only
        return {int(c): [] for c in cluster_ids}
    dtm, vocabulary = matrix
    rows = np.searchsorted(cluster_ids, labels[kept])
    return _top_terms(
        dtm, np.arange(len(kept)), rows, cluster_ids, vocabulary, n_keywords
    )


def term_matrix(texts, ngram_range=(1, 2), stop_words="auto"):
    """Word n-gram counts of each text (CSR, int32) and the vocabulary; None if empty.

    Each text is tokenised on its own, once: c-TF-IDF then sums rows per
    cluster, so bigrams never span two texts and regrouping the same texts
    (every level of the hierarchy) costs no new tokenisation.
    """
    if isinstance(stop_words, str) and stop_words == "auto":
        stop_words = default_stop_words()
    vectorizer = CountVectorizer(
        ngram_range=ngram_range,
        stop_words=stop_words,
        token_pattern=r"(?u)\b[^\W\d_]{3,}\b",
        dtype=np.int32,
    )
    try:
        dtm = vectorizer.fit_transform(texts)
    except ValueError:  # empty vocabulary
        return None
    return dtm.tocsr(), vectorizer.get_feature_names_out()


def _top_terms(dtm, rows, groups, cluster_ids, vocabulary, n_keywords):
    """c-TF-IDF keywords of clusters made of ``dtm`` rows: row ``rows[i]`` is in
    cluster ``cluster_ids[groups[i]]``. One sparse product: O(non-zeros)."""
    indicator = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.int32), (groups, rows)),
        shape=(len(cluster_ids), dtm.shape[0]),
    )
    counts = (indicator @ dtm).tocsr()
    counts.sort_indices()
    counts = counts.astype(np.float64)
    # tf: term frequency within the cluster; idf: log(1 + mean words per
    # cluster / frequency of the term across all clusters).
    words_per_cluster = np.asarray(counts.sum(axis=1)).ravel()
    term_freq = np.asarray(counts.sum(axis=0)).ravel()
    idf = np.log1p(words_per_cluster.mean() / np.maximum(term_freq, 1))
    row_of = np.repeat(np.arange(len(cluster_ids)), np.diff(counts.indptr))
    scores = (
        counts.data / np.maximum(words_per_cluster, 1)[row_of] * idf[counts.indices]
    )
    keywords = {}
    for row, c in enumerate(cluster_ids):
        lo, hi = counts.indptr[row], counts.indptr[row + 1]
        terms, weights = counts.indices[lo:hi], scores[lo:hi]
        # best first; ties in vocabulary order
        order = np.lexsort((terms, -weights))
        chosen = []
        for j in order:
            term = str(vocabulary[terms[j]])
            # skip a unigram already inside a chosen bigram, and vice versa
            if any(term in kept_term or kept_term in term for kept_term in chosen):
                continue
            chosen.append(term)
            if len(chosen) == n_keywords:
                break
        keywords[int(c)] = chosen
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

    from ..summarization import FUNCTION_WORDS as _FUNCTION_WORDS

    words = set(ENGLISH_STOP_WORDS) | set(_FILLER)
    for vocabulary in _FUNCTION_WORDS.values():
        words |= vocabulary
    return sorted(words)


def _sizes(member_texts):
    """Number of member texts of each child."""
    if isinstance(member_texts, MemberTexts):
        return member_texts.sizes()
    return np.asarray([len(m) for m in member_texts], dtype=np.int64)


def _quote(text, max_chars=160):
    return shorten(text, max_chars, ellipsis="...")


class KeywordNamer(VersionStampMixin, BaseEstimator):
    """Name clusters offline from their most distinctive keywords.

    The offline default of :class:`kura_sklearn.ConversationClusterer`: no
    model, no network. Names are the top c-TF-IDF terms of each cluster; the
    description counts the conversations and quotes the most central one.
    Meta-clusters are formed by K-means over their children's centroids,
    weighted by the children's sizes, and named the same way from all their
    members.

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

    def name_clusters(
        self, texts, labels, embeddings, *, embed=None, random_state=None
    ):
        """Name every cluster of ``labels`` (noise, -1, excluded).

        ``embed`` and ``random_state`` are unused: keywords need neither.

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
            logger=logging.getLogger(type(self).__module__),
        ) as bar:
            names = self._name(texts, labels, embeddings, cluster_ids, embed=embed)
            bar.update(len(names))
        return names, 0

    def _name(self, texts, labels, embeddings, cluster_ids, embed=None):
        """ClusterName of each of ``cluster_ids`` (``embed`` unused here)."""
        labels = np.asarray(labels)
        embeddings = np.asarray(embeddings)  # a memmap stays a view, not a copy
        cents = centroids(embeddings, labels, cluster_ids)
        central, sizes = [], []
        for row, members in enumerate(group_indices(labels, cluster_ids)):
            scores = np.asarray(embeddings[members]) @ cents[row]
            central.append(texts[members[np.argmax(scores)]])
            sizes.append(len(members))
        return self._names(texts, labels, cluster_ids, central, sizes)

    def _names(self, texts, labels, cluster_ids, central, sizes, keywords=None):
        """ClusterName of each cluster from its keywords, size and central text."""
        if keywords is None:
            keywords = class_tfidf_keywords(
                texts,
                labels,
                n_keywords=self.n_keywords,
                ngram_range=self.ngram_range,
                stop_words=self.stop_words,
            )
        names = {}
        for c, text, size in zip(cluster_ids, central, sizes):
            words = keywords.get(c) or ["misc"]
            name = ", ".join(words)
            name = name[0].upper() + name[1:]
            noun = "conversation" if size == 1 else "conversations"
            description = f"{size} {noun} about {', '.join(words)}."
            if text is not None:
                description += f' Most typical: "{_quote(text)}"'
            names[c] = ClusterName(
                name=name, description=description, keywords=tuple(words)
            )
        return names

    def merge_round(
        self, children, vectors, member_texts, max_parents, *, random_state=None
    ):
        """Group clusters into at most ``max_parents`` parents, offline.

        Children are grouped by :func:`~kura_sklearn.cluster.merge_clusters`:
        K-means over their centroids, each weighted by its number of members
        (seeded with 0, so deterministic), then named by :meth:`name_groups`.

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
        from ..cluster import merge_clusters

        self._validate_params()
        sizes = _sizes(member_texts)
        n_parents = max(1, min(max_parents, len(children)))
        assignment = merge_clusters(vectors, sizes, n_parents, random_state=0)
        parents = self.name_groups(children, assignment, member_texts, vectors)
        return [int(a) for a in assignment], parents, 0

    def name_groups(
        self,
        children,
        assignment,
        member_texts,
        vectors,
        *,
        embed=None,
        random_state=None,
    ):
        """Name the parents of grouped clusters from all their members' texts.

        Parameters
        ----------
        children : list of ClusterName
            The clusters grouped.
        assignment : array-like of int, shape (n_children,)
            Group ``0..m-1`` of each child.
        member_texts : list of list of str or MemberTexts
            The texts of each child's members.
        vectors : ndarray of shape (n_children, n_features)
            The children's centroids.
        embed : callable, default=None
            Unused here (keywords need no embedding).
        random_state : ignored

        Returns
        -------
        parents : list of ClusterName
            One per group, in group order.
        """
        self._validate_params()
        vectors = np.asarray(vectors, dtype=np.float64)
        assignment = np.asarray(assignment, dtype=np.intp)
        sizes = _sizes(member_texts)
        n_parents = int(assignment.max()) + 1 if len(assignment) else 0
        # Each parent's centroid is its children's size-weighted mean; its most
        # typical text is the first text of the child nearest that centroid.
        cents = group_directions(vectors, sizes, assignment, n_parents)
        central, parent_sizes = [], []
        for p, group in enumerate(group_indices(assignment, range(n_parents))):
            group = group[sizes[group] > 0]
            parent_sizes.append(int(sizes[group].sum()))
            if not len(group):
                central.append(None)
                continue
            best = group[np.argmax(vectors[group] @ cents[p])]
            central.append(member_texts[best][0])
        if isinstance(member_texts, MemberTexts):
            keywords = self._member_keywords(member_texts, assignment, n_parents)
            names = self._names(
                None, None, list(range(n_parents)), central, parent_sizes, keywords
            )
        else:
            texts = [text for child_texts in member_texts for text in child_texts]
            labels = np.repeat(assignment, sizes)
            names = self._names(
                texts, labels, list(range(n_parents)), central, parent_sizes
            )
        return [names[p] for p in range(n_parents)]

    def _member_keywords(self, member_texts, assignment, n_parents):
        """c-TF-IDF keywords of the parents, from one tokenisation per hierarchy.

        The term matrix of all the texts is kept in ``member_texts.cache``,
        which every level of one ``build_hierarchy`` shares.
        """
        stop = self.stop_words
        key = (
            "term_matrix",
            tuple(self.ngram_range),
            tuple(stop) if isinstance(stop, list) else stop,
        )
        if key not in member_texts.cache:
            member_texts.cache[key] = term_matrix(
                member_texts.texts, self.ngram_range, self.stop_words
            )
        matrix = member_texts.cache[key]
        if matrix is None:
            return {p: [] for p in range(n_parents)}
        dtm, vocabulary = matrix
        rows = np.concatenate(member_texts.members) if len(member_texts) else []
        groups = np.repeat(np.asarray(assignment), member_texts.sizes())
        present = np.unique(groups)
        keywords = _top_terms(
            dtm,
            np.asarray(rows, dtype=np.intp),
            np.searchsorted(present, groups),
            present,
            vocabulary,
            self.n_keywords,
        )
        return keywords
