"""The ``joytag-desktop`` command: a thin layer over the core.

Start-up matters: a command that does not tag must answer at once, so the subcommand modules
import the library, the metadata code and above all torch inside their handlers, never at the
top. ``tests/test_cli_manners.py`` checks that those commands never import torch.

The window is not the command line's to open: ``joytag_desktop/launch.py`` hands ``main`` the
function that opens it, so nothing here imports the GUI.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable, Sequence

from joytag_desktop import __version__, failures
from joytag_desktop.errors import JoyTagError

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_SOFTWARE = 70  # sysexits.h: an internal error
# Options whose value may itself start with '-' (``--sort -size``: '-' reverses the order).
_DASH_VALUE_OPTIONS = ("--sort",)
# Each command's module (under joytag_desktop.cli) and the function that adds its parsers, in the
# order ``--help`` lists them. A command line names one command: only its module is imported
# (the others pull in numpy, the taggers' catalogue, the metadata code). ``tests/test_cli_startup.py``
# checks that this table names every command its modules add.
COMMANDS: dict[str, tuple[str, str]] = {
    "tag": ("tag", "add_parser"),
    "models": ("models", "add_parser"),
    **dict.fromkeys(("index", "scan", "purge", "roots"), ("library_cmds", "add_parsers")),
    **dict.fromkeys(("autotag", "watch"), ("watch_cmd", "add_parsers")),
    **dict.fromkeys(("search", "tags", "threshold", "rating"), ("search_cmds", "add_parsers")),
    **dict.fromkeys(("stars", "label", "pick"), ("marks_cmds", "add_parsers")),
    **dict.fromkeys(("similar", "duplicates"), ("similar_cmds", "add_parsers")),
    "status": ("status_cmd", "add_parsers"),
    "export": ("export_cmd", "add_parser"),
    "benchmark": ("benchmark_cmd", "add_parser"),
    "rotate": ("view_cmds", "add_parsers"),
}
# Global options before the command, and whether each takes a value.
_GLOBAL_OPTIONS = {"-v": False, "--verbose": False, "--db": True}


def chosen_command(argv: Sequence[str]) -> str | None:
    """The command a command line names (the first word after the global options), or None where
    that is not plain (no command, ``--help``, ``--version``, an unknown word or option): the full
    parser then answers, as it always did."""
    words = iter(argv)
    for word in words:
        if word in _GLOBAL_OPTIONS:
            if _GLOBAL_OPTIONS[word] and next(words, None) is None:
                return None
            continue
        if word.startswith("--db="):
            continue
        return word if word in COMMANDS or word == "gui" else None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser: every command, or (``only``) the one command named, whose module
    alone is imported."""
    parser = argparse.ArgumentParser(
        prog="joytag-desktop",
        description="Auto-tag a local image library with published tagger models and search it by tag.",
        epilog="Run `joytag-desktop COMMAND --help` for a command's options. With no command the window opens.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail to stderr")
    parser.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        help="library database: a SQLite file or a SQLAlchemy URL (default: $JOYTAG_DESKTOP_DB, else the data folder)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    if only in (None, "gui"):
        gui = subparsers.add_parser("gui", help="open the main window (the default with no command)")
        gui.set_defaults(handler=None, subparser=gui, rest=None)
    wanted = [COMMANDS[only]] if only in COMMANDS else [] if only == "gui" else list(dict.fromkeys(COMMANDS.values()))
    for module, function in wanted:
        getattr(importlib.import_module(f"joytag_desktop.cli.{module}"), function)(subparsers)
    return parser


def _join_dash_values(argv: list[str]) -> list[str]:
    """``--sort -size`` → ``--sort=-size``: argparse would read ``-size`` as an unknown option."""
    joined: list[str] = []
    words = iter(argv)
    for word in words:
        if word in _DASH_VALUE_OPTIONS:
            value = next(words, None)
            joined.append(word if value is None else f"{word}={value}")
            continue
        joined.append(word)
        if word == "--":
            joined.extend(words)
    return joined


def _free_words(args: argparse.Namespace, extras: list[str]) -> None:
    """Words after options join the command's list of words (``export xmp --dry-run cat``).

    argparse fills a list positional from the first run of words only; the rest come back as
    extras, in order. Words after a lone ``--`` are taken as they are; before it, an unknown
    ``--option`` is a typo to report, while ``-indoors`` is a negated tag."""
    parser: argparse.ArgumentParser = args.subparser
    if "--" in extras:
        cut = extras.index("--")
        before, after = extras[:cut], extras[cut + 1 :]
    else:
        before, after = extras, []
    if args.rest is None:
        if before or after:
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        return
    unknown = [word for word in before if word.startswith("--")]
    if unknown:
        parser.error(f"unrecognized option {unknown[0]} (a word that starts with '--' goes after a lone '--')")
    setattr(args, args.rest, list(getattr(args, args.rest) or []) + before + after)


def _one_line(exc: BaseException | None) -> None:
    """Last resort for threads (watch): one line, the traceback to the error log."""
    if exc is None:  # threading's hook may carry no exception object: nothing to say
        return
    print(f"joytag-desktop: error: {failures.unexpected(exc)}", file=sys.stderr)


def _no_window(database: str | None) -> int:
    """Where ``main`` was called without a window to open (tests, scripts): say where the window is."""
    print("joytag-desktop: error: the window opens from joytag_desktop.launch, not the command layer", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None, open_window: Callable[[str | None], int] | None = None) -> int:
    """Run the command in ``argv``; with none (or ``gui``), ``open_window(database)`` opens the window."""
    window = open_window or _no_window
    failures.guard_streams()
    failures.one_line_warnings("joytag-desktop")
    threading.excepthook = lambda hook: _one_line(hook.exc_value)
    words = list(sys.argv[1:] if argv is None else argv)
    if words == ["--version"]:  # answered before any parser is built
        print(f"joytag-desktop {__version__}")
        return 0
    parser = build_parser(chosen_command(words))
    args, extras = parser.parse_known_args(_join_dash_values(words))
    if args.command is None:
        if extras:
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
    else:
        _free_words(args, extras)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        return window(args.db)
    handler = args.handler or (lambda chosen: window(chosen.db))
    try:
        return handler(args)
    except JoyTagError as exc:
        pointer = getattr(exc, "pointer", None)  # a QueryError shows where the query went wrong
        if pointer is not None:
            print(f"joytag-desktop: bad query:\n{pointer()}", file=sys.stderr)
        else:
            print(f"joytag-desktop: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # noqa: BLE001 - no traceback ever reaches a user
        known = failures.foreseen(exc)  # a full disk, a read-only database: not a bug in the app
        message = failures.describe(exc) if known else failures.unexpected(exc)
        print(f"joytag-desktop: error: {message}", file=sys.stderr)
        if args.verbose:
            traceback.print_exc()
        return EXIT_FAILURE if known else EXIT_SOFTWARE
