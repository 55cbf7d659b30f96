"""The status bar's word on the other tagging workers of a shared library (other processes and
other machines): how many are tagging and how fast, each one in the tooltip.

Only workers that still answer count: one whose process on this computer has ended is "gone"
(``worker_statuses`` says so), and one that missed two heartbeats (idle workers report every half
lease, tagging ones at every commit) is left out until it reports again.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QWidget

from joytag_desktop.gui.i18n import number
from joytag_desktop.gui.messages import device_text
from joytag_desktop.library.work import LEASE_SECONDS
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
        others = [w for w in workers if answering(w) and not (w.host == host and w.pid == pid)]
        if not others:
            self.hide()
            return
        tagging = [w for w in others if w.state == WorkerState.TAGGING]
        rate = sum(w.rate for w in tagging)
        if tagging:
            text = self.tr("%Ln other worker(s) tagging, {rate} images/s", "", len(tagging)).format(
                rate=number(rate, 1)
            )
        else:
            text = self.tr("%Ln other worker(s) idle", "", len(others))
        self.setText(text)
        states: dict[str, str] = {
            WorkerState.TAGGING: self.tr("tagging"),
            WorkerState.IDLE: self.tr("idle"),
            WorkerState.PAUSED: self.tr("paused"),
            WorkerState.STARTING: self.tr("starting"),
        }
        lines = [
            self.tr("{machine} (pid {pid}): {state}, {done} tagged, {rate} images/s on {device}").format(
                machine=w.machine,
                pid=w.pid,
                state=states.get(w.state, w.state),
                done=number(w.done),
                rate=number(w.rate, 1),
                device=device_text(w.device) or "?",
            )
            for w in others
        ]
        self.setToolTip("\n".join(lines))
        self.show()


def answering(worker: WorkerStatus) -> bool:
    """Running and heard from lately: idle and paused workers report every half lease, so one
    silent for a whole lease is stopped or cut off (``worker_statuses`` calls it gone after two)."""
    if not worker.active:
        return False
    return worker.state == WorkerState.TAGGING or worker.seen_ago <= LEASE_SECONDS
