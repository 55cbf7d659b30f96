"""The centre of the window: the search bar, what a search found, and the thumbnail grid.

``show_rows`` applies a refresh planned off the GUI thread and keeps the user's place: the image
at the top-left stays where it was (to the pixel), with the current image and the selection.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from joytag_desktop.gui.grid import IMAGE_ID_ROLE, MAX_ICON, MIN_ICON, ImageGridModel, RowPlan, ThumbnailGrid
from joytag_desktop.gui.panels import FirstRunPanel
from joytag_desktop.gui.safe_view import SafeViewNotice
from joytag_desktop.gui.search_bar import SearchBar


class ResultsPanel(QWidget):
    def __init__(self, complete: Callable, icon_size: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search_bar = SearchBar(complete)
        self.search_error = QLabel()
        self.search_error.setStyleSheet("color: #ff6b6b;")
        self.search_error.setWordWrap(True)
        self.search_error.hide()
        self.result_label = QLabel()
        self.result_label.setWordWrap(True)  # a search's notes are read whole, beside the slider
        self.safe_notice = SafeViewNotice()  # what Safe view leaves out of the results
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(MIN_ICON, MAX_ICON)
        self.size_slider.setMaximumWidth(140)
        self.size_slider.setToolTip(self.tr("Thumbnail size (Ctrl+wheel over the grid)"))
        self.legend = QLabel(
            self.tr(
                "<span style='color:#e6aa28'>●</span> waiting &nbsp; <span style='color:#dc3c3c'>●</span> failed"
                " &nbsp; <span style='color:#8c8c8c'>●</span> missing"
            )
        )
        self.legend.setToolTip(
            self.tr(
                "Marks on thumbnails: orange, waiting to be tagged; red, could not be read or tagged "
                "(search status:error); grey, the file is missing or its folder offline"
            )
        )
        self.first_run = FirstRunPanel()
        self.first_run.hide()
        self.empty_text = self.tr(
            "<h3>Your library is empty</h3><p>Press <b>Add…</b> under Folders (or File ▸ Add folder…), "
            "or drop a folder onto this window. JoyTag Desktop indexes it, tags the images in the "
            "background and keeps watching it for changes. Your files are never moved.</p>"
        )
        self.empty_state = QLabel(self.empty_text)
        self._no_folders = False
        self._found: int | None = None  # files found by the scans running; None: no scan runs
        self.empty_state.setWordWrap(True)
        # Under the search row, at the top: hidden with the grid, it takes the grid's room (its stretch)
        # so the search row is not pushed into the middle of an empty window.
        self.empty_state.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.empty_state.setContentsMargins(24, 32, 24, 0)
        self.empty_state.hide()
        self.grid_model = ImageGridModel(self)
        self.grid = ThumbnailGrid()
        self.grid.setModel(self.grid_model)
        self.grid.icon_size_changed.connect(self._icon_size_changed)
        self.size_slider.valueChanged.connect(self.grid.set_icon_size)
        self.size_slider.setValue(icon_size)
        self.grid.set_icon_size(icon_size)

        info = QHBoxLayout()
        info.addWidget(self.result_label, 1)
        info.addWidget(self.legend)
        info.addWidget(self.size_slider)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.search_bar)
        layout.addWidget(self.search_error)
        layout.addWidget(self.first_run)
        layout.addLayout(info)
        layout.addWidget(self.safe_notice)
        layout.addWidget(self.empty_state, 1)
        layout.addWidget(self.grid, 1)
        self.setMinimumWidth(2 * (MIN_ICON + 16) + 24)

    def _icon_size_changed(self, size: int) -> None:
        self.size_slider.blockSignals(True)
        self.size_slider.setValue(size)
        self.size_slider.blockSignals(False)

    def grow_thumbnails(self, step: int) -> None:
        self.size_slider.setValue(self.size_slider.value() + step)

    def set_library_empty(self, empty: bool) -> None:
        self._no_folders = empty
        self._show_state()

    def set_scanning(self, found: int) -> None:
        """Files found so far by the scans running (a negative count: none runs)."""
        self._found = found if found >= 0 else None
        self._show_state()

    def _show_state(self) -> None:
        """The grid, or in its place: the scan that is filling an empty library, or how to begin."""
        scanning_empty = self._found is not None and not self.grid_model.rows
        if scanning_empty:
            self.empty_state.setText(
                self.tr(
                    "<h3>Scanning…</h3><p>{count:,} files found. The images appear here as they are stored.</p>"
                ).format(count=self._found)
            )
        elif self._no_folders:
            self.empty_state.setText(self.empty_text)
        # Rows shown while the folder panel has not caught up with a scan's new folder stay shown.
        empty = scanning_empty or (self._no_folders and self._found is None and not self.grid_model.rows)
        self.empty_state.setVisible(empty)
        self.grid.setVisible(not empty)

    def show_count(self, count: int, warnings: list[str]) -> None:
        self.search_error.hide()
        note = " — " + "; ".join(warnings) if warnings else ""
        self.result_label.setText(self.tr("%Ln image(s)", "", count) + note)

    def show_no_match_yet(self, word: str) -> None:
        self.result_label.setText(self.tr("Nothing matches “{word}” yet: keep typing or press Enter").format(word=word))

    def show_query_error(self, message: str, position: int, query: str) -> None:
        self.search_error.setText(
            self.tr("{message} — at position {position}: …{context}…").format(
                message=message, position=position + 1, context=query[max(0, position - 10) : position + 10]
            )
        )
        self.search_error.show()
        self.result_label.setText(
            self.tr("Still showing the previous results (%Ln image(s))", "", len(self.grid_model.rows))
        )

    def show_search_problem(self, message: str) -> None:
        """A search that cannot run (no text model for words): the message, the old results kept."""
        self.search_error.setText(message)
        self.search_error.show()
        self.result_label.setText(
            self.tr("Still showing the previous results (%Ln image(s))", "", len(self.grid_model.rows))
        )

    def show_rows(self, plan: RowPlan, refresh: bool) -> bool:
        """Apply ``plan``; ``refresh``: the same search again, so the place is kept to the pixel.

        Returns whether the selection (or the current image's row) changed.
        """
        grid, model = self.grid, self.grid_model
        selected_before = grid.selected_ids()
        current = grid.currentIndex()
        current_id = current.data(IMAGE_ID_ROLE) if current.isValid() else None
        anchor_row = grid.top_left_row()
        anchor_id = model.rows[anchor_row][0] if anchor_row is not None else None
        anchor_top = grid.visualRect(model.index(anchor_row)).top() if anchor_row is not None else 0
        grid.fit_layout(len(plan.rows))
        kind = model.apply_plan(plan)
        if kind == "reset":
            grid.restore_selection(selected_before, current_id)
        anchor_now = model.row_of(anchor_id) if anchor_id is not None else None
        if refresh and anchor_now is not None:
            bar = grid.verticalScrollBar()
            bar.setValue(bar.value() + grid.visualRect(model.index(anchor_now)).top() - anchor_top)
        elif not refresh and kind == "reset":
            current_row = model.row_of(current_id) if current_id is not None else None
            if current_row is not None:
                grid.scrollTo(model.index(current_row))
            else:
                grid.scrollToTop()
        current_row = model.row_of(current_id) if current_id is not None else None
        if self._found is not None or self._no_folders:
            self._show_state()  # the first rows of a scan replace its message
        return grid.selected_ids() != selected_before or (current_row is not None and current_row in plan.changed)
