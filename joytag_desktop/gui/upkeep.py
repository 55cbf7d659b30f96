"""Keeping the library current while the window is open: the start-up scan (changes made while
the app was closed), the folder watcher, the tagging worker, and when what is shown is refreshed.

The watcher's news, the scans' and the worker's progress come in bursts; timers gather them, so
the grid is searched again every few seconds at most rather than for every file. While a scan
runs, what it has stored so far is shown as it goes (a big folder fills the grid as it is found).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from joytag_desktop.gui.bridge import WorkerBridge
from joytag_desktop.gui.context import WindowContext
from joytag_desktop.gui.library_folders import LibraryFolders
from joytag_desktop.gui.status import WorkStatus
from joytag_desktop.worker.watcher import FolderWatcher
from joytag_desktop.worker.worker import TaggingWorker

if TYPE_CHECKING:
    from joytag_desktop.library.changes import ChangeReport
    from joytag_desktop.library.scanner import ScanReport
    from joytag_desktop.worker.tagging import TaggingProgress, TaggingReport

log = logging.getLogger("joytag_desktop.gui")
REFRESH_AFTER_FILES_MS = 800  # files changed on disk
REFRESH_WHILE_TAGGING_MS = 3000
REFRESH_WHILE_SCANNING_MS = 1500
FOLDER_COUNTS_AFTER_MS = 2000
NOT_SCANNING = -1


class LibraryUpkeep(QObject):
    refresh_due = Signal()  # the library changed: what is shown should be searched again
    scanning = Signal(int)  # files the running scans found so far; NOT_SCANNING once none runs
    scanned = Signal(object)  # the start-up scan's ScanReport (images another program turned: ``gui.rotation``)

    def __init__(
        self,
        context: WindowContext,
        worker: TaggingWorker,
        watcher: FolderWatcher,
        bridge: WorkerBridge,
        folders: LibraryFolders,
        status: WorkStatus,
        scan_cancel: threading.Event,
    ) -> None:
        super().__init__(context.window)
        self.context, self.worker, self.watcher, self.bridge = context, worker, watcher, bridge
        self.folders, self.status, self.scan_cancel = folders, status, scan_cancel
        self.started = False
        self._closing = False
        self._refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_AFTER_FILES_MS)
        self._refresh_timer.timeout.connect(self.refresh_due)
        self._roots_timer = QTimer(self, singleShot=True, interval=FOLDER_COUNTS_AFTER_MS)
        self._roots_timer.timeout.connect(folders.load)
        self._scans = 0  # scans running (the start-up scan, added folders, rescans)
        self._found: dict[str, int] = {}  # files found so far, by library folder
        self._scan_refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_WHILE_SCANNING_MS)
        self._scan_refresh_timer.timeout.connect(self._scan_stored)
        bridge.scan_progress.connect(self._scan_progressed)
        folders.scan_started.connect(self._scan_begun)
        folders.scan_ended.connect(self._scan_over)
        bridge.progress.connect(self._tagging_progressed)
        bridge.finished.connect(self._tagging_finished)
        bridge.library_changed.connect(self._library_changed)
        bridge.warning.connect(_watcher_warning)
        folders.changed.connect(self.folders_changed)
        folders.watching_changed.connect(self.refresh_watcher)

    def start(self) -> None:
        """Start-up scan (catches changes made while the app was closed), then watch and tag."""
        if self.started:
            return
        self.started = True
        self.status.show_scanning()
        self.scan_cancel.clear()
        self._scan_begun()
        self.context.background.submit(self._watch_and_scan, self._scanned, self._scan_failed)

    def _watch_and_scan(self) -> ScanReport:
        # Watching starts first (off the GUI thread: it walks the folders): a file that lands
        # while the scan runs is seen by one or the other, never by neither.
        self.watcher.start()
        from joytag_desktop.interchange.keyword_sync import import_found

        report = self.context.library.scan(progress=self.bridge.scan_progressed, cancel=self.scan_cancel)
        return import_found(self.context.library, report)

    def _scan_failed(self, exc: Exception) -> None:
        self._scan_over()
        self.context.show_error(exc)

    def _scanned(self, report: ScanReport) -> None:
        self._scan_over()
        if self._closing:
            return
        self.status.show_scanned(report)
        self.scanned.emit(report)
        for offline in report.offline:
            log.warning("offline: %s", offline)
        self.folders.load()  # a folder found again (a drive mounted since) is online
        self.refresh_due.emit()
        self.worker.start()

    def stop(self) -> None:
        """The window closes: the watcher and the worker stop (the worker after its current batch)."""
        self._closing = True
        if self.started:
            self.watcher.stop()
            self.worker.stop()

    def folders_changed(self) -> None:
        """Folders were added, located, removed or rescanned: watch what is now there, tag what
        is new, show the result."""
        self.refresh_watcher()
        self.worker.wake()
        self.refresh_due.emit()

    def refresh_watcher(self) -> None:
        if self.started:  # off the GUI thread: scheduling watches walks the folders
            self.context.background.submit(self.watcher.refresh_roots, None, self.context.show_error)

    # --- a scan as it goes ------------------------------------------------------------------------

    def _scan_begun(self) -> None:
        """A scan is submitted; the window says "scanning" from its first report on (a start-up
        scan of a library without folders never reports, and says nothing)."""
        if self._scans == 0:
            self._found.clear()
        self._scans += 1

    def _scan_progressed(self, root: str, count: int) -> None:
        """A scan stored more files: show them, every REFRESH_WHILE_SCANNING_MS at most."""
        self._found[root] = count
        if self._scans:
            self.scanning.emit(sum(self._found.values()))
        if not self._scan_refresh_timer.isActive():
            self._scan_refresh_timer.start()

    def _scan_stored(self) -> None:
        if self._closing:
            return
        self.refresh_due.emit()
        if not self._roots_timer.isActive():  # the folder panel's counts (and a new folder) follow
            self._roots_timer.start()

    def _scan_over(self) -> None:
        self._scans = max(0, self._scans - 1)
        if self._scans == 0:
            self._scan_refresh_timer.stop()  # the scan's end refreshes anyway
            self.scanning.emit(NOT_SCANNING)

    # --- tagging and the watcher ------------------------------------------------------------------

    def _tagging_progressed(self, progress: TaggingProgress) -> None:
        if not self._refresh_timer.isActive():
            self._refresh_timer.start(REFRESH_WHILE_TAGGING_MS)

    def _tagging_finished(self, report: TaggingReport) -> None:
        self.refresh_due.emit()

    def _library_changed(self, report: ChangeReport) -> None:
        if report.added or report.changed or report.moved or report.missing or report.restored:
            self.worker.wake()
            if not self._roots_timer.isActive():
                self._roots_timer.start()
            if not self._refresh_timer.isActive():
                self._refresh_timer.start(REFRESH_AFTER_FILES_MS)


def _watcher_warning(message: str) -> None:
    log.warning("%s", message)
