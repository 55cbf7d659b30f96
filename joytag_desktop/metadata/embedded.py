"""Keywords inside image files: read with Pillow, written with exiftool.

Writing is opt-in. exiftool rewrites only the metadata segments, never the pixels; the file
is read back after writing to verify, and a backup (``photo.jpg_original``) is kept if asked.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path

from PIL import Image

from joytag_desktop.errors import JoyTagError
from joytag_desktop.metadata.xmp import Keywords, SidecarError, read_keywords_from_packet

log = logging.getLogger(__name__)
WRITABLE = {".jpg", ".jpeg", ".tif", ".tiff", ".png", ".webp"}
IPTC_WRITABLE = {".jpg", ".jpeg", ".tif", ".tiff"}


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


def read_embedded(path: Path) -> tuple[Keywords | None, list[str], list[str]]:
    """(embedded XMP keywords, IPTC Keywords, EXIF XPKeywords); missing ones are None or empty."""
    xmp: Keywords | None = None
    iptc: list[str] = []
    xp: list[str] = []
    try:
        with Image.open(path) as image:
            packet = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
            if packet:
                try:
                    xmp = read_keywords_from_packet(packet, f"{path} (embedded XMP)")
                except SidecarError:
                    xmp = None
            if image.format in ("JPEG", "TIFF"):
                from PIL import IptcImagePlugin

                info = IptcImagePlugin.getiptcinfo(image) or {}
                raw = info.get((2, 25))
                if raw is not None:
                    values = raw if isinstance(raw, list) else [raw]
                    iptc = [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v) for v in values]
            exif = image.getexif()
            if 0x9C9E in exif:
                xp = [k.strip() for k in _decode_xp(exif[0x9C9E]).split(";") if k.strip()]
    except (OSError, ValueError, SyntaxError) as exc:
        # Keywords are a bonus: an odd metadata block must not make the image unreadable.
        log.debug("no embedded keywords from %s: %s", path, exc)

    return xmp, iptc, xp


def embedded_keywords(path: Path) -> list[str]:
    """Keywords in digiKam's precedence: XMP (TagsList, hierarchical, subject), then IPTC, then XPKeywords."""
    xmp, iptc, xp = read_embedded(path)
    if xmp is not None and xmp.leaves():
        return xmp.leaves()
    return list(dict.fromkeys(iptc or xp))


def _run(arguments: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([exiftool_path(), *arguments], capture_output=True, text=True, timeout=120, encoding="utf-8")


def read_with_exiftool(path: Path) -> tuple[list[str], list[str]]:
    """(XMP dc:subject, IPTC Keywords) as exiftool reads them."""
    result = _run(["-j", "-charset", "iptc=utf8", "-XMP-dc:Subject", "-IPTC:Keywords", "--", str(path)])
    if result.returncode != 0:
        raise EmbeddedError(f"{path}: exiftool cannot read it: {result.stderr.strip()}")
    record = json.loads(result.stdout)[0]

    def as_list(value: object) -> list[str]:
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    return as_list(record.get("Subject")), as_list(record.get("Keywords"))


def write_embedded(path: Path, tags: list[str], remove: set[str], keep_backup: bool = False) -> list[str]:
    """Merge keywords into XMP dc:subject (and IPTC Keywords where the format has IPTC), verify,
    and return the final keyword list. Raises EmbeddedError."""
    suffix = path.suffix.lower()
    if suffix not in WRITABLE:
        raise EmbeddedError(f"{path}: embedded keywords are written to JPEG, TIFF, PNG and WebP only")
    subject, iptc = read_with_exiftool(path)
    remove = remove - set(tags)
    final = list(dict.fromkeys([*(k for k in subject if k not in remove), *tags]))
    final_iptc = list(dict.fromkeys([*(k for k in iptc if k not in remove), *tags]))
    arguments = ["-charset", "iptc=utf8", "-P", "-m"]
    if not keep_backup:
        arguments.append("-overwrite_original")
    arguments += ["-XMP-dc:Subject="] + [f"-XMP-dc:Subject={k}" for k in final]
    if suffix in IPTC_WRITABLE:
        arguments += ["-IPTC:CodedCharacterSet=UTF8", "-IPTC:Keywords="]
        arguments += [f"-IPTC:Keywords={k}" for k in final_iptc]
    result = _run([*arguments, "--", str(path)])
    if result.returncode != 0:
        raise EmbeddedError(f"{path}: exiftool could not write: {(result.stderr or result.stdout).strip()}")
    written_subject, written_iptc = read_with_exiftool(path)
    if written_subject != final or (suffix in IPTC_WRITABLE and written_iptc != final_iptc):
        raise EmbeddedError(f"{path}: the keywords read back differ from those written")
    return final
