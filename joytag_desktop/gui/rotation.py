"""Rotating and mirroring from the window: the grid's selection (Edit ▸ Rotate, Ctrl+] and Ctrl+[
as in Lightroom) and the viewer's picture, by the orientation flag only (``interchange.rotation``).

The files are written on the window's writer, as a long job with progress and Cancel; the grid's
thumbnails of the images turned are read again, and the viewer shows its picture turned.
"""

from __future__ import annotations

import logging
from functools import partial

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from joytag_desktop.gui.context import WindowContext
from joytag_desktop.gui.long_work import Job
from joytag_desktop.gui.results import ResultsPanel
from joytag_desktop.interchange.rotation import RotateReport, rotate_images
from joytag_desktop.library import Library

log = logging.getLogger("joytag_desktop.gui")
MESSAGE_MS = 5000
# Lightroom's keys for the quarter turns; the mirrors' keys clash with nothing in the window.
SHORTCUTS = {"90": "Ctrl+]", "270": "Ctrl+[", "flip": "Ctrl+Shift+H"}


class RotationController(QObject):
    """Turns images; ``rotated(ids)`` says which images' pictures are shown otherwise now."""

    rotated = Signal(list)

    def __init__(self, context: WindowContext, results: ResultsPanel) -> None:
        super().__init__(context.window)
        self.context = context
        self.grid, self.grid_model = results.grid, results.grid_model

    def labels(self) -> dict[str, str]:
        return {
            "90": self.tr("Rotate right (clockwise)"),
            "270": self.tr("Rotate left (counter-clockwise)"),
            "180": self.tr("Rotate 180°"),
            "flip": self.tr("Flip horizontally"),
            "flip-vertical": self.tr("Flip vertically"),
        }

    def fill_menu(self, menu: QMenu, shortcuts: bool = True) -> list[QAction]:
        """The rotate actions for the grid's selection, with their shortcuts (the Edit menu's; a
        context menu's copies would make each key ambiguous)."""
        actions = []
        for transform, label in self.labels().items():
            action = menu.addAction(label)
            action.triggered.connect(partial(self.rotate_selection, transform))
            if shortcuts and transform in SHORTCUTS:
                action.setShortcut(QKeySequence(SHORTCUTS[transform]))
            actions.append(action)
        return actions

    def rotate_selection(self, transform: str) -> None:
        ids = self.grid.selected_ids()
        if not ids:
            self.context.status_bar.showMessage(self.tr("Select images in the grid first"), MESSAGE_MS)
            return
        paths = {}
        for image_id in ids:
            row = self.grid_model.row_of(image_id)
            if row is not None:
                paths[image_id] = self.grid_model.rows[row][1]
        self.rotate(list(paths.values()), transform)

    def rotate(self, paths: list[str], transform: str) -> None:
        """Turn these files on the writer (a job the status bar shows with Cancel)."""
        if not paths:
            return
        title = self.tr("Rotating %Ln image(s)", "", len(paths))
        self.context.jobs.submit(
            title,
            partial(_rotate, self.context.library, paths, transform),
            self._done,
            self.context.show_error,
        )

    def _done(self, report: RotateReport, job: Job) -> None:
        # A file turned in itself has a new content hash: the search's refresh reads its thumbnail
        # again. One turned in its sidecar keeps its hash, and its thumbnail is dropped here.
        self.grid_model.forget_thumbnails(report.same_file_ids)
        if report.errors:
            path, reason = report.errors[0]
            more = len(report.errors) - 1
            text = self.tr("Not rotated: {path}: {reason}").format(path=path, reason=reason)
            if more:
                text += " " + self.tr("(and %Ln more)", "", more)
            log.warning("%s", text)
        else:
            text = self.tr("Rotated %Ln image(s); they will be tagged again", "", len(report.rotated))
        self.context.status_bar.showMessage(text, MESSAGE_MS)
        self.rotated.emit(report.image_ids)


def _rotate(library: Library, paths: list[str], transform: str, job: Job) -> RotateReport:
    """On the writer: each file turned, the library told; stops at Cancel between files."""
    total = len(paths)

    def progress(done: int) -> bool:
        job.progress(done, total)
        return not job.cancel.is_set()

    report = rotate_images(library, paths, transform, progress)
    job.progress(total, total)
    return report
