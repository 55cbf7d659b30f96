"""Indexing files: scans of library folders and the watcher's changes, one at a time per process,
and forgetting images whose files are gone.

A scan returns what it found, keyword sources included; importing those keywords is the
interchange layer's work (``joytag_desktop.interchange.keyword_sync.import_found``), above the library."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import delete

from joytag_desktop.library.database import IN_CHUNK, Database, rowcount
from joytag_desktop.library.errors import LibraryError
from joytag_desktop.library.roots import Roots
from joytag_desktop.library.schema import Image, Root, Status

if TYPE_CHECKING:  # the scanner (Pillow, exifread) loads when a scan runs: a search needs neither
    from joytag_desktop.library.changes import ChangeReport
    from joytag_desktop.library.scanner import ScanProgress, ScanReport


class Scanning:
    """Scans and watcher changes read, then write: one at a time within this process."""

    def __init__(self, database: Database, roots: Roots) -> None:
        self.database = database
        self.roots = roots
        self._index_lock = threading.RLock()

    def scan(
        self,
        roots: Iterable[str | os.PathLike[str]] | None = None,
        progress: ScanProgress | None = None,
        cancel: threading.Event | None = None,
    ) -> ScanReport:
        """Rescan the given folders (default: every library folder); moves across roots are
        recognised too. A folder inside a library folder rescans that subtree only."""
        targets: list[tuple[Root, str | None]] = []
        if roots is None:
            targets = [(root, None) for root in self.roots.listed()]
        else:
            for path in roots:
                text = str(Path(path).expanduser().resolve())
                root = self.roots.containing_root(text)
                if root is None:
                    raise LibraryError(f"{text} is not in a library folder")
                targets.append((root, None if text == root.path else text))
        from joytag_desktop.library.scanner import ScanReport, adopt_leftover_copies, adopt_moved, scan_root

        report = ScanReport()
        new_ids: list[int] = []
        with self._index_lock, self.database.engine.connect() as connection:
            for root, subtree in targets:
                root_report, added = scan_root(connection, root, progress, cancel, subtree=subtree)
                report.merge(root_report)
                new_ids += added
                if report.cancelled:
                    break
            moved = adopt_moved(connection, new_ids)
            report.moved = len(moved)
            report.added -= report.moved
            report.missing -= len(report.vanished_ids.intersection(moved))
            if not report.cancelled:
                leftover = adopt_leftover_copies(connection, sorted({root.id for root, _ in targets}))
                report.moved += len(leftover)
                report.missing -= len(report.vanished_ids.intersection(leftover))
        return report

    def apply_changes(
        self,
        created: Sequence[str] = (),
        deleted: Sequence[str] = (),
        moved: Sequence[tuple[str, str]] = (),
    ) -> ChangeReport:
        """Apply watcher events in one transaction: moves first (in order), then deletions, then
        created/modified paths."""
        from joytag_desktop.library.changes import ChangeApplier

        with self._index_lock, self.database.engine.connect() as connection:
            applier = ChangeApplier(connection, self.roots.listed())
            for source, destination in moved:
                applier.moved(source, destination)
            for path in deleted:
                applier.deleted(path)
            for path in created:
                applier.created_or_modified(path)
            report = applier.finish()
        return report

    def forget_images(self, image_ids: Sequence[int]) -> int:
        """Delete these images' rows (and their tags): their files went to the trash."""
        ids = list(image_ids)
        removed = 0
        with self.database.Session.begin() as session:
            for start in range(0, len(ids), IN_CHUNK):
                removed += rowcount(session.execute(delete(Image).where(Image.id.in_(ids[start : start + IN_CHUNK]))))
        return removed

    def purge_missing(self) -> int:
        """Delete images marked missing (and their tags). Returns how many were removed."""
        with self.database.Session.begin() as session:
            return rowcount(session.execute(delete(Image).where(Image.status == Status.MISSING)))
