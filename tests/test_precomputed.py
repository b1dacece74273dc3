"""PrecomputedEmbedder: embeddings computed once, looked up by text from a memmap."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.decomposition import PCA

from kura_sklearn import ConversationClusterer, KMeansClusterer
from kura_sklearn.embedding import (
    PrecomputedEmbedder,
    save_embedding_store,
    text_keys,
)

TEXTS = [f"request number {i} about {topic}" for i in range(30) for topic in "ab"]


@pytest.fixture
def store(tmp_path):
    rng = np.random.RandomState(0)
    vectors = rng.normal(size=(len(TEXTS), 8)).astype(np.float32)
    vectors[: len(TEXTS) // 2] += 5  # two groups
    return save_embedding_store(tmp_path / "store", TEXTS, vectors), vectors


def test_rows_are_found_by_text_in_any_order(store):
    path, vectors = store
    emb = PrecomputedEmbedder(path)
    order = np.random.RandomState(1).permutation(len(TEXTS))[:20]
    out = emb.transform([TEXTS[i] for i in order])
    assert out.dtype == np.float32 and out.flags.writeable
    assert_array_equal(out, vectors[order])


def test_the_stored_rows_in_order_come_back_as_the_memmap_itself(store):
    # No copy: a million rows stay on disk until read.
    path, vectors = store
    out = PrecomputedEmbedder(path).transform(TEXTS)
    assert isinstance(out, np.memmap) and not out.flags.writeable
    assert_array_equal(out, vectors)


def test_repeated_texts_in_store_order_still_come_back_without_a_copy(tmp_path):
    # Real data repeats texts ("hi"); the store's own rows in order are
    # still the memmap itself, each row its own vector.
    texts = ["hi", "bake bread", "hi", "tax return", "hi"]
    vectors = np.random.RandomState(0).normal(size=(5, 4)).astype(np.float32)
    save_embedding_store(tmp_path / "s", texts, vectors)
    out = PrecomputedEmbedder(tmp_path / "s").transform(texts)
    assert isinstance(out, np.memmap)
    assert_array_equal(out, vectors)
    # any other order looks texts up by content: "hi" gets one of its rows
    out = PrecomputedEmbedder(tmp_path / "s").transform(["tax return", "hi"])
    assert_array_equal(out[0], vectors[3])
    assert any(np.array_equal(out[1], vectors[i]) for i in (0, 2, 4))


def test_missing_texts_raise_or_go_to_the_fallback(store):
    path, vectors = store

    class Constant:
        def transform(self, texts):
            return np.full((len(texts), 8), 7.0, dtype=np.float32)

        def get_params(self, deep=True):
            return {}

    with pytest.raises(KeyError, match="1 of 2 texts are not in the embedding store"):
        PrecomputedEmbedder(path).transform([TEXTS[0], "never stored"])
    out = PrecomputedEmbedder(path, fallback=Constant()).transform(
        [TEXTS[3], "never stored"]
    )
    assert_array_equal(out[0], vectors[3])
    assert_array_equal(out[1], np.full(8, 7.0))


def test_store_is_reread_when_rewritten_and_keys_are_stable(store):
    path, vectors = store
    emb = PrecomputedEmbedder(path)
    emb.transform(TEXTS[:2])
    save_embedding_store(path, TEXTS, -vectors)
    assert_array_equal(emb.transform(TEXTS[:2]), -vectors[:2])
    assert text_keys(["x"])[0] == text_keys(["y", "x"])[1]


def test_conversation_clusterer_on_a_store_fits_predicts_and_pickles_small(store):
    # The embedder is only a path: the model pickles without the vectors, and
    # predict on stored texts gives the training labels.
    path, _ = store
    model = ConversationClusterer(
        embedder=PrecomputedEmbedder(path),
        clusterer=KMeansClusterer(n_clusters=2),
        projector=PCA(2),
        max_clusters=1,
        random_state=0,
    )
    labels = model.fit_predict(TEXTS)
    assert len(set(labels[:30])) == 1 and labels[0] != labels[-1]
    blob = pickle.dumps(model)
    assert_array_equal(pickle.loads(blob).predict(TEXTS[::7]), labels[::7])
    assert clone(model).embedder.path == path
