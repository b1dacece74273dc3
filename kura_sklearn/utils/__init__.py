"""Validation helpers shared by the estimators, and chunked parallel transforms."""

from ._parallel import parallel_transform
from ._terminal import terminal_safe
from ._validation import check_conversations, check_texts, output_is_pandas
from ._versioning import InconsistentVersionWarning, VersionStampMixin

__all__ = [
    "InconsistentVersionWarning",
    "VersionStampMixin",
    "check_conversations",
    "check_texts",
    "output_is_pandas",
    "parallel_transform",
    "terminal_safe",
]
