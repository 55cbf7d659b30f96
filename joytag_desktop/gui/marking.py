"""Setting stars, colour labels and picks from the window: the undoable edits that Lightroom's keys
(in the grid and the viewer, see ``gui.marks_view``) and the details panel's editor make, written
on the window's long-work queue (progress, Cancel) through ``library.marking``.

Keys: 1-5 stars, 0 no stars; 6-9 red, yellow, green, blue (the same key again takes the label
off); P picked, X rejected, U unflagged.
"""

from __future__ import annotations

import logging
from functools import partial

from PySide6.QtCore import QObject, Signal

from joytag_desktop.gui import undo
from joytag_desktop.gui.context import WindowContext
from joytag_desktop.gui.long_work import Job
from joytag_desktop.gui.marks_view import value_text

log = logging.getLogger("joytag_desktop.gui")
MESSAGE_MS = 4000


# --- the edits --------------------------------------------------------------------------------


class MarkingController(QObject):
    """Sets marks on the selected images (or the viewer's image), one undoable step each."""

    marked = Signal()  # marks changed: what the grid shows (and a search by stars) may change

    def __init__(self, context: WindowContext, grid, grid_model) -> None:
        super().__init__(context.window)
        self.context, self.library = context, context.library
        self.grid, self.grid_model = grid, grid_model

    def key_pressed(self, mark: str, value: object) -> None:
        """A key in the grid: marks the selected images."""
        self.key_pressed_on(self.grid.selected_ids(), mark, value)

    def key_pressed_on(self, ids: list[int] | int, mark: str, value: object) -> None:
        """A mark key for ``ids`` (the viewer's one image): the key of the label every one of them
        has already takes it off, as in Lightroom."""
        ids = [ids] if isinstance(ids, int) else ids
        if mark == "label" and ids and all(self.grid_model.marks_of(i).label == value for i in ids):
            value = None
        self.mark_images(ids, mark, value)

    def mark_selection(self, mark: str, value: object) -> None:
        self.mark_images(self.grid.selected_ids(), mark, value)

    def mark_images(self, ids: list[int], mark: str, value: object) -> None:
        if not ids:
            self.context.status_bar.showMessage(self.tr("Select images in the grid first"), MESSAGE_MS)
            return
        text = self.tr("%Ln image(s) → {value}", "", len(ids)).format(value=value_text(mark, value))
        context = self.context
        context.undo_stack.push(
            undo.mark_edit(
                self.library, context.jobs, text, ids, mark, value, partial(self._done, text), context.show_error
            )
        )

    def _done(self, text: str, _: object, job: Job) -> None:
        if job.cancelled:
            text = self.tr("{edit}: stopped after {done} of {total} (Edit ▸ Undo puts them back)").format(
                edit=text, done=job.done, total=job.total
            )
        log.info("%s", text)
        self.context.status_bar.showMessage(text, MESSAGE_MS)
        self.marked.emit()
