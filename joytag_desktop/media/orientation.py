"""Turning and mirroring a picture by its orientation flag alone (EXIF 0x0112, XMP tiff:Orientation).

A flag value 1..8 names how the stored pixels are turned to be shown (the EXIF 2.3 definitions,
what ``PIL.ImageOps.exif_transpose`` applies). Rotating a shown picture by 90° clockwise, or
mirroring it, is one more step after that one; the eight values form a group (the square's
symmetries), so the result is again one of the eight values. ``compose`` looks it up in a table
worked out once from the definitions below, on a small picture whose corners all differ.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

import numpy as np
from PIL import Image

from joytag_desktop.files import open_regular

# What each flag does to the stored pixels to show them (rows, columns of an array).
_SHOWN: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    1: lambda a: a,
    2: np.fliplr,  # mirrored left to right
    3: lambda a: np.rot90(a, 2),  # turned 180°
    4: np.flipud,  # mirrored top to bottom
    5: lambda a: a.T,  # transposed (mirrored, then turned 270° clockwise)
    6: lambda a: np.rot90(a, -1),  # turned 90° clockwise
    7: lambda a: np.rot90(a, 2).T,  # transversed (mirrored, then turned 90° clockwise)
    8: lambda a: np.rot90(a, 1),  # turned 270° clockwise (90° counter-clockwise)
}
# What the user asks of the picture as shown.
TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "90": lambda a: np.rot90(a, -1),
    "180": lambda a: np.rot90(a, 2),
    "270": lambda a: np.rot90(a, 1),
    "flip": np.fliplr,
    "flip-vertical": np.flipud,
}
# The transform that takes each one back (a quarter turn the other way; a mirror is its own).
INVERSE = {"90": "270", "180": "180", "270": "90", "flip": "flip", "flip-vertical": "flip-vertical"}


def _table() -> dict[tuple[int, str], int]:
    probe = np.arange(6).reshape(2, 3)  # 2x3, every cell different: no symmetry hides a mistake
    shown = {value: turn(probe) for value, turn in _SHOWN.items()}
    table = {}
    for value, picture in shown.items():
        for name, transform in TRANSFORMS.items():
            wanted = transform(picture)
            table[value, name] = next(
                v for v, p in shown.items() if p.shape == wanted.shape and np.array_equal(p, wanted)
            )
    return table


_COMPOSED = _table()


def compose(orientation: int | None, transform: str) -> int:
    """The flag that shows the stored pixels as ``transform`` applied to how ``orientation`` shows
    them (None or an invalid value: 1, as every reader takes it)."""
    if transform not in TRANSFORMS:
        raise ValueError(f"unknown transform {transform!r}: use one of {', '.join(TRANSFORMS)}")
    current = orientation if orientation in _SHOWN else 1
    return _COMPOSED[current, transform]


# The same turns as Pillow steps (what ``ImageOps.exif_transpose`` does for each flag).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def upright(image: Image.Image, orientation: int | None) -> Image.Image:
    """``image`` (stored pixels) as the flag shows it; the same image for 1 or no flag."""
    step = _TRANSPOSE.get(orientation or 1)
    return image if step is None else image.transpose(step)


def turns_quarter(orientation: int | None) -> bool:
    """Whether the flag shows the picture with width and height swapped."""
    return orientation in (5, 6, 7, 8)


# HEIF turns its pictures by its own boxes (irot, imir), which the decoder applies and an EXIF flag
# does not change: not rotated here.
UNROTATABLE = frozenset({".heic", ".heif"})
_SIDECAR_ORIENTATION = re.compile(rb"tiff:Orientation\s*(?:=\s*[\"']|>)\s*([1-8])\s*[\"'<]")
_MAX_SIDECAR = 16 << 20


def sidecar_names(path: str | os.PathLike[str]) -> list[str]:
    """The sidecars that may hold ``path``'s orientation, in the order they are read (digiKam's
    ``photo.nef.xmp``, then Lightroom's ``photo.xmp``)."""
    text = os.fspath(path)
    stem = os.path.splitext(text)[0]
    return [text + ".xmp", text + ".XMP", stem + ".xmp", stem + ".XMP"]


def sidecar_orientation(path: str | os.PathLike[str]) -> int | None:
    """The tiff:Orientation of the image's sidecar, or None without one: for the formats whose
    flag is kept there (RAW, GIF, BMP; the caller knows which). A quick look at the first value,
    never an error: the full XMP reader is in ``metadata.xmp``."""
    for name in sidecar_names(path):
        try:
            with open_regular(name) as handle:
                data = handle.read(_MAX_SIDECAR)
        except OSError:
            continue
        found = _SIDECAR_ORIENTATION.search(data)
        return int(found.group(1)) if found else None
    return None
