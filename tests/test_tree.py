"""ClusterTree: the one record type of a fitted tree and the walks over it."""

import dataclasses
import pickle

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.decomposition import PCA

from kura_sklearn import ConversationClusterer, HDBSCANClusterer, KMeansClusterer
from kura_sklearn.hierarchy import Cluster, ClusterTree

TEXTS = [
    f"{topic} question number {i}"
    for topic in ("password reset", "sourdough bread", "python error", "tax return")
    for i in range(6)
] + ["zebra migration in the serengeti"]


def uneven_tree():
    """Bases 0, 1 under 3 (level 1), 3 under 4 (level 3: a skipped level);
    base 2 is a root on its own."""
    return ClusterTree(
        [
            Cluster(0, "a", "", 3, 0, ("r0", "r1")),
            Cluster(1, "b", "", 3, 0, ("r2",)),
            Cluster(2, "c", "", None, 0, ("r3",)),
            Cluster(3, "ab", "", 4, 1, ("r0", "r1", "r2"), (0, 1)),
            Cluster(4, "top", "", None, 3, ("r0", "r1", "r2"), (3,)),
        ]
    )


def walk_up(tree, cluster_id):
    """The reference: follow parent_id links one by one."""
    chain = [cluster_id]
    while tree[chain[-1]].parent_id is not None:
        chain.append(tree[chain[-1]].parent_id)
    return chain


def test_walks_on_an_uneven_tree():
    tree = uneven_tree()
    assert tree.n_base == 3 and tree.n_levels == 4 and tree.roots == (2, 4)
    assert_array_equal(tree.parents, [3, 3, -1, 4, -1])
    assert_array_equal(tree.levels, [0, 0, 0, 1, 3])
    assert tree.children(3) == (0, 1) and tree.children(0) == ()
    assert tree.ancestors(1) == [1, 3, 4] and tree.ancestors(2) == [2]
    assert tree.root_of(0) == 4 and tree.root_of(2) == 2
    assert_array_equal(tree.root_of([0, -1, 2, 3]), [4, -1, 2, 4])
    # level 2 is skipped by 0's chain; noise rows are empty
    assert_array_equal(
        tree.ancestor_matrix([0, -1, 2]),
        [[0, 3, -1, 4], [-1, -1, -1, -1], [2, -1, -1, -1]],
    )
    rows = tree.member_rows([1, 0, -1, 0, 2])
    assert [r.tolist() for r in rows] == [[1, 3], [0], [4], [1, 3, 0], [1, 3, 0]]


def test_count_and_slug_are_computed_and_records_are_frozen():
    tree = uneven_tree()
    assert [c.count for c in tree] == [2, 1, 1, 3, 3]
    assert tree[3].slug == "ab-3"
    with pytest.raises(dataclasses.FrozenInstanceError):
        tree[0].name = "changed"
    with pytest.raises(dataclasses.FrozenInstanceError):
        tree.clusters = ()
    assert pickle.loads(pickle.dumps(tree)) == tree


@pytest.mark.parametrize(
    "clusters, match",
    [
        ([Cluster(1, "a", "", None, 0, ())], "ids are 0..n-1"),
        (
            [Cluster(0, "a", "", 1, 0, ()), Cluster(1, "p", "", None, 1, (), ())],
            "does not list it",
        ),
        (
            [Cluster(0, "a", "", None, 0, ()), Cluster(1, "p", "", None, 1, (), (0,))],
            "whose parent is None",
        ),
        (
            [Cluster(0, "p", "", None, 1, (), (1,)), Cluster(1, "a", "", 0, 0, ())],
            "level",
        ),
    ],
)
def test_an_inconsistent_tree_is_refused(clusters, match):
    with pytest.raises(ValueError, match=match):
        ClusterTree(clusters)


@pytest.mark.parametrize("noise", [False, True])
def test_fitted_tree_walks_match_the_parent_links(noise):
    # the vectorised walks (ancestor matrix, roots, member rows) agree with
    # following parent_id one cluster at a time, noise included
    clusterer = HDBSCANClusterer(min_cluster_size=3) if noise else None
    model = ConversationClusterer(
        clusterer=clusterer or KMeansClusterer(n_clusters=8),
        projector=PCA(2),
        max_clusters=2,
        random_state=0,
    ).fit(TEXTS)
    tree = model.tree_
    assert model.clusters_ is tree.clusters
    labels = model.labels_
    assert (labels == -1).any() == noise
    matrix = tree.ancestor_matrix(labels)
    for row, label in zip(matrix, labels):
        expected = np.full(tree.n_levels, -1)
        for c in walk_up(tree, label) if label >= 0 else []:
            expected[tree[c].level] = c
        assert_array_equal(row, expected)
    roots = [walk_up(tree, label)[-1] if label >= 0 else -1 for label in labels]
    assert_array_equal(tree.root_of(labels), roots)
    for cluster, rows in zip(tree, tree.member_rows(labels)):
        assert [model.chat_ids_[i] for i in rows] == list(cluster.member_ids)
        assert model.ancestors(cluster.id) == walk_up(tree, cluster.id)


def test_the_fitted_clusterer_stores_no_derived_cluster_values():
    # positions and scores are the tables' to compute from map_ and facets_
    model = ConversationClusterer(
        clusterer=KMeansClusterer(n_clusters=4), projector=PCA(2), random_state=0
    ).fit(TEXTS)
    assert not hasattr(model, "concerning_scores_")
    assert {f.name for f in dataclasses.fields(Cluster)}.isdisjoint(
        {"x", "y", "count", "slug", "mean_concerning_score"}
    )
    frame = model.hierarchy_frame()
    for cluster, rows in zip(model.tree_, model.tree_.member_rows(model.labels_)):
        x, y = model.map_[rows].mean(axis=0)
        assert frame.loc[cluster.id, "x"] == x and frame.loc[cluster.id, "y"] == y
        assert frame.loc[cluster.id, "slug"] == cluster.slug
