"""Tagging a library: ``autotag`` (what is pending, then stop) and ``watch`` (keep going)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING

from joytag_desktop.cli import arguments
from joytag_desktop.cli.arguments import open_library
from joytag_desktop.cli.engine_options import add_engine_arguments
from joytag_desktop.cli.library_cmds import print_scan
from joytag_desktop.cli.progress import progress_bar

if TYPE_CHECKING:
    from joytag_desktop.library import Library

log = logging.getLogger("joytag_desktop.watch")

AUTOTAG_EXAMPLES = """\
examples:
  joytag-desktop autotag                          tag every image that waits (safe to interrupt and rerun)
  joytag-desktop autotag --model wd-swinv2-v3     tag with WD too: every image it has not tagged yet
  joytag-desktop autotag --model joytag --model wd-swinv2-v3   both models tag new files from now on
  joytag-desktop autotag --retag-all folder:2024  tag again every image of a folder (manual edits stay)
"""


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    autotag = arguments.command(
        subparsers,
        "autotag",
        "tag every pending image in the library, then stop",
        "Tag the library's pending images with its automatic models (--model chooses them; each model keeps "
        "its own scores). Interrupting keeps what was committed.",
        AUTOTAG_EXAMPLES + "\n" + arguments.QUERY_EXAMPLES,
        rest="query",
    )
    autotag.add_argument("query", nargs="*", help="with --retag: which images to tag again (default: all)")
    add_engine_arguments(autotag, several=True)
    retag = autotag.add_mutually_exclusive_group()
    retag.add_argument(
        "--retag",
        action="store_const",
        const="all",
        help="the same as --retag-all (new weights of a model are tagged again without it)",
    )
    retag.add_argument(
        "--retag-all",
        dest="retag",
        action="store_const",
        const="all",
        help="first queue again every tagged image the query finds (all without one), as the GUI's Retag",
    )
    add_lease_argument(autotag)
    autotag.set_defaults(handler=run_autotag)

    watch = arguments.command(
        subparsers,
        "watch",
        "scan, then watch library folders and tag new and changed images until stopped",
        examples="examples:\n  joytag-desktop watch                        Ctrl-C (or SIGTERM) stops it\n"
        "  joytag-desktop watch --write-sidecars       also write XMP sidecars as images are tagged\n",
    )
    add_engine_arguments(watch, several=True)
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
    add_lease_argument(watch)
    watch.set_defaults(handler=run_watch)


def chosen_taggers(library: Library, models: list[str] | None, args: argparse.Namespace | None = None) -> list:
    """The taggers to run (TaggerFolder, ModelInfo): the ``--model`` ones, which become the
    library's automatic models, else the automatic models (else the default JoyTag); with the
    options the library keeps for each, and those given (``--seqlen``), which it keeps from now on."""
    from joytag_desktop.cli.engine_options import apply_taken, given_options
    from joytag_desktop.errors import JoyTagError
    from joytag_desktop.taggers import recognise
    from joytag_desktop.taggers.installed import resolve_model_path

    sources: list[str | None] = list(models or [])
    if not sources:
        auto = [m for m in library.models() if m.auto and m.path]
        sources = [m.path for m in auto if m.path and os.path.isdir(m.path)] or [None]  # None: the default
        missing = [m.name for m in auto if not os.path.isdir(m.path or "")]
        if missing:
            print(f"note: the folder of {', '.join(missing)} is gone; --model NAME chooses models", file=sys.stderr)
    # An absolute folder: the library keeps it for `similar FILE` and later runs, from any folder.
    taggers = [recognise(resolve_model_path(m).resolve()) for m in sources]
    infos = [library.register_model(t) for t in taggers]
    library.set_auto_models([i.name for i in infos])
    given = given_options(args) if args is not None else {}
    if given and not any(set(given) <= set(t.family.option_names) for t in taggers):
        raise JoyTagError(f"--{next(iter(given))} is for JTP-3 taggers; none of these models takes it")
    for tagger, info in zip(taggers, infos, strict=True):
        stored = library.model_options(info.id)
        apply_taken(tagger, stored)
        taken = apply_taken(tagger, given)
        if taken and stored | taken != stored:  # the workers of this library use them from now on
            library.set_model_options(info.id, stored | taken)
    return list(zip(taggers, infos, strict=True))


def add_lease_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lease",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long images this worker claims stay its own without news from it (default 120): after a crash "
        "or a lost connection, other workers take them once it runs out",
    )


def run_autotag(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import DBAPIError

    from joytag_desktop.cli.engine_options import load_engine
    from joytag_desktop.library.work import LEASE_SECONDS, WorkQueue, retrying
    from joytag_desktop.worker.tagging import TaggingReport, tag_pending

    if args.query and not args.retag:
        args.subparser.error("a query chooses images to tag again: add --retag or --retag-all")
    with open_library(args) as library:
        # A shared library's server may restart while this worker starts, as at any other time.
        chosen = retrying(lambda: chosen_taggers(library, args.model, args), "registering the models")
        if args.retag:
            ids = library.search(" ".join(args.query)).ids
            queued = library.retag(ids, [info.id for _, info in chosen])
            print(f"Queued {queued} image(s) to tag again.", file=sys.stderr)
        work = [
            (tagger, info, retrying(lambda i=info: library.pending_count(i.id), "counting pending images"))
            for tagger, info in chosen
        ]
        if not any(count for *_, count in work):
            print("Nothing to tag: every image is tagged.", file=sys.stderr)
            return 0
        cancel = threading.Event()
        report, described = TaggingReport(), []
        if args.lease is not None and args.lease <= 0:
            args.subparser.error("--lease must be more than 0 seconds")
        queue = WorkQueue(library.database, lease=args.lease or LEASE_SECONDS)
        try:
            for tagger, info, pending in work:
                if not pending:
                    continue
                engine = load_engine(args, tagger)
                described.append(f"{info.name} on {engine.describe()}")
                queue.device = engine.describe()
                with progress_bar(pending, f"Tagging ({info.name})" if len(work) > 1 else "Tagging") as bar:

                    def progress(state) -> None:
                        bar.total = state.total
                        bar.n = state.done
                        bar.refresh()

                    part = tag_pending(library, engine, info, progress, cancel, queue=queue)
                report.tagged += part.tagged
                report.failed += part.failed
                report.seconds += part.seconds
        except KeyboardInterrupt:
            cancel.set()
            print("Interrupted: what was committed is kept; run autotag again to finish.", file=sys.stderr)
            return 130
        finally:
            with contextlib.suppress(DBAPIError):  # unreachable server: the leases run out instead
                queue.close()
        print(
            f"Tagged {report.tagged} image(s), {report.failed} failed, in {report.seconds:.1f} s "
            f"({'; '.join(described)}).",
            file=sys.stderr,
        )
        return 1 if report.failed else 0


def run_watch(args: argparse.Namespace) -> int:
    from joytag_desktop.interchange.keyword_sync import import_found
    from joytag_desktop.library.changes import ChangeReport
    from joytag_desktop.library.work import retrying
    from joytag_desktop.worker.watcher import FolderWatcher
    from joytag_desktop.worker.worker import LoggingListener, TaggingWorker, WorkerSettings

    if args.lease is not None and args.lease <= 0:
        args.subparser.error("--lease must be more than 0 seconds")
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
        started: list[TaggingWorker] = []

        def changed(report: ChangeReport) -> None:
            if report.added or report.changed or report.moved or report.missing or report.restored:
                log.info("changes: %s", report.summary())
            for worker in started:
                worker.wake()

        watcher = FolderWatcher(
            library, settle_seconds=args.settle, rescan_seconds=args.rescan_minutes * 60, on_change=changed
        )
        try:
            # Watching starts before the scan: a file that lands while the scan (or the model load)
            # runs is seen by one or the other, never by neither.
            watcher.start()
            # Changes made while the app was closed are caught here.
            print_scan(import_found(library, library.scan()))
            chosen = retrying(lambda: chosen_taggers(library, args.model, args), "registering the models")
            settings = WorkerSettings([str(tagger.path) for tagger, _ in chosen], args.device, args.batch_size)
            if args.lease is not None:
                settings.lease = args.lease
            if args.write_sidecars:
                from joytag_desktop.interchange.keyword_export import export_xmp

                def write_sidecars(ids: list[int]) -> None:
                    report = export_xmp(library, image_ids=ids, naming=args.naming)
                    for path, reason in report.errors:
                        log.warning("sidecar %s: %s", path, reason)

                settings.after_commit = write_sidecars
            worker = TaggingWorker(library, settings, LoggingListener())
            worker.start()
            started.append(worker)
        except BaseException:
            watcher.stop()
            raise
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
