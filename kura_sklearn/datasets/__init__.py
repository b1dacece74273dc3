"""A small bundled sample of chat conversations, for examples, docs and tests."""

from ._samples import load_sample_conversations, sample_topics

__all__ = ["load_sample_conversations", "sample_topics"]
