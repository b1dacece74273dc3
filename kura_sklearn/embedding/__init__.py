"""Text embedders: a bundled ONNX model (the default, no torch), sentence-transformers
locally, or an OpenAI-compatible API."""

from ._onnx import OnnxEmbedder
from ._openai import OpenAIEmbedder
from ._precomputed import PrecomputedEmbedder, save_embedding_store, text_keys
from ._sentence_transformer import SentenceTransformerEmbedder

__all__ = [
    "OnnxEmbedder",
    "OpenAIEmbedder",
    "PrecomputedEmbedder",
    "SentenceTransformerEmbedder",
    "save_embedding_store",
    "text_keys",
]
