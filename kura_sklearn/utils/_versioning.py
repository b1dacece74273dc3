"""Stamp kura_sklearn's version into every pickled estimator."""

import warnings

from .._version import __version__


class InconsistentVersionWarning(UserWarning):
    """An estimator was pickled by another version of kura_sklearn.

    Attributes
    ----------
    estimator_name : str
    original_version : str
        The version that pickled it.
    current_version : str
        The version unpickling it.
    """

    def __init__(self, *, estimator_name, original_version, current_version):
        self.estimator_name = estimator_name
        self.original_version = original_version
        self.current_version = current_version
        super().__init__(
            f"{estimator_name} was pickled with kura_sklearn {original_version} and is "
            f"loaded with {current_version}; results may differ or fail. Refit it "
            "with this version if you can."
        )


class VersionStampMixin:
    """Adds ``_kura_sklearn_version`` to the pickled state; warns when it differs.

    scikit-learn's ``BaseEstimator`` does the same for its own version; this
    mixin stands left of it.
    """

    def __getstate__(self):
        state = super().__getstate__()
        state["_kura_sklearn_version"] = __version__
        return state

    def __setstate__(self, state):
        version = state.pop("_kura_sklearn_version", None)
        if version is not None and version != __version__:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    original_version=version,
                    current_version=__version__,
                ),
                stacklevel=2,
            )
        super().__setstate__(state)
