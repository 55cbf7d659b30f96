"""Long work on the writer (bulk edits, exports): its progress and a Cancel button in the status bar.

A job runs on the window's ordered writer thread like any edit. It reports ``progress(done, total)``
from that thread and checks its ``cancel`` event at safe points (between chunks of an edit, between
files of an export). The status bar shows the job only once it has run for a moment, so a one-image
edit does not flash a progress bar; closing the window asks before cancelling what is in flight.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QWidget

from joytag_desktop.gui.background import Background, emit_if_alive
from joytag_desktop.gui.i18n import number

SHOW_AFTER_MS = 400  # shorter work shows no progress bar
REPORT_EVERY_S = 0.1  # progress signals at most this often (the writer may report thousands a second)


class Job(QObject):
    """One long piece of work: what it is, how far it got, and whether the user cancelled it."""

    progressed = Signal(int, int)

    def __init__(self, title: str, cancellable: bool = True, stops_at_quit: bool = False) -> None:
        super().__init__()
        self.title = title
        self.cancellable = cancellable
        # Quitting stops it part way (an export: run it again later); an edit is finished instead,
        # since after the window closes no undo could take back half of it.
        self.stops_at_quit = stops_at_quit and cancellable
        self.cancel = threading.Event()
        self.done = 0
        self.total = 0
        self.started = False
        self.queued_at = time.monotonic()
        self._reported = 0.0

    def progress(self, done: int, total: int) -> None:
        """Called on the writer thread; the status bar hears of it at most every 100 ms (and at the end)."""
        self.done, self.total = done, total
        now = time.monotonic()
        if done >= total or now - self._reported >= REPORT_EVERY_S:
            self._reported = now
            emit_if_alive(self.progressed, done, total)

    @property
    def cancelled(self) -> bool:
        """Whether it stopped before the end because the user (or quitting) cancelled it."""
        return self.cancel.is_set() and (self.total == 0 or self.done < self.total)


class LongWork(QWidget):
    """The status bar's view of long jobs: the running one's title, a bar, its count, and Cancel."""

    jobs_changed = Signal()  # a job was queued or finished

    def __init__(self, writer: Background, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.writer = writer
        self.jobs: list[Job] = []
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setToolTip(self.tr("Stop this work at the next safe point; what is done is kept"))
        self.cancel_button.clicked.connect(self.cancel_current)
        self.cancel_button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.bar.setFixedWidth(160)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 8, 0)
        for widget in (self.label, self.bar, self.cancel_button):
            layout.addWidget(widget)
        self._show_timer = QTimer(self, singleShot=True, interval=SHOW_AFTER_MS)
        self._show_timer.timeout.connect(self._update)
        self.hide()

    def submit(
        self,
        title: str,
        function: Callable[[Job], Any],
        done: Callable[[Any, Job], None],
        failed: Callable[[Exception], None],
        cancellable: bool = True,
        stops_at_quit: bool = False,
    ) -> Job:
        """Run ``function(job)`` on the writer after the edits before it; ``done(result, job)`` on the GUI thread."""
        job = Job(title, cancellable, stops_at_quit)
        job.setParent(self)
        job.progressed.connect(self._update)
        self.jobs.append(job)

        def run() -> Any:
            job.started = True
            return function(job)

        def finished(result: Any) -> None:
            self._forget(job)
            done(result, job)

        def broke(exc: Exception) -> None:
            self._forget(job)
            failed(exc)

        self.writer.submit(run, finished, broke)
        if not self._show_timer.isActive() and self.isHidden():
            self._show_timer.start()
        self.jobs_changed.emit()
        return job

    def in_flight(self) -> list[Job]:
        """Jobs queued or running."""
        return list(self.jobs)

    def long_running(self) -> list[Job]:
        """Jobs in flight long enough to be shown: what quitting asks about (a one-image edit a
        moment old just finishes while the window closes)."""
        now = time.monotonic()
        shown = self.isVisible()
        return [job for job in self.jobs if shown or now - job.queued_at >= SHOW_AFTER_MS / 1000]

    def cancel_current(self) -> None:
        """The Cancel button: the job shown stops at its next safe point."""
        for job in self.jobs:
            if job.cancellable and not job.cancel.is_set():
                job.cancel.set()
                break
        self._update()

    def _forget(self, job: Job) -> None:
        if job in self.jobs:
            self.jobs.remove(job)
        job.deleteLater()
        self._update()
        self.jobs_changed.emit()

    def _update(self, *_: object) -> None:
        if not self.jobs:
            self._show_timer.stop()
            self.hide()
            return
        if self._show_timer.isActive():
            return  # not shown yet: it may well be over before anyone could read it
        job = next((j for j in self.jobs if j.started), self.jobs[0])
        if job.total:
            self.bar.setRange(0, job.total)
            self.bar.setValue(job.done)
            text = self.tr("{title}: {done} of {total}").format(
                title=job.title, done=number(job.done), total=number(job.total)
            )
        else:
            self.bar.setRange(0, 0)  # busy: the total is not known yet
            text = self.tr("{title}…").format(title=job.title)
        waiting = len(self.jobs) - 1
        if waiting:
            text += " " + self.tr("(%Ln more waiting)", "", waiting)
        if job.cancel.is_set():
            text += " — " + self.tr("stopping…")
        self.label.setText(text)
        self.cancel_button.setEnabled(job.cancellable and not job.cancel.is_set())
        self.show()
