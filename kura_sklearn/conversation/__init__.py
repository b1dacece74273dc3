"""Conversation and message types, and loaders that read them from any source."""

from ._dialects import FORMATS
from ._loaders import load_conversations
from ._types import (
    ROLES,
    Conversation,
    ConversationValidationError,
    Message,
    stable_chat_id,
    truncate_middle,
)

__all__ = [
    "FORMATS",
    "ROLES",
    "Conversation",
    "ConversationValidationError",
    "Message",
    "load_conversations",
    "stable_chat_id",
    "truncate_middle",
]
