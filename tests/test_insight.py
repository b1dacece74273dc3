"""score_tree, harmonic_purity and the label-free topic measures."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline

from kura_sklearn import ConversationClusterer, KMeansClusterer
from kura_sklearn.hierarchy import Cluster, ClusterTree
from kura_sklearn.metrics import (
    InsightReport,
    harmonic_purity,
    readable_label,
    score_tree,
    topic_coherence,
    topic_diversity,
)


def brute_force_harmonic_purity(labels_true, labels_pred):
    """The definition, written out loop by loop: each class's best F1, size-weighted."""
    labels_true, labels_pred = list(labels_true), list(labels_pred)
    n = len(labels_true)
    total = 0.0
    for c in set(labels_true):
        in_class = [t == c for t in labels_true]
        best = 0.0
        for k in set(labels_pred) - {-1}:
            in_cluster = [p == k for p in labels_pred]
            shared = sum(a and b for a, b in zip(in_class, in_cluster))
            if shared:
                precision = shared / sum(in_cluster)
                recall = shared / sum(in_class)
                best = max(best, 2 * precision * recall / (precision + recall))
        total += sum(in_class) * best
    return total / n


@pytest.mark.parametrize(
    "labels_true, labels_pred",
    [
        ([0, 0, 1, 1], [1, 1, 0, 0]),  # the ids of the clusters do not matter
        (["a", "a", "b"], [7, 7, 3]),
        ([3, 3, 3], [0, 0, 0]),
    ],
)
def test_harmonic_purity_of_a_perfect_clustering_is_one(labels_true, labels_pred):
    assert harmonic_purity(labels_true, labels_pred) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "labels_true, labels_pred, expected",
    [
        # class 1 split 2 + 1: its best F1 is 2 * 2 / (3 + 2) = 0.8
        ([0, 0, 1, 1, 1], [0, 0, 1, 1, 2], (2 * 1.0 + 3 * 0.8) / 5),
        # everything merged: each class's F1 is 2 * 2 / (2 + 4)
        ([0, 0, 1, 1], [5, 5, 5, 5], 2 / 3),
        # noise never matches: class 0's best is cluster 0, F1 = 2 / (3 + 1)
        ([0, 0, 0, 1], [-1, -1, 0, 1], (3 * 0.5 + 1 * 1.0) / 4),
    ],
)
def test_harmonic_purity_matches_a_hand_computation(labels_true, labels_pred, expected):
    assert harmonic_purity(labels_true, labels_pred) == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(5))
def test_harmonic_purity_matches_the_definition_on_random_labels(seed):
    rng = np.random.default_rng(seed)
    labels_true = rng.integers(6, size=60)
    labels_pred = rng.integers(-1, 8, size=60)  # with some noise
    assert_allclose(
        harmonic_purity(labels_true, labels_pred),
        brute_force_harmonic_purity(labels_true, labels_pred),
    )


def test_noise_counts_against_harmonic_purity_but_not_as_a_cluster():
    # as a cluster of its own, -1 would be class 0's best match (F1 0.8 > 0.5)
    as_noise = harmonic_purity([0, 0, 0, 1], [-1, -1, 0, 1])
    as_cluster = harmonic_purity([0, 0, 0, 1], [2, 2, 0, 1])
    assert as_noise < as_cluster


@pytest.mark.parametrize(
    "labels_true, labels_pred, message",
    [
        ([0, 1, 1], [0, 1], "inconsistent numbers of samples"),
        ([], [], "at least one sample"),
        ([[0, 1], [1, 0]], [[0, 1], [1, 0]], "1d array"),
    ],
)
def test_harmonic_purity_validates_its_input(labels_true, labels_pred, message):
    with pytest.raises(ValueError, match=message):
        harmonic_purity(labels_true, labels_pred)


@pytest.mark.parametrize(
    "label, text",
    [
        ("card_arrival", "card arrival"),
        ("ReserveRestaurant", "reserve restaurant"),
        ("RentalCars", "rental cars"),
        ("Restaurants_2", "restaurants 2"),
        ("top-up__failed", "top up failed"),
        ("getHTTPResponse", "get http response"),
        ("already readable", "already readable"),
        (12, "12"),
    ],
)
def test_readable_label_splits_underscores_and_camel_case(label, text):
    assert readable_label(label) == text


def test_topic_diversity_is_the_share_of_distinct_keywords():
    assert topic_diversity([["a", "b", "c"], ["d", "e", "f"]]) == 1.0
    assert topic_diversity([["a", "b"], ["a", "b"]]) == 0.5
    assert math.isnan(topic_diversity([[], []]))


VECTORS = {
    "bread": [1.0, 0.0, 0.0],
    "flour": [2.0, 0.0, 0.0],  # same direction as bread, other length
    "yeast": [1.0, 1.0, 0.0],
    "tax": [0.0, 0.0, 1.0],
}


def lookup(words):
    return np.array([VECTORS[w] for w in words])


def test_topic_coherence_is_the_mean_pairwise_cosine_averaged_over_topics():
    # topic 1 pairs: bread-flour 1, bread-yeast and flour-yeast 1/sqrt(2)
    first = (1 + 2 / math.sqrt(2)) / 3
    second = 0.0  # bread-tax are orthogonal
    coherence = topic_coherence([["bread", "flour", "yeast"], ["bread", "tax"]], lookup)
    assert coherence == pytest.approx((first + second) / 2)


def test_topic_coherence_skips_topics_without_a_pair():
    assert topic_coherence([["bread", "flour"], ["tax"]], lookup) == pytest.approx(1)
    assert math.isnan(topic_coherence([["tax"], []], lookup))


@pytest.mark.parametrize("func", [topic_diversity, topic_coherence])
def test_topic_measures_reject_strings_instead_of_keyword_lists(func):
    args = (lookup,) if func is topic_coherence else ()
    with pytest.raises(ValueError, match="list"):
        func("bread flour", *args)
    with pytest.raises(ValueError, match="wrap it in a list"):
        func(["bread", "flour"], *args)


# --- a hand-made fitted tree with known answers ---------------------------------

WORDS = ["card", "arrival", "lost", "tax", "file", "services", "office", "hello"]


def bag_of_words(texts):
    """A tiny deterministic embedder: word counts over WORDS."""
    return np.array(
        [[text.split().count(word) for word in WORDS] for text in texts], dtype=float
    )


def cluster(id, name, parent, level, members, children=(), keywords=()):
    return Cluster(
        id=id,
        name=name,
        description="",
        parent_id=parent,
        level=level,
        member_ids=tuple(str(m) for m in members),
        children=children,
        keywords=keywords,
    )


def hand_made_tree():
    """Nine conversations; an uneven tree with a single-child chain and noise.

    Base 0 ("card arrival", 3) and base 1 ("tax", 2, a misleading name) merge
    into 3, whose only parent is root 4 ("tax", level 2). Base 2 ("file tax",
    3) is a root itself at level 0. Conversation 8 is noise.
    """
    model = ConversationClusterer()
    model.summaries_ = [
        "card arrival",
        "card arrival",
        "hello",  # an odd member: not the medoid
        "card lost",
        "card lost",
        "file tax",
        "file tax",
        "file tax",
        "hello",
    ]
    model.chat_ids_ = [str(i) for i in range(9)]
    model.labels_ = np.array([0, 0, 0, 1, 1, 2, 2, 2, -1])
    model.n_clusters_ = 3
    model.tree_ = ClusterTree(
        [
            cluster(0, "card arrival", 3, 0, [0, 1, 2], keywords=("card", "arrival")),
            cluster(1, "tax", 3, 0, [3, 4], keywords=("card", "lost")),
            cluster(2, "file tax", None, 0, [5, 6, 7], keywords=("file", "tax")),
            cluster(3, "card services", 4, 1, [0, 1, 2, 3, 4], children=(0, 1)),
            cluster(4, "tax", None, 2, [0, 1, 2, 3, 4], children=(3,)),
        ]
    )
    fine = ["card_arrival"] * 3 + ["card_lost"] * 2 + ["file_tax"] * 4
    coarse = ["card_services"] * 5 + ["tax_office"] * 4
    return model, fine, coarse


def test_score_tree_on_a_hand_made_tree_gives_the_hand_computed_report():
    model, fine, coarse = hand_made_tree()
    report = score_tree(
        model, fine_labels=fine, coarse_labels=coarse, embed=bag_of_words
    )
    assert isinstance(report, InsightReport)
    assert report.n_conversations == 9 and report.n_noise == 1
    assert report.n_base_clusters == 3
    assert report.n_roots == 2  # 4 at level 2 and 2 at level 0
    assert report.largest_root_share == pytest.approx(5 / 9)  # noise counted
    assert report.n_single_child == 1  # 4 -> 3
    # file_tax: 3 of its 4 in cluster 2, the fourth is noise: F1 = 6 / 7
    assert report.base_harmonic_purity == pytest.approx((3 + 2 + 4 * 6 / 7) / 9)
    assert report.root_harmonic_purity == pytest.approx((5 + 4 * 6 / 7) / 9)
    assert 0 < report.base_nmi < 1 and 0 < report.base_ari < 1
    # names: base 1 ("tax") sits nearest "file tax", not its "card lost"
    assert report.base_name_hit_rate == pytest.approx((3 + 3) / 8)
    # medoids "card arrival", "card lost", "file tax" all hit
    assert report.base_medoid_hit_rate == pytest.approx(1.0)
    # root 4 ("tax", 5 members) sits nearest "tax office"; root 2 hits
    assert report.root_name_hit_rate == pytest.approx(3 / 8)
    assert report.root_medoid_hit_rate == pytest.approx(1.0)
    # every cluster is pure in its majority label here: accuracy = hit rate
    assert report.base_name_accuracy == pytest.approx(report.base_name_hit_rate)
    assert report.root_medoid_accuracy == pytest.approx(1.0)
    # keywords: 5 distinct of 6; one-hot words are orthogonal
    assert report.base_diversity == pytest.approx(5 / 6)
    assert report.base_coherence == pytest.approx(0.0)
    # root 4 has no keywords: only root 2's pair is scored
    assert report.root_coherence == pytest.approx(0.0)
    assert report.root_diversity == pytest.approx(1.0)
    assert set(report.as_dict()) >= {"base_nmi", "root_name_hit_rate"}


def test_name_accuracy_counts_only_members_with_the_retrieved_label():
    # root 4 now mixes 3 card_services with 2 tax_office: its name "tax"
    # misses its majority, but retrieves the label of 2 of its members
    model, fine, _ = hand_made_tree()
    coarse = ["card_services"] * 3 + ["tax_office"] * 6
    report = score_tree(model, coarse_labels=coarse, embed=bag_of_words)
    assert report.root_name_hit_rate == pytest.approx(3 / 8)
    assert report.root_name_accuracy == pytest.approx((2 + 3) / 8)
    # the medoid "card arrival" retrieves card_services: 3 of root 4's members
    assert report.root_medoid_hit_rate == pytest.approx(1.0)
    assert report.root_medoid_accuracy == pytest.approx((3 + 3) / 8)


def test_score_tree_uses_label_names_when_given():
    model, fine, coarse = hand_made_tree()
    # "tax" now names base 1's label: its name hits
    names = {"card_lost": "tax"}
    report = score_tree(model, fine_labels=fine, label_names=names, embed=bag_of_words)
    assert report.base_name_hit_rate == pytest.approx(1.0)
    assert report.root_nmi is None and report.root_name_hit_rate is None


def test_score_tree_without_labels_gives_only_the_label_free_fields():
    model, _, _ = hand_made_tree()
    report = score_tree(model, embed=bag_of_words)
    assert report.base_nmi is None and report.base_name_hit_rate is None
    assert report.n_roots == 2 and report.base_diversity == pytest.approx(5 / 6)


def test_score_tree_rejects_labels_not_aligned_with_the_training_set():
    model, fine, _ = hand_made_tree()
    with pytest.raises(ValueError, match="one label per conversation"):
        score_tree(model, fine_labels=fine[:-1], embed=bag_of_words)


def test_score_tree_reads_a_pipeline_by_its_last_step():
    model, fine, coarse = hand_made_tree()
    pipe = Pipeline([("cluster", model)])
    kwargs = {"fine_labels": fine, "coarse_labels": coarse, "embed": bag_of_words}
    assert score_tree(pipe, **kwargs) == score_tree(model, **kwargs)


# --- a real fit -------------------------------------------------------------------

TOPICS = {
    "password_reset": [
        "reset my banking password",
        "forgot the password to my account",
        "password reset email never came",
        "change my login password",
    ],
    "bake_bread": [
        "bake sourdough bread at home",
        "my bread dough does not rise",
        "which flour for bread",
        "bread crust too hard",
    ],
    "JapaneseTranslation": [
        "translate good morning to japanese",
        "japanese word for thank you",
        "how to say goodbye in japanese",
        "learn japanese hiragana fast",
    ],
    "python_errors": [
        "python list index out of range",
        "python dict comprehension syntax",
        "python TypeError NoneType",
        "python virtualenv setup",
    ],
    "file_taxes": [
        "file my tax return online",
        "tax deduction for home office",
        "late tax return penalty",
        "tax bracket for freelancers",
    ],
}
COARSE = {
    "password_reset": "computers",
    "python_errors": "computers",
    "bake_bread": "daily_life",
    "JapaneseTranslation": "daily_life",
    "file_taxes": "daily_life",
}


@pytest.fixture(scope="module")
def fitted():
    summaries = [text for texts in TOPICS.values() for text in texts] * 2
    fine = [topic for topic, texts in TOPICS.items() for _ in texts] * 2
    model = ConversationClusterer(
        clusterer=KMeansClusterer(n_clusters=5),
        projector=PCA(2),
        max_clusters=2,
        store_embeddings=True,
        random_state=0,
    ).fit(summaries)
    return model, fine, [COARSE[t] for t in fine]


def test_score_tree_of_a_fitted_clusterer_is_in_range(fitted):
    model, fine, coarse = fitted
    report = score_tree(model, fine_labels=fine, coarse_labels=coarse)
    values = report.as_dict()
    for key, value in values.items():
        if key.startswith(("base_", "root_")) and key != "base_coherence":
            assert value is not None and 0 <= value <= 1, key
    assert -1 <= report.base_coherence <= 1
    assert report.base_nmi > 0.8  # the five topics are easy to separate
    assert report.n_conversations == 40 and report.n_base_clusters == 5
    assert 1 <= report.n_roots <= 2
    assert 0 < report.largest_root_share <= 1


def test_score_tree_embeds_the_summaries_when_no_embeddings_are_stored(fitted):
    # the same report whether the points come from embeddings_ or embedder_
    model, fine, coarse = fitted
    stored = score_tree(model, fine_labels=fine, coarse_labels=coarse)
    del model.embeddings_
    try:
        embedded = score_tree(model, fine_labels=fine, coarse_labels=coarse)
    finally:
        model.embeddings_ = model.embedder_.transform(model.summaries_)
    for key, value in stored.as_dict().items():
        assert embedded.as_dict()[key] == pytest.approx(value), key
