"""A file's two hashes, from one read: the whole file's, and the picture's alone.

``content_hash`` (SHA-256 of every byte) names exact copies. ``picture_hash`` (SHA-256 of the bytes
that decide the decoded pixels) stays the same when another program only edits metadata (a rating,
a keyword), so such an edit need not retag the image. What is left out, per format:

- JPEG: APP1..APP13, APP15 and COM segments before the first scan (EXIF, XMP, ICC, IPTC,
  comments). APP0 (JFIF) and APP14 (Adobe) stay: they decide how the colour components are
  read (YCbCr or RGB, inverted CMYK). From the first SOS on, everything is kept (tables between
  progressive scans, trailers), as are segments the parser does not know.
- PNG: tEXt, zTXt, iTXt, eXIf and tIME chunks; the text chunks that hold EXIF as ImageMagick writes
  it ("Raw profile type exif", which Pillow reads) and compressed XMP stay.
- WebP: EXIF and XMP chunks, the VP8X header's metadata flags, and a VP8X header with no other
  flag (no alpha, animation or ICC: what a writer adds to a simple file to say metadata follows).

The EXIF and XMP orientation (the taggers turn the picture upright by it) is kept: its values go
into the picture hash. A rotation (``rotate``, or another program's) is a new picture for the taggers,
which see a turned picture differently: the image is tagged again, its hand-made tags kept. Any
other format, and a file whose structure is not understood, has no picture hash (None): every
change of its bytes counts as a new picture, the safe side.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
from dataclasses import dataclass, field

from joytag_desktop.files import open_regular

_BUFFER = 1 << 20
_IN_MEMORY = 16 << 20  # files up to this size are read with one call and walked in memory
_MAX_METADATA = 16 << 20  # a larger metadata block is kept in the picture hash, never held in memory
_XMP_ORIENTATION = re.compile(rb"tiff:Orientation\s*(?:=\s*[\"']|>)\s*([0-9]+)")
_JPEG_METADATA = {*range(0xE1, 0xEE), 0xEF, 0xFE}  # APP1..APP13, APP15, COM
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0..7: no length
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_TEXT = {b"tEXt", b"zTXt", b"iTXt"}
_PNG_METADATA = {*_PNG_TEXT, b"eXIf", b"tIME"}
_XMP_JPEG = b"http://ns.adobe.com/xap/1.0/\x00"
_VP8X_METADATA_FLAGS = 0x04 | 0x08  # XMP, EXIF present
_JPEG_FRAMES = {*range(0xC0, 0xD0)} - {0xC4, 0xC8, 0xCC}  # SOF0..SOF15 (not DHT, JPG, DAC)
_PHOTOSHOP = b"Photoshop 3.0\x00"


class _Structure(Exception):
    """The file does not have the structure its first bytes promise: no picture hash."""


@dataclass
class JpegParts:
    """What the hashing walk of a JPEG saw on its way, so a scan need not open the file again: the
    frame's size, and the metadata segments the library reads facts and keywords from."""

    width: int | None = None
    height: int | None = None
    layers: int = 0  # colour components of the frame
    exif: list[bytes] = field(default_factory=list)  # APP1 Exif blocks ("Exif\0\0" and TIFF)
    xmp: bytes | None = None  # the last APP1 XMP packet (as Pillow keeps it)
    photoshop: bool = False  # APP13 Photoshop resources (IPTC) present
    multi_picture: bool = False  # APP2 MPF: Pillow opens it as MPO
    oversized: bool = False  # a metadata segment too large to hold: not seen here


class _Tee:
    """Reads a file once: every byte goes to the content hash, the picture's bytes also to the picture hash.

    A small file (most photos) is read whole with one call and walked in memory; a larger one streams."""

    def __init__(self, handle: io.BufferedReader, size: int) -> None:
        self.handle = handle
        self.content = hashlib.sha256()
        self.picture = hashlib.sha256()
        self.orientation: list[bytes] = []  # orientation values found in metadata that is left out
        self.jpeg = JpegParts()
        self._data: memoryview | None = None
        self._at = 0
        if size <= _IN_MEMORY:
            data = handle.read()  # to the end, as streaming would: a file that grew meanwhile too
            self.content.update(data)
            self._data = memoryview(data)
        else:
            self._buffer = memoryview(bytearray(_BUFFER))

    def peek(self, size: int) -> bytes:
        """The first bytes, before any is read."""
        return bytes(self._data[:size]) if self._data is not None else self.handle.peek(size)[:size]

    def read_some(self, size: int) -> bytes:
        """Up to ``size`` bytes (fewer at the end of the file; content hash only)."""
        if self._data is None:
            data = self.handle.read(size)
            self.content.update(data)
            return data
        data = bytes(self._data[self._at : self._at + size])
        self._at += len(data)
        return data

    def read(self, size: int) -> bytes:
        """Exactly ``size`` bytes (content hash only; ``keep`` adds them to the picture)."""
        data = self.read_some(size)
        if len(data) != size:
            raise _Structure("truncated")
        return data

    def keep(self, data: bytes) -> None:
        self.picture.update(data)

    def copy(self, size: int | None, picture: bool = True) -> None:
        """Stream ``size`` bytes (None: up to the end of the file) into the hashes."""
        if self._data is not None:
            end = len(self._data) if size is None else self._at + size
            if picture:
                self.picture.update(self._data[self._at : end])
            self._at = min(end, len(self._data))
            if end > len(self._data):
                raise _Structure("truncated")
            return
        while size is None or size > 0:
            want = len(self._buffer) if size is None else min(len(self._buffer), size)
            got = self.handle.readinto(self._buffer[:want])
            if not got:
                if size is not None:
                    raise _Structure("truncated")
                return
            chunk = self._buffer[:got]
            self.content.update(chunk)
            if picture:
                self.picture.update(chunk)
            if size is not None:
                size -= got

    def finish(self) -> None:
        """Drain what is left into the content hash alone (after a structure error)."""
        if self._data is None:
            self.copy(None, picture=False)

    def picture_digest(self) -> str:
        self.picture.update(b"\x00orientation:" + b";".join(self.orientation))
        return self.picture.hexdigest()


def exif_orientation(tiff: bytes) -> bytes:
    """The Orientation value of EXIF (a TIFF structure, "Exif\\0\\0" prefix allowed) as a token;
    an unreadable block returns its bytes whole, so any change of it counts."""
    if tiff.startswith(b"Exif\x00\x00"):
        tiff = tiff[6:]
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    try:
        if order is None or struct.unpack_from(order + "H", tiff, 2)[0] != 42:
            raise ValueError("not TIFF")
        offset = struct.unpack_from(order + "I", tiff, 4)[0]
        (count,) = struct.unpack_from(order + "H", tiff, offset)
        for index in range(count):
            tag, kind = struct.unpack_from(order + "HH", tiff, offset + 2 + 12 * index)
            if tag == 0x0112:
                entry = offset + 2 + 12 * index
                if kind == 3:
                    return b"exif=%d" % struct.unpack_from(order + "H", tiff, entry + 8)[0]
                # Another type (LONG, seen in the wild): Pillow still applies it; the whole entry counts.
                return b"exif-entry=" + tiff[entry : entry + 12].hex().encode()
    except (ValueError, struct.error):
        return b"exif-bytes=" + hashlib.sha256(tiff).hexdigest().encode()
    return b""


def _xmp_orientation(xmp: bytes) -> bytes:
    return b"xmp=" + b",".join(_XMP_ORIENTATION.findall(xmp)) if b"tiff:Orientation" in xmp else b""


def _note(tee: _Tee, token: bytes) -> None:
    if token:
        tee.orientation.append(token)


def _jpeg(tee: _Tee) -> None:
    tee.keep(tee.read(2))  # SOI
    while True:
        head = tee.read(2)
        if head[0] != 0xFF:
            raise _Structure("not a JPEG marker")
        marker = head[1]
        while marker == 0xFF:  # fill bytes
            marker = tee.read(1)[0]
        if marker in _JPEG_STANDALONE:
            tee.keep(bytes((0xFF, marker)))
            continue
        if marker == 0xD9:  # EOI before any scan
            tee.keep(b"\xff\xd9")
            tee.copy(None)
            return
        if marker in (0x00, 0xD8):
            raise _Structure("misplaced JPEG marker")
        length_bytes = tee.read(2)
        (length,) = struct.unpack(">H", length_bytes)
        if length < 2:
            raise _Structure("bad JPEG segment length")
        size = length - 2
        if marker in _JPEG_METADATA and size <= _MAX_METADATA:
            data = tee.read(size)
            if marker == 0xE1 and data.startswith(b"Exif\x00\x00"):
                _note(tee, exif_orientation(data))
                tee.jpeg.exif.append(data)
            elif marker == 0xE1 and data.startswith(_XMP_JPEG):
                _note(tee, _xmp_orientation(data))
                tee.jpeg.xmp = data[len(_XMP_JPEG) :]
            elif marker == 0xED and data.startswith(_PHOTOSHOP):
                tee.jpeg.photoshop = True
            elif marker == 0xE2 and data.startswith(b"MPF\x00"):
                tee.jpeg.multi_picture = True
            continue
        if marker in _JPEG_METADATA:
            tee.jpeg.oversized = True
        tee.keep(bytes((0xFF, marker)) + length_bytes)
        if marker in _JPEG_FRAMES and tee.jpeg.width is None and size >= 6:
            frame = tee.read(size)
            tee.keep(frame)
            tee.jpeg.height, tee.jpeg.width, tee.jpeg.layers = struct.unpack_from(">HHB", frame, 1)
            continue
        tee.copy(size)
        if marker == 0xDA:  # the first scan: the rest of the file is picture
            tee.copy(None)
            return


def _png_text_left_out(kind: bytes, data: bytes) -> bool:
    """Whether a text chunk is metadata only. Pillow reads EXIF out of "Raw profile type exif" text and
    the orientation out of XMP: those stay in the picture unless readable here."""
    keyword, _, rest = data.partition(b"\x00")
    if keyword in (b"Raw profile type exif", b"Raw profile type APP1"):
        return False
    if keyword == b"XML:com.adobe.xmp":
        if kind == b"iTXt" and rest[:1] == b"\x00":  # uncompressed
            return True
        return kind == b"tEXt"
    return True


def _png(tee: _Tee) -> None:
    tee.keep(tee.read(8))  # the signature
    while True:
        head = tee.read(8)
        size, kind = struct.unpack(">I4s", head)
        if kind in _PNG_METADATA and size <= _MAX_METADATA:
            data = tee.read(size)
            crc = tee.read(4)
            if kind == b"eXIf":
                _note(tee, exif_orientation(data))
                continue
            if kind != b"tIME" and not _png_text_left_out(kind, data):
                tee.keep(head + data + crc)
                continue
            if kind != b"tIME":
                _note(tee, _xmp_orientation(data))
            continue
        tee.keep(head)
        tee.copy(size + 4)
        if kind == b"IEND":
            tee.copy(None)
            return


def _webp(tee: _Tee) -> None:
    header = tee.read(12)
    tee.keep(header[:4] + header[8:])  # not the RIFF size: it changes with the metadata
    while True:
        head = tee.read_some(8)
        if not head:
            return
        if len(head) != 8:
            raise _Structure("truncated")
        kind, size = struct.unpack("<4sI", head)
        padded = size + (size & 1)
        if kind in (b"EXIF", b"XMP ") and padded <= _MAX_METADATA:
            data = tee.read(padded)[:size]
            _note(tee, exif_orientation(data) if kind == b"EXIF" else _xmp_orientation(data))
            continue
        if kind == b"VP8X" and padded == 10:
            data = tee.read(10)
            # Flags other than "has EXIF/XMP" (alpha, animation, ICC) change what is decoded: kept, with
            # the canvas. A header with none of them is what exiftool adds to a simple WebP: left out.
            if data[0] & ~_VP8X_METADATA_FLAGS:
                tee.keep(head + bytes((data[0] & ~_VP8X_METADATA_FLAGS,)) + data[1:])
            continue
        tee.keep(head)
        tee.copy(padded)


def hash_file_and_picture(path: str | os.PathLike[str]) -> tuple[str, str | None]:
    """(content hash, picture hash) of a regular file, read once; the picture hash is None for formats
    (and broken files) whose metadata cannot be told apart from the picture."""
    content, picture, _ = hash_file_and_parts(path)
    return content, picture


def hash_file_and_parts(path: str | os.PathLike[str]) -> tuple[str, str | None, JpegParts | None]:
    """``hash_file_and_picture``, with what the walk saw of a JPEG whose structure it read to the
    first scan (None for any other file)."""
    with open_regular(path) as handle:
        tee = _Tee(handle, os.fstat(handle.fileno()).st_size)
        start = tee.peek(12)
        reader = None
        if start[:3] == b"\xff\xd8\xff":
            reader = _jpeg
        elif start[:8] == _PNG_SIGNATURE:
            reader = _png
        elif start[:4] == b"RIFF" and start[8:12] == b"WEBP":
            reader = _webp
        picture = None
        try:
            if reader is not None:
                reader(tee)
                picture = tee.picture_digest()
        except _Structure:
            pass
        tee.finish()
        parts = tee.jpeg if reader is _jpeg and picture is not None else None
        return tee.content.hexdigest(), picture, parts
