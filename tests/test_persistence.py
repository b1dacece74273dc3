"""Fitted pipelines persist without secrets, across processes and versions."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from _loopback import on_server
from _openai_server import TEST_KEY_ENV
from numpy.testing import assert_array_equal
from sklearn.decomposition import PCA

from kura_sklearn import (
    Conversation,
    ConversationClusterer,
    HDBSCANClusterer,
    KMeansClusterer,
    OpenAIEmbedder,
    load_sample_conversations,
    make_kura_pipeline,
)
from kura_sklearn.persistence import HDBSCAN_TYPES, load, load_skops, save, save_skops
from kura_sklearn.utils import InconsistentVersionWarning

CANARY = "sk-canary-0d5e9f7a3b1c"


@pytest.fixture
def fitted_llm_pipeline(fake_llm, monkeypatch, tmp_path):
    # Fitted against the test server with a canary key in the environment.
    monkeypatch.setenv(TEST_KEY_ENV, CANARY)
    pipe = make_kura_pipeline(
        "test-model",
        base_url=fake_llm.base_url,
        api_key_env=TEST_KEY_ENV,
        max_clusters=3,
        cache_dir=str(tmp_path / "cache"),
        embedder=OpenAIEmbedder(
            model="e",
            dimensions=32,
            cache_dir=str(tmp_path / "cache"),
            **on_server(fake_llm),
        ),
    )
    pipe.set_params(cluster__projector=PCA(2))
    convs = load_sample_conversations()[:50]
    labels = pipe.fit_predict(convs)
    return pipe, convs, labels, tmp_path


def test_no_secret_in_pickle_repr_params_or_cache_files(fitted_llm_pipeline):
    # The key is read from the environment when calls are made; it is in none
    # of what a user ships or logs.
    pipe, _, _, tmp_path = fitted_llm_pipeline
    assert CANARY.encode() not in pickle.dumps(pipe)
    save(pipe, tmp_path / "model.joblib")
    assert CANARY.encode() not in (tmp_path / "model.joblib").read_bytes()
    assert CANARY not in repr(load(tmp_path / "model.joblib").get_params())
    assert CANARY not in repr(pipe)
    assert CANARY not in str(pipe.get_params(deep=True))
    cache_files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert cache_files
    for path in cache_files:
        assert CANARY.encode() not in path.read_bytes()


def test_pickle_holds_no_client_lock_or_open_file(fitted_llm_pipeline):
    # Locks, sockets and open files cannot be pickled at all, so dumps()
    # succeeding proves most of it; the module names of clients and stores
    # must not appear as pickled globals either.
    pipe, _, _, _ = fitted_llm_pipeline
    blob = pickle.dumps(pipe)
    import re

    # a pickled global's module is a short string: opcode, length, name
    modules = re.findall(rb"\x8c.([A-Za-z_][\w.]*)\x94", blob)
    tops = {m.split(b".")[0] for m in modules}
    assert not tops & {
        b"openai",
        b"httpx",
        b"httpx2",
        b"_thread",
        b"threading",
        b"diskcache",
        b"_io",
        b"socket",
        b"sqlite3",
    }
    assert b"AsyncOpenAI" not in blob


def test_joblib_round_trip_in_a_fresh_process_predicts_the_same(tmp_path):
    # A fitted offline pipeline, saved here, loads and predicts identically in
    # another Python process.
    convs = load_sample_conversations()[:60]
    pipe = make_kura_pipeline(max_clusters=3).set_params(cluster__projector=PCA(2))
    labels = pipe.fit_predict(convs)
    save(pipe, tmp_path / "model.joblib")
    code = (
        "import sys, json; from kura_sklearn import load_sample_conversations; "
        "from kura_sklearn.persistence import load; "
        f"pipe = load({str(tmp_path / 'model.joblib')!r}); "
        "print(json.dumps(pipe.predict(load_sample_conversations()[:60]).tolist()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert_array_equal(np.array(eval(out)), labels)


def test_version_mismatch_warns_at_load():
    est = KMeansClusterer(n_clusters=2).fit(np.eye(4))
    state = est.__getstate__()
    assert state["_kura_sklearn_version"]
    state["_kura_sklearn_version"] = "0.0.0-old"
    clone = KMeansClusterer.__new__(KMeansClusterer)
    with pytest.warns(InconsistentVersionWarning, match="0.0.0-old"):
        clone.__setstate__(state)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.loads(pickle.dumps(est))  # same version: silent


def test_skops_round_trip_with_the_trusted_list(tmp_path):
    convs = load_sample_conversations()[:40]
    pipe = make_kura_pipeline(max_clusters=2)
    labels = pipe.fit_predict(convs)
    save_skops(pipe, tmp_path / "model.skops")
    restored = load_skops(tmp_path / "model.skops")
    assert_array_equal(restored.predict(convs), labels)
    assert restored[-1].clusters_[0] == pipe[-1].clusters_[0]
    assert restored[-1].tree_ == pipe[-1].tree_


def test_every_record_type_names_a_class_of_the_package():
    # a record type moved or renamed would be silently untrusted: each
    # entry must still import, and the fitted tree's own types be listed
    from importlib import import_module

    from kura_sklearn.hierarchy import Cluster, ClusterTree
    from kura_sklearn.persistence import RECORD_TYPES

    for name in RECORD_TYPES:
        module, _, attribute = name.rpartition(".")
        assert isinstance(getattr(import_module(module), attribute), type)
    for cls in (Cluster, ClusterTree):
        assert f"{cls.__module__}.{cls.__qualname__}" in RECORD_TYPES


def test_skops_refuses_untrusted_types(tmp_path):
    # HDBSCAN's fitted state holds third-party types: refused unless trusted.
    from skops.io.exceptions import UntrustedTypesFoundException

    rng = np.random.RandomState(0)
    est = HDBSCANClusterer(min_cluster_size=5).fit(rng.normal(size=(60, 3)))
    save_skops(est, tmp_path / "h.skops")
    with pytest.raises(UntrustedTypesFoundException, match="hdbscan"):
        load_skops(tmp_path / "h.skops")
    restored = load_skops(tmp_path / "h.skops", trusted=HDBSCAN_TYPES)
    assert_array_equal(restored.labels_, est.labels_)


def test_fitted_llm_pipeline_unpickles_and_predicts_from_cache(
    fitted_llm_pipeline, fake_llm
):
    pipe, convs, labels, _ = fitted_llm_pipeline
    restored = pickle.loads(pickle.dumps(pipe))
    fake_llm.reset()
    assert_array_equal(restored.predict(convs), labels)
    assert fake_llm.stats()["requests"] == 0  # served by the item cache
    new = [
        Conversation(
            chat_id="new",
            messages=[{"role": "user", "content": "A brand new question"}],
        )
    ]
    assert restored.predict(new).shape == (1,)


def _embedder_for_skops(cls, server, texts, tmp_path):
    """An instance of each discovered embedder that can fit offline."""
    from kura_sklearn.embedding import PrecomputedEmbedder, save_embedding_store

    if cls is PrecomputedEmbedder:
        vectors = np.random.RandomState(0).normal(size=(len(texts), 8))
        store = save_embedding_store(tmp_path / "store", texts, vectors)
        return PrecomputedEmbedder(store)
    if cls is OpenAIEmbedder:
        return OpenAIEmbedder(
            model="test-embedding", dimensions=16, **on_server(server)
        )
    return cls()


def _discovered(kind):
    from kura_sklearn.utils.discovery import all_estimators

    if kind == "cluster":
        found = all_estimators(type_filter="cluster")
        return [c for _, c in found if c is not ConversationClusterer]
    return [
        c
        for _, c in all_estimators(type_filter="transformer")
        if c.__module__.startswith("kura_sklearn.embedding")
    ]


@pytest.mark.parametrize(
    "cls", _discovered("cluster") + _discovered("embed"), ids=lambda c: c.__name__
)
def test_skops_loads_a_fitted_pipeline_with_every_clusterer_and_embedder(
    cls, fake_llm, tmp_path
):
    # The trusted types come from discovery: a pipeline with any clusterer or
    # embedder the package has (KMeansTreeClusterer, the CLI's choice for
    # large inputs, was once refused) loads from skops and predicts the same.
    from sklearn.base import ClusterMixin

    from kura_sklearn import ConversationSummarizer

    convs = load_sample_conversations()[:30]
    summarizer = ConversationSummarizer().set_output(transform="pandas")
    summaries = list(summarizer.fit_transform(convs)["summary"])
    if issubclass(cls, ClusterMixin):
        clusterer = cls(min_cluster_size=3) if cls is HDBSCANClusterer else cls()
        embedder = None
    else:
        clusterer, embedder = KMeansClusterer(n_clusters=4), None
        embedder = _embedder_for_skops(cls, fake_llm, summaries, tmp_path)
    params = {"cluster__clusterer": clusterer, "cluster__projector": PCA(2)}
    if embedder is not None:
        params["cluster__embedder"] = embedder
    pipe = make_kura_pipeline(max_clusters=2, random_state=0).set_params(**params)
    labels = pipe.fit_predict(convs)
    save_skops(pipe, tmp_path / "model.skops")
    extra = HDBSCAN_TYPES if cls is HDBSCANClusterer else None
    restored = load_skops(tmp_path / "model.skops", trusted=extra)
    assert type(restored[-1].clusterer_) is type(pipe[-1].clusterer_)
    if cls is not HDBSCANClusterer:
        assert_array_equal(restored.predict(convs), labels)
