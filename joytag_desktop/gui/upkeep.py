"""Keeping the library current while the window is open: the start-up scan (changes made while
the app was closed), the folder watcher, the tagging worker, and when what is shown is refreshed.

The watcher's news and the worker's progress come in bursts; timers gather them, so the grid is
searched again every few seconds at most rather than for every file.
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
FOLDER_COUNTS_AFTER_MS = 2000


class LibraryUpkeep(QObject):
    refresh_due = Signal()  # the library changed: what is shown should be searched again

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
        self.context.background.submit(self._watch_and_scan, self._scanned, self.context.show_error)

    def _watch_and_scan(self) -> ScanReport:
        # Watching starts first (off the GUI thread: it walks the folders): a file that lands
        # while the scan runs is seen by one or the other, never by neither.
        self.watcher.start()
        from joytag_desktop.interchange.keyword_sync import import_found

        report = self.context.library.scan(progress=self.bridge.scan_progressed, cancel=self.scan_cancel)
        return import_found(self.context.library, report)

    def _scanned(self, report: ScanReport) -> None:
        if self._closing:
            return
        self.status.show_scanned(report)
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
