"""Cluster naming: keyword names offline, or names written by an LLM."""

from ._base import ClusterName, slugify
from ._keywords import KeywordNamer, class_tfidf_keywords
from ._llm import LLMNamer
from ._phrases import KeyphraseNamer

__all__ = [
    "ClusterName",
    "KeyphraseNamer",
    "KeywordNamer",
    "LLMNamer",
    "class_tfidf_keywords",
    "slugify",
]
