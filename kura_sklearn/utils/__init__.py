"""Validation helpers shared by the estimators, and chunked parallel transforms."""

from ._groups import centroids, cluster_sums, group_directions, group_indices
from ._parallel import parallel_transform
from ._progress import progress
from ._terminal import count_of, terminal_safe
from ._text import shorten, slugify
from ._validation import check_conversations, check_texts, is_one_shot, output_is_pandas
from ._versioning import InconsistentVersionWarning, VersionStampMixin

__all__ = [
    "centroids",
    "cluster_sums",
    "group_directions",
    "group_indices",
    "check_conversations",
    "check_texts",
    "count_of",
    "InconsistentVersionWarning",
    "is_one_shot",
    "output_is_pandas",
    "parallel_transform",
    "progress",
    "shorten",
    "slugify",
    "terminal_safe",
    "VersionStampMixin",
]
