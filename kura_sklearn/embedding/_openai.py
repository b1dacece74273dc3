"""Embeddings from OpenAI or any OpenAI-compatible server."""

import os
from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval

from ..llm import LLMSettings, ServerInStateMixin
from ._base import _BaseEmbedder

# Output sizes of well-known models, for get_feature_names_out before any call.
_KNOWN_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


class OpenAIEmbedder(ServerInStateMixin, _BaseEmbedder):
    """Embed texts with an OpenAI-compatible embeddings API.

    Texts go out in batches of ``batch_size``, with up to
    ``llm.max_concurrency`` requests in flight and bounded retries. The
    client is built when a call is made, from the settings below, and never
    stored: the estimator clones and pickles with no key inside.

    Parameters
    ----------
    model : str, default="text-embedding-3-small"
        Embedding model name, with an optional provider prefix
        (``"openai/text-embedding-3-small"``).
    llm : LLMSettings, default=None
        Server, key variable, concurrency, time-out and retries of the
        requests (see :class:`kura_sklearn.llm.LLMSettings`; its sampling
        fields do not apply to embeddings); ``None`` uses the defaults. The
        server so resolved is part of the per-item cache key and of the
        pickled state (so of a ``Pipeline(memory=...)`` key).
    dimensions : int, default=None
        Shorter output, for models that support it (text-embedding-3-*).
    batch_size : int, default=128
        Texts per request.
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
    >>> from kura_sklearn.llm import LLMSettings
    >>> OpenAIEmbedder("nomic-embed-text",
    ...                llm=LLMSettings(base_url="http://localhost:11434/v1"))
    OpenAIEmbedder(llm=LLMSettings(base_url='http://localhost:11434/v1'),
                   model='nomic-embed-text')
    """

    _parameter_constraints: dict = {
        **_BaseEmbedder._parameter_constraints,
        "model": [str],
        "llm": [LLMSettings, None],
        "dimensions": [Interval(Integral, 1, None, closed="left"), None],
        "cache_dir": [str, os.PathLike, None],
    }

    def __init__(
        self,
        model="text-embedding-3-small",
        *,
        llm=None,
        dimensions=None,
        batch_size=128,
        normalize=True,
        cache_dir=None,
        verbose=0,
    ):
        self.model = model
        self.llm = llm
        self.dimensions = dimensions
        self.batch_size = batch_size
        self.normalize = normalize
        self.cache_dir = cache_dir
        self.verbose = verbose

    def _settings(self):
        return LLMSettings() if self.llm is None else self.llm

    def _validate_params(self):
        # at fit and transform: the settings' fields and the model's prefix too
        super()._validate_params()
        self._settings().check(self.model)

    def _embed(self, texts, on_result=None):
        backend = self._settings().make_backend(
            self.model, dimensions=self.dimensions, batch_size=self.batch_size
        )
        result = backend.embed(texts, on_result=on_result)
        result.raise_for_failures("Embedding")
        return np.vstack(result.results)

    def _cache_identity(self):
        identity = self._settings().answer_identity(self.model)
        return {
            "backend": identity.get("backend", "openai"),
            "model": self.model,
            "base_url": identity["base_url"],
            "dimensions": self.dimensions,
        }

    def _embedding_dimension(self):
        if self.dimensions is not None:
            return self.dimensions
        # the backend reads the prefix: "openai/text-embedding-3-large"
        backend = self._settings().make_backend(self.model)
        name = getattr(backend, "model", self.model)
        if name in _KNOWN_DIMENSIONS:
            return _KNOWN_DIMENSIONS[name]
        raise ValueError(
            f"The output size of {self.model!r} is unknown before a call; set "
            "dimensions= to name it."
        )
