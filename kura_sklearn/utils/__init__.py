"""Validation helpers shared by the estimators."""

from ._validation import check_conversations, check_texts, output_is_pandas

__all__ = ["check_conversations", "check_texts", "output_is_pandas"]
