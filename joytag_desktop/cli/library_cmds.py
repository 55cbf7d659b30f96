"""Library folder commands: index, scan, roots, purge."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from joytag_desktop.cli import arguments
from joytag_desktop.cli.arguments import open_library
from joytag_desktop.cli.progress import progress_bar
from joytag_desktop.files import NOT_UTF8, valid_text

if TYPE_CHECKING:
    from joytag_desktop.library import Library
    from joytag_desktop.library.scanner import ScanReport

INDEX_EXAMPLES = """\
examples:
  joytag-desktop index ~/Pictures             add the folder, scan it, watch it from now on
  joytag-desktop index --no-watch /mnt/nas    add a folder that `watch` should leave alone
  joytag-desktop index ~/Pictures/2024        already inside a library folder: rescans it
  joytag-desktop index ~                      holds library folders: they become part of it, tags kept
"""
ROOTS_EXAMPLES = """\
examples:
  joytag-desktop roots                        list the library folders
  joytag-desktop roots unwatch /mnt/nas       stop watching (the images stay)
  joytag-desktop roots remove /mnt/old --yes  forget the folder's images and their tags (files untouched)
  joytag-desktop roots map /mnt/nas/photos /Volumes/photos
                      a shared library: this machine finds the root added as /mnt/nas/photos at /Volumes/photos
"""


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    index = arguments.command(
        subparsers,
        "index",
        "add folders to the library and scan them",
        "Add folders to the library (created on first use) and scan them. Tagging is left to `autotag` or `watch`.",
        INDEX_EXAMPLES,
        rest="paths",
    )
    index.add_argument("paths", nargs="+", type=Path, metavar="FOLDER", help="folders to add")
    index.add_argument("--no-watch", action="store_true", help="do not watch these folders for changes")
    index.set_defaults(handler=run_index)

    scan = arguments.command(
        subparsers,
        "scan",
        "rescan library folders for new, changed, moved and missing files",
        examples="examples:\n  joytag-desktop scan                         every library folder\n"
        "  joytag-desktop scan ~/Pictures/2024         only this folder and below it\n",
        rest="paths",
    )
    scan.add_argument(
        "paths", nargs="*", type=Path, metavar="FOLDER", help="library folders or folders inside one (default: all)"
    )
    scan.set_defaults(handler=run_scan)

    purge = arguments.command(
        subparsers, "purge", "forget images whose files are missing (their tags and manual edits go with them)"
    )
    purge.set_defaults(handler=run_purge)

    roots = arguments.command(
        subparsers,
        "roots",
        "list, watch, unwatch, remove or map library folders",
        "List, watch, unwatch or remove library folders; `map ROOT FOLDER` tells a shared library where this "
        "machine finds a root that another machine added (the path `roots list` shows before it is mapped).",
        examples=ROOTS_EXAMPLES,
        rest="paths",
    )
    roots.add_argument(
        "action",
        nargs="?",
        choices=("list", "watch", "unwatch", "remove", "map"),
        default="list",
        help="default: list",
    )
    roots.add_argument("paths", nargs="*", type=Path, metavar="FOLDER", help="library folders")
    roots.add_argument("--yes", "-y", action="store_true", help="remove: do not ask for confirmation")
    roots.set_defaults(handler=run_roots)


def print_scan(report: ScanReport) -> None:
    print(f"Scan: {report.summary()}", file=sys.stderr)
    for offline in report.offline:
        print(f"offline: {offline}", file=sys.stderr)
    for path, reason in report.errors[:50]:
        print(f"unreadable: {path}: {reason}", file=sys.stderr)
    if len(report.errors) > 50:
        print(f"… and {len(report.errors) - 50} more unreadable", file=sys.stderr)


def scan_with_progress(library: Library, folders: list[Path] | None) -> ScanReport:
    """Scan with a progress bar, then import the keywords the scan found."""
    from joytag_desktop.interchange.keyword_sync import import_found

    seen: dict[str, int] = {}
    cancel = threading.Event()
    with progress_bar(None, "Scanning", unit=" files") as bar:

        def progress(root: str, count: int) -> None:
            seen[root] = count
            bar.n = sum(seen.values())
            bar.refresh()

        try:
            return import_found(library, library.scan(folders, progress=progress, cancel=cancel))
        except KeyboardInterrupt:
            cancel.set()
            raise


def _existing_folders(parser: argparse.ArgumentParser, words: list[str | Path]) -> list[Path]:
    """Usage errors for arguments that are not folders, or whose full path the library cannot
    store (not UTF-8), before the library is touched: ``index`` would otherwise leave a new, empty
    database behind."""
    paths = [Path(word) for word in words]
    for path in paths:
        if not path.is_dir():
            parser.error(f"{path}: {'not a folder' if path.exists() else 'no such folder'}")
        full = str(path.expanduser().resolve())
        if not valid_text(full):
            parser.error(f"{full}: {NOT_UTF8}")
    return paths


def run_index(args: argparse.Namespace) -> int:
    folders = _existing_folders(args.subparser, args.paths)
    with open_library(args, create=True) as library:
        targets = []
        for path in folders:
            added = library.add_folder(path, watched=not args.no_watch)
            targets.append(Path(added.scan_path))
            if added.inside:
                print(f"{path} is inside the library folder {added.root.path}: rescanning it.", file=sys.stderr)
                continue
            print(f"Library folder: {added.root.path}{'' if added.root.watched else ' (not watched)'}", file=sys.stderr)
            for inner in added.absorbed:
                print(f"  now includes {inner} (its images and tags are kept)", file=sys.stderr)
        print_scan(scan_with_progress(library, targets))
        pending = library.count_by_status()["pending"]
        if pending:
            print(f"{pending} image(s) wait for tagging: run `joytag-desktop autotag`.", file=sys.stderr)
    return 0


def run_scan(args: argparse.Namespace) -> int:
    folders = _existing_folders(args.subparser, args.paths)
    with open_library(args) as library:
        if not library.roots():
            print("The library has no folders yet: add one with `joytag-desktop index FOLDER`.", file=sys.stderr)
            return 0
        for path in folders:
            if library.containing_root(path) is None:
                args.subparser.error(f"{path} is not in a library folder (`joytag-desktop index {path}` adds it)")
        print_scan(scan_with_progress(library, folders or None))
    return 0


def run_purge(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        print(f"Forgot {library.purge_missing()} missing image(s).", file=sys.stderr)
    return 0


def _confirmed(question: str, yes: bool) -> bool:
    """--yes, or an answer on a terminal; without a terminal nothing is removed unasked."""
    if yes:
        return True
    if not sys.stdin.isatty():
        print(f"{question}\nNothing was removed: add --yes to confirm.", file=sys.stderr)
        return False
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def run_roots(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        if args.action == "list":
            roots = library.roots()
            if not roots:
                print("The library has no folders yet: add one with `joytag-desktop index FOLDER`.", file=sys.stderr)
            for root in roots:
                state = "watched" if root.watched else "not watched"
                online = "" if root.online else ", OFFLINE"
                print(f"{root.path} ({state}{online})")
            return 0
        if args.action == "map":
            if len(args.paths) != 2:
                args.subparser.error("roots map takes the root (as listed, or its id) and this machine's folder")
            root = library.map_root(str(args.paths[0]), args.paths[1])
            print(f"This machine finds that library folder at {root.path}.", file=sys.stderr)
            return 0
        if not args.paths:
            args.subparser.error(f"roots {args.action} needs at least one library folder")
        roots = [library.find_root(Path(path)) for path in args.paths]
        if args.action != "remove":
            for root in roots:
                library.set_watched(root.path, args.action == "watch")
            return 0
        status = 0
        for root in roots:
            images, edits = library.root_contents(root)
            question = (
                f"Forget {root.path}: {images} image(s) and their tags"
                + (f", including {edits} manual tag edit(s)" if edits else "")
                + "? The files are not touched."
            )
            if not _confirmed(question, args.yes):
                status = 1
                continue
            print(f"Removed {root.path}: forgot {library.remove_root(root.path)} image(s).", file=sys.stderr)
    return status
