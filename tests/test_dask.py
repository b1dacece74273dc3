"""Scale-out on Dask through joblib's backend: same answers as a local run.

``parallel_transform`` is first checked locally (joblib's sequential and loky
backends). Then a real ``distributed.LocalCluster`` with two worker
processes: the grid search and the chunked transforms are pickled, shipped,
and computed there. Those tests are skipped when dask.distributed is not
installed (``pip install 'kura-sklearn[dask]'``).
"""

import json
import os
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from _loopback import on_server
from _openai_server import TEST_KEY_ENV
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from kura_sklearn import (
    ConversationSummarizer,
    KMeansClusterer,
    SentenceTransformerEmbedder,
    load_sample_conversations,
    make_kura_pipeline,
)
from kura_sklearn.caching import open_cache, open_store
from kura_sklearn.metrics import silhouette_scorer
from kura_sklearn.utils import parallel_transform

# --- parallel_transform, locally ----------------------------------------------


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("chunk_size", [1, 7, 100])
def test_parallel_transform_equals_transform(n_jobs, chunk_size):
    X = np.random.default_rng(0).normal(size=(23, 4))
    scaler = StandardScaler().fit(X)
    got = parallel_transform(scaler, X, chunk_size=chunk_size, n_jobs=n_jobs)
    assert_allclose(got, scaler.transform(X))


def test_parallel_transform_keeps_pandas_index_and_order():
    frame = pd.DataFrame({"a": np.arange(10.0)}, index=[f"c{i}" for i in range(10)])
    scaler = StandardScaler().set_output(transform="pandas").fit(frame)
    got = parallel_transform(scaler, frame, chunk_size=3)
    pd.testing.assert_frame_equal(got, scaler.transform(frame))


def test_parallel_transform_stacks_sparse_and_concatenates_1d():
    texts = [f"text number {i}" for i in range(11)]
    hashing = HashingVectorizer(n_features=32)
    got = parallel_transform(hashing, texts, chunk_size=4)
    assert sp.issparse(got) and got.format == "csr"
    assert_allclose(got.toarray(), hashing.transform(texts).toarray())
    X = np.arange(30.0).reshape(10, 3)
    model = KMeansClusterer(n_clusters=2, random_state=0).fit(X)
    labels = parallel_transform(model, X, chunk_size=3, method="predict")
    assert_array_equal(labels, model.predict(X))


def test_parallel_transform_reads_iterables_and_passes_errors_through():
    summarizer = ConversationSummarizer()
    conversations = load_sample_conversations()[:5]
    got = parallel_transform(summarizer, iter(conversations), chunk_size=2)
    assert_array_equal(got, summarizer.transform(conversations))
    empty = parallel_transform(summarizer, [], chunk_size=2)
    assert empty.shape == (0,)
    with pytest.raises(ValueError, match="string object received"):
        parallel_transform(summarizer, "one chat")
    with pytest.raises(ValueError, match="chunk_size"):
        parallel_transform(summarizer, conversations, chunk_size=0)
    with pytest.raises(TypeError, match="no method 'predict'"):
        parallel_transform(summarizer, conversations, method="predict")


# --- on a Dask cluster --------------------------------------------------------


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    # Worker processes inherit this environment: the bundled model loads
    # from its installed path with no hub look-up (the embedder also sets it
    # in each process that loads a local model).
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        with (
            distributed.LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            yield client


@pytest.fixture(scope="module")
def conversations():
    return load_sample_conversations()[:40]


def _search(conversations, n_jobs, cache_dir):
    # Each run has its own item cache: every candidate, its scoring and the
    # refit embed each summary once, and on Dask both workers share it.
    idx = np.arange(len(conversations))
    grid = {
        "cluster__clusterer": [
            KMeansClusterer(clusters_per_group=k) for k in (4, 8, 16)
        ]
    }
    search = GridSearchCV(
        make_kura_pipeline(cache_dir=str(cache_dir)).set_params(
            cluster__store_embeddings=True
        ),
        grid,
        cv=[(idx, idx)],
        scoring=silhouette_scorer,
        n_jobs=n_jobs,
    )
    return search.fit(conversations)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_grid_search_on_dask_matches_local(dask_client, conversations, tmp_path):
    local = _search(conversations, 1, tmp_path / "local")
    with joblib.parallel_backend("dask"):
        remote = _search(conversations, -1, tmp_path / "dask")
    # the work really went to the cluster's processes
    assert len(dask_client.scheduler_info()["workers"]) == 2
    assert repr(remote.best_params_) == repr(local.best_params_)
    assert [repr(p) for p in remote.cv_results_["params"]] == [
        repr(p) for p in local.cv_results_["params"]
    ]
    assert_allclose(
        remote.cv_results_["mean_test_score"],
        local.cv_results_["mean_test_score"],
        rtol=1e-5,
        atol=1e-6,
    )
    assert list(remote.cv_results_["rank_test_score"]) == list(
        local.cv_results_["rank_test_score"]
    )
    # the refit model came back whole and predicts like the local one
    np.testing.assert_array_equal(
        remote.best_estimator_.predict(conversations[:10]),
        local.best_estimator_.predict(conversations[:10]),
    )


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_chunks_run_on_the_workers(dask_client):
    # each chunk reports the process that transformed it
    pids = FunctionTransformer(lambda X: np.full((len(X), 1), os.getpid()))
    with joblib.parallel_backend("dask"):
        got = parallel_transform(pids, np.zeros((40, 1)), chunk_size=5)
    workers = set(dask_client.run(os.getpid).values())
    assert len(workers) == 2 and os.getpid() not in workers
    assert set(got[:, 0]) <= workers


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_chunked_embedding_on_dask_matches_local(dask_client, tmp_path):
    texts = [c.messages[0].content for c in load_sample_conversations()[:120]]
    embedder = SentenceTransformerEmbedder(cache_dir=str(tmp_path))
    expected = SentenceTransformerEmbedder().transform(texts)
    with joblib.parallel_backend("dask"):
        got = parallel_transform(embedder, texts, chunk_size=30)
    assert got.shape == expected.shape == (len(texts), 384)
    assert got.dtype == np.float32
    assert_allclose(got, expected, atol=1e-6)
    # the workers wrote the shared per-item cache: one entry per distinct text
    assert len(open_cache(str(tmp_path))) == len(set(texts))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_chunked_summaries_on_dask_keep_chat_ids_and_order(dask_client):
    conversations = load_sample_conversations()[:120]
    summarizer = ConversationSummarizer().set_output(transform="pandas")
    expected = summarizer.transform(conversations)
    with joblib.parallel_backend("dask"):
        got = parallel_transform(summarizer, conversations, chunk_size=25)
    pd.testing.assert_frame_equal(got, expected)
    with joblib.parallel_backend("dask"):
        plain = parallel_transform(
            ConversationSummarizer(), conversations, chunk_size=25
        )
    np.testing.assert_array_equal(plain, expected["summary"].to_numpy())


# --- a cache the machines share: the Redis store ---------------------------------

_RERUN = textwrap.dedent("""
    import json, sys
    from kura_sklearn import ConversationSummarizer, load_sample_conversations
    from kura_sklearn.llm import LLMSettings
    llm = LLMSettings(base_url={url!r}, api_key_env={env!r})
    est = ConversationSummarizer(model="test-model", llm=llm, cache_dir={cache!r})
    summaries = est.transform(load_sample_conversations()[:{n}])
    json.dump(list(summaries), sys.stdout)
""")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_summaries_on_dask_workers_fill_redis_and_a_new_process_makes_no_call(
    fake_llm, redis_url, tmp_path
):
    # Issue 12, item 14: workers of a cluster (here two LocalCluster
    # processes standing in for machines) write one Redis store; a rerun in a
    # new process, which shares nothing else with them, makes 0 LLM calls.
    distributed = pytest.importorskip("distributed")
    n = 60
    conversations = load_sample_conversations()[:n]
    summarizer = ConversationSummarizer(
        model="test-model", cache_dir=redis_url, **on_server(fake_llm, max_retries=1)
    )
    # started after fake_llm set the key variable, which the workers inherit
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with joblib.parallel_backend("dask"):
            summaries = parallel_transform(summarizer, conversations, chunk_size=15)
        assert len(client.scheduler_info()["workers"]) == 2
    # the entries are in the Redis server itself
    n_stored = __import__("redis").Redis.from_url(redis_url).dbsize()
    assert n_stored == len(open_store(redis_url))
    assert fake_llm.stats()["chat_completions"] == n_stored > 0
    fake_llm.reset()
    code = _RERUN.format(url=fake_llm.base_url, env=TEST_KEY_ENV, cache=redis_url, n=n)
    # elsewhere: another working directory, so no local file can serve it
    rerun = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert json.loads(rerun.stdout) == list(summaries)
    assert fake_llm.stats()["chat_completions"] == 0
