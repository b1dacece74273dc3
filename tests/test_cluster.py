"""Clusterers: Kura's sizing rule, dtype, noise handling, prediction."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.datasets import make_blobs
from sklearn.pipeline import Pipeline

from kura_sklearn import HDBSCANClusterer, KMeansClusterer, MiniBatchKMeansClusterer
from kura_sklearn.cluster import kura_n_clusters

KMEANS_LIKE = [KMeansClusterer, MiniBatchKMeansClusterer]


@pytest.mark.parametrize(
    "n_samples, per_group, expected",
    [(1, 10, 1), (10, 10, 1), (11, 10, 2), (95, 10, 10), (100, 7, 15), (1000, 10, 100)],
)
def test_kura_n_clusters_is_ceiling_of_n_over_group(n_samples, per_group, expected):
    # Kura's rule: k = ceil(n / clusters_per_group), never below 1.
    assert kura_n_clusters(n_samples, per_group) == expected


@pytest.mark.parametrize("Clusterer", KMEANS_LIKE)
@pytest.mark.parametrize("n_samples, per_group", [(100, 10), (57, 5), (30, 40)])
def test_kmeans_clusterers_resolve_n_clusters_at_fit(Clusterer, n_samples, per_group):
    # n_clusters_ follows the rule, is set at fit only, and labels use all of it.
    X, _ = make_blobs(n_samples, n_features=4, centers=5, random_state=0)
    est = Clusterer(clusters_per_group=per_group, random_state=0)
    assert not hasattr(est, "n_clusters_")
    est.fit(X)
    assert est.n_clusters_ == kura_n_clusters(n_samples, per_group)
    assert est.cluster_centers_.shape == (est.n_clusters_, 4)
    assert est.labels_.max() < est.n_clusters_
    assert est.get_params()["n_clusters"] is None  # the parameter is untouched


@pytest.mark.parametrize("Clusterer", KMEANS_LIKE)
def test_fixed_n_clusters_overrides_the_rule(Clusterer):
    X, _ = make_blobs(200, centers=3, random_state=0)
    est = Clusterer(n_clusters=3, clusters_per_group=10, random_state=0).fit(X)
    assert est.n_clusters_ == 3


def test_kmeans_clusterer_matches_sklearn_kmeans():
    # The wrapper adds the sizing rule and nothing else: same labels and inertia.
    X, _ = make_blobs(300, n_features=8, centers=6, random_state=1)
    ours = KMeansClusterer(clusters_per_group=50, random_state=0).fit(X)
    raw = KMeans(n_clusters=6, random_state=0).fit(X)
    assert_array_equal(ours.labels_, raw.labels_)
    assert ours.inertia_ == pytest.approx(raw.inertia_)


@pytest.mark.parametrize("Clusterer", KMEANS_LIKE)
def test_float32_embeddings_stay_float32(Clusterer):
    # Embeddings are float32; doubling their memory would hurt at scale.
    X, _ = make_blobs(100, n_features=16, centers=4, random_state=0)
    est = Clusterer(clusters_per_group=25, random_state=0).fit(X.astype(np.float32))
    assert est.cluster_centers_.dtype == np.float32


@pytest.mark.parametrize("Clusterer", KMEANS_LIKE)
def test_predict_assigns_training_points_to_their_cluster(Clusterer):
    X, _ = make_blobs(200, centers=4, cluster_std=0.5, random_state=0)
    est = Clusterer(n_clusters=4, random_state=0).fit(X)
    assert_array_equal(est.predict(X), est.labels_)


def test_hdbscan_keeps_noise_as_minus_one():
    # An isolated point is noise (-1) in labels_ and in predict; it never
    # becomes a cluster of its own.
    rng = np.random.RandomState(0)
    X = np.vstack(
        [rng.normal(0, 0.1, (30, 2)), rng.normal(3, 0.1, (30, 2)), [[40.0, -40.0]]]
    )
    hdb = HDBSCANClusterer(min_cluster_size=5).fit(X)
    assert hdb.n_clusters_ == 2
    assert hdb.labels_[-1] == -1
    assert set(np.unique(hdb.labels_)) == {-1, 0, 1}
    assert hdb.predict([[-40.0, 40.0]])[0] == -1
    assert hdb.probabilities_[-1] == 0


def test_hdbscan_predict_places_new_points_in_their_dense_region():
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(0, 0.1, (30, 2)), rng.normal(3, 0.1, (30, 2))])
    hdb = HDBSCANClusterer(min_cluster_size=5).fit(X)
    new = np.array([[0.02, -0.01], [3.01, 2.98]])
    assert_array_equal(hdb.predict(new), [hdb.labels_[0], hdb.labels_[30]])


def test_hdbscan_with_too_few_points_is_all_noise():
    # Fewer points than min_cluster_size cannot form a cluster: all noise.
    hdb = HDBSCANClusterer(min_cluster_size=5).fit(np.random.RandomState(0).rand(4, 3))
    assert_array_equal(hdb.labels_, [-1] * 4)
    assert hdb.n_clusters_ == 0
    assert_array_equal(hdb.predict(np.zeros((2, 3))), [-1, -1])


@pytest.mark.parametrize(
    "clusterer",
    [
        KMeansClusterer(n_clusters=2, random_state=0),
        HDBSCANClusterer(min_cluster_size=2, min_samples=1),
        AgglomerativeClustering(n_clusters=2),
    ],
    ids=lambda e: type(e).__name__,
)
def test_any_sklearn_clusterer_fits_after_the_embedder(clusterer):
    # Our clusterers and plain sklearn ones are interchangeable at the end of a
    # Pipeline of text embeddings.
    from kura_sklearn import SentenceTransformerEmbedder

    texts = [
        "reset my bank card pin",
        "my card pin is blocked",
        "change card pin",
        "bake bread at home",
        "sourdough bread recipe",
        "bread flour to use",
    ]
    pipe = Pipeline([("embed", SentenceTransformerEmbedder()), ("cluster", clusterer)])
    labels = pipe.fit_predict(texts)
    assert len(labels) == 6
    assert len(set(labels[:3])) == 1 and len(set(labels[3:])) == 1
    assert labels[0] != labels[3]


# ---------------------------------------------------------------------------
# KMeansTreeClusterer: Kura's many small clusters at near-linear cost


def _tree(**params):
    from kura_sklearn.cluster import KMeansTreeClusterer

    defaults = dict(branching_factor=4, max_leaf_clusters=8, random_state=0)
    return KMeansTreeClusterer(**{**defaults, **params})


def test_kmeans_tree_follows_the_rule_and_predict_matches_labels():
    # k from Kura's rule; every cluster used; predict on the training points
    # routes them down the tree to their own labels.
    X, _ = make_blobs(600, n_features=8, centers=20, random_state=0)
    tree = _tree().fit(X.astype(np.float32))
    assert tree.n_clusters_ == kura_n_clusters(600, 10) == 60
    assert tree.cluster_centers_.shape == (60, 8)
    assert tree.cluster_centers_.dtype == np.float32
    assert tree.depth_ >= 2 and tree.n_leaves_ > 1
    assert len(np.unique(tree.labels_)) == 60
    assert_array_equal(tree.predict(X.astype(np.float32)), tree.labels_)
    assert tree.score(X.astype(np.float32)) == pytest.approx(-tree.inertia_, rel=1e-4)


def test_kmeans_tree_recovers_separated_blobs_like_flat_kmeans():
    # On well separated blobs (one cluster each) splits never cut a blob, so
    # the tree finds the same partition as flat K-means.
    from sklearn.metrics import adjusted_rand_score

    X, y = make_blobs(
        800,
        n_features=16,
        centers=40,
        cluster_std=0.2,
        center_box=(-50, 50),
        random_state=1,
    )
    tree = _tree(n_clusters=40).fit(X)
    assert adjusted_rand_score(y, tree.labels_) > 0.99
    flat = KMeans(n_clusters=40, n_init=5, random_state=0).fit(X)
    assert tree.inertia_ <= 1.05 * flat.inertia_


def test_kmeans_tree_small_share_is_one_flat_kmeans():
    # With n_clusters within max_leaf_clusters there is no split at all.
    X, _ = make_blobs(100, centers=3, random_state=0)
    tree = _tree(n_clusters=3).fit(X)
    assert tree.depth_ == 0 and tree.n_leaves_ == 1
    flat = KMeans(n_clusters=3, n_init=1, random_state=0).fit(X)
    assert tree.inertia_ == pytest.approx(flat.inertia_, rel=0.05)


def test_kmeans_tree_is_reproducible_and_threads_do_not_change_it():
    X, _ = make_blobs(500, n_features=4, centers=10, random_state=0)
    a = _tree().fit(X)
    b = _tree(n_jobs=2).fit(X)
    assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_kmeans_tree_degenerate_inputs_terminate():
    # Identical points cannot be split: they become one leaf, no endless
    # recursion; n_clusters == n_samples gives one point per cluster.
    same = np.ones((50, 3))
    tree = _tree(n_clusters=20).fit(same)
    assert tree.labels_.shape == (50,)
    X = np.random.RandomState(0).normal(size=(30, 2))
    exact = _tree(n_clusters=30).fit(X)
    assert len(np.unique(exact.labels_)) == 30 and exact.inertia_ == pytest.approx(0)
    with pytest.raises(ValueError, match="n_clusters"):
        _tree(n_clusters=31).fit(X)


def test_kmeans_tree_duplicates_make_one_cluster_per_distinct_point():
    # The same text many times (Kura's data is full of "hi"): a leaf with
    # fewer distinct points than its share gets one cluster per distinct
    # point, without K-means' duplicate-points warning or repeated centres.
    import warnings

    rng = np.random.RandomState(0)
    distinct = rng.normal(size=(12, 4)).astype(np.float32)
    X = distinct[rng.randint(0, 12, size=300)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tree = _tree(n_clusters=30).fit(X)
    assert tree.n_clusters_ == 12
    assert len(np.unique(tree.cluster_centers_, axis=0)) == 12
    assert tree.inertia_ == pytest.approx(0, abs=1e-3)  # float32 rounding
    assert_array_equal(tree.predict(X), tree.labels_)
    # identical rows share a label
    _, first = np.unique(X, axis=0, return_inverse=True)
    assert len(np.unique(tree.labels_)) == 12
    assert all(len(set(tree.labels_[first.ravel() == g])) == 1 for g in range(12))


def test_kmeans_tree_sample_weight_and_split_sampling():
    # Zero-weight points do not pull centres; splits fitted on a sample still
    # assign every point.
    X, _ = make_blobs(400, n_features=4, centers=8, random_state=0)
    w = np.ones(400)
    w[:100] = 0
    tree = _tree(max_split_samples=50).fit(X, sample_weight=w)
    assert tree.labels_.shape == (400,)
    assert_array_equal(tree.predict(X), tree.labels_)


def test_kmeans_tree_reads_a_memmap_without_loading_it_whole(tmp_path):
    # Memory-mapped float32 input works as is (blocks are read as needed).
    X, _ = make_blobs(300, n_features=8, centers=6, random_state=0)
    path = tmp_path / "X.npy"
    np.save(path, X.astype(np.float32))
    mapped = np.load(path, mmap_mode="r")
    tree = _tree().fit(mapped)
    assert_array_equal(tree.labels_, _tree().fit(X.astype(np.float32)).labels_)


def test_share_of_clusters_adds_up_and_respects_group_sizes():
    from kura_sklearn.cluster._tree import _share

    rng = np.random.RandomState(0)
    for _ in range(200):
        counts = rng.randint(0, 30, size=rng.randint(2, 10))
        counts[rng.randint(len(counts))] += 1
        total = rng.randint(max(1, np.count_nonzero(counts)), counts.sum() + 1)
        alloc = _share(total, counts.astype(float), counts)
        assert alloc.sum() == total
        assert (alloc <= counts).all() and (alloc[counts > 0] >= 1).all()


def test_hdbscan_predict_leaves_the_fitted_state_unchanged():
    # issue 12, item 12: approximate_predict's tree query updated counters
    # in the fitted estimator, so its pickle (and joblib hash) changed
    import pickle

    X, _ = make_blobs(n_samples=120, centers=3, random_state=0)
    model = HDBSCANClusterer(min_cluster_size=5).fit(X)
    before = pickle.dumps(model)
    first = model.predict(X[:20] + 0.01)
    assert pickle.dumps(model) == before
    assert_array_equal(model.predict(X[:20] + 0.01), first)


@pytest.mark.parametrize("cls", [KMeansClusterer, MiniBatchKMeansClusterer])
def test_kmeans_score_is_minus_the_inertia(cls):
    # issue 12, item 12: KMeansClusterer had no score (KMeansTreeClusterer had)
    X, _ = make_blobs(n_samples=200, centers=4, random_state=0)
    model = cls(n_clusters=4, random_state=0).fit(X)
    assert model.score(X) == pytest.approx(model.estimator_.score(X))
    if cls is KMeansClusterer:
        assert model.score(X) == pytest.approx(-model.inertia_)
    assert model.score(X[:50]) > model.score(X)  # fewer points, less inertia
