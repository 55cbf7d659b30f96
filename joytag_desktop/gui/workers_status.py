"""The status bar's word on the other tagging workers of a shared library (other processes and
other machines): how many are tagging and how fast, each one in the tooltip."""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QWidget

from joytag_desktop.library.worker_state import WorkerState

if TYPE_CHECKING:
    from joytag_desktop.gui.background import Background
    from joytag_desktop.library import Library
    from joytag_desktop.library.work import WorkerStatus

log = logging.getLogger("joytag_desktop.gui")
POLL_MS = 10_000


class OtherWorkers(QLabel):
    """Hidden while no other worker runs; read on the background pool every ten seconds."""

    def __init__(self, library: Library, background: Background, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.background = background
        self.hide()
        self._busy = self._failing = False
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        QTimer.singleShot(0, self.refresh)

    def refresh(self) -> None:
        if self._busy:
            return
        self._busy = True

        def load() -> list[WorkerStatus]:
            from joytag_desktop.library.work import worker_statuses

            return worker_statuses(self.library.database)

        self.background.submit(load, self.show_workers, self._failed)

    def _failed(self, exc: Exception) -> None:
        self._busy = False  # a lost connection: the next poll tries again
        if not self._failing:  # once per outage, not every ten seconds
            log.info("the other workers could not be read: %s", exc)
        self._failing = True

    def show_workers(self, workers: list[WorkerStatus]) -> None:
        self._busy = self._failing = False
        host, pid = socket.gethostname(), os.getpid()
        others = [w for w in workers if w.active and not (w.host == host and w.pid == pid)]
        if not others:
            self.hide()
            return
        tagging = [w for w in others if w.state == WorkerState.TAGGING]
        rate = sum(w.rate for w in tagging)
        if tagging:
            text = self.tr("%n other worker(s) tagging, {rate:.1f} images/s", "", len(tagging)).format(rate=rate)
        else:
            text = self.tr("%n other worker(s) idle", "", len(others))
        self.setText(text)
        states: dict[str, str] = {
            WorkerState.TAGGING: self.tr("tagging"),
            WorkerState.IDLE: self.tr("idle"),
            WorkerState.PAUSED: self.tr("paused"),
            WorkerState.STARTING: self.tr("starting"),
        }
        lines = [
            self.tr("{machine} (pid {pid}): {state}, {done:,} tagged, {rate:.1f} images/s on {device}").format(
                machine=w.machine,
                pid=w.pid,
                state=states.get(w.state, w.state),
                done=w.done,
                rate=w.rate,
                device=w.device or "?",
            )
            for w in others
        ]
        self.setToolTip("\n".join(lines))
        self.show()
