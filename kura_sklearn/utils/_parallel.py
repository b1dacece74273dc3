"""Chunked transforms through joblib: local processes or a Dask cluster."""

from numbers import Integral

import numpy as np


def _n_items(X):
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    return len(X)


def _chunk(X, start, stop):
    if hasattr(X, "iloc"):  # pandas: keep the index
        return X.iloc[start:stop]
    return X[start:stop]


def _apply(estimator, method, chunk):
    return getattr(estimator, method)(chunk)


def _concatenate(parts):
    first = parts[0]
    if hasattr(first, "iloc"):  # DataFrame or Series: index kept, in order
        import pandas as pd

        return pd.concat(parts)
    if hasattr(first, "tocsr"):  # scipy sparse
        import scipy.sparse as sp

        return sp.vstack(parts, format=first.format)
    arrays = [np.asarray(part) for part in parts]
    if arrays[0].ndim == 1:
        return np.concatenate(arrays)
    return np.vstack(arrays)


def parallel_transform(
    estimator, X, *, chunk_size=1000, n_jobs=None, method="transform", verbose=0
):
    """Transform ``X`` chunk by chunk with :class:`joblib.Parallel`.

    ``X`` is cut into consecutive chunks of ``chunk_size`` items; the
    estimator, as it is (fitted or stateless, never refitted), is sent with
    each chunk to a joblib worker, which calls ``estimator.transform(chunk)``;
    the results are put back together in the input's order. Where the work
    runs is joblib's choice: ``n_jobs`` local processes (loky) by default, or
    the workers of a Dask cluster inside
    ``joblib.parallel_backend("dask")`` (see ``docs/scale.md``).

    Meant for the expensive stateless stages: :class:`ConversationSummarizer`
    (an LLM summarizer already keeps ``max_concurrency`` requests in flight
    inside each chunk; chunks on several machines multiply that) and the
    embedders (each worker process loads the model once and keeps it). With
    a ``cache_dir`` every worker reaches (a local directory on one machine,
    a ``redis://`` URL across machines), the per-item cache is shared: an
    interrupted run resumes where it stopped.

    Parameters
    ----------
    estimator : estimator
        Anything with the method ``method``; it must pickle (every
        kura_sklearn estimator does: no client, no model, no key inside).
    X : list, tuple, ndarray, Series or DataFrame
        Items to transform: conversations, texts, or rows of a matrix. Any
        other iterable is read into a list first.
    chunk_size : int, default=1000
        Items per task. Larger chunks amortise the cost of shipping the
        estimator and of loading the model; smaller ones balance the load
        and let the cache save progress more often.
    n_jobs : int, default=None
        Workers, as in :class:`joblib.Parallel`: ``None`` means 1 unless
        inside a :func:`joblib.parallel_backend` context (whose ``n_jobs``,
        -1 by default, then applies); -1 means all.
    method : str, default="transform"
        Method called on each chunk, e.g. ``"predict"`` for labels of a
        fitted clusterer.
    verbose : int, default=0
        joblib's progress messages.

    Returns
    -------
    result : ndarray, sparse matrix, DataFrame or Series
        What ``method`` returns for all of ``X`` at once: chunks of arrays
        are stacked (1-D ones concatenated), chunks of pandas output are
        concatenated with their index (e.g. the summarizer's ``chat_id``).

    See Also
    --------
    joblib.parallel_backend : Run joblib's work elsewhere, e.g. on Dask.

    Examples
    --------
    >>> from kura_sklearn import OnnxEmbedder
    >>> from kura_sklearn.utils import parallel_transform
    >>> texts = ["reset my password", "bake sourdough bread", "card not arrived",
    ...          "translate hello to japanese", "exchange rate for euros"]
    >>> embedder = OnnxEmbedder()
    >>> X = parallel_transform(embedder, texts, chunk_size=2, n_jobs=1)
    >>> X.shape
    (5, 384)
    >>> bool(abs(X - embedder.transform(texts)).max() < 1e-6)
    True

    Conversations in, a facet table out, indexed by chat_id:

    >>> from kura_sklearn import ConversationSummarizer, load_sample_conversations
    >>> convs = load_sample_conversations()[:5]
    >>> summarizer = ConversationSummarizer().set_output(transform="pandas")
    >>> frame = parallel_transform(summarizer, convs, chunk_size=2, n_jobs=2)
    >>> list(frame.index) == [c.chat_id for c in convs]
    True
    """
    from joblib import Parallel, delayed

    if not (isinstance(chunk_size, Integral) and chunk_size >= 1):
        raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}.")
    if not callable(getattr(estimator, method, None)):
        raise TypeError(f"{type(estimator).__name__} has no method {method!r}.")
    if isinstance(X, (str, bytes)):
        # the estimator's own message (e.g. "wrap a single text in a list")
        return getattr(estimator, method)(X)
    if not (hasattr(X, "iloc") or hasattr(X, "shape") or isinstance(X, list | tuple)):
        X = list(X)
    n = _n_items(X)
    if n == 0:  # no chunk: the estimator's own empty output, with its shape
        return getattr(estimator, method)(X)
    parts = Parallel(n_jobs=n_jobs, verbose=verbose)(
        delayed(_apply)(estimator, method, _chunk(X, start, start + chunk_size))
        for start in range(0, n, chunk_size)
    )
    return _concatenate(parts)
