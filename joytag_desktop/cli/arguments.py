"""Argument types and helpers shared by the subcommands (parsing only: nothing heavy is imported)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import textwrap
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

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
  like:photos/cat.jpg outdoors --sort similarity   the 200 images most like cat.jpg, outdoors ones
"""


def _checked(convert: Callable[[str], Any], accept: Callable[[Any], bool], expected: str) -> Callable[[str], Any]:
    """An argparse type whose error says what was expected in the user's words (argparse would
    otherwise print "invalid _threshold value")."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, not {text!r}")
        return value

    return parse


threshold = _checked(float, lambda value: 0.0 <= value <= 1.0, "a threshold between 0 and 1")
positive_int = _checked(int, lambda value: value >= 1, "a whole number of at least 1")
# ``--limit N``: at most N lines; 0 means no limit, the same in every command.
_limit = _checked(int, lambda value: value >= 0, "a whole number (0 for no limit)")


def split_list(text: str) -> list[str]:
    """A comma-separated option value, blanks dropped."""
    return [part.strip() for part in text.split(",") if part.strip()]


def category_list(text: str) -> frozenset[str]:
    """Tag categories, comma-separated (``--categories character,copyright``)."""
    from joytag_desktop.categories import CATEGORIES

    chosen = frozenset(split_list(text))
    unknown = sorted(chosen - set(CATEGORIES))
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"expected categories from {', '.join(CATEGORIES)}, not {', '.join(unknown) or repr(text)}"
        )
    return chosen


def limit(text: str) -> int | None:
    return _limit(text) or None


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


@contextlib.contextmanager
def open_library(args: argparse.Namespace, create: bool = False) -> Iterator[Library]:
    """The library named by --db. Only commands that add folders create one: a mistyped --db is
    an error, not a new empty library. A damaged library is refused by commands that write to it
    and named in a warning by the others (``library.integrity`` says when it is checked)."""
    from joytag_desktop.library import Library
    from joytag_desktop.library.integrity import guarded

    with guarded(args.db, writes_library(args), warn, announce), Library(args.db, create=create) as library:
        yield library


def warn(text: str) -> None:
    """A warning about the library (a damaged one), on stderr."""
    print(f"joytag-desktop: warning: {text}", file=sys.stderr, flush=True)


def announce(text: str) -> None:
    """Work that will take a while before the answer (checking a big library), on stderr."""
    print(f"# {text}", file=sys.stderr, flush=True)


_WRITING_COMMANDS = {"index", "scan", "purge", "autotag", "watch", "rotate"}


def writes_library(args: argparse.Namespace) -> bool:
    """Whether the command changes the library's data (so it must not run on a damaged one).
    Reading commands may still write small things (a vector index's stamp), as they always did."""
    command = getattr(args, "command", None)
    if command in _WRITING_COMMANDS:
        return True
    action = getattr(args, "action", None)
    if command == "roots":
        return action not in (None, "list")
    if command == "tags":
        return action in ("add", "remove", "reset")
    if command == "threshold":
        return bool(args.value is not None or args.preset or args.clear)
    if command == "rating":
        return bool(args.set or args.clear)
    if command == "duplicates":
        return bool(args.trash)
    if command == "models":
        return bool(getattr(args, "auto", None) or getattr(args, "search", None) or getattr(args, "no_search", None))
    if command == "export":
        return args.target not in ("csv", "json") and not args.dry_run  # sidecars' write records go to the library
    return False


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
