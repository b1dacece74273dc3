"""Save and load fitted estimators: joblib for your own files, skops for others'.

Loading a pickle (``joblib.load``, ``pickle.load``) runs code chosen by
whoever wrote the file: only load pickles you made. For files from elsewhere,
:func:`load_skops` reads the skops format, which builds only the types you
trust, listed explicitly.
"""

import joblib

#: Types inside a fitted pipeline that are not estimators: the cluster tree
#: and its records, and paths (a PrecomputedEmbedder's store given as a Path).
RECORD_TYPES = [
    "kura_sklearn.hierarchy._tree.Cluster",
    "kura_sklearn.hierarchy._tree.ClusterTree",
    "pathlib.PosixPath",
    "pathlib.WindowsPath",
]


def trusted_types():
    """The project's own types a fitted pipeline may contain.

    Every estimator :func:`kura_sklearn.utils.discovery.all_estimators`
    finds, and :data:`RECORD_TYPES`: a new estimator is trusted without a
    list kept by hand. skops trusts scikit-learn's and numpy's types itself.

    Returns
    -------
    types : list of str
        Fully qualified type names, sorted.
    """
    from ..utils.discovery import all_estimators

    names = {f"{cls.__module__}.{cls.__qualname__}" for _, cls in all_estimators()}
    return sorted(names | set(RECORD_TYPES))


def __getattr__(name):
    # TRUSTED_TYPES is found on first use: discovery imports every module,
    # which must not happen while this package is itself being imported.
    if name == "TRUSTED_TYPES":
        return trusted_types()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Third-party types inside a fitted HDBSCANClusterer (the hdbscan package
#: keeps a joblib.Memory and a KD-tree). Add them only if you need HDBSCAN.
HDBSCAN_TYPES = [
    "hdbscan.dist_metrics.EuclideanDistance",
    "hdbscan.hdbscan_.HDBSCAN",
    "hdbscan.prediction.PredictionData",
    "joblib.memory.Memory",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.neighbors._kd_tree.KDTree",
]


def save(estimator, path, *, compress=3):
    """Write a fitted estimator or pipeline with joblib.

    The file holds settings and fitted state only: no client, no model
    weights, no API key (keys are read from the environment when needed).

    Parameters
    ----------
    estimator : object
        Usually a fitted Pipeline.
    path : str or path
        Destination file.
    compress : int, default=3
        joblib compression level.

    Returns
    -------
    path : list of str
        What joblib wrote.
    """
    return joblib.dump(estimator, path, compress=compress)


def load(path):
    """Read a file written by :func:`save`.

    Warning: this unpickles, which runs code chosen by the file's author.
    Only load files you trust; for others use :func:`load_skops`. An
    :class:`~kura_sklearn.utils.InconsistentVersionWarning` says the file
    came from another kura_sklearn version.
    """
    return joblib.load(path)


def save_skops(estimator, path):
    """Write an estimator in the skops format (no pickle).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from kura_sklearn import KMeansClusterer
    >>> from kura_sklearn.persistence import load_skops, save_skops
    >>> est = KMeansClusterer(n_clusters=2, random_state=0).fit(np.eye(4))
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skops")
    >>> save_skops(est, path)
    >>> load_skops(path).n_clusters_
    2
    """
    import skops.io

    skops.io.dump(estimator, path)


def load_skops(path, *, trusted=None):
    """Read a skops file, building only trusted types.

    Parameters
    ----------
    path : str or path
        The file.
    trusted : list of str, default=None
        Types to trust besides :func:`trusted_types` (e.g. :data:`HDBSCAN_TYPES`).
        A type in the file that is in neither list raises
        ``skops.io.exceptions.UntrustedTypesFoundException`` naming it.

    Returns
    -------
    estimator : object
    """
    import skops.io

    return skops.io.load(path, trusted=trusted_types() + list(trusted or []))
