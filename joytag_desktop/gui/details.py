"""The right-hand panel: preview, file facts, tags with confidence bars, manual edits, thresholds."""

from __future__ import annotations

import html
import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSlider,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from joytag_desktop.library.library import TagView
from joytag_desktop.library.schema import Image
from joytag_desktop.library.thresholds import PRESETS

PRESET_LABELS = {"high-precision": "High precision", "balanced": "Balanced", "high-recall": "High recall"}


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)


class DetailsPanel(QWidget):
    """Shows one image (the current one) and edits tags on every selected image."""

    add_tag_requested = Signal(str)
    remove_tags_requested = Signal(list)  # tag names
    threshold_changed = Signal(float)
    preset_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(300)
        self.views: list[TagView] = []
        self.threshold = 0.4
        self.selection_count = 0

        self.preview = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumHeight(220)
        self.preview.setStyleSheet("background: #2b2b2e; border-radius: 4px;")
        self.facts = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(1, 100)
        self.slider.setToolTip("Lowest score that counts as a tag")
        self.slider_label = QLabel()
        self.presets = QComboBox()
        self.presets.addItem("Custom", "")
        for key in PRESETS:
            self.presets.addItem(f"{PRESET_LABELS[key]} ({PRESETS[key]:g})", key)
        self.slider.valueChanged.connect(self._slider_moved)
        self.presets.activated.connect(self._preset_activated)

        self.tags = QTreeWidget()
        self.tags.setHeaderLabels(["Tag", "Confidence", "Source"])
        self.tags.setRootIsDecorated(False)
        self.tags.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
        self.tags.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tags.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        self.tags.header().resizeSection(1, 90)
        self.tags.header().setStretchLastSection(False)  # the tag name gets the spare width

        self.tags.header().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)

        self.new_tag = QLineEdit(placeholderText="Add a tag to the selection…")
        self.new_tag.setClearButtonEnabled(True)
        self.completer = QCompleter([], self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.new_tag.setCompleter(self.completer)
        self.add_button = QPushButton("Add")
        self.remove_button = QPushButton("Remove selected tags")
        self.new_tag.returnPressed.connect(self._add)
        self.add_button.clicked.connect(self._add)
        self.remove_button.clicked.connect(self._remove)
        QShortcut(QKeySequence.StandardKey.Delete, self.tags, activated=self._remove)

        threshold_row = QHBoxLayout()
        threshold_row.addWidget(QLabel("Threshold"))
        threshold_row.addWidget(self.slider, 1)
        threshold_row.addWidget(self.slider_label)
        add_row = QHBoxLayout()
        add_row.addWidget(self.new_tag, 1)
        add_row.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.preview)
        layout.addWidget(self.facts)
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
        match = [
            i
            for i in range(self.presets.count())
            if self.presets.itemData(i) and abs(PRESETS[self.presets.itemData(i)] - value) < 1e-9
        ]
        self.presets.setCurrentIndex(match[0] if match else 0)
        self._fill_tags()

    def _slider_moved(self, value: int) -> None:
        self.set_threshold(value / 100)
        self.threshold_changed.emit(value / 100)

    def _preset_activated(self, index: int) -> None:
        key = self.presets.itemData(index)
        if key:
            self.set_threshold(PRESETS[key])
            self.preset_chosen.emit(key)

    # --- content ------------------------------------------------------------------------------

    def show_nothing(self) -> None:
        self.views = []
        self.selection_count = 0
        self.preview.setPixmap(QPixmap())
        self.preview.setText("No image selected")
        self.facts.setText("Select an image to see its tags.")
        self._fill_tags()
        self._enable_editing(False)

    def _enable_editing(self, enabled: bool) -> None:
        for widget in (self.new_tag, self.add_button, self.remove_button):
            widget.setEnabled(enabled)

    def show_image(self, image: Image, views: list[TagView], selection_count: int) -> None:
        self.views = views
        self.selection_count = selection_count
        taken = image.taken_at.strftime("%Y-%m-%d %H:%M") if image.taken_at else "—"
        camera = " ".join(filter(None, (image.camera_make, image.camera_model))) or "—"
        size = f"{image.width} × {image.height}" if image.width else "—"
        status = image.status if not image.error else f"{image.status}: {image.error}"
        rows = [
            ("File", Path(image.path).name),
            ("Folder", os.path.dirname(image.path)),
            ("Size", f"{size}, {human_size(image.size)}, {image.format or image.ext.upper()}"),
            ("Taken", taken),
            ("Camera", camera),
            ("Status", status),
        ]
        if image.tagged_at:
            rows.append(("Tagged", f"{image.tagged_at:%Y-%m-%d %H:%M} by {image.model}"))
        if selection_count > 1:
            rows.insert(0, ("Selection", f"{selection_count} images (tag edits apply to all)"))
        self.facts.setText(
            "<table>"
            + "".join(
                f"<tr><td style='color:#888;padding-right:8px'>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
                for k, v in rows
            )
            + "</table>"
        )
        self._fill_tags()
        self._enable_editing(True)

    def show_preview(self, pixmap: QPixmap | None, message: str = "") -> None:
        if pixmap is None or pixmap.isNull():
            self.preview.setPixmap(QPixmap())
            self.preview.setText(message or "No preview")
            return
        self.preview.setPixmap(
            pixmap.scaled(
                self.preview.width() - 8,
                max(200, self.preview.height() - 8),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )

    def _fill_tags(self) -> None:
        self.tags.clear()
        present = [v for v in self.views if self._present(v)]
        below = [v for v in self.views if not self._present(v) and v.score >= 0]
        removed = [v for v in self.views if v.score < 0]
        for view in present + below + removed:
            item = QTreeWidgetItem([view.name, "", view.source])
            item.setData(0, Qt.ItemDataRole.UserRole, view.name)
            shown = view.ai_score if view.score < 0 and view.ai_score is not None else view.score
            tip = f"model score {view.ai_score:.3f}" if view.ai_score is not None else "added by hand"
            item.setToolTip(0, f"{view.name}: {tip}; threshold {self._threshold_of(view):.2f}")
            if view.source == "manual":
                font = QFont(item.font(0))
                font.setBold(True)
                item.setFont(0, font)
                item.setText(2, "manual (removed)" if view.score < 0 else "manual")
            if not self._present(view):
                grey = QBrush(QColor(130, 130, 130))
                for column in range(3):
                    item.setForeground(column, grey)
            self.tags.addTopLevelItem(item)
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setValue(round(max(0.0, min(1.0, shown)) * 1000))
            bar.setFormat(f"{max(0.0, shown):.2f}")
            bar.setMaximumHeight(16)
            self.tags.setItemWidget(item, 1, bar)

    def _threshold_of(self, view: TagView) -> float:
        return view.threshold if view.overridden else self.threshold

    def _present(self, view: TagView) -> bool:
        return view.present_at(self.threshold)

    def present_tags(self) -> list[str]:
        return [v.name for v in self.views if self._present(v)]

    def _add(self) -> None:
        name = self.new_tag.text().strip().replace(" ", "_")
        if name:
            self.add_tag_requested.emit(name)
            self.new_tag.clear()

    def _remove(self) -> None:
        names = [item.data(0, Qt.ItemDataRole.UserRole) for item in self.tags.selectedItems()]
        if names:
            self.remove_tags_requested.emit(names)
