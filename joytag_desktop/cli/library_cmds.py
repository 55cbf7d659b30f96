"""Library commands: index, scan, autotag, search, purge, threshold, tags."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

from joytag_desktop.cli.progress import progress_bar
from joytag_desktop.library import Library, LibraryError, QueryError
from joytag_desktop.library.scanner import ScanReport
from joytag_desktop.library.search import SORTS
from joytag_desktop.library.thresholds import PRESETS
from joytag_desktop.metadata.exif import camera_label


def open_library(args: argparse.Namespace) -> Library:
    return Library(args.db)


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    from joytag_desktop.cli.tag import _threshold, add_engine_arguments

    index = subparsers.add_parser("index", help="add folders to the library and scan them")
    index.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    index.add_argument("--no-watch", action="store_true", help="do not watch these folders for changes")
    index.set_defaults(handler=run_index)

    scan = subparsers.add_parser("scan", help="rescan library folders for new, changed, moved and missing files")
    scan.add_argument("paths", nargs="*", type=Path, metavar="ROOT", help="library folders (default: all)")
    scan.set_defaults(handler=run_scan)

    autotag = subparsers.add_parser("autotag", help="tag every pending image in the library")
    add_engine_arguments(autotag)
    autotag.set_defaults(handler=run_autotag)

    search = subparsers.add_parser(
        "search",
        help="search the library by tag and metadata",
        description="Search the library. Examples: 'cat outdoors -indoors', 'cat | dog', '*_hair', "
        "'cat:>0.8', '\"saber_(fate)\"', 'camera:canon', 'date:2023-01..2023-06', 'folder:holidays', "
        "'width:>2000', 'source:manual', 'status:error', 'ext:png'.",
    )
    search.add_argument("query", nargs="*", help="the query (several words are joined with spaces)")
    search.add_argument("--threshold", type=_threshold, help="score that counts as a tag (default: the library's)")
    search.add_argument("--format", choices=("paths", "jsonl"), default="paths")
    search.add_argument("--limit", type=int, metavar="N")
    search.add_argument("--sort", default="path", help=f"one of {', '.join(SORTS)}; prefix - to reverse")
    search.set_defaults(handler=run_search)

    purge = subparsers.add_parser("purge", help="forget images whose files are missing")
    purge.set_defaults(handler=run_purge)

    roots = subparsers.add_parser("roots", help="list, watch, unwatch or remove library folders")
    roots.add_argument("action", nargs="?", choices=("list", "watch", "unwatch", "remove"), default="list")
    roots.add_argument("paths", nargs="*", type=Path, metavar="ROOT")
    roots.set_defaults(handler=run_roots)

    threshold = subparsers.add_parser("threshold", help="show or set the global threshold, a preset or per-tag ones")
    threshold.add_argument("value", nargs="?", type=_threshold, help="new global threshold")
    threshold.add_argument("--preset", choices=sorted(PRESETS))
    threshold.add_argument("--tag", help="set (or with --clear, remove) the threshold of one tag")
    threshold.add_argument("--clear", action="store_true")
    threshold.set_defaults(handler=run_threshold)

    tags = subparsers.add_parser("tags", help="edit tags by hand, or list tags with counts")
    tags.add_argument("action", choices=("add", "remove", "reset", "list", "complete"))
    tags.add_argument("tag", nargs="?", help="the tag (for list: a filter; for complete: the prefix)")
    tags.add_argument("paths", nargs="*", type=Path, metavar="IMAGE")
    tags.add_argument("--limit", type=int, default=50)
    tags.set_defaults(handler=run_tags)


def _print_scan(report: ScanReport) -> None:
    print(f"Scan: {report.summary()}", file=sys.stderr)
    for offline in report.offline:
        print(f"offline: {offline}", file=sys.stderr)
    for path, reason in report.errors[:50]:
        print(f"unreadable: {path}: {reason}", file=sys.stderr)
    if len(report.errors) > 50:
        print(f"… and {len(report.errors) - 50} more unreadable", file=sys.stderr)


def _scan(library: Library, roots: list[Path] | None) -> ScanReport:
    bar = progress_bar(None, "Scanning", unit="file")
    seen: dict[str, int] = {}

    def progress(root: str, count: int) -> None:
        seen[root] = count
        bar.n = sum(seen.values())
        bar.refresh()

    cancel = threading.Event()
    try:
        with bar:
            return library.scan(roots, progress=progress, cancel=cancel)
    except KeyboardInterrupt:
        cancel.set()
        raise


def run_index(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        for path in args.paths:
            root = library.add_root(path, watched=not args.no_watch)
            print(f"Library folder: {root.path}{'' if root.watched else ' (not watched)'}", file=sys.stderr)
        report = _scan(library, [Path(p) for p in args.paths])
        _print_scan(report)
        pending = library.count_by_status()["pending"]
        if pending:
            print(f"{pending} image(s) wait for tagging: run `joytag-desktop autotag`.", file=sys.stderr)
    return 0


def run_scan(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        if not library.roots():
            print("The library has no folders yet: add one with `joytag-desktop index PATH`.", file=sys.stderr)
            return 0
        _print_scan(_scan(library, args.paths or None))
    return 0


def run_autotag(args: argparse.Namespace) -> int:
    from joytag_desktop.cli.main import load_engine
    from joytag_desktop.worker.tagging import tag_pending

    with open_library(args) as library:
        pending = library.count_by_status()["pending"]
        if not pending:
            print("Nothing to tag: every image is tagged.", file=sys.stderr)
            return 0
        engine = load_engine(args)
        cancel = threading.Event()
        bar = progress_bar(pending, "Tagging")

        def progress(state) -> None:
            bar.total = state.total
            bar.n = state.done
            bar.refresh()

        try:
            with bar:
                report = tag_pending(library, engine, engine.model.folder.fingerprint(), progress, cancel)
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


def run_search(args: argparse.Namespace) -> int:
    query = " ".join(args.query)
    with open_library(args) as library:
        try:
            result = library.search(query, threshold=args.threshold, limit=args.limit, sort=args.sort)
        except QueryError as exc:
            print(f"joytag-desktop: bad query:\n{exc.pointer()}", file=sys.stderr)
            return 2
        except ValueError as exc:
            print(f"joytag-desktop: error: {exc}", file=sys.stderr)
            return 2
        for warning in result.warnings:
            print(f"note: {warning}", file=sys.stderr)
        for start in range(0, len(result.ids), 500):
            for image in library.images(result.ids[start : start + 500]):
                if args.format == "paths":
                    print(image.path)
                    continue
                views = library.image_tags(image.id, args.threshold)
                record = {
                    "path": image.path,
                    "status": image.status,
                    "tags": {v.name: v.score for v in views if v.present},
                    "manual": sorted(v.name for v in views if v.source == "manual"),
                    "width": image.displayed_size[0],
                    "height": image.displayed_size[1],
                    "taken_at": image.taken_at.isoformat() if image.taken_at else None,
                    "camera": camera_label(image.camera_make, image.camera_model) or None,
                    "error": image.error,
                }
                print(json.dumps(record, ensure_ascii=False))
    return 0


def run_purge(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        print(f"Forgot {library.purge_missing()} missing image(s).", file=sys.stderr)
    return 0


def run_roots(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        if args.action == "list":
            for root in library.roots():
                state = "watched" if root.watched else "not watched"
                online = "" if root.online else ", OFFLINE"
                print(f"{root.path} ({state}{online})")
            return 0
        if not args.paths:
            raise LibraryError(f"roots {args.action} needs at least one folder")
        for path in args.paths:
            if args.action == "remove":
                print(f"Removed {path}: forgot {library.remove_root(path)} image(s).", file=sys.stderr)
            else:
                library.set_watched(path, args.action == "watch")
    return 0


def run_threshold(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        if args.tag:
            if args.clear:
                library.set_tag_threshold(args.tag, None)
            elif args.value is not None:
                library.set_tag_threshold(args.tag, args.value)
        elif args.preset:
            library.apply_preset(args.preset)
        elif args.value is not None:
            library.set_threshold(args.value)
        print(f"threshold: {library.threshold:g}")
        for name, value in sorted(library.tag_thresholds().items()):
            print(f"  {name}: {value:g}")
    return 0


def run_tags(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        if args.action in ("list", "complete"):
            rows = (
                library.autocomplete(args.tag or "", limit=args.limit)
                if args.action == "complete"
                else library.tag_counts(contains=args.tag or "", limit=args.limit)
            )
            for name, count in rows:
                print(f"{count:8d}  {name}")
            return 0
        if not args.tag or not args.paths:
            raise LibraryError(f"tags {args.action} needs a tag and at least one image path")
        ids = []
        for path in args.paths:
            image = library.image_by_path(path)
            if image is None:
                raise LibraryError(f"{path} is not in the library (index its folder first)")
            ids.append(image.id)
        present = {"add": True, "remove": False, "reset": None}[args.action]
        changed = library.set_manual_tag(ids, args.tag, present)
        print(f"{args.action}: {args.tag} on {changed} image(s)", file=sys.stderr)
    return 0
