"""LLM and embedding backends (not estimators): protocols, providers, prompts."""

from ._base import (
    BatchResult,
    InvalidResponseError,
    LLMBatchError,
    StructuredLLM,
    TextEmbeddingBackend,
)
from ._openai import OpenAIBackend, get_client, strict_json_schema
from ._prompts import (
    CONCERNING_RUBRIC,
    NAMING_PROMPTS,
    PRIVACY_GUIDANCE,
    PROMPT_VERSION,
    REQUIRED_PLACEHOLDERS,
    SPECIFICITY_GUIDANCE,
    SUMMARY_PROMPT,
    fill,
)
from ._usage import USAGE_FIELDS, track_llm_usage

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
    "BatchResult",
    "CONCERNING_RUBRIC",
    "InvalidResponseError",
    "LLMBatchError",
    "NAMING_PROMPTS",
    "OpenAIBackend",
    "PRIVACY_GUIDANCE",
    "PROMPT_VERSION",
    "PROVIDERS",
    "REQUIRED_PLACEHOLDERS",
    "SPECIFICITY_GUIDANCE",
    "StructuredLLM",
    "SUMMARY_PROMPT",
    "TextEmbeddingBackend",
    "USAGE_FIELDS",
    "fill",
    "get_client",
    "make_backend",
    "register_provider",
    "strict_json_schema",
    "track_llm_usage",
]
