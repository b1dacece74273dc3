"""Common checks run over every public estimator, found by discovery.

Tier 1: scikit-learn's own ``check_estimator`` suite, for the estimators that
take numeric input (the clusterers, the projector). Tier 2: the package's
public checks (:mod:`kura_sklearn.utils.estimator_checks`) for the
estimators that take text or conversations, which sklearn's suite cannot
feed (it only generates numeric arrays). Tier 2b: sklearn's data-free checks
for the namers and the meta-estimator. Every estimator
:func:`kura_sklearn.utils.discovery.all_estimators` finds must have a case
in one tier.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from kura_sklearn import (
    Conversation,
    ConversationClusterer,
    ConversationSummarizer,
    HDBSCANClusterer,
    KMeansClusterer,
    KMeansTreeClusterer,
    MiniBatchKMeansClusterer,
    OnnxEmbedder,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
)
from kura_sklearn.projection import MapProjector
from kura_sklearn.utils.discovery import all_estimators
from kura_sklearn.utils.estimator_checks import (
    DATA_FREE_CHECKS,
    check_data_free,
    yield_text_checks,
)

NUMERIC_ESTIMATORS = [
    KMeansClusterer(random_state=0),
    MiniBatchKMeansClusterer(random_state=0),
    KMeansTreeClusterer(random_state=0),
    HDBSCANClusterer(),
    MapProjector(random_state=0),
]

# Why these checks fail, per check name. Only the K-means clusterers have any.
_SAMPLE_WEIGHT_REASON = (
    "K-means is not invariant to replacing a weight by repeated points: "
    "scikit-learn lists the same expected failure for its own KMeans, and "
    "Kura's sizing rule derives n_clusters_ from n_samples, which repetition "
    "changes."
)


def expected_failed_checks(estimator):
    if isinstance(
        estimator, (KMeansClusterer, MiniBatchKMeansClusterer, KMeansTreeClusterer)
    ):
        return {
            "check_sample_weight_equivalence_on_dense_data": _SAMPLE_WEIGHT_REASON,
            "check_sample_weight_equivalence_on_sparse_data": _SAMPLE_WEIGHT_REASON,
        }
    return {}


@parametrize_with_checks(
    NUMERIC_ESTIMATORS, expected_failed_checks=expected_failed_checks
)
def test_sklearn_compatible_estimator(estimator, check):
    # Tier 1: the numeric estimators pass scikit-learn's whole suite.
    check(estimator)


# ---------------------------------------------------------------------------
# Tier 2: text and conversation estimators

CONVERSATIONS = [
    Conversation(
        chat_id=f"c{i}",
        messages=[
            {"role": "user", "content": text},
            {"role": "assistant", "content": "Here is an answer."},
        ],
    )
    for i, text in enumerate(
        [
            "How do I reverse a list in Python?",
            "Write a haiku about the sea.",
            "What is the capital of Australia?",
            "Explain the difference between TCP and UDP.",
        ]
    )
]
TEXTS = [c.messages[0].content for c in CONVERSATIONS]


def _offline_summarizer(server):
    return ConversationSummarizer()


def _llm_summarizer(server):
    from _loopback import on_server

    return ConversationSummarizer(
        model="test-model", **on_server(server, max_retries=1)
    )


def _local_embedder(server):
    return SentenceTransformerEmbedder()


def _onnx_embedder(server):
    return OnnxEmbedder()


def _api_embedder(server):
    from _loopback import on_server

    return OpenAIEmbedder(model="test-embedding", dimensions=32, **on_server(server))


def _precomputed_embedder(server):
    import tempfile

    from kura_sklearn.embedding import PrecomputedEmbedder, save_embedding_store

    vectors = np.random.RandomState(0).normal(size=(len(TEXTS), 4)).astype(np.float32)
    store = save_embedding_store(tempfile.mkdtemp(), TEXTS, vectors)
    return PrecomputedEmbedder(store)


# Per-estimator test parameters: each case names the class it builds (the
# coverage test below matches them against discovery), a builder taking the
# loopback LLM server, and the input the estimator takes.
TEXT_ESTIMATORS = {
    "ConversationSummarizer(offline)": (
        "ConversationSummarizer",
        _offline_summarizer,
        CONVERSATIONS,
    ),
    "ConversationSummarizer(llm)": (
        "ConversationSummarizer",
        _llm_summarizer,
        CONVERSATIONS,
    ),
    "SentenceTransformerEmbedder": (
        "SentenceTransformerEmbedder",
        _local_embedder,
        TEXTS,
    ),
    "OnnxEmbedder": ("OnnxEmbedder", _onnx_embedder, TEXTS),
    "OpenAIEmbedder": ("OpenAIEmbedder", _api_embedder, TEXTS),
    "PrecomputedEmbedder": ("PrecomputedEmbedder", _precomputed_embedder, TEXTS),
}
TEXT_IDS = list(TEXT_ESTIMATORS)
TEXT_CHECKS = [name for name, _ in yield_text_checks(None)]


@pytest.fixture
def text_case(request, fake_llm):
    class_name, build, X = TEXT_ESTIMATORS[request.param]
    estimator = build(fake_llm)
    assert type(estimator).__name__ == class_name
    return estimator, X


@pytest.mark.parametrize("check_name", TEXT_CHECKS)
@pytest.mark.parametrize("text_case", TEXT_IDS, indirect=True)
def test_text_estimator(text_case, check_name):
    # Tier 2: the package's public checks for text and conversation input
    # (kura_sklearn.utils.estimator_checks): sklearn's data-free checks,
    # clone and parameters, a stateless Pipeline step, bare strings refused,
    # pickling with no client or weights, pandas output and tags.
    estimator, X = text_case
    dict(yield_text_checks(estimator))[check_name](X)


# ---------------------------------------------------------------------------
# Tier 2b: parameter objects and the meta-estimator (text in, fitted state)


def _keyword_namer(server):
    from kura_sklearn.naming import KeywordNamer

    return KeywordNamer()


def _llm_namer(server):
    from _loopback import on_server

    from kura_sklearn.naming import LLMNamer

    return LLMNamer("test-model", **on_server(server))


def _conversation_clusterer(server):
    from sklearn.decomposition import PCA

    return ConversationClusterer(
        clusterer=KMeansClusterer(n_clusters=2),
        projector=PCA(2),
        max_clusters=1,
        random_state=0,
    )


def _keyphrase_namer(server):
    from kura_sklearn.naming import KeyphraseNamer

    return KeyphraseNamer()


def _llm_settings(server):
    from _loopback import on_server

    return on_server(server)["llm"]


PARAMETER_OBJECTS = {
    "LLMSettings": _llm_settings,
    "KeywordNamer": _keyword_namer,
    "KeyphraseNamer": _keyphrase_namer,
    "LLMNamer": _llm_namer,
    "ConversationClusterer": _conversation_clusterer,
}


@pytest.mark.parametrize("check_name", DATA_FREE_CHECKS)
@pytest.mark.parametrize("name", PARAMETER_OBJECTS)
def test_parameter_objects_sklearn_data_free_checks(name, check_name, fake_llm):
    # The LLM settings, the namers and the meta-estimator are nested
    # parameters in a grid search:
    # sklearn's parameter conventions must hold for them too.
    estimator = PARAMETER_OBJECTS[name](fake_llm)
    assert type(estimator).__name__ == name
    check_data_free(estimator, check_name)


def test_every_discovered_estimator_is_covered():
    # A new public estimator fails here until it has a case above: the
    # common checks cannot silently skip it.
    covered = (
        {type(e).__name__ for e in NUMERIC_ESTIMATORS}
        | {class_name for class_name, _, _ in TEXT_ESTIMATORS.values()}
        | set(PARAMETER_OBJECTS)
    )
    discovered = {name for name, _ in all_estimators()}
    assert discovered - covered == set()
    assert covered - discovered == set()


def test_conversation_clusterer_fitted_state_and_pickle():
    # Nothing is set before fit; after fit, a pickle round trip predicts the same,
    # and nested parameters are reachable as a grid search reaches them.
    est = _conversation_clusterer(None)
    assert not [k for k in vars(est) if k.endswith("_")]
    params = est.get_params(deep=True)
    assert params["clusterer__n_clusters"] == 2
    est.set_params(clusterer__n_clusters=3)
    assert est.clusterer.n_clusters == 3
    est.fit(TEXTS * 3)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(TEXTS), est.predict(TEXTS))
    with pytest.raises(ValueError, match="string object received"):
        clone(est).fit("a single string")
