"""The right-hand panel: preview, file facts, the threshold, and the tag editor for the selection."""

from __future__ import annotations

import html
import math
import os
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPixmap, QTextOption
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSlider,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from joytag_desktop.categories import RATINGS
from joytag_desktop.gui.categories import rating_label
from joytag_desktop.gui.marks_view import MarksEditor
from joytag_desktop.gui.messages import for_window, status_name
from joytag_desktop.gui.presets import fill_presets, show_preset
from joytag_desktop.gui.tag_editor import TagEditor
from joytag_desktop.library.records import SelectionTag, TagView
from joytag_desktop.library.schema import Image
from joytag_desktop.library.thresholds import PRESETS
from joytag_desktop.media.exif import camera_label
from joytag_desktop.metadata.marks import Marks


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)


def breakable(text: str, longest: int = 20) -> str:
    """``text`` with a zero-width space between the characters of any word over ``longest``
    characters, so a word-wrapping label can break a long path or file name too."""
    return " ".join("\u200b".join(word) if len(word) > longest else word for word in text.split(" "))


class FactsView(QTextEdit):
    """The file's facts as a table that wraps long names and paths anywhere (a QLabel's table grows
    past the panel instead, cutting every row), selectable and copied without inserted characters."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setStyleSheet("QTextEdit { background: transparent; }")
        self.viewport().setAutoFillBackground(False)
        self.document().setDocumentMargin(0)
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self._html = ""
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # selectable and copyable, not a stop for Tab

    def setText(self, text: str) -> None:
        self._html = text
        self.setHtml(text)

    def text(self) -> str:
        return self._html

    def _fit_height(self) -> None:
        """As tall as the text at the panel's width: no scroll bar, no blank space."""
        self.setFixedHeight(math.ceil(self.document().size().height()) + 2 * self.frameWidth())


class DetailsPanel(QWidget):
    """Shows the current image and edits tags on every selected image."""

    add_tag_requested = Signal(str)
    threshold_changed = Signal(float)
    preset_chosen = Signal(str)
    rating_chosen = Signal(str)  # a rating for the selection; "" gives the decision back to the models

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(240)
        self.views: list[TagView] = []
        self.selection_tags: list[SelectionTag] = []
        self.threshold = 0.4
        self.selection_count = 0

        self.preview = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumHeight(160)
        self.preview.setWordWrap(True)  # "cannot read /a/long/path…" wraps inside the panel (paths anywhere)
        self.preview.setMargin(4)  # the pixmap is scaled to the label less 8 px: it still fits
        self.preview.setStyleSheet("background: #2b2b2e; border-radius: 4px;")
        self.facts = FactsView()

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(1, 100)
        self.slider.setToolTip(self.tr("Lowest score that counts as a tag (tags with their own threshold keep it)"))
        self.slider_label = QLabel()
        self.presets = QComboBox()
        fill_presets(self.presets)
        self.slider.valueChanged.connect(self._slider_moved)
        self.presets.activated.connect(self._preset_activated)

        self.rating = QComboBox()
        self.rating.setToolTip(
            self.tr("The rating of the selected images: the models' rating outputs decide unless you set one")
        )
        self.rating.addItem(self.tr("Rating from the models"), "")
        for key in RATINGS:
            self.rating.addItem(rating_label(key), key)
        self.rating.activated.connect(lambda index: self.rating_chosen.emit(self.rating.itemData(index)))

        self.marks = MarksEditor()  # stars, colour label, pick (gui.marking)

        self.tags = TagEditor()
        self.new_tag = QLineEdit()
        self.new_tag.setPlaceholderText(self.tr("Add a tag to the selection…"))
        self.new_tag.setClearButtonEnabled(True)
        self.completer = QCompleter([], self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.new_tag.setCompleter(self.completer)
        self.add_button = QPushButton(self.tr("Add"))
        self.remove_button = QPushButton(self.tr("Remove selected tags"))
        self.new_tag.returnPressed.connect(self._add)
        self.add_button.clicked.connect(self._add)
        self.remove_button.clicked.connect(self.tags.remove_selected)

        threshold_row = QHBoxLayout()
        threshold_row.addWidget(QLabel(self.tr("Threshold")))
        threshold_row.addWidget(self.slider, 1)
        threshold_row.addWidget(self.slider_label)
        add_row = QHBoxLayout()
        add_row.addWidget(self.new_tag, 1)
        add_row.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.preview)
        layout.addWidget(self.facts)
        rating_rows = QGridLayout()  # the content rating, then stars, label and pick, tight together
        rating_rows.setVerticalSpacing(2)
        rating_rows.addWidget(QLabel(self.tr("Rating")), 0, 0)
        rating_rows.addWidget(self.rating, 0, 1)
        # Stars, label and pick name themselves ("5 ★", "Red", "Picked"): the whole row is theirs, so
        # "Unflagged" and "No stars" are not cut (a "Stars" heading also misnamed the label and pick).
        rating_rows.addWidget(self.marks, 1, 0, 1, 2)
        rating_rows.setColumnStretch(1, 1)  # the spanning row's width goes to the boxes, not the heading
        layout.addLayout(rating_rows)
        layout.addLayout(threshold_row)
        layout.addWidget(self.presets)
        layout.addWidget(self.tags, 1)
        layout.addLayout(add_row)
        layout.addWidget(self.remove_button)
        self.set_threshold(0.4)
        self.show_nothing()

    # --- threshold ----------------------------------------------------------------------------

    def set_threshold(self, value: float) -> None:
        self.threshold = value
        self.slider.blockSignals(True)
        self.slider.setValue(round(value * 100))
        self.slider.blockSignals(False)
        self.slider_label.setText(f"{value:.2f}")
        show_preset(self.presets, value)
        if self.selection_count == 1:
            self.tags.show_rows(self.tags.rows_for_image(self.views, value))

    def _slider_moved(self, value: int) -> None:
        self.set_threshold(value / 100)
        self.threshold_changed.emit(value / 100)

    def _preset_activated(self, index: int) -> None:
        key = self.presets.itemData(index)
        if key:
            self.set_threshold(PRESETS[key])
            self.preset_chosen.emit(key)

    # --- content ------------------------------------------------------------------------------

    def show_nothing(self, message: str = "") -> None:
        self.views = []
        self.selection_tags = []
        self.selection_count = 0
        self.preview.setPixmap(QPixmap())
        self.preview.setText(self.tr("No image selected"))
        self.facts.setText(message or self.tr("Select an image to see its tags."))
        self.tags.show_rows([])
        self.marks.show_marks(Marks())  # not the last image's stars and label, greyed
        self._enable_editing(False)

    def _enable_editing(self, enabled: bool) -> None:
        for widget in (self.new_tag, self.add_button, self.remove_button, self.tags, self.rating, self.marks):
            widget.setEnabled(enabled)

    def facts_rows(self, image: Image) -> list[tuple[str, str]]:
        taken = image.taken_at.strftime("%Y-%m-%d %H:%M") if image.taken_at else "—"
        width, height = image.displayed_size
        size = f"{width} × {height}" if width else "—"
        status = status_name(image.status) + (f": {for_window(image.error)}" if image.error else "")
        rows = [
            (self.tr("File"), Path(image.path).name),
            (self.tr("Folder"), os.path.dirname(image.path)),
            (self.tr("Size"), f"{size}, {human_size(image.size)}, {image.format or image.ext.upper()}"),
            (self.tr("Taken"), taken),
            (self.tr("Camera"), camera_label(image.camera_make, image.camera_model) or "—"),
            (self.tr("Status"), status),
            (self.tr("Rating"), self._rating_text(image)),
        ]
        if image.tagged_at:
            rows.append(
                (
                    self.tr("Tagged"),
                    self.tr("{when} by {model}").format(when=f"{image.tagged_at:%Y-%m-%d %H:%M}", model=image.model),
                )
            )
        return rows

    def _rating_text(self, image: Image) -> str:
        if image.rating is None:
            return self.tr("none (no model with rating outputs has tagged it)")
        name = self.rating.itemText(image.rating + 1)
        return self.tr("{rating} (set by hand)").format(rating=name) if image.rating_manual else name

    def _show_rating(self, image: Image) -> None:
        self.rating.setCurrentIndex(image.rating + 1 if image.rating_manual and image.rating is not None else 0)
        self.marks.show_marks(Marks(image.stars, image.label, image.pick))

    def _set_facts(self, rows: list[tuple[str, str]]) -> None:
        self.facts.setText(
            "<table>"
            + "".join(
                f"<tr><td style='color:#888;padding-right:8px'>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
                for k, v in rows
            )
            + "</table>"
        )

    def show_image(self, image: Image, views: list[TagView]) -> None:
        """One image selected: its tags, each with its bar."""
        self.views = views
        self.selection_tags = []
        self.selection_count = 1
        self._set_facts(self.facts_rows(image))
        self._show_rating(image)
        self.tags.show_rows(self.tags.rows_for_image(views, self.threshold))
        self._enable_editing(True)

    def show_selection(self, image: Image, tags: list[SelectionTag], count: int) -> None:
        """Several images selected: the union of their tags and how many have each; the facts of the current one."""
        self.views = []
        self.selection_tags = tags
        self.selection_count = count
        rows = [(self.tr("Selection"), self.tr("%Ln image(s) (tag edits apply to all)", "", count))]
        self._set_facts(rows + self.facts_rows(image))
        self._show_rating(image)
        self.tags.show_rows(self.tags.rows_for_selection(tags, count))
        self._enable_editing(True)

    def show_preview(self, pixmap: QPixmap | None, message: str = "") -> None:
        if pixmap is None or pixmap.isNull():
            self.preview.setPixmap(QPixmap())
            self.preview.setText(breakable(message) if message else self.tr("No preview"))
            return
        self.preview.setPixmap(
            pixmap.scaled(
                max(64, self.preview.width() - 8),
                max(150, self.preview.height() - 8),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )

    def present_tags(self) -> list[str]:
        return self.tags.present_tags()

    def show_edit(self, names: list[str], present: bool) -> None:
        """Show a tag edit at once, as the library will hold it once written (a bulk edit of many
        images takes a while; the library's answer replaces this when it lands)."""
        score = 1.0 if present else -1.0
        if self.views:
            views = {view.name: view for view in self.views}
            for name in names:
                view = views.get(name)
                views[name] = (
                    replace(view, score=score, source="manual")
                    if view is not None
                    else TagView(name, score, "manual", None, self.threshold, category="keyword")
                )
            self.views = list(views.values())
        elif self.selection_count > 1:
            count = self.selection_count
            tags = {tag.name: tag for tag in self.selection_tags}
            for name in names:
                tag = tags.get(name)
                if not present:
                    tags.pop(name, None)
                elif tag is not None:
                    tags[name] = replace(tag, count=count, manual=count, best_score=1.0)
                else:
                    tags[name] = SelectionTag(name, count, 1.0, count, self.threshold, False, "keyword")
            self.selection_tags = list(tags.values())
        # On the next turn of the event loop: the edit may come from a tick in the tag list itself,
        # whose item must outlive its own signal (rebuilding the list now would delete it under it).
        QTimer.singleShot(0, self._show_tags_again)

    def _show_tags_again(self) -> None:
        if self.views:
            self.tags.show_rows(self.tags.rows_for_image(self.views, self.threshold))
        elif self.selection_count > 1:
            self.tags.show_rows(self.tags.rows_for_selection(self.selection_tags, self.selection_count))

    def _add(self) -> None:
        name = self.new_tag.text().strip().replace(" ", "_")
        if name and self.selection_count:
            self.add_tag_requested.emit(name)
            self.new_tag.clear()
