"""One way to ask an LLM: through the per-item cache, under a failure policy."""

from ..caching import cached_map, item_key
from ._base import BatchResult, LLMBatchError
from ._settings import llm_settings
from ._usage import record_batch


def cached_complete(
    llm,
    model,
    prompts,
    schemas,
    *,
    kind,
    cache=None,
    ids=None,
    on_error="raise",
    what="LLM request",
    stage=None,
    progress=None,
    count_fallbacks=False,
):
    """Answer each prompt with an instance of its schema, asking only what is new.

    Every LLM step calls the model through this function, so all of them
    cache, count and fail the same way. Each answer is stored in the
    per-item cache as soon as it arrives, keyed by ``kind``, the prompt, the
    schema and :meth:`LLMSettings.answer_identity`: a fault later in the
    batch never loses finished work, and a changed setting that decides the
    answer (model, server, temperature, seed, structured output, prompt
    version, a custom backend) asks again. Identical prompts are asked once.

    Parameters
    ----------
    llm : LLMSettings or None
        Server and sampling settings; ``None`` uses the defaults.
    model : str
        Model name, with an optional provider prefix.
    prompts : list of str
        One user message per item.
    schemas : type of pydantic.BaseModel, or list of them
        The answer's schema, one for all or one per prompt.
    kind : str
        What is cached (``"summary"``, ``"naming"``): part of every key.
    cache : str, path, CacheStore or None, default=None
        The per-item cache (see :func:`kura_sklearn.caching.open_store`).
    ids : list of str, default=None
        Item ids for error reports; positions by default.
    on_error : {"raise", "fallback"}, default="raise"
        "raise" raises :class:`LLMBatchError` when an item fails after
        every retry; "fallback" returns ``None`` for it, for the caller to
        fill. A fatal failure (refused key, unknown model or URL) raises
        under either policy.
    what : str, default="LLM request"
        The stage's name in error messages.
    stage : str, default=None
        Stage under which :func:`track_llm_usage` counts the calls; ``None``
        counts nothing.
    progress : object with an ``update(n)`` method, default=None
        Told of every item as it is done, cached ones at once.
    count_fallbacks : bool, default=False
        Count each failed item as a fallback for :func:`track_llm_usage`
        (when the caller's fallback is per item).

    Returns
    -------
    result : BatchResult
        ``results`` holds schema instances, ``None`` where an item failed;
        ``failures`` maps each failed item's id to its last error.
    n_computed : int
        Distinct items asked of the model (cache hits and duplicates are
        not asked).
    """
    llm = llm_settings(llm)
    prompts = list(prompts)
    if not isinstance(schemas, (list, tuple)):
        schemas = [schemas] * len(prompts)
    ids = list(ids) if ids is not None else [str(i) for i in range(len(prompts))]
    identity = llm.answer_identity(model)
    keys = [
        item_key(kind, prompt=p, schema=s.model_json_schema(), **identity)
        for p, s in zip(prompts, schemas)
    ]
    backend = llm.make_backend(model)
    errors, batch = {}, []

    def compute(indices, on_result):
        result = backend.complete(
            [prompts[i] for i in indices],
            [schemas[i] for i in indices],
            ids=[ids[i] for i in indices],
            on_result=lambda j, answer: on_result(j, answer.model_dump(mode="json")),
        )
        batch.append(result)
        for j, i in enumerate(indices):
            if result.results[j] is None:
                errors[keys[i]] = result.failures[ids[i]]

    dumps, n_computed = cached_map(
        cache,
        keys,
        compute,
        check=lambda i, d: schemas[i].model_validate(d),  # else asked again
        progress=progress,
    )
    called = batch[0] if batch else None
    fatal = called is not None and called.fatal
    failed = [i for i, d in enumerate(dumps) if d is None]
    falls_back = count_fallbacks and on_error == "fallback" and not fatal
    if stage is not None:
        record_batch(
            stage,
            called,
            n_items=len(keys),
            n_cache_hits=len(set(keys)) - n_computed,
            n_fallbacks=len(failed) if falls_back else 0,
        )
    results = [
        None if d is None else s.model_validate(d) for d, s in zip(dumps, schemas)
    ]
    # a duplicate of a failed prompt fails with it, under its own id
    failures = {ids[i]: errors[keys[i]] for i in failed}
    if failures and (on_error == "raise" or fatal):
        # finished answers as plain data, which pickles in any process
        raise LLMBatchError(what, failures, dumps, ids)
    result = BatchResult(ids=ids, results=results, failures=failures, fatal=fatal)
    if called is not None:
        result.n_requests, result.n_retries = called.n_requests, called.n_retries
    return result, n_computed
