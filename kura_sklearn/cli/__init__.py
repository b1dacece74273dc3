"""The ``kura-sklearn`` command line: run, predict, show, validate.

``kura-sklearn run INPUT --out DIR`` fits the whole pipeline and writes the
fitted pipeline, two Parquet tables and a self-contained HTML report;
``predict`` places new conversations in a fitted pipeline's clusters, or
marks them outliers; ``show`` prints the cluster tree of a run. Exit codes:
0 on success, 1 when the input or a model call fails (the message names the
file, line and field), 2 for a wrong command line or settings file, 130 when
interrupted.

The command lives in a package, one concept per module: ``_config`` (the
settings of ``run`` and the pipeline built from them), ``_io`` (reading
conversations, writing tables), ``_run`` (the ``run`` command and its
outputs), ``_commands`` (``predict``, ``show``, ``validate``), ``_parser``
(the argument parser) and ``_main`` (the entry point and its logging).
"""

# The private helpers below are imported as themselves (``x as x``) because
# the tests reach them here, where they were when the command was one module.
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
from ._config import CLUSTERERS, ON_ERROR, RUN_DEFAULTS, TRANSCRIPTS, build_pipeline
from ._config import _embedder as _embedder
from ._config import _settings as _settings
from ._io import COLUMN_SETTINGS
from ._main import main
from ._parser import build_parser
from ._run import _shown_url as _shown_url
from ._run import _summary_line as _summary_line

__all__ = [
    "CLUSTERERS",
    "CLUSTERS_FILE",
    "COLUMN_SETTINGS",
    "CONVERSATIONS_FILE",
    "ON_ERROR",
    "PIPELINE_FILE",
    "REPORT_FILE",
    "RUN_DEFAULTS",
    "RUN_FILE",
    "SKIPPED_FILE",
    "TRANSCRIPTS",
    "TRENDS_FILE",
    "CommandError",
    "build_parser",
    "build_pipeline",
    "main",
]
