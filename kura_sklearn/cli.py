"""The ``kura-sklearn`` command line."""

import argparse
import sys

from ._version import __version__


def _validate(args):
    from .conversation import ConversationValidationError, load_conversations

    try:
        conversations = load_conversations(args.input, format=args.format)
    except (ConversationValidationError, FileNotFoundError, ValueError) as exc:
        print(f"kura-sklearn: {exc}", file=sys.stderr)
        return 1
    n_messages = sum(len(c.messages) for c in conversations)
    print(
        f"{args.input}: {len(conversations)} conversations, {n_messages} messages, "
        "all valid"
    )
    return 0


def build_parser():
    """The argument parser, with one sub-command per task."""
    parser = argparse.ArgumentParser(
        prog="kura-sklearn",
        description="Find out what people talk about with AI assistants.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser(
        "validate", help="read conversations and report the first invalid one"
    )
    validate.add_argument("input", help="JSONL, JSON, CSV or Parquet file")
    validate.add_argument(
        "--format", default="auto", choices=["auto", "kura", "openai", "claude"]
    )
    validate.set_defaults(handler=_validate)
    return parser


def main(argv=None):
    """Entry point of the console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
