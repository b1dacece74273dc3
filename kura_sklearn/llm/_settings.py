"""Settings every LLM-calling estimator shares, and how they become a backend."""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ._base import LLMBatchError
from ._openai import resolve_base_url
from ._prompts import PROMPT_VERSION
from ._secrets import check_api_key_env

#: Constraints of the settings parameters, merged into each estimator's own.
LLM_PARAMETER_CONSTRAINTS = {
    "base_url": [str, None],
    "api_key_env": [str],
    "temperature": [Interval(Real, 0, 2, closed="both"), None],
    "seed": [Interval(Integral, 0, None, closed="left"), None],
    "max_concurrency": [Interval(Integral, 1, None, closed="left")],
    "timeout": [Interval(Real, 0, None, closed="neither")],
    "max_retries": [Interval(Integral, 0, None, closed="left")],
    "max_tokens": [Interval(Integral, 1, None, closed="left"), None],
    "structured_output": [StrOptions({"json_schema", "json_object"})],
    "on_error": [StrOptions({"raise", "fallback"})],
}


def backend_for(estimator):
    """The backend for an estimator's ``model`` and LLM settings."""
    check_api_key_env(estimator.api_key_env)
    from . import make_backend  # defined in the package, after this module

    return make_backend(
        estimator.model,
        base_url=estimator.base_url,
        api_key_env=estimator.api_key_env,
        temperature=estimator.temperature,
        seed=estimator.seed,
        max_concurrency=estimator.max_concurrency,
        timeout=estimator.timeout,
        max_retries=estimator.max_retries,
        max_tokens=estimator.max_tokens,
        structured_output=estimator.structured_output,
    )


def answer_identity(estimator):
    """The settings that decide an answer, for cache keys (no transport settings).

    ``max_tokens`` is not among them: it only cuts an answer short, and a cut
    answer fails validation and is never cached, so every cached answer is
    one the model finished under any cap.
    """
    return {
        "model": estimator.model,
        "base_url": resolve_base_url(estimator.base_url),
        "temperature": estimator.temperature,
        "seed": estimator.seed,
        "structured_output": estimator.structured_output,
        "prompt_version": PROMPT_VERSION,
    }


def settle_failures(result, what, on_error, ids=None, results=None):
    """Raise for ``result``'s failures unless ``on_error`` lets a fallback stand in.

    A fatal failure (refused key, unknown model or URL) raises under either
    policy: a fallback for every item would hide a wrong setting.
    """
    if result.failures and (on_error == "raise" or result.fatal):
        raise LLMBatchError(
            what,
            result.failures,
            result.results if results is None else results,
            result.ids if ids is None else ids,
        )
