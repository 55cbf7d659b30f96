"""Applying file-system events (from the watcher) to the library, one small transaction per batch.

The rules are those of a scan, for single paths: a changed file is re-hashed and only
retagged when its content changed; a moved file keeps its row and so its tags; a deleted
file is marked missing; nothing is marked missing while its root is offline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from joytag_desktop.files import NOT_REGULAR, NOT_UTF8, is_regular, valid_text
from joytag_desktop.library import mounts as mounts_
from joytag_desktop.library.scanner import (
    _KNOWN_COLUMNS,
    KeywordSource,
    ScanReport,
    adopt_moved,
    adopt_new_copies,
    examine_file,
    insert_images,
    location_columns,
    mark_missing,
    note_keywords,
    root_is_offline,
    scan_root,
)
from joytag_desktop.library.schema import Image, Root, Status
from joytag_desktop.media.imaging import is_image_path
from joytag_desktop.metadata.xmp import find_sidecar


@dataclass
class ChangeReport(ScanReport):
    """A ScanReport plus what changed paths meant."""

    touched_paths: list[str] = field(default_factory=list)


def is_hidden(path: str, root_path: str) -> bool:
    relative = os.path.relpath(path, root_path)
    return any(part.startswith(".") for part in relative.split(os.sep))


def root_for(path: str, roots: list[Root]) -> Root | None:
    """The library root that contains ``path`` (roots never nest)."""
    for root in roots:
        if path == root.path or path.startswith(root.path + os.sep):
            return root
    return None


def _under(prefix: str):
    """Images whose path lies below folder ``prefix`` (a range on the unique path index, no LIKE escaping)."""
    start = prefix.rstrip(os.sep) + os.sep
    return Image.path.between(start, start + "\U0010ffff")


class ChangeApplier:
    """Applies batches of created/modified, deleted and moved paths to the library."""

    def __init__(self, connection: Connection, roots: list[Root]) -> None:
        self.connection = connection
        self.roots = roots
        self.report = ChangeReport()
        self.new_ids: list[int] = []
        self._offline: dict[int, bool] = {}
        self._listings: dict[str, set[str]] = {}

    def _root_online(self, root: Root) -> bool:
        if root.id not in self._offline:
            # A live delete event under an existing root folder is a real deletion, even if it
            # empties the folder (an unmount sends no per-file events).
            self._offline[root.id] = root_is_offline(root.path, has_images=False) is not None
        return not self._offline[root.id]

    def _row(self, path: str):
        return self.connection.execute(select(*_KNOWN_COLUMNS).where(Image.path == path)).first()

    def _folder_names(self, path: str) -> set[str]:
        """The names beside ``path`` (which sidecar is whose depends on them), listed once per batch: a
        burst of a thousand files in one folder must not list it a thousand times."""
        folder = os.path.dirname(path)
        if folder not in self._listings:
            try:
                self._listings[folder] = set(os.listdir(folder))
            except OSError:
                self._listings[folder] = set()
        names = self._listings[folder]
        names.add(os.path.basename(path))
        return names

    def created_or_modified(self, path: str) -> None:
        root = root_for(path, self.roots)
        if root is None or is_hidden(path, root.path):
            return
        if not valid_text(path):  # the database takes UTF-8 only: skipped with its reason, as a scan does
            self.report.errors.append((path, NOT_UTF8))
            return
        if path.lower().endswith(".xmp"):
            self._sidecar_changed(path)
            return
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            self.deleted(path)
            return
        except OSError as exc:
            self.report.errors.append((path, exc.strerror or str(exc)))
            return
        if os.path.isdir(path):
            self._scan_subtree(root, path)
            return
        if not is_image_path(path):
            return
        row = self._row(path)
        if row is None and not is_regular(stat):  # a FIFO or device link named like an image
            self.report.errors.append((path, NOT_REGULAR))
            return
        mounts = mounts_.of(self.connection.dialect)
        values, keywords, read = examine_file(root, path, stat, row, datetime.now(), self.report, mounts)
        note_keywords(self.report, path, os.path.basename(path), self._folder_names(path), row, keywords, read)
        if values is None:
            return
        self.report.touched_paths.append(path)
        if row is None:
            self.new_ids += insert_images(self.connection, [values])
        else:
            self.connection.execute(update(Image).where(Image.id == row.id).values(**values))

    def _sidecar_changed(self, sidecar: str) -> None:
        """A sidecar was written (by another program, or by us): its image's keywords may have changed."""
        names = self._folder_names(sidecar)
        folder = os.path.dirname(sidecar)
        try:
            mtime = os.stat(sidecar).st_mtime
        except OSError:
            mtime = None
        for name in names:
            if not is_image_path(name) or find_sidecar(name, names) != os.path.basename(sidecar):
                continue
            path = os.path.join(folder, name)
            row = self._row(path)
            if row is None:
                continue
            if mtime is not None and row.sidecar_mtime != mtime:
                self.report.keyword_sources.append(KeywordSource(path, None, sidecar, mtime))
            elif mtime is None and row.sidecar_mtime is not None:
                self.report.keyword_sources.append(KeywordSource(path, None, None, None, sidecar_gone=True))

    def _scan_subtree(self, root: Root, folder: str) -> None:
        """A folder that appeared (copied or moved in): index what is inside it."""
        sub_root = Root(id=root.id, path=root.path)
        report, new_ids = scan_root(self.connection, sub_root, subtree=folder)
        self.report.merge(report)
        self.new_ids += new_ids

    def deleted(self, path: str) -> None:
        root = root_for(path, self.roots)
        if root is None or not self._root_online(root) or os.path.exists(path):
            return  # an unplugged drive is not a deletion; a re-created path is handled as created
        if not valid_text(path):
            return  # never in the library
        if path.lower().endswith(".xmp"):
            self._sidecar_changed(path)
            return
        row = self._row(path)
        ids = [row.id] if row is not None and row.status != Status.MISSING else []
        ids += (
            self.connection.execute(select(Image.id).where(_under(path), Image.status != Status.MISSING))
            .scalars()
            .all()
        )
        mark_missing(self.connection, ids)
        adopted = adopt_new_copies(self.connection, ids)
        self.report.missing += len(ids) - len(adopted)
        self.report.moved += len(adopted)
        self.report.added -= min(self.report.added, len(adopted))

    def moved(self, source: str, destination: str) -> None:
        source_root = root_for(source, self.roots)
        target_root = root_for(destination, self.roots)
        if target_root is None or is_hidden(destination, target_root.path):
            self.deleted(source)  # moved out of the library (or into a hidden folder)
            return
        if source_root is None or is_hidden(source, source_root.path) or not valid_text(source):
            self.created_or_modified(destination)  # moved in from outside (or from a name never indexed)
            return
        if not valid_text(destination):  # renamed to a name the library cannot store: gone from it
            self.deleted(source)
            self.report.errors.append((destination, NOT_UTF8))
            return
        rows = []
        row = self._row(source)
        if row is not None:
            rows.append((row.id, destination))
        else:
            prefix = source.rstrip(os.sep) + os.sep
            for image_id, old_path in self.connection.execute(select(Image.id, Image.path).where(_under(source))):
                rows.append((image_id, destination.rstrip(os.sep) + os.sep + old_path[len(prefix) :]))
        if not rows:
            self.created_or_modified(destination)
            return
        for image_id, new_path in rows:
            if not is_image_path(new_path):
                mark_missing(self.connection, [image_id])
                continue
            clash = self._row(new_path)
            if clash is not None and clash.id != image_id:  # the move replaced a file we knew
                mark_missing(self.connection, [clash.id])
                self.connection.execute(delete(Image).where(Image.id == clash.id))
            self.connection.execute(
                update(Image)
                .where(Image.id == image_id)
                .values(
                    root_id=target_root.id,
                    **location_columns(target_root.path, new_path, mounts_.of(self.connection.dialect)),
                )
            )
            self.report.moved += 1
            self.report.touched_paths.append(new_path)
            # A file renamed into place may also have new content (save-as-temp-then-rename).
            unchanged = self.report.unchanged
            self.created_or_modified(new_path)
            self.report.unchanged = unchanged

    def finish(self) -> ChangeReport:
        moved = adopt_moved(self.connection, self.new_ids)
        self.report.moved += len(moved)
        self.report.added -= len(moved)
        self.connection.commit()
        return self.report
