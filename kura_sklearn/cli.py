"""The ``kura-sklearn`` command line: run, predict, show, validate.

``kura-sklearn run INPUT --out DIR`` fits the whole pipeline and writes the
fitted pipeline, two Parquet tables and a self-contained HTML report;
``predict`` places new conversations in a fitted pipeline's clusters, or
marks them outliers; ``show`` prints the cluster tree of a run. Exit codes:
0 on success, 1 when the input or a model call fails (the message names the
file, line and field), 2 for a wrong command line or settings file, 130 when
interrupted.
"""

import argparse
import contextlib
import json
import logging
import sys
import time
from pathlib import Path

from ._version import __version__
from .conversation import FORMATS

logger = logging.getLogger("kura_sklearn.cli")

#: File names inside a run directory.
PIPELINE_FILE = "pipeline.joblib"
CONVERSATIONS_FILE = "conversations.parquet"
CLUSTERS_FILE = "clusters.parquet"
REPORT_FILE = "report.html"
RUN_FILE = "run.json"
SKIPPED_FILE = "skipped.jsonl"
TRENDS_FILE = "trends.parquet"

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


class CommandError(Exception):
    """A failure reported to the shell user as one line and an exit code."""

    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------- settings


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
    from .llm import looks_like_key

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
    from .llm import LLMSettings

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
    from .embedding import OnnxEmbedder, OpenAIEmbedder, SentenceTransformerEmbedder

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
    from .cluster import (
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
    from .pipeline import make_kura_pipeline

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
    return pipe.set_params(**params)


# ---------------------------------------------------------------- commands


#: Column options of ``load_conversations`` (CSV, Parquet), as CLI settings.
COLUMN_SETTINGS = (
    "chat_id_column",
    "role_column",
    "content_column",
    "created_at_column",
    "messages_column",
    "metadata_columns",
)


def _column_options(settings):
    """``load_conversations`` column keywords from settings or arguments."""
    options = {}
    for name in COLUMN_SETTINGS:
        value = settings.get(name)
        if value is None:
            continue
        if name == "metadata_columns" and isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        options[name] = value
    return options


def _load(path, format, columns=None, skipped=None):
    """Conversations of ``path``; with a ``skipped`` list, invalid records
    are left out and their errors appended to it."""
    from .conversation import load_conversations

    if Path(path).is_dir():
        raise CommandError(f"{path}: is a directory, not a file of conversations")
    if not Path(path).exists():
        raise CommandError(f"{path}: no such file")
    on_invalid = "raise" if skipped is None else skipped.append
    try:
        conversations = load_conversations(
            path, format=format, on_invalid=on_invalid, **(columns or {})
        )
    except (OSError, ValueError) as exc:  # ConversationValidationError too
        raise CommandError(_naming_path(path, exc)) from None
    if len(conversations) < 2:
        raise CommandError(
            f"{path}: {len(conversations)} conversation(s); at least 2 are needed"
        )
    return conversations


def _naming_path(path, exc):
    """The error's message, naming ``path`` once."""
    message = str(exc)
    return message if str(path) in message else f"{path}: {message}"


def _write_skipped(path, errors):
    """One JSON line per skipped record: line, index, chat_id, field, reason."""
    errors = sorted(errors, key=lambda e: (e.line is None, e.line or 0))
    with open(path, "w", encoding="utf-8") as file:
        for error in errors:
            row = {
                "line": error.line,
                "index": error.index,
                "chat_id": error.chat_id,
                "field": error.field,
                "reason": error.reason,
            }
            file.write(json.dumps(row, ensure_ascii=True) + "\n")


def _shown_url(location):
    """``location`` with any password of a URL (``redis://:pw@host``) masked."""
    from urllib.parse import urlsplit

    parts = urlsplit(location) if "://" in location else None
    if parts is None or parts.password is None:
        return location
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


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


def _fit(pipe, conversations, cache_dir, columns=()):
    """Fit ``pipe``, then one more tree per extra text column.

    The conversations are summarised once: every tree is fitted on the same
    summaries, each over its own column. Returns what each LLM stage did,
    the PII removed (see ``track_llm_usage`` and ``track_pii_removed``), and
    a fitted pipeline per extra column (the same summarizer, a clone of the
    clusterer).
    """
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    from .llm import LLMBatchError, track_llm_usage
    from .privacy import track_pii_removed

    try:
        with track_llm_usage() as usage, track_pii_removed() as removed:
            summaries = pipe[:-1].fit_transform(conversations)
            pipe[-1].fit(summaries)
            trees = {}
            for column in columns:
                cluster = clone(pipe[-1]).set_params(text_column=column)
                cluster.fit(summaries)
                trees[column] = Pipeline([*pipe.steps[:-1], ("cluster", cluster)])
        return usage, dict(sorted(removed.items())), trees
    except LLMBatchError as exc:
        where = (
            f"finished items are kept in the cache {cache_dir}; run the same "
            "command again to resume"
            if cache_dir
            else "run with --cache-dir to keep finished items between runs"
        )
        raise CommandError(f"{exc}\n{where}") from None


def _run(args):
    settings = _settings(args)
    if settings["transcripts"] not in TRANSCRIPTS:
        raise CommandError(f"transcripts must be one of {list(TRANSCRIPTS)}", 2)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out}: exists and is not a directory", 2)
    cache_dir = None
    if not settings["no_cache"]:
        cache_dir = settings["cache_dir"] or out / "cache"
        if "://" not in str(cache_dir):  # a redis:// URL stays a string
            cache_dir = Path(cache_dir)
    skipped = [] if settings["skip_invalid"] else None
    conversations = _load(
        args.input, settings["format"], _column_options(settings), skipped
    )
    logger.info("Read %d conversations from %s", len(conversations), args.input)

    start = time.perf_counter()
    pipe = build_pipeline(settings, cache_dir=cache_dir, verbose=args.verbose)
    main_column, *more_columns = _text_columns(settings)
    usage, pii_removed, trees = _fit(pipe, conversations, cache_dir, more_columns)
    seconds = time.perf_counter() - start

    from .report import language_check, tree_text

    out.mkdir(parents=True, exist_ok=True)
    _report_skipped(skipped, out / SKIPPED_FILE)
    transcripts = TRANSCRIPTS[settings["transcripts"]]
    clusters, trends = _write_outputs(
        pipe, conversations, out, settings["title"], transcripts
    )
    more_trees = {}
    for column, tree in trees.items():
        where = out / f"by_{column}"
        where.mkdir(exist_ok=True)
        title = f"{settings['title']} (by {column})"
        more_trees[column] = (
            where,
            _write_outputs(tree, conversations, where, title, transcripts),
        )
    clusterer = pipe[-1]
    languages = language_check(pipe)
    if languages["warning"]:
        logger.warning("%s", languages["warning"])
    record = {
        "kura_sklearn": __version__,
        "input": str(args.input),
        "n_conversations": len(conversations),
        "n_skipped_invalid": None if skipped is None else len(skipped),
        "n_clusters": int(clusterer.n_clusters_),
        "n_levels": int(clusters["level"].max()),
        "fit_seconds": round(seconds, 2),
        "n_llm_calls": clusterer.n_llm_calls_,
        "llm": usage,
        # what scrubbing replaced in the conversations read (offline) or in
        # the model's answers, per kind; {} when nothing was found
        "pii_removed": pii_removed,
        "languages": languages,
        # conversations per cluster and period, when they carry created_at
        "trends": (
            {"file": TRENDS_FILE, "period": trends.attrs["freq"]}
            if len(trends)
            else None
        ),
        # one tree per --text-column: the first in OUT/, each other in its
        # own directory with the same files
        "trees": {
            main_column: ".",
            **{column: where.name for column, (where, _) in more_trees.items()},
        },
        "settings": {
            **{k: str(v) if isinstance(v, Path) else v for k, v in settings.items()},
            "cache_dir": None if cache_dir is None else _shown_url(str(cache_dir)),
        },
    }
    (out / RUN_FILE).write_text(json.dumps(record, indent=2) + "\n")

    print(tree_text(clusters, max_depth=0), end="")
    for column, (where, (tree_clusters, _)) in more_trees.items():
        print(f"\nBy {column} ({where}/):")
        print(tree_text(tree_clusters, max_depth=0), end="")
    fallbacks = {s: u["fallbacks"] for s, u in usage.items() if u["fallbacks"]}
    if fallbacks:
        listed = ", ".join(f"{stage} {n}" for stage, n in fallbacks.items())
        print(
            f"LLM failures after every retry were replaced offline ({listed}; "
            f"marked 'fallback' in the tables, counted in {RUN_FILE}); run the "
            "same command again to retry them."
        )
    print(_summary_line(clusterer, len(conversations), seconds, out, len(trends)))
    return 0


def _write_outputs(pipe, conversations, out, title, transcripts=None):
    """Write one tree's files into ``out``; returns its clusters and trends.

    The report gets the conversations (metadata filters, times, and the
    transcripts as ``transcripts`` says: None follows the privacy settings).
    """
    from .persistence import save
    from .report import clusters_table, conversations_table, trends_table, write_report

    save(pipe, out / PIPELINE_FILE)
    table = _with_times(conversations_table(pipe), conversations)
    table.to_parquet(out / CONVERSATIONS_FILE, index=False)
    clusters = clusters_table(pipe)
    clusters.to_parquet(out / CLUSTERS_FILE, index=False)
    trends = trends_table(table, conversations)
    if len(trends):
        trends.to_parquet(out / TRENDS_FILE, index=False)
    write_report(
        pipe,
        out / REPORT_FILE,
        title=title,
        conversations=conversations,
        transcripts=transcripts,
    )
    return clusters, trends


def _with_times(table, conversations):
    """``table`` with each conversation's ``created_at`` after ``chat_id``.

    The column is left out when no conversation carries a time, so that
    tables of undated data do not grow an empty column.
    """
    times = {c.chat_id: c.created_at for c in conversations}
    if not any(t is not None for t in times.values()):
        return table
    import pandas as pd

    column = pd.to_datetime(
        [times.get(chat_id) for chat_id in table["chat_id"]], utc=True
    )
    table.insert(1, "created_at", column)
    return table


def _report_skipped(skipped, path):
    """Write the records ``--skip-invalid`` left out, and say how many."""
    if skipped is None:
        return
    _write_skipped(path, skipped)
    if skipped:
        logger.warning(
            "Skipped %d invalid record(s); each is listed in %s", len(skipped), path
        )


def _summary_line(clusterer, n_conversations, seconds, out, dated=False):
    """What ``run`` did, in one line: counts (noise too), time, files."""
    from .utils import count_of

    n_noise = int((clusterer.labels_ == -1).sum())
    noise = f", {n_noise} in no cluster (noise)" if n_noise else ""
    return (
        f"Fitted {count_of(n_conversations, 'conversation')} into "
        f"{count_of(clusterer.n_clusters_, 'cluster')}{noise} in {seconds:.1f} s. "
        f"Wrote {out / REPORT_FILE}, {CONVERSATIONS_FILE}, {CLUSTERS_FILE}, "
        f"{TRENDS_FILE + ', ' if dated else ''}{PIPELINE_FILE} and {RUN_FILE} "
        f"to {out}/"
    )


#: Suffixes of conversation files, which are never a fitted pipeline.
_INPUT_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".parquet")


def _pipeline_path(model):
    path = Path(model)
    if path.is_file() and path.suffix.lower() in _INPUT_SUFFIXES:
        raise CommandError(
            f"{path}: a file of conversations, not a fitted pipeline; the run "
            "directory (or its pipeline.joblib) comes first: "
            "kura-sklearn predict RUN_DIR INPUT"
        )
    if path.is_dir():
        path = path / PIPELINE_FILE
    if not path.exists():
        raise CommandError(f"{path}: no such file (expected a fitted pipeline)")
    return path


def _write_table(table, out):
    if out is None or str(out) == "-":
        # standard output is usually a terminal: summaries and names come
        # from conversations, so their control characters are shown as
        # escapes (--out FILE keeps the exact text)
        _terminal_safe_frame(table).to_csv(sys.stdout, index=False)
        return
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        table.to_parquet(out, index=False)
    elif suffix == ".csv":
        table.to_csv(out, index=False)
    elif suffix in (".jsonl", ".ndjson"):
        table.to_json(out, orient="records", lines=True, force_ascii=False)
    else:
        raise CommandError(
            f"--out {out}: unknown format; use .parquet, .csv or .jsonl", 2
        )


def _terminal_safe_frame(table):
    """A copy of ``table`` whose text cells are safe to print on a terminal."""
    from pandas.api.types import is_object_dtype, is_string_dtype

    from .utils import terminal_safe

    table = table.copy()
    for column in table.columns:
        values = table[column]
        if is_object_dtype(values) or is_string_dtype(values):
            table[column] = [
                terminal_safe(v, keep_newlines=True) if isinstance(v, str) else v
                for v in values
            ]
    return table


def _predict(args):
    from .persistence import load
    from .report import assignments_table
    from .utils import count_of

    path = _pipeline_path(args.model)
    conversations = _load(args.input, args.format, _column_options(vars(args)))
    pipe = load(path)
    if not hasattr(pipe, "steps") or len(pipe.steps) < 2:
        raise CommandError(f"{path}: not a pipeline made by `kura-sklearn run`")
    from .llm import LLMBatchError

    try:
        summaries = pipe[:-1].transform(conversations)
        placed = pipe[-1].predict_status(summaries)
    except LLMBatchError as exc:
        raise CommandError(str(exc)) from None
    labels = placed["cluster_id"].to_numpy()
    table = assignments_table(pipe, labels, [c.chat_id for c in conversations])
    # beside the base cluster: outliers (-1) are told apart from the
    # clusterer's noise by nothing else, and the distance says how far off
    at = table.columns.get_loc("cluster_name") + 1
    for offset, column in enumerate(("status", "distance", "threshold")):
        table.insert(at + offset, column, placed[column].to_numpy())
    # the times stay, so that a fitted tree can be tracked over new weeks
    table = _with_times(table, conversations)
    if hasattr(summaries, "columns") and "summary" in summaries.columns:
        table.insert(1, "summary", list(summaries["summary"]))
    else:
        table.insert(1, "summary", list(summaries))
    _write_table(table, args.out)
    if args.out not in (None, "-"):
        outliers = int((table["status"] == "outlier").sum())
        print(
            f"Assigned {count_of(len(table) - outliers, 'conversation')}, "
            f"{count_of(outliers, 'outlier')} (cluster_id -1); wrote {args.out}"
        )
    return 0


def _show(args):
    import pandas as pd

    from .report import print_tree

    path = Path(args.run)
    if path.is_dir():
        table_path = path / CLUSTERS_FILE
        if not table_path.exists():
            raise CommandError(
                f"{path}: no {CLUSTERS_FILE} here; is it a `kura-sklearn run` output?"
            )
        source = pd.read_parquet(table_path)
    elif path.suffix == ".parquet":
        source = pd.read_parquet(path)
    elif path.exists():
        from .persistence import load

        source = load(path)
    else:
        raise CommandError(f"{path}: no such file or directory")
    print_tree(source, max_depth=args.max_depth, descriptions=args.descriptions)
    return 0


def _validate(args):
    from .utils import count_of

    skipped = [] if args.skip_invalid else None
    conversations = _load(args.input, args.format, _column_options(vars(args)), skipped)
    n_messages = sum(len(c.messages) for c in conversations)
    if skipped:
        for error in sorted(skipped, key=lambda e: (e.line is None, e.line or 0)):
            print(f"invalid: {error}", file=sys.stderr)
        print(
            f"{args.input}: {count_of(len(conversations), 'conversation')}, "
            f"{count_of(n_messages, 'message')} valid; "
            f"{count_of(len(skipped), 'invalid record')} (listed above)"
        )
        return 1
    print(
        f"{args.input}: {count_of(len(conversations), 'conversation')}, "
        f"{count_of(n_messages, 'message')}, all valid"
    )
    return 0


# ---------------------------------------------------------------- parser


def _input_options():
    """Options every command that reads conversations takes."""
    parser = argparse.ArgumentParser(add_help=False)
    columns = parser.add_argument_group(
        "input columns (CSV, Parquet; defaults are the names shown)"
    )
    for name, default in (
        ("chat-id", "chat_id"),
        ("role", "role"),
        ("content", "content"),
        ("created-at", "created_at"),
        ("messages", "messages"),
    ):
        columns.add_argument(
            f"--{name}-column", metavar="NAME", help=f"default {default}"
        )
    columns.add_argument(
        "--metadata-columns",
        metavar="A,B",
        help="columns copied into each conversation's metadata",
    )
    return parser


def _add_run(commands, common):
    run = commands.add_parser(
        "run",
        parents=[common, _input_options()],
        help="fit the pipeline and write the tables and report",
        description=(
            "Summarise, embed, cluster, name and map conversations; write "
            "pipeline.joblib, conversations.parquet, clusters.parquet, "
            "report.html and run.json into --out. Offline unless --model is set."
        ),
    )
    run.add_argument("input", help="JSONL, JSON, CSV or Parquet file")
    run.add_argument("--out", "-o", required=True, help="output directory")
    run.add_argument("--format", choices=FORMATS, help="record format (default auto)")
    run.add_argument(
        "--skip-invalid",
        action="store_true",
        default=None,
        help=f"leave out records that cannot be read, listed in OUT/{SKIPPED_FILE} "
        "(line, chat_id, field, reason) and counted in run.json",
    )
    run.add_argument("--config", help="TOML or JSON file with any of these settings")
    llm = run.add_argument_group("LLM (omit --model to run offline)")
    llm.add_argument("--model", help="e.g. openai/gpt-4o-mini, or a local server's")
    llm.add_argument("--base-url", help="OpenAI-compatible server (vLLM, Ollama...)")
    llm.add_argument(
        "--api-key-env",
        help="name of the environment variable holding the key "
        "(default OPENAI_API_KEY)",
    )
    llm.add_argument("--max-concurrency", type=int, help="requests in flight")
    llm.add_argument(
        "--structured-output",
        choices=["json_schema", "json_object"],
        help="json_object for python -m llama_cpp.server",
    )
    llm.add_argument(
        "--max-retries",
        type=int,
        help="retries per LLM request on transient faults (default 8)",
    )
    llm.add_argument(
        "--on-error",
        choices=ON_ERROR,
        help="an item still failing after every retry: fallback (default: its "
        "offline summary or name, marked 'fallback') or raise (stop, exit 1)",
    )
    llm.add_argument(
        "--max-tokens",
        type=int,
        help="most tokens per LLM answer (bounds a small local model that loops)",
    )
    model = run.add_argument_group("embedding and clustering")
    model.add_argument(
        "--embedder",
        help="default: the bundled all-MiniLM-L6-v2 (ONNX, offline, no torch); "
        "onnx:DIR for another ONNX export; a sentence-transformers model name or "
        "path (needs the 'torch' extra); or openai:MODEL for the embeddings API "
        "at --base-url",
    )
    model.add_argument(
        "--clusterer",
        choices=CLUSTERERS,
        help="default kmeans; tree (near-linear) above about 10,000 conversations",
    )
    model.add_argument(
        "--clusters-per-group", type=float, help="average base cluster size"
    )
    model.add_argument("--max-clusters", type=int, help="most top-level clusters")
    model.add_argument("--max-levels", type=int, help="most meta-cluster levels")
    model.add_argument(
        "--min-cluster-size",
        type=int,
        help="withhold the names of smaller clusters (privacy)",
    )
    model.add_argument(
        "--min-unique-users",
        type=int,
        help="withhold the names of clusters with fewer distinct users (privacy; "
        "users from --user-id-key)",
    )
    model.add_argument(
        "--outlier-quantile",
        help="how far from its cluster `predict` places a new conversation: "
        "the share of training conversations within each cluster's learned "
        "threshold (default 0.99); 'none' places every one",
    )
    model.add_argument(
        "--text-column",
        help="the facet of the summaries to build the tree over (default summary; "
        "request, task with --model, or a custom schema field); several, "
        "comma-separated, build one tree each, the others in OUT/by_<column>/",
    )
    model.add_argument(
        "--user-id-key",
        help="metadata field naming each conversation's user (for --min-unique-users)",
    )
    model.add_argument(
        "--no-scrub-pii",
        action="store_true",
        default=None,
        help="keep e-mail addresses, phone numbers, card numbers, names... in "
        "summaries (scrubbed by default)",
    )
    model.add_argument("--random-state", type=int, help="seed (default 0)")
    output = run.add_argument_group("cache and output")
    output.add_argument(
        "--cache-dir",
        help="per-item cache: a directory (default OUT/cache) or "
        "redis://HOST:PORT/DB; reruns resume",
    )
    output.add_argument(
        "--no-cache", action="store_true", default=None, help="cache nothing"
    )
    output.add_argument("--title", help="title of the report")
    output.add_argument(
        "--transcripts",
        choices=list(TRANSCRIPTS),
        help="the conversations' messages in the report: auto (default) leaves "
        "them out when a privacy setting is on (--min-cluster-size or "
        "--min-unique-users above 1), include, or omit",
    )
    run.set_defaults(handler=_run)


def build_parser():
    """The argument parser, with one sub-command per task."""
    parser = argparse.ArgumentParser(
        prog="kura-sklearn",
        description="Find out what people talk about with AI assistants.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-q",
        "--quiet",
        dest="verbose",
        action="store_const",
        const=0,
        default=1,
        help="no progress bars or stage messages, only warnings and errors",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _add_run(commands, common)

    predict = commands.add_parser(
        "predict",
        parents=[common, _input_options()],
        help="assign new conversations to a fitted pipeline's clusters",
        description=(
            "Load a fitted pipeline (a run directory or its pipeline.joblib; "
            "only load files you made: unpickling runs code) and write each "
            "conversation's summary, base cluster and ancestors, and its "
            "status: 'assigned', or 'outlier' (cluster_id -1) when it lies "
            "farther from the cluster it would join than that cluster's "
            "training conversations do."
        ),
    )
    predict.add_argument("model", help="run directory or pipeline.joblib")
    predict.add_argument("input", help="JSONL, JSON, CSV or Parquet file")
    predict.add_argument("--format", choices=FORMATS, default="auto")
    predict.add_argument(
        "--out",
        "-o",
        help=".parquet, .csv or .jsonl file (default: CSV on stdout, control "
        "characters shown as escapes)",
    )
    predict.set_defaults(handler=_predict)

    show = commands.add_parser(
        "show", parents=[common], help="print the cluster tree of a run"
    )
    show.add_argument("run", help="run directory, clusters.parquet or pipeline.joblib")
    show.add_argument("--max-depth", type=int, help="levels below the roots")
    show.add_argument(
        "--descriptions", action="store_true", help="show cluster descriptions"
    )
    show.set_defaults(handler=_show)

    validate = commands.add_parser(
        "validate",
        parents=[common, _input_options()],
        help="read conversations and report the first invalid one",
    )
    validate.add_argument("input", help="JSONL, JSON, CSV or Parquet file")
    validate.add_argument("--format", default="auto", choices=FORMATS)
    validate.add_argument(
        "--skip-invalid",
        action="store_true",
        help="report every invalid record, not only the first",
    )
    validate.set_defaults(handler=_validate)
    return parser


class _TerminalSafeFormatter(logging.Formatter):
    """Log lines with control characters shown as escapes (they may quote
    chat_ids or names taken from conversations)."""

    def format(self, record):
        from .utils import terminal_safe

        return terminal_safe(super().format(record), keep_newlines=True)


@contextlib.contextmanager
def _stage_messages(verbose):
    """Stage messages of the library on standard error while a command runs.

    Only ``kura_sklearn``'s own INFO lines are shown (other libraries stay at
    WARNING), and the logger is restored afterwards, so calling :func:`main`
    from Python leaves logging as it was.
    """
    library = logging.getLogger("kura_sklearn")
    saved = library.level, library.propagate, list(library.handlers)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _TerminalSafeFormatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
    )
    library.addHandler(handler)
    library.setLevel(logging.INFO if verbose else logging.WARNING)
    library.propagate = False
    try:
        yield
    finally:
        library.removeHandler(handler)
        library.setLevel(saved[0])
        library.propagate = saved[1]


def main(argv=None):
    """Entry point of the console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    with _stage_messages(args.verbose):
        try:
            return args.handler(args)
        except CommandError as exc:
            from .utils import terminal_safe

            message = terminal_safe(exc, keep_newlines=True)
            print(f"kura-sklearn: error: {message}", file=sys.stderr)
            return exc.code
        except KeyboardInterrupt:
            print("kura-sklearn: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
