"""Camera RAW files: the JPEG preview the camera embedded, which is what the tagger sees.

LibRaw (through rawpy) finds the preview in every format it knows; exiftool's preview tags are
the fallback for files LibRaw refuses. A full RAW develop happens only when a file carries no
preview at all. RAW files are only ever read.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

from PIL import Image, UnidentifiedImageError

from joytag_desktop.errors import ImageLoadError
from joytag_desktop.media import exiftool

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

log = logging.getLogger(__name__)
_PREVIEW_TAGS = ("JpgFromRaw", "PreviewImage", "OtherImage", "ThumbnailImage")


# libjpeg's warnings, which LibRaw's own JPEG decoding prints without a file name.
_LIBJPEG_WARNING = re.compile(
    rb"^(Corrupt JPEG data|Premature end of JPEG file|Invalid SOS parameters|Inconsistent progression sequence"
    rb"|Warning: unknown JFIF revision|Application transferred too many scanlines|Unsupported marker type)"
)
_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _libraw_quiet(path: Path) -> Iterator[None]:
    """LibRaw writes its complaints ("data corrupted at 1378", "Unexpected end of file") straight
    to the C stderr, beside the app's one-line message. While a rawpy call runs, file descriptor 2
    goes to a temporary file; LibRaw's lines then go to the debug log. fd 2 belongs to the whole
    process, so one call at a time redirects it (a lock: two overlapping redirections would
    restore each other's and lose the terminal; the calls are milliseconds, a develop seconds), and
    whatever else reached fd 2 meanwhile (another thread's message) is written back to it."""
    with _STDERR_LOCK, contextlib.ExitStack() as stack:
        try:
            captured = stack.enter_context(tempfile.TemporaryFile())
            saved = os.dup(2)
        except OSError:  # no fd 2 (a windowed app) or no temporary file: LibRaw's words stay as they were
            saved = None
        if saved is None:
            yield
            return
        stack.callback(os.close, saved)
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sys.stderr.flush()  # the app's own pending words go to the terminal, not the capture
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:  # LibRaw talks most when it fails: sorted out whether or not the call raised
            os.dup2(saved, 2)
            with contextlib.suppress(OSError):
                captured.seek(0)
                _sort_out(captured.read(), path, saved)


def _sort_out(data: bytes, path: Path, terminal: int) -> None:
    """LibRaw's lines (they start with the file's name) and libjpeg's to the debug log, the rest
    back to the terminal."""
    prefix = os.fsencode(path) + b": "
    others = []
    for line in data.splitlines(keepends=True):
        if line.startswith(prefix) or _LIBJPEG_WARNING.match(line):
            log.debug("LibRaw: %s", line.decode("utf-8", "replace").rstrip())
        else:
            others.append(line)
    with contextlib.suppress(OSError):
        if others:
            os.write(terminal, b"".join(others))


def _decodable(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError):
        return None


def _with_rawpy(path: Path) -> bytes | Image.Image | None:
    try:
        import rawpy
    except ImportError:  # pragma: no cover - a declared dependency; exiftool still works without it
        return None
    try:
        with _libraw_quiet(path), rawpy.imread(str(path)) as raw:
            thumb = raw.extract_thumb()
    except (rawpy.LibRawError, OSError, ValueError) as exc:
        log.debug("%s: rawpy found no preview: %s", path, exc)
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        return bytes(thumb.data) if _decodable(bytes(thumb.data)) else None
    # rawpy types ``data`` as bytes or an array; only a JPEG thumbnail's is bytes, a bitmap's is an (h, w, c) array.
    return Image.fromarray(cast("NDArray[np.uint8]", thumb.data))


def _with_exiftool(path: Path) -> bytes | None:
    if shutil.which("exiftool") is None:
        return None
    try:
        result = exiftool.run(["-j", "-b", *(f"-{tag}" for tag in _PREVIEW_TAGS), "--", str(path)], timeout=60)
        record = json.loads(result.stdout)[0]
    except (exiftool.ExifToolError, ValueError, IndexError):
        return None
    best: tuple[int, bytes] | None = None
    for tag in _PREVIEW_TAGS:
        value = record.get(tag)
        if not isinstance(value, str) or not value.startswith("base64:"):
            continue
        data = base64.b64decode(value[len("base64:") :])
        size = _decodable(data)
        if size and (best is None or size[0] * size[1] > best[0]):
            best = (size[0] * size[1], data)
    return best[1] if best else None


def _developed(path: Path) -> Image.Image | None:
    try:
        import rawpy

        with _libraw_quiet(path), rawpy.imread(str(path)) as raw:
            return Image.fromarray(raw.postprocess(half_size=True, use_camera_wb=True))
    except Exception as exc:  # noqa: BLE001 - LibRaw raises many kinds; any of them means "cannot develop"
        log.debug("%s: cannot develop: %s", path, exc)
        return None


def open_raw(path: Path) -> Image.Image:
    """The RAW's embedded preview as a Pillow image (the caller closes it). Raises ImageLoadError."""
    found = _with_rawpy(path)
    if found is None:
        found = _with_exiftool(path)
    if found is None:
        found = _developed(path)
    if found is None:
        raise ImageLoadError("RAW file without a usable embedded preview (and it cannot be developed)")
    image = Image.open(io.BytesIO(found)) if isinstance(found, bytes) else found
    return _oriented(path, image)


def _oriented(path: Path, image: Image.Image) -> Image.Image:
    """Previews often carry no orientation of their own: the RAW's applies to them then. A rotation
    kept in the sidecar (digiKam's way, and this app's) applies whatever the preview says."""
    from joytag_desktop.media.exif import read_exif
    from joytag_desktop.media.orientation import sidecar_orientation, upright

    turned = sidecar_orientation(path)  # RAW files keep a rotation in their sidecar
    if turned is not None:
        image.load()
        shown = upright(image, turned)
        shown = image.copy() if shown is image else shown
        for key in ("exif", "xmp", "XML:com.adobe.xmp"):  # the caller's exif_transpose must not turn it again
            shown.info.pop(key, None)
        shown.getexif().pop(0x0112, None)
        return shown
    try:
        own = image.getexif().get(0x0112)
    except (OSError, ValueError, SyntaxError):
        own = None
    if own not in (None, 1):
        return image  # the caller's exif_transpose turns it
    return upright(image, read_exif(path).orientation or 1)
