"""kura_sklearn.metrics: scorers(estimator, X, y=None) for unsupervised search."""

import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    normalized_mutual_info_score,
    silhouette_score,
    v_measure_score,
)
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, Normalizer, StandardScaler

from kura_sklearn import (
    ConversationClusterer,
    HDBSCANClusterer,
    KMeansClusterer,
    load_sample_conversations,
    make_kura_pipeline,
)
from kura_sklearn.metrics import (
    adjusted_rand_scorer,
    calinski_harabasz_scorer,
    davies_bouldin_scorer,
    internal_scorer,
    make_cluster_count_scorer,
    noise_aware_silhouette_scorer,
    normalized_mutual_info_scorer,
    silhouette_scorer,
    v_measure_scorer,
)
from kura_sklearn.metrics._scorers import _embeddings_and_labels
from kura_sklearn.utils import check_texts

INTERNAL = {
    "silhouette": silhouette_scorer,
    "noise_aware_silhouette": noise_aware_silhouette_scorer,
    "davies_bouldin": davies_bouldin_scorer,
    "calinski_harabasz": calinski_harabasz_scorer,
}
WORST = {
    "silhouette": -1.0,
    "noise_aware_silhouette": -1.0,
    "davies_bouldin": -np.inf,
    "calinski_harabasz": 0.0,
}
LABEL_SCORERS = [
    (adjusted_rand_scorer, adjusted_rand_score),
    (normalized_mutual_info_scorer, normalized_mutual_info_score),
    (v_measure_scorer, v_measure_score),
]

TOPICS = {
    "password": ["reset my banking password", "forgot the password to my account"],
    "bread": ["bake sourdough bread at home", "my bread dough does not rise"],
    "japanese": ["translate good morning to japanese", "japanese word for thanks"],
    "python": ["python list index out of range", "python dict comprehension"],
    "tax": ["file my tax return online", "tax deduction for home office"],
}
SUMMARIES = [text for texts in TOPICS.values() for text in texts] * 3


def cosine_silhouette(points, labels):
    return silhouette_score(points, labels, metric="cosine")


def lsa():
    """A fast, deterministic text embedder (TF-IDF + SVD) for the tests."""
    return make_pipeline(
        FunctionTransformer(check_texts),
        TfidfVectorizer(),
        TruncatedSVD(8, random_state=0),
        Normalizer(),
    )


class FixedLabels(ClusterMixin, BaseEstimator):
    """A transductive 'clusterer' (no predict) whose labels_ are given."""

    def __init__(self, labels=None):
        self.labels = labels

    def fit(self, X, y=None):
        self.labels_ = np.asarray(self.labels)
        return self


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(
        n_samples=120, centers=4, n_features=8, cluster_std=0.6, random_state=0
    )
    return X, y


@pytest.fixture(scope="module")
def kmeans(blobs):
    return KMeans(4, n_init=3, random_state=0).fit(blobs[0])


def test_internal_scores_match_sklearn_and_prefer_blobs_to_random_labels(blobs, kmeans):
    X, _ = blobs
    labels = kmeans.labels_
    random = FixedLabels(np.random.RandomState(0).randint(0, 4, len(X))).fit(X)
    assert silhouette_scorer(kmeans, X) == pytest.approx(cosine_silhouette(X, labels))
    assert davies_bouldin_scorer(kmeans, X) == pytest.approx(
        -davies_bouldin_score(X, labels)
    )
    assert calinski_harabasz_scorer(kmeans, X) == pytest.approx(
        calinski_harabasz_score(X, labels)
    )
    assert silhouette_scorer(kmeans, X) > 0.5
    assert davies_bouldin_scorer(kmeans, X) < 0  # negated: greater is better
    for scorer in INTERNAL.values():
        assert scorer(kmeans, X) > scorer(random, X)
        assert isinstance(scorer(kmeans, X), float)
    assert internal_scorer(kmeans, X) == {
        name: scorer(kmeans, X) for name, scorer in INTERNAL.items()
    }


def test_label_scorers_compare_with_y_and_refuse_without_it(blobs, kmeans):
    X, y = blobs
    random = FixedLabels(np.random.RandomState(0).randint(0, 4, len(X))).fit(X)
    for scorer, metric in LABEL_SCORERS:
        assert scorer(kmeans, X, y) == pytest.approx(metric(y, kmeans.labels_))
        assert scorer(kmeans, X, y) > 0.99  # the blobs are recovered
        assert scorer(kmeans, X, y) > scorer(random, X, y)
        with pytest.raises(ValueError, match="y is None"):
            scorer(kmeans, X)
    search = GridSearchCV(
        KMeans(n_init=1, random_state=0),
        {"n_clusters": [3, 4]},
        scoring=adjusted_rand_scorer,
        error_score="raise",
    )
    with pytest.raises(ValueError, match="pass them"):
        search.fit(X)  # no y
    assert search.fit(X, y).best_params_ == {"n_clusters": 4}


def test_numeric_pipeline_and_bare_clusterers(blobs):
    # (c) a Pipeline of numeric steps: embeddings = pipe[:-1].transform(X);
    # (d) a bare clusterer: the input is the embeddings
    X, _ = blobs
    pipe = Pipeline(
        [("scale", StandardScaler()), ("cluster", KMeansClusterer(n_clusters=4))]
    ).fit(X)
    points, labels = _embeddings_and_labels(pipe, X[:50])
    np.testing.assert_allclose(points, pipe[:-1].transform(X[:50]))
    np.testing.assert_array_equal(labels, pipe.predict(X[:50]))
    assert silhouette_scorer(pipe, X) == pytest.approx(
        cosine_silhouette(pipe[:-1].transform(X), pipe.predict(X))
    )
    bare = KMeansClusterer(n_clusters=4, random_state=0).fit(X)
    assert silhouette_scorer(bare, X) == pytest.approx(
        cosine_silhouette(X, bare.labels_)
    )
    # nested pipelines are looked into
    nested = Pipeline([("scale", StandardScaler()), ("inner", make_pipeline(bare))])
    nested.fit(X)
    assert silhouette_scorer(nested, X) == pytest.approx(silhouette_scorer(pipe, X))


def test_text_pipeline_with_sparse_embeddings():
    # (c) with texts as X and a sparse TF-IDF step: every internal score runs
    pipe = Pipeline(
        [("tfidf", TfidfVectorizer()), ("cluster", KMeans(5, random_state=0))]
    ).fit(SUMMARIES)
    points = pipe[:-1].transform(SUMMARIES)
    labels = pipe.predict(SUMMARIES)
    assert silhouette_scorer(pipe, SUMMARIES) == pytest.approx(
        cosine_silhouette(points, labels)
    )
    assert davies_bouldin_scorer(pipe, SUMMARIES) == pytest.approx(
        -davies_bouldin_score(points.toarray(), labels)
    )
    assert calinski_harabasz_scorer(pipe, SUMMARIES) > 0


def test_bare_conversation_clusterer_embeds_summaries_with_its_embedder():
    # (b) X = summaries; the fitted embedder_ gives the embeddings
    def fit(store):
        return ConversationClusterer(
            lsa(),
            KMeansClusterer(n_clusters=5),
            projector=PCA(2),
            max_clusters=2,
            store_embeddings=store,
            random_state=0,
        ).fit(SUMMARIES)

    model = fit(store=False)
    expected = cosine_silhouette(
        model.embedder_.transform(SUMMARIES), model.predict(SUMMARIES)
    )
    assert silhouette_scorer(model, SUMMARIES) == pytest.approx(expected)
    assert silhouette_scorer(model, SUMMARIES) > 0.3
    y = np.tile(np.repeat(np.arange(5), 2), 3)
    assert adjusted_rand_scorer(model, SUMMARIES, y) == pytest.approx(
        adjusted_rand_score(y, model.labels_)
    )

    # store_embeddings=True: the training summaries are not embedded again
    stored = fit(store=True)
    calls = []
    transform = stored.embedder_.transform
    stored.embedder_.transform = lambda X: calls.append(1) or transform(X)
    assert silhouette_scorer(stored, SUMMARIES) == pytest.approx(expected, rel=1e-5)
    assert len(calls) == 1  # predict only
    silhouette_scorer(stored, SUMMARIES[:12])
    assert len(calls) == 3  # new summaries: embedded for the score and predict


@pytest.fixture(scope="module")
def conversations():
    chosen = ["cooking_recipes", "python_debugging", "travel_planning"]
    sample = load_sample_conversations(topics=chosen)
    return sample, np.array([c.metadata["topic"] for c in sample])


def kura_pipeline(**kwargs):
    pipe = make_kura_pipeline(embedder=lsa(), max_clusters=2, **kwargs)
    return pipe.set_params(cluster__projector=PCA(2))


def test_kura_pipeline_scores_the_embedded_summaries(conversations):
    # (a) X = conversations: summaries from pipe[:-1], embeddings from the
    # fitted clusterer's embedder_
    sample, topics = conversations
    pipe = kura_pipeline(clusterer=KMeansClusterer(n_clusters=3)).fit(sample)
    summaries = pipe[:-1].transform(sample)
    points, labels = _embeddings_and_labels(pipe, sample)
    np.testing.assert_allclose(points, pipe[-1].embedder_.transform(summaries))
    np.testing.assert_array_equal(labels, pipe.predict(sample))
    assert silhouette_scorer(pipe, sample) == pytest.approx(
        cosine_silhouette(points, labels)
    )
    assert normalized_mutual_info_scorer(pipe, sample, topics) == pytest.approx(
        normalized_mutual_info_score(topics, labels)
    )

    idx = np.arange(len(sample))
    search = GridSearchCV(
        kura_pipeline(),
        {"cluster__clusterer__n_clusters": [2, 3, 6]},
        cv=[(idx, idx)],
        scoring={"silhouette": silhouette_scorer, "ari": adjusted_rand_scorer},
        refit="silhouette",
        error_score="raise",
    ).fit(sample, topics)
    scores = search.cv_results_["mean_test_silhouette"]
    assert np.all((scores > -1) & (scores <= 1))
    assert (
        search.best_estimator_[-1].n_clusters_
        == (search.best_params_["cluster__clusterer__n_clusters"])
    )


@pytest.fixture(scope="module")
def noisy_blobs(blobs):
    X, _ = blobs
    far = np.array([[40.0] * 8, [-40.0] * 4 + [40.0] * 4, [40.0] * 4 + [-40.0] * 4])
    return np.vstack([X, far])


def test_transductive_idiom_in_a_grid_search(noisy_blobs, blobs):
    X = noisy_blobs
    idx = np.arange(len(X))
    # kura's HDBSCANClusterer has predict; scored on the training set
    search = GridSearchCV(
        HDBSCANClusterer(),
        {"min_cluster_size": [5, 10, 20]},
        cv=[(idx, idx)],
        scoring=silhouette_scorer,
        error_score="raise",
    ).fit(X)
    assert search.best_estimator_.n_clusters_ == 4
    assert search.best_score_ > 0.5
    # without predict, the fitted labels_ are scored
    X = blobs[0]
    idx = np.arange(len(X))
    search = GridSearchCV(
        AgglomerativeClustering(),
        {"n_clusters": [2, 3, 4, 6, 8]},
        cv=[(idx, idx)],
        scoring=silhouette_scorer,
        error_score="raise",
    ).fit(X)
    assert search.best_params_ == {"n_clusters": 4}
    best = search.best_estimator_
    assert search.best_score_ == pytest.approx(cosine_silhouette(X, best.labels_))
    # an unfitted clusterer, or an estimator that does not cluster
    with pytest.raises(NotFittedError):
        silhouette_scorer(AgglomerativeClustering(), X)
    with pytest.raises(TypeError, match="neither predict nor labels_"):
        silhouette_scorer(StandardScaler().fit(X), X)
    # held-out folds cannot be scored by labels_: a clear error
    with pytest.raises(ValueError, match=r"cv=\[\(idx, idx\)\]"):
        GridSearchCV(
            AgglomerativeClustering(),
            {"n_clusters": [4]},
            cv=3,
            scoring=silhouette_scorer,
            error_score="raise",
        ).fit(X)


def test_noise_is_left_out_of_internal_scores_and_counted_by_label_scores(
    noisy_blobs, blobs
):
    X = noisy_blobs
    hdb = HDBSCAN(min_cluster_size=10, copy=True).fit(X)  # sklearn's: no predict
    labels = hdb.labels_
    keep = labels != -1
    assert not keep.all()
    assert silhouette_scorer(hdb, X) == pytest.approx(
        cosine_silhouette(X[keep], labels[keep])
    )
    assert davies_bouldin_scorer(hdb, X) == pytest.approx(
        -davies_bouldin_score(X[keep], labels[keep])
    )
    y = np.concatenate([blobs[1], [4, 4, 4]])
    assert adjusted_rand_scorer(hdb, X, y) == pytest.approx(
        adjusted_rand_score(y, labels)
    )
    # the same labels with the noise as a cluster of its own score differently
    as_cluster = FixedLabels(np.where(keep, labels, labels.max() + 1)).fit(X)
    assert silhouette_scorer(as_cluster, X) != pytest.approx(silhouette_scorer(hdb, X))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_degenerate_candidates_get_the_worst_score_and_never_raise(blobs):
    X, _ = blobs
    n = len(X)
    idx = np.arange(n)
    search = GridSearchCV(
        KMeans(n_init=1, random_state=0),
        {"n_clusters": [1, 4]},
        cv=[(idx, idx)],
        scoring=INTERNAL,
        refit="silhouette",
        error_score="raise",
    )
    with pytest.warns(UserWarning, match="non-finite"):  # DB's -inf
        search.fit(X)
    for name, worst in WORST.items():
        assert search.cv_results_[f"mean_test_{name}"][0] == worst
        assert search.cv_results_[f"mean_test_{name}"][1] > worst
    assert search.best_params_ == {"n_clusters": 4}

    one_cluster_and_noise = np.where(idx < 10, -1, 0)
    for labels in ([-1] * n, one_cluster_and_noise, np.arange(n)):  # noise,
        model = FixedLabels(labels).fit(X)  # 1 cluster, a cluster per point
        for name, scorer in INTERNAL.items():
            assert scorer(model, X) == WORST[name]
        assert internal_scorer(model, X) == WORST
    # an HDBSCAN candidate that finds nothing: worst, not an exception
    search = GridSearchCV(
        HDBSCANClusterer(),
        {"min_cluster_size": [10, 200]},
        cv=[(idx, idx)],
        scoring=silhouette_scorer,
        error_score="raise",
    ).fit(X)
    assert list(search.cv_results_["mean_test_score"])[1] == -1.0


def test_cluster_count_scorer_formula(blobs):
    X, _ = blobs
    km6 = KMeans(6, n_init=1, random_state=0).fit(X)
    base = silhouette_scorer(km6, X)
    too_many = make_cluster_count_scorer(max_clusters=4, penalty=0.1)
    assert too_many(km6, X) == pytest.approx(base - 0.1 * 2)
    too_few = make_cluster_count_scorer(min_clusters=8, penalty=0.05)
    assert too_few(km6, X) == pytest.approx(base - 0.05 * 2)
    inside = make_cluster_count_scorer(min_clusters=2, max_clusters=6)
    assert inside(km6, X) == base
    hard = make_cluster_count_scorer(max_clusters=5, penalty=np.inf)
    assert hard(km6, X) == -np.inf
    assert make_cluster_count_scorer(max_clusters=5, penalty=np.inf)(
        KMeans(4, n_init=1, random_state=0).fit(X), X
    ) == pytest.approx(silhouette_scorer(KMeans(4, n_init=1, random_state=0).fit(X), X))
    ch = make_cluster_count_scorer(calinski_harabasz_scorer, max_clusters=5, penalty=3)
    assert ch(km6, X) == pytest.approx(calinski_harabasz_scorer(km6, X) - 3)
    # any callable as base; label scorers pass y through
    custom = make_cluster_count_scorer(lambda est, X, y=None: 1.0, max_clusters=5)
    assert custom(km6, X) == pytest.approx(0.9)
    y = km6.labels_
    ari = make_cluster_count_scorer(adjusted_rand_scorer, max_clusters=5)
    assert ari(km6, X, y) == pytest.approx(0.9)
    with pytest.raises(ValueError, match="y is None"):
        ari(km6, X)
    # picklable, readable
    restored = pickle.loads(pickle.dumps(too_many))
    assert restored(km6, X) == pytest.approx(too_many(km6, X))
    assert "silhouette_scorer" in repr(too_many) and "max_clusters=4" in repr(too_many)
    for bad in (
        {"min_clusters": 0},
        {"min_clusters": 5, "max_clusters": 4},
        {"penalty": -1},
        {"penalty": float("nan")},
    ):
        with pytest.raises(ValueError):
            make_cluster_count_scorer(**bad)
    with pytest.raises(TypeError):
        make_cluster_count_scorer("silhouette")


def test_parallel_multimetric_search_refits_on_the_silhouette(blobs):
    X, y = blobs
    idx = np.arange(len(X))
    scoring = {
        "silhouette": silhouette_scorer,
        "davies_bouldin": davies_bouldin_scorer,
        "count": make_cluster_count_scorer(max_clusters=3),
        "ari": adjusted_rand_scorer,
    }

    def search(n_jobs):
        return GridSearchCV(
            Pipeline(
                [("scale", StandardScaler()), ("cluster", KMeansClusterer(n_init=2))]
            ),
            {"cluster__n_clusters": [2, 3, 4, 6], "cluster__random_state": [0]},
            cv=[(idx, idx)],
            scoring=scoring,
            refit="silhouette",
            n_jobs=n_jobs,
            error_score="raise",
        ).fit(X, y)

    parallel = search(n_jobs=2)  # loky workers unpickle the scorers
    assert parallel.best_params_["cluster__n_clusters"] == 4
    results = parallel.cv_results_
    assert {f"mean_test_{name}" for name in scoring} <= set(results)
    assert results["rank_test_ari"][2] == 1
    # the count scorer penalises the 4 and 6 cluster candidates
    np.testing.assert_allclose(
        results["mean_test_count"],
        results["mean_test_silhouette"] - 0.1 * np.array([0, 0, 1, 3]),
    )
    serial = search(n_jobs=1)
    for name in scoring:
        np.testing.assert_allclose(
            results[f"mean_test_{name}"], serial.cv_results_[f"mean_test_{name}"]
        )
    # internal_scorer: the same internal scores from one callable
    single = GridSearchCV(
        serial.estimator,
        serial.param_grid,
        cv=[(idx, idx)],
        scoring=internal_scorer,
        refit="silhouette",
    ).fit(X)
    for name in ("silhouette", "davies_bouldin"):
        np.testing.assert_allclose(
            single.cv_results_[f"mean_test_{name}"], results[f"mean_test_{name}"]
        )
    assert single.best_params_ == parallel.best_params_


def test_noise_aware_silhouette_counts_noise_as_zero(blobs, kmeans):
    X, _ = blobs
    # without noise it is the silhouette
    assert noise_aware_silhouette_scorer(kmeans, X) == silhouette_scorer(kmeans, X)
    # the third of the points with the lowest silhouette called noise: the
    # kept points' silhouette x 2/3, i.e. the mean over all points with noise
    # scored 0
    from sklearn.metrics import silhouette_samples

    labels = kmeans.labels_.copy()
    per_point = silhouette_samples(X, labels, metric="cosine")
    noise = per_point <= np.quantile(per_point, 1 / 3)
    labels[noise] = -1
    model = FixedLabels(labels).fit(X)
    kept = cosine_silhouette(X[~noise], labels[~noise])
    assert silhouette_scorer(model, X) == pytest.approx(kept)
    assert noise_aware_silhouette_scorer(model, X) == pytest.approx(
        kept * (~noise).sum() / len(X)
    )
    # the silhouette prefers the candidate that drops its hard points as
    # noise; the noise-aware score prefers the one that clusters them all
    assert silhouette_scorer(model, X) > silhouette_scorer(kmeans, X)
    assert noise_aware_silhouette_scorer(kmeans, X) > noise_aware_silhouette_scorer(
        model, X
    )
    idx = np.arange(len(X))
    search = GridSearchCV(
        FixedLabels(kmeans.labels_),
        {"labels": [labels, kmeans.labels_]},
        cv=[(idx, idx)],
        scoring=internal_scorer,
        refit="noise_aware_silhouette",
    ).fit(X)
    assert search.best_index_ == 1


def test_refit_without_store_embeddings_drops_the_stale_embeddings():
    # issue 12, item 2: a refit with store_embeddings=False kept the first
    # fit's embeddings_, and the scorer reused them for the new summaries
    first, second = SUMMARIES[:15], SUMMARIES[15:]
    model = ConversationClusterer(
        lsa(),
        KMeansClusterer(n_clusters=3),
        projector=PCA(2),
        max_clusters=2,
        store_embeddings=True,
        random_state=0,
    ).fit(first)
    model.set_params(store_embeddings=False).fit(second)
    expected = cosine_silhouette(
        model.embedder_.transform(second), model.predict(second)
    )
    assert silhouette_scorer(model, second) == pytest.approx(expected)
    assert not hasattr(model, "embeddings_")
