"""Thumbnails cached on disk by content hash, so a moved or renamed photo keeps its thumbnail.

Pure PIL (no Qt): the GUI calls ``thumbnail_for`` from worker threads and only loads the
small cached JPEG on its side.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image

from joytag_desktop import paths
from joytag_desktop.imaging import open_image

THUMBNAIL_SIZE = 256


def thumbnails_dir() -> Path:
    folder = paths.data_dir() / "thumbnails"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cached_path(content_hash: str, size: int = THUMBNAIL_SIZE) -> Path:
    return thumbnails_dir() / content_hash[:2] / f"{content_hash}-{size}.jpg"


def thumbnail_for(image_path: str | os.PathLike[str], content_hash: str | None, size: int = THUMBNAIL_SIZE) -> Path:
    """The cached thumbnail of an image, made on first use. Raises ImageLoadError for bad images."""
    if content_hash:
        target = cached_path(content_hash, size)
        if target.exists():
            return target
    else:  # not hashed (unreadable at scan time): cache by path
        target = thumbnails_dir() / "by-path" / f"{abs(hash(os.fspath(image_path)))}-{size}.jpg"
    image = open_image(Path(image_path), draft_size=size)
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a half-written thumbnail is never read.
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            image.save(out, "JPEG", quality=85)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
