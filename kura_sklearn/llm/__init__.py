"""LLM backends (not estimators): protocols, settings, prompts, the cached call."""

from ._base import (
    BatchResult,
    InvalidResponseError,
    LLMBatchError,
    StructuredLLM,
    TextEmbeddingBackend,
)
from ._complete import cached_complete
from ._endpoint import ServerInStateMixin
from ._openai import OpenAIBackend, get_client, resolve_base_url, strict_json_schema
from ._prompts import (
    CONCERNING_RUBRIC,
    HUMAN_LANGUAGES_GUIDANCE,
    NAMING_PROMPTS,
    NONE_OF_THESE,
    PRIVACY_GUIDANCE,
    PROGRAMMING_LANGUAGES_GUIDANCE,
    PROMPT_VERSION,
    REQUIRED_PLACEHOLDERS,
    SPECIFICITY_GUIDANCE,
    SUMMARY_PROMPT,
    fill,
)
from ._secrets import looks_like_key
from ._settings import PROVIDERS, LLMSettings, make_backend
from ._usage import USAGE_FIELDS, record_batch, record_usage, track_llm_usage

__all__ = [
    "BatchResult",
    "cached_complete",
    "CONCERNING_RUBRIC",
    "fill",
    "get_client",
    "HUMAN_LANGUAGES_GUIDANCE",
    "InvalidResponseError",
    "LLMBatchError",
    "LLMSettings",
    "looks_like_key",
    "make_backend",
    "NAMING_PROMPTS",
    "NONE_OF_THESE",
    "OpenAIBackend",
    "PRIVACY_GUIDANCE",
    "PROGRAMMING_LANGUAGES_GUIDANCE",
    "PROMPT_VERSION",
    "PROVIDERS",
    "record_batch",
    "record_usage",
    "REQUIRED_PLACEHOLDERS",
    "resolve_base_url",
    "ServerInStateMixin",
    "SPECIFICITY_GUIDANCE",
    "strict_json_schema",
    "StructuredLLM",
    "SUMMARY_PROMPT",
    "TextEmbeddingBackend",
    "track_llm_usage",
    "USAGE_FIELDS",
]
