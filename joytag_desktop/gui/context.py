"""What every controller of the main window works with, handed over as one piece."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QMainWindow, QStatusBar

from joytag_desktop.gui.background import Background
from joytag_desktop.gui.long_work import LongWork
from joytag_desktop.library import Library


@dataclass(frozen=True)
class WindowContext:
    """``background`` reads (any order), ``writer`` edits (one thread, in the order they were made);
    ``show_error`` puts a failure on the status bar and in the log; ``jobs`` runs long work on the
    writer with progress and Cancel."""

    window: QMainWindow
    library: Library
    background: Background
    writer: Background
    undo_stack: QUndoStack
    show_error: Callable[[Exception], None]
    jobs: LongWork

    @property
    def status_bar(self) -> QStatusBar:
        return self.window.statusBar()
