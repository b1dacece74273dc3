"""make_kura_pipeline on the bundled sample: the whole system, offline and online."""

import pickle

import numpy as np
import pytest
from _openai_server import TEST_KEY_ENV
from numpy.testing import assert_array_equal
from sklearn.base import clone

from kura_sklearn import load_sample_conversations, make_kura_pipeline


@pytest.fixture(scope="module")
def sample():
    return load_sample_conversations()


@pytest.fixture(scope="module")
def fitted_offline(sample):
    pipe = make_kura_pipeline(max_clusters=8)
    labels = pipe.fit_predict(sample)
    return pipe, labels


def test_offline_pipeline_on_the_sample_gives_a_named_bounded_tree(
    fitted_offline, sample, monkeypatch
):
    # Done-when: offline, with no key and no server, the bundled sample gives
    # a named hierarchy with at most max_clusters roots.
    pipe, labels = fitted_offline
    model = pipe[-1]
    assert len(labels) == len(sample)
    assert model.n_clusters_ == 30  # ceil(300 / 10), Kura's rule
    roots = [c for c in model.clusters_ if c.parent_id is None]
    assert 1 <= len(roots) <= 8
    assert sum(r.count for r in roots) == len(sample)
    assert all(c.name and c.description for c in model.clusters_)
    # chat_ids flow from the summarizer's DataFrame into the clusters
    assert model.chat_ids_ == [c.chat_id for c in sample]
    assert sample[0].chat_id in model.clusters_[labels[0]].member_ids
    assert set(model.n_llm_calls_.values()) == {0}


def test_offline_clusters_follow_the_sample_topics(fitted_offline, sample):
    # The sample's topic labels were never shown to the pipeline; its base
    # clusters still agree with them far beyond chance.
    from sklearn.metrics import normalized_mutual_info_score

    _, labels = fitted_offline
    topics = [c.metadata["topic"] for c in sample]
    assert normalized_mutual_info_score(topics, labels) > 0.35


def test_predict_new_conversations_consistent_and_survives_pickle(
    fitted_offline, sample
):
    # Done-when: predict returns base labels consistent with the fitted
    # clusters, and a clone/pickle round trip of the fitted pipeline agrees.
    pipe, labels = fitted_offline
    assert_array_equal(pipe.predict(sample[:40]), labels[:40])
    restored = pickle.loads(pickle.dumps(pipe))
    assert_array_equal(restored.predict(sample[:40]), labels[:40])
    refit = clone(pipe).fit_predict(sample)
    assert_array_equal(refit, labels)  # seeded by default: reproducible


@pytest.mark.parametrize("how", ["set_output_default", "brief_pipeline"])
def test_default_output_keeps_chat_ids_and_facets(sample, how, tmp_path):
    # issue 12, item 11: with the summarizer's default (array) output the
    # chat_ids silently became positions and the facets vanished
    from joblib import Memory
    from sklearn.pipeline import Pipeline

    from kura_sklearn import (
        ConversationClusterer,
        ConversationSummarizer,
        KMeansClusterer,
    )

    conversations = sample[:40]
    if how == "set_output_default":
        pipe = make_kura_pipeline(
            clusterer=KMeansClusterer(n_clusters=4), max_clusters=2
        ).set_output(transform="default")
    else:  # the brief's code, with its Pipeline(memory=...)
        pipe = Pipeline(
            [
                ("summarize", ConversationSummarizer()),
                (
                    "cluster",
                    ConversationClusterer(
                        clusterer=KMeansClusterer(n_clusters=4), max_clusters=2
                    ),
                ),
            ],
            memory=Memory(tmp_path, verbose=0),
        )
    for _ in range(2):  # the second fit reads the summaries from memory
        labels = pipe.fit_predict(conversations)
        model = pipe[-1]
        assert model.chat_ids_ == [c.chat_id for c in conversations]
        assert {"languages", "n_messages"} <= set(model.facets_)
        members = {m for c in model.clusters_ if c.level == 0 for m in c.member_ids}
        assert conversations[0].chat_id in members
        frame = model.conversation_frame()
        assert frame.index[0] == conversations[0].chat_id
        assert "languages" in frame.columns
    assert len(labels) == 40


def test_grid_search_reaches_nested_parameters(sample):
    pipe = make_kura_pipeline()
    params = pipe.get_params()
    for key in (
        "cluster__embedder",
        "cluster__clusterer__clusters_per_group",
        "cluster__namer",
        "cluster__max_clusters",
        "summarize__model",
    ):
        assert key in params


def test_llm_pipeline_against_the_server(fake_llm, sample):
    # One argument switches summaries, names and the tree to an LLM; the
    # embedder stays local.
    pipe = make_kura_pipeline(
        "test-model",
        base_url=fake_llm.base_url,
        api_key_env=TEST_KEY_ENV,
        max_clusters=5,
        max_concurrency=20,
    )
    subset = sample[:120]
    labels = pipe.fit_predict(subset)
    model = pipe[-1]
    assert model.n_clusters_ == 12 and len(labels) == 120
    calls = model.n_llm_calls_
    assert calls["naming"] == 12
    assert sum(v for k, v in calls.items() if k.startswith("level_")) > 0
    stats = fake_llm.stats()
    assert stats["chat_completions"] == 120 + sum(calls.values())
    assert sum(c.parent_id is None for c in model.clusters_) <= 5
    assert np.all(pipe.predict(subset[:10]) == labels[:10])
