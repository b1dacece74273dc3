"""MapProjector: embeddings to 2-D map coordinates, with UMAP or PCA.

The UMAP tests share one fit (``umap_map``): umap-learn compiles with numba on
its first fit in every process (15-40 s on the 2-core machine), so they are
marked slow and skipped when umap-learn is not installed.
"""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.metrics import pairwise_distances, silhouette_score
from sklearn.preprocessing import normalize

from kura_sklearn.projection import MapProjector


def _blobs(n_per_blob=40, n_blobs=3, n_features=32, seed=0, dtype=np.float32):
    """Blobs around orthogonal directions: far apart in cosine and Euclidean."""
    rng = np.random.RandomState(seed)
    centers = 10.0 * np.eye(n_features)[:n_blobs]
    X = np.vstack([c + rng.normal(size=(n_per_blob, n_features)) for c in centers])
    labels = np.repeat(np.arange(n_blobs), n_per_blob)
    return X.astype(dtype), labels


def _assert_blobs_separated(coords, labels):
    # Every point is nearer its own blob's centre on the map than any other.
    centroids = np.vstack([coords[labels == k].mean(axis=0) for k in range(3)])
    nearest = pairwise_distances(coords, centroids).argmin(axis=1)
    np.testing.assert_array_equal(nearest, labels)
    assert silhouette_score(coords, labels) > 0.6


def _assert_new_points_near_neighbours(proj, X_train, X_new):
    # A new point lands by its 5 nearest training points (in input space),
    # within a small fraction of the distance between blob centres.
    coords = proj.transform(X_new)
    neighbours = pairwise_distances(X_new, X_train, metric="cosine").argsort(axis=1)
    expected = proj.embedding_[neighbours[:, :5]].mean(axis=1)
    scale = pairwise_distances(proj.embedding_).max()
    assert np.linalg.norm(coords - expected, axis=1).max() < 0.15 * scale


# ---------------------------------------------------------------------------
# PCA: fast, no umap needed


@pytest.mark.parametrize(
    "dtype_in, dtype_out",
    [(np.float32, np.float32), (np.float64, np.float64), (np.int64, np.float64)],
)
def test_pca_shape_and_dtype(dtype_in, dtype_out):
    X, _ = _blobs(dtype=np.float64)
    X = (X * 10).astype(dtype_in)
    proj = MapProjector(method="pca")
    coords = proj.fit_transform(X)
    assert proj.method_ == "pca"
    assert isinstance(proj.estimator_, PCA)
    assert coords.shape == proj.embedding_.shape == (len(X), 2)
    assert coords.dtype == proj.embedding_.dtype == dtype_out
    assert proj.transform(X[:5]).dtype == dtype_out
    assert proj.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(coords, proj.embedding_)
    assert list(proj.get_feature_names_out()) == ["mapprojector0", "mapprojector1"]


def test_pca_deterministic_with_random_state():
    X, _ = _blobs()
    a = MapProjector(method="pca", random_state=0).fit_transform(X)
    b = MapProjector(method="pca", random_state=0).fit_transform(X)
    np.testing.assert_array_equal(a, b)


def test_auto_picks_pca_below_threshold():
    # The bundled sample's size (300) stays on PCA with the default threshold.
    X, _ = _blobs(n_per_blob=100)
    assert len(X) < MapProjector().umap_min_samples
    proj = MapProjector().fit(X)
    assert proj.method_ == "pca"


def test_auto_falls_back_to_pca_without_umap(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)  # `import umap` now fails
    X, labels = _blobs()
    proj = MapProjector(umap_min_samples=10, random_state=0).fit(X)
    assert proj.method_ == "pca"
    _assert_blobs_separated(proj.embedding_, labels)
    with pytest.raises(ImportError, match="pip install umap-learn"):
        MapProjector(method="umap").fit(X)


def test_module_imports_without_umap():
    code = (
        "import sys; sys.modules['umap'] = None\n"
        "from kura_sklearn.projection import MapProjector\n"
        "print(MapProjector().fit([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]).method_)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "pca"


def test_pca_cosine_uses_normalised_rows():
    X, _ = _blobs(dtype=np.float64)
    scales = np.random.RandomState(1).uniform(0.1, 10.0, size=(len(X), 1))
    cosine = MapProjector(method="pca", metric="cosine")
    coords = cosine.fit_transform(X)
    np.testing.assert_allclose(
        coords, PCA(n_components=2).fit_transform(normalize(X)), atol=1e-10
    )
    # Rescaling rows changes nothing for cosine, in fit and in transform ...
    np.testing.assert_allclose(clone(cosine).fit_transform(X * scales), coords)
    np.testing.assert_allclose(cosine.transform(X[:7] * scales[:7]), coords[:7])
    # ... and does for Euclidean PCA, on the raw rows.
    euclid = MapProjector(method="pca", metric="euclidean").fit(X * scales)
    np.testing.assert_allclose(
        euclid.embedding_, PCA(n_components=2).fit_transform(X * scales)
    )


def test_pca_blobs_stay_separated_and_new_points_land_near_neighbours():
    X, labels = _blobs()
    X_new, _ = _blobs(n_per_blob=4, seed=1)
    proj = MapProjector(method="pca").fit(X)
    _assert_blobs_separated(proj.embedding_, labels)
    _assert_new_points_near_neighbours(proj, X, X_new)


@pytest.mark.parametrize("method", ["auto", "pca", "umap"])
@pytest.mark.parametrize("shape", [(1, 5), (2, 5), (3, 5), (5, 1), (1, 1), (2, 1)])
def test_tiny_inputs(shape, method):
    # Fewer than 4 points or a single feature: PCA with fewer components,
    # padded with zeros to 2 columns, whatever the method (no umap needed).
    X = np.random.RandomState(0).normal(size=shape).astype(np.float32)
    proj = MapProjector(method, random_state=0)
    coords = proj.fit_transform(X)
    assert proj.method_ == "pca"
    assert coords.shape == (shape[0], 2) and coords.dtype == np.float32
    assert np.isfinite(coords).all()
    n_components = min(2, shape[0] - 1, shape[1])
    np.testing.assert_array_equal(coords[:, n_components:], 0.0)
    new = proj.transform(np.ones((3, shape[1]), dtype=np.float32))
    assert new.shape == (3, 2) and np.isfinite(new).all()
    if shape[0] == 1:  # a single point is the origin of the map
        assert proj.estimator_ is None
        np.testing.assert_array_equal(new, 0.0)


def test_constant_input_maps_to_origin_without_warnings():
    X = np.ones((10, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        coords = MapProjector(method="pca").fit_transform(X)
    np.testing.assert_allclose(coords, 0.0, atol=1e-12)


# ---------------------------------------------------------------------------
# UMAP: one shared fit, slow on the first fit of each process


@pytest.fixture(scope="module")
def umap_map():
    umap = pytest.importorskip("umap")
    X, labels = _blobs()
    proj = MapProjector(umap_min_samples=100, random_state=0).fit(X)
    return umap, proj, X, labels


@pytest.mark.slow
def test_auto_picks_umap_above_threshold(umap_map):
    umap, proj, X, _ = umap_map
    assert len(X) >= proj.umap_min_samples
    assert proj.method_ == "umap"
    assert isinstance(proj.estimator_, umap.UMAP)
    assert proj.embedding_.shape == (len(X), 2)
    assert proj.embedding_.dtype == np.float32
    # transform of the unchanged training matrix gives the training map
    np.testing.assert_array_equal(proj.transform(X), proj.embedding_)


@pytest.mark.slow
def test_umap_deterministic_with_random_state(umap_map):
    _, proj, X, _ = umap_map
    again = clone(proj).fit_transform(X)  # warm: a fraction of a second
    np.testing.assert_allclose(again, proj.embedding_, rtol=1e-5)


@pytest.mark.slow
def test_umap_blobs_stay_separated(umap_map):
    _, proj, _, labels = umap_map
    _assert_blobs_separated(proj.embedding_, labels)


@pytest.mark.slow
def test_umap_transform_places_new_points_near_neighbours(umap_map):
    _, proj, X, _ = umap_map
    X_new, _ = _blobs(n_per_blob=4, seed=1)
    _assert_new_points_near_neighbours(proj, X, X_new)


@pytest.mark.slow
def test_umap_clips_n_neighbors(umap_map):
    X, _ = _blobs(n_per_blob=2)  # 6 points
    proj = MapProjector("umap", n_neighbors=15, random_state=0).fit(X)
    assert proj.method_ == "umap"
    assert proj.estimator_.n_neighbors == len(X) - 1
    assert proj.embedding_.shape == (6, 2) and np.isfinite(proj.embedding_).all()


def test_fit_on_a_sample_places_the_rest_as_new_points():
    # max_fit_samples: the map is fitted on a seeded sample; every other point
    # is placed by transform (in blocks), so embedding_ equals transform(X).
    X, labels = _blobs(n_per_blob=100)
    proj = MapProjector(method="pca", max_fit_samples=60, random_state=0)
    coords = proj.fit_transform(X)
    assert coords.shape == (300, 2) and coords.dtype == np.float32
    np.testing.assert_allclose(proj.transform(X), coords, atol=1e-5)
    _assert_blobs_separated(coords, labels)
    again = MapProjector(method="pca", max_fit_samples=60, random_state=0)
    np.testing.assert_array_equal(again.fit_transform(X), coords)


def test_umap_functions_cache_their_compiled_code_on_disk():
    # umap-learn's numba functions lack cache=True: without this every new
    # process compiles them again on its first fit (most of a 1,000-point
    # map; benchmarks/bench_map_share.py).
    pytest.importorskip("umap")
    from numba.core.caching import NullCache
    from numba.core.registry import CPUDispatcher

    from kura_sklearn.projection._projector import _import_umap

    umap = _import_umap()
    for jitted in (
        umap.umap_.smooth_knn_dist,
        umap.layouts.rdist,
    ):
        assert isinstance(jitted, CPUDispatcher)
        assert not isinstance(jitted._cache, NullCache)
