"""OnnxEmbedder: the bundled torch-free default model."""

import hashlib
import pickle
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone

from kura_sklearn.embedding import OnnxEmbedder
from kura_sklearn.embedding._onnx import BUNDLED_MODEL, load_onnx_model

TEXTS = [
    "How do I reset my online banking password?",
    "I forgot the password for my bank account login",
    "What temperature should I bake sourdough bread at?",
    "My bread does not rise, what am I doing wrong?",
    "Translate 'good morning' into Japanese",
    "How do you say thank you in Japanese?",
]


def test_bundled_model_ships_with_licence_and_matching_checksums():
    # The package carries the model, its Apache-2.0 licence and provenance,
    # and every checksum PROVENANCE.md lists is the file's own.
    provenance = (BUNDLED_MODEL / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "Apache License" in (BUNDLED_MODEL / "LICENSE").read_text(encoding="utf-8")
    listed = dict(re.findall(r"\| `([^`]+)` \| `([0-9a-f]{64})` \|", provenance))
    assert {"model.onnx", "tokenizer.json", "config.json", "LICENSE"} <= set(listed)
    for name, digest in listed.items():
        data = (BUNDLED_MODEL / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name
    assert (BUNDLED_MODEL / "model.onnx").stat().st_size < 30e6


def test_output_is_normalised_float32_and_groups_similar_requests():
    X = OnnxEmbedder().transform(TEXTS)
    assert X.shape == (6, 384) and X.dtype == np.float32
    assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-5)
    sims = X @ X.T
    np.fill_diagonal(sims, -1)
    assert_array_equal(sims.argmax(axis=1), [1, 0, 3, 2, 5, 4])


def test_matches_sentence_transformers_on_the_same_model():
    # The same all-MiniLM-L6-v2 with 8-bit weights: each vector within a
    # small angle of the fp32 torch one (benchmarks: mean cosine 0.9996).
    pytest.importorskip(
        "sentence_transformers", reason="the baseline needs the 'torch' extra"
    )
    from kura_sklearn.embedding import SentenceTransformerEmbedder

    ours = OnnxEmbedder().transform(TEXTS)
    torch = SentenceTransformerEmbedder(device="cpu").transform(TEXTS)
    assert (ours * torch).sum(axis=1).min() > 0.995


def test_batching_and_order_do_not_change_vectors():
    texts = TEXTS + ["a much longer request " * 40]  # truncated at 256 tokens
    whole = OnnxEmbedder(batch_size=64).transform(texts)
    batched = OnnxEmbedder(batch_size=2).transform(texts[::-1])[::-1]
    assert_allclose(whole, batched, atol=2e-3)


def test_clones_and_pickles_without_the_model():
    est = OnnxEmbedder(batch_size=8)
    est.transform(TEXTS[:1])
    assert not [k for k in vars(est) if k.endswith("_")]
    assert len(pickle.dumps(est)) < 1000
    assert_allclose(
        pickle.loads(pickle.dumps(est)).transform(TEXTS), clone(est).transform(TEXTS)
    )


def test_cache_keys_differ_from_sentence_transformers_and_follow_the_files(
    tmp_path,
):
    # Close but different numbers: neither embedder may serve the other's.
    from kura_sklearn.embedding import SentenceTransformerEmbedder

    onnx = OnnxEmbedder()._cache_identity()
    assert onnx != SentenceTransformerEmbedder()._cache_identity()
    assert onnx == OnnxEmbedder(verbose=1, batch_size=3)._cache_identity()
    # another export (here: another max_seq_length) gets another key
    copy = tmp_path / "model"
    copy.mkdir()
    for f in BUNDLED_MODEL.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    assert OnnxEmbedder(copy)._cache_identity() == onnx
    config = (copy / "config.json").read_text().replace("256", "128")
    (copy / "config.json").write_text(config)
    assert OnnxEmbedder(copy)._cache_identity() != onnx


def test_fully_cached_transform_loads_no_model(tmp_path):
    first = OnnxEmbedder(cache_dir=str(tmp_path)).transform(TEXTS)
    load_onnx_model.cache_clear()
    again = OnnxEmbedder(cache_dir=str(tmp_path)).transform(TEXTS)
    assert load_onnx_model.cache_info().currsize == 0  # nothing was loaded
    assert_array_equal(again, first)
    OnnxEmbedder(cache_dir=str(tmp_path)).transform(TEXTS + ["something new"])
    assert load_onnx_model.cache_info().currsize == 1


def test_is_the_default_of_the_pipeline_the_clusterer_and_the_cli(tmp_path):
    from kura_sklearn import ConversationClusterer, make_kura_pipeline
    from kura_sklearn.cli import _embedder

    assert isinstance(make_kura_pipeline()[-1].embedder, OnnxEmbedder)
    model = ConversationClusterer(max_clusters=2, random_state=0).fit(TEXTS)
    assert isinstance(model.embedder_, OnnxEmbedder)
    assert isinstance(_embedder({"embedder": None}, None), OnnxEmbedder)
    other = _embedder({"embedder": f"onnx:{BUNDLED_MODEL}"}, str(tmp_path))
    assert other.model_path == str(BUNDLED_MODEL) and other.cache_dir == str(tmp_path)


def test_missing_model_files_fail_clearly(tmp_path):
    with pytest.raises(Exception, match="model.onnx|tokenizer.json|No such file"):
        OnnxEmbedder(tmp_path).transform(TEXTS)


def test_refit_and_predict_with_everything_cached_load_no_model(tmp_path):
    # The summaries and the cluster names embedded in the first fit are all
    # served by the cache in the second fit and in predict.
    from kura_sklearn import ConversationClusterer, KMeansClusterer

    def fit():
        return ConversationClusterer(
            OnnxEmbedder(cache_dir=str(tmp_path)),
            KMeansClusterer(n_clusters=3),
            max_clusters=2,
            random_state=0,
        ).fit(TEXTS)

    first = fit()
    load_onnx_model.cache_clear()
    second = fit()
    second.predict(TEXTS[:2])
    assert load_onnx_model.cache_info().currsize == 0
    assert_array_equal(second.labels_, first.labels_)
