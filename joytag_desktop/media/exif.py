"""EXIF facts the library stores (taken-at, camera, orientation), read with exifread."""

from __future__ import annotations

import logging
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
