"""Thumbnails cached on disk by content hash, so a moved or renamed photo keeps its thumbnail.

Pure PIL (no Qt): the GUI calls ``thumbnail_for`` from worker threads and only loads the
small cached JPEG on its side.

Names are stable across runs (a content hash, or a SHA-256 of path, size and modification time
for a file not hashed), so a thumbnail made once is found again by every later run. The cache is
capped: a thumbnail's modification time records when it was last used. A run walks the cache once
at its first new thumbnail and then counts what it writes; when the count passes the cap, the least
recently used go until the cache is under 90 % of it, so the next walk is a tenth of the cap later.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

from joytag_desktop import paths
from joytag_desktop.media.imaging import open_image

log = logging.getLogger(__name__)
THUMBNAIL_SIZE = 256
CACHE_LIMIT_BYTES = 2 * 1024**3  # about 100,000 grid thumbnails
KEEP_FRACTION = 0.9  # eviction goes below the cap, so the next look does not evict again at once
TOUCH_AFTER_SECONDS = 3600  # a hit marks the thumbnail used at most once an hour (one utime)
STALE_PART_SECONDS = 3600  # a ``.part`` this old was left by a run that stopped mid-write

_estimate_lock = threading.Lock()
_estimated_bytes: int | None = None  # the cache's size as this run counts it; None: not looked yet
_evicting = threading.Lock()


def thumbnails_dir() -> Path:
    folder = paths.data_dir() / "thumbnails"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cached_path(content_hash: str, size: int = THUMBNAIL_SIZE) -> Path:
    return thumbnails_dir() / content_hash[:2] / f"{content_hash}-{size}.jpg"


def path_cached_path(image_path: str | os.PathLike[str], size: int = THUMBNAIL_SIZE) -> Path:
    """Where the thumbnail of a file without a content hash goes: named by its path and by what
    changes when the file does (size, modification time), so an edited file gets a new one."""
    text = os.fspath(image_path)
    try:
        info = os.stat(text)
        version = f"{info.st_size}:{info.st_mtime_ns}"
    except OSError:
        version = "missing"  # open_image says why below
    digest = hashlib.sha256(f"{text}\0{version}".encode("utf-8", "surrogateescape")).hexdigest()[:40]
    return thumbnails_dir() / "by-path" / digest[:2] / f"{digest}-{size}.jpg"


def thumbnail_for(image_path: str | os.PathLike[str], content_hash: str | None, size: int = THUMBNAIL_SIZE) -> Path:
    """The cached thumbnail of an image, made on first use. Raises ImageLoadError for bad images."""
    # Not hashed (unreadable at scan time): cached by path and version.
    target = cached_path(content_hash, size) if content_hash else path_cached_path(image_path, size)
    try:
        used = target.stat().st_mtime
    except FileNotFoundError:
        pass
    else:
        if time.time() - used > TOUCH_AFTER_SECONDS:
            with contextlib.suppress(OSError):  # a read-only cache still serves
                os.utime(target)
        return target
    image = open_image(Path(image_path), draft_size=size)
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a half-written thumbnail is never read.
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            image.save(out, "JPEG", quality=85)
            written = out.tell()
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _wrote(written)
    return target


def _wrote(size: int) -> None:
    """Count a new thumbnail; walk the cache and evict only when this run has not looked at it yet
    or the count says it is over the cap (after an eviction, that is a tenth of the cap later)."""
    global _estimated_bytes
    with _estimate_lock:
        due = _estimated_bytes is None or _estimated_bytes + size > CACHE_LIMIT_BYTES
        if _estimated_bytes is not None:
            _estimated_bytes += size
    if due and _evicting.acquire(blocking=False):  # another thread already evicts: that will do
        try:
            total = evict()
            with _estimate_lock:  # not above the mark even if some could not go: no walk per thumbnail
                _estimated_bytes = min(total, int(CACHE_LIMIT_BYTES * KEEP_FRACTION))
        finally:
            _evicting.release()


def evict(limit: int | None = None) -> int:
    """Delete the least recently used thumbnails until the cache is under ``KEEP_FRACTION`` of
    ``limit`` (``CACHE_LIMIT_BYTES``) when it is over ``limit``; the bytes it holds afterwards."""
    limit = CACHE_LIMIT_BYTES if limit is None else limit
    entries: list[tuple[float, int, str]] = []
    total = 0
    now = time.time()
    for entry in _files(thumbnails_dir()):
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue  # removed meanwhile (another window evicting)
        if entry.name.endswith(".part"):
            if now - info.st_mtime > STALE_PART_SECONDS:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
            continue
        entries.append((info.st_mtime, info.st_size, entry.path))
        total += info.st_size
    if total <= limit:
        return total
    entries.sort()
    keep = int(limit * KEEP_FRACTION)
    removed = 0
    for _, size, path in entries:
        if total <= keep:
            break
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass  # another window evicted it
        except OSError:
            continue  # still there: still counted
        else:
            removed += 1
        total -= size
    log.info("thumbnail cache over %d bytes: removed the %d least recently used", limit, removed)
    return total


def _files(folder: Path) -> list[os.DirEntry[str]]:
    found: list[os.DirEntry[str]] = []
    pending = [os.fspath(folder)]
    while pending:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        found.append(entry)
        except OSError:
            continue
    return found


def forget(content_hash: str) -> None:
    """Drop an image's cached thumbnails (every size): its picture is shown otherwise now (a
    rotation kept in its sidecar leaves the file, and so the name, as it was)."""
    folder = thumbnails_dir() / content_hash[:2]
    for cached in folder.glob(f"{content_hash}-*.jpg"):
        with contextlib.suppress(OSError):
            cached.unlink()
