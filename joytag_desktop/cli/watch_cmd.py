"""``joytag-desktop watch``: scan, then watch every watched folder and tag files as they arrive."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from joytag_desktop.cli.library_cmds import _print_scan, open_library
from joytag_desktop.library.changes import ChangeReport
from joytag_desktop.worker.watcher import FolderWatcher
from joytag_desktop.worker.worker import LoggingListener, TaggingWorker, WorkerSettings

log = logging.getLogger("joytag_desktop.watch")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from joytag_desktop.cli.tag import add_engine_arguments

    parser = subparsers.add_parser("watch", help="watch library folders and tag new and changed images")
    add_engine_arguments(parser)
    parser.add_argument(
        "--settle",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how long a file must be unchanged before it is read (default 1)",
    )
    parser.add_argument(
        "--rescan-minutes",
        type=float,
        default=5.0,
        help="how often folders that cannot be watched are rescanned (default 5)",
    )
    parser.add_argument(
        "--write-sidecars", action="store_true", help="write XMP sidecars for images as soon as they are tagged"
    )
    parser.add_argument("--naming", choices=("jpg.xmp", "xmp"), default="jpg.xmp", help="sidecar naming")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
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
            print("No watched folders: add one with `joytag-desktop index PATH`.", file=sys.stderr)
            return 0
        # Changes made while the app was closed are caught here.
        _print_scan(library.scan())
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
