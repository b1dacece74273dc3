"""Checks for estimators that take text or conversations.

scikit-learn's :func:`~sklearn.utils.estimator_checks.check_estimator` feeds
numeric arrays only, so the package's summarizer and embedders cannot run
its data checks. These public functions check what a scikit-learn user
relies on for such estimators: sklearn's data-free checks, clone and
parameters, bare-string rejection as sklearn's text vectorizers do, pickling
with no client or weights inside, pandas output, tags, and behaviour as a
stateless step of a :class:`~sklearn.pipeline.Pipeline`. The package's own
common test runs them over every discovered estimator
(:func:`kura_sklearn.utils.discovery.all_estimators`); an estimator of your
own that takes text can run them too.
"""

import pickle

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import estimator_checks as _sklearn_checks

__all__ = [
    "DATA_FREE_CHECKS",
    "check_bare_string_rejected",
    "check_clone_and_params",
    "check_data_free",
    "check_pickle_round_trip",
    "check_set_output_pandas",
    "check_stateless_fit_and_pipeline_transform",
    "check_text_tags",
    "yield_text_checks",
]

#: scikit-learn's checks that need no data (those an older release lacks
#: are left out).
DATA_FREE_CHECKS = tuple(
    name
    for name in (
        "check_no_attributes_set_in_init",
        "check_parameters_default_constructible",
        "check_get_params_invariance",
        "check_set_params",
        "check_estimator_repr",
        "check_estimator_cloneable",
        "check_mixin_order",
        "check_do_not_raise_errors_in_init_or_set_params",
        "check_valid_tag_types",
        "check_estimator_tags_renamed",
    )
    if hasattr(_sklearn_checks, name)
)

#: Bytes that must never be in a pickled estimator: a live client or a model.
_FORBIDDEN_IN_PICKLE = (b"AsyncOpenAI", b"httpx", b"sentence_transformers")


def _comparable(output):
    if hasattr(output, "to_numpy"):
        return output.to_numpy()
    return np.asarray(output)


def check_data_free(estimator, check_name):
    """Run scikit-learn's data-free check ``check_name`` on ``estimator``.

    Parameters
    ----------
    estimator : estimator instance
    check_name : str
        One of :data:`DATA_FREE_CHECKS`.
    """
    getattr(_sklearn_checks, check_name)(type(estimator).__name__, estimator)


def check_clone_and_params(estimator):
    """``clone`` gives an equal, distinct copy; parameters round-trip verbatim.

    Parameters
    ----------
    estimator : estimator instance
    """
    cloned = clone(estimator)
    assert cloned is not estimator
    assert cloned.get_params() == estimator.get_params()
    params = estimator.get_params(deep=False)  # nested ones live in their objects
    assert type(estimator)(**params).get_params() == estimator.get_params()
    assert estimator.set_params(**params) is estimator


def check_stateless_fit_and_pipeline_transform(estimator, X):
    """``fit`` returns self; ``transform`` works unfitted, also as
    ``Pipeline[:-1].transform`` (sklearn >= 1.8 raises ``NotFittedError``
    there unless the tags say ``requires_fit=False``).

    Parameters
    ----------
    estimator : estimator instance
    X : list
        Texts or conversations it takes.
    """
    from sklearn.cluster import KMeans
    from sklearn.pipeline import Pipeline

    assert estimator.fit(X) is estimator
    direct = clone(estimator).transform(X)
    assert len(direct) == len(X)
    pipe = Pipeline(
        [("step", clone(estimator)), ("last", KMeans(n_clusters=2, n_init=1))]
    )
    try:
        through_pipe = pipe[:-1].transform(X)
    except NotFittedError as exc:  # pragma: no cover - the failure this guards
        raise AssertionError(
            f"Pipeline[:-1].transform raised NotFittedError: {exc}"
        ) from exc
    np.testing.assert_array_equal(_comparable(through_pipe), _comparable(direct))


def check_bare_string_rejected(estimator):
    """A bare string (a mistake for ``[text]``) is refused in ``fit`` and
    ``transform``, as scikit-learn's text vectorizers refuse it.

    Parameters
    ----------
    estimator : estimator instance
    """
    for method in ("fit", "transform"):
        try:
            getattr(clone(estimator), method)("How do I reverse a list?")
        except ValueError as exc:
            assert "string object received" in str(exc), str(exc)
        else:  # pragma: no cover - the failure this guards
            raise AssertionError(f"{method} accepted a bare string")


def check_pickle_round_trip(estimator, X):
    """A fitted estimator pickles small (settings, no client, no weights) and
    its copy transforms identically.

    Parameters
    ----------
    estimator : estimator instance
    X : list
    """
    estimator = clone(estimator).fit(X)
    before = estimator.transform(X)
    blob = pickle.dumps(estimator)
    assert len(blob) < 20_000, f"{len(blob)} bytes: more than settings"
    for forbidden in _FORBIDDEN_IN_PICKLE:
        assert forbidden not in blob, forbidden
    restored = pickle.loads(blob)
    np.testing.assert_array_equal(
        _comparable(restored.transform(X)), _comparable(before)
    )


def check_set_output_pandas(estimator, X):
    """``set_output(transform="pandas")`` gives one row per input, indexed by
    ``chat_id`` for conversations, with ``get_feature_names_out`` columns.

    Parameters
    ----------
    estimator : estimator instance
    X : list
    """
    import pandas as pd

    frame = clone(estimator).set_output(transform="pandas").fit_transform(X)
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == len(X)
    if X and hasattr(X[0], "chat_id"):  # conversations
        assert frame.index.name == "chat_id"
        assert list(frame.index) == [c.chat_id for c in X]
    fitted = clone(estimator).fit(X)
    assert list(frame.columns) == list(fitted.get_feature_names_out())


def check_text_tags(estimator):
    """Tags say the input is text (not a 2-D array) and no fit is needed.

    Parameters
    ----------
    estimator : estimator instance
    """
    from sklearn.utils import get_tags

    tags = get_tags(estimator)
    assert tags.input_tags.string and not tags.input_tags.two_d_array
    assert tags.requires_fit is False


def yield_text_checks(estimator):
    """Every check of this module, as ``(name, check)`` with ``check(X)``.

    Parameters
    ----------
    estimator : estimator instance
        An estimator that takes texts or conversations.

    Yields
    ------
    name : str
    check : callable
        Called with the input ``X`` the estimator takes.

    Examples
    --------
    >>> from kura_sklearn import ConversationSummarizer
    >>> from kura_sklearn.utils.estimator_checks import yield_text_checks
    >>> [name for name, _ in yield_text_checks(ConversationSummarizer())][-3:]
    ['check_pickle_round_trip', 'check_set_output_pandas', 'check_text_tags']
    """
    for check_name in DATA_FREE_CHECKS:
        yield check_name, lambda X, c=check_name: check_data_free(estimator, c)
    yield "check_clone_and_params", lambda X: check_clone_and_params(estimator)
    yield (
        "check_stateless_fit_and_pipeline_transform",
        lambda X: check_stateless_fit_and_pipeline_transform(estimator, X),
    )
    yield "check_bare_string_rejected", lambda X: check_bare_string_rejected(estimator)
    yield "check_pickle_round_trip", lambda X: check_pickle_round_trip(estimator, X)
    yield "check_set_output_pandas", lambda X: check_set_output_pandas(estimator, X)
    yield "check_text_tags", lambda X: check_text_tags(estimator)
