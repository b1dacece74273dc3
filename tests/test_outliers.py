"""Outliers on predict: thresholds learned at fit, -1 and a status for far points."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.decomposition import PCA
from test_conversation_clusterer import SUMMARIES

from kura_sklearn import ConversationClusterer, HDBSCANClusterer, KMeansClusterer
from kura_sklearn.cluster import (
    centroid_distances,
    leave_one_out_distances,
    outlier_thresholds,
)

FAR = [
    "the offside rule in football",
    "zebra migration patterns in the serengeti",
    "volcanic eruptions on Iceland",
]
NEAR = ["I cannot remember my password", "python import error"]


def blobs(rng, centres, spreads, n):
    """``n`` unit-ish points around each centre, with each blob's spread."""
    return np.vstack(
        [c + s * rng.normal(size=(n, len(c))) for c, s in zip(centres, spreads)]
    )


def sphere_directions(rng, k, d):
    directions = rng.normal(size=(k, d))
    return directions / np.linalg.norm(directions, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def model():
    return ConversationClusterer(
        clusterer=KMeansClusterer(n_clusters=5), projector=PCA(2), random_state=0
    ).fit(SUMMARIES)


# --- the functions -----------------------------------------------------------------


def test_leave_one_out_distances_exceed_in_sample_ones_and_skip_singletons():
    # a member pulls its own centroid towards itself: measured against the
    # others it is farther, as a new point would be
    rng = np.random.default_rng(0)
    X = blobs(rng, np.eye(3), [0.2, 0.2, 0.2], 6)[:13]  # last cluster: 1 member
    labels = np.repeat([0, 1, 2], 6)[:13]
    labels[0] = -1
    loo = leave_one_out_distances(X, labels, 3)
    in_sample = centroid_distances(X, _centroids(X, labels, 3), labels)
    members = (labels >= 0) & (labels < 2)
    assert np.all(loo[members] > in_sample[members])
    assert np.isnan(loo[0]) and np.isnan(loo[12])  # noise, the only member


def _centroids(X, labels, k):
    return np.vstack([X[labels == c].mean(axis=0) for c in range(k)])


def test_thresholds_follow_each_clusters_spread_and_the_quantile():
    rng = np.random.default_rng(0)
    X = blobs(rng, np.eye(3), [0.05, 0.3, 0.1], 40)
    labels = np.repeat([0, 1, 2], 40)
    t99 = outlier_thresholds(X, labels, 3, quantile=0.99)
    assert t99[0] < t99[2] < t99[1]
    t80 = outlier_thresholds(X, labels, 3, quantile=0.8)
    assert np.all(t80 < t99)
    # at quantile 1 every member, measured leave-one-out, is within
    t100 = outlier_thresholds(X, labels, 3, quantile=1.0)
    loo = leave_one_out_distances(X, labels, 3)
    assert np.all(loo <= t100[labels])


def test_new_points_like_the_training_ones_are_assigned_and_others_are_not():
    # calibration: quantile 0.99 should assign about 99% of fresh draws from
    # the training distribution, including for small clusters (10 members,
    # Kura's default), thanks to the leave-one-out distances
    rng = np.random.default_rng(1)
    k, d, n = 30, 32, 10
    centres = sphere_directions(rng, k, d)
    spreads = rng.uniform(0.05, 0.15, size=k)
    X = blobs(rng, centres, spreads, n)
    labels = np.repeat(np.arange(k), n)
    thresholds = outlier_thresholds(X, labels, k, quantile=0.99)
    fresh = blobs(rng, centres, spreads, 50)
    fresh_labels = np.repeat(np.arange(k), 50)
    distances = centroid_distances(fresh, _centroids(X, labels, k), fresh_labels)
    assert np.mean(distances <= thresholds[fresh_labels]) > 0.95
    # unrelated directions are far from every cluster
    other = sphere_directions(rng, 200, d)
    sims = other @ (centres / np.linalg.norm(centres, axis=1, keepdims=True)).T
    nearest = sims.argmax(axis=1)
    distances = centroid_distances(other, _centroids(X, labels, k), nearest)
    assert np.mean(distances > thresholds[nearest]) > 0.9


def test_small_clusters_back_off_to_the_pooled_distance():
    # a cluster of two tight points gets a threshold near the others', not
    # one fitted to two distances; a single member gets the pooled one
    rng = np.random.default_rng(0)
    X = np.vstack(
        [
            blobs(rng, np.eye(4)[:2], [0.2, 0.2], 30),
            [[0, 0, 1, 0.001], [0, 0, 1, -0.001]],
            [[0, 0, 0, 1]],
        ]
    )
    labels = np.repeat([0, 1, 2, 3], [30, 30, 2, 1])
    t = outlier_thresholds(X, labels, 4, quantile=0.99)
    assert t[2] > 0.5 * t[:2].min()
    assert t[1] * 0.5 < t[3] < 2 * t[0]


def test_thresholds_need_two_members_somewhere():
    X = np.eye(3)
    assert np.all(np.isinf(outlier_thresholds(X, [0, 1, 2], 3, quantile=0.99)))


# --- ConversationClusterer ---------------------------------------------------------


def test_fit_learns_one_threshold_per_base_cluster(model):
    thresholds = model.outlier_thresholds_
    assert thresholds.shape == (model.n_clusters_,)
    assert np.all(np.isfinite(thresholds)) and np.all(thresholds > 0)
    looser = clone(model).set_params(outlier_quantile=1.0).fit(SUMMARIES)
    assert np.all(looser.outlier_thresholds_ >= thresholds)


def test_far_summaries_are_outliers_and_near_ones_assigned(model):
    status = model.predict_status(FAR + NEAR)
    assert status["status"].tolist() == ["outlier"] * 3 + ["assigned"] * 2
    assert_array_equal(status["cluster_id"], model.predict(FAR + NEAR))
    assert np.all(status["cluster_id"][:3] == -1)
    # the cluster each would have joined, and why it did not
    assert np.all(status["nearest_cluster_id"] >= 0)
    far = status.iloc[:3]
    assert np.all(far["distance"] > far["threshold"])
    assert_allclose(
        status["threshold"], model.outlier_thresholds_[status["nearest_cluster_id"]]
    )


def test_training_members_are_assigned(model):
    status = model.predict_status(SUMMARIES)
    assert (status["status"] == "assigned").all()
    assert_array_equal(status["cluster_id"], model.labels_)


def test_status_table_is_indexed_by_chat_id(model):
    import pandas as pd

    frame = pd.DataFrame({"summary": FAR[:1] + NEAR[:1]}, index=["a", "b"])
    status = model.predict_status(frame)
    assert status.index.tolist() == ["a", "b"] and status.index.name == "chat_id"
    assert list(status.columns) == [
        "cluster_id",
        "status",
        "nearest_cluster_id",
        "distance",
        "threshold",
    ]


def test_outlier_quantile_none_restores_nearest_cluster_placement(model):
    every = clone(model).set_params(outlier_quantile=None).fit(SUMMARIES)
    assert np.all(np.isinf(every.outlier_thresholds_))
    status = every.predict_status(FAR + NEAR)
    assert (status["status"] == "assigned").all()
    assert_array_equal(status["cluster_id"], status["nearest_cluster_id"])
    assert_array_equal(every.labels_, model.labels_)  # fit is otherwise the same


@pytest.mark.parametrize("value", [0, -0.5, 1.5, "high"])
def test_outlier_quantile_is_validated_at_fit(value):
    model = ConversationClusterer(outlier_quantile=value)  # construction accepts
    with pytest.raises(ValueError, match="outlier_quantile"):
        model.fit(SUMMARIES)


def test_fitted_thresholds_survive_pickle_and_clone_keeps_the_parameter(model):
    restored = pickle.loads(pickle.dumps(model))
    assert_array_equal(restored.outlier_thresholds_, model.outlier_thresholds_)
    assert restored.predict_status(FAR + NEAR).equals(model.predict_status(FAR + NEAR))
    tuned = clone(clone(model).set_params(outlier_quantile=0.9))
    assert tuned.get_params()["outlier_quantile"] == 0.9
    assert not hasattr(tuned, "outlier_thresholds_")


def test_a_model_fitted_before_outliers_existed_still_predicts(model):
    # a pipeline pickled by an older version has no outlier_thresholds_:
    # it places every summary, as it did then
    old = pickle.loads(pickle.dumps(model))
    del old.outlier_thresholds_
    status = old.predict_status(FAR)
    assert (status["status"] == "assigned").all()
    assert np.all(np.isinf(status["threshold"]))


def test_hdbscan_noise_is_an_outlier_with_no_nearest_cluster():
    model = ConversationClusterer(
        clusterer=HDBSCANClusterer(min_cluster_size=3),
        projector=PCA(2),
        random_state=0,
    ).fit(SUMMARIES + FAR)
    status = model.predict_status(SUMMARIES + FAR)
    noise = status["nearest_cluster_id"] == -1
    assert noise.any()
    assert (status["status"][noise] == "outlier").all()
    assert status["distance"][noise].isna().all()
    # whatever the clusterer places is judged by the thresholds as well
    assert_array_equal(
        status["status"] == "outlier", np.asarray(model.predict(SUMMARIES + FAR)) == -1
    )
