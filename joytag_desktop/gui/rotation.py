"""Rotating and mirroring from the window: the grid's selection (Edit ▸ Rotate, Ctrl+] and Ctrl+[
as in Lightroom) and the viewer's picture, by the orientation flag only (``interchange.rotation``).

The files are written on the window's writer, as a long job with progress and Cancel; the grid's
thumbnails of the images turned are read again, and the viewer shows its picture turned. Each
rotation is an edit on the undo stack (``gui.undo``): Undo turns back the files it turned, by the
inverse transform, and after a Cancel only those it reached; Redo turns those again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from joytag_desktop.gui import undo
from joytag_desktop.gui.context import WindowContext
from joytag_desktop.gui.i18n import number
from joytag_desktop.gui.long_work import Job, LongWork
from joytag_desktop.gui.results import ResultsPanel
from joytag_desktop.interchange.rotation import RotateReport, rotate_images
from joytag_desktop.library import Library
from joytag_desktop.media.orientation import INVERSE

if TYPE_CHECKING:
    from joytag_desktop.library.scanner import ScanReport

log = logging.getLogger("joytag_desktop.gui")
MESSAGE_MS = 5000
# Lightroom's keys for the quarter turns; the mirrors' keys clash with nothing in the window.
SHORTCUTS = {"90": "Ctrl+]", "270": "Ctrl+[", "flip": "Ctrl+Shift+H"}


@dataclass
class Turned:
    """What one run of a rotation edit did: ``undone`` for the run of its Undo."""

    report: RotateReport
    undone: bool = False


class RotationController(QObject):
    """Turns images; ``rotated(ids)`` says which images' pictures are shown otherwise now, and
    ``turned_elsewhere(ids)`` which ones another program turned (seen by a rescan or the watcher)."""

    rotated = Signal(list)
    turned_elsewhere = Signal(list)  # image ids another program turned (already queued for tagging)

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
        """Turn these files on the writer (a job the status bar shows with Cancel), as an edit that
        Edit ▸ Undo takes back."""
        if not paths:
            return
        text = self.tr("{turn}: %Ln image(s)", "", len(paths)).format(turn=self.labels()[transform])
        context = self.context
        context.undo_stack.push(
            rotation_edit(context.library, context.jobs, text, paths, transform, self._done, context.show_error)
        )

    def follow(self, report: ScanReport) -> None:
        """A rescan or the watcher found images another program turned in their sidecar (same file,
        same hash): their thumbnails are read again and the viewer shows them turned."""
        if report.turned_ids:
            self.grid_model.forget_thumbnails(report.turned_ids)
            self.turned_elsewhere.emit(report.turned_ids)

    def _done(self, turned: Turned, job: Job) -> None:
        # A file turned in itself has a new content hash: the search's refresh reads its thumbnail
        # again. One turned in its sidecar keeps its hash, and its thumbnail is dropped here.
        report = turned.report
        self.grid_model.forget_thumbnails(report.same_file_ids)
        if report.errors:
            path, reason = report.errors[0]
            more = len(report.errors) - 1
            text = self.tr("Not rotated: {path}: {reason}").format(path=path, reason=reason)
            if more:
                text += " " + self.tr("(and %Ln more)", "", more)
            log.warning("%s", text)
        elif turned.undone:
            text = self.tr("Turned back %Ln image(s); they will be tagged again", "", len(report.rotated))
        elif job.cancelled:
            text = self.tr("Rotating stopped after {done} of {total} (Edit ▸ Undo turns them back)").format(
                done=number(job.done), total=number(job.total)
            )
        else:
            text = self.tr(
                "Rotated %Ln image(s); they will be tagged again (Edit ▸ Undo turns them back)", "", len(report.rotated)
            )
        self.context.status_bar.showMessage(text, MESSAGE_MS)
        self.rotated.emit(report.image_ids)


def rotation_edit(
    library: Library,
    jobs: LongWork,
    text: str,
    paths: list[str],
    transform: str,
    done: Callable[[Turned, Job], None],
    failed: Callable[[Exception], None],
) -> undo.BulkCommand:
    """Turn ``paths`` by ``transform``; undo turns back, by the inverse, the files the run turned
    (after a Cancel: those it reached, no more), and a redo turns those again."""
    targets = list(paths)

    def apply(job: Job) -> Turned:
        report = _rotate(library, targets, transform, job)
        targets[:] = [path for path, _, _ in report.rotated]  # what the undo takes back
        return Turned(report)

    def revert(job: Job) -> Turned:
        return Turned(_rotate(library, targets, INVERSE[transform], job), undone=True)

    return undo.BulkCommand(text, jobs, apply, revert, done, failed)


def _rotate(library: Library, paths: list[str], transform: str, job: Job) -> RotateReport:
    """On the writer: each file turned, the library told; stops at Cancel between files."""
    total = len(paths)

    def progress(done: int) -> bool:
        job.progress(done, total)
        return not job.cancel.is_set()

    report = rotate_images(library, paths, transform, progress)
    job.progress(len(report.rotated) + len(report.errors), total)  # after a Cancel: where it stopped
    return report
