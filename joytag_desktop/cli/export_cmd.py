"""``joytag-desktop export``: tags out to sidecars, embedded keywords, captions, CSV or JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from joytag_desktop.cli.library_cmds import open_library
from joytag_desktop.cli.progress import progress_bar
from joytag_desktop.files import atomic_text_output
from joytag_desktop.library import QueryError
from joytag_desktop.metadata.sync import (
    TARGETS,
    CaptionOptions,
    ExportReport,
    export_captions,
    export_embedded,
    export_table,
    export_xmp,
)
from joytag_desktop.metadata.xmp import DEFAULT_PARENT


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from joytag_desktop.cli.tag import _threshold

    parser = subparsers.add_parser(
        "export",
        help="write tags to XMP sidecars, embedded keywords, caption files, CSV or JSON",
        description="Export the tags of the images matching QUERY (default: all).",
    )
    parser.add_argument("target", choices=TARGETS)
    parser.add_argument("query", nargs="*", help="which images (the search language; default all)")
    parser.add_argument("--threshold", type=_threshold, help="score that counts as a tag (default: the library's)")
    parser.add_argument("--dry-run", action="store_true", help="show what would be written, write nothing")
    parser.add_argument(
        "--naming",
        choices=("jpg.xmp", "xmp"),
        default="jpg.xmp",
        help="new sidecars as photo.jpg.xmp (digiKam, darktable) or photo.xmp (Lightroom)",
    )
    parser.add_argument("--parent", default=DEFAULT_PARENT, help="parent of hierarchical keywords (default JoyTag)")
    parser.add_argument("--backup", action="store_true", help="embedded: keep photo.jpg_original backups")
    parser.add_argument("--keep-underscores", action="store_true", help="captions: keep '_' in tags")
    parser.add_argument(
        "--escape-parentheses",
        action="store_true",
        help="captions: write saber \\(fate\\) for prompt parsers that need it (kohya-ss does not)",
    )
    parser.add_argument("--no-escape", action="store_true", help=argparse.SUPPRESS)  # the default since 0.2
    parser.add_argument("--exclude", default="", help="captions: comma-separated tags to leave out")
    parser.add_argument("--prefix", default="", help="captions: comma-separated tags to put first (trigger words)")
    parser.add_argument("--overwrite", action="store_true", help="captions: replace caption files we did not write")
    parser.add_argument("--all-scores", action="store_true", help="csv/json: include tags below the threshold")
    parser.add_argument("--output", "-o", type=Path, help="csv/json: file to write (default stdout)")
    parser.set_defaults(handler=run)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def run(args: argparse.Namespace) -> int:
    query = " ".join(args.query)
    with open_library(args) as library:
        try:
            library.search(query, limit=1)
        except QueryError as exc:
            print(f"joytag-desktop: bad query:\n{exc.pointer()}", file=sys.stderr)
            return 2
        if args.target in ("csv", "json"):
            if args.output:
                with atomic_text_output(args.output) as out:
                    count = export_table(library, out, args.target, query, args.threshold, args.all_scores)
            else:
                count = export_table(library, sys.stdout, args.target, query, args.threshold, args.all_scores)
            print(f"Exported {count} image(s).", file=sys.stderr)
            return 0
        bar = progress_bar(None, f"Writing {args.target}")

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        with bar:
            if args.target == "xmp":
                report = export_xmp(library, query, args.threshold, args.naming, args.parent, args.dry_run, progress)
            elif args.target == "embedded":
                report = export_embedded(
                    library, query, args.threshold, args.backup, args.dry_run, progress, parent=args.parent
                )
            else:
                options = CaptionOptions(
                    threshold=args.threshold,
                    spaces=not args.keep_underscores,
                    escape_parentheses=args.escape_parentheses,
                    exclude=set(_split(args.exclude)),
                    prefix=_split(args.prefix),
                    overwrite=args.overwrite,
                )
                report = export_captions(library, query, options, args.dry_run, progress)
        return _finish(report, args.dry_run)


def _finish(report: ExportReport, dry_run: bool) -> int:
    for path, keywords in report.planned:
        print(f"{path}: {', '.join(keywords)}")
    for path, reason in report.errors:
        print(f"error: {path}: {reason}", file=sys.stderr)
    print(("Dry run: " if dry_run else "") + report.summary(), file=sys.stderr)
    return 1 if report.errors else 0
