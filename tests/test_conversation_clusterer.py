"""ConversationClusterer and make_kura_pipeline: the system as one Pipeline."""

import pickle

import numpy as np
import pytest
from _loopback import on_server
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.decomposition import PCA

from kura_sklearn import (
    ConversationClusterer,
    HDBSCANClusterer,
    KMeansClusterer,
    OpenAIEmbedder,
)
from kura_sklearn.naming import LLMNamer

TOPICS = {
    "password": [
        "reset my banking password",
        "forgot the password to my account",
        "password reset email never came",
        "change my login password",
    ],
    "bread": [
        "bake sourdough bread at home",
        "my bread dough does not rise",
        "which flour for bread",
        "bread crust too hard",
    ],
    "japanese": [
        "translate good morning to japanese",
        "japanese word for thank you",
        "how to say goodbye in japanese",
        "learn japanese hiragana fast",
    ],
    "python": [
        "python list index out of range",
        "python dict comprehension syntax",
        "python TypeError NoneType",
        "python virtualenv setup",
    ],
    "tax": [
        "file my tax return online",
        "tax deduction for home office",
        "late tax return penalty",
        "tax bracket for freelancers",
    ],
}
SUMMARIES = [text for texts in TOPICS.values() for text in texts] * 2
TRUE = np.repeat(np.arange(len(TOPICS)), 4).tolist() * 2


def check_tree(model):
    """Invariants every fitted tree satisfies."""
    clusters = model.clusters_
    assert [c.id for c in clusters] == list(range(len(clusters)))
    base = [c for c in clusters if c.level == 0]
    assert len(base) == model.n_clusters_
    # every non-noise conversation is in exactly one base cluster
    in_base = [m for c in base for m in c.member_ids]
    assert len(in_base) == len(set(in_base)) == int((model.labels_ >= 0).sum())
    for c in clusters:
        assert c.count == len(c.member_ids)
        assert len(c.children) != 1  # no parent of a single child
        if c.children:  # a parent's members are the union of its children's
            union = [m for k in c.children for m in clusters[k].member_ids]
            assert sorted(union) == sorted(c.member_ids)
            assert all(clusters[k].parent_id == c.id for k in c.children)
            assert all(clusters[k].level < c.level for k in c.children)
        if c.parent_id is not None:
            assert c.id in clusters[c.parent_id].children
    roots = [c for c in clusters if c.parent_id is None]
    assert len(roots) <= model.max_clusters
    assert sum(r.count for r in roots) == len(in_base)


def test_offline_fit_names_clusters_and_builds_a_bounded_tree():
    model = ConversationClusterer(
        clusterer=KMeansClusterer(n_clusters=5), max_clusters=2, random_state=0
    )
    labels = model.fit_predict(SUMMARIES)
    assert_array_equal(labels, model.labels_)
    check_tree(model)
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(TRUE, labels) > 0.8
    names = " ".join(c.name.lower() for c in model.clusters_ if c.level == 0)
    for word in ("password", "bread", "japanese", "python", "tax"):
        assert word in names
    assert model.n_llm_calls_["naming"] == 0


def test_fit_clones_parts_and_never_fits_the_objects_passed_in():
    clusterer = KMeansClusterer(n_clusters=5)
    model = ConversationClusterer(
        clusterer=clusterer, projector=PCA(2), random_state=0
    ).fit(SUMMARIES)
    assert not hasattr(clusterer, "labels_")
    assert model.clusterer_ is not clusterer and hasattr(model.clusterer_, "labels_")
    assert model.clusterer_.random_state is not None  # seeded by the meta-estimator


def test_kura_sizing_rule_is_the_default():
    model = ConversationClusterer(projector=PCA(2), random_state=0).fit(SUMMARIES)
    assert model.n_clusters_ == 4  # ceil(40 / 10)


def test_predict_places_new_summaries_in_the_right_cluster():
    model = ConversationClusterer(
        clusterer=KMeansClusterer(n_clusters=5), projector=PCA(2), random_state=0
    ).fit(SUMMARIES)
    new = ["I cannot remember my password", "rye bread recipe"]
    pred = model.predict(new)
    assert pred[0] == model.labels_[0] and pred[1] == model.labels_[4]
    chain = model.ancestors(pred[0])
    assert chain[0] == pred[0] and model.clusters_[chain[-1]].parent_id is None


def test_clusterer_without_predict_uses_the_nearest_centroid():
    from sklearn.cluster import AgglomerativeClustering

    model = ConversationClusterer(
        clusterer=AgglomerativeClustering(n_clusters=5),
        projector=PCA(2),
        random_state=0,
    ).fit(SUMMARIES)
    assert_array_equal(model.predict(SUMMARIES[:8]), model.labels_[:8])


def test_hdbscan_noise_stays_out_of_every_cluster():
    texts = SUMMARIES + ["zebra migration patterns in the serengeti"]
    model = ConversationClusterer(
        clusterer=HDBSCANClusterer(min_cluster_size=3),
        projector=PCA(2),
        max_clusters=3,
        random_state=0,
    ).fit(texts)
    assert model.labels_[-1] == -1
    check_tree(model)
    frame = model.conversation_frame()
    assert frame.iloc[-1]["cluster_id"] == -1
    assert frame.iloc[-1].isna()["cluster_name"]


def test_tidy_frames_and_chat_ids_from_a_summary_frame():
    import pandas as pd

    frame = pd.DataFrame(
        {"summary": SUMMARIES, "languages": [["english"]] * 40},
        index=pd.Index([f"chat-{i}" for i in range(40)], name="chat_id"),
    )
    model = ConversationClusterer(
        clusterer=KMeansClusterer(n_clusters=5),
        max_clusters=2,
        projector=PCA(2),
        random_state=0,
    ).fit(frame)
    tree = model.hierarchy_frame()
    assert len(tree) == len(model.clusters_)
    assert {
        "id",
        "name",
        "description",
        "slug",
        "parent_id",
        "level",
        "count",
        "x",
        "y",
    } <= set(tree.columns)
    per_conv = model.conversation_frame()
    assert list(per_conv.index) == list(frame.index)
    assert {"cluster_id", "cluster_name", "level_1_name", "x", "y"} <= set(
        per_conv.columns
    )
    assert per_conv["level_1_name"].notna().all()
    assert "chat-0" in model.clusters_[model.labels_[0]].member_ids


def test_max_levels_caps_the_depth_and_still_bounds_the_roots():
    model = ConversationClusterer(
        clusterer=KMeansClusterer(n_clusters=10),
        max_clusters=2,
        max_levels=1,
        projector=PCA(2),
        random_state=0,
    ).fit(SUMMARIES)
    assert max(c.level for c in model.clusters_) == 1
    check_tree(model)


def test_reproducible_with_a_seed_and_pickles():
    def fit():
        return ConversationClusterer(max_clusters=2, random_state=7).fit(SUMMARIES)

    a, b = fit(), fit()
    assert_array_equal(a.labels_, b.labels_)
    assert [c.name for c in a.clusters_] == [c.name for c in b.clusters_]
    restored = pickle.loads(pickle.dumps(a))
    assert_array_equal(restored.predict(SUMMARIES), a.predict(SUMMARIES))
    assert clone(a).get_params()["random_state"] == 7


def test_bad_input_is_reported():
    with pytest.raises(ValueError, match="string object received"):
        ConversationClusterer().fit("one summary")
    with pytest.raises(ValueError, match="at least 2"):
        ConversationClusterer().fit(["only one"])


def test_a_failed_fit_leaves_no_fitted_state():
    # issue 12, item 11: fitted attributes were set before the fit failed,
    # so check_is_fitted passed and predict answered -1 for everything
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    model = ConversationClusterer(
        clusterer=HDBSCANClusterer(min_cluster_size=50),  # all noise
        projector=PCA(2),
        random_state=0,
    )
    with pytest.raises(ValueError, match="every summary in noise"):
        model.fit(SUMMARIES)
    assert not [name for name in vars(model) if name.endswith("_")]
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    with pytest.raises(NotFittedError):
        model.predict(SUMMARIES[:2])


@pytest.mark.parametrize(
    "bad, match",
    [
        ("one summary", "string object received"),
        (["only one"], "at least 2"),
        (["a text", 42], "int, not str"),
    ],
)
def test_fit_on_bad_input_leaves_the_estimator_unfitted(bad, match):
    # validation ends before any fitted attribute is set
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    model = ConversationClusterer(projector=PCA(2))
    with pytest.raises(ValueError, match=match):
        model.fit(bad)
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    assert not hasattr(model, "clusters_") and not hasattr(model, "tree_")


def llm_parts(server):
    emb = OpenAIEmbedder(
        model="e", dimensions=64, **on_server(server, max_retries=8, timeout=2.0)
    )
    namer = LLMNamer(
        "m", **on_server(server, max_retries=2, timeout=2.0, max_concurrency=20)
    )
    return emb, namer


@pytest.mark.parametrize("fault_rate", [0.0, 0.3])
def test_llm_hierarchy_terminates_with_faults_and_counts_calls(fake_llm, fault_rate):
    # Done-when: against the server with injected faults, the hierarchy still
    # terminates within max_levels and every child has exactly one parent.
    fake_llm.configure(fault_rate=fault_rate, seed=11, timeout_seconds=3.0)
    rng = np.random.RandomState(0)
    words = (
        "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo "
        "lima mike november oscar papa"
    ).split()
    texts = [" ".join(rng.choice(words, 4)) for _ in range(300)]
    emb, namer = llm_parts(fake_llm)
    model = ConversationClusterer(
        emb,
        KMeansClusterer(n_clusters=40),
        namer=namer,
        projector=PCA(2),
        max_clusters=5,
        max_levels=4,
        random_state=0,
    ).fit(texts)
    check_tree(model)
    assert max(c.level for c in model.clusters_) <= 4
    calls = model.n_llm_calls_
    assert calls["naming"] == 40
    # 40 clusters, one neighbourhood of ~40: at most propose, assign and
    # rename, far fewer than Kura's one call per child per round
    assert calls["level_1"] <= 3 * 1 + 1
    if fault_rate:
        assert sum(fake_llm.stats()["faults"].values()) > 0


def test_small_clusters_are_hidden_and_concerning_scores_averaged():
    # Clio's privacy threshold: clusters under min_cluster_size show no text
    # from their members; the concerning facet is averaged per cluster.
    import pandas as pd

    scores = [5 if t.startswith("python") else 1 for t in SUMMARIES]
    frame = pd.DataFrame(
        {"summary": SUMMARIES, "concerning_score": scores},
        index=pd.Index([f"c{i}" for i in range(40)], name="chat_id"),
    )
    model = ConversationClusterer(
        clusterer=KMeansClusterer(n_clusters=5),
        projector=PCA(2),
        max_clusters=2,
        min_cluster_size=9,
        random_state=0,
    ).fit(frame)
    base = [c for c in model.clusters_ if c.level == 0]
    assert all(c.hidden == (c.count < 9) for c in model.clusters_)
    for c in model.clusters_:
        if c.hidden:
            assert c.name.startswith("Small cluster") and not c.keywords
    # the mean score is computed by the table, from the facets kept at fit
    scores = model.hierarchy_frame()["mean_concerning_score"]
    assert scores[model.labels_[12]] == 5.0
    assert min(scores[c.id] for c in base) == 1.0


def _conversation_frame_row_by_row(model):
    """The per-row reference: each conversation's chain walked on its own."""
    import pandas as pd

    top = max(c.level for c in model.clusters_)
    rows = []
    for i, label in enumerate(model.labels_):
        row = {"summary": model.summaries_[i]}
        row.update({name: values[i] for name, values in model.facets_.items()})
        row["cluster_id"] = int(label)
        row["cluster_name"] = model.clusters_[label].name if label >= 0 else None
        chain = model.ancestors(label)[1:] if label >= 0 else []
        for level in range(1, top + 1):
            match = [c for c in chain if model.clusters_[c].level == level]
            row[f"level_{level}_id"] = match[0] if match else None
            row[f"level_{level}_name"] = (
                model.clusters_[match[0]].name if match else None
            )
        row["x"], row["y"] = model.map_[i]
        rows.append(row)
    frame = pd.DataFrame(rows, index=pd.Index(model.chat_ids_, name="chat_id"))
    for level in range(1, top + 1):
        frame[f"level_{level}_id"] = frame[f"level_{level}_id"].astype("Int64")
    return frame


def test_vectorised_frames_and_labels_match_the_row_by_row_definitions():
    # conversation_frame, predict's relabelling and the base clusters' members
    # are computed with whole-array operations; they must equal the plain
    # per-row definitions, noise included.
    import pandas as pd

    texts = SUMMARIES + ["zebra migration patterns in the serengeti"]
    frame = pd.DataFrame(
        {"summary": texts, "concerning_score": [1 + i % 5 for i in range(len(texts))]},
        index=pd.Index([f"c{i}" for i in range(len(texts))], name="chat_id"),
    )
    model = ConversationClusterer(
        clusterer=HDBSCANClusterer(min_cluster_size=3),
        projector=PCA(2),
        max_clusters=2,
        random_state=0,
    ).fit(frame)
    assert model.labels_[-1] == -1
    pd.testing.assert_frame_equal(
        model.conversation_frame(), _conversation_frame_row_by_row(model)
    )
    for c in model.clusters_:
        if c.level == 0:
            expected = np.flatnonzero(model.labels_ == c.id)
            assert list(c.member_ids) == [model.chat_ids_[i] for i in expected]
    raw = model.clusterer_.labels_
    expected = [model.label_map_.get(int(c), -1) for c in raw]
    from kura_sklearn.pipeline._labels import _relabel

    assert_array_equal(_relabel(raw, model.label_map_), expected)
    assert_array_equal(model.labels_, expected)


def test_levels_are_planned_with_an_even_fanout():
    # 640 base clusters, max_clusters=10, max_levels=3: two meta levels with
    # a fan-out of about 8 (80, then 10 roots) rather than three halvings.
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    from kura_sklearn.hierarchy import level_bound, plan_levels

    assert [level_bound(640, 10, k) for k in (3, 2, 1)] == [160, 80, 10]
    assert level_bound(30, 10, 5) == 15  # the LLM loop's schedule before issue 13
    assert plan_levels(640, 10, 3) == [80, 10]
    assert plan_levels(640, 10, 1) == [10]
    rng = np.random.RandomState(0)
    words = [f"w{i}" for i in range(400)]
    texts = [" ".join(rng.choice(words, 6)) for _ in range(3000)]
    model = ConversationClusterer(
        make_pipeline(TfidfVectorizer(), TruncatedSVD(24, random_state=0)),
        KMeansClusterer(n_clusters=640, n_init=1),
        projector=PCA(2),
        max_clusters=10,
        max_levels=3,
        random_state=0,
    ).fit(texts)
    check_tree(model)
    per_level = [sum(c.level == lv for c in model.clusters_) for lv in range(4)]
    assert per_level[0] == 640
    assert 40 <= per_level[1] <= 80 and per_level[2] <= 10 and per_level[3] == 0


def _two_facets():
    """A summary says the topic; the request says the kind of help wanted."""
    import pandas as pd

    asks = ["explain", "fix", "translate", "write"]
    summaries = [text for texts in TOPICS.values() for text in texts]
    requests = [
        f"{asks[i % 4]} this for me please" if i % 4 != 3 else None
        for i in range(len(summaries))
    ]
    frame = pd.DataFrame(
        {"summary": summaries, "request": requests},
        index=pd.Index([f"chat-{i}" for i in range(len(summaries))], name="chat_id"),
    )
    return frame


def test_a_tree_over_another_text_column():
    # issue 15, item 5: one tree per facet (Kura's request / task trees)
    frame = _two_facets()
    frame["request"] = frame["request"].fillna("write this for me please")
    params = dict(clusterer=KMeansClusterer(n_clusters=4), max_clusters=2)
    by_summary = ConversationClusterer(**params, random_state=0).fit(frame)
    by_request = ConversationClusterer(
        **params, text_column="request", random_state=0
    ).fit(frame)
    check_tree(by_request)
    assert by_request.summaries_ == list(frame["request"])
    # the request tree groups by the help asked for, across topics
    asks = [r.split()[0] for r in frame["request"]]
    for c in by_request.clusters_:
        if c.level == 0:
            members = {asks[int(m.split("-")[1])] for m in c.member_ids}
            assert len(members) == 1
    assert by_summary.labels_.tolist() != by_request.labels_.tolist()
    # the summaries stay as a facet; the tables name the clustered column
    assert by_request.facets_["summary"] == list(frame["summary"])
    table = by_request.conversation_frame()
    assert list(table.columns[:2]) == ["request", "summary"]
    # predict reads the same column
    assert_array_equal(by_request.predict(frame), by_request.labels_)
    assert "text_column" in clone(by_request).get_params()


def test_a_text_column_must_exist_and_be_filled():
    frame = _two_facets()
    model = ConversationClusterer(
        clusterer=KMeansClusterer(n_clusters=3), text_column="request"
    )
    with pytest.raises(ValueError, match=r"Conversation 'chat-3' has no 'request'"):
        model.fit(frame)
    with pytest.raises(ValueError, match="text_column='task' needs the summarizer"):
        model.set_params(text_column="task").fit(frame)
    with pytest.raises(ValueError, match="needs the summarizer's output"):
        model.fit(SUMMARIES)
    with pytest.raises(ValueError, match="text_column"):
        model.set_params(text_column=3).fit(frame)
