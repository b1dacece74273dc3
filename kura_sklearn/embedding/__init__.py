"""Text embedders: sentence-transformers locally, or an OpenAI-compatible API."""

from ._openai import OpenAIEmbedder
from ._sentence_transformer import SentenceTransformerEmbedder

__all__ = ["OpenAIEmbedder", "SentenceTransformerEmbedder"]
