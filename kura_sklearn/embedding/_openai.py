"""Embeddings from OpenAI or any OpenAI-compatible server."""

import os
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval

from ..llm import ServerInStateMixin, make_backend, resolve_base_url
from ._base import _BaseEmbedder

# Output sizes of well-known models, for get_feature_names_out before any call.
_KNOWN_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


class OpenAIEmbedder(ServerInStateMixin, _BaseEmbedder):
    """Embed texts with an OpenAI-compatible embeddings API.

    Texts go out in batches of ``batch_size``, with up to ``max_concurrency``
    requests in flight and bounded retries. The client is built when a call
    is made, from the settings below, and never stored: the estimator clones
    and pickles with no key inside.

    Parameters
    ----------
    model : str, default="text-embedding-3-small"
        Embedding model name.
    base_url : str, default=None
        OpenAI-compatible server; ``None`` uses ``OPENAI_BASE_URL``, else
        OpenAI. The server so resolved is part of the per-item cache key and
        of the pickled state (so of a ``Pipeline(memory=...)`` key).
    api_key_env : str, default="OPENAI_API_KEY"
        Name of the environment variable holding the key.
    dimensions : int, default=None
        Shorter output, for models that support it (text-embedding-3-*).
    batch_size : int, default=128
        Texts per request.
    max_concurrency : int, default=4
        Requests in flight at once.
    timeout : float, default=60.0
        Seconds before one request is abandoned and retried.
    max_retries : int, default=3
        Retries per request on rate limits, server errors and time-outs.
    normalize : bool, default=True
        L2-normalise each embedding.
    cache_dir : str or path, default=None
        Directory of the per-item cache, keyed by text, model, server and
        ``dimensions``; each batch is stored as it arrives. A ``redis://`` URL
        keeps it in a Redis server machines share.
    verbose : int, default=0
        0 is silent. Above 0, ``transform`` logs the start and end of
        embedding (logger ``kura_sklearn.embedding._base``, INFO) and, when
        standard error is a terminal, shows a progress bar of the texts
        done (per batch), their rate and the time left. Cached vectors count
        as done at once. Never part of the cache key.

    See Also
    --------
    SentenceTransformerEmbedder : Local embeddings, offline by default.

    Notes
    -----
    If some batches fail after every retry, :class:`kura_sklearn.llm.LLMBatchError`
    names the texts (by position) and keeps the finished vectors.

    Examples
    --------
    >>> from kura_sklearn import OpenAIEmbedder
    >>> OpenAIEmbedder(base_url="http://localhost:11434/v1", model="nomic-embed-text")
    OpenAIEmbedder(base_url='http://localhost:11434/v1', model='nomic-embed-text')
    """

    _parameter_constraints: dict = {
        **_BaseEmbedder._parameter_constraints,
        "model": [str],
        "base_url": [str, None],
        "api_key_env": [str],
        "dimensions": [Interval(Integral, 1, None, closed="left"), None],
        "max_concurrency": [Interval(Integral, 1, None, closed="left")],
        "timeout": [Interval(Real, 0, None, closed="neither")],
        "max_retries": [Interval(Integral, 0, None, closed="left")],
        "cache_dir": [str, os.PathLike, None],
    }

    def __init__(
        self,
        model="text-embedding-3-small",
        *,
        base_url=None,
        api_key_env="OPENAI_API_KEY",
        dimensions=None,
        batch_size=128,
        max_concurrency=4,
        timeout=60.0,
        max_retries=3,
        normalize=True,
        cache_dir=None,
        verbose=0,
    ):
        self.model = model
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.dimensions = dimensions
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.normalize = normalize
        self.cache_dir = cache_dir
        self.verbose = verbose

    def _backend(self):
        return make_backend(
            self.model,
            base_url=self.base_url,
            api_key_env=self.api_key_env,
            dimensions=self.dimensions,
            batch_size=self.batch_size,
            max_concurrency=self.max_concurrency,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )

    def _embed(self, texts, on_result=None):
        result = self._backend().embed(texts, on_result=on_result)
        result.raise_for_failures("Embedding")
        return np.vstack(result.results)

    def _cache_identity(self):
        return {
            "backend": "openai",
            "model": self.model,
            "base_url": resolve_base_url(self.base_url),
            "dimensions": self.dimensions,
        }

    def _embedding_dimension(self):
        if self.dimensions is not None:
            return self.dimensions
        name = (
            self.model.rpartition("/")[2]
            if self.model.startswith("openai/")
            else (self.model)
        )
        if name in _KNOWN_DIMENSIONS:
            return _KNOWN_DIMENSIONS[name]
        raise ValueError(
            f"The output size of {self.model!r} is unknown before a call; set "
            "dimensions= to name it."
        )
