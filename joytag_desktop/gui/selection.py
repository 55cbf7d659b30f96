"""The images selected in the grid: their details and preview, and the edits made to them.

Details and previews are read on the background pool, and an answer for an image no longer
current is dropped; tag edits and ratings are undoable steps on the window's ordered writer.
"""

from __future__ import annotations

import logging
from functools import partial

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QPixmap

from joytag_desktop.gui import undo
from joytag_desktop.gui.categories import rating_label
from joytag_desktop.gui.context import WindowContext
from joytag_desktop.gui.details import DetailsPanel
from joytag_desktop.gui.grid import IMAGE_ID_ROLE
from joytag_desktop.gui.i18n import number
from joytag_desktop.gui.long_work import Job
from joytag_desktop.gui.results import ResultsPanel
from joytag_desktop.gui.veil import veiled_pixmap
from joytag_desktop.media.thumbnails import thumbnail_for

log = logging.getLogger("joytag_desktop.gui")
PREVIEW_SIZE = 512
MESSAGE_MS = 4000


class SelectionController(QObject):
    tags_edited = Signal()  # tags were added, removed or reset: the tag list counts again
    rated = Signal()  # ratings changed: what is shown may change (a search by rating, Safe view)
    retag_queued = Signal()  # images wait to be tagged again

    def __init__(self, context: WindowContext, results: ResultsPanel, details: DetailsPanel) -> None:
        super().__init__(context.window)
        self.context, self.library = context, context.library
        self.grid, self.grid_model, self.details = results.grid, results.grid_model, details
        self.current_image_id: int | None = None
        self._details_ids: list[int] = []
        self.grid.selectionModel().selectionChanged.connect(self.update)
        self.grid_model.modelReset.connect(self.update)
        details.add_tag_requested.connect(self.add_tag)
        details.tags.tag_set.connect(self.set_tag)
        details.tags.tags_removed.connect(self.remove_tags)
        details.tags.reset_requested.connect(self.reset_tags)
        details.rating_chosen.connect(self.choose_rating)

    # --- details and preview -----------------------------------------------------------------------

    def update(self, *_: object) -> None:
        """Show the details of the current image (or the first selected one) and of the selection."""
        ids = self.grid.selected_ids()
        current = self.grid.currentIndex()
        current_selected = current.isValid() and self.grid.selectionModel().isSelected(current)
        image_id = current.data(IMAGE_ID_ROLE) if current_selected else (ids[0] if ids else None)
        self._show_details(image_id, ids)

    def refresh(self) -> None:
        """Read the details again after a change (nothing when no image is shown)."""
        if self.current_image_id is not None:
            self.update()

    def _show_details(self, image_id: int | None, ids: list[int]) -> None:
        self.current_image_id = image_id
        self._details_ids = ids
        if image_id is None:
            self.details.show_nothing()
            return
        self.context.background.submit(
            partial(self._read_details, image_id, ids),
            partial(self._details_read, image_id, ids),
            self.context.show_error,
        )

    def _read_details(self, image_id: int, ids: list[int]) -> tuple:
        image = self.library.image(image_id)
        tags = self.library.selection_tags(ids) if len(ids) > 1 else self.library.image_tags(image_id)
        return image, tags, self.library.vocabulary.alias_targets(tag.name for tag in tags)

    def _details_read(self, image_id: int, ids: list[int], result: tuple) -> None:
        image, tags, aliases = result
        if image is None or image_id != self.current_image_id or ids is not self._details_ids:
            return  # the selection moved on meanwhile
        self.details.tags.alias_targets = aliases
        if len(ids) > 1:
            self.details.show_selection(image, tags, len(ids))
        else:
            self.details.show_image(image, tags)
        self._load_preview(image.path, image.content_hash)

    def _load_preview(self, path: str, content_hash: str | None) -> None:
        self.context.background.submit(
            partial(self._read_preview, path, content_hash),
            partial(self._preview_read, self.current_image_id),
            self._preview_failed,
        )

    def _read_preview(self, path: str, content_hash: str | None) -> QImage:
        image = QImage(str(thumbnail_for(path, content_hash, PREVIEW_SIZE)))
        if image.isNull():
            raise OSError(self.tr("cannot read the preview"))
        return image

    def _preview_read(self, image_id: int | None, image: QImage) -> None:
        if image_id == self.current_image_id:
            pixmap = QPixmap.fromImage(image)
            self.details.show_preview(veiled_pixmap(pixmap) if image_id in self.grid_model.veiled else pixmap)

    def _preview_failed(self, exc: Exception) -> None:
        self.details.show_preview(None, str(exc))

    # --- edits ---------------------------------------------------------------------------------------

    def add_tag(self, name: str) -> None:
        self.edit_tags([name], True)

    def set_tag(self, name: str, present: bool) -> None:
        self.edit_tags([name], present)

    def remove_tags(self, names: list[str]) -> None:
        self.edit_tags(names, False)

    def reset_tags(self, names: list[str]) -> None:
        self.edit_tags(names, None)

    def edit_tags(self, names: list[str], present: bool | None) -> None:
        """Add, remove or reset tags on every selected image, as one undoable step."""
        ids = self.grid.selected_ids()
        if not ids:
            self.context.status_bar.showMessage(self.tr("Select images in the grid first"), MESSAGE_MS)
            self.details.show_nothing()
            return
        tags = ", ".join(names)
        if present is None:
            text = self.tr("reset {tags} to the model on %Ln image(s)", "", len(ids)).format(tags=tags)
        elif present:
            text = self.tr("add {tags} to %Ln image(s)", "", len(ids)).format(tags=tags)
        else:
            text = self.tr("remove {tags} from %Ln image(s)", "", len(ids)).format(tags=tags)
        context = self.context
        context.undo_stack.push(
            undo.tag_edit(
                self.library, context.jobs, text, ids, names, present, partial(self._edited, text), context.show_error
            )
        )
        if present is not None:
            self.details.show_edit(names, present)  # at once; the writer's answer confirms it

    def _outcome(self, text: str, job: Job) -> str:
        """What an edit did, saying so when the user stopped it part way."""
        if not job.cancelled:
            return text
        return self.tr("{edit}: stopped after {done} of {total} (Edit ▸ Undo puts them back)").format(
            edit=text, done=number(job.done), total=number(job.total)
        )

    def _edited(self, text: str, _: object, job: Job) -> None:
        text = self._outcome(text, job)
        log.info("%s", text)
        self.context.status_bar.showMessage(text, MESSAGE_MS)
        self.update()
        self.tags_edited.emit()

    def choose_rating(self, rating: str) -> None:
        """The details panel's rating menu: "" gives the decision back to the models."""
        self.rate_selection(rating or None)

    def rate_selection(self, rating: str | None) -> None:
        """Set the rating of every selected image by hand (None: back to the models'), undoably."""
        ids = self.grid.selected_ids()
        if not ids:
            self.context.status_bar.showMessage(self.tr("Select images in the grid first"), MESSAGE_MS)
            return
        text = (
            self.tr("rating of %Ln image(s) → {rating}", "", len(ids)).format(rating=rating_label(rating))
            if rating
            else self.tr("rating of %Ln image(s) → from the models", "", len(ids))
        )
        context = self.context
        context.undo_stack.push(
            undo.rating_edit(
                self.library, context.jobs, text, ids, rating, partial(self._rated, text), context.show_error
            )
        )

    def _rated(self, text: str, _: object, job: Job) -> None:
        text = self._outcome(text, job)
        self.context.status_bar.showMessage(text, MESSAGE_MS)
        self.update()
        self.rated.emit()

    def retag_selection(self) -> None:
        """Queue the selection for tagging again: a long job (progress, Cancel) when it is big."""
        ids = self.grid.selected_ids()
        if ids:
            title = self.tr("retag %Ln image(s)", "", len(ids))
            self.context.jobs.submit(
                title,
                lambda job: self.library.retag(ids, None, job.progress, job.cancel),
                self._retag_queued,
                self.context.show_error,
            )

    def _retag_queued(self, count: int, job: Job) -> None:
        log.info("queued %d image(s) for retagging%s", count, " (stopped part way)" if job.cancelled else "")
        self.retag_queued.emit()
