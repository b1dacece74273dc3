"""The clusterer's parts: defaults for those left None, seeds and verbosity."""

from numbers import Integral


def _default_embedder():
    from ..embedding import OnnxEmbedder

    return OnnxEmbedder()


def _default_clusterer():
    from ..cluster import KMeansClusterer

    return KMeansClusterer(clusters_per_group=10)


def _default_namer():
    from ..naming import KeyphraseNamer

    return KeyphraseNamer()


def _default_projector():
    from ..projection import MapProjector

    return MapProjector()


def _with_seed(estimator, random_state):
    """Give a cloned sub-estimator the meta-estimator's seed if it has none."""
    if not hasattr(estimator, "get_params"):
        return estimator
    params = estimator.get_params(deep=False)
    if "random_state" in params and params["random_state"] is None:
        estimator.set_params(random_state=random_state)
    return estimator


def _with_verbose(estimator, verbose):
    """Give a cloned embedder or namer the meta-estimator's ``verbose`` if higher."""
    if not verbose or not hasattr(estimator, "get_params"):
        return estimator
    current = estimator.get_params(deep=False).get("verbose")
    if isinstance(current, (bool, Integral)) and current < verbose:
        estimator.set_params(verbose=verbose)
    return estimator


def _default_parts():
    """The factories of the embedder, clusterer, namer and projector defaults."""
    return (_default_embedder, _default_clusterer, _default_namer, _default_projector)
