"""The library's folders as the window offers them: add (menu, folder panel, drop), locate a shared
library's folder on this computer, remove, watch or not, rescan, and the panel's list.

Scans run on the window's background threads and edits on its ordered writer; the outcome lands
in the status bar. ``changed`` tells the window that folders or their files changed, so that it
refreshes the watcher, wakes the tagging worker and reloads what it shows.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from joytag_desktop.gui.background import Background
from joytag_desktop.gui.folders import FolderPanel
from joytag_desktop.gui.status import WorkStatus
from joytag_desktop.library import Library

if TYPE_CHECKING:
    from joytag_desktop.library.query import Node
    from joytag_desktop.library.scanner import ScanReport

log = logging.getLogger("joytag_desktop.gui")


class LibraryFolders(QObject):
    changed = Signal()  # folders added, located, removed or rescanned
    watching_changed = Signal()  # a folder's "watch" box: the watcher must look again
    roots_loaded = Signal(bool)  # the panel was refilled; True when the library has no folder
    scan_started = Signal()  # a scan begins (it reports its progress on the bridge's scan_progress)
    scan_ended = Signal()  # that scan is over (done, cancelled or failed)
    scanned = Signal(object)  # a rescan's ScanReport (images another program turned: ``gui.rotation``)

    def __init__(
        self,
        window: QWidget,
        library: Library,
        panel: FolderPanel,
        background: Background,
        writer: Background,
        status: WorkStatus,
        scan_progress: Callable[[str, int], None],
        scan_cancel: threading.Event,
        show_error: Callable[[Exception], None],
    ) -> None:
        super().__init__(window)
        self.window, self.library, self.panel = window, library, panel
        self.background, self.writer, self.status = background, writer, status
        self.scan_progress, self.scan_cancel, self.show_error = scan_progress, scan_cancel, show_error
        self.only: Node | None = None  # what the folder counts count (Safe view's filter), None: all
        panel.watch_toggled.connect(self.set_watched)
        panel.add_requested.connect(self.choose)
        panel.remove_requested.connect(self.remove)
        panel.locate_requested.connect(self.locate)
        panel.rescan_requested.connect(self.rescan)

    def load(self) -> None:
        """Refill the panel: each folder, whether it is watched and online here, its image counts."""
        only = self.only

        def load():
            roots = [(root.path, root.watched, root.online) for root in self.library.roots()]
            return roots, self.library.folder_counts(only)

        def done(result) -> None:
            roots, counts = result
            self.panel.fill(roots, counts)
            self.roots_loaded.emit(not roots)

        self.background.submit(load, done, self.show_error)

    def choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, self.tr("Add a folder to the library"))
        if folder:
            self.add(folder)

    def add(self, folder: str, watched: bool = True) -> None:
        """Add a folder (or rescan it when a library folder already holds it) and scan it."""
        self.status.show_scanning(folder)
        self.scan_cancel.clear()

        def add_and_scan():
            added = self.library.add_folder(folder, watched)
            return self._scan([added.scan_path])

        def done(report) -> None:
            log.info("added %s: %s", folder, report.summary())
            self._scanned(report)

        self._submit_scan(add_and_scan, done)

    def locate(self, path: str, folder: str | None = None) -> None:
        """A shared library's folder that this computer has at another path (another mount point
        or drive letter): remember where, then rescan it there."""
        if folder is None:
            folder = QFileDialog.getExistingDirectory(
                self.window,
                self.tr("Where is {name} on this computer?").format(name=os.path.basename(path) or path),
            )
        if not folder:
            return
        self.status.show_scanning(folder)
        self.scan_cancel.clear()

        def locate_and_scan():
            root = self.library.map_root(path, folder)
            return self._scan([root.path])

        self._submit_scan(locate_and_scan, self._scanned)

    def remove(self, path: str) -> None:
        answer = QMessageBox.question(
            self.window,
            self.tr("Remove folder"),
            self.tr(
                "Remove {path} from the library?\nThe files are not touched; their tags "
                "and manual edits in the library are forgotten."
            ).format(path=path),
        )
        if answer != QMessageBox.StandardButton.Yes:
            return

        def done(count: int) -> None:
            log.info("removed %s (%d images forgotten)", path, count)
            self.load()
            self.changed.emit()

        self.writer.submit(lambda: self.library.remove_root(path), done, self.show_error)

    def set_watched(self, path: str, watched: bool) -> None:
        self.writer.submit(
            lambda: self.library.set_watched(path, watched), lambda _: self.watching_changed.emit(), self.show_error
        )

    def rescan(self) -> None:
        self.status.show_scanning()
        self.scan_cancel.clear()
        self._submit_scan(lambda: self._scan(None), self._scanned)

    def _submit_scan(self, scan: Callable[[], ScanReport], done: Callable[[ScanReport], None]) -> None:
        """Run ``scan`` in the background between ``scan_started`` and ``scan_ended``."""

        def finished(report: ScanReport) -> None:
            self.scan_ended.emit()
            done(report)

        def failed(exc: Exception) -> None:
            self.scan_ended.emit()
            self.show_error(exc)

        self.scan_started.emit()
        self.background.submit(scan, finished, failed)

    def _scan(self, folders: list[str] | None) -> ScanReport:
        """Scan (on a background thread), then import the keywords the scan found."""
        from joytag_desktop.interchange.keyword_sync import import_found

        for folder in folders or []:
            self.scan_progress(folder, 0)  # the window says "scanning" before the first files are counted
        report = self.library.scan(folders, progress=self.scan_progress, cancel=self.scan_cancel)
        return import_found(self.library, report)

    def _scanned(self, report) -> None:
        self.status.show_scanned(report)
        self.scanned.emit(report)
        self.load()
        self.changed.emit()
