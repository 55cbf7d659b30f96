"""The status bar's tagging area: what the worker does, its progress, pause/resume and cancel.

Pause and Cancel are enabled only while there is something to pause or cancel: a run, a scan,
images waiting, or a pause to resume from.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from joytag_desktop.gui.i18n import number
from joytag_desktop.gui.messages import device_text, device_tooltip, scan_summary
from joytag_desktop.library.worker_state import WorkerState
from joytag_desktop.worker.tagging import TaggingProgress

if TYPE_CHECKING:
    from joytag_desktop.library.scanner import ScanReport


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
        self._tagging = self._scanning = self._waiting = False
        self._model = self._device = ""
        self._update_buttons()

    # --- the model and the device ---------------------------------------------------------------

    def set_model(self, name: str) -> None:
        """The model that tags new files (checked at start and after Settings); the device stays."""
        self._model = name
        self._show_device()

    def set_device(self, detail: str) -> None:
        """What the worker runs on, as it says when a run starts ("" until then, or after a change)."""
        self._device = detail
        self._show_device()

    def _show_device(self) -> None:
        model = self.tr("Model: {name}").format(name=self._model) if self._model else ""
        self.device.setText(" · ".join(part for part in (model, device_text(self._device)) if part))
        self.device.setToolTip(device_tooltip(self._device))  # CUDA wanted but not in use: why, and what to do

    def set_tagging(self, tagging: bool) -> None:
        """The worker loads a model or tags (True), or has stopped (False)."""
        self._tagging = tagging
        self._update_buttons()

    def _update_buttons(self) -> None:
        held = self.pause_button.isChecked()
        self.pause_button.setEnabled(self._tagging or self._waiting or held)
        self.cancel_button.setEnabled(self._tagging or self._scanning or (self._waiting and not held))

    # --- scans ----------------------------------------------------------------------------------

    def show_scanning(self, folder: str = "", count: int | None = None) -> None:
        """A scan runs (Cancel stops it): of ``folder`` (all folders when empty), ``count`` files seen so far."""
        self._scanning = True
        self._update_buttons()
        if count is not None:
            text = self.tr("Scanning {folder}: %Ln file(s)…", "", count).format(folder=folder)
        elif folder:
            text = self.tr("Scanning {folder}…").format(folder=folder)
        else:
            text = self.tr("Scanning folders…")
        self.set_text(text)

    def show_scanned(self, report: ScanReport) -> None:
        self._scanning = False
        self._update_buttons()
        self.set_text(self.tr("Scan: {summary}").format(summary=scan_summary(report)))

    def set_text(self, text: str) -> None:
        self.label.setText(text.replace("&", "&amp;").replace("<", "&lt;"))

    def toggle_pause(self) -> None:
        """Ctrl+P: as a click on Pause/Resume, and like it only when there is something to pause."""
        if self.pause_button.isEnabled():
            self.pause_button.toggle()

    def _pause_toggled(self, paused: bool) -> None:
        self.pause_button.setText(self.tr("Resume") if paused else self.tr("Pause"))
        self.pause_toggled.emit(paused)

    def set_held(self, held: bool) -> None:
        """Show the button as Resume (after a cancel) without toggling the worker again."""
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(held)
        self.pause_button.setText(self.tr("Resume") if held else self.tr("Pause"))
        self.pause_button.blockSignals(False)
        self._update_buttons()

    def show_progress(self, progress: TaggingProgress) -> None:
        self.set_tagging(True)
        self.progress.show()
        self.progress.setRange(0, max(1, progress.total))
        self.progress.setValue(progress.done)
        left = progress.seconds_left
        done, total = number(progress.done), number(progress.total)
        if left is not None:
            text = self.tr("Tagging {done} of {total} ({rate} images/s, {left} left)").format(
                done=done,
                total=total,
                rate=number(progress.images_per_second, 1),
                left=time.strftime("%H:%M:%S", time.gmtime(left)),
            )
        else:
            text = self.tr("Tagging {done} of {total}").format(done=done, total=total)
        self.set_text(text)

    def show_counts(self, state: WorkerState, pending: int, failed: int) -> None:
        """The outcome in words once a run ends, from the library's own counts."""
        self.progress.hide()
        self._tagging, self._waiting = False, bool(pending) or state == WorkerState.PAUSED
        self._update_buttons()
        failed_link = (
            " — " + self.tr("<a href='status:error'>%Ln could not be tagged</a>", "", failed) if failed else ""
        )
        if state == WorkerState.CANCELLED:
            text = self.tr("Tagging stopped: %Ln image(s) wait (press Resume to go on)", "", pending)
        elif state == WorkerState.PAUSED:
            text = self.tr("Tagging paused: %Ln image(s) wait", "", pending)
        elif pending:
            text = self.tr("%Ln image(s) wait to be tagged", "", pending)
        else:
            text = self.tr("All images tagged")
        self.label.setText(text.replace("&", "&amp;") + failed_link)
        self.label.setToolTip(self.tr("Click the link to show the images that failed") if failed else "")
