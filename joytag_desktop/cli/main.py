"""The ``joytag-desktop`` command: a thin layer over the core."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import traceback
from collections.abc import Sequence

from joytag_desktop import __version__, failures
from joytag_desktop.cli import export_cmd, library_cmds, watch_cmd
from joytag_desktop.cli import models as models_cmd
from joytag_desktop.cli import tag as tag_cmd
from joytag_desktop.errors import JoyTagError

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="joytag-desktop",
        description="Auto-tag a local image library with the JoyTag model.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail to stderr")
    parser.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        help="library database: a SQLite file or a SQLAlchemy URL (default: $JOYTAG_DESKTOP_DB, else the data folder)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    tag_cmd.add_parser(subparsers)
    models_cmd.add_parser(subparsers)
    library_cmds.add_parsers(subparsers)
    watch_cmd.add_parser(subparsers)
    export_cmd.add_parser(subparsers)
    gui = subparsers.add_parser("gui", help="open the main window (the default with no command)")
    gui.set_defaults(handler=run_gui)
    return parser


def run_gui(args: argparse.Namespace) -> int:
    from joytag_desktop.gui.app import run_gui as start

    return start(args.db)


def load_engine(args: argparse.Namespace):
    """The engine for --model/--device/--batch-size; errors surface as JoyTagError."""
    from joytag_desktop.model.engine import TaggingEngine
    from joytag_desktop.model.folder import load_model, resolve_model_path

    model = load_model(resolve_model_path(args.model))
    engine = TaggingEngine(
        model,
        device=args.device,
        batch_size=args.batch_size,
        precision=args.precision,
        preprocessing=args.preprocess,
    )

    logging.getLogger(__name__).info("model %s on %s", model.folder.path, engine.describe())
    return engine


EXIT_FAILURE = 1
EXIT_SOFTWARE = 70  # sysexits.h: an internal error


def _one_line(exc: BaseException) -> None:
    """Last resort for threads (watch): one line, the traceback to the error log."""
    print(f"joytag-desktop: error: {failures.unexpected(exc)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    failures.guard_streams()
    failures.one_line_warnings("joytag-desktop")
    threading.excepthook = lambda hook: _one_line(hook.exc_value)
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        return run_gui(args)
    try:
        return args.handler(args)
    except JoyTagError as exc:
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
