"""The ``run`` command: fit the pipeline on conversations and write a run
directory (pipeline, tables, report, run.json)."""

import json
import logging
import time
from pathlib import Path

from .._version import __version__
from ._common import (
    CLUSTERS_FILE,
    CONVERSATIONS_FILE,
    PIPELINE_FILE,
    REPORT_FILE,
    RUN_FILE,
    SKIPPED_FILE,
    TRENDS_FILE,
    CommandError,
)
from ._config import TRANSCRIPTS, _settings, _text_columns, build_pipeline
from ._io import _column_options, _load, _with_times, _write_skipped

# the command's logger keeps the name it had as one module (docs/embedding.md)
logger = logging.getLogger("kura_sklearn.cli")


def _shown_url(location):
    """``location`` with any password of a URL (``redis://:pw@host``) masked."""
    from urllib.parse import urlsplit

    parts = urlsplit(location) if "://" in location else None
    if parts is None or parts.password is None:
        return location
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


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

    from ..llm import LLMBatchError, track_llm_usage
    from ..privacy import track_pii_removed

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

    from ..report import language_check, tree_text

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
    print(
        _summary_line(
            clusterer, len(conversations), seconds, out, len(trends), more_trees
        )
    )
    return 0


def _write_outputs(pipe, conversations, out, title, transcripts=None):
    """Write one tree's files into ``out``; returns its clusters and trends.

    The report gets the conversations (metadata filters, times, and the
    transcripts as ``transcripts`` says: None follows the privacy settings).
    """
    from ..persistence import save
    from ..report import clusters_table, conversations_table, trends_table, write_report

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


def _report_skipped(skipped, path):
    """Write the records ``--skip-invalid`` left out, and say how many."""
    if skipped is None:
        return
    _write_skipped(path, skipped)
    if skipped:
        logger.warning(
            "Skipped %d invalid record(s); each is listed in %s", len(skipped), path
        )


def _summary_line(clusterer, n_conversations, seconds, out, dated=False, more=()):
    """What ``run`` did, in one line: counts (noise too), time, files, and the
    directories of the trees over other text columns (``more``)."""
    from ..utils import count_of

    n_noise = int((clusterer.labels_ == -1).sum())
    noise = f", {n_noise} in no cluster (noise)" if n_noise else ""
    trees = "".join(f"; the tree by {c} in {out / f'by_{c}'}/" for c in more)
    return (
        f"Fitted {count_of(n_conversations, 'conversation')} into "
        f"{count_of(clusterer.n_clusters_, 'cluster')}{noise} in {seconds:.1f} s. "
        f"Wrote {out / REPORT_FILE}, {CONVERSATIONS_FILE}, {CLUSTERS_FILE}, "
        f"{TRENDS_FILE + ', ' if dated else ''}{PIPELINE_FILE} and {RUN_FILE} "
        f"to {out}/{trees}"
    )
