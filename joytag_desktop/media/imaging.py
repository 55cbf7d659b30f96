"""Opening images safely: one place decides what is an image and why one failed.

Used by the engine, the library scanner and the GUI's thumbnailer.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from joytag_desktop.errors import ImageLoadError
from joytag_desktop.files import NOT_REGULAR, FileTooLargeError, NotRegularFileError, is_regular, read_limited

try:  # HEIC/HEIF support is optional at run time but a declared dependency.
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - depends on the platform's wheel
    HEIF_SUPPORTED = False

# Camera RAW files are tagged from the JPEG preview the camera embedded in them; their keywords go
# to XMP sidecars only, never into the RAW file.
RAW_EXTENSIONS = frozenset(
    {".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".orf", ".rw2", ".raf", ".pef", ".srw"}
)
IMAGE_EXTENSIONS = (
    frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif"})
    | RAW_EXTENSIONS
)
# A 200-megapixel panorama is still a photo; beyond that we refuse rather than exhaust memory.
MAX_PIXELS = 200_000_000
# Files read whole (the CUDA path hands JPEG bytes to the GPU decoder) stop here.
MAX_FILE_BYTES = 2 * 1024**3
ImageFile.LOAD_TRUNCATED_IMAGES = False
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def shrunk_size(width: int, height: int, longest: int) -> tuple[int, int]:
    """(width, height) scaled so the longer side is ``longest``; neither side below 1 pixel."""
    scale = longest / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def lopsided(width: int, height: int) -> bool:
    """Whether padding this image to a square would cost over four times the memory of the image
    itself (side² for a 1x50,000 line is 7.5 GB): such images are shrunk before they are padded."""
    return max(width, height) > 4 * min(width, height)


def is_image_path(path: Path | str) -> bool:
    return os.path.splitext(os.fspath(path))[1].lower() in IMAGE_EXTENSIONS


def is_raw_path(path: Path | str) -> bool:
    return os.path.splitext(os.fspath(path))[1].lower() in RAW_EXTENSIONS


def iter_image_files(root: Path, errors: list[tuple[str, str]] | None = None) -> Iterator[Path]:
    """Supported images below ``root`` in a stable order; hidden folders and files are skipped.

    Symlinked folders are not followed, so a link loop cannot hang the walk. Folders that cannot
    be read (permissions, names over the system's path limit) go to ``errors`` as (path, reason).
    """

    def note(exc: OSError) -> None:
        if errors is not None:
            errors.append((os.fsdecode(exc.filename or root), file_error_message(exc)))

    for dirpath, dirnames, filenames in os.walk(root, onerror=note, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and is_image_path(Path(name)):
                yield Path(dirpath) / name


def expand_paths(paths: Iterable[Path], errors: list[tuple[str, str]] | None = None) -> Iterator[Path]:
    """Files as given (whatever their extension) and the images inside folders; folders that
    cannot be read are reported in ``errors``."""
    for path in paths:
        if path.is_dir():
            yield from iter_image_files(path, errors)
        else:
            yield path


def _to_8bit(image: Image.Image) -> Image.Image:
    """High bit-depth greyscale (16-bit PNG/TIFF, float TIFF) scaled to 8 bits, not clipped."""
    array = np.asarray(image, dtype=np.float64)
    if image.mode == "F":
        low, high = float(np.nanmin(array)), float(np.nanmax(array))
        array = (array - low) / (high - low or 1.0) * 255.0
    else:
        array = array / 257.0
    return Image.fromarray(np.clip(np.nan_to_num(array), 0, 255).astype(np.uint8), mode="L")


def flatten_to_rgb(image: Image.Image) -> Image.Image:
    """Composite any transparency over white and return an RGB image."""
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        image = _to_8bit(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode in ("P", "L", "RGB") and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def file_error_message(exc: OSError) -> str:
    """A short reason for a file that cannot be opened at all."""
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not an image"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, NotRegularFileError):
        return exc.strerror or NOT_REGULAR
    if exc.errno == errno.ENAMETOOLONG:
        return "path too long for the file system (shorten a folder or file name)"
    return exc.strerror or str(exc)


def read_image_bytes(path: Path) -> bytes:
    """The whole file, or ImageLoadError with the same reasons ``open_image`` gives."""
    try:
        data = read_limited(path, MAX_FILE_BYTES, "image file")
    except FileTooLargeError as exc:
        raise ImageLoadError(str(exc)) from None
    except OSError as exc:
        raise ImageLoadError(file_error_message(exc)) from None
    if not data:
        raise ImageLoadError("empty file (0 bytes)")
    return data


def open_pillow(path: Path) -> Image.Image:
    """``Image.open``, with a RAW file's embedded preview standing in for the RAW.

    Raises NotRegularFileError (an OSError) for a FIFO or device: Pillow would block or read forever."""
    if not is_regular(os.stat(path)):
        raise NotRegularFileError(path)
    if is_raw_path(path):
        from joytag_desktop.media.raw import open_raw

        return open_raw(path)
    return Image.open(path)


_KEPT_MODES = ("L", "LA", "RGB", "RGBA", "P")


def eight_bit(image: Image.Image) -> Image.Image:
    """The image in one of the modes every tagger's reference handles (L, LA, RGB, RGBA, P), keeping
    its transparency: high bit depths scaled to 8 bits, CMYK and friends to RGB."""
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        return _to_8bit(image)
    if image.mode in _KEPT_MODES:
        return image
    if image.mode in ("PA", "RGBa"):
        return image.convert("RGBA")
    if image.mode == "La":
        return image.convert("LA")
    if image.mode == "1":
        return image.convert("L")
    return image.convert("RGB")


def _sidecar_turned(path: Path, image: Image.Image) -> Image.Image:
    """A GIF or BMP (no EXIF) turned as its sidecar's tiff:Orientation says (RAW previews are
    turned in ``raw``)."""
    if is_raw_path(path) or path.suffix.lower() not in (".gif", ".bmp"):
        return image
    from joytag_desktop.media.orientation import sidecar_orientation, upright

    turned = sidecar_orientation(path)
    return image if turned is None else upright(image, turned)


def open_image(path: Path, draft_size: int | None = None, flatten: bool = True) -> Image.Image:
    """Decode ``path`` (first frame), apply its EXIF orientation, flatten to RGB.

    With ``flatten=False`` the image keeps its transparency and mode (see ``eight_bit``), for
    taggers whose reference treats alpha its own way.

    ``draft_size`` lets JPEG decoding skip detail (DCT scaling) while keeping the
    shorter side at least that large; the reference path passes ``None``.
    Raises ImageLoadError with a reason a user can read.
    """
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise ImageLoadError("is a folder, not an image")
        if not is_regular(info):  # a FIFO would block Image.open forever, /dev/zero never ends
            raise ImageLoadError(NOT_REGULAR)
        if info.st_size == 0:
            raise ImageLoadError("empty file (0 bytes)")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with open_pillow(path) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ImageLoadError(
                        f"image too large ({width}x{height}, {width * height / 1e6:.0f} megapixels; "
                        f"the limit is {MAX_PIXELS / 1e6:.0f})"
                    )
                if draft_size and image.format == "JPEG":
                    scale = min(width, height) / draft_size
                    if lopsided(width, height):  # a strip is shrunk on its long side anyway
                        scale = max(width, height) / draft_size
                    if scale >= 2:
                        image.draft("RGB", (max(1, int(width / scale)), max(1, int(height / scale))))
                image.load()
                try:
                    oriented = ImageOps.exif_transpose(image)
                except Exception:  # noqa: BLE001 - a broken EXIF block must not lose the picture
                    oriented = image
                oriented = _sidecar_turned(path, oriented)
                if not flatten:
                    kept = eight_bit(oriented)
                    return kept.copy() if kept is image else kept
                return flatten_to_rgb(oriented)
    except ImageLoadError:
        raise
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise ImageLoadError(file_error_message(exc)) from None
    except UnidentifiedImageError:
        raise ImageLoadError("not a recognised image format") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageLoadError(f"image too large (decompression bomb check: {exc})") from None
    except MemoryError:
        raise ImageLoadError("not enough memory to decode the image") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error) as exc:
        message = str(exc) or type(exc).__name__
        if "truncated" in message.lower():
            message = "truncated image data"
        raise ImageLoadError(f"cannot decode image: {message}") from None
