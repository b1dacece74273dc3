"""What every text embedder shares: validation, output, tags."""

import logging
import os
from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.preprocessing import normalize as l2_normalize
from sklearn.utils._param_validation import Interval

from ..caching import cached_map, item_key
from ..utils import VersionStampMixin, check_texts, is_one_shot, progress

logger = logging.getLogger(__name__)


class _StatelessTextEmbedder(
    VersionStampMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Texts in, a float32 matrix out, nothing learned from the data.

    What every embedder shares: ``fit`` only validates, ``transform`` works
    without it, text-input tags, and output columns named after the class.
    Subclasses implement ``transform`` and ``_embedding_dimension()``.
    """

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the parameters and the input; nothing is learned.

        Parameters
        ----------
        X : iterable of str
            Texts. A bare string is rejected. An iterator (a generator) is
            not read, so that ``transform`` still sees every text.
        y : None
            Ignored.

        Returns
        -------
        self : object
            This estimator.
        """
        if not is_one_shot(X):
            check_texts(X)
        return self

    @property
    def _n_features_out(self):
        """Output columns (``get_feature_names_out`` gives ``"<classname>0"``,
        ``"<classname>1"``...): the embedding's dimension."""
        return self._embedding_dimension()

    def __sklearn_is_fitted__(self):
        return True  # stateless

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = False
        return tags


class _BaseEmbedder(_StatelessTextEmbedder):
    """Base class: texts in, a float32 matrix out.

    Subclasses implement ``_embed(texts, on_result=None) -> ndarray``
    (calling ``on_result(i, vector)`` as vectors are ready, so the cache
    stores them before a later failure and the progress bar moves),
    ``_cache_identity()`` (what, besides the text, decides a vector; never
    ``verbose``) and ``_embedding_dimension()``. Embedders are stateless
    (nothing is learned from the data), so ``transform`` works without ``fit``.
    """

    _parameter_constraints: dict = {
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "normalize": ["boolean"],
        "cache_dir": [str, os.PathLike, None],
        "verbose": ["verbose"],
    }

    def transform(self, X):
        """Embed the texts.

        Parameters
        ----------
        X : iterable of str, Series, or DataFrame with a ``summary`` column
            Texts. A bare string is rejected.

        Returns
        -------
        embeddings : ndarray of shape (n_texts, n_dimensions), dtype float32
            One row per text, L2-normalised if ``normalize`` is True.
        """
        self._validate_params()
        texts = check_texts(X)
        if not texts:
            return np.empty((0, self._embedding_dimension()), dtype=np.float32)
        if self.cache_dir is None:
            self._prepare()  # e.g. load the model, before the clock starts
        with progress(
            len(texts),
            "Embedding",
            self.verbose,
            done="Embedded",
            unit="text",
            noun="text",
            logger=logger,
        ) as bar:
            if self.cache_dir is not None:
                embeddings = self._cached_embed(texts, bar)
            elif self.verbose:
                embeddings = self._embed(texts, on_result=lambda i, v: bar.update())
            else:
                embeddings = self._embed(texts)
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if self.normalize:
            embeddings = l2_normalize(embeddings, copy=False)
        return embeddings

    def _prepare(self):
        """Work done once before embedding; nothing by default."""

    def _dimension_without_loading(self):
        """The output size if known without loading a model, else None.

        Checks the vectors read from the cache, so that a run whose texts
        are all cached loads no model.
        """
        try:
            return self._embedding_dimension()
        except ValueError:  # an API model of unknown size: any one size
            return None

    def _cached_embed(self, texts, bar=None):
        # raw vectors are stored; normalisation is applied after, so it is
        # not part of the key
        identity = self._cache_identity()
        keys = [item_key("embedding", text=text, **identity) for text in texts]

        def compute(indices, on_result):
            self._prepare()  # only when something is not cached
            self._embed([texts[i] for i in indices], on_result=on_result)

        dimension = self._dimension_without_loading()

        def decode(vector):
            # a stored vector must be one row of this model's size
            nonlocal dimension
            if vector.dtype != np.float32 or vector.ndim != 1 or not vector.size:
                raise ValueError("not a float32 vector")
            if dimension is None:
                dimension = vector.size
            if vector.size != dimension:
                raise ValueError(f"{vector.size} dimensions, not {dimension}")
            return vector

        vectors, _ = cached_map(
            self.cache_dir,
            keys,
            compute,
            encode=lambda v: np.asarray(v, dtype=np.float32),
            decode=decode,
            progress=bar,
        )
        return np.vstack(vectors).astype(np.float32, copy=False)
