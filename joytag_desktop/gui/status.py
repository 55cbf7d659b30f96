"""The status bar's tagging area: what the worker does, its progress, pause/resume and cancel."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from joytag_desktop.library.worker_state import WorkerState
from joytag_desktop.worker.tagging import TaggingProgress


class WorkStatus(QWidget):
    """Says what tagging is doing in words; a link shows the images that failed."""

    pause_toggled = Signal(bool)
    cancel_clicked = Signal()
    show_failed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(self.tr("Idle"))
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.linkActivated.connect(lambda _: self.show_failed.emit())
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(200)
        self.progress.hide()
        self.device = QLabel("")
        self.pause_button = QPushButton(self.tr("Pause"))
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip(self.tr("Pause tagging (Ctrl+P); press again to resume"))
        self.pause_button.toggled.connect(self._pause_toggled)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setToolTip(
            self.tr("Stop tagging and scans; what is done is kept, the rest waits until you press Resume")
        )
        self.cancel_button.clicked.connect(self.cancel_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.label, self.progress, self.device, self.pause_button, self.cancel_button):
            layout.addWidget(widget)

    def set_text(self, text: str) -> None:
        self.label.setText(text.replace("&", "&amp;").replace("<", "&lt;"))

    def _pause_toggled(self, paused: bool) -> None:
        self.pause_button.setText(self.tr("Resume") if paused else self.tr("Pause"))
        self.pause_toggled.emit(paused)

    def set_held(self, held: bool) -> None:
        """Show the button as Resume (after a cancel) without toggling the worker again."""
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(held)
        self.pause_button.setText(self.tr("Resume") if held else self.tr("Pause"))
        self.pause_button.blockSignals(False)

    def show_progress(self, progress: TaggingProgress) -> None:
        self.progress.show()
        self.progress.setRange(0, max(1, progress.total))
        self.progress.setValue(progress.done)
        left = progress.seconds_left
        if left is not None:
            text = self.tr("Tagging {done:,} of {total:,} ({rate:.1f} images/s, {left} left)").format(
                done=progress.done,
                total=progress.total,
                rate=progress.images_per_second,
                left=time.strftime("%H:%M:%S", time.gmtime(left)),
            )
        else:
            text = self.tr("Tagging {done:,} of {total:,}").format(done=progress.done, total=progress.total)
        self.set_text(text)

    def show_counts(self, state: WorkerState, pending: int, failed: int) -> None:
        """The outcome in words once a run ends, from the library's own counts."""
        self.progress.hide()
        failed_link = (
            " — " + self.tr("<a href='status:error'>{count:,} could not be tagged</a>").format(count=failed)
            if failed
            else ""
        )
        if state == WorkerState.CANCELLED:
            text = self.tr("Tagging stopped: {count:,} images wait (press Resume to go on)").format(count=pending)
        elif state == WorkerState.PAUSED:
            text = self.tr("Tagging paused: {count:,} images wait").format(count=pending)
        elif pending:
            text = self.tr("{count:,} images wait to be tagged").format(count=pending)
        else:
            text = self.tr("All images tagged")
        self.label.setText(text.replace("&", "&amp;") + failed_link)
        self.label.setToolTip(self.tr("Click the link to show the images that failed") if failed else "")
