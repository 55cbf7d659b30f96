"""Setting stars, colour labels and picks by hand: stars, label, pick.

They go into the files on the next ``export`` (xmp:Rating, xmp:Label, digiKam's fields…), as the
library's keywords do; ``library.marking`` writes them a chunk at a time, so Ctrl+C stops between
chunks and keeps what was written.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

from joytag_desktop.cli import arguments
from joytag_desktop.cli.arguments import open_library
from joytag_desktop.cli.progress import progress_bar

STARS_EXAMPLES = """\
examples:
  joytag-desktop stars 4 a.jpg b.jpg        four stars
  joytag-desktop stars reject a.jpg         rejected (xmp:Rating -1, as Lightroom writes it)
  joytag-desktop stars none a.jpg           not rated
  joytag-desktop search 'stars:>=4'         search by stars; sort with --sort -stars
"""
LABEL_EXAMPLES = """\
examples:
  joytag-desktop label red a.jpg b.jpg      red, yellow, green, blue, purple (and orange, gray, black, white)
  joytag-desktop label none a.jpg           no colour label
  joytag-desktop search label:red
"""
PICK_EXAMPLES = """\
examples:
  joytag-desktop pick pick a.jpg            picked (digiKam: accepted)
  joytag-desktop pick reject a.jpg          rejected
  joytag-desktop pick none a.jpg            unflagged
  joytag-desktop search pick:picked
"""
STARS_WORDS = {"reject": -1, "rejected": -1, "none": None, "clear": None}
PICK_WORDS = {"none": None, "unflag": None, "clear": None}


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    for name, summary, description, examples, metavar in (
        (
            "stars",
            "set images' star rating: 0-5, reject or none",
            "Stars are the user's rating (-1 rejected, 0-5), read from and written to xmp:Rating and the "
            "copies Windows and digiKam keep; export writes them to the files.",
            STARS_EXAMPLES,
            "N|reject|none",
        ),
        (
            "label",
            "set images' colour label (red, yellow, green, blue, purple…) or none",
            "Colour labels are Lightroom's xmp:Label, digiKam's and darktable's colour labels; export writes them.",
            LABEL_EXAMPLES,
            "COLOUR|none",
        ),
        (
            "pick",
            "flag images as picked or rejected, or unflag them",
            "Picks are digiKam's pick label (accepted, rejected, pending); export writes them.",
            PICK_EXAMPLES,
            "pick|reject|pending|none",
        ),
    ):
        parser = arguments.command(subparsers, name, summary, description, examples, rest="paths")
        parser.add_argument("value", metavar=metavar, help="the value to set")
        parser.add_argument("paths", nargs="+", type=Path, metavar="IMAGE", help="the images")
        parser.set_defaults(handler=partial(run_mark, name))


def _value(mark: str, text: str, parser: argparse.ArgumentParser) -> object:
    """The mark's value from its word (checked again by the library)."""
    word = text.strip().lower()
    if mark == "stars":
        if word in STARS_WORDS:
            return STARS_WORDS[word]
        if word.lstrip("-").isdigit() and -1 <= int(word) <= 5:
            return int(word)
        parser.error(f"stars: {text!r} is not 0-5, reject or none")
    if mark == "pick" and word in PICK_WORDS:
        return PICK_WORDS[word]
    return None if word == "none" else word


def run_mark(mark: str, args: argparse.Namespace) -> int:
    from joytag_desktop.library import LibraryError

    value = _value(mark, args.value, args.subparser)
    with open_library(args) as library:
        value = library.marking.check(mark, value)  # a wrong word fails before anything is written
        ids = []
        for path in args.paths:
            image = library.image_by_path(path)
            if image is None:
                raise LibraryError(f"{path} is not in the library (index its folder first)")
            ids.append(image.id)
        shown = "none" if value is None else str(value)
        with progress_bar(len(ids), f"{mark} {shown}", unit=" images") as bar:
            changed = library.set_mark(ids, mark, value, partial(_advance, bar))
        print(f"{mark} {shown}: {changed} image(s) changed", file=sys.stderr)
    return 0


def _advance(bar, done: int, total: int) -> None:
    bar.n = done
    bar.refresh()
