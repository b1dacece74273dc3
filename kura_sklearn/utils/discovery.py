"""Find the package's estimators, as :func:`sklearn.utils.all_estimators` does.

The common tests run over what this finds, and :mod:`kura_sklearn.persistence`
trusts what this finds, so neither keeps a list by hand that can drift.
"""

import inspect
import pkgutil
from importlib import import_module
from operator import itemgetter

from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin

__all__ = ["all_estimators"]

_TYPE_FILTERS = {"cluster": ClusterMixin, "transformer": TransformerMixin}


def _public_classes():
    """Every public class defined in a ``kura_sklearn`` module, once."""
    import kura_sklearn

    seen = {}
    for module_info in pkgutil.walk_packages(kura_sklearn.__path__, "kura_sklearn."):
        parts = module_info.name.split(".")
        if any(part in {"tests", "datasets"} for part in parts[1:]):
            continue
        module = import_module(module_info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if name.startswith("_") or not cls.__module__.startswith("kura_sklearn"):
                continue
            seen[f"{cls.__module__}.{cls.__qualname__}"] = (name, cls)
    return list(seen.values())


def all_estimators(type_filter=None):
    """The public estimators of kura_sklearn, sorted by name.

    Every module of the package is imported (lazily written, this loads no
    model and no optional dependency) and every public, concrete subclass of
    :class:`sklearn.base.BaseEstimator` defined in it is listed.

    Parameters
    ----------
    type_filter : {"cluster", "transformer"}, list of them or None, default=None
        Keep only the estimators with that mixin (``ClusterMixin`` or
        ``TransformerMixin``); ``None`` keeps all of them, namers and the
        meta-estimator included.

    Returns
    -------
    estimators : list of (str, type)
        Class names and classes.

    Examples
    --------
    >>> from kura_sklearn.utils.discovery import all_estimators
    >>> names = [name for name, _ in all_estimators(type_filter="cluster")]
    >>> "KMeansClusterer" in names and "ConversationClusterer" in names
    True
    """
    estimators = [
        (name, cls)
        for name, cls in _public_classes()
        if issubclass(cls, BaseEstimator) and not inspect.isabstract(cls)
    ]
    if type_filter is not None:
        filters = [type_filter] if isinstance(type_filter, str) else type_filter
        unknown = [f for f in filters if f not in _TYPE_FILTERS]
        if unknown:
            raise ValueError(
                f"type_filter must be one of {sorted(_TYPE_FILTERS)} or None; "
                f"got {unknown!r}"
            )
        mixins = tuple(_TYPE_FILTERS[f] for f in filters)
        estimators = [(n, c) for n, c in estimators if issubclass(c, mixins)]
    return sorted(set(estimators), key=itemgetter(0))
