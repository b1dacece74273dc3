"""What a fitted cluster tree tells a user, scored against labels it never saw.

:func:`score_tree` compares a fitted :class:`ConversationClusterer` with
labels kept aside (fine ones for the base clusters, coarse ones for the
roots) and with a naive baseline computed in the same call, the way Clio
and TopicGPT evaluate: agreement of the partitions (NMI, ARI,
:func:`harmonic_purity`), the shape of the tree (number of roots, the
largest root's share, nodes with a single child) and **name retrieval**:
does a cluster's name, embedded, sit nearest the name of the label most of
its members carry? The baseline names each cluster by its medoid, the member
summary nearest the centroid, so a namer must beat quoting a member to be
worth its names. Label-free measures (:func:`topic_coherence`,
:func:`topic_diversity`) come along for the clusters' keywords.
"""

import re
from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix
from sklearn.utils import column_or_1d
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from ..utils import group_indices
from ._scorer_inputs import _final_estimator
from ._topics import _unit_rows, topic_coherence, topic_diversity

_CAMEL_BOUNDARIES = [
    (re.compile(r"([a-z0-9])([A-Z])"), r"\1 \2"),  # reserveRestaurant
    (re.compile(r"([A-Z]+)([A-Z][a-z])"), r"\1 \2"),  # HTTPResponse
]


def readable_label(label):
    """The words of a label as a person would write them, in lower case.

    Underscores, hyphens and camel-case boundaries become spaces, so a label
    can be embedded and compared with a cluster's name.

    Parameters
    ----------
    label : object
        A class label; anything but a string is formatted with ``str``.

    Returns
    -------
    text : str

    Examples
    --------
    >>> from kura_sklearn.metrics import readable_label
    >>> [readable_label(x) for x in ["card_arrival", "ReserveRestaurant",
    ...                              "RentalCars", "getHTTPResponse"]]
    ['card arrival', 'reserve restaurant', 'rental cars', 'get http response']
    """
    text = str(label)
    for pattern, repl in _CAMEL_BOUNDARIES:
        text = pattern.sub(repl, text)
    return " ".join(re.sub(r"[_\-]+", " ", text).split()).lower()


def _check_label_pair(labels_true, labels_pred):
    labels_true = column_or_1d(labels_true)
    labels_pred = column_or_1d(labels_pred)
    check_consistent_length(labels_true, labels_pred)
    if labels_true.shape[0] == 0:
        raise ValueError("harmonic_purity needs at least one sample, got 0.")
    return labels_true, labels_pred


def harmonic_purity(labels_true, labels_pred):
    """TopicGPT's harmonic purity: each true class's best F1, weighted by class size.

    For a true class ``c`` and a predicted cluster ``k``, precision is the
    share of ``k`` that belongs to ``c`` and recall the share of ``c`` that
    lies in ``k``; the class's score is its best F1 over all clusters, and
    the result is the mean of these scores weighted by class size. It is 1.0
    exactly when every class is one cluster, and it penalises both splitting
    a class (recall falls) and merging classes (precision falls).

    Parameters
    ----------
    labels_true : array-like of shape (n_samples,)
        True classes.
    labels_pred : array-like of shape (n_samples,)
        Predicted clusters. The integer label -1 is noise (HDBSCAN's
        convention): noise points count in their class's size but never
        form a matching cluster, so every point called noise lowers its
        class's recall.

    Returns
    -------
    score : float
        In (0, 1], higher is better.

    See Also
    --------
    sklearn.metrics.normalized_mutual_info_score : Information-theoretic
        agreement, symmetric in the two labellings.

    Notes
    -----
    Pham et al., "TopicGPT: A Prompt-based Topic Modeling Framework"
    (NAACL 2024), Section 4, define harmonic purity this way. Some code
    computes instead the harmonic mean of purity and inverse purity, a
    different number.

    Examples
    --------
    Two classes, the second split in two: class 0 is matched perfectly
    (F1 = 1); class 1's best cluster holds 2 of its 3 points (F1 = 0.8).

    >>> from kura_sklearn.metrics import harmonic_purity
    >>> harmonic_purity([0, 0, 1, 1, 1], [0, 0, 1, 1, 2])
    0.88
    """
    labels_true, labels_pred = _check_label_pair(labels_true, labels_pred)
    counts = contingency_matrix(labels_true, labels_pred, sparse=True).tocoo()
    class_sizes = np.asarray(counts.sum(axis=1)).ravel()
    cluster_sizes = np.asarray(counts.sum(axis=0)).ravel()
    clusters = np.unique(labels_pred)
    # F1 = 2 P R / (P + R) = 2 n_ck / (n_c + n_k) for the n_ck shared points
    f1 = 2.0 * counts.data / (class_sizes[counts.row] + cluster_sizes[counts.col])
    if clusters.dtype.kind in "iuf":
        f1[clusters[counts.col] == -1] = 0.0
    best = np.zeros(len(class_sizes))
    np.maximum.at(best, counts.row, f1)
    return float(np.dot(best, class_sizes) / class_sizes.sum())


@dataclass(frozen=True)
class InsightReport:
    """What :func:`score_tree` measured; every score is in [0, 1] (NMI, ARI, rates).

    A field is None when what it needs was not given (``fine_labels`` for the
    ``base_*`` label scores, ``coarse_labels`` for the ``root_*`` ones) or
    does not exist (coherence without keywords). Shares and rates are
    fractions, not percentages.

    Attributes
    ----------
    n_conversations : int
        Training summaries of the fitted clusterer.
    n_noise : int
        Of them, those in no cluster (label -1).
    n_base_clusters : int
        Base clusters.
    n_roots : int
        Clusters with no parent (they may sit at different levels).
    largest_root_share : float
        The largest root's conversations over all conversations (noise
        included in the denominator).
    n_single_child : int
        Nodes with exactly one child: a chain a reader walks through for
        nothing.
    base_nmi, base_ari, base_harmonic_purity : float or None
        Base clusters against ``fine_labels``; noise counts as one more
        cluster for NMI and ARI, and as a non-matching cluster for the purity.
    root_nmi, root_ari, root_harmonic_purity : float or None
        Each conversation's root against ``coarse_labels``, same conventions.
    base_name_hit_rate, base_medoid_hit_rate : float or None
        Name retrieval of the base clusters' names, and of their medoids
        (the baseline), against ``fine_labels``, weighted by cluster size.
    root_name_hit_rate, root_medoid_hit_rate : float or None
        The same for the roots against ``coarse_labels``.
    base_name_accuracy, base_medoid_accuracy : float or None
        Share of clustered conversations whose own fine label is the one
        nearest their cluster's name (or medoid). Unlike the hit rate, a
        large mixed cluster named after its plurality label earns only the
        members that carry that label.
    root_name_accuracy, root_medoid_accuracy : float or None
        The same for the roots against ``coarse_labels``.
    base_coherence, base_diversity : float or None
        :func:`topic_coherence` and :func:`topic_diversity` of the base
        clusters' keywords; label-free.
    root_coherence, root_diversity : float or None
        The same for the roots' keywords.
    """

    n_conversations: int
    n_noise: int
    n_base_clusters: int
    n_roots: int
    largest_root_share: float
    n_single_child: int
    base_nmi: float | None = None
    base_ari: float | None = None
    base_harmonic_purity: float | None = None
    root_nmi: float | None = None
    root_ari: float | None = None
    root_harmonic_purity: float | None = None
    base_name_hit_rate: float | None = None
    base_medoid_hit_rate: float | None = None
    root_name_hit_rate: float | None = None
    root_medoid_hit_rate: float | None = None
    base_name_accuracy: float | None = None
    base_medoid_accuracy: float | None = None
    root_name_accuracy: float | None = None
    root_medoid_accuracy: float | None = None
    base_coherence: float | None = None
    base_diversity: float | None = None
    root_coherence: float | None = None
    root_diversity: float | None = None

    def as_dict(self):
        """The fields as a plain dict, in declaration order."""
        return asdict(self)


def _check_labels(name, labels, n_samples):
    if labels is None:
        return None
    if isinstance(labels, str):
        raise ValueError(f"{name} must be an array of labels, got a string.")
    labels = column_or_1d(labels)
    if len(labels) != n_samples:
        raise ValueError(
            f"{name} has {len(labels)} labels, but the clusterer was fitted on "
            f"{n_samples} conversations; give one label per conversation, in the "
            "training order (chat_ids_)."
        )
    return labels


def _label_scores(labels_true, assignment):
    return (
        float(normalized_mutual_info_score(labels_true, assignment)),
        float(adjusted_rand_score(labels_true, assignment)),
        harmonic_purity(labels_true, assignment),
    )


def _medoids(members, points):
    """Position of the member nearest (cosine) its group's mean, for each group."""
    out = []
    for rows in members:
        centroid = points[rows].mean(axis=0)
        out.append(int(rows[np.argmax(points[rows] @ centroid)]))
    return out


def _retrieval(name_vectors, members, labels_true, label_names, embed):
    """Hit rate and accuracy of names: the label nearest each group's name.

    The hit rate is the size-weighted share of groups whose nearest label is
    their majority label; the accuracy, the share of members whose own label
    is nearest their group's name.
    """
    classes = np.unique(labels_true)
    label_vectors = _unit_rows(embed([label_names(c) for c in classes]))
    nearest = classes[np.argmax(_unit_rows(name_vectors) @ label_vectors.T, axis=1)]
    hits = correct = sizes = 0
    for rows, guess in zip(members, nearest):
        counts = Counter(labels_true[rows].tolist())
        hits += len(rows) * (guess == counts.most_common(1)[0][0])
        correct += counts.get(guess, 0)
        sizes += len(rows)
    return float(hits / sizes), float(correct / sizes)


def _keyword_scores(clusters, embed):
    keywords = [list(c.keywords) for c in clusters if c.keywords and not c.hidden]
    if not keywords:
        return None, None
    coherence = topic_coherence(keywords, embed)
    return (None if np.isnan(coherence) else coherence), topic_diversity(keywords)


def score_tree(
    estimator, *, fine_labels=None, coarse_labels=None, label_names=None, embed=None
):
    """Score a fitted cluster tree against labels that never reached it.

    Parameters
    ----------
    estimator : ConversationClusterer or Pipeline
        Fitted; a Pipeline is scored by its last step.
    fine_labels : array-like of shape (n_samples,), default=None
        A label per training conversation, in the training order
        (``chat_ids_``), for the base clusters (e.g. intents).
    coarse_labels : array-like of shape (n_samples,), default=None
        The same for the roots (e.g. domains).
    label_names : dict, default=None
        Text to embed for some labels; other labels use
        :func:`readable_label` (``"card_arrival"`` -> ``"card arrival"``).
    embed : callable, default=None
        ``embed(list of str) -> array (n_texts, n_features)`` for the names,
        the labels, the keywords and the summaries (when the clusterer kept
        no ``embeddings_``). ``None`` uses the fitted clusterer's
        ``embedder_.transform``, so through its item cache.

    Returns
    -------
    report : InsightReport
        Scores in [0, 1]; ``report.as_dict()`` gives a dict.

    See Also
    --------
    harmonic_purity : The purity used at both levels.
    topic_coherence, topic_diversity : The label-free keyword measures.

    Notes
    -----
    **Roots** are the clusters without a parent, found through ``parent_id``
    (a tree may be uneven: roots can sit at different levels); each
    conversation is scored by the root above its base cluster.

    **Name retrieval** embeds every cluster's name (as shown: a name withheld
    below ``min_cluster_size`` counts as it reads) and the readable name of
    every label present, with the same ``embed``. A cluster *hits* when the
    label name nearest its name (cosine) is the label most of its members
    carry (ties: the first label met); the rate is the share of clustered
    conversations whose cluster hits. The **medoid baseline** does the same
    with, as the name, the member summary nearest (cosine) the mean of the
    cluster's summary embeddings. Weighted by size, one large cluster can
    decide the hit rate alone (a root holding most conversations, named
    after its plurality label, hits for all of them); the ``*_accuracy``
    fields count only the members whose own label the name retrieves.

    **Noise** (label -1) conversations belong to no cluster: NMI and ARI
    treat them as one more cluster, :func:`harmonic_purity` as a cluster
    matching no class, ``largest_root_share`` counts them in its
    denominator, and name retrieval leaves them out.

    **Label-free**: :func:`topic_coherence` and :func:`topic_diversity` of
    the keywords (``Cluster.keywords``) of the base clusters and of the
    roots; names are a single phrase, too short for pairwise coherence.

    Examples
    --------
    >>> from kura_sklearn import ConversationClusterer, KMeansClusterer
    >>> from kura_sklearn.metrics import score_tree
    >>> summaries = ["reset my password", "forgot my login password",
    ...              "bake sourdough bread", "bread that will not rise",
    ...              "translate hello to japanese", "japanese word for thanks"]
    >>> topics = ["password_reset"] * 2 + ["baking"] * 2 + ["translation"] * 2
    >>> model = ConversationClusterer(clusterer=KMeansClusterer(n_clusters=3),
    ...                               max_clusters=2, random_state=0)
    >>> report = score_tree(model.fit(summaries), fine_labels=topics)
    >>> report.base_nmi, report.base_harmonic_purity
    (1.0, 1.0)
    >>> report.base_name_hit_rate >= 0, report.root_nmi is None
    (True, True)
    """
    model = _final_estimator(estimator)
    check_is_fitted(model, "tree_")
    if embed is None:
        embed = model.embedder_.transform
    names_of = dict(label_names or {})

    def label_text(label):
        return str(names_of[label]) if label in names_of else readable_label(label)

    labels = np.asarray(model.labels_, dtype=np.intp)
    n = len(labels)
    fine = _check_labels("fine_labels", fine_labels, n)
    coarse = _check_labels("coarse_labels", coarse_labels, n)
    tree = model.tree_
    clusters = tree.clusters
    roots = [clusters[r] for r in tree.roots]
    base = [c for c in clusters if c.level == 0]
    conv_root = tree.root_of(labels)
    report = {
        "n_conversations": n,
        "n_noise": int(np.sum(labels < 0)),
        "n_base_clusters": len(base),
        "n_roots": len(roots),
        "largest_root_share": max(c.count for c in roots) / n,
        "n_single_child": sum(len(c.children) == 1 for c in clusters),
    }
    points = None
    for level, nodes, assignment, truth in [
        ("base", base, labels, fine),
        ("root", roots, conv_root, coarse),
    ]:
        coherence, diversity = _keyword_scores(nodes, embed)
        report[f"{level}_coherence"] = coherence
        report[f"{level}_diversity"] = diversity
        if truth is None:
            continue
        nmi, ari, purity = _label_scores(truth, assignment)
        report[f"{level}_nmi"], report[f"{level}_ari"] = nmi, ari
        report[f"{level}_harmonic_purity"] = purity
        ids = np.array([c.id for c in nodes], dtype=np.intp)
        members = group_indices(assignment, ids)
        if points is None:
            points = getattr(model, "embeddings_", None)
            if points is None:
                points = embed(list(model.summaries_))
            points = _unit_rows(points)
        medoid_names = [model.summaries_[i] for i in _medoids(members, points)]
        for kind, names in [
            ("name", [c.name for c in nodes]),
            ("medoid", medoid_names),
        ]:
            rate, accuracy = _retrieval(embed(names), members, truth, label_text, embed)
            report[f"{level}_{kind}_hit_rate"] = rate
            report[f"{level}_{kind}_accuracy"] = accuracy
    return InsightReport(**report)
