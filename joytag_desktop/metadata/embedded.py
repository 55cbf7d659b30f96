"""Keywords inside image files: read with Pillow (scans), read and written with exiftool (exports).

Writing is opt-in. exiftool rewrites only the metadata segments, never the pixels. The write goes
to a copy beside the image, is read back and checked, and only then renamed over the original,
so a failure leaves the image byte-identical. RAW files are never written (sidecars only). Every
exiftool command goes to the run's one exiftool process (``media.exiftool``).

IPTC text is decoded as its CodedCharacterSet (1:90) says; undeclared text is tried as UTF-8,
then read as Latin-1 (cp1252), exiftool's rule. When the app writes IPTC keywords into a block
that was Latin-1, the whole block is converted to UTF-8 and declared so, never mixed.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
from pathlib import Path

from PIL import Image, ImageFile

from joytag_desktop.errors import ImageLoadError, JoyTagError
from joytag_desktop.files import temporary_beside
from joytag_desktop.media import exiftool
from joytag_desktop.media.exif import RATING_TAGS, exif_ratings
from joytag_desktop.media.exiftool import ExifToolError, ExifToolResult
from joytag_desktop.media.imaging import is_raw_path, open_pillow
from joytag_desktop.metadata.acdsee import categories_xml, empty_branches, parse_categories
from joytag_desktop.metadata.keywords import Properties, clean, empty_properties, normalise
from joytag_desktop.metadata.marks import (
    DT_COLORS,
    EXIF_FIELDS,
    MARKS,
    MS_RATING,
    XMP_FIELDS,
    from_entries,
    to_entries,
)
from joytag_desktop.metadata.xmp import SidecarError, read_packet_properties

log = logging.getLogger(__name__)
WRITABLE = {".jpg", ".jpeg", ".tif", ".tiff", ".png", ".webp"}
IPTC_WRITABLE = {".jpg", ".jpeg", ".tif", ".tiff"}
UTF8_MARKER = b"\x1b%G"  # IPTC 1:90 CodedCharacterSet value for UTF-8


class EmbeddedError(JoyTagError):
    """Embedded metadata could not be written or verified."""


def exiftool_path() -> str:
    found = shutil.which("exiftool")
    if found is None:
        raise EmbeddedError(
            "writing embedded keywords needs exiftool (Debian/Ubuntu: `sudo apt install libimage-exiftool-perl`, "
            "macOS: `brew install exiftool`, Windows: exiftool.org)"
        )
    return found


def _decode_xp(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-16-le", errors="replace").rstrip("\x00")
    if isinstance(value, (tuple, list)):
        return bytes(value).decode("utf-16-le", errors="replace").rstrip("\x00")
    return str(value)


def iptc_charset(info: dict) -> str:
    """``utf8`` or ``latin`` for a Pillow IPTC dict ((record, dataset) -> bytes or list of bytes)."""
    declared = info.get((1, 90))
    if isinstance(declared, bytes) and declared.startswith(UTF8_MARKER):
        return "utf8"
    for key, value in info.items():
        if key[0] != 2:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, bytes):
                try:
                    item.decode("utf-8")
                except UnicodeDecodeError:
                    return "latin"
    return "utf8"


def decode_iptc(value: bytes, charset: str) -> str:
    return value.decode("utf-8" if charset == "utf8" else "cp1252", errors="replace")


def _iptc_info(image: Image.Image) -> dict:
    from PIL import IptcImagePlugin

    if not isinstance(image, ImageFile.ImageFile):  # an image made in memory (a turned preview) has no IPTC
        return {}
    return IptcImagePlugin.getiptcinfo(image) or {}


def read_embedded(path: Path) -> Properties | None:
    """Keyword properties inside an image (XMP, IPTC, Windows' XPKeywords), or None when the file
    has none. Keywords are a bonus: an odd block never fails a scan.

    RAW files have none here: their keywords live in sidecars, and what Pillow would open is the
    embedded preview (or nothing at all)."""
    if is_raw_path(path):
        return None
    props = empty_properties()
    try:
        with open_pillow(path) as image:
            packet = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
            _add_xmp(props, packet, path)
            if image.format in ("JPEG", "TIFF"):
                info = _iptc_info(image)
                raw = info.get((2, 25))
                if raw is not None:
                    charset = iptc_charset(info)
                    values = raw if isinstance(raw, list) else [raw]
                    props["iptc"] = [decode_iptc(v, charset) if isinstance(v, bytes) else str(v) for v in values]
            exif = image.getexif()
            if 0x9C9E in exif:
                props["xp"] = split_xp(_decode_xp(exif[0x9C9E]))
            _add_exif_ratings(props, {name: exif[tag] for tag, name in RATING_TAGS.items() if tag in exif})
    except (OSError, ValueError, SyntaxError, ImageLoadError) as exc:
        log.debug("no embedded keywords from %s: %s", path, exc)
        return None
    return _found(props)


def _found(props: Properties) -> Properties | None:
    """The keyword properties tidied, the raw marks kept beside them; None when the file has neither."""
    marks = props.get(MARKS, [])
    props = normalise(props)
    if marks:
        props[MARKS] = marks
    return props if any(props.values()) else None


def _add_exif_ratings(props: Properties, ratings: dict[str, object]) -> None:
    """EXIF's Rating/RatingPercent beside the XMP marks (``metadata.marks``: ``EXIF:Rating``…)."""
    if ratings:
        raw = from_entries(props.get(MARKS))
        raw.update({f"EXIF:{name}": str(value) for name, value in ratings.items()})
        props[MARKS] = to_entries(raw)


def embedded_from_parts(
    path: Path | str, xmp: bytes | None, xp: bytes | None, exif: bytes | None = None
) -> Properties | None:
    """``read_embedded`` of a JPEG without IPTC whose XMP packet, raw XPKeywords value and EXIF block
    a scan already holds (``media.hashing.JpegParts``): the file is not opened again."""
    ratings: dict[str, object] = dict(exif_ratings(exif)) if exif else {}
    if not xmp and xp is None and not ratings:
        return None
    props = empty_properties()
    _add_xmp(props, xmp, path)
    if xp is not None:
        props["xp"] = split_xp(_decode_xp(xp))
    _add_exif_ratings(props, ratings)
    return _found(props)


def _add_xmp(props: Properties, packet: bytes | str | None, path: Path | str) -> None:
    if packet:
        try:
            props.update({k: v for k, v in read_packet_properties(packet).items() if k != "iptc"})
        except SidecarError as exc:
            log.debug("%s: embedded XMP ignored: %s", path, exc)


def split_xp(value: str) -> list[str]:
    """XPKeywords as Windows writes it: one UTF-16 string, keywords separated by ``;``."""
    return [k.strip() for k in value.split(";") if k.strip()]


def _run(arguments: list[str]) -> ExifToolResult:
    """One command in the run's shared exiftool process (started once, not once per call)."""
    exiftool_path()
    try:
        return exiftool.run(arguments, timeout=120)
    except ExifToolError as exc:
        raise EmbeddedError(str(exc)) from None


def file_iptc_charset(path: Path) -> str:
    try:
        with open_pillow(path) as image:
            return iptc_charset(_iptc_info(image)) if image.format in ("JPEG", "TIFF") else "utf8"
    except (OSError, ValueError, SyntaxError):
        return "utf8"


def has_iptc_digest(path: Path) -> bool:
    """Whether the image carries Photoshop's IPTCDigest (resource 0x0425): Adobe programs distrust
    IPTC whose digest is stale, so a write that changes IPTC must renew it."""
    from PIL import TiffImagePlugin

    try:
        with open_pillow(path) as image:
            if image.format == "JPEG":
                return 0x0425 in (image.info.get("photoshop") or {})
            if image.format == "TIFF" and isinstance(image, TiffImagePlugin.TiffImageFile):
                return b"8BIM\x04\x25" in bytes(image.tag_v2.get(34377) or b"")
    except (OSError, ValueError, SyntaxError, ImageLoadError):
        return False
    return False


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def read_with_exiftool(path: Path, charset: str | None = None) -> Properties:
    """The keyword properties exactly as exiftool reads them (what digiKam and Lightroom see)."""
    charset = charset or file_iptc_charset(path)
    result = _run(
        [
            "-j",
            "-charset",
            f"iptc={charset}",
            "-XMP-dc:Subject",
            "-XMP-lr:HierarchicalSubject",
            "-XMP-digiKam:TagsList",
            "-IPTC:Keywords",
            "-XMP-microsoft:LastKeywordXMP",
            "-XMP-mediapro:CatalogSets",
            "-XMP-acdsee:Categories",
            "-EXIF:XPKeywords",
            "--",
            str(path),
        ]
    )
    if result.returncode != 0:
        raise EmbeddedError(f"exiftool cannot read it: {result.stderr.strip()}")
    # Keywords that look like numbers ("1.50") come unquoted: keep their text as written.
    record = json.loads(result.stdout, parse_float=str, parse_int=str)[0]
    return {
        MARKS: to_entries(read_marks_with_exiftool(path)),
        "subject": [clean(v) for v in _as_list(record.get("Subject"))],
        "hierarchical": [clean(v) for v in _as_list(record.get("HierarchicalSubject"))],
        "tags_list": [clean(v) for v in _as_list(record.get("TagsList"))],
        "iptc": [clean(v) for v in _as_list(record.get("Keywords"))],
        "last_keyword": [clean(v) for v in _as_list(record.get("LastKeywordXMP"))],
        "catalog_sets": [clean(v) for v in _as_list(record.get("CatalogSets"))],
        "acdsee": parse_categories(" ".join(_as_list(record.get("Categories")))),
        "xp": [clean(v) for v in split_xp(";".join(_as_list(record.get("XPKeywords"))))],
    }


# The mark fields (``metadata.marks``) exiftool reads and writes inside images; darktable never
# writes into images (and exiftool has no darktable namespace), so its list is a sidecar's only.
EXIFTOOL_MARKS = {
    "xmp:Rating": "XMP-xmp:Rating",
    MS_RATING: "XMP-microsoft:RatingPercent",
    "EXIF:Rating": "IFD0:Rating",
    "EXIF:RatingPercent": "IFD0:RatingPercent",
    "xmp:Label": "XMP-xmp:Label",
    "digiKam:ColorLabel": "XMP-digiKam:ColorLabel",
    "digiKam:PickLabel": "XMP-digiKam:PickLabel",
}
assert set(EXIFTOOL_MARKS) == {*XMP_FIELDS, *EXIF_FIELDS} - {DT_COLORS}


def read_marks_with_exiftool(path: Path) -> dict[str, str]:
    """The star, label and pick fields inside an image as exiftool reads them (numbers as written)."""
    result = _run(["-j", "-G1", "-n", *(f"-{tag}" for tag in EXIFTOOL_MARKS.values()), "--", str(path)])
    if result.returncode != 0:
        raise EmbeddedError(f"exiftool cannot read it: {result.stderr.strip()}")
    record = json.loads(result.stdout, parse_float=str, parse_int=str)[0]
    return {field: str(record[tag]) for field, tag in EXIFTOOL_MARKS.items() if tag in record}


EXIFTOOL_TAGS = {
    "subject": "XMP-dc:Subject",
    "hierarchical": "XMP-lr:HierarchicalSubject",
    "tags_list": "XMP-digiKam:TagsList",
    "iptc": "IPTC:Keywords",
    "last_keyword": "XMP-microsoft:LastKeywordXMP",
    "catalog_sets": "XMP-mediapro:CatalogSets",
    "acdsee": "XMP-acdsee:Categories",  # one XML text (see ``acdsee``)
    "xp": "EXIF:XPKeywords",  # one string, written joined with ";" as Windows does
}


def _same_number(read: str | None, written: str | None) -> bool:
    """Whether a mark field reads back as written (exiftool gives 4 for 4.0, and so on)."""
    if read is None or written is None:
        return read is written
    try:
        return float(read) == float(written)
    except ValueError:
        return read == written


def check_writable(path: Path) -> None:
    suffix = path.suffix.lower()
    if is_raw_path(path):
        raise EmbeddedError("RAW files are never written; their keywords go to XMP sidecars (export xmp)")
    if suffix not in WRITABLE:
        raise EmbeddedError("embedded keywords are written to JPEG, TIFF, PNG and WebP only")
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise EmbeddedError("not a regular file")
    if not info.st_mode & 0o222:
        raise EmbeddedError("the file is read-only; left unchanged")


def write_embedded(
    path: Path,
    properties: Properties,
    changed: set[str],
    keep_backup: bool = False,
    marks: dict[str, str | None] | None = None,
) -> None:
    """Write the ``changed`` keyword properties and the mark fields ``marks`` (None: removed) into
    the image, verify, and replace it atomically.

    Raises EmbeddedError; on any failure the image is left byte-identical."""
    check_writable(path)
    suffix = path.suffix.lower()
    changed = {p for p in changed if p != "iptc" or suffix in IPTC_WRITABLE}
    marks = {field: text for field, text in (marks or {}).items() if field in EXIFTOOL_MARKS}
    if not changed and not marks:
        return
    charset = file_iptc_charset(path)
    arguments = ["-charset", f"iptc={charset}", "-m", "-overwrite_original"]
    if "iptc" in changed and charset != "utf8":
        # Convert the whole IPTC block from Latin-1 to UTF-8 (exiftool FAQ 10), so City, Caption and
        # the rest stay readable once the block is declared UTF-8.
        arguments += ["-tagsFromFile", "@", "-IPTC:all", "--IPTC:Keywords"]
    for prop in changed:
        tag = EXIFTOOL_TAGS[prop]
        arguments.append(f"-{tag}=")
        if prop == "xp":
            arguments += [f"-{tag}={';'.join(properties[prop])}"] if properties[prop] else []
        elif prop == "acdsee":
            previous = _run(["-s3", f"-{tag}", "--", str(path)]).stdout.strip()
            if properties[prop] or empty_branches(previous):
                arguments.append(f"-{tag}={categories_xml(properties[prop], previous)}")
        else:
            arguments += [f"-{tag}={value}" for value in properties[prop]]
    for field, text in marks.items():
        tag = EXIFTOOL_MARKS[field]
        arguments.append(f"-{tag}=" if text is None else f"-{tag}#={text}")
    if "iptc" in changed:
        arguments.append("-IPTC:CodedCharacterSet=UTF8")
        if has_iptc_digest(path):
            arguments.append("-Photoshop:IPTCDigest=new")  # as exiftool and Adobe's writers renew it
    handle, temporary = temporary_beside(path, suffix=path.suffix)
    os.close(handle)
    work = Path(temporary)
    try:
        shutil.copy2(path, work)
        result = _run([*arguments, "--", str(work)])
        if result.returncode != 0:
            raise EmbeddedError(f"exiftool could not write: {(result.stderr or result.stdout).strip()}")
        written = read_with_exiftool(work, "utf8" if "iptc" in changed else charset)
        for prop in changed:
            if written[prop] != properties[prop]:
                raise EmbeddedError("the keywords read back differ from those written; the file was not changed")
        marks_after = from_entries(written[MARKS])
        if any(_same_number(marks_after.get(field), text) is False for field, text in marks.items()):
            raise EmbeddedError("the stars and labels read back differ from those written; the file was not changed")
        if keep_backup:
            backup = path.with_name(path.name + "_original")
            if not backup.exists():
                shutil.copy2(path, backup)
        os.replace(work, path)
    except OSError as exc:
        raise EmbeddedError(f"cannot write ({exc.strerror or exc})") from None
    finally:
        work.unlink(missing_ok=True)
