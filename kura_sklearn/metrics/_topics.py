"""Label-free topic measures: keyword coherence and diversity, after Turftopic.

Turftopic's benchmark (Kardos et al., 2025) scores a topic model's keywords
without any labels by two numbers:

- **diversity**: the share of distinct words among all topics' keywords
  (1.0 when no keyword is repeated across topics, lower when topics reuse the
  same words);
- **word-embedding coherence**: for each topic, the mean cosine similarity
  over every pair of its keywords' embeddings, then the mean over topics
  (topics with fewer than two keywords have no pair and are left out).

Turftopic embeds the keywords with word vectors (GloVe trained on the
corpus, or word2vec); here any ``embed`` function does, typically the fitted
clusterer's sentence embedder, so the scores are on that embedder's scale
and comparable only between runs that use the same one.
"""

from itertools import chain

import numpy as np


def _check_keywords(keywords):
    """``keywords`` as a list of lists of str, rejecting a bare string."""
    if isinstance(keywords, str):
        raise ValueError(
            "keywords must be a list of keyword lists (one per topic), "
            "got a single string."
        )
    topics = []
    for topic in keywords:
        if isinstance(topic, str):
            raise ValueError(
                "Each topic must be a list of keywords, got the string "
                f"{topic!r}; wrap it in a list."
            )
        topics.append([str(word) for word in topic])
    return topics


def _unit_rows(vectors):
    """Rows scaled to unit length (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def topic_diversity(keywords):
    """Share of distinct keywords among all topics' keywords (Turftopic's diversity).

    Parameters
    ----------
    keywords : list of list of str
        The keywords of each topic, e.g. ``Cluster.keywords`` of every
        cluster of one level.

    Returns
    -------
    diversity : float
        Distinct keywords divided by all keywords, in (0, 1]; 1.0 means no
        two topics share a keyword. NaN when there is no keyword at all.

    See Also
    --------
    topic_coherence : How related each topic's keywords are.

    Examples
    --------
    >>> from kura_sklearn.metrics import topic_diversity
    >>> topic_diversity([["bread", "flour"], ["flour", "tax"]])
    0.75
    """
    words = list(chain.from_iterable(_check_keywords(keywords)))
    if not words:
        return float("nan")
    return len(set(words)) / len(words)


def topic_coherence(keywords, embed):
    """Mean pairwise cosine similarity of each topic's keywords, averaged over topics.

    Turftopic's word-embedding coherence: for every topic, the mean cosine
    similarity of the embeddings of all pairs of its keywords; the score is
    the mean of that over the topics that have at least two keywords.

    Parameters
    ----------
    keywords : list of list of str
        The keywords of each topic.
    embed : callable
        ``embed(list of str) -> array of shape (n_texts, n_features)``, e.g.
        a fitted embedder's ``transform``. Each distinct keyword is embedded
        once.

    Returns
    -------
    coherence : float
        In [-1, 1], higher when each topic's keywords are about one thing.
        NaN when no topic has two keywords.

    See Also
    --------
    topic_diversity : How little the topics' keywords overlap.

    Examples
    --------
    A toy embedding where "bread" and "flour" point the same way:

    >>> import numpy as np
    >>> from kura_sklearn.metrics import topic_coherence
    >>> vectors = {"bread": [1, 0], "flour": [1, 0], "tax": [0, 1]}
    >>> embed = lambda words: np.array([vectors[w] for w in words], dtype=float)
    >>> topic_coherence([["bread", "flour"], ["bread", "tax"]], embed)
    0.5
    """
    topics = [topic for topic in _check_keywords(keywords) if len(topic) > 1]
    if not topics:
        return float("nan")
    vocabulary = sorted(set(chain.from_iterable(topics)))
    index = {word: i for i, word in enumerate(vocabulary)}
    vectors = _unit_rows(embed(vocabulary))
    if vectors.shape[0] != len(vocabulary):
        raise ValueError(
            f"embed returned {vectors.shape[0]} rows for {len(vocabulary)} keywords."
        )
    per_topic = []
    for topic in topics:
        rows = vectors[[index[word] for word in topic]]
        sims = rows @ rows.T
        n = len(topic)
        # mean over the n (n - 1) / 2 distinct pairs: the off-diagonal half
        per_topic.append((sims.sum() - np.trace(sims)) / (n * (n - 1)))
    return float(np.mean(per_topic))
