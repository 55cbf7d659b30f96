"""Rotating and mirroring an image by its orientation flag, never by its pixels.

Rotating is the user asking for the file's metadata to change (the house rule: an image file is
rewritten only when asked): JPEG, TIFF, PNG and WebP get their EXIF Orientation written by exiftool,
which rewrites the metadata segments and copies the compressed picture as it is. The write goes to
a copy beside the image; the copy's decoded pixels are compared with the original's and its flag
read back, and only then is it renamed over the original, so a failure leaves the file
byte-identical. RAW files are never written: as digiKam does, the flag goes to the XMP sidecar
(``tiff:Orientation``), as it does for GIF and BMP, which have no EXIF. HEIF is turned by its own
boxes, not by a flag: it is refused.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
from PIL import Image

from joytag_desktop.errors import JoyTagError
from joytag_desktop.files import temporary_beside
from joytag_desktop.media import exiftool
from joytag_desktop.media.exif import read_exif
from joytag_desktop.media.exiftool import ExifToolError
from joytag_desktop.media.imaging import MAX_PIXELS, is_raw_path
from joytag_desktop.media.orientation import TRANSFORMS, UNROTATABLE, compose, sidecar_names, sidecar_orientation
from joytag_desktop.metadata import xmp

_NO_EXIF = frozenset({".gif", ".bmp"})
IN_FILE = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".tif", ".tiff", ".png", ".webp"})
_TIFF = "{http://ns.adobe.com/tiff/1.0/}Orientation"


class OrientationError(JoyTagError):
    """The orientation could not be changed; the file (and its sidecar) are as they were."""


def in_sidecar(path: str | os.PathLike[str]) -> bool:
    """Whether the picture's flag lives in its XMP sidecar (RAW, GIF, BMP), not in the file."""
    return is_raw_path(os.fspath(path)) or os.path.splitext(os.fspath(path))[1].lower() in _NO_EXIF


def stored_orientation(path: Path, own: int | None) -> int | None:
    """The flag a scan stores: the sidecar's for the formats that keep it there, else ``own``
    (what the file says)."""
    if in_sidecar(path):
        turned = sidecar_orientation(path)
        if turned is not None:
            return turned
    return own


def current(path: Path) -> int:
    """The flag the app turns the picture by when it shows it (1 without one)."""
    if in_sidecar(path):
        return stored_orientation(path, read_exif(path).orientation) or 1
    try:
        with Image.open(path) as image:  # EXIF, else the embedded XMP's flag, as exif_transpose reads them
            value = image.getexif().get(0x0112)
    except (OSError, ValueError, SyntaxError) as exc:
        raise OrientationError(f"cannot read the image ({exc})") from None
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def rotate(path: Path, transform: str) -> tuple[int, int]:
    """Turn (``90``, ``180``, ``270`` clockwise) or mirror (``flip``, ``flip-vertical``) the picture
    as shown; returns the flag before and after. Raises OrientationError (nothing changed)."""
    suffix = path.suffix.lower()
    if suffix in UNROTATABLE:
        raise OrientationError("HEIF images are turned by their own boxes, not a flag; not rotated")
    if not in_sidecar(path) and suffix not in IN_FILE:
        raise OrientationError(f"rotating {suffix or 'this'} files is not supported")
    try:
        info = os.stat(path)
    except OSError as exc:
        raise OrientationError(exc.strerror or str(exc)) from None
    if not stat.S_ISREG(info.st_mode):
        raise OrientationError("not a regular file")
    before = current(path)
    after = compose(before, transform)
    if in_sidecar(path):
        write_sidecar(path, after)
    else:
        write_in_file(path, after, transform, info)
    return before, after


# --- in the file (exiftool) ---------------------------------------------------------------


def _decoded(path: Path) -> tuple[str, bool, np.ndarray]:
    """The picture as Pillow decodes it (mode, whether already turned by the flag, pixels): stored
    pixels, except for a TIFF, which Pillow turns by its flag as it opens it."""
    with Image.open(path) as image:
        if image.size[0] * image.size[1] > MAX_PIXELS:
            raise OrientationError("image too large to check after writing; not rotated")
        image.load()
        return image.mode, image.format == "TIFF", np.asarray(image)


def _same_picture(before: tuple[str, bool, np.ndarray], after: tuple[str, bool, np.ndarray], transform: str) -> bool:
    """Whether the copy holds the same pixels: equal as stored, or (a TIFF) turned as asked."""
    if before[:2] != after[:2]:
        return False
    wanted = TRANSFORMS[transform](before[2]) if before[1] else before[2]
    return wanted.shape == after[2].shape and np.array_equal(wanted, after[2])


def write_in_file(path: Path, value: int, transform: str, info: os.stat_result | None = None) -> None:
    """Write EXIF Orientation ``value`` (and the embedded XMP's flag, where it has one) into the
    file. The copy must decode to the same stored pixels and read back ``value`` (which turns it as
    ``transform`` of how the file shows it); only then is it renamed over the file. Raises
    OrientationError."""
    info = info or os.stat(path)
    if not info.st_mode & 0o222:
        raise OrientationError("the file is read-only; left unchanged")
    if shutil.which("exiftool") is None:
        raise OrientationError("rotating needs exiftool (Debian/Ubuntu: libimage-exiftool-perl, macOS: brew)")
    try:
        original = _decoded(path)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise OrientationError(f"cannot read the image ({exc})") from None
    arguments = ["-m", "-n", "-overwrite_original", f"-EXIF:Orientation={value}"]
    if _embedded_xmp_flag(path):
        arguments.append(f"-XMP-tiff:Orientation={value}")
    try:
        handle, temporary = temporary_beside(path, suffix=path.suffix)
    except OSError as exc:
        raise OrientationError(f"cannot write in {path.parent} ({exc.strerror or exc})") from None
    os.close(handle)
    work = Path(temporary)
    try:
        shutil.copy2(path, work)
        try:
            result = exiftool.run([*arguments, "--", str(work)], timeout=120)
        except ExifToolError as exc:
            raise OrientationError(str(exc)) from None
        if result.returncode != 0:
            reason = (result.stderr or result.stdout).strip().splitlines()
            raise OrientationError(f"exiftool could not write: {reason[0] if reason else 'no reason given'}")
        try:
            written = _decoded(work)
            flag = current(work)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise OrientationError(f"the rotated copy does not read back ({exc}); the file was not changed") from None
        if not _same_picture(original, written, transform):
            raise OrientationError("the pixels would have changed; the file was not changed")
        if flag != value:
            raise OrientationError("the orientation did not read back as written; the file was not changed")
        os.replace(work, path)
    except OSError as exc:
        raise OrientationError(f"cannot write ({exc.strerror or exc})") from None
    finally:
        work.unlink(missing_ok=True)


def _embedded_xmp_flag(path: Path) -> bool:
    """Whether the file's XMP holds tiff:Orientation (kept equal to the EXIF flag, as readers differ
    on which one wins)."""
    try:
        with Image.open(path) as image:
            packet = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp") or b""
    except (OSError, ValueError, SyntaxError):
        return False
    if isinstance(packet, str):
        packet = packet.encode("utf-8", "replace")
    return b"tiff:Orientation" in packet or (b"ns.adobe.com/tiff/1.0/" in packet and b"Orientation" in packet)


# --- in the sidecar -----------------------------------------------------------------------


def sidecar_path(path: Path) -> Path:
    """The sidecar that holds the flag: the one the image has (as ``media.orientation`` reads them),
    else ``photo.nef.xmp`` (digiKam's naming)."""
    for name in sidecar_names(path):
        if os.path.isfile(name):
            return Path(name)
    return xmp.sidecar_for(path)


def write_sidecar(path: Path, value: int) -> Path:
    """Set tiff:Orientation in the image's XMP sidecar (made if there is none), keeping everything
    else in it. Raises OrientationError; returns the sidecar's path."""
    target = sidecar_path(path)
    try:
        data = xmp.read_limited(target, xmp.MAX_SIDECAR_BYTES, "sidecar") if target.exists() else None
        xmp.atomic_write(target, packet_with_orientation(data, value, str(target)))
    except xmp.SidecarError as exc:
        raise OrientationError(str(exc)) from None
    return target


def packet_with_orientation(data: bytes | None, value: int, source: str = "XMP") -> bytes:
    """The XMP file with tiff:Orientation ``value`` in place of any it had; every other property,
    the prefixes and the encoding kept. Parsed again before it is returned."""
    encoding, text, wrapped = "utf-8", "", True
    if data is None:
        root = xmp.new_packet()
    else:
        encoding = xmp.text_encoding(data)
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise xmp.SidecarError(f"{source}: cannot decode the existing sidecar ({exc.reason})") from None
        root = xmp.parse_packet(data, source)
        wrapped = text.lstrip("\ufeff \r\n\t").startswith(("<?xpacket", "<?xml"))
    for prefix, uri in xmp.NS.items():
        ET.register_namespace(prefix, uri)
    for prefix, uri in re.findall(r'xmlns:([A-Za-z_][\w.-]*)\s*=\s*["\']([^"\']+)["\']', text):
        try:
            ET.register_namespace(prefix, uri)
        except ValueError:  # reserved prefixes such as "xml"
            continue
    rdf_description = f"{{{xmp.NS['rdf']}}}Description"
    descriptions = list(root.iter(rdf_description))
    for description in descriptions:
        description.attrib.pop(_TIFF, None)
        for element in description.findall(_TIFF):
            description.remove(element)
    if not descriptions:
        rdf = root if root.tag == f"{{{xmp.NS['rdf']}}}RDF" else root.find(f".//{{{xmp.NS['rdf']}}}RDF")
        assert rdf is not None  # parse_packet refuses a packet without one
        descriptions = [ET.SubElement(rdf, rdf_description, {f"{{{xmp.NS['rdf']}}}about": ""})]
    descriptions[0].set(_TIFF, str(value))
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    out_text = f"{xmp.XPACKET_BEGIN}{body}{xmp.XPACKET_END}" if wrapped else body + "\n"
    out = out_text.encode("utf-8" if encoding == "utf-8-sig" else encoding)
    if encoding == "utf-8-sig":
        out = b"\xef\xbb\xbf" + out
    check = xmp.parse_packet(out, source)
    values = [d.get(_TIFF) for d in check.iter(rdf_description) if d.get(_TIFF) is not None]
    if values != [str(value)]:
        raise xmp.SidecarError(f"{source}: the orientation would not read back as written; left unchanged")
    return out
