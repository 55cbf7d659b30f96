"""The left-hand tag list: the tags of the current results with how many results have each."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QListWidgetItem, QMenu, QVBoxLayout, QWidget

TAG_ROLE = Qt.ItemDataRole.UserRole


class TagListPanel(QWidget):
    """Double-click adds a tag to the search; right-click searches, excludes or copies it."""

    search_tag = Signal(str)  # replace the search with this tag
    add_tag = Signal(str)  # add the tag to the search
    exclude_tag = Signal(str)  # add -tag to the search

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(self.tr("<b>Tags in the results</b>"))
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(self.tr("Filter tags…"))
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(lambda _: self._show())
        self.list = QListWidget()
        self.list.setToolTip(self.tr("Double-click (or Enter) to add the tag to the search; right-click for more"))
        self.list.itemActivated.connect(lambda item: self.add_tag.emit(item.data(TAG_ROLE)))
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.filter)
        layout.addWidget(self.list, 1)
        self._rows: list[tuple[str, int]] = []

    def set_counts(self, rows: list[tuple[str, int]], results: int) -> None:
        self._rows = rows
        self.title.setText(self.tr("<b>Tags in the results</b> ({count:,} images)").format(count=results))
        self._show()

    def _show(self) -> None:
        needle = self.filter.text().strip().lower()
        self.list.setUpdatesEnabled(False)
        self.list.clear()
        for name, count in self._rows:
            if needle and needle not in name.lower():
                continue
            item = QListWidgetItem(f"{name}  ({count:,})")
            item.setData(TAG_ROLE, name)
            self.list.addItem(item)
        self.list.setUpdatesEnabled(True)

    def names(self) -> list[str]:
        return [self.list.item(i).data(TAG_ROLE) for i in range(self.list.count())]

    def _menu(self, position: QPoint) -> None:
        item = self.list.itemAt(position)
        if item is None:
            return
        name = item.data(TAG_ROLE)
        menu = QMenu(self)
        menu.addAction(self.tr("Search for “{tag}”").format(tag=name), lambda: self.search_tag.emit(name))
        menu.addAction(self.tr("Add to the search"), lambda: self.add_tag.emit(name))
        menu.addAction(self.tr("Exclude from the search"), lambda: self.exclude_tag.emit(name))
        menu.addSeparator()
        menu.addAction(self.tr("Copy tag"), lambda: QGuiApplication.clipboard().setText(name))
        menu.exec(self.list.viewport().mapToGlobal(position))
