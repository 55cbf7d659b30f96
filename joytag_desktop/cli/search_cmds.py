"""Reading and editing tags: search, tags, threshold, rating."""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path

from joytag_desktop.categories import CATEGORIES, RATINGS, THRESHOLD_CATEGORIES
from joytag_desktop.cli import arguments
from joytag_desktop.cli.arguments import open_library
from joytag_desktop.cli.progress import progress_bar
from joytag_desktop.cli.vocabulary_cmds import ACTIONS as VOCABULARY_ACTIONS
from joytag_desktop.cli.vocabulary_cmds import EXAMPLES as VOCABULARY_EXAMPLES
from joytag_desktop.library.query import SORTS
from joytag_desktop.library.thresholds import PRESETS, round_score

SEARCH_EXAMPLES = (
    """\
examples:
  joytag-desktop search cat outdoors --limit 20
  joytag-desktop search --sort -date 'folder:holidays -people'   newest first
  joytag-desktop search --format jsonl 'cat:>0.8' > cats.jsonl

"""
    + arguments.QUERY_EXAMPLES
)
TAGS_EXAMPLES = (
    """\
examples:
  joytag-desktop tags add cat a.jpg b.jpg     add "cat" by hand (wins over the model)
  joytag-desktop tags remove dog a.jpg        remove "dog" by hand (the model cannot bring it back)
  joytag-desktop tags reset dog a.jpg         drop the manual edit: the model's score decides again
  joytag-desktop tags list hair               tags containing "hair", most used first
  joytag-desktop tags list --category character,copyright   the characters and series in the library
  joytag-desktop tags complete bl             tags starting with "bl" (for shell completion)
"""
    + VOCABULARY_EXAMPLES
)
THRESHOLD_EXAMPLES = """\
examples:
  joytag-desktop threshold                          show the global and per-tag thresholds
  joytag-desktop threshold 0.5                      set the global threshold
  joytag-desktop threshold --preset high-recall     a preset: {presets}
  joytag-desktop threshold --tag cat 0.7            a threshold for one tag
  joytag-desktop threshold --tag cat --clear        back to the global one
  joytag-desktop threshold --model wd-vit-v3 --category character 0.9
                                                    one model's threshold for one category
  joytag-desktop threshold --model wd-vit-v3 --category character --clear
                                                    that category follows the global threshold
""".format(presets=", ".join(f"{name} ({value:g})" for name, value in PRESETS.items()))
RATING_EXAMPLES = """\
examples:
  joytag-desktop rating a.jpg b.jpg                  show their ratings
  joytag-desktop rating --set sensitive a.jpg        set by hand (wins over the models)
  joytag-desktop rating --clear a.jpg                the models' rating outputs decide again
  joytag-desktop search rating:'<=sensitive'         search by rating (rating:none: unrated)
"""


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    search = arguments.command(
        subparsers,
        "search",
        "search the library by tag and metadata",
        "Search the library and print the matching images' paths (or JSON lines).",
        SEARCH_EXAMPLES,
        rest="query",
    )
    search.add_argument("query", nargs="*", help=arguments.QUERY_HELP)
    search.add_argument(
        "--threshold", type=arguments.threshold, metavar="T", help="score that counts as a tag (default: the library's)"
    )
    search.add_argument(
        "--format",
        choices=("paths", "jsonl"),
        default="paths",
        help="paths: one per line; jsonl: path, tags and scores, size, date, camera",
    )
    arguments.add_limit(search, None, "images")
    search.add_argument(
        "--sort",
        default=None,
        metavar="KEY",
        help=f"one of {', '.join(SORTS)}; -KEY reverses (default path; similarity for a text: query)",
    )
    search.set_defaults(handler=run_search)

    tags = arguments.command(
        subparsers,
        "tags",
        "edit tags by hand, or list tags with their image counts",
        examples=TAGS_EXAMPLES,
        rest="paths",
    )
    tags.add_argument(
        "action", choices=("add", "remove", "reset", "list", "complete", *VOCABULARY_ACTIONS), help="what to do"
    )
    tags.add_argument("tag", nargs="?", help="the tag (for list: a filter; for complete: the prefix)")
    tags.add_argument(
        "paths",
        nargs="*",
        metavar="IMAGE",
        help="add, remove, reset: the images (rename, merge, alias…: the other tag)",
    )
    tags.add_argument(
        "--category",
        type=arguments.category_list,
        metavar="LIST",
        help=f"list: only tags of these categories, comma-separated ({', '.join(CATEGORIES)})",
    )
    arguments.add_limit(tags, 50, "tags (list and complete)")
    tags.set_defaults(handler=run_tags)

    threshold = arguments.command(
        subparsers,
        "threshold",
        "show or set the global threshold, a preset or per-tag thresholds",
        "The threshold is the score from which a model's tag counts; it applies to search, the GUI "
        "and exports, and changing it re-tags nothing.",
        THRESHOLD_EXAMPLES,
    )
    threshold.add_argument("value", nargs="?", type=arguments.threshold, metavar="T", help="the new threshold")
    threshold.add_argument("--preset", choices=sorted(PRESETS), help="set the global threshold to a preset")
    threshold.add_argument("--tag", help="set, show or (with --clear) remove the threshold of one tag")
    threshold.add_argument(
        "--clear", action="store_true", help="with --tag or --model: use the global threshold for it again"
    )
    threshold.add_argument("--model", metavar="NAME", help="a model of the library (see `models library`)")
    threshold.add_argument(
        "--category", choices=THRESHOLD_CATEGORIES, default="general",
        help="with --model: the tag category (default general)",
    )  # fmt: skip
    threshold.set_defaults(handler=run_threshold)

    rating = arguments.command(
        subparsers,
        "rating",
        "show or set images' ratings (general, sensitive, questionable, explicit)",
        "An image's rating comes from the rating outputs of the models that have them (WD v3, camie): "
        "the highest of them. A rating set by hand wins until cleared.",
        RATING_EXAMPLES,
        rest="paths",
    )
    rating.add_argument("paths", nargs="+", type=Path, metavar="IMAGE", help="the images")
    choice = rating.add_mutually_exclusive_group()
    choice.add_argument("--set", choices=RATINGS, metavar="RATING", help=f"set by hand: {', '.join(RATINGS)}")
    choice.add_argument("--clear", action="store_true", help="forget the hand-set rating: the models decide again")
    rating.set_defaults(handler=run_rating)


def _has_words(query: str) -> bool:
    """Whether the query holds a ``text:`` term (a malformed one is reported by the search itself)."""
    if "text:" not in query:
        return False
    from joytag_desktop.library.query import QueryError, field_terms, parse

    try:
        return bool(field_terms(parse(query), "text"))
    except QueryError:
        return False


def run_search(args: argparse.Namespace) -> int:
    query = " ".join(args.query)
    words = _has_words(query)
    if args.sort is None:  # words rank by how near the pictures are to them
        args.sort = "similarity" if words else "path"
    if args.sort.lstrip("-") not in SORTS:
        args.subparser.error(f"--sort: {args.sort!r} is not one of {', '.join(SORTS)} (prefix - to reverse)")
    if args.format == "paths" and not words and "like:" not in query and _answered_quickly(args, query):
        return 0
    with open_library(args) as library:
        if "like:" in query:  # a like: term may name any image file: the model embeds it if needed
            from joytag_desktop.cli.similar_cmds import outside_embedder

            outside_embedder(library)
        if words:  # the library's text model encodes them (loaded only now)
            from joytag_desktop.cli.similar_cmds import text_embedder

            text_embedder(library)
        # A search the quick path could not answer saves the index it brought up to date, so the
        # next one can (it answers only from a saved index as current as the change log).
        library.search_index.save_on_close_after = 1
        fetch = None if args.limit is None else args.limit + 1
        result = library.search(query, threshold=args.threshold, limit=fetch, sort=args.sort)
        for warning in result.warnings:
            print(f"note: {warning}", file=sys.stderr)
        ids = result.ids if args.limit is None else result.ids[: args.limit]
        if args.format == "jsonl":
            from joytag_desktop.media.exif import camera_label
        for start in range(0, len(ids), 500):
            for image in library.images(ids[start : start + 500]):
                if args.format == "paths":
                    print(image.path)
                    continue
                views = library.image_tags(image.id, args.threshold)
                record = {
                    "path": image.path,
                    "status": image.status,
                    "tags": {v.name: round_score(v.score) for v in views if v.present},
                    "manual": sorted(v.name for v in views if v.source == "manual"),
                    "width": image.displayed_size[0],
                    "height": image.displayed_size[1],
                    "taken_at": image.taken_at.isoformat() if image.taken_at else None,
                    "camera": camera_label(image.camera_make, image.camera_model) or None,
                    "error": image.error,
                }
                print(json.dumps(record, ensure_ascii=False))
        if len(result.ids) > len(ids):
            sys.stdout.flush()
            arguments.note_cut(len(ids), library.count(query, threshold=args.threshold), "matching images")
    return 0


def _answered_quickly(args: argparse.Namespace, query: str) -> bool:
    """Print what ``run_search`` prints, from the saved search index and ``sqlite3`` alone, where
    that answers exactly (``library.quick_search``: no SQLAlchemy to import); False: it did not."""
    from joytag_desktop.library.quick_search import answer

    found = answer(args.db, query, args.threshold, args.limit, args.sort, arguments.announce)
    if found is None:
        return False
    for warning in found.warnings:
        print(f"note: {warning}", file=sys.stderr)
    for path in found.paths:
        print(path)
    if found.more:
        sys.stdout.flush()
        arguments.note_cut(found.shown, found.total, "matching images")
    return True


def run_threshold(args: argparse.Namespace) -> int:
    parser = args.subparser
    if args.clear and not (args.tag or args.model):
        parser.error("--clear needs --tag TAG or --model NAME: it removes a threshold of their own")
    if args.clear and args.value is not None:
        parser.error("give either a threshold or --clear, not both")
    if args.preset and (args.value is not None or args.tag or args.model):
        parser.error("--preset sets the global threshold: give it without a value, --tag or --model")
    if args.tag and args.model:
        parser.error("give --tag or --model, not both (a tag's own threshold holds for every model)")
    with open_library(args) as library:
        if args.model:
            if args.clear or args.value is not None:
                library.set_model_threshold(args.model, args.category, None if args.clear else args.value)
            else:
                library.model(args.model)  # a clear error for an unknown name
            own = library.model_thresholds().get(args.model, {}).get(args.category)
            shown = f"{own:g}" if own is not None else f"{library.threshold:g} (the global threshold)"
            if own is None and args.model in library.calibrated_models():
                shown = "the model's own threshold per tag (its calibration)"
            print(f"{args.model} {args.category}: {shown}")
            return 0
        if args.tag:
            if args.clear:
                library.set_tag_threshold(args.tag, None)
            elif args.value is not None:
                library.set_tag_threshold(args.tag, args.value)
            own = library.tag_thresholds().get(args.tag)
            shown = f"{own:g}" if own is not None else f"{library.threshold:g} (the global threshold)"
            print(f"{args.tag}: {shown}")
            return 0
        if args.preset:
            library.apply_preset(args.preset)
        elif args.value is not None:
            library.set_threshold(args.value)
        print(f"threshold: {library.threshold:g}")
        for name, value in sorted(library.tag_thresholds().items()):
            print(f"  {name}: {value:g}")
        for model, values in sorted(library.model_thresholds().items()):
            own = ", ".join(f"{category} {value:g}" for category, value in sorted(values.items()))
            print(f"model {model}: {own} (other categories: the global threshold)")
        for model, count in sorted(library.calibrated_models().items()):
            print(f"model {model}: its own threshold for {count:,} tags (calibration), below its category thresholds")
    return 0


def run_rating(args: argparse.Namespace) -> int:
    from joytag_desktop.library import LibraryError

    with open_library(args) as library:
        images = []
        for path in args.paths:
            image = library.image_by_path(path)
            if image is None:
                raise LibraryError(f"{path} is not in the library (index its folder first)")
            images.append(image)
        if args.set or args.clear:
            with progress_bar(len(images), "rating", unit=" images") as bar:
                ids = [image.id for image in images]
                library.set_rating(ids, None if args.clear else args.set, partial(_advance, bar))
            images = library.images([image.id for image in images])
        for image in images:
            if image.rating is None:
                shown = "none"
            else:
                shown = RATINGS[image.rating] + (" (set by hand)" if image.rating_manual else "")
            print(f"{shown}\t{image.path}")
    return 0


def run_tags(args: argparse.Namespace) -> int:
    from joytag_desktop.library import LibraryError

    with open_library(args) as library:
        if args.action in VOCABULARY_ACTIONS:
            from joytag_desktop.cli import vocabulary_cmds

            return vocabulary_cmds.run(args, library)
        if args.action in ("list", "complete"):
            if args.paths:
                args.subparser.error(f"tags {args.action} takes one filter, not image paths")
            if args.category and args.action == "complete":
                args.subparser.error("--category goes with tags list")
            rows = (
                library.autocomplete(args.tag or "", limit=None)
                if args.action == "complete"
                else library.tag_counts(contains=args.tag or "", categories=args.category)
            )
            shown = rows if args.limit is None else rows[: args.limit]
            for name, count in shown:
                print(f"{count:8d}  {name}")
            sys.stdout.flush()
            arguments.note_cut(len(shown), len(rows), "tags")
            return 0
        if not args.tag or not args.paths:
            args.subparser.error(f"tags {args.action} needs a tag and at least one image path")
        ids = []
        for path in map(Path, args.paths):
            image = library.image_by_path(path)
            if image is None:
                raise LibraryError(f"{path} is not in the library (index its folder first)")
            ids.append(image.id)
        present = {"add": True, "remove": False, "reset": None}[args.action]
        # Written a chunk at a time: Ctrl+C stops between chunks and keeps what was written.
        with progress_bar(len(ids), f"tags {args.action} {args.tag}", unit=" images") as bar:
            changed = library.set_manual_tag(ids, args.tag, present, partial(_advance, bar))
        print(f"{args.action}: {args.tag} on {changed} image(s)", file=sys.stderr)
    return 0


def _advance(bar, done: int, total: int) -> None:
    """A bulk edit's progress (chunks written of the whole) on its bar."""
    bar.n = done
    bar.refresh()
