"""Tagging a library: ``autotag`` (what is pending, then stop) and ``watch`` (keep going)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import TYPE_CHECKING

from joytag_desktop.cli import arguments
from joytag_desktop.cli.arguments import open_library
from joytag_desktop.cli.library_cmds import print_scan
from joytag_desktop.cli.progress import progress_bar
from joytag_desktop.cli.tag import add_engine_arguments

if TYPE_CHECKING:
    from joytag_desktop.library import Library

log = logging.getLogger("joytag_desktop.watch")

AUTOTAG_EXAMPLES = """\
examples:
  joytag-desktop autotag                          tag every image that waits (safe to interrupt and rerun)
  joytag-desktop autotag --retag                  also tag again what another model (or version) tagged
  joytag-desktop autotag --retag-all folder:2024  tag again every image of a folder (manual edits stay)
"""


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    autotag = arguments.command(
        subparsers,
        "autotag",
        "tag every pending image in the library, then stop",
        "Tag the library's pending images with the model. Interrupting keeps what was committed.",
        AUTOTAG_EXAMPLES + "\n" + arguments.QUERY_EXAMPLES,
        rest="query",
    )
    autotag.add_argument("query", nargs="*", help="with --retag: which images to tag again (default: all)")
    add_engine_arguments(autotag)
    retag = autotag.add_mutually_exclusive_group()
    retag.add_argument(
        "--retag",
        action="store_const",
        const="changed",
        help="first queue again the images another model or another version of it tagged (a query narrows them)",
    )
    retag.add_argument(
        "--retag-all",
        dest="retag",
        action="store_const",
        const="all",
        help="first queue again every tagged image the query finds (all without one), as the GUI's Retag",
    )
    autotag.set_defaults(handler=run_autotag)

    watch = arguments.command(
        subparsers,
        "watch",
        "scan, then watch library folders and tag new and changed images until stopped",
        examples="examples:\n  joytag-desktop watch                        Ctrl-C (or SIGTERM) stops it\n"
        "  joytag-desktop watch --write-sidecars       also write XMP sidecars as images are tagged\n",
    )
    add_engine_arguments(watch)
    watch.add_argument(
        "--settle",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how long a file must be unchanged before it is read (default 1)",
    )
    watch.add_argument(
        "--rescan-minutes",
        type=float,
        default=5.0,
        metavar="MINUTES",
        help="how often folders that cannot be watched (network drives) are rescanned (default 5)",
    )
    watch.add_argument(
        "--write-sidecars", action="store_true", help="write XMP sidecars for images as soon as they are tagged"
    )
    watch.add_argument(
        "--naming", choices=("jpg.xmp", "xmp"), default="jpg.xmp", help="sidecar naming: photo.jpg.xmp or photo.xmp"
    )
    watch.set_defaults(handler=run_watch)


def _queue_retag(library: Library, args: argparse.Namespace, model_name: str) -> int:
    """Queue images for tagging again, as the GUI's Retag does for a selection."""
    query = " ".join(args.query)
    if args.retag == "all":
        return library.retag(library.search(query).ids)
    ids = library.tagged_by_other_models(model_name)
    if query:
        wanted = set(library.search(query).ids)
        ids = [i for i in ids if i in wanted]
    return library.retag(ids)


def run_autotag(args: argparse.Namespace) -> int:
    from joytag_desktop.cli.main import load_engine
    from joytag_desktop.worker.tagging import tag_pending

    if args.query and not args.retag:
        args.subparser.error("a query chooses images to tag again: add --retag or --retag-all")
    with open_library(args) as library:
        if not args.retag and not library.count_by_status()["pending"]:
            print("Nothing to tag: every image is tagged.", file=sys.stderr)
            return 0
        engine = load_engine(args)
        model_name = engine.tagger.fingerprint()
        if args.retag:
            print(f"Queued {_queue_retag(library, args, model_name)} image(s) to tag again.", file=sys.stderr)
        else:
            others = len(library.tagged_by_other_models(model_name))
            if others:
                print(
                    f"note: {others} image(s) were tagged by another model or version; "
                    "`joytag-desktop autotag --retag` tags them again with this one.",
                    file=sys.stderr,
                )
        pending = library.count_by_status()["pending"]
        if not pending:
            print("Nothing to tag.", file=sys.stderr)
            return 0
        cancel = threading.Event()
        try:
            with progress_bar(pending, "Tagging") as bar:

                def progress(state) -> None:  # noqa: ANN001 - a TaggingProgress
                    bar.total = state.total
                    bar.n = state.done
                    bar.refresh()

                report = tag_pending(library, engine, model_name, progress, cancel)
        except KeyboardInterrupt:
            cancel.set()
            print("Interrupted: what was committed is kept; run autotag again to finish.", file=sys.stderr)
            return 130
        print(
            f"Tagged {report.tagged} image(s), {report.failed} failed, in {report.seconds:.1f} s "
            f"on {engine.describe()}.",
            file=sys.stderr,
        )
        return 1 if report.failed else 0


def run_watch(args: argparse.Namespace) -> int:
    from joytag_desktop.library.changes import ChangeReport
    from joytag_desktop.worker.watcher import FolderWatcher
    from joytag_desktop.worker.worker import LoggingListener, TaggingWorker, WorkerSettings

    if not args.verbose:
        logging.getLogger("joytag_desktop").setLevel(logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logging.getLogger("joytag_desktop").addHandler(handler)
    logging.getLogger("joytag_desktop").propagate = False
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with open_library(args) as library:
        if not [r for r in library.roots() if r.watched]:
            print("No watched folders: add one with `joytag-desktop index FOLDER`.", file=sys.stderr)
            return 0
        # Changes made while the app was closed are caught here.
        print_scan(library.scan())
        settings = WorkerSettings(args.model, args.device, args.batch_size)
        if args.write_sidecars:
            from joytag_desktop.metadata.sync import export_xmp

            def write_sidecars(ids: list[int]) -> None:
                report = export_xmp(library, image_ids=ids, naming=args.naming)
                for path, reason in report.errors:
                    log.warning("sidecar %s: %s", path, reason)

            settings.after_commit = write_sidecars
        worker = TaggingWorker(library, settings, LoggingListener())

        def changed(report: ChangeReport) -> None:
            if report.added or report.changed or report.moved or report.missing or report.restored:
                log.info("changes: %s", report.summary())
            worker.wake()

        watcher = FolderWatcher(
            library, settle_seconds=args.settle, rescan_seconds=args.rescan_minutes * 60, on_change=changed
        )
        worker.start()
        watcher.start()
        state = watcher.state
        log.info(
            "watching %d folder(s)%s; press Ctrl-C to stop",
            len(state.watched),
            f", rescanning {len(state.polled)} periodically" if state.polled else "",
        )
        for path in state.offline:
            log.warning("offline: %s", path)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            log.info("stopping…")
            watcher.stop()
            worker.stop()
    return 0
