"""Scanning library roots: new, changed, moved and vanished files, incrementally.

A file whose size and mtime are unchanged is not read. A new file is hashed; if an
image with the same content hash went missing, the new path is that image moved or
renamed, and it keeps its tags. A root that is not reachable is *offline*: nothing in
it is marked missing because a drive was unplugged.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from PIL import Image as PILImage
from PIL import UnidentifiedImageError
from sqlalchemy import delete, exists, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from joytag_desktop.errors import ImageLoadError
from joytag_desktop.files import NOT_REGULAR
from joytag_desktop.library import dialect
from joytag_desktop.library import mounts as mounts_
from joytag_desktop.library.schema import Image, ImageTag, Root, Source, Status
from joytag_desktop.media.exif import ExifFacts, exif_from_tiff, read_exif
from joytag_desktop.media.hashing import JpegParts, hash_file_and_parts
from joytag_desktop.media.imaging import MAX_PIXELS, is_image_path, is_raw_path, open_pillow
from joytag_desktop.metadata.embedded import embedded_from_parts, read_embedded
from joytag_desktop.metadata.orientation import stored_orientation
from joytag_desktop.metadata.xmp import find_sidecar

log = logging.getLogger(__name__)
ScanProgress = Callable[[str, int], None]  # (root path, files seen so far)
_WRITE_BATCH = 500
PROGRESS_EVERY = 200  # files between two calls of a scan's progress hook


@dataclass
class ScanReport:
    added: int = 0
    changed: int = 0
    moved: int = 0
    missing: int = 0
    restored: int = 0
    unchanged: int = 0
    keywords: int = 0  # images whose keywords another program changed: set by interchange.keyword_sync.import_found
    offline: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    cancelled: bool = False
    vanished_ids: set[int] = field(default_factory=set, repr=False)
    keyword_sources: list = field(default_factory=list, repr=False)  # KeywordSource: what the scan found to import
    turned_ids: list[int] = field(default_factory=list, repr=False)  # turned in their sidecar by another program

    def merge(self, other: ScanReport) -> None:
        for name in ("added", "changed", "moved", "missing", "restored", "unchanged", "keywords"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.offline += other.offline
        self.errors += other.errors
        self.cancelled = self.cancelled or other.cancelled
        self.vanished_ids |= other.vanished_ids
        self.keyword_sources += other.keyword_sources
        self.turned_ids += other.turned_ids

    def summary(self) -> str:
        parts = [
            f"{self.added} new",
            f"{self.changed} changed",
            f"{self.moved} moved",
            f"{self.missing} missing",
            f"{self.unchanged} unchanged",
        ]
        if self.restored:
            parts.append(f"{self.restored} back")
        if self.keywords:
            parts.append(f"keywords changed on {self.keywords}")
        if self.errors:
            parts.append(f"{len(self.errors)} unreadable")
        if self.offline:
            parts.append(f"{len(self.offline)} root(s) offline")
        return ", ".join(parts)


@dataclass
class FileFacts:
    """What the library records about a file when it is new or changed."""

    size: int
    mtime: float
    content_hash: str
    picture_hash: str | None = None  # None: metadata not told apart from the picture (any change retags)
    width: int | None = None
    height: int | None = None
    format: str | None = None
    error: str | None = None
    exif: dict = field(
        default_factory=lambda: dict.fromkeys(("taken_at", "camera_make", "camera_model", "orientation"))
    )

    keywords: dict | None = None  # embedded keyword properties (XMP, IPTC, XPKeywords), None: none

    def columns(self) -> dict:
        return {
            "size": self.size,
            "mtime": self.mtime,
            "content_hash": self.content_hash,
            "picture_hash": self.picture_hash,
            "width": self.width,
            "height": self.height,
            "format": self.format,
            **self.exif,
        }


def read_facts(path: str, size: int, mtime: float) -> FileFacts:
    """Hash, dimensions, format and EXIF facts. Raises OSError when the file cannot be read at all.

    A JPEG is read once: the hashing walk keeps its frame size and metadata blocks, and the facts
    come from those (Pillow and exifread read it again only where that walk cannot answer)."""
    content_hash, picture_hash, parts = hash_file_and_parts(path)
    facts = FileFacts(size=size, mtime=mtime, content_hash=content_hash, picture_hash=picture_hash)
    if parts is not None and _read_jpeg_parts(facts, path, parts):
        return facts
    flag = None
    try:
        with open_pillow(Path(path)) as image:
            facts.width, facts.height = image.size
            facts.format = os.path.splitext(path)[1][1:].upper() if is_raw_path(path) else image.format
            flag = _pillow_orientation(image)
            if image.format == "TIFF" and flag in (5, 6, 7, 8):  # Pillow gives a turned TIFF's shown size
                facts.width, facts.height = facts.height, facts.width
        if facts.width * facts.height > MAX_PIXELS:
            facts.error = f"image too large ({facts.width}x{facts.height})"
    except ImageLoadError as exc:
        facts.error = str(exc)
    except UnidentifiedImageError:
        facts.error = "not a recognised image format" if size else "empty file (0 bytes)"
    except (OSError, ValueError, SyntaxError, PILImage.DecompressionBombError) as exc:
        facts.error = f"cannot read image header: {exc}"
    if facts.error is None:
        exif = read_exif(Path(path))
        if exif.orientation is None and flag is not None:  # WebP's EXIF, which exifread does not read
            exif.orientation = flag
        exif.orientation = stored_orientation(Path(path), exif.orientation)  # RAW, GIF, BMP: the sidecar's
        facts.exif = {
            "taken_at": exif.taken_at,
            "camera_make": exif.camera_make,
            "camera_model": exif.camera_model,
            "orientation": exif.orientation,
        }
        facts.keywords = read_embedded(Path(path))
    return facts


def _pillow_orientation(image: PILImage.Image) -> int | None:
    """The flag as Pillow reads it (WebP, PNG, TIFF): the library keeps the stored size and the flag."""
    if image.format not in ("WEBP", "PNG", "TIFF"):
        return None
    try:
        flag = image.getexif().get(0x0112)
    except (OSError, ValueError, SyntaxError):
        return None
    return flag if isinstance(flag, int) and 1 <= flag <= 8 else None


def _read_jpeg_parts(facts: FileFacts, path: str, parts: JpegParts) -> bool:
    """Fill ``facts`` from what the hashing walk saw; False where it cannot say all that Pillow and
    exifread would (a RAW's name, an MPO, IPTC, several or oversized EXIF blocks, an odd entry)."""
    if (
        not parts.width
        or not parts.height
        or parts.layers not in (1, 3, 4)  # what Pillow opens
        or parts.multi_picture
        or parts.photoshop
        or parts.oversized
        or len(parts.exif) > 1
        or is_raw_path(path)
    ):
        return False
    exif, xp = ExifFacts(), None
    if parts.exif:
        try:
            exif, xp = exif_from_tiff(parts.exif[0])
        except ValueError:
            return False
    facts.width, facts.height, facts.format = parts.width, parts.height, "JPEG"
    if facts.width * facts.height > MAX_PIXELS:
        facts.error = f"image too large ({facts.width}x{facts.height})"
        return True
    facts.exif = {
        "taken_at": exif.taken_at,
        "camera_make": exif.camera_make,
        "camera_model": exif.camera_model,
        "orientation": exif.orientation,
    }
    facts.keywords = embedded_from_parts(path, parts.xmp, xp, parts.exif[0] if parts.exif else None)
    return True


def _not_a_file(path: str) -> str:
    return NOT_REGULAR if os.path.exists(path) else "broken symbolic link, skipped"


def walk_folders(
    root: str, errors: list[tuple[str, str]], unreadable: set[str]
) -> Iterator[tuple[str, list[os.DirEntry[str]], set[str]]]:
    """Each folder below ``root`` with its image files (hidden entries skipped, symlinked folders
    not followed, so a link loop cannot hang the walk). Folders that cannot be listed go to
    ``unreadable``: their images are not marked missing because of it."""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                children = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            errors.append((folder, exc.strerror or str(exc)))
            unreadable.add(folder)
            continue
        subfolders, files, sidecars = [], [], set()
        for entry in children:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    subfolders.append(entry.path)
                elif is_image_path(Path(entry.name)):
                    if entry.is_file():
                        files.append(entry)
                    else:  # a FIFO, socket, device link or broken link named like an image
                        errors.append((entry.path, _not_a_file(entry.path)))
                elif entry.name.lower().endswith(".xmp"):
                    sidecars.add(entry.name)
            except OSError as exc:
                errors.append((entry.path, exc.strerror or str(exc)))
        yield folder, files, sidecars
        stack.extend(reversed(subfolders))


def root_is_offline(root_path: str, has_images: bool) -> str | None:
    """Why a root cannot be scanned now, or None when it can."""
    if not os.path.exists(root_path):
        return "folder not found (drive disconnected?)"
    if not os.path.isdir(root_path):
        return "not a folder"
    if not os.access(root_path, os.R_OK | os.X_OK):
        return "permission denied"
    if has_images:
        try:
            with os.scandir(root_path) as entries:
                if next(entries, None) is None:
                    return "folder is empty (drive not mounted?)"
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def _valid_text(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_last_folder: tuple = (None, None, None, None)  # (root, directory, mounts, folder): a scan's files come by folder


def location_columns(root_path: str, path: str, mounts: mounts_.MountMap | None = None) -> dict:
    """Columns derived from where a file is: its folder (from the root's name down), name and extension."""
    global _last_folder
    directory = os.path.dirname(path)
    last = _last_folder
    if last[0] == root_path and last[1] == directory and last[2] is mounts:
        folder = last[3]
    else:
        folder = mounts_.folder_of(mounts, root_path, directory)
        _last_folder = (root_path, directory, mounts, folder)
    name = os.path.basename(path)
    return {"path": path, "folder": folder, "name": name, "ext": os.path.splitext(name)[1].lstrip(".").lower()}


def new_image_row(
    root: Root, path: str, facts: FileFacts, now: datetime, mounts: mounts_.MountMap | None = None
) -> dict:
    return {
        "root_id": root.id,
        **location_columns(root.path, path, mounts),
        **facts.columns(),
        "status": Status.ERROR if facts.error else Status.PENDING,
        "error": facts.error,
        "added_at": now,
    }


_KNOWN_COLUMNS = (
    Image.id,
    Image.path,
    Image.size,
    Image.mtime,
    Image.status,
    Image.content_hash,
    Image.picture_hash,
    Image.model,
    Image.sidecar_mtime,
    Image.error,
)
# Errors that say nothing about the file's content: when the file is there again, it is read again.
_TRANSIENT_ERRORS = ("file not found", "permission denied")


@dataclass
class KeywordSource:
    """Where an image's keywords may have changed: its embedded ones, its sidecar."""

    path: str
    embedded: dict | None  # keyword properties read from the file itself (None: none, or not read)
    sidecar: str | None
    sidecar_mtime: float | None
    file_changed: bool = False  # the image file was read again (its embedded keywords may be gone)
    sidecar_gone: bool = False


def note_keywords(
    report: ScanReport,
    path: str,
    name: str,
    folder_names: Collection[str],
    row,
    keywords: dict | None,
    file_read: bool = False,
) -> None:
    """Queue a keyword import when the file changed, or its sidecar appeared or changed."""
    sidecar = find_sidecar(name, folder_names) if folder_names else None
    sidecar_path = os.path.join(os.path.dirname(path), sidecar) if sidecar else None
    mtime = None
    if sidecar_path is not None:
        with contextlib.suppress(OSError):
            mtime = os.stat(sidecar_path).st_mtime
    file_changed = file_read and row is not None
    sidecar_changed = mtime is not None and (row is None or row.sidecar_mtime != mtime)
    sidecar_gone = row is not None and mtime is None and row.sidecar_mtime is not None
    if keywords or sidecar_changed or sidecar_gone or file_changed:
        report.keyword_sources.append(
            KeywordSource(
                path,
                keywords,
                sidecar_path if mtime is not None else None,
                mtime,
                file_changed=file_changed,
                sidecar_gone=sidecar_gone,
            )
        )


def _same_picture(facts: FileFacts, row) -> bool:
    """Only metadata changed (a rating, a keyword written by another program): no retagging."""
    return facts.picture_hash is not None and facts.picture_hash == row.picture_hash


def examine_file(
    root: Root,
    path: str,
    stat: os.stat_result,
    row,
    now: datetime,
    report: ScanReport,
    mounts: mounts_.MountMap | None = None,
) -> tuple[dict | None, dict | None, bool]:
    """Decide what a file means for the library, reading it only when its size or mtime changed.

    Returns (values, embedded keyword properties, whether the file was read). Values are None when
    nothing changes, the values of a new row when ``row`` is None, else the values to update ``row``
    with (content re-hashed: retag only if the picture changed, not for a metadata-only edit).
    """
    transient = row is not None and row.status == Status.ERROR and row.error in _TRANSIENT_ERRORS
    if (
        row is not None
        and row.size == stat.st_size
        and row.mtime == stat.st_mtime
        and row.status != Status.MISSING
        and not transient
    ):
        report.unchanged += 1
        return None, None, False
    try:  # a FIFO or device link named like an image fails in hash_file (never opened for reading)
        facts = read_facts(path, stat.st_size, stat.st_mtime)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        report.errors.append((path, reason))
        facts = FileFacts(stat.st_size, stat.st_mtime, "", error=reason)
        values = new_image_row(root, path, facts, now, mounts) | {"content_hash": None}
        return (values if row is None else {"status": Status.ERROR, "error": reason}), None, False
    if row is None:
        report.added += 1
        return new_image_row(root, path, facts, now, mounts), facts.keywords, True
    if row.status == Status.MISSING:
        report.restored += 1
    else:
        report.changed += 1
    if facts.error:
        status = Status.ERROR
    elif row.model is not None and (facts.content_hash == row.content_hash or _same_picture(facts, row)):
        status = Status.TAGGED  # the taggings stay (the images_content_changed trigger keeps them too)
    else:
        status = Status.PENDING
    return {**facts.columns(), "status": status, "error": facts.error}, facts.keywords, True


def insert_images(connection: Connection, rows: list[dict]) -> list[int]:
    """Insert new image rows; a path another process indexed meanwhile is skipped, not an error."""
    if not rows:
        return []
    return dialect.insert_new_rows(connection, Image.__table__, rows, "path")


def mark_missing(connection: Connection, ids: list[int]) -> None:
    for start in range(0, len(ids), _WRITE_BATCH):
        connection.execute(
            update(Image).where(Image.id.in_(ids[start : start + _WRITE_BATCH])).values(status=Status.MISSING)
        )


def scan_root(
    connection: Connection,
    root: Root,
    progress: ScanProgress | None = None,
    cancel: threading.Event | None = None,
    subtree: str | None = None,
) -> tuple[ScanReport, list[int]]:
    """Scan one root (or only ``subtree`` inside it), folder by folder, committing as it goes;
    return the report and ids of new rows.

    Memory is bounded by the largest folder, not by the size of the tree.
    """
    report = ScanReport()
    has_images = (
        connection.execute(
            select(Image.id).where(Image.root_id == root.id, Image.status != Status.MISSING).limit(1)
        ).first()
        is not None
    )
    reason = root_is_offline(root.path, has_images)
    if reason:
        mounts_.set_online(connection, root.id, root.path, False)
        connection.commit()
        report.offline.append(f"{root.path}: {reason}")
        return report, []
    now = datetime.now()
    mounts = mounts_.of(connection.dialect)
    seen_folders: set[str] = set()
    unreadable: set[str] = set()
    inserts: list[dict] = []
    new_ids: list[int] = []
    count = since_commit = 0
    for folder, entries, sidecars in walk_folders(subtree or root.path, report.errors, unreadable):
        if cancel is not None and cancel.is_set():
            report.cancelled = True
            break
        if not _valid_text(folder):
            report.errors.append((folder, "folder name is not valid UTF-8; rename it to index it"))
            continue
        relative = mounts_.folder_of(mounts, root.path, folder)
        seen_folders.add(relative)
        known = {
            row.path: row
            for row in connection.execute(
                select(*_KNOWN_COLUMNS).where(Image.root_id == root.id, Image.folder == relative)
            )
        }
        present: set[str] = set()
        # A file's sidecar is among the names that share its stem (photo.xmp) or are named after it
        # (photo.jpg.xmp): looked up, not searched for in the whole folder at each file.
        by_stem: dict[str, list[str]] = {}
        if sidecars:
            for name in sidecars | {entry.name for entry in entries}:
                by_stem.setdefault(os.path.splitext(name)[0].lower(), []).append(name)
        for entry in entries:
            count += 1
            if count % PROGRESS_EVERY == 0:
                if progress is not None:
                    progress(root.path, count)
                if cancel is not None and cancel.is_set():  # a folder of 100,000 files stops too
                    report.cancelled = True
                    break
            path = entry.path
            if not _valid_text(path):
                report.errors.append((path, "file name is not valid UTF-8; rename it to index it"))
                continue
            present.add(path)
            try:
                stat = entry.stat()
            except OSError as exc:
                report.errors.append((path, exc.strerror or str(exc)))
                continue
            row = known.get(path)
            values, keywords, read = examine_file(root, path, stat, row, now, report, mounts)
            near = (
                by_stem.get(os.path.splitext(entry.name)[0].lower(), []) + by_stem.get(entry.name.lower(), [])
                if by_stem
                else []
            )
            note_keywords(report, path, entry.name, near, row, keywords, read)
            if values is None:
                continue
            if row is None:
                inserts.append(values)
                if len(inserts) >= _WRITE_BATCH:  # a big folder's rows appear (and are kept) as found
                    new_ids += insert_images(connection, inserts)
                    inserts.clear()
                    connection.commit()
                    since_commit = 0
            else:
                connection.execute(update(Image).where(Image.id == row.id).values(**values))
        if report.cancelled:
            break  # a folder read part way says nothing of what is missing from it
        vanished = [row.id for path, row in known.items() if path not in present and row.status != Status.MISSING]
        mark_missing(connection, vanished)
        report.missing += len(vanished)
        report.vanished_ids.update(vanished)
        since_commit += len(entries)
        if since_commit >= _WRITE_BATCH:
            new_ids += insert_images(connection, inserts)
            inserts.clear()
            connection.commit()
            since_commit = 0
    new_ids += insert_images(connection, inserts)
    if not report.cancelled:
        # Folders that vanished entirely (but not ones we could not read), within the subtree if one.
        blocked = {mounts_.folder_of(mounts, root.path, f) for f in unreadable}
        scope = mounts_.folder_of(mounts, root.path, subtree) if subtree else None
        stored_folders = (
            connection.execute(
                select(Image.folder).where(Image.root_id == root.id, Image.status != Status.MISSING).distinct()
            )
            .scalars()
            .all()
        )
        for relative in stored_folders:
            if scope is not None and relative != scope and not relative.startswith(scope + os.sep):
                continue
            if relative in seen_folders or any(relative == b or relative.startswith(b + os.sep) for b in blocked):
                continue
            gone = (
                connection.execute(
                    select(Image.id).where(
                        Image.root_id == root.id, Image.folder == relative, Image.status != Status.MISSING
                    )
                )
                .scalars()
                .all()
            )
            mark_missing(connection, list(gone))
            report.missing += len(gone)
            report.vanished_ids.update(gone)
        if subtree is None:
            connection.execute(update(Root).where(Root.id == root.id).values(last_scan_at=now))
            mounts_.set_online(connection, root.id, root.path, True)
    if progress is not None:
        progress(root.path, count)  # the final count (otherwise reported every PROGRESS_EVERY files)
    connection.commit()
    return report, new_ids


_NEW_ROW_COLUMNS = (
    Image.id,
    Image.root_id,
    Image.path,
    Image.folder,
    Image.name,
    Image.ext,
    Image.size,
    Image.mtime,
    Image.content_hash,
    Image.picture_hash,
)


def _merge_into(connection: Connection, old_id: int, old_model: str | None, new_row) -> None:
    """The file of missing image ``old_id`` turned up as ``new_row``: keep the old image (its tags,
    manual edits and history) at the new place and drop the duplicate row."""
    connection.execute(delete(Image).where(Image.id == new_row.id))
    connection.execute(
        update(Image)
        .where(Image.id == old_id)
        .values(
            root_id=new_row.root_id,
            path=new_row.path,
            folder=new_row.folder,
            name=new_row.name,
            ext=new_row.ext,
            size=new_row.size,
            mtime=new_row.mtime,
            picture_hash=new_row.picture_hash,  # same content; an image indexed before 0007 gains it
            status=Status.TAGGED if old_model else Status.PENDING,
            error=None,
        )
    )


def adopt_moved(connection: Connection, new_ids: list[int]) -> list[int]:
    """Merge each new row into a missing image with the same content: a move or rename keeps its tags.

    Returns the ids of the images that were found again at a new path. The missing images with the
    chunk's hashes are read in one query, not one per new row (a round trip each to a server).
    """
    moved: list[int] = []
    for start in range(0, len(new_ids), _WRITE_BATCH):
        chunk = new_ids[start : start + _WRITE_BATCH]
        fresh = connection.execute(
            select(*_NEW_ROW_COLUMNS).where(Image.id.in_(chunk), Image.content_hash.is_not(None)).order_by(Image.id)
        ).all()
        if not fresh:
            continue
        missing: dict[str, list] = {}  # content hash: the missing images with it, lowest id first
        for old in connection.execute(
            select(Image.id, Image.model, Image.content_hash)
            .where(Image.content_hash.in_({row.content_hash for row in fresh}), Image.status == Status.MISSING)
            .order_by(Image.id)
        ):
            missing.setdefault(old.content_hash, []).append(old)
        for row in fresh:
            candidates = missing.get(row.content_hash)
            if candidates:  # each missing image is found again once: the next copy takes the next
                old = candidates.pop(0)
                _merge_into(connection, old.id, old.model, row)
                moved.append(old.id)
    connection.commit()
    return moved


def adopt_new_copies(connection: Connection, missing_ids: list[int]) -> list[int]:
    """The other order of a move: the new path was indexed before the old one was seen to vanish
    (a watcher may report a move as a creation and, later, a deletion). Each image just marked
    missing takes over a never-tagged new row with the same content. Returns the adopted ids."""
    adopted: list[int] = []
    for old in connection.execute(
        select(Image.id, Image.model, Image.content_hash).where(
            Image.id.in_(missing_ids), Image.content_hash.is_not(None)
        )
    ).all():
        candidates = connection.execute(
            select(*_NEW_ROW_COLUMNS)
            .where(
                Image.content_hash == old.content_hash,
                Image.status == Status.PENDING,
                Image.model.is_(None),
                Image.id.not_in(missing_ids),
                ~exists().where(ImageTag.image_id == Image.id, ImageTag.source == Source.MANUAL),
            )
            .order_by(Image.id.desc())
        ).all()
        # Identical copies may be going away together: only a file that is really there now counts.
        row = next((c for c in candidates if os.path.isfile(c.path)), None)
        if row is not None:
            _merge_into(connection, old.id, old.model, row)
            adopted.append(old.id)
    return adopted


def adopt_leftover_copies(connection: Connection, root_ids: list[int]) -> list[int]:
    """Pair moves from what the database holds, not from one run's memory: a scan killed between
    committing new rows and pairing them leaves a missing image (with the user's edits) beside a
    never-tagged copy of it at the new path. Each such pair is merged now. Returns the adopted ids."""
    missing = aliased(Image)
    fresh = aliased(Image)
    ids = (
        connection.execute(
            select(missing.id)
            .where(
                missing.root_id.in_(root_ids),
                missing.status == Status.MISSING,
                missing.content_hash.is_not(None),
                exists().where(
                    fresh.content_hash == missing.content_hash,
                    fresh.status == Status.PENDING,
                    fresh.model.is_(None),
                    fresh.id != missing.id,
                ),
            )
            .order_by(missing.id)
        )
        .scalars()
        .all()
    )
    adopted = adopt_new_copies(connection, list(ids)) if ids else []
    connection.commit()
    return adopted
