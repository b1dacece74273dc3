"""Summarisation of conversations into short, private summaries and facets."""

from ._extractive import _FUNCTION_WORDS as FUNCTION_WORDS
from ._language import non_english_share
from ._output import SummaryArray
from ._schema import ConversationSummary
from ._summarizer import ConversationSummarizer

__all__ = [
    "ConversationSummarizer",
    "ConversationSummary",
    "FUNCTION_WORDS",
    "non_english_share",
    "SummaryArray",
]
