"""Cluster naming: c-TF-IDF keywords offline, bounded LLM prompts online."""

import numpy as np
import pytest
from _loopback import on_server

from kura_sklearn.naming import (
    ClusterName,
    KeywordNamer,
    LLMNamer,
    class_tfidf_keywords,
    slugify,
)
from kura_sklearn.naming._base import sample_examples

TEXTS = [
    "reset my online banking password",
    "password reset email never arrived",
    "forgot password for the app",
    "sourdough bread recipe for beginners",
    "why does my bread not rise",
    "bread flour versus plain flour",
]
LABELS = np.array([0, 0, 0, 1, 1, 1])
EMB = np.array([[1, 0], [0.9, 0.1], [0.95, 0.05], [0, 1], [0.1, 0.9], [0.05, 0.95]])


def test_class_tfidf_picks_terms_distinctive_of_each_cluster():
    keywords = class_tfidf_keywords(TEXTS, LABELS, n_keywords=2)
    assert keywords[0][0] == "password" and keywords[1][0] == "bread"
    # a term common to both clusters ranks below distinctive ones
    shared = ["apple thing", "apple pie", "apple tree", "apple juice"]
    kw = class_tfidf_keywords(shared, [0, 0, 1, 1], n_keywords=1)
    assert kw[0] != ["apple"] and kw[1] != ["apple"]


def test_class_tfidf_ignores_noise_and_survives_empty_text():
    kw = class_tfidf_keywords(["the and", "of to", "banking help"], [0, 0, -1])
    assert kw == {0: []}


def test_keyword_namer_names_and_quotes_central_text():
    names, n_calls = KeywordNamer(n_keywords=2).name_clusters(TEXTS, LABELS, EMB)
    assert n_calls == 0
    assert names[0].name.startswith("Password") and "bread" in names[1].name.lower()
    assert "3 conversations" in names[0].description
    assert '"reset my online banking password"' in names[0].description


def test_keyword_merge_round_is_deterministic_and_bounded():
    children = [ClusterName(f"c{i}", "d") for i in range(6)]
    # centroids of unit embeddings: three directions, two children each
    vectors = np.array(
        [[1, 0, 0], [0.95, 0.1, 0], [0, 1, 0], [0.1, 0.95, 0], [0, 0, 1], [0, 0.1, 0.9]]
    )
    texts = [
        ["pin card"],
        ["card pin"],
        ["bread"],
        ["flour bread"],
        ["tax"],
        ["tax form"],
    ]
    a1, parents, calls = KeywordNamer().merge_round(children, vectors, texts, 3)
    a2, _, _ = KeywordNamer().merge_round(children, vectors, texts, 3)
    assert a1 == a2 and len(parents) == 3 and calls == 0
    assert a1[0] == a1[1] and a1[2] == a1[3] and a1[4] == a1[5]


def test_slugify_is_ascii_and_stable():
    assert slugify("Crème brûlée: how?!") == "creme-brulee-how"
    assert slugify("???") == "cluster"


def test_examples_are_bounded_and_include_the_most_central():
    # However large the cluster, at most max_examples texts reach the prompt,
    # and the one nearest the centroid is always among them.
    rng = np.random.RandomState(0)
    emb = rng.normal(size=(5000, 8))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    centroid = emb[123] / np.linalg.norm(emb[123])
    chosen = sample_examples(
        np.arange(5000), emb, centroid, 10, np.random.RandomState(1)
    )
    assert len(chosen) == 10 and len(set(chosen)) == 10
    assert 123 in chosen


def llm_namer(server, **params):
    params.setdefault("max_retries", 1)
    return LLMNamer("test-model", **on_server(server, **params))


def test_llm_namer_one_call_per_cluster_with_short_names(fake_llm):
    names, n_calls = llm_namer(fake_llm).name_clusters(
        TEXTS, LABELS, EMB, random_state=0
    )
    assert n_calls == 2 == fake_llm.stats()["chat_completions"]
    for name in names.values():
        assert 0 < len(name.name.split()) <= 10 and name.description


def test_llm_naming_prompt_size_does_not_grow_with_the_cluster(fake_llm):
    # A 20-member and a 2,000-member cluster give prompts of similar size
    # (contrast counts texts outside the cluster: both sides are capped).
    def prompt_bytes(n):
        fake_llm.reset()
        texts = [f"question number {i} about mortgage rates" for i in range(n)]
        texts += ["bread recipe"] * 5
        labels = np.array([0] * n + [1] * 5)
        emb = np.vstack([np.tile([1.0, 0.0], (n, 1)), np.tile([0.0, 1.0], (5, 1))])
        emb[:n, 1] = np.linspace(0, 0.1, n)
        llm_namer(fake_llm, max_examples=8, max_contrastive_examples=8).name_clusters(
            texts, labels, emb, random_state=0
        )
        return fake_llm.stats()["prompt_chars"]

    small, large = prompt_bytes(20), prompt_bytes(2000)
    assert large < small * 1.2


def test_llm_naming_falls_back_to_keywords_on_permanent_failure(fake_llm):
    # the marker is in a text of cluster 1 that is not cluster 0's one
    # contrastive example (its nearest non-member): only cluster 1's prompt fails
    fake_llm.configure(permanent_fault_marker="bread flour versus")
    names, _ = llm_namer(
        fake_llm, max_retries=0, max_contrastive_examples=1
    ).name_clusters(TEXTS, LABELS, EMB)
    assert "bread" in names[1].name.lower()  # the keyword name
    assert names[0].name.startswith("Name:")  # the LLM's (fake) name


def test_llm_merge_round_assigns_every_child_to_one_proposed_parent(fake_llm):
    children = [
        ClusterName(f"Child {w}", f"About {w}.")
        for w in "alpha bravo charlie delta echo foxtrot golf hotel".split()
    ]
    rng = np.random.RandomState(0)
    vectors = rng.normal(size=(8, 4))
    namer = llm_namer(fake_llm, neighbourhood_size=4)
    assignment, parents, n_calls = namer.merge_round(
        children, vectors, [["x"]] * 8, 4, random_state=0
    )
    assert len(assignment) == 8 and all(0 <= a < len(parents) for a in assignment)
    assert set(assignment) == set(range(len(parents)))  # no empty parent
    # at most propose, assign, rename per neighbourhood, and one
    # deduplication for the level
    assert 0 < n_calls <= 3 * 2 + 1
    assert n_calls == fake_llm.stats()["chat_completions"]


def test_llm_merge_asks_no_question_with_one_possible_answer(fake_llm):
    # Issue 12, item 10, with issue 13's procedure: here K-means puts 7
    # children in one neighbourhood and 1 alone. The lone child proposes
    # nothing (it is still assigned, and may join a parent proposed next
    # door); one neighbourhood proposed, so there is nothing to deduplicate;
    # every assignment offers at least one name and "None of these".
    children = [
        ClusterName(f"Child {w}", f"About {w}.")
        for w in "alpha bravo charlie delta echo foxtrot golf hotel".split()
    ]
    vectors = np.random.RandomState(0).normal(size=(8, 4))
    namer = llm_namer(fake_llm, neighbourhood_size=4)
    fake_llm.configure(record_requests=True)
    assignment, parents, n_calls = namer.merge_round(
        children, vectors, [["x"]] * 8, 4, random_state=0
    )
    by_schema = fake_llm.stats()["by_schema"]
    assert by_schema["ProposedParents"] == 1 and "DeduplicatedParents" not in by_schema
    assert by_schema["ParentAssignment"] == 2
    for record in fake_llm.requests():
        if record["schema_name"] == "ParentAssignment":
            schema = record["request"]["response_format"]["json_schema"]["schema"]
            assert len(schema["$defs"]["Category"]["enum"]) >= 2
    assert n_calls == sum(by_schema.values())
    assert len(assignment) == 8 and all(0 <= a < len(parents) for a in assignment)


@pytest.mark.parametrize(
    "prompts, match",
    [
        ({"nope": "x"}, "Unknown prompt keys"),
        ({"name_cluster": "no placeholders"}, r"\{examples\}"),
    ],
)
def test_llm_namer_validates_prompts(prompts, match):
    with pytest.raises(ValueError, match=match):
        LLMNamer("m", prompts=prompts).name_clusters(TEXTS, LABELS, EMB)


# ---------------------------------------------------------------------------
# Grouped helpers: one pass over the items, whatever the number of clusters


def test_group_indices_and_centroids_match_per_cluster_scans():
    from kura_sklearn.naming._base import centroids, group_indices

    rng = np.random.RandomState(0)
    labels = rng.randint(-1, 50, size=2000)
    emb = rng.normal(size=(2000, 6)).astype(np.float32)
    ids = [int(c) for c in np.unique(labels) if c != -1]
    for members, c in zip(group_indices(labels, ids), ids):
        np.testing.assert_array_equal(members, np.flatnonzero(labels == c))
    expected = np.vstack([emb[labels == c].mean(axis=0) for c in ids])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(centroids(emb, labels, ids), expected, atol=1e-6)


def test_all_nearest_clusters_exact_and_grouped(monkeypatch):
    # Exact up to the threshold (the same as nearest_clusters row by row);
    # above it, neighbours are searched within groups: valid, near, never self.
    from kura_sklearn.naming import _base

    rng = np.random.RandomState(0)
    cents = rng.normal(size=(300, 8))
    cents /= np.linalg.norm(cents, axis=1, keepdims=True)
    exact = _base.all_nearest_clusters(cents, 5)
    assert exact == [_base.nearest_clusters(cents, i, 5) for i in range(300)]
    monkeypatch.setattr(_base, "_EXACT_NEIGHBOURS_MAX", 100)
    grouped = _base.all_nearest_clusters(cents, 5, random_state=0)
    assert all(
        i not in found and 0 < len(found) <= 5 for i, found in enumerate(grouped)
    )
    best = [cents[i] @ cents[found[0]] for i, found in enumerate(grouped)]
    true_best = [cents[i] @ cents[row[0]] for i, row in enumerate(exact)]
    assert np.mean(best) > 0.8 * np.mean(true_best)


def test_keyword_merge_round_groups_many_children_by_topic():
    # Children are grouped by size-weighted K-means: parents are numbered
    # 0..m-1, bounded, every one named, and children of one topic together.
    rng = np.random.RandomState(0)
    n = 120
    centres = rng.normal(size=(6, 4)) * 10
    vectors = np.vstack([centres[i % 6] + rng.normal(size=4) for i in range(n)])
    topics = ["pin card", "bread flour", "tax form", "cat food", "git merge", "rent"]
    member_texts = [
        [f"{topics[i % 6]} {j}" for j in range(1 + i % 3)] for i in range(n)
    ]
    children = [ClusterName(f"c{i}", "d") for i in range(n)]
    namer = KeywordNamer()
    assignment, parents, calls = namer.merge_round(children, vectors, member_texts, 6)
    assert calls == 0 and 0 < len(parents) <= 6
    assert sorted(set(assignment)) == list(range(len(parents)))
    assert namer.merge_round(children, vectors, member_texts, 6)[0] == assignment
    same_topic = [assignment[i] for i in range(0, n, 6)]
    assert len(set(same_topic)) == 1
    assert any("pin" in p.name.lower() or "card" in p.name.lower() for p in parents)


def test_class_tfidf_bigrams_do_not_span_two_texts():
    # Each text is tokenised on its own: no bigram joins one text's last word
    # to the next text's first.
    kw = class_tfidf_keywords(
        ["alpha beta", "gamma delta"], [0, 0], n_keywords=10, stop_words=None
    )
    assert "beta gamma" not in kw[0]


def test_member_texts_view_gives_the_same_merge_with_one_tokenisation(monkeypatch):
    # build_hierarchy hands namers a MemberTexts view: the same merge as with
    # lists of texts, and the term matrix is built once for every level.
    from kura_sklearn.naming import _keywords
    from kura_sklearn.naming._base import MemberTexts

    texts = [
        f"{topic} question {i}"
        for i in range(10)
        for topic in ("pin card", "bread", "tax", "cat")
    ]
    members = [np.arange(i, 40, 8) for i in range(8)]
    vectors = np.vstack([np.eye(4)[i % 4] + 0.01 * i for i in range(8)])
    children = [ClusterName(f"c{i}", "d") for i in range(8)]
    as_lists = [[texts[j] for j in m] for m in members]
    calls = []
    original = _keywords.term_matrix
    monkeypatch.setattr(
        _keywords, "term_matrix", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    view = MemberTexts(texts, members, cache={})
    assert len(view) == 8 and view[3] == as_lists[3]
    expected = KeywordNamer().merge_round(children, vectors, as_lists, 4)
    assert len(calls) == 1
    first = KeywordNamer().merge_round(children, vectors, view, 4)
    second = KeywordNamer().merge_round(children, vectors, view, 2)
    assert len(calls) == 2  # the view's cache served the second round
    assert first[0] == expected[0]
    assert [p.name for p in first[1]] == [p.name for p in expected[1]]
    assert [p.description for p in first[1]] == [p.description for p in expected[1]]
    assert len(second[1]) == 2


def _bag_of_words(texts, dim=64):
    """A tiny deterministic embedder: hashed word counts, L2-normalised."""
    import zlib

    out = np.zeros((len(texts), dim))
    for row, text in enumerate(texts):
        for word in text.lower().split():
            out[row, zlib.crc32(word.encode()) % dim] += 1
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1, norms)


GREETINGS = ["hello are you there", "hello anyone there", "hello there", "hi there"]
TIMERS = [
    "set a timer for ten minutes",
    "please set a timer for the pasta",
    "can you set a timer",
    "set a timer for my tea",
]


def test_keyphrase_namer_names_with_the_members_own_phrase():
    # The name is a phrase the members use, not a keyword list; keywords
    # and typical requests are kept apart.
    from kura_sklearn.naming import KeyphraseNamer

    texts = TIMERS + GREETINGS
    labels = np.repeat([0, 1], 4)
    names, calls = KeyphraseNamer().name_clusters(
        texts, labels, _bag_of_words(texts), embed=_bag_of_words
    )
    assert calls == 0
    assert names[0].name.lower() in {"set a timer", "timer", "can you set a timer"}
    assert "timer" in names[0].keywords
    assert names[0].description.startswith("4 conversations.")
    assert '"set a timer for ten minutes"' in names[0].description or (
        "Typical requests" in names[0].description
    )


def test_keyphrase_namer_is_robust_to_one_odd_member():
    # A huge off-topic message in a greetings cluster does not name it.
    from kura_sklearn.naming import KeyphraseNamer

    lorem = "lorem ipsum dolor sit amet " * 20000  # 540 kB
    texts = [*GREETINGS, "hello there friend", lorem]
    emb = _bag_of_words(texts)
    names, _ = KeyphraseNamer().name_clusters(
        texts, np.zeros(6, int), emb, embed=_bag_of_words
    )
    assert "lorem" not in names[0].name.lower() and "ipsum" not in names[0].name.lower()
    assert "there" in names[0].name.lower() or "hello" in names[0].name.lower()


def test_keyphrase_parents_are_named_by_what_their_children_share():
    # Two children about train tickets and one about bread, grouped 0, 0, 1:
    # the first parent's name is a phrase both its children use.
    from kura_sklearn.naming import KeyphraseNamer

    members = [
        ["book a train ticket to paris", "train ticket to rome please"],
        ["cancel my train ticket", "refund a train ticket"],
        ["bake bread at home", "my bread will not rise"],
    ]
    vectors = np.vstack([_bag_of_words([" ".join(m)])[0] for m in members])
    children = [ClusterName(f"c{i}", "d") for i in range(3)]
    parents = KeyphraseNamer().name_groups(
        children, [0, 0, 1], members, vectors, embed=_bag_of_words
    )
    assert len(parents) == 2
    assert "train" in parents[0].name.lower() or "ticket" in parents[0].name.lower()
    assert parents[0].description.startswith("4 conversations in 2 groups")


def test_keyphrase_names_are_requests_not_later_details():
    # Summaries say the request first: the name comes from the requests,
    # not from the sentences after them.
    from kura_sklearn.naming import KeyphraseNamer

    texts = [
        "book a one way flight from boston to denver. I want a window seat.",
        "book a one way flight from lax to washington. Morning please.",
        "book a one way flight from austin to seattle. Two bags.",
        "book a one way flight from miami to chicago. Cheapest one.",
    ]
    names, _ = KeyphraseNamer().name_clusters(
        texts, np.zeros(4, int), _bag_of_words(texts), embed=_bag_of_words
    )
    name = names[0].name.lower()
    assert "one way flight" in name
    assert not {"window", "seat", "morning", "bags", "cheapest"} & set(name.split())


def test_keyphrase_parent_phrase_must_point_to_its_parent():
    # "ticket" is in every member of the first parent's two children, but
    # the sibling parent is all about tickets: a phrase nearer a sibling's
    # centre than its own does not name a parent.
    from kura_sklearn.naming import KeyphraseNamer

    members = [
        ["ticket ticket - bread fair", "ticket ticket - bread stall"],
        ["ticket ticket - sourdough bread", "ticket ticket - bread class"],
        ["ticket ticket refund", "ticket ticket change", "lost ticket ticket"],
    ]
    vectors = np.vstack([_bag_of_words([" ".join(m)])[0] for m in members])
    children = [ClusterName(f"c{i}", "d") for i in range(3)]
    parents = KeyphraseNamer().name_groups(
        children, [0, 0, 1], members, vectors, embed=_bag_of_words
    )
    assert parents[0].name.lower() == "bread"
    assert "ticket" in parents[1].name.lower()
