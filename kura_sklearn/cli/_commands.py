"""The commands that read what ``run`` wrote: ``predict`` places new
conversations in a fitted pipeline's clusters, ``show`` prints a run's
cluster tree, and ``validate`` checks a file of conversations."""

import sys
from pathlib import Path

from ._common import CLUSTERS_FILE, PIPELINE_FILE, CommandError
from ._io import _column_options, _load, _with_times, _write_table

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


def _predict(args):
    from ..persistence import load
    from ..report import assignments_table
    from ..utils import count_of

    path = _pipeline_path(args.model)
    conversations = _load(args.input, args.format, _column_options(vars(args)))
    pipe = load(path)
    if not hasattr(pipe, "steps") or len(pipe.steps) < 2:
        raise CommandError(f"{path}: not a pipeline made by `kura-sklearn run`")
    from ..llm import LLMBatchError

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

    from ..report import print_tree

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
        from ..persistence import load

        source = load(path)
    else:
        raise CommandError(f"{path}: no such file or directory")
    print_tree(source, max_depth=args.max_depth, descriptions=args.descriptions)
    return 0


def _validate(args):
    from ..utils import count_of

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
