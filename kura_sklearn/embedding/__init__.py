"""Text embedders: a bundled ONNX model (the default, no torch), sentence-transformers
locally, or an OpenAI-compatible API."""

from ._onnx import OnnxEmbedder
from ._openai import OpenAIEmbedder
from ._precomputed import PrecomputedEmbedder, save_embedding_store, text_keys
from ._sentence_transformer import _BUNDLED_NAMES as BUNDLED_MODEL_NAMES
from ._sentence_transformer import SentenceTransformerEmbedder

__all__ = [
    "BUNDLED_MODEL_NAMES",
    "OnnxEmbedder",
    "OpenAIEmbedder",
    "PrecomputedEmbedder",
    "SentenceTransformerEmbedder",
    "save_embedding_store",
    "text_keys",
]
