"""Argument types and helpers shared by the subcommands (parsing only: nothing heavy is imported)."""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from joytag_desktop.library import Library

QUERY_HELP = (
    "the query, in any order with the options (default: every image). A term that starts with "
    "'--' goes after a lone '--'"
)
QUERY_EXAMPLES = """\
query examples:
  cat outdoors -indoors        cat and outdoors, not indoors
  'cat | dog' '*_hair'         cat or dog; any tag ending in _hair
  'cat:>0.8' 'cat:0.5..0.9'    a score above 0.8; between 0.5 and 0.9
  '"saber_(fate)"'             a tag with parentheses, quoted
  camera:canon date:2023-01..2023-06 folder:holidays width:>2000 ext:png
  source:manual status:error status:pending
"""


def threshold(text: str) -> float:
    """A score between 0 and 1 (argparse names the option in its message)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a threshold is a number between 0 and 1, not {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a threshold is a number between 0 and 1, not {text}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text}")
    return value


def limit(text: str) -> int | None:
    """``--limit N``: at most N lines; 0 means no limit (the same in every command)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number (0 for no limit), not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number (0 for no limit), not {text}")
    return value or None


def add_limit(parser: argparse.ArgumentParser, default: int | None, what: str) -> None:
    shown = "no limit" if default is None else str(default)
    parser.add_argument(
        "--limit",
        type=limit,
        default=default,
        metavar="N",
        help=f"show at most N {what} (default {shown}; 0: no limit)",
    )


def note_cut(shown: int, total: int, what: str) -> None:
    """Say on stderr that a limit cut the output, so a short list is never mistaken for all of it."""
    if shown < total:
        print(f"note: showing {shown} of {total} {what}; --limit 0 shows all", file=sys.stderr)


def open_library(args: argparse.Namespace, create: bool = False) -> Library:
    """The library named by --db. Only commands that add folders create one: a mistyped --db is
    an error, not a new empty library."""
    from joytag_desktop.library import Library

    return Library(args.db, create=create)


def command(
    subparsers: argparse._SubParsersAction,
    name: str,
    summary: str,
    description: str | None = None,
    examples: str | None = None,
    rest: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand whose --help shows its examples as written, and that accepts the global
    options (--db, -v) after the command name too.

    ``rest`` names the positional list (the query, the folders) that also takes the words found
    after options, so that options and words can come in any order."""
    parser = subparsers.add_parser(
        name,
        help=summary,
        description=textwrap.fill(description or summary[0].upper() + summary[1:] + ".", 79),
        epilog=examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser.add_argument("--db", metavar="PATH_OR_URL", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser.set_defaults(subparser=parser, rest=rest)
    return parser
