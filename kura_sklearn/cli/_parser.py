"""The command line's argument parser: one sub-command per task."""

import argparse

from .._version import __version__
from ..conversation import FORMATS
from ._commands import _predict, _show, _validate
from ._common import SKIPPED_FILE
from ._config import CLUSTERERS, ON_ERROR, TRANSCRIPTS
from ._run import _run


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
    model.add_argument(
        "--audit-privacy",
        action="store_true",
        default=None,
        help="with --model: an LLM rates each cluster's name and description "
        "1-5 for private information and withholds those below 3 (Clio's auditor)",
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
