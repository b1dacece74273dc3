"""What each LLM stage did: items, requests, retries, failures, fallbacks, cache hits.

Estimators report their calls with :func:`record_usage`; whoever wants the
figures collects them with :func:`track_llm_usage` around a fit or a
transform (the CLI writes them to ``run.json``). Nothing is kept when no one
is tracking, and nothing global outlives the ``with`` block.
"""

import contextlib
import contextvars

#: The counters of one stage, in the order they are reported.
USAGE_FIELDS = ("items", "requests", "retries", "failures", "fallbacks", "cache_hits")

_trackers = contextvars.ContextVar("kura_sklearn_llm_usage", default=())


@contextlib.contextmanager
def track_llm_usage():
    """Collect what the LLM stages do inside the ``with`` block, per stage.

    Yields a dict, filled as calls finish: stage name ("summarize",
    "naming", "hierarchy") -> dict of :data:`USAGE_FIELDS`:

    - ``items``: what the stage asked for (conversations, texts, clusters,
      merge questions), cached or not;
    - ``requests``: HTTP requests sent, retries included;
    - ``retries``: requests that repeated a failed attempt;
    - ``failures``: items still failing after every retry;
    - ``fallbacks``: results made without the LLM because of a failure
      (``on_error="fallback"``): extractive summaries, keyword names;
    - ``cache_hits``: distinct items answered by the per-item cache.

    Trackers nest: an inner one sees only its block, an outer one everything.

    Examples
    --------
    >>> from kura_sklearn.llm import track_llm_usage
    >>> from kura_sklearn.llm._usage import record_usage
    >>> with track_llm_usage() as usage:
    ...     record_usage("summarize", items=3, requests=4, retries=1)
    >>> usage["summarize"]["retries"]
    1
    """
    usage = {}
    token = _trackers.set(_trackers.get() + (usage,))
    try:
        yield usage
    finally:
        _trackers.reset(token)


def record_usage(stage, **counts):
    """Add ``counts`` (keys from :data:`USAGE_FIELDS`) to ``stage`` of every tracker."""
    for usage in _trackers.get():
        entry = usage.setdefault(stage, dict.fromkeys(USAGE_FIELDS, 0))
        for name, value in counts.items():
            entry[name] += int(value)


def record_batch(stage, result, *, n_items, n_cache_hits, n_fallbacks=0):
    """Record a :class:`BatchResult` (``None`` when every item was cached)."""
    record_usage(
        stage,
        items=n_items,
        requests=result.n_requests if result is not None else 0,
        retries=result.n_retries if result is not None else 0,
        failures=len(result.failures) if result is not None else 0,
        fallbacks=n_fallbacks,
        cache_hits=n_cache_hits,
    )
