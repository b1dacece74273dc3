"""Common checks run over every public estimator.

Tier 1: scikit-learn's own ``check_estimator`` suite, for the estimators that
take numeric input (the clusterers). Tier 2: the project's checks for the
estimators that take text or conversations, which sklearn's suite cannot feed
(it only generates numeric arrays): sklearn's data-free checks plus clone,
parameters, bare-string rejection, pickling and pipeline behaviour.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils import estimator_checks
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
    from _openai_server import TEST_KEY_ENV

    return ConversationSummarizer(
        model="test-model",
        base_url=server.base_url,
        api_key_env=TEST_KEY_ENV,
        max_retries=1,
    )


def _local_embedder(server):
    return SentenceTransformerEmbedder()


def _onnx_embedder(server):
    return OnnxEmbedder()


def _api_embedder(server):
    from _openai_server import TEST_KEY_ENV

    return OpenAIEmbedder(
        model="test-embedding",
        base_url=server.base_url,
        api_key_env=TEST_KEY_ENV,
        dimensions=32,
    )


def _precomputed_embedder(server):
    import tempfile

    from kura_sklearn.embedding import PrecomputedEmbedder, save_embedding_store

    vectors = np.random.RandomState(0).normal(size=(len(TEXTS), 4)).astype(np.float32)
    store = save_embedding_store(tempfile.mkdtemp(), TEXTS, vectors)
    return PrecomputedEmbedder(store)


TEXT_ESTIMATORS = {
    "ConversationSummarizer(offline)": (_offline_summarizer, CONVERSATIONS),
    "ConversationSummarizer(llm)": (_llm_summarizer, CONVERSATIONS),
    "SentenceTransformerEmbedder": (_local_embedder, TEXTS),
    "OnnxEmbedder": (_onnx_embedder, TEXTS),
    "OpenAIEmbedder": (_api_embedder, TEXTS),
    "PrecomputedEmbedder": (_precomputed_embedder, TEXTS),
}
TEXT_IDS = list(TEXT_ESTIMATORS)

# sklearn's checks that need no data; those missing from older releases are skipped.
DATA_FREE_CHECKS = [
    name
    for name in [
        "check_no_attributes_set_in_init",
        "check_parameters_default_constructible",
        "check_get_params_invariance",
        "check_set_params",
        "check_estimator_repr",
        "check_estimator_cloneable",
        "check_mixin_order",
        "check_do_not_raise_errors_in_init_or_set_params",
        "check_valid_tag_types",
        "check_estimator_tags_renamed",
    ]
    if hasattr(estimator_checks, name)
]


@pytest.fixture
def text_case(request, fake_llm):
    build, X = TEXT_ESTIMATORS[request.param]
    return build(fake_llm), X


@pytest.mark.parametrize("check_name", DATA_FREE_CHECKS)
@pytest.mark.parametrize("text_case", TEXT_IDS, indirect=True)
def test_text_estimator_sklearn_data_free_checks(text_case, check_name):
    # sklearn's checks that do not feed data hold for text estimators too.
    estimator, _ = text_case
    check = getattr(estimator_checks, check_name)
    check(type(estimator).__name__, estimator)


def _as_comparable(output):
    if hasattr(output, "to_numpy"):
        return output.to_numpy()
    return np.asarray(output)


@pytest.mark.parametrize("text_case", TEXT_IDS, indirect=True)
def test_text_estimator_clone_and_params(text_case):
    # clone gives an equal, unfitted copy; get/set_params round-trips verbatim.
    estimator, _ = text_case
    cloned = clone(estimator)
    assert cloned is not estimator
    assert cloned.get_params() == estimator.get_params()
    params = estimator.get_params()
    assert type(estimator)(**params).get_params() == params
    assert estimator.set_params(**params) is estimator


@pytest.mark.parametrize("text_case", TEXT_IDS, indirect=True)
def test_text_estimator_fit_returns_self_and_transform_needs_no_fit(text_case):
    # Stateless steps: fit validates and returns self; transform works unfitted,
    # also as Pipeline[:-1].transform (sklearn >= 1.8 raises NotFittedError there
    # for estimators whose tags do not say requires_fit=False).
    estimator, X = text_case
    assert estimator.fit(X) is estimator
    unfitted = clone(estimator)
    direct = unfitted.transform(X)
    assert len(direct) == len(X)
    pipe = Pipeline(
        [("step", clone(estimator)), ("last", KMeansClusterer(n_clusters=2))]
    )
    try:
        through_pipe = pipe[:-1].transform(X)
    except NotFittedError as exc:  # pragma: no cover - the failure this guards
        pytest.fail(f"Pipeline[:-1].transform raised NotFittedError: {exc}")
    np.testing.assert_array_equal(_as_comparable(through_pipe), _as_comparable(direct))


@pytest.mark.parametrize("text_case", TEXT_IDS, indirect=True)
def test_text_estimator_rejects_bare_string(text_case):
    # A bare string is a mistake for [text]; it is refused as sklearn's
    # text vectorizers refuse it, in fit and in transform.
    estimator, _ = text_case
    with pytest.raises(ValueError, match="string object received"):
        estimator.fit("How do I reverse a list?")
    with pytest.raises(ValueError, match="string object received"):
        estimator.transform("How do I reverse a list?")


@pytest.mark.parametrize("text_case", TEXT_IDS, indirect=True)
def test_text_estimator_pickle_round_trip(text_case):
    # A pickled and unpickled estimator gives identical output and carries no
    # client (nothing unpicklable is ever stored on it).
    estimator, X = text_case
    estimator.fit(X)
    before = estimator.transform(X)
    blob = pickle.dumps(estimator)
    assert len(blob) < 20_000  # settings only: no model weights
    for forbidden in (b"AsyncOpenAI", b"httpx", b"sentence_transformers"):
        assert forbidden not in blob
    restored = pickle.loads(blob)
    np.testing.assert_array_equal(
        _as_comparable(restored.transform(X)), _as_comparable(before)
    )


@pytest.mark.parametrize("text_case", TEXT_IDS, indirect=True)
def test_text_estimator_set_output_pandas(text_case):
    # set_output(transform="pandas") gives a DataFrame with one row per input.
    import pandas as pd

    estimator, X = text_case
    frame = clone(estimator).set_output(transform="pandas").fit_transform(X)
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == len(X)
    if isinstance(estimator, ConversationSummarizer):
        assert frame.index.name == "chat_id"
        assert list(frame.index) == [c.chat_id for c in X]
        assert "summary" in frame.columns
    else:
        assert list(frame.columns) == list(estimator.get_feature_names_out())


@pytest.mark.parametrize("text_case", TEXT_IDS, indirect=True)
def test_text_estimator_tags(text_case):
    # Tags tell sklearn the input is text, not a 2-D array, and no fit is needed.
    from sklearn.utils import get_tags

    estimator, _ = text_case
    tags = get_tags(estimator)
    assert tags.input_tags.string and not tags.input_tags.two_d_array
    assert tags.requires_fit is False


# ---------------------------------------------------------------------------
# Tier 2b: parameter objects and the meta-estimator (text in, fitted state)


def _keyword_namer(server):
    from kura_sklearn.naming import KeywordNamer

    return KeywordNamer()


def _llm_namer(server):
    from _openai_server import TEST_KEY_ENV

    from kura_sklearn.naming import LLMNamer

    return LLMNamer("test-model", base_url=server.base_url, api_key_env=TEST_KEY_ENV)


def _conversation_clusterer(server):
    from sklearn.decomposition import PCA

    return ConversationClusterer(
        clusterer=KMeansClusterer(n_clusters=2),
        projector=PCA(2),
        max_clusters=1,
        random_state=0,
    )


PARAMETER_OBJECTS = {
    "KeywordNamer": _keyword_namer,
    "LLMNamer": _llm_namer,
    "ConversationClusterer": _conversation_clusterer,
}


@pytest.mark.parametrize("check_name", DATA_FREE_CHECKS)
@pytest.mark.parametrize("build", PARAMETER_OBJECTS.values(), ids=PARAMETER_OBJECTS)
def test_parameter_objects_sklearn_data_free_checks(build, check_name, fake_llm):
    # Namers and the meta-estimator are nested parameters in a grid search:
    # sklearn's parameter conventions must hold for them too.
    estimator = build(fake_llm)
    getattr(estimator_checks, check_name)(type(estimator).__name__, estimator)


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
