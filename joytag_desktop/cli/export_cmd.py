"""``joytag-desktop export``: tags out to sidecars, embedded keywords, captions, CSV or JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from joytag_desktop.categories import CATEGORIES
from joytag_desktop.cli import arguments
from joytag_desktop.cli.arguments import open_library
from joytag_desktop.cli.progress import progress_bar
from joytag_desktop.metadata import EXPORT_TARGETS
from joytag_desktop.metadata.keywords import DEFAULT_PARENT

if TYPE_CHECKING:
    from joytag_desktop.interchange.exporting import ExportReport

EXAMPLES = (
    """\
examples:
  joytag-desktop export xmp                             sidecars for every image (photo.jpg.xmp)
  joytag-desktop export xmp --dry-run folder:holidays   what would be written, writing nothing
  joytag-desktop export embedded --threshold 0.6 cat    keywords inside the image files (needs exiftool)
  joytag-desktop export captions --prefix mychar --exclude watermark folder:dataset
  joytag-desktop export captions --skip-categories rating,meta      captions without ratings
  joytag-desktop export xmp --by-category                JoyTag|character|hatsune_miku in digiKam's tree
  joytag-desktop export xmp --implied-hierarchy          a tag that implies others as animal|cat
  joytag-desktop export csv -o tags.csv 'rating:general'

"""
    + arguments.QUERY_EXAMPLES
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = arguments.command(
        subparsers,
        "export",
        "write tags to XMP sidecars, embedded keywords, caption files, CSV or JSON",
        "Export the tags of the images matching the query (default: all). Keywords other programs "
        "wrote are never removed.",
        EXAMPLES,
        rest="query",
    )
    parser.add_argument("target", choices=EXPORT_TARGETS, help="where the tags go")
    parser.add_argument("query", nargs="*", help=arguments.QUERY_HELP)
    parser.add_argument(
        "--threshold", type=arguments.threshold, metavar="T", help="score that counts as a tag (default: the library's)"
    )
    parser.add_argument("--dry-run", action="store_true", help="show what would be written, write nothing")
    parser.add_argument(
        "--naming",
        choices=("jpg.xmp", "xmp"),
        default="jpg.xmp",
        help="new sidecars as photo.jpg.xmp (digiKam, darktable) or photo.xmp (Lightroom)",
    )
    parser.add_argument("--parent", default=DEFAULT_PARENT, help="parent of hierarchical keywords (default JoyTag)")
    parser.add_argument(
        "--by-category",
        action="store_true",
        help="xmp/embedded: file keywords by category, as JoyTag|character|hatsune_miku",
    )
    parser.add_argument(
        "--implied-hierarchy",
        action="store_true",
        help="xmp/embedded: write a tag that implies others along them, as animal|cat (see `tags imply`)",
    )
    parser.add_argument(
        "--categories",
        type=arguments.category_list,
        metavar="LIST",
        help=f"xmp/embedded/captions: only tags of these categories (comma-separated: {', '.join(CATEGORIES)})",
    )
    parser.add_argument(
        "--skip-categories",
        type=arguments.category_list,
        metavar="LIST",
        help="xmp/embedded/captions: leave tags of these categories out (e.g. rating)",
    )
    parser.add_argument("--backup", action="store_true", help="embedded: keep photo.jpg_original backups")
    parser.add_argument("--keep-underscores", action="store_true", help="captions: keep '_' in tags")
    parser.add_argument(
        "--escape-parentheses",
        action="store_true",
        help="captions: write saber \\(fate\\) for prompt parsers that need it (kohya-ss does not)",
    )
    parser.add_argument("--no-escape", action="store_true", help=argparse.SUPPRESS)  # the default since 0.2
    parser.add_argument("--exclude", default="", metavar="TAGS", help="captions: comma-separated tags to leave out")
    parser.add_argument(
        "--prefix", default="", metavar="TAGS", help="captions: comma-separated tags to put first (trigger words)"
    )
    parser.add_argument("--overwrite", action="store_true", help="captions: replace caption files we did not write")
    parser.add_argument("--all-scores", action="store_true", help="csv/json: include tags below the threshold")
    parser.add_argument("--output", "-o", type=Path, metavar="FILE", help="csv/json: file to write (default stdout)")
    parser.set_defaults(handler=run)


def _choice(args: argparse.Namespace):
    from joytag_desktop.interchange.keyword_export import KeywordChoice

    categories = args.categories if args.categories is not None else frozenset(CATEGORIES)
    if args.skip_categories:
        categories -= args.skip_categories
    return KeywordChoice(
        None if categories == frozenset(CATEGORIES) else categories, args.by_category, args.implied_hierarchy
    )


def _check_output(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Usage errors for -o before anything is read: a folder that does not exist, or a folder."""
    if args.output is None:
        return
    if args.target not in ("csv", "json"):
        parser.error(f"-o/--output is for csv and json; {args.target} writes beside each image")
    if args.output.is_dir():
        parser.error(f"-o {args.output}: that is a folder; name a file")
    folder = args.output.expanduser().absolute().parent
    if not folder.is_dir():
        parser.error(f"-o {args.output}: the folder {folder} does not exist")


def run(args: argparse.Namespace) -> int:
    from joytag_desktop.interchange import captions, keyword_export

    _check_output(args.subparser, args)
    query = " ".join(args.query)
    with open_library(args) as library:
        library.search(query, limit=1)  # a malformed query is reported before anything is written
        if args.target in ("csv", "json"):
            return _export_table(library, args, query)
        with progress_bar(None, f"Writing {args.target}", unit=" images") as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            choice = _choice(args)
            if args.target == "xmp":
                report = keyword_export.export_xmp(
                    library, query, args.threshold, args.naming, args.parent, args.dry_run, progress, choice=choice
                )
            elif args.target == "embedded":
                report = keyword_export.export_embedded(
                    library, query, args.threshold, args.backup, args.dry_run, progress, parent=args.parent,
                    choice=choice,
                )  # fmt: skip
            else:
                options = captions.CaptionOptions(
                    threshold=args.threshold,
                    spaces=not args.keep_underscores,
                    escape_parentheses=args.escape_parentheses,
                    exclude=set(arguments.split_list(args.exclude)),
                    prefix=arguments.split_list(args.prefix),
                    overwrite=args.overwrite,
                    categories=choice.categories,
                )
                report = captions.export_captions(library, query, options, args.dry_run, progress)
        return _finish(report, args.dry_run)


def _export_table(library, args: argparse.Namespace, query: str) -> int:
    """CSV or JSON to -o FILE (through a temporary: a full disk keeps the old file) or stdout.

    A dry run shows on stdout what the file would hold and writes no file."""
    from joytag_desktop.files import atomic_text_output
    from joytag_desktop.interchange.table import export_table

    def write(out) -> int:
        return export_table(library, out, args.target, query, args.threshold, args.all_scores)

    if args.output is not None and not args.dry_run:
        with atomic_text_output(args.output) as out:
            count = write(out)
        print(f"Exported {count} image(s) to {args.output}.", file=sys.stderr)
        return 0
    count = write(sys.stdout)
    if args.dry_run:
        where = args.output or "stdout"
        print(f"Dry run: {count} image(s) would be exported to {where}; no file was written.", file=sys.stderr)
    else:
        print(f"Exported {count} image(s).", file=sys.stderr)
    return 0


def _finish(report: ExportReport, dry_run: bool) -> int:
    for path, keywords in report.planned:
        print(f"{path}: {', '.join(keywords)}")
    for path, reason in report.errors:
        print(f"error: {path}: {reason}", file=sys.stderr)
    if dry_run:
        print(
            f"Dry run: {len(report.planned)} file(s) would be written, {report.unchanged} unchanged, "
            f"{report.skipped} skipped; nothing was written.",
            file=sys.stderr,
        )
    else:
        print(report.summary(), file=sys.stderr)
    return 1 if report.errors else 0
