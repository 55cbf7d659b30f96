"""Viewing commands: rotate (and mirror) images by their orientation flag, never their pixels."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from joytag_desktop.cli import arguments

ROTATE_EXAMPLES = """\
examples:
  joytag-desktop rotate 90 IMG_0001.jpg         turn a quarter clockwise
  joytag-desktop rotate 270 *.jpg               a quarter counter-clockwise
  joytag-desktop rotate flip DSC_0042.NEF       mirror left to right (a RAW: in its XMP sidecar)

JPEG, TIFF, PNG and WebP get their EXIF Orientation flag changed (exiftool; the picture's data is
copied as it is and checked). RAW, GIF and BMP files are never written: the flag goes to their XMP
sidecar (tiff:Orientation), as digiKam does. Images in the library are tagged again.
"""
TRANSFORMS = ("90", "180", "270", "flip", "flip-vertical")


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    rotate = arguments.command(
        subparsers,
        "rotate",
        "rotate or mirror images without touching their pixels",
        "Rotate images clockwise (90, 180, 270) or mirror them (flip: left to right; flip-vertical: top to "
        "bottom) by their orientation flag; the pixels stay as they are.",
        ROTATE_EXAMPLES,
        rest="paths",
    )
    rotate.add_argument("transform", choices=TRANSFORMS, help="degrees clockwise, or flip / flip-vertical")
    rotate.add_argument("paths", nargs="+", type=Path, metavar="IMAGE", help="image files")
    rotate.set_defaults(handler=run_rotate)


def run_rotate(args: argparse.Namespace) -> int:
    from joytag_desktop.interchange.rotation import rotate_images
    from joytag_desktop.library.db import LibraryMissingError

    paths = [Path(p) for p in args.paths]
    try:
        with arguments.open_library(args) as library:
            report = rotate_images(library, paths, args.transform)
    except LibraryMissingError:  # files outside any library are rotated all the same (a damaged one refuses)
        report = rotate_images(None, paths, args.transform)
    for path, before, after in report.rotated:
        print(f"{path}: orientation {before} -> {after}")
    for path, reason in report.errors:
        print(f"joytag-desktop: error: {path}: {reason}", file=sys.stderr)
    return 1 if report.errors else 0
