"""A warning when many conversations are not in English but the embedder is."""

from ..embedding import BUNDLED_MODEL_NAMES
from ..summarization import non_english_share
from ._frames import fitted_clusterer

#: Share of conversations not in English above which an English-only
#: embedder is flagged: from there on, those conversations tend to gather
#: by language rather than by topic.
NON_ENGLISH_SHARE = 0.2
#: Embedders known to be English-only (the default, all-MiniLM-L6-v2).
ENGLISH_ONLY_MODELS = frozenset(BUNDLED_MODEL_NAMES)
MULTILINGUAL_EXAMPLE = "paraphrase-multilingual-MiniLM-L12-v2"


def language_check(estimator):
    """How much of the input is not English, and whether the embedder can read it.

    The default embedder, all-MiniLM-L6-v2, was trained on English: other
    languages get embeddings that gather by language rather than by topic.
    When more than :data:`NON_ENGLISH_SHARE` of the conversations are
    mainly in another language (by the summaries' ``languages`` facet) and
    the embedder is English-only, the check carries a warning; the command
    line logs it and writes it to ``run.json``, and the HTML report shows it.

    Parameters
    ----------
    estimator : ConversationClusterer or Pipeline
        Fitted.

    Returns
    -------
    check : dict
        ``non_english_share`` (float, or None when the summaries have no
        ``languages`` facet), ``threshold``, ``embedder`` (the model name,
        or the embedder's class name), ``english_only_embedder`` (bool) and
        ``warning`` (str, or None when there is nothing to say).

    Examples
    --------
    >>> import pandas as pd
    >>> from kura_sklearn import ConversationClusterer, KMeansClusterer
    >>> from kura_sklearn.report import language_check
    >>> X = pd.DataFrame({
    ...     "summary": ["reset my password", "¿cómo cambio mi contraseña?",
    ...                 "bake bread", "hornear pan"],
    ...     "languages": [["english"], ["spanish"], ["english"], ["spanish"]]})
    >>> model = ConversationClusterer(clusterer=KMeansClusterer(n_clusters=2),
    ...                               max_clusters=2, random_state=0).fit(X)
    >>> check = language_check(model)
    >>> check["non_english_share"], check["english_only_embedder"]
    (0.5, True)
    >>> print(check["warning"])  # doctest: +ELLIPSIS
    50% of the conversations are not in English, but the embedder ...
    """
    clusterer = fitted_clusterer(estimator)
    embedder = clusterer.embedder_
    model = getattr(embedder, "model_name", None)
    if type(embedder).__name__ == "OnnxEmbedder" and embedder.model_path is None:
        model = "all-MiniLM-L6-v2"  # the bundled default, in ONNX
    name = str(model) if model is not None else type(embedder).__name__
    english_only = model in ENGLISH_ONLY_MODELS
    languages = getattr(clusterer, "facets_", {}).get("languages")
    share = None if languages is None else non_english_share(languages)
    warning = None
    if english_only and share is not None and share > NON_ENGLISH_SHARE:
        warning = (
            f"{share:.0%} of the conversations are not in English, but the "
            f"embedder {name} is English-only: they may cluster by language "
            "rather than by topic. A multilingual model, such as "
            f'SentenceTransformerEmbedder("{MULTILINGUAL_EXAMPLE}") or a local '
            "copy of one, places them by meaning (docs/embedding.md)."
        )
    return {
        "non_english_share": None if share is None else round(share, 4),
        "threshold": NON_ENGLISH_SHARE,
        "embedder": name,
        "english_only_embedder": english_only,
        "warning": warning,
    }
