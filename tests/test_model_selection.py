"""Grid and randomized search over backends and clustering settings."""

import pytest
from _loopback import on_server
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import Pipeline

from kura_sklearn import (
    ConversationClusterer,
    ConversationSummarizer,
    KMeansClusterer,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
    load_sample_conversations,
)
from kura_sklearn.metrics import silhouette_scorer
from kura_sklearn.naming import KeywordNamer


def llm_pipeline(server, cache_dir):
    common = on_server(server)  # each step gets its own settings object
    summarize = ConversationSummarizer(
        "test-model", cache_dir=str(cache_dir), **on_server(server, max_concurrency=10)
    )
    summarize.set_output(transform="pandas")
    cluster = ConversationClusterer(
        embedder=OpenAIEmbedder(
            model="e", dimensions=32, cache_dir=str(cache_dir), **common
        ),
        clusterer=KMeansClusterer(),
        # keyword names embed nothing: the server's embedding count is the
        # summaries' alone (the default KeyphraseNamer embeds its candidates)
        namer=KeywordNamer(),
        projector=PCA(2),
        max_clusters=3,
        random_state=0,
    )
    return Pipeline([("summarize", summarize), ("cluster", cluster)])


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_search_summarises_and_embeds_each_conversation_once(
    fake_llm, tmp_path, n_jobs
):
    # 3 candidates x 3 folds + refit would summarise and embed 600 times
    # without the item cache; with it, each of the 60 conversations once
    # (two loky workers may race on a few items).
    convs = load_sample_conversations()[:60]
    grid = {"cluster__clusterer__clusters_per_group": [5, 10, 20]}
    search = GridSearchCV(
        llm_pipeline(fake_llm, tmp_path),
        grid,
        cv=3,
        scoring=silhouette_scorer,
        n_jobs=n_jobs,
    )
    search.fit(convs)
    naive = 3 * 3 * 60 + 60
    stats = fake_llm.stats()
    if n_jobs == 1:
        assert stats["chat_completions"] == 60
        assert stats["embedded_inputs"] == 60
    else:
        assert 60 <= stats["chat_completions"] < naive / 4
        assert 60 <= stats["embedded_inputs"] < naive / 4
    # best_estimator_ is refit on everything and usable
    best = search.best_estimator_
    assert best.predict(convs[:5]).shape == (5,)
    assert search.best_params_["cluster__clusterer__clusters_per_group"] in (5, 10, 20)


def test_search_over_embedding_backends_and_clusterers(fake_llm, tmp_path):
    # Backends are grid values like any other: cluster__embedder swaps the
    # local model for an embeddings API.
    convs = load_sample_conversations()[:40]
    api = OpenAIEmbedder(
        model="e", dimensions=32, cache_dir=str(tmp_path), **on_server(fake_llm)
    )
    grid = {
        "cluster__embedder": [SentenceTransformerEmbedder(), api],
        "cluster__clusterer": [KMeansClusterer(clusters_per_group=k) for k in (5, 10)],
    }
    pipe = llm_pipeline(fake_llm, tmp_path)
    search = GridSearchCV(
        pipe, grid, cv=[(list(range(40)), list(range(40)))], scoring=silhouette_scorer
    ).fit(convs)
    assert len(search.cv_results_["params"]) == 4
    assert all(-1 <= s <= 1 for s in search.cv_results_["mean_test_score"])


def test_randomized_search_over_clusters_per_group(fake_llm, tmp_path):
    from scipy.stats import randint

    convs = load_sample_conversations()[:40]
    search = RandomizedSearchCV(
        llm_pipeline(fake_llm, tmp_path),
        {"cluster__clusterer__clusters_per_group": randint(4, 15)},
        n_iter=3,
        cv=2,
        scoring=silhouette_scorer,
        random_state=0,
    ).fit(convs)
    assert len(search.cv_results_["params"]) == 3
    assert fake_llm.stats()["chat_completions"] == 40


def test_search_over_summarizer_prompts_and_naming_settings(fake_llm, tmp_path):
    # Prompts and naming settings are parameters too; each distinct prompt
    # summarises each conversation once, whatever the other grid values.
    from kura_sklearn.naming import LLMNamer

    convs = load_sample_conversations()[:30]
    pipe = llm_pipeline(fake_llm, tmp_path)
    pipe.set_params(
        cluster__namer=LLMNamer(
            "test-model", cache_dir=str(tmp_path), **on_server(fake_llm)
        )
    )
    short = "Summarise briefly.\n<conversation>{conversation}</conversation>"
    grid = {"summarize__prompt": [None, short], "cluster__namer__max_examples": [3, 6]}
    idx = list(range(30))
    search = GridSearchCV(pipe, grid, cv=[(idx, idx)], scoring=silhouette_scorer)
    search.fit(convs)
    assert len(search.cv_results_["params"]) == 4
    cache_summaries = fake_llm.stats()["chat_completions"]
    assert cache_summaries >= 2 * 30  # two prompts x 30 conversations, plus naming
    assert search.best_params_["summarize__prompt"] in (None, short)
