"""OpenAI and OpenAI-compatible servers (vLLM, Ollama, llama.cpp) as a backend."""

import asyncio
import copy
import functools
import hashlib
import json
import logging
import os
from dataclasses import dataclass

import numpy as np

from ..utils import shorten
from . import _aio
from ._base import BatchResult, InvalidResponseError
from ._secrets import check_api_key_env, redact, remember_secret

logger = logging.getLogger(__name__)

#: Retry waits are random, below a cap that starts here (seconds) and doubles
#: with each attempt, up to RETRY_MAX_WAIT.
RETRY_INITIAL_WAIT = 0.5
RETRY_MAX_WAIT = 8.0  # the openai SDK's own bound for its retries
#: Sent when the key variable is unset but a self-hosted server is named by
#: ``base_url``: such servers ignore the key, and the client insists on one.
PLACEHOLDER_KEY = "not-needed"


def resolve_base_url(base_url):
    """``base_url``, else the ``OPENAI_BASE_URL`` environment variable, else None."""
    return base_url or os.environ.get("OPENAI_BASE_URL") or None


def _read_key(api_key_env, base_url):
    check_api_key_env(api_key_env)  # before any message can name it
    key = os.environ.get(api_key_env) if api_key_env else None
    if key:
        remember_secret(key)  # redacted from every error text and log line
        return key
    if base_url:
        return PLACEHOLDER_KEY
    raise RuntimeError(
        f"No API key: the environment variable {api_key_env!r} is not set. "
        "Set it, or pass base_url= for a self-hosted OpenAI-compatible server."
    )


@functools.lru_cache(maxsize=32)
def _cached_client(base_url, api_key_env, key_digest, timeout):
    # key_digest is only part of the cache key: a changed key builds a new
    # client, and the key itself never sits in the cache's keys.
    from openai import AsyncOpenAI

    return AsyncOpenAI(
        api_key=_read_key(api_key_env, base_url),
        base_url=base_url,
        timeout=timeout,
        max_retries=0,  # retries are ours: they also cover invalid JSON
    )


_aio.on_new_loop(_cached_client.cache_clear)


def get_client(base_url, api_key_env, timeout):
    """The process's shared async client for these settings, built on first use.

    Clients are never stored on estimators: they hold sockets and locks that
    neither pickle nor clone.
    """
    base_url = resolve_base_url(base_url)
    key = _read_key(api_key_env, base_url)
    digest = hashlib.sha256(key.encode()).hexdigest()
    return _cached_client(base_url, api_key_env, digest, float(timeout))


def strict_json_schema(model):
    """JSON schema of a pydantic model in the form OpenAI's strict mode accepts.

    Every object gets ``additionalProperties: false`` and lists all its
    properties as required; ``default`` keywords are dropped.
    """
    schema = copy.deepcopy(model.model_json_schema())

    def visit(node):
        if isinstance(node, dict):
            node.pop("default", None)
            if node.get("type") == "object" and "properties" in node:
                node["additionalProperties"] = False
                node["required"] = list(node["properties"])
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    return schema


def _is_retryable(exc):
    """Whether another attempt may succeed: every transient fault, nothing else.

    Transient: rate limits, server errors, time-outs, dropped connections, a
    status-200 body cut off before its JSON ends (a proxy or a server dying
    mid-answer: the SDK raises ``json.JSONDecodeError``), and answers that do
    not fit the schema. Not retried: what the settings cause (a refused key,
    an unknown model or URL, a malformed request), which fails every attempt.
    """
    import openai

    if isinstance(
        exc,
        (
            InvalidResponseError,
            json.JSONDecodeError,
            openai.APITimeoutError,
            openai.APIConnectionError,
            asyncio.TimeoutError,
        ),
    ):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return False


def _is_fatal(exc):
    """Whether ``exc`` says the settings are wrong for every item, not one."""
    import openai

    return isinstance(
        exc,
        (
            openai.AuthenticationError,
            openai.PermissionDeniedError,
            openai.NotFoundError,
        ),
    )


def _first_message(data):
    """``(content, refusal)`` of the first choice of a decoded chat completion."""
    try:
        message = data["choices"][0]["message"]
        content, refusal = message.get("content"), message.get("refusal")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise InvalidResponseError(
            f"not a chat completion: {type(exc).__name__}"
        ) from None
    if not isinstance(content, (str, type(None))):
        raise InvalidResponseError("the answer's content is not a string")
    return content, refusal


def _finish_reason(data):
    """The first choice's ``finish_reason``, None when absent."""
    try:
        return data["choices"][0].get("finish_reason")
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


def _describe(exc):
    """One line on ``exc`` for failures and logs, any key in it redacted."""
    if isinstance(exc, json.JSONDecodeError):
        text = f"the response body is not complete JSON (cut off?): {exc}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return shorten(redact(text), 300, ellipsis="...", collapse=False)


@dataclass(frozen=True)
class OpenAIBackend:
    """Structured completions and embeddings from an OpenAI-compatible API.

    Reaches OpenAI itself, or any server that speaks its API (vLLM, Ollama,
    ``python -m llama_cpp.server``...) through ``base_url``. This is a
    settings object: it holds no client, so it pickles and compares by value.

    Parameters
    ----------
    model : str
        Model name as the server knows it.
    base_url : str, default=None
        Server URL, e.g. ``"http://localhost:11434/v1"``. ``None`` uses the
        ``OPENAI_BASE_URL`` environment variable, else OpenAI.
    api_key_env : str, default="OPENAI_API_KEY"
        *Name* of the environment variable holding the key. The key is read
        when a call is made and is never stored.
    temperature : float, default=0.0
        Sampling temperature for completions.
    seed : int, default=None
        Sampling seed, for servers that honour it.
    max_concurrency : int, default=8
        Requests in flight at once.
    timeout : float, default=60.0
        Seconds before one request is abandoned (and retried).
    max_retries : int, default=8
        Retries per item after the first attempt, with exponential backoff,
        on rate limits, server errors, time-outs, dropped connections,
        response bodies cut off mid-JSON and answers that do not match the
        schema. With 8, an item fails only when 9 attempts in a row fail: at
        a 30% rate of independent faults, 2 in 100,000 items.
    max_tokens : int, default=None
        Most tokens the model may generate per answer (sent as
        ``max_tokens``). A small local model that loops otherwise generates
        until the client's ``timeout``, and the server keeps generating after
        that; with a cap the answer is cut, fails validation (the error says
        it was cut) and is retried or reported. ``None`` sends no cap.
    dimensions : int, default=None
        Output size for embedding models that support shortening.
    batch_size : int, default=128
        Texts per embeddings request.
    structured_output : {"json_schema", "json_object"}, default="json_schema"
        How the answer's schema is sent. "json_schema" is OpenAI's structured
        output, also served by vLLM, Ollama and llama.cpp's ``llama-server``.
        "json_object" sends ``{"type": "json_object", "schema": ...}`` and
        repeats the schema in the prompt, for servers that accept only that
        form, such as ``python -m llama_cpp.server``.

    Notes
    -----
    ``on_result`` callbacks run on the background event-loop thread: keep
    them short (a cache write), never blocking on other LLM calls.

    Examples
    --------
    >>> from kura_sklearn.llm import OpenAIBackend
    >>> backend = OpenAIBackend(model="llama3.1:8b",
    ...                         base_url="http://localhost:11434/v1")
    >>> backend.max_concurrency, backend.api_key_env
    (8, 'OPENAI_API_KEY')
    """

    model: str
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float | None = 0.0
    seed: int | None = None
    max_concurrency: int = 8
    timeout: float = 60.0
    max_retries: int = 8
    max_tokens: int | None = None
    dimensions: int | None = None
    batch_size: int = 128
    structured_output: str = "json_schema"

    def _client(self):
        return get_client(self.base_url, self.api_key_env, self.timeout)

    def _retrying(self):
        from tenacity import (
            AsyncRetrying,
            retry_if_exception,
            stop_after_attempt,
            wait_random_exponential,
        )

        return AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            # "full jitter": a random wait below an exponentially growing cap
            wait=wait_random_exponential(
                multiplier=RETRY_INITIAL_WAIT, max=RETRY_MAX_WAIT
            ),
            retry=retry_if_exception(_is_retryable),
            reraise=True,
        )

    def complete(self, prompts, response_model, *, ids=None, on_result=None):
        """Answer each prompt with a validated instance of ``response_model``.

        Parameters
        ----------
        prompts : sequence of str
            One user message per item.
        response_model : type of pydantic.BaseModel, or list of them
            Schema of the answer, sent as a strict JSON schema; a list gives
            each prompt its own schema.
        ids : sequence of str, default=None
            Item ids used in error reports; positions by default.
        on_result : callable, default=None
            ``on_result(i, answer)`` runs as soon as item ``i`` succeeds.

        Returns
        -------
        result : BatchResult
        """
        prompts = list(prompts)
        if isinstance(response_model, (list, tuple)):
            models = list(response_model)
            if len(models) != len(prompts):
                raise ValueError(
                    f"{len(models)} response models for {len(prompts)} prompts"
                )
        else:
            models = [response_model] * len(prompts)
        if self.structured_output not in ("json_schema", "json_object"):
            raise ValueError(
                "structured_output must be 'json_schema' or 'json_object', got "
                f"{self.structured_output!r}"
            )
        formats, suffixes = {}, {}
        for model in models:
            if model in formats:
                continue
            schema = strict_json_schema(model)
            if self.structured_output == "json_schema":
                formats[model] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": model.__name__,
                        "schema": schema,
                        "strict": True,
                    },
                }
                suffixes[model] = ""
            else:
                formats[model] = {"type": "json_object", "schema": schema}
                suffixes[model] = (
                    "\n\nAnswer with one JSON object that matches this JSON "
                    f"schema:\n{json.dumps(schema)}"
                )

        async def one(client, item):
            prompt, response_model = item
            response_format = formats[response_model]
            prompt += suffixes[response_model]
            kwargs = {}
            if self.temperature is not None:
                kwargs["temperature"] = self.temperature
            if self.seed is not None:
                kwargs["seed"] = self.seed
            if self.max_tokens is not None:
                kwargs["max_tokens"] = self.max_tokens
            body = {
                "model": self.model,
                "messages": [{"role": "user", "content": prompt}],
                "response_format": response_format,
                **kwargs,
            }
            # The SDK's documented route for custom requests: the same HTTP
            # call, status errors and time-outs as ``chat.completions.create``
            # without its per-call parameter transform and response models,
            # which cost about half of the client's CPU time per call
            # (benchmarks/bench_limits.py); at hundreds of calls a second on
            # two cores, that CPU decides how well the calls overlap.
            data = await client.post("/chat/completions", body=body, cast_to=object)
            content, refusal = _first_message(data)
            if refusal:
                raise InvalidResponseError(f"the model refused: {refusal}")
            try:
                return response_model.model_validate_json(content or "")
            except ValueError as exc:  # pydantic's ValidationError is a ValueError
                cut = ""
                if _finish_reason(data) == "length":
                    cut = f" (the answer was cut at max_tokens={self.max_tokens})"
                raise InvalidResponseError(
                    f"answer does not match {response_model.__name__}{cut}: "
                    f"{str(exc).splitlines()[0]}"
                ) from None

        return self._run_batch(
            list(zip(prompts, models)), one, ids, on_result, "completion"
        )

    def embed(self, texts, *, ids=None, on_result=None):
        """Embed texts in batches of ``batch_size``, concurrently.

        Returns
        -------
        result : BatchResult
            One float32 vector per text; a failed request fails every text
            of its batch, and only those.
        """
        texts = list(texts)
        batches = [
            texts[i : i + self.batch_size]
            for i in range(0, len(texts), self.batch_size)
        ]
        item_ids = list(ids) if ids is not None else [str(i) for i in range(len(texts))]

        async def one(client, batch):
            kwargs = {}
            if self.dimensions is not None:
                kwargs["dimensions"] = self.dimensions
            response = await client.embeddings.create(
                model=self.model, input=batch, **kwargs
            )
            data = sorted(response.data, key=lambda d: d.index)
            if len(data) != len(batch):
                raise InvalidResponseError(
                    f"{len(data)} embeddings for {len(batch)} texts"
                )
            return [np.asarray(d.embedding, dtype=np.float32) for d in data]

        starts = list(range(0, len(texts), self.batch_size))

        def batch_done(b, vectors):
            if on_result is not None:
                for offset, vector in enumerate(vectors):
                    on_result(starts[b] + offset, vector)

        outcome = self._run_batch(
            batches,
            one,
            [f"batch {b}" for b in range(len(batches))],
            batch_done,
            "embedding",
        )
        results, failures = [], {}
        for b, vectors in enumerate(outcome.results):
            members = item_ids[starts[b] : starts[b] + len(batches[b])]
            if vectors is None:
                results.extend([None] * len(members))
                for item_id in members:
                    failures[item_id] = outcome.failures[f"batch {b}"]
            else:
                results.extend(vectors)
        return BatchResult(
            ids=item_ids,
            results=results,
            failures=failures,
            n_requests=outcome.n_requests,
            n_retries=outcome.n_retries,
            fatal=outcome.fatal,
        )

    def _run_batch(self, items, call, ids, on_result, what):
        ids = list(ids) if ids is not None else [str(i) for i in range(len(items))]
        if len(ids) != len(items):
            raise ValueError(f"{len(ids)} ids for {len(items)} items")
        results = [None] * len(items)
        failures = {}
        if not items:
            return BatchResult(ids=ids, results=results, failures=failures)
        client = self._client()
        counts = {"requests": 0, "fatal": False}

        async def guarded(i, semaphore):
            try:
                async for attempt in self._retrying():
                    with attempt:
                        async with semaphore:
                            counts["requests"] += 1
                            value = await call(client, items[i])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                counts["fatal"] = counts["fatal"] or _is_fatal(exc)
                failures[ids[i]] = _describe(exc)
                logger.warning("%s failed for %r: %s", what, ids[i], failures[ids[i]])
                return
            results[i] = value
            if on_result is not None:
                on_result(i, value)

        async def main():
            semaphore = asyncio.Semaphore(self.max_concurrency)
            await asyncio.gather(*(guarded(i, semaphore) for i in range(len(items))))

        _aio.run(main())
        # failures in input order
        ordered = {item_id: failures[item_id] for item_id in ids if item_id in failures}
        return BatchResult(
            ids=ids,
            results=results,
            failures=ordered,
            n_requests=counts["requests"],
            n_retries=counts["requests"] - len(items),
            fatal=counts["fatal"],
        )
