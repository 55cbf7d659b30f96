"""The thresholds as the window changes them: the global slider, its presets and one tag's own.

The library keeps the thresholds; this controller shows the global one on the details panel's
slider, saves a move once the slider rests, and turns every change into an undoable step on the
window's ordered writer. ``applied`` tells the window to search again with the new values.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QInputDialog

from joytag_desktop.gui import undo
from joytag_desktop.gui.context import WindowContext
from joytag_desktop.gui.details import DetailsPanel

SAVE_AFTER_MS = 400  # the slider rests this long before its value is saved and searched with


class ThresholdController(QObject):
    loaded = Signal()  # the library's threshold is on the slider
    applied = Signal()  # a threshold changed in the library: what is shown must be searched again

    def __init__(self, context: WindowContext, details: DetailsPanel) -> None:
        super().__init__(context.window)
        self.context, self.library, self.details = context, context.library, details
        self.value = 0.4  # the slider's value (what searches are keyed by)
        self._saved = 0.4  # the value last saved to the library
        self._save_timer = QTimer(self, singleShot=True, interval=SAVE_AFTER_MS)
        self._save_timer.timeout.connect(self.save)
        details.threshold_changed.connect(self.move)
        details.preset_chosen.connect(self.choose_preset)
        details.tags.threshold_requested.connect(self.ask_tag_threshold)
        details.tags.threshold_cleared.connect(self.clear_tag_threshold)

    def load(self) -> None:
        """Read the library's global threshold (in the background) onto the slider."""
        self.context.background.submit(self._read, self._show)

    def _read(self) -> float:
        return self.library.threshold

    def _show(self, value: float) -> None:
        self.value = self._saved = value
        self.details.set_threshold(value)
        self.loaded.emit()

    def move(self, value: float) -> None:
        self.value = value
        self._save_timer.start()  # debounced: saved and applied once the slider rests

    def save(self) -> None:
        """Save the slider's value as one undoable step (nothing when it is back where it was)."""
        old, new = self._saved, self.value
        if abs(old - new) < 1e-9:
            return
        self._saved = new
        text = self.tr("threshold {old:.2f} → {new:.2f}").format(old=old, new=new)
        context = self.context
        context.undo_stack.push(
            undo.global_threshold(self.library, context.writer, text, old, new, self._applied, context.show_error)
        )

    def _applied(self, value: float) -> None:
        self.value = self._saved = value
        self.details.set_threshold(value)
        self.applied.emit()

    def choose_preset(self, key: str) -> None:
        from joytag_desktop.library.thresholds import PRESETS

        self.value = PRESETS[key]
        self.save()

    def ask_tag_threshold(self, tag: str, current: float) -> None:
        value, ok = QInputDialog.getDouble(
            self.context.window,
            self.tr("Threshold for one tag"),
            self.tr("Lowest score that counts as “{tag}” (the global threshold is {value:.2f}):").format(
                tag=tag, value=self.value
            ),
            current,
            0.01,
            1.0,
            2,
        )
        if ok:
            self.set_tag_threshold(tag, value)

    def clear_tag_threshold(self, tag: str) -> None:
        self.set_tag_threshold(tag, None)

    def set_tag_threshold(self, tag: str, value: float | None) -> None:
        """One tag's own threshold (None: back to the global one), as an undoable step."""
        text = (
            self.tr("threshold of {tag} → {value:.2f}").format(tag=tag, value=value)
            if value is not None
            else self.tr("threshold of {tag} → global").format(tag=tag)
        )
        context = self.context
        context.undo_stack.push(
            undo.tag_threshold(self.library, context.writer, text, tag, value, self._tag_applied, context.show_error)
        )

    def _tag_applied(self, _: object) -> None:
        self.applied.emit()
