"""LLM and embedding backends (not estimators): protocols, providers, prompts."""

from ._base import (
    BatchResult,
    InvalidResponseError,
    LLMBatchError,
    StructuredLLM,
    TextEmbeddingBackend,
)
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
from ._settings import (
    LLM_PARAMETER_CONSTRAINTS,
    answer_identity,
    backend_for,
    settle_failures,
)
from ._usage import USAGE_FIELDS, record_batch, record_usage, track_llm_usage

#: provider prefix -> backend class. ``"openai/gpt-4o-mini"`` selects
#: OpenAIBackend with model "gpt-4o-mini". A name without a registered prefix
#: goes to the OpenAI-compatible backend unchanged (vLLM names such as
#: "meta-llama/Llama-3.1-8B-Instruct" contain slashes too).
PROVIDERS = {"openai": OpenAIBackend}


def register_provider(prefix, backend_class):
    """Make ``"prefix/model"`` names select ``backend_class``.

    ``backend_class`` is built as ``backend_class(model=..., **settings)``
    with the settings of :class:`OpenAIBackend` and must implement
    :class:`StructuredLLM` and/or :class:`TextEmbeddingBackend`.
    """
    PROVIDERS[prefix] = backend_class


def make_backend(model, **settings):
    """Backend for a model name such as ``"openai/gpt-4o-mini"``.

    Examples
    --------
    >>> from kura_sklearn.llm import make_backend
    >>> make_backend("openai/gpt-4o-mini", base_url="http://localhost:8000/v1").model
    'gpt-4o-mini'
    """
    prefix, _, rest = model.partition("/")
    if rest and prefix in PROVIDERS:
        return PROVIDERS[prefix](model=rest, **settings)
    return OpenAIBackend(model=model, **settings)


__all__ = [
    "answer_identity",
    "backend_for",
    "BatchResult",
    "CONCERNING_RUBRIC",
    "fill",
    "get_client",
    "HUMAN_LANGUAGES_GUIDANCE",
    "InvalidResponseError",
    "LLM_PARAMETER_CONSTRAINTS",
    "LLMBatchError",
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
    "register_provider",
    "REQUIRED_PLACEHOLDERS",
    "resolve_base_url",
    "ServerInStateMixin",
    "settle_failures",
    "SPECIFICITY_GUIDANCE",
    "strict_json_schema",
    "StructuredLLM",
    "SUMMARY_PROMPT",
    "TextEmbeddingBackend",
    "track_llm_usage",
    "USAGE_FIELDS",
]
