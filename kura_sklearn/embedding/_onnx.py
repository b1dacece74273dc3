"""Local embeddings with onnxruntime: the bundled all-MiniLM-L6-v2, no torch."""

import functools
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ._base import _BaseEmbedder

#: The model shipped inside the package: all-MiniLM-L6-v2, int8 ONNX, made by
#: benchmarks/export_onnx_model.py (see PROVENANCE.md beside it).
BUNDLED_MODEL = Path(__file__).resolve().parent / "models" / "all-MiniLM-L6-v2"

_MODEL_FILE = "model.onnx"
_TOKENIZER_FILE = "tokenizer.json"
_CONFIG_FILE = "config.json"


def _model_dir(model_path):
    return BUNDLED_MODEL if model_path is None else Path(model_path)


def _file_state(directory):
    """What changes when the model's files are rewritten: size and mtime."""
    states = []
    for name in (_MODEL_FILE, _TOKENIZER_FILE, _CONFIG_FILE):
        path = directory / name
        if path.exists():
            stat = path.stat()
            states.append((name, stat.st_size, stat.st_mtime_ns))
    return tuple(states)


@functools.lru_cache(maxsize=8)
def _fingerprint(directory, state):
    """SHA-256 over the model, tokenizer and settings: the cache's model id.

    Hashing 23 MB takes tens of milliseconds and loads nothing; the result
    is kept per process and file state.
    """
    digest = hashlib.sha256()
    for name, _, _ in state:
        digest.update(name.encode())
        with open(Path(directory) / name, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _read_config(directory):
    path = directory / _CONFIG_FILE
    config = {"max_seq_length": 256, "pooling": "mean"}
    if path.exists():
        config.update(json.loads(path.read_text(encoding="utf-8")))
    if config["pooling"] not in ("mean", "cls"):
        raise ValueError(f"Unknown pooling {config['pooling']!r} in {path}.")
    return config


class _OnnxModel:
    """An onnxruntime session with its tokenizer and pooling."""

    def __init__(self, directory):
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(
                "OnnxEmbedder needs onnxruntime and tokenizers, which "
                "`pip install kura-sklearn` installs."
            ) from exc
        self.config = _read_config(directory)
        self.tokenizer = Tokenizer.from_file(str(directory / _TOKENIZER_FILE))
        self.tokenizer.enable_truncation(max_length=int(self.config["max_seq_length"]))
        self.tokenizer.enable_padding()  # to the longest text of each batch
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only; no warnings on stderr
        self.session = onnxruntime.InferenceSession(
            str(directory / _MODEL_FILE),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    def encode(self, texts):
        """Pooled (not normalised) float32 vectors of one batch of texts."""
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feed["token_type_ids"] = np.zeros_like(ids)
        (hidden,) = self.session.run(None, feed)
        if self.config["pooling"] == "cls":
            return hidden[:, 0].astype(np.float32, copy=False)
        # mean over the real tokens, as sentence-transformers' Pooling does
        weights = mask[:, :, None].astype(np.float32)
        summed = (hidden * weights).sum(axis=1)
        return (summed / np.clip(weights.sum(axis=1), 1e-9, None)).astype(np.float32)


@functools.lru_cache(maxsize=4)
def load_onnx_model(directory, state):
    """Load a model once per process (per file state) and keep it."""
    return _OnnxModel(Path(directory))


class OnnxEmbedder(_BaseEmbedder):
    """Embed texts locally with an ONNX model and onnxruntime, without torch.

    The default is all-MiniLM-L6-v2 (384 dimensions), exported to ONNX with
    int8 weights and shipped inside this package, so it needs no download, no
    extra package and no torch. Texts are tokenised by the model's fast
    tokenizer (truncated at ``max_seq_length``, 256 for the default), encoded
    in length-sorted batches, mean-pooled over their tokens and
    L2-normalised, as sentence-transformers does. The model is loaded on
    first use and cached per process, never stored on the estimator, so the
    estimator clones and pickles cheaply.

    Parameters
    ----------
    model_path : str or path, default=None
        Directory holding ``model.onnx`` (inputs ``input_ids``,
        ``attention_mask`` and optionally ``token_type_ids``; output the
        token states), ``tokenizer.json`` and optionally ``config.json``
        (``max_seq_length``, ``pooling``: ``"mean"`` or ``"cls"``).
        ``None`` uses the bundled all-MiniLM-L6-v2.
    batch_size : int, default=64
        Texts per forward pass.
    normalize : bool, default=True
        L2-normalise each embedding, so dot products are cosine similarities.
    cache_dir : str or path, default=None
        Directory of the per-item cache, keyed by text and a SHA-256 of the
        model's files (so its vectors are never served for another model's,
        nor for :class:`SentenceTransformerEmbedder`'s). Vectors are written
        every ``CHUNK`` texts, so an interrupted run resumes; a run whose
        texts are all cached loads no model. A ``redis://`` URL keeps the
        cache in a Redis server machines share.
    verbose : int, default=0
        0 is silent. Above 0, ``transform`` logs the start and end of
        embedding (logger ``kura_sklearn.embedding._base``, INFO) and, when
        standard error is a terminal, shows a progress bar of the texts done,
        their rate and the time left. Never part of the cache key.

    See Also
    --------
    SentenceTransformerEmbedder : Any sentence-transformers model, with torch.
    OpenAIEmbedder : Embeddings from an OpenAI-compatible API.

    Notes
    -----
    The bundled model stores its weights in 8 bits (24 MB). Against
    sentence-transformers running the original fp32 weights, on the 3,080
    BANKING77 test queries, its embeddings have a mean cosine similarity of
    0.9996 and cluster as well (K-means NMI within 0.1 point), at a higher
    throughput on CPU (``benchmarks/RESULTS.md``). Its vectors are close
    but not equal, hence the separate cache key.
    ``benchmarks/export_onnx_model.py`` remakes the bundled model.

    Examples
    --------
    >>> from kura_sklearn.embedding import OnnxEmbedder
    >>> X = OnnxEmbedder().fit_transform(["reset my password", "bake sourdough bread"])
    >>> X.shape, X.dtype
    ((2, 384), dtype('float32'))
    >>> float((X * X).sum(axis=1).round(4)[0])
    1.0
    """

    _parameter_constraints: dict = {
        **_BaseEmbedder._parameter_constraints,
        "model_path": [str, os.PathLike, None],
    }

    #: Texts encoded between two cache writes or progress-bar updates.
    CHUNK = 256

    def __init__(
        self,
        model_path=None,
        *,
        batch_size=64,
        normalize=True,
        cache_dir=None,
        verbose=0,
    ):
        self.model_path = model_path
        self.batch_size = batch_size
        self.normalize = normalize
        self.cache_dir = cache_dir
        self.verbose = verbose

    def _directory(self):
        return _model_dir(self.model_path).resolve()

    def _model(self):
        directory = self._directory()
        return load_onnx_model(str(directory), _file_state(directory))

    def _embed(self, texts, on_result=None):
        model = self._model()
        # Longest first, so that each batch pads to texts of similar length.
        lengths = [len(t) for t in texts]
        order = np.argsort(lengths, kind="stable")[::-1]
        out = np.empty((len(texts), model.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            idx = order[start : start + self.batch_size]
            vectors = model.encode([texts[i] for i in idx])
            out[idx] = vectors
            if on_result is not None:
                for i, vector in zip(idx, vectors):
                    on_result(int(i), vector)
        return out

    def _cache_identity(self):
        directory = self._directory()
        return {
            "backend": "onnxruntime",
            "model": _fingerprint(str(directory), _file_state(directory)),
        }

    def _dimension_without_loading(self):
        return _read_config(self._directory()).get("dimension")

    def _embedding_dimension(self):
        return self._model().dimension
