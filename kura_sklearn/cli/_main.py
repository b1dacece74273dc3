"""The console script's entry point: parse, run one command, turn its
failure into one line on standard error and an exit code."""

import contextlib
import logging
import sys

from ._common import CommandError
from ._parser import build_parser


class _TerminalSafeFormatter(logging.Formatter):
    """Log lines with control characters shown as escapes (they may quote
    chat_ids or names taken from conversations)."""

    def format(self, record):
        from ..utils import terminal_safe

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
            from ..utils import terminal_safe

            message = terminal_safe(exc, keep_newlines=True)
            print(f"kura-sklearn: error: {message}", file=sys.stderr)
            return exc.code
        except KeyboardInterrupt:
            print("kura-sklearn: interrupted", file=sys.stderr)
            return 130
