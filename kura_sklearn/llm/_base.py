"""Protocols and results shared by every LLM and embedding backend."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ._secrets import redact


class InvalidResponseError(ValueError):
    """The model answered, but not with a valid instance of the schema."""


class LLMBatchError(RuntimeError):
    """Some items of a batch failed after every retry.

    The items that succeeded are not lost: they are in :attr:`results`
    (and were handed to the ``on_result`` callback as they finished).
    The error pickles, so it crosses process boundaries (joblib workers,
    Dask) with the failed ids and reasons intact. Error texts pass through
    :func:`~kura_sklearn.llm._secrets.redact`: a key a server echoed is
    never shown.

    Parameters
    ----------
    what : str
        The stage that failed, e.g. "Summarisation".
    failures : dict of str to str
        Item id -> description of the last error for that item.
    results : list
        One entry per item, ``None`` where the item failed.
    ids : list of str
        Item ids, in input order.

    Attributes
    ----------
    what : str
        The stage that failed.
    failures : dict of str to str
        Item id -> description of the last error for that item.
    results : list
        One entry per item, ``None`` where the item failed.
    ids : list of str
        Item ids, in input order.
    """

    def __init__(self, what, failures, results, ids):
        self.what = what
        self.failures = {k: redact(v) for k, v in dict(failures).items()}
        self.results = list(results)
        self.ids = list(ids)
        n_ok = sum(r is not None for r in self.results)
        shown = list(self.failures.items())[:5]
        detail = "; ".join(f"{item_id!r}: {err}" for item_id, err in shown)
        more = len(self.failures) - len(shown)
        if more > 0:
            detail += f"; and {more} more"
        super().__init__(
            f"{what} failed for {len(self.failures)} of {len(self.ids)} items "
            f"({n_ok} succeeded and are kept): {detail}"
        )

    def __reduce__(self):
        # BaseException pickles as cls(*self.args), and args holds only the
        # message: rebuild from the four constructor arguments instead.
        return (
            type(self),
            (self.what, self.failures, self.results, self.ids),
            self.__dict__,
        )


@dataclass
class BatchResult:
    """Outcome of a batch call: one result per item, and the failures.

    Attributes
    ----------
    ids : list of str
        Item ids, in input order.
    results : list
        One entry per item, ``None`` where the item failed.
    failures : dict of str to str
        Item id -> description of the last error, for failed items only.
    n_requests : int
        HTTP requests made, first attempts and retries.
    n_retries : int
        Requests that were retries of an earlier attempt.
    fatal : bool
        True when a failure says the settings are wrong (an API key the
        server refuses, an unknown model or URL), not that one item failed:
        no fallback can stand in for every item, so callers raise.
    """

    ids: list
    results: list
    failures: dict = field(default_factory=dict)
    n_requests: int = 0
    n_retries: int = 0
    fatal: bool = False

    def raise_for_failures(self, what="LLM request"):
        """Raise :class:`LLMBatchError` if any item failed."""
        if self.failures:
            raise LLMBatchError(what, self.failures, self.results, self.ids)
        return self


ResultCallback = Callable[[int, Any], None]


@runtime_checkable
class StructuredLLM(Protocol):
    """A backend that answers many prompts, each with an instance of a schema.

    One small class per provider implements this; estimators only call it.
    Implementations must be picklable settings objects: clients are built
    when a call is made, never stored.
    """

    def complete(
        self,
        prompts: Sequence[str],
        response_model: type,
        *,
        ids: Sequence[str] | None = None,
        on_result: ResultCallback | None = None,
    ) -> BatchResult:
        """Answer every prompt with an instance of ``response_model``.

        ``on_result(i, value)`` is called as soon as item ``i`` succeeds, so
        callers can persist finished work before the batch ends.
        """


@runtime_checkable
class TextEmbeddingBackend(Protocol):
    """A backend that turns texts into vectors."""

    def embed(
        self,
        texts: Sequence[str],
        *,
        ids: Sequence[str] | None = None,
        on_result: ResultCallback | None = None,
    ) -> BatchResult:
        """Embed every text; each result is a 1-D float array."""
