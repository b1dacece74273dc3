"""make_kura_pipeline: the whole system as one scikit-learn Pipeline."""

from sklearn.base import clone
from sklearn.pipeline import Pipeline

from ..cluster import KMeansClusterer
from ..embedding import OnnxEmbedder
from ..llm import LLMSettings
from ..naming import KeyphraseNamer, LLMNamer
from ..summarization import ConversationSummarizer
from ._clusterer import ConversationClusterer


def make_kura_pipeline(
    model=None,
    *,
    llm=None,
    embedder=None,
    clusterer=None,
    clusters_per_group=10,
    max_clusters=10,
    max_levels=5,
    on_error="fallback",
    memory=None,
    cache_dir=None,
    random_state=0,
    verbose=0,
    **llm_settings,
):
    """Build ``Pipeline([("summarize", ...), ("cluster", ...)])`` with Kura's defaults.

    Offline by default: extractive summaries, the bundled local embedding
    model, K-means sized by Kura's rule, phrase names. One argument,
    ``model``, switches summarising, naming and meta-clustering to an LLM.

    Parameters
    ----------
    model : str, default=None
        LLM for summaries, names and the hierarchy, e.g.
        ``"openai/gpt-4o-mini"`` or a model an OpenAI-compatible server at
        ``base_url`` serves. ``None`` runs offline.
    llm : LLMSettings, default=None
        Server, key variable, sampling, concurrency, time-out, retries, token
        cap and structured-output form of every LLM call (see
        :class:`kura_sklearn.llm.LLMSettings`); the summarizer and the namer
        each get a clone. ``None`` uses the defaults, or ``llm_settings``.
    embedder : transformer, default=None
        ``None`` uses :class:`~kura_sklearn.embedding.OnnxEmbedder`, the
        bundled all-MiniLM-L6-v2 without torch (with ``cache_dir``).
    clusterer : clusterer, default=None
        ``None`` uses ``KMeansClusterer(clusters_per_group=clusters_per_group)``.
    clusters_per_group : float, default=10
        Kura's average cluster size, for the default clusterer.
    max_clusters : int, default=10
        Most top-level clusters.
    max_levels : int, default=5
        Most meta-cluster levels.
    on_error : {"raise", "fallback"}, default="fallback"
        The failure policy of every LLM stage (summaries, names, merges):
        "fallback" gives an item that fails after every retry its offline
        result, marked ``"fallback"`` (``summary_source``, ``name_source``);
        "raise" raises :class:`~kura_sklearn.llm.LLMBatchError`. See
        :class:`ConversationSummarizer` and :class:`~kura_sklearn.naming.LLMNamer`.
    memory : str or joblib.Memory, default=None
        Caches the fitted summarizer step (``Pipeline(memory=...)``).
    cache_dir : str or path, default=None
        Per-item cache for summaries, embeddings (of the default embedder)
        and LLM names: later fits, ``predict`` and scorers only compute what
        is new, and an interrupted run resumes: a directory, or a ``redis://``
        URL for a cache that several machines share. See
        :mod:`kura_sklearn.caching`.
    random_state : int or None, default=0
        Seed of clustering, naming samples and the map: runs are reproducible
        by default.
    verbose : int, default=0
        Given to the summarizer, the namer, the default embedder and the
        :class:`ConversationClusterer` (which passes it on to the clones of
        its embedder and namer). 0 is silent; above 0 every long stage logs
        its start and end through :mod:`logging` and, on a terminal, shows a
        progress bar (see "Progress and logging" in ``docs/system.md``).
    **llm_settings
        Fields of :class:`~kura_sklearn.llm.LLMSettings` (``base_url``,
        ``api_key_env``, ``temperature``, ``seed``, ``max_concurrency``,
        ``timeout``, ``max_retries``, ``max_tokens``, ``structured_output``,
        ``backend``): a shorthand for ``llm=LLMSettings(...)``, not to be
        combined with ``llm``.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        The summarizer outputs a DataFrame (index chat_id) so that chat_ids
        reach the clusterer.

    Examples
    --------
    >>> from kura_sklearn import make_kura_pipeline
    >>> pipe = make_kura_pipeline()
    >>> [name for name, _ in pipe.steps]
    ['summarize', 'cluster']
    >>> pipe = make_kura_pipeline("openai/gpt-4o-mini", base_url="http://gpu:8000/v1")
    >>> pipe.get_params()["summarize__llm__base_url"]
    'http://gpu:8000/v1'
    """
    if llm is not None and llm_settings:
        raise TypeError(
            "make_kura_pipeline takes llm= or LLMSettings keywords "
            f"({', '.join(sorted(llm_settings))}), not both"
        )
    if llm is None:
        llm = LLMSettings(**llm_settings)
    common = {"on_error": on_error, "cache_dir": cache_dir, "verbose": verbose}
    summarizer = ConversationSummarizer(model, llm=clone(llm), **common)
    summarizer.set_output(transform="pandas")
    if model is None:
        namer = KeyphraseNamer(verbose=verbose)
    else:
        namer = LLMNamer(model, llm=clone(llm), **common)
    if embedder is None:
        embedder = OnnxEmbedder(cache_dir=cache_dir, verbose=verbose)
    if clusterer is None:
        clusterer = KMeansClusterer(clusters_per_group=clusters_per_group)
    cluster = ConversationClusterer(
        embedder,
        clusterer,
        namer=namer,
        max_clusters=max_clusters,
        max_levels=max_levels,
        random_state=random_state,
        verbose=verbose,
    )
    return Pipeline([("summarize", summarizer), ("cluster", cluster)], memory=memory)
