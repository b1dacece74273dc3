"""Make the server an LLM step talks to visible to ``Pipeline(memory=...)``."""

import hashlib


class ServerInStateMixin:
    """Adds the server resolved from ``OPENAI_BASE_URL`` to the pickled state.

    ``Pipeline(memory=...)`` keys a cached step by hashing the step's pickle,
    which holds its parameters. With no ``base_url`` in its ``llm`` settings,
    the server comes from the ``OPENAI_BASE_URL`` environment variable when a
    call is made, so
    without this mixin two servers would share one key and the second would
    be served the first one's answers. The state gets a digest of the
    resolved URL (never the URL itself, which may carry credentials), only
    when the variable decides it; unpickling drops it. The mixin stands left
    of :class:`VersionStampMixin`.
    """

    def __getstate__(self):
        state = super().__getstate__()
        server = _server_from_environment(self)
        if server is not None:
            state["_kura_sklearn_server"] = hashlib.sha256(
                server.encode("utf-8")
            ).hexdigest()[:16]
        return state

    def __setstate__(self, state):
        state.pop("_kura_sklearn_server", None)
        super().__setstate__(state)


def _server_from_environment(estimator):
    """The URL ``OPENAI_BASE_URL`` gives the estimator, if that decides it."""
    from ._openai import resolve_base_url

    params = vars(estimator)
    base_url = getattr(params.get("llm"), "base_url", None)
    if base_url is not None or params.get("model", "") is None:
        return None  # an explicit server (a parameter already), or offline
    return resolve_base_url(None)
