"""The Qt adapter over the plain-Python worker and watcher: their callbacks become signals."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, SignalInstance

from joytag_desktop.gui.background import emit_if_alive
from joytag_desktop.library.changes import ChangeReport
from joytag_desktop.library.worker_state import WorkerState
from joytag_desktop.worker.tagging import TaggingProgress, TaggingReport


class WorkerBridge(QObject):
    """A WorkerListener (and watcher callback) whose calls, made on worker threads, arrive as
    queued signals on the GUI thread."""

    state_changed = Signal(str, str)  # a WorkerState (as its text), and what goes with it
    progress = Signal(object)  # TaggingProgress
    error = Signal(str)
    finished = Signal(object)  # TaggingReport
    library_changed = Signal(object)  # ChangeReport
    warning = Signal(str)
    scan_progress = Signal(str, int)  # root, files seen

    closed = False  # the window is closing: news that still comes goes nowhere

    def close(self) -> None:
        self.closed = True

    def _send(self, signal: SignalInstance, *args: object) -> None:
        if not self.closed:
            emit_if_alive(signal, *args)

    def worker_state(self, state: WorkerState, detail: str) -> None:
        self._send(self.state_changed, state, detail)

    def worker_progress(self, progress: TaggingProgress) -> None:
        self._send(self.progress, progress)

    def worker_error(self, message: str) -> None:
        self._send(self.error, message)

    def worker_finished(self, report: TaggingReport) -> None:
        self._send(self.finished, report)

    def watcher_changed(self, report: ChangeReport) -> None:
        self._send(self.library_changed, report)

    def watcher_warning(self, message: str) -> None:
        self._send(self.warning, message)

    def scan_progressed(self, root: str, count: int) -> None:
        """A scan's progress hook (``Library.scan(progress=...)``), called on the scanning thread."""
        self._send(self.scan_progress, root, count)
