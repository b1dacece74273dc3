"""LLMSettings: how every LLM step reaches its server, in one parameter object."""

import types
from numbers import Integral, Real

from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

from ..utils import VersionStampMixin
from ._openai import OpenAIBackend, resolve_base_url
from ._prompts import PROMPT_VERSION
from ._secrets import check_api_key_env

#: Provider prefix -> backend class: ``"openai/gpt-4o-mini"`` selects
#: OpenAIBackend with model "gpt-4o-mini". Read-only: a backend of your own
#: is a value, ``LLMSettings(backend=MyBackend)``, which travels with the
#: estimator into joblib and Dask workers (a process-wide table would not).
PROVIDERS = types.MappingProxyType({"openai": OpenAIBackend})


def make_backend(model, *, backend=None, **settings):
    """The backend for a model name: the one place a provider prefix is read.

    Parameters
    ----------
    model : str
        ``"prefix/name"`` with a prefix of :data:`PROVIDERS`, or a name with
        no slash, which goes to the OpenAI-compatible backend.
    backend : callable, default=None
        Builds the backend as ``backend(model=model, **settings)``; the model
        name is then passed on unchanged, prefix and all. ``None`` chooses by
        prefix.
    **settings
        Keyword arguments of the backend, as :class:`OpenAIBackend` takes them.

    Returns
    -------
    backend : StructuredLLM or TextEmbeddingBackend

    Raises
    ------
    ValueError
        For a prefix that no provider has, naming the model and the known
        prefixes (a vLLM name such as ``"meta-llama/Llama-3.1-8B-Instruct"``
        is written ``"openai/meta-llama/Llama-3.1-8B-Instruct"``).

    Examples
    --------
    >>> from kura_sklearn.llm import make_backend
    >>> make_backend("openai/gpt-4o-mini", base_url="http://localhost:8000/v1").model
    'gpt-4o-mini'
    >>> make_backend("openai/meta-llama/Llama-3.1-8B-Instruct").model
    'meta-llama/Llama-3.1-8B-Instruct'
    """
    if backend is not None:
        return backend(model=model, **settings)
    provider, name = _provider_of(model)
    return provider(model=name, **settings)


def _provider_of(model):
    """The backend class a model name selects, and the name its server knows."""
    prefix, slash, name = model.partition("/")
    if not slash:
        return OpenAIBackend, model
    if prefix in PROVIDERS:
        return PROVIDERS[prefix], name
    known = ", ".join(f"'{p}/'" for p in PROVIDERS)
    raise ValueError(
        f"Unknown provider prefix {prefix!r} in model {model!r}; known "
        f"prefixes: {known}. A model whose own name has a slash, as on vLLM, "
        f"takes its API's prefix: 'openai/{model}'. A backend of your own is "
        "given as LLMSettings(backend=...)."
    )


class LLMSettings(VersionStampMixin, BaseEstimator):
    """How an LLM step reaches its server and samples: one object, every step.

    :class:`~kura_sklearn.ConversationSummarizer`,
    :class:`~kura_sklearn.naming.LLMNamer` and
    :class:`~kura_sklearn.OpenAIEmbedder` take it as their ``llm`` parameter
    (``None`` means ``LLMSettings()``); the model name stays on the
    estimator. It is a nested parameter, so ``clone``, ``repr`` and grid
    search see every field: ``summarize__llm__temperature`` in a Pipeline.
    It holds no client and no key, so it pickles; a ``backend`` class given
    here travels with the estimator into joblib and Dask workers.

    Parameters
    ----------
    base_url : str, default=None
        OpenAI-compatible server (vLLM, Ollama, llama.cpp server). ``None``
        uses ``OPENAI_BASE_URL`` if set, else OpenAI. The server so resolved
        is part of every cache key, and of an estimator's pickled state, so
        ``Pipeline(memory=...)`` never serves one server's answers for
        another's.
    api_key_env : str, default="OPENAI_API_KEY"
        *Name* of the environment variable holding the key. The key is read
        when a call is made and never stored; a value that looks like a key
        is refused without being shown.
    temperature : float, default=0.0
        Sampling temperature (chat answers only).
    seed : int, default=None
        Sampling seed, for servers that honour it (chat answers only).
    max_concurrency : int, default=8
        Requests in flight at once.
    timeout : float, default=60.0
        Seconds before one request is abandoned and retried.
    max_retries : int, default=8
        Retries per item, with exponential backoff, on rate limits, server
        errors, time-outs, dropped connections, bodies cut off mid-JSON and
        answers that do not fit the schema.
    max_tokens : int, default=None
        Most tokens generated per answer; bounds a looping local model. A cut
        answer fails validation and is retried, then reported. Not part of
        the cache key (a cut answer is never cached).
    structured_output : {"json_schema", "json_object"}, default="json_schema"
        How the answer schema is sent: OpenAI's "json_schema" (also vLLM,
        Ollama, llama.cpp's ``llama-server``), or "json_object" with the
        schema, for ``python -m llama_cpp.server``.
    backend : callable, default=None
        A backend of your own, usually a class implementing
        :class:`StructuredLLM` (and, for embedders,
        :class:`TextEmbeddingBackend`), built per call as
        ``backend(model=model, base_url=..., api_key_env=..., ...)`` with the
        fields above (embedders add ``dimensions`` and ``batch_size``); the
        model name reaches it unchanged. ``None`` chooses by the model's
        prefix (:func:`make_backend`). A custom backend's qualified name is
        part of the cache key.

    See Also
    --------
    OpenAIBackend : The backend built by default.
    make_backend : How a model name selects a backend.

    Examples
    --------
    >>> from kura_sklearn import ConversationSummarizer
    >>> from kura_sklearn.llm import LLMSettings
    >>> local = LLMSettings(base_url="http://localhost:11434/v1", max_retries=2)
    >>> summarizer = ConversationSummarizer(model="llama3.1:8b", llm=local)
    >>> summarizer.set_params(llm__temperature=0.7).llm
    LLMSettings(base_url='http://localhost:11434/v1', max_retries=2, temperature=0.7)
    >>> local.make_backend("llama3.1:8b").max_retries
    2
    """

    _parameter_constraints: dict = {
        "base_url": [str, None],
        "api_key_env": [str],
        "temperature": [Interval(Real, 0, 2, closed="both"), None],
        "seed": [Interval(Integral, 0, None, closed="left"), None],
        "max_concurrency": [Interval(Integral, 1, None, closed="left")],
        "timeout": [Interval(Real, 0, None, closed="neither")],
        "max_retries": [Interval(Integral, 0, None, closed="left")],
        "max_tokens": [Interval(Integral, 1, None, closed="left"), None],
        "structured_output": [StrOptions({"json_schema", "json_object"})],
        "backend": [callable, None],
    }

    def __init__(
        self,
        *,
        base_url=None,
        api_key_env="OPENAI_API_KEY",
        temperature=0.0,
        seed=None,
        max_concurrency=8,
        timeout=60.0,
        max_retries=8,
        max_tokens=None,
        structured_output="json_schema",
        backend=None,
    ):
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.temperature = temperature
        self.seed = seed
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_tokens = max_tokens
        self.structured_output = structured_output
        self.backend = backend

    def __eq__(self, other):
        # settings compare by value, as the backends they build do: a clone
        # has the same parameters as the original
        if type(other) is not type(self):
            return NotImplemented
        return self.get_params(deep=False) == other.get_params(deep=False)

    __hash__ = None  # mutable through set_params

    def check(self, model=None):
        """Validate the fields, and the prefix of ``model`` when given.

        Parameters
        ----------
        model : str, default=None
            Model name to check against the known prefixes.

        Returns
        -------
        self : object
            These settings.
        """
        self._validate_params()
        check_api_key_env(self.api_key_env)
        if model is not None and self.backend is None:
            _provider_of(model)  # raises for an unknown prefix
        return self

    def make_backend(self, model, **extra):
        """The backend for ``model`` with these settings.

        Parameters
        ----------
        model : str
            Model name, with an optional provider prefix.
        **extra
            More keyword arguments of the backend (``dimensions`` and
            ``batch_size`` for embeddings).

        Returns
        -------
        backend : StructuredLLM or TextEmbeddingBackend
        """
        self.check(model)
        params = self.get_params(deep=False)
        return make_backend(model, backend=params.pop("backend"), **params, **extra)

    def answer_identity(self, model):
        """What decides an answer, for cache keys (no transport settings).

        ``max_tokens`` is not among them: it only cuts an answer short, and a
        cut answer fails validation and is never cached, so every cached
        answer is one the model finished under any cap.

        Parameters
        ----------
        model : str
            Model name, as the estimator holds it.

        Returns
        -------
        identity : dict
        """
        identity = {
            "model": model,
            "base_url": resolve_base_url(self.base_url),
            "temperature": self.temperature,
            "seed": self.seed,
            "structured_output": self.structured_output,
            "prompt_version": PROMPT_VERSION,
        }
        if self.backend is not None:  # default keys stay those of before
            identity["backend"] = _qualified_name(self.backend)
        return identity


def _qualified_name(obj):
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def llm_settings(llm):
    """``llm``, or the default :class:`LLMSettings` when it is ``None``."""
    return LLMSettings() if llm is None else llm
