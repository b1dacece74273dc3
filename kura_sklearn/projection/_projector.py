"""Embeddings to 2-D map coordinates: UMAP, or PCA for small or UMAP-less runs."""

import sys
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.decomposition import PCA
from sklearn.preprocessing import normalize
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from ..utils import VersionStampMixin

# UMAP's spectral initialisation asks scipy for n_components + 1 = 3
# eigenvectors, which needs more than 3 points; with fewer, or with a single
# feature, every method maps with PCA.
_UMAP_MIN_POINTS = 4
_N_COMPONENTS = 2
#: Rows placed per block by ``transform`` (bounded memory at any size).
_CHUNK = 65536


def _import_umap():
    """Return the ``umap`` module, or None when umap-learn is not importable.

    Its numba functions are made to cache their machine code on disk first,
    so that only the first process ever compiles them.
    """
    try:
        import umap
    except ImportError:
        return None
    _cache_numba_functions(("umap", "pynndescent"))
    return umap


def _cache_numba_functions(packages):
    """Turn on numba's on-disk cache for the jitted functions of ``packages``.

    umap-learn declares its functions without ``cache=True``, so every new
    process compiled them again on its first fit (15-19 s, more than the
    fit). ``enable_caching()`` is what ``cache=True`` does at declaration;
    the cache lives where numba puts it (``__pycache__`` beside the package
    when writable, else a per-user directory, or ``NUMBA_CACHE_DIR``) and is
    invalidated by numba when a source file or the CPU changes. A function
    that cannot be cached is compiled as before. Does nothing if numba's
    internals are not as expected.
    """
    try:
        from numba.core.caching import NullCache
        from numba.core.registry import CPUDispatcher
    except ImportError:  # pragma: no cover - depends on numba's version
        return 0
    enabled = 0
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in packages:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, CPUDispatcher) and isinstance(
                getattr(value, "_cache", None), NullCache
            ):
                try:
                    value.enable_caching()
                except Exception:  # pragma: no cover - numba refuses: no cache
                    continue
                enabled += 1
    return enabled


class MapProjector(
    VersionStampMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Map embeddings to 2-D coordinates for a cluster map, with UMAP or PCA.

    UMAP keeps neighbourhoods, so topics that are close in embedding space sit
    close on the map; PCA is a linear projection, instant and deterministic.
    ``method="auto"`` uses UMAP only when umap-learn is installed and the input
    is large enough for UMAP's start-up cost (a numba compilation in every new
    process, see Notes) to be worth paying.

    Parameters
    ----------
    method : {"auto", "umap", "pca"}, default="auto"
        "umap" uses ``umap.UMAP`` (needs umap-learn). "pca" uses
        :class:`sklearn.decomposition.PCA`. "auto" uses UMAP when umap-learn is
        importable and ``n_samples >= umap_min_samples``, PCA otherwise.
    n_neighbors : int, default=15
        UMAP's neighbourhood size: larger values favour the global layout,
        smaller ones local detail. Clipped to ``n_samples - 1`` at ``fit``.
        Unused by PCA.
    min_dist : float, default=0.1
        UMAP's minimum distance between points on the map: smaller values give
        tighter clumps. Unused by PCA.
    metric : str, default="cosine"
        Distance between embeddings, passed to UMAP. PCA is Euclidean: with
        "cosine" it runs on L2-normalised rows (for which Euclidean distance
        orders neighbours as cosine distance does); any other metric leaves
        the rows as they are.
    umap_min_samples : int, default=1000
        Smallest number of samples for which ``method="auto"`` uses UMAP. The
        default keeps runs of a few hundred conversations (the bundled sample
        has 300) on PCA; see Notes for the timings behind it.
    max_fit_samples : int, default=None
        Fit the map on a random sample of at most this many points and place
        the others with ``transform``, in blocks, as new points; ``None``
        fits on every point. For large inputs: UMAP's fit grows faster than
        its placement of new points, and PCA then never copies the whole
        matrix. ``method="auto"`` decides by the size of the sample.
    random_state : int, RandomState instance or None, default=None
        Seed of UMAP's layout, of the sample (``max_fit_samples``) and of
        PCA's randomised solvers. An int gives
        the same map on every fit; with UMAP it also makes the fit
        single-threaded, as umap-learn requires. None lets UMAP use every core,
        and its maps then differ slightly between fits.

    Attributes
    ----------
    method_ : {"umap", "pca"}
        The method used.
    embedding_ : ndarray of shape (n_samples, 2)
        Map coordinates of the training points, in the dtype of ``X``
        (float32 or float64).
    estimator_ : umap.UMAP, sklearn.decomposition.PCA or None
        The fitted projection; None when fitted on a single point, which is
        then the origin of the map (as UMAP itself does).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.

    See Also
    --------
    sklearn.decomposition.PCA : The linear projection used for small inputs.

    Notes
    -----
    **Tiny inputs.** PCA keeps ``min(2, n_samples - 1, n_features)``
    components (fewer than 2 when there are fewer than 3 points or a single
    feature) and the map is padded with zero columns to 2; a single training
    point maps to the origin, and so does every point transformed after it.
    With ``metric="cosine"`` a single feature normalises to its sign.
    UMAP's spectral initialisation needs at least 4 points, so with fewer than
    4 samples or a single feature every ``method`` uses PCA, and ``method_``
    says so.

    **New points.** ``transform`` places new points in the fitted map without
    moving the training points: UMAP from their nearest training points, PCA
    by the same linear projection. ``fit_transform`` returns ``embedding_``;
    UMAP's ``transform`` of the unchanged training matrix returns it too.

    **Cost, and the default of umap_min_samples.** In a fresh process UMAP
    first compiles its code (tens of seconds without numba's disk cache),
    then fits 1,000 points in seconds, where PCA takes a twentieth of a
    second at any of these sizes; the figures, with the command that made
    them, are in ``benchmarks/RESULTS.md`` ("MapProjector's cost").

    numba's on-disk cache (``__pycache__`` next to the package when writable,
    else a per-user directory, or ``NUMBA_CACHE_DIR``) only keeps functions
    compiled with ``cache=True``: pynndescent's are (hence the faster import),
    umap-learn's are not. MapProjector turns the cache on for umap-learn's
    functions when it imports umap, so only the first process ever pays the
    compilation: at 1,000 points the map of a new process then takes about
    2-3 s (import and fit) instead of 18-30 s, with the same coordinates
    (``benchmarks/bench_map_share.py``: 10.7% of an offline run at 1,000
    conversations, 60% in the first run after installing).

    For the bundled 300-conversation sample UMAP would cost 17-43 s per run
    against 0.06 s for PCA, more than embedding the conversations (about 1.3 s
    at 230 texts/s), so the map stage would dominate the run. From about
    1,000 points a warm UMAP fit alone takes seconds, a run summarises its
    conversations with an LLM for minutes, and the one-off compilation stops
    dominating: ``umap_min_samples=1000``.

    Examples
    --------
    >>> import numpy as np
    >>> from kura_sklearn.projection import MapProjector
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.normal(size=(30, 16)) + 10 * np.eye(16)[i]
    ...                for i in range(3)]).astype(np.float32)
    >>> proj = MapProjector(random_state=0)
    >>> coords = proj.fit_transform(X)
    >>> proj.method_, coords.shape, coords.dtype
    ('pca', (90, 2), dtype('float32'))
    >>> proj.transform(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        "method": [StrOptions({"auto", "umap", "pca"})],
        "n_neighbors": [Interval(Integral, 2, None, closed="left")],
        "min_dist": [Interval(Real, 0, None, closed="left")],
        "metric": [str],
        "umap_min_samples": [Interval(Integral, 1, None, closed="left")],
        "max_fit_samples": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        method="auto",
        *,
        n_neighbors=15,
        min_dist=0.1,
        metric="cosine",
        umap_min_samples=1000,
        max_fit_samples=None,
        random_state=None,
    ):
        self.method = method
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.metric = metric
        self.umap_min_samples = umap_min_samples
        self.max_fit_samples = max_fit_samples
        self.random_state = random_state

    def _resolve_method(self, n_samples, n_features):
        """Return ("umap", module) or ("pca", None) for data of this shape."""
        if self.method == "pca" or n_samples < _UMAP_MIN_POINTS or n_features < 2:
            return "pca", None
        if self.method == "auto" and n_samples < self.umap_min_samples:
            return "pca", None  # decided before importing umap, which is slow
        umap = _import_umap()
        if umap is not None:
            return "umap", umap
        if self.method == "umap":
            raise ImportError(
                "MapProjector(method='umap') needs umap-learn: "
                "pip install umap-learn, or use method='auto' or 'pca'."
            )
        return "pca", None

    def _pca_input(self, X):
        return normalize(X) if self.metric == "cosine" else X

    def _pad(self, Y, dtype):
        """Cast to ``dtype`` and pad with zero columns to 2 columns."""
        out = np.zeros((Y.shape[0], _N_COMPONENTS), dtype=dtype)
        out[:, : Y.shape[1]] = Y
        return out

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Compute the map of the training points.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Embeddings. float32 input gives float32 coordinates.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32], order="C")
        sample = None
        if self.max_fit_samples is not None and len(X) > self.max_fit_samples:
            rng = check_random_state(self.random_state)
            sample = np.sort(rng.choice(len(X), self.max_fit_samples, replace=False))
            X_all, X = X, np.asarray(X[sample])
        n_samples, n_features = X.shape
        self.method_, umap = self._resolve_method(n_samples, n_features)
        if self.method_ == "umap":
            model = umap.UMAP(
                n_components=_N_COMPONENTS,
                n_neighbors=min(self.n_neighbors, n_samples - 1),
                min_dist=float(self.min_dist),
                metric=self.metric,
                random_state=self.random_state,
                # umap forces one thread when seeded, with a warning otherwise
                n_jobs=1 if self.random_state is not None else -1,
            )
            self.estimator_ = model.fit(X)
            Y = model.embedding_
        else:
            n_components = min(_N_COMPONENTS, n_samples - 1, n_features)
            if n_components == 0:  # one point: PCA's variance would be 0/0
                self.estimator_ = None
                Y = np.zeros((n_samples, 0))
            else:
                self.estimator_ = PCA(
                    n_components=n_components, random_state=self.random_state
                )
                # Constant rows (e.g. one feature of one sign, normalised)
                # have no variance: PCA's explained_variance_ratio_ is then
                # 0/0. The map is still defined: every point at the origin.
                # One BLAS thread: OpenBLAS's threaded eigensolver took 4-6 s
                # on the 384 x 384 covariance where one thread takes 0.13 s
                # (2-core machine, under load).
                with (
                    np.errstate(invalid="ignore", divide="ignore"),
                    threadpool_limits(limits=1, user_api="blas"),
                ):
                    Y = self.estimator_.fit_transform(self._pca_input(X))
        if sample is None:
            self.embedding_ = self._pad(Y, X.dtype)
            return self
        # the sample has its fitted coordinates; the rest are placed as new
        # points, block by block
        self.embedding_ = np.empty((len(X_all), _N_COMPONENTS), dtype=X.dtype)
        self.embedding_[sample] = self._pad(Y, X.dtype)
        rest = np.ones(len(X_all), dtype=bool)
        rest[sample] = False
        rest = np.flatnonzero(rest)
        for start in range(0, len(rest), _CHUNK):
            rows = rest[start : start + _CHUNK]
            self.embedding_[rows] = self._project(np.asarray(X_all[rows]))
        return self

    def fit_transform(self, X, y=None):
        """Fit the map and return the coordinates of the training points.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Embeddings.
        y : None
            Ignored.

        Returns
        -------
        embedding : ndarray of shape (n_samples, 2)
            A copy of ``embedding_``.
        """
        return self.fit(X, y).embedding_.copy()

    def transform(self, X):
        """Place points in the fitted map.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Embeddings, new or not.

        Returns
        -------
        coordinates : ndarray of shape (n_samples, 2)
            Map coordinates, in the dtype of ``X``.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, dtype=[np.float64, np.float32], order="C", reset=False
        )
        if len(X) <= _CHUNK:
            return self._project(X)
        out = np.empty((len(X), _N_COMPONENTS), dtype=X.dtype)
        for start in range(0, len(X), _CHUNK):  # bounded memory
            out[start : start + _CHUNK] = self._project(X[start : start + _CHUNK])
        return out

    def _project(self, X):
        """Map coordinates of the rows of ``X`` in the fitted map."""
        if self.estimator_ is None:
            Y = np.zeros((X.shape[0], 0))
        elif self.method_ == "umap":
            Y = self.estimator_.transform(X)
        else:
            with threadpool_limits(limits=1, user_api="blas"):
                Y = self.estimator_.transform(self._pca_input(X))
        return self._pad(Y, X.dtype)

    @property
    def _n_features_out(self):
        """The two map columns, once fitted (``get_feature_names_out`` gives
        ``["mapprojector0", "mapprojector1"]``)."""
        check_is_fitted(self, "embedding_")
        return _N_COMPONENTS

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
