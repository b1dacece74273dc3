"""The settings of ``run`` and the pipeline built from them.

Defaults (:data:`RUN_DEFAULTS`), then a ``--config`` file (TOML or JSON),
then what the command line set; :func:`build_pipeline` turns the merged
settings into the pipeline ``run`` fits.
"""

import json
from pathlib import Path

from ..conversation import FORMATS
from ._common import CommandError

#: Settings of ``run`` and their defaults; ``--config FILE`` may set any of
#: them, and the command line overrides the file.
RUN_DEFAULTS = {
    "format": "auto",
    "skip_invalid": False,
    "chat_id_column": "chat_id",
    "role_column": "role",
    "content_column": "content",
    "created_at_column": "created_at",
    "messages_column": "messages",
    "metadata_columns": None,
    "model": None,
    "base_url": None,
    "api_key_env": "OPENAI_API_KEY",
    "embedder": None,
    "clusterer": "kmeans",
    "clusters_per_group": 10.0,
    "max_clusters": 10,
    "max_levels": 5,
    "min_cluster_size": 1,
    "min_unique_users": 1,
    "outlier_quantile": 0.99,
    "user_id_key": None,
    "text_column": "summary",
    "no_scrub_pii": False,
    "audit_privacy": False,
    "max_concurrency": 8,
    "structured_output": "json_schema",
    "max_tokens": None,
    "max_retries": 8,
    "on_error": "fallback",
    "cache_dir": None,
    "no_cache": False,
    "random_state": 0,
    "title": "What people talk about",
    "transcripts": "auto",
}

ON_ERROR = ["fallback", "raise"]
#: ``--transcripts``: the report's ``transcripts`` argument.
TRANSCRIPTS = {"auto": None, "include": True, "omit": False}
CLUSTERERS = ["kmeans", "tree", "minibatch", "hdbscan"]


def _read_config(path):
    """Settings from a TOML or JSON file, keys as the long options."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read --config {path}: {exc.strerror}", 2) from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib
            data = tomllib.loads(text.decode("utf-8"))
    except ValueError as exc:
        raise CommandError(f"{path}: not valid {_kind(path)}: {exc}", 2) from None
    if not isinstance(data, dict):
        raise CommandError(f"{path}: expected a table of settings", 2)
    data = data.get("run", data) if isinstance(data.get("run"), dict) else data
    settings = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in RUN_DEFAULTS:
            known = ", ".join(sorted(RUN_DEFAULTS))
            raise CommandError(
                f"{path}: unknown setting {key!r}; known settings: {known}", 2
            )
        settings[name] = value
    return settings


def _kind(path):
    return "JSON" if path.suffix.lower() == ".json" else "TOML"


def _settings(args):
    """Defaults, then the config file, then what the command line set."""
    settings = dict(RUN_DEFAULTS)
    if args.config:
        settings.update(_read_config(args.config))
    for name in RUN_DEFAULTS:
        value = getattr(args, name, None)
        if value is not None and value is not False:
            settings[name] = value
    if settings["format"] not in FORMATS:
        raise CommandError(f"format must be one of {list(FORMATS)}", 2)
    if settings["clusterer"] not in CLUSTERERS:
        raise CommandError(f"clusterer must be one of {CLUSTERERS}", 2)
    if settings["on_error"] not in ON_ERROR:
        raise CommandError(f"on_error must be one of {ON_ERROR}", 2)
    settings["outlier_quantile"] = _outlier_quantile(settings["outlier_quantile"])
    from ..llm import looks_like_key

    if looks_like_key(settings["api_key_env"]):
        # never echoed: it would land in the terminal's scroll-back
        raise CommandError(
            "--api-key-env takes the NAME of an environment variable holding "
            "the key (such as OPENAI_API_KEY), not the key itself; the value "
            "given looks like a key, so it is not shown",
            2,
        )
    return settings


def _llm(settings):
    """The run settings that are fields of LLMSettings, as one."""
    from ..llm import LLMSettings

    fields = LLMSettings().get_params()
    return LLMSettings(**{k: v for k, v in settings.items() if k in fields})


def _outlier_quantile(value):
    """``--outlier-quantile``: a number in (0, 1], or "none" for no outliers."""
    if value is None or str(value).lower() == "none":
        return None
    try:
        quantile = float(value)
    except ValueError:
        quantile = None
    if quantile is None or not 0 < quantile <= 1:
        raise CommandError(
            f"outlier_quantile must be a number in (0, 1] or 'none', got {value!r}", 2
        )
    return quantile


def _embedder(settings, cache_dir):
    from ..embedding import OnnxEmbedder, OpenAIEmbedder, SentenceTransformerEmbedder

    name = settings["embedder"]
    if name is None:
        return OnnxEmbedder(cache_dir=cache_dir)
    if name.startswith("onnx:"):
        return OnnxEmbedder(name[len("onnx:") :], cache_dir=cache_dir)
    if name.startswith(("openai:", "openai/")):  # the embedder reads the prefix
        model = "openai/" + name[7:]
        return OpenAIEmbedder(model, llm=_llm(settings), cache_dir=cache_dir)
    return SentenceTransformerEmbedder(name, cache_dir=cache_dir)


def _clusterer(settings):
    from ..cluster import (
        HDBSCANClusterer,
        KMeansClusterer,
        KMeansTreeClusterer,
        MiniBatchKMeansClusterer,
    )

    kind = settings["clusterer"]
    if kind == "hdbscan":
        return HDBSCANClusterer()
    cls = {
        "kmeans": KMeansClusterer,
        "tree": KMeansTreeClusterer,
        "minibatch": MiniBatchKMeansClusterer,
    }[kind]
    return cls(clusters_per_group=settings["clusters_per_group"])


def build_pipeline(settings, *, cache_dir=None, verbose=0):
    """The pipeline ``run`` fits, from its settings.

    Parameters
    ----------
    settings : dict
        :data:`RUN_DEFAULTS` with values replaced.
    cache_dir : path, default=None
        Per-item cache directory.
    verbose : int, default=0
        Given to every part that takes ``verbose``.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
    """
    from ..pipeline import make_kura_pipeline

    pipe = make_kura_pipeline(
        settings["model"],
        llm=_llm(settings),
        embedder=_embedder(settings, cache_dir),
        clusterer=_clusterer(settings),
        max_clusters=settings["max_clusters"],
        max_levels=settings["max_levels"],
        on_error=settings["on_error"],
        cache_dir=cache_dir,
        random_state=settings["random_state"],
    )
    params = {
        "cluster__min_cluster_size": settings["min_cluster_size"],
        "cluster__min_unique_users": settings["min_unique_users"],
        "cluster__outlier_quantile": settings["outlier_quantile"],
        "summarize__user_id_key": settings["user_id_key"],
        "cluster__text_column": _text_columns(settings)[0],
        "summarize__scrub_pii": not settings["no_scrub_pii"],
    }
    params.update(
        {
            name: verbose
            for name in pipe.get_params(deep=True)
            if name.endswith("__verbose")  # Pipeline's own verbose prints
        }
    )
    if settings["audit_privacy"]:
        if not settings["model"]:
            raise CommandError(
                "--audit-privacy needs --model: the privacy auditor is an LLM "
                "that rates each cluster's name and description (docs/privacy.md)",
                2,
            )
        params["cluster__namer__audit_privacy"] = True
    return pipe.set_params(**params)


def _text_columns(settings):
    """The facets ``--text-column`` builds trees over, the main one first."""
    value = settings["text_column"] or "summary"
    columns = [c.strip() for c in str(value).split(",") if c.strip()]
    if not columns or len(set(columns)) != len(columns):
        raise CommandError(
            f"--text-column {value!r}: give one or more distinct facet names, "
            "comma-separated (e.g. summary,request)",
            2,
        )
    return columns
