"""What every command shares: the run directory's file names and the
error reported to the shell user."""

#: File names inside a run directory.
PIPELINE_FILE = "pipeline.joblib"
CONVERSATIONS_FILE = "conversations.parquet"
CLUSTERS_FILE = "clusters.parquet"
REPORT_FILE = "report.html"
RUN_FILE = "run.json"
SKIPPED_FILE = "skipped.jsonl"
TRENDS_FILE = "trends.parquet"


class CommandError(Exception):
    """A failure reported to the shell user as one line and an exit code."""

    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code
