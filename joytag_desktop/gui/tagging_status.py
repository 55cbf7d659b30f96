"""The status bar's tagging items as the worker drives them: its state, progress and errors in
words, Pause/Resume and Cancel, and the scans' progress.

The worker and the scans report on their own threads; ``WorkerBridge`` turns that into signals
on the GUI thread, which this controller shows on the ``WorkStatus`` item. A run's total is what
was pending when it began; a scan beside it adds more, so the total is read again as it goes.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from joytag_desktop.gui.bridge import WorkerBridge
from joytag_desktop.gui.context import WindowContext
from joytag_desktop.gui.messages import for_window, one_line
from joytag_desktop.gui.panels import FirstRunPanel
from joytag_desktop.gui.status import WorkStatus
from joytag_desktop.library.worker_state import FIRST_LOAD, WorkerState
from joytag_desktop.worker.tagging import TaggingProgress
from joytag_desktop.worker.worker import TaggingWorker

log = logging.getLogger("joytag_desktop.gui")
ERROR_MS = 10_000
PENDING_AGAIN_MS = 2000  # while a scan runs beside tagging, the run's total is read again this often


class TaggingStatus(QObject):
    def __init__(
        self,
        context: WindowContext,
        worker: TaggingWorker,
        bridge: WorkerBridge,
        status: WorkStatus,
        first_run: FirstRunPanel,
        scan_cancel: threading.Event,
    ) -> None:
        super().__init__(context.window)
        self.context, self.worker, self.status, self.first_run, self.scan_cancel = (
            context,
            worker,
            status,
            first_run,
            scan_cancel,
        )
        bridge.state_changed.connect(self._worker_state)
        self._progress: TaggingProgress | None = None  # the running tagging run's last progress
        self._grown_total = 0  # its total, grown by what scans found since it began
        self._pending_timer = QTimer(self, singleShot=True, interval=PENDING_AGAIN_MS)
        self._pending_timer.timeout.connect(self._count_pending)
        bridge.progress.connect(self._progressed)
        bridge.error.connect(self._worker_error)
        bridge.scan_progress.connect(self._scan_progressed)
        status.pause_toggled.connect(self.set_paused)
        status.cancel_clicked.connect(self.cancel)

    def _worker_state(self, state: str, detail: str) -> None:
        self._progress, self._grown_total = None, 0  # a run begins or ends: its own total holds
        if state == WorkerState.TAGGING:
            if detail:  # a resume after a pause says nothing new: the device stays
                self.status.set_device(detail)
            self.status.set_held(False)
            self.status.set_tagging(True)
        elif state in (WorkerState.IDLE, WorkerState.CANCELLED, WorkerState.PAUSED):
            self.show_outcome(WorkerState(state))
        elif state == WorkerState.LOADING and detail == FIRST_LOAD:
            self.status.set_text(
                self.tr("Loading the model… The first load converts it for this computer, once: up to a minute.")
            )
        elif state == WorkerState.LOADING:
            self.status.set_tagging(True)
            self.status.set_text(self.tr("Loading the model…"))
        elif state == WorkerState.ERROR:
            self.status.progress.hide()
            self.status.set_tagging(False)
            self.status.set_text(self.tr("Tagging stopped: see the log (View ▸ Log)"))

    def show_outcome(self, state: WorkerState) -> None:
        """Say what is left in the library's own counts (pending and failed), never a guess."""
        context = self.context
        context.background.submit(
            context.library.count_by_status, partial(self._show_counts, state), context.show_error
        )

    def _show_counts(self, state: WorkerState, counts: dict[str, int]) -> None:
        worker = self.worker
        current = WorkerState.CANCELLED if worker.held else (WorkerState.PAUSED if worker.paused else state)
        self.status.show_counts(current, counts.get("pending", 0), counts.get("error", 0))
        self.status.set_held(worker.held or worker.paused)

    def _worker_error(self, message: str) -> None:
        """One line on the status bar; the whole message (a traceback, if one came) in the log."""
        message = for_window(message)
        log.error("%s", message)
        self.context.status_bar.showMessage(one_line(message), ERROR_MS)
        if "model" in message.lower():
            self.first_run.show()

    def set_paused(self, paused: bool) -> None:
        if paused:
            self.worker.pause()
        else:
            self.worker.resume()

    def cancel(self) -> None:
        """Cancel the tagging run and any scan in progress; what was done is kept, the rest waits for Resume."""
        self.worker.cancel()
        self.scan_cancel.set()
        self.status.set_held(True)
        log.info("cancelled: tagging stops after the current batch; the rest waits until you press Resume")
        self.show_outcome(WorkerState.CANCELLED)

    def _scan_progressed(self, root: str, count: int) -> None:
        self.status.show_scanning(Path(root).name, count)
        if self._progress is not None and not self._pending_timer.isActive():
            self._pending_timer.start()

    # --- the run's total, grown by scans -------------------------------------------------------------

    def _progressed(self, progress: TaggingProgress) -> None:
        self._progress = progress
        self.status.show_progress(self._with_grown_total(progress))

    def _with_grown_total(self, progress: TaggingProgress) -> TaggingProgress:
        return replace(progress, total=self._grown_total) if self._grown_total > progress.total else progress

    def _count_pending(self) -> None:
        """The images done plus those still waiting: the run's total now (off the GUI thread)."""
        if self._progress is None:
            return
        done, library = self._progress.done, self.context.library
        self.context.background.submit(
            lambda: library.count_by_status().get("pending", 0),
            partial(self._pending_counted, done),
            self._count_failed,
        )

    def _pending_counted(self, done: int, pending: int) -> None:
        if self._progress is None:
            return  # the run ended meanwhile: its outcome is shown
        self._grown_total = max(self._grown_total, done + pending)
        self.status.show_progress(self._with_grown_total(self._progress))

    @staticmethod
    def _count_failed(exc: Exception) -> None:
        log.warning("counting the images that wait: %s", exc)
