"""The viewer window as the grid's companion: it opens on a grid row, steps through the grid's
rows (the grid's current image follows it), and its pictures and tags load in the background.

The viewer is made on first use and kept (hidden when closed) for the window's life.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QObject, Signal
from PySide6.QtGui import QImage, QKeySequence, QShortcut

from joytag_desktop.gui.context import WindowContext
from joytag_desktop.gui.marks_view import marks_text
from joytag_desktop.gui.results import ResultsPanel
from joytag_desktop.gui.thresholds import ThresholdController
from joytag_desktop.gui.viewer import Viewer, decode_for_viewer
from joytag_desktop.library import Library


class ViewerController(QObject):
    """``rotate_requested(paths, transform)``: the viewer asked for its picture to be turned;
    ``mark_key(image_id, mark, value)``: a mark key was pressed in the viewer."""

    rotate_requested = Signal(list, str)
    mark_key = Signal(int, str, object)  # a mark key pressed in the viewer: its image, the mark, the value

    def __init__(self, context: WindowContext, results: ResultsPanel, thresholds: ThresholdController) -> None:
        super().__init__(context.window)
        self.context, self.thresholds = context, thresholds
        self.grid, self.grid_model = results.grid, results.grid_model
        self.viewer: Viewer | None = None
        self.grid.doubleClicked.connect(self.open)
        self.grid_model.dataChanged.connect(self._show_marks)  # a mark set (in the viewer too) shows there
        self.grid.activated_for_viewer.connect(self.open)

    def open(self, index: QModelIndex) -> None:
        """Show the image of grid row ``index`` in the viewer."""
        if not index.isValid():
            return
        if self.viewer is None:
            self.viewer = Viewer(
                self.grid_model.rowCount, self._row, self._load_picture, self.context.window, is_veiled=self._is_veiled
            )
            self.viewer.row_changed.connect(self._moved)
            self.viewer.rotate_requested.connect(self._rotate_shown)
            self.viewer.row_changed.connect(self._show_marks)
            self.viewer.mark_key.connect(self.mark_key)
            # The viewer is a window of its own: the Edit menu's keys do not reach it. Undo and
            # Redo work there too (a turn or a mark made full screen, taken back there).
            stack = self.context.undo_stack
            QShortcut(QKeySequence.StandardKey.Undo, self.viewer, stack.undo)
            QShortcut(QKeySequence.StandardKey.Redo, self.viewer, stack.redo)
        self.viewer.show_row(index.row())
        self.viewer.show()
        self.viewer.raise_()
        self.viewer.activateWindow()

    def _current_or_first(self) -> QModelIndex:
        index = self.grid.currentIndex()
        return index if index.isValid() else self.grid_model.index(0)

    def full_screen(self) -> None:
        """View ▸ Full screen: the current image, on the whole screen."""
        index = self._current_or_first()
        self.open(index)
        if self.viewer is not None and index.isValid():
            self.viewer.set_full_screen(True)

    def slideshow(self, interval_s: int, order: str) -> None:
        """View ▸ Slideshow: the current results from the current image, full screen."""
        index = self._current_or_first()
        self.open(index)
        if self.viewer is not None and index.isValid():
            self.viewer.start_slideshow(index.row(), interval_s * 1000, order)

    def reload(self, image_ids: list[int]) -> None:
        """These images were turned: the viewer shows its picture again if it is one of them."""
        viewer = self.viewer
        if viewer is not None and viewer.isVisible() and viewer.image_id in image_ids:
            viewer.show_row(viewer.row)

    def _rotate_shown(self, transform: str) -> None:
        viewer = self.viewer
        if viewer is not None and 0 <= viewer.row < self.grid_model.rowCount():
            self.rotate_requested.emit([self.grid_model.rows[viewer.row][1]], transform)

    def open_current(self) -> None:
        self.open(self.grid.currentIndex())

    def refresh_veil(self) -> None:
        """Safe view changed what is veiled: the picture shown follows."""
        if self.viewer is not None:
            self.viewer.refresh_veil()

    def close(self) -> None:
        if self.viewer is not None:
            self.viewer.close()

    def _row(self, row: int) -> tuple[int, str]:
        return self.grid_model.rows[row][0], self.grid_model.rows[row][1]

    def _show_marks(self, *_: object) -> None:
        viewer = self.viewer
        if viewer is not None and viewer.image_id is not None:
            viewer.marks.setText(marks_text(self.grid_model.marks_of(viewer.image_id)))

    def _is_veiled(self, image_id: int) -> bool:
        return image_id in self.grid_model.veiled

    def _moved(self, row: int) -> None:
        index = self.grid_model.index(row)
        self.grid.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.grid.scrollTo(index)

    def _load_picture(self, image_id: int, path: str) -> None:
        viewer = self.viewer
        if viewer is None:
            return
        background = self.context.background
        background.submit(
            partial(decode_for_viewer, path),
            partial(_picture_decoded, viewer, image_id),
            partial(_picture_failed, viewer, image_id),
        )
        background.submit(
            partial(_tags_present, self.context.library, image_id, self.thresholds.value),
            partial(viewer.tags_loaded, image_id),
        )


def _tags_present(library: Library, image_id: int, threshold: float) -> list[str]:
    """In the background: the viewer's tag line, the image's tags at the slider's threshold."""
    return [view.name for view in library.image_tags(image_id) if view.present_at(threshold)]


def _picture_decoded(viewer: Viewer, image_id: int, result: tuple[QImage, tuple[int, int]]) -> None:
    viewer.picture_loaded(image_id, *result)


def _picture_failed(viewer: Viewer, image_id: int, exc: Exception) -> None:
    viewer.picture_failed(image_id, str(exc))
