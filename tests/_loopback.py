"""LLM estimators' keyword arguments for the loopback server (see _openai_server)."""

from _openai_server import TEST_KEY_ENV

from kura_sklearn.llm import LLMSettings

#: The keywords that are fields of LLMSettings, not estimator parameters.
LLM_FIELDS = set(LLMSettings().get_params())


def on_server(server, **params):
    """``params`` with its LLMSettings fields gathered into ``llm=``.

    The settings point at ``server`` with the test key variable unless
    ``params`` says otherwise; the other keywords are returned as they are.
    """
    fields = {k: params.pop(k) for k in list(params) if k in LLM_FIELDS}
    fields.setdefault("base_url", server.base_url)
    fields.setdefault("api_key_env", TEST_KEY_ENV)
    return {"llm": LLMSettings(**fields), **params}
