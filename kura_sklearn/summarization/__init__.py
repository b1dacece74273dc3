"""Summarisation of conversations into short, private summaries and facets."""

from ._output import SummaryArray
from ._schema import ConversationSummary
from ._summarizer import ConversationSummarizer

__all__ = ["ConversationSummarizer", "ConversationSummary", "SummaryArray"]
