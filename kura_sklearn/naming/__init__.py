"""Cluster naming: keyword names offline, or names written by an LLM."""

from ._base import (
    ClusterName,
    MemberTexts,
    centroids,
    cluster_sums,
    group_directions,
    group_indices,
    slugify,
)
from ._keywords import KeywordNamer, class_tfidf_keywords
from ._llm import LLMNamer
from ._phrases import JOINED, KeyphraseNamer

__all__ = [
    "JOINED",
    "centroids",
    "class_tfidf_keywords",
    "cluster_sums",
    "ClusterName",
    "group_directions",
    "group_indices",
    "KeyphraseNamer",
    "KeywordNamer",
    "LLMNamer",
    "MemberTexts",
    "slugify",
]
