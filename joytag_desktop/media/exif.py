"""EXIF facts the library stores (taken-at, camera, orientation), read with exifread; a JPEG's
EXIF block that a scan already holds in memory is read here directly (``exif_from_tiff``), as
exifread reads it, without opening the file again."""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import exifread

from joytag_desktop.files import open_regular

log = logging.getLogger(__name__)
logging.getLogger("exifread").setLevel(logging.CRITICAL)  # it logs "format not recognized" for PNGs
_DATE_TAGS = ("EXIF DateTimeOriginal", "EXIF DateTimeDigitized", "Image DateTime")
_DATE_FORMATS = ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M", "%Y-%m-%dT%H:%M:%S")


@dataclass
class ExifFacts:
    taken_at: datetime | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    orientation: int | None = None


def _text(value: object) -> str | None:
    text = str(value).strip().strip("\x00").strip()
    return text or None


def _parse_date(text: str) -> datetime | None:
    text = text.strip().strip("\x00")
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text[: len("0000:00:00 00:00:00")], fmt)
        except ValueError:
            continue
        if parsed.year >= 1900:
            return parsed
    return None


def read_exif(path: Path) -> ExifFacts:
    """EXIF facts of ``path``; an image without (or with broken) EXIF gives empty facts, never an error."""
    facts = ExifFacts()
    try:
        with open_regular(path) as handle:
            tags = exifread.process_file(handle, details=False, extract_thumbnail=False)
    except Exception as exc:  # noqa: BLE001 - exifread raises many types on odd files
        log.debug("no EXIF from %s: %s", path, exc)
        return facts
    for name in _DATE_TAGS:
        if name in tags and (taken := _parse_date(str(tags[name]))):
            facts.taken_at = taken
            break
    if "Image Make" in tags:
        facts.camera_make = _text(tags["Image Make"])
    if "Image Model" in tags:
        facts.camera_model = _text(tags["Image Model"])
    orientation = tags.get("Image Orientation")
    if orientation is not None and getattr(orientation, "values", None):
        try:
            value = int(orientation.values[0])
        except (TypeError, ValueError):
            value = None
        facts.orientation = value if value and 1 <= value <= 8 else None
    return facts


_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
# Make, Model, Orientation, DateTime, the EXIF IFD, XPKeywords
_IFD0_TAGS = {0x010F, 0x0110, 0x0112, 0x0132, 0x8769, 0x9C9E}
_EXIF_TAGS = {0x9003, 0x9004}  # DateTimeOriginal, DateTimeDigitized


def _entries(tiff: bytes, order: str, offset: int, wanted: set[int]) -> dict[int, tuple[int, int, bytes]]:
    """The wanted entries of the IFD at ``offset``: tag -> (type, count, value bytes)."""
    (count,) = struct.unpack_from(order + "H", tiff, offset)
    found = {}
    for index in range(count):
        entry = offset + 2 + 12 * index
        tag, kind, number = struct.unpack_from(order + "HHI", tiff, entry)
        if tag not in wanted:
            continue
        length = _SIZES.get(kind, 1) * number
        start = entry + 8 if length <= 4 else struct.unpack_from(order + "I", tiff, entry + 8)[0]
        value = tiff[start : start + length]
        if len(value) != length or length > 1 << 20:
            raise ValueError("an entry's value lies outside the block")
        found[tag] = (kind, number, value)
    return found


def _ascii(entry: tuple[int, int, bytes] | None) -> str | None:
    """An ASCII entry as exifread gives it (up to the first NUL, UTF-8)."""
    if entry is None:
        return None
    kind, _, value = entry
    if kind != 2:
        raise ValueError("not ASCII")
    return value.split(b"\x00", 1)[0].decode("utf-8")  # UnicodeDecodeError is a ValueError


def exif_from_tiff(block: bytes) -> tuple[ExifFacts, bytes | None]:
    """The facts ``read_exif`` finds, and the raw XPKeywords value, from an EXIF block ("Exif\\0\\0"
    and a TIFF structure) held in memory. Raises ValueError on anything it does not read exactly as
    exifread does (the caller then asks exifread)."""
    tiff = block[6:] if block.startswith(b"Exif\x00\x00") else block
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    try:
        if order is None or struct.unpack_from(order + "H", tiff, 2)[0] != 42:
            raise ValueError("not TIFF")
        ifd0 = _entries(tiff, order, struct.unpack_from(order + "I", tiff, 4)[0], _IFD0_TAGS)
        sub = {}
        if 0x8769 in ifd0:
            kind, number, value = ifd0[0x8769]
            if kind not in (4, 13) or number != 1:
                raise ValueError("odd EXIF IFD pointer")
            sub = _entries(tiff, order, struct.unpack_from(order + "I", value)[0], _EXIF_TAGS)
    except struct.error as exc:
        raise ValueError(str(exc)) from None
    facts = ExifFacts()
    for text in (_ascii(sub.get(0x9003)), _ascii(sub.get(0x9004)), _ascii(ifd0.get(0x0132))):
        if text is not None and (taken := _parse_date(text)):
            facts.taken_at = taken
            break
    make, model = _ascii(ifd0.get(0x010F)), _ascii(ifd0.get(0x0110))
    facts.camera_make = None if make is None else _text(make)
    facts.camera_model = None if model is None else _text(model)
    if 0x0112 in ifd0:
        kind, number, value = ifd0[0x0112]
        if kind not in (3, 4) or number < 1:
            raise ValueError("odd orientation entry")
        orientation = struct.unpack_from(order + ("H" if kind == 3 else "I"), value)[0]
        facts.orientation = orientation if 1 <= orientation <= 8 else None
    xp = ifd0.get(0x9C9E)
    return facts, None if xp is None else xp[2]


RATING_TAGS = {0x4746: "Rating", 0x4749: "RatingPercent"}  # Windows' stars in IFD0 (exiftool's names)


def exif_ratings(block: bytes) -> dict[str, int]:
    """Windows' EXIF Rating and RatingPercent of an EXIF block, where present (a broken block: none)."""
    tiff = block[6:] if block.startswith(b"Exif\x00\x00") else block
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        return {}
    try:
        entries = _entries(tiff, order, struct.unpack_from(order + "I", tiff, 4)[0], set(RATING_TAGS))
    except (struct.error, ValueError):
        return {}
    found = {}
    for tag, (kind, number, value) in entries.items():
        code = {3: "H", 4: "I", 8: "h", 9: "i"}.get(kind)  # digiKam writes int32s
        if code is not None and number >= 1:
            found[RATING_TAGS[tag]] = struct.unpack_from(order + code, value)[0]
    return found


def camera_label(make: str | None, model: str | None) -> str:
    """The camera as people name it: "Canon EOS R5", not "Canon Canon EOS R5".

    Many makers repeat their name in the model tag (Canon, Nikon's "NIKON D850" under "NIKON
    CORPORATION"); the make is only prefixed when the model does not already start with it.
    """
    make, model = (make or "").strip(), (model or "").strip()
    if not model:
        return make
    brand = make.split(" ")[0].lower() if make else ""
    if not brand or model.lower().startswith(brand):
        return model
    return f"{make} {model}"
