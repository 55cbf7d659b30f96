"""The left-hand tag list: the tags of the current results with how many results have each,
grouped by category (characters, series, artists, general…) in the category's colour."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QMimeData, QPoint, Qt, Signal
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import QLabel, QLineEdit, QMenu, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from joytag_desktop.gui.categories import category_colour, category_label, category_rank
from joytag_desktop.gui.grid import TAG_MIME
from joytag_desktop.gui.i18n import number
from joytag_desktop.gui.tree_items import child_items, top_level_items

TAG_ROLE = Qt.ItemDataRole.UserRole
CATEGORY_ROLE = Qt.ItemDataRole.UserRole + 1


class _TagTree(QTreeWidget):
    """The list itself: a tag line drags as its name (``TAG_MIME``, and plain text for other programs)."""

    def mimeTypes(self) -> list[str]:
        return [TAG_MIME, "text/plain"]

    def mimeData(self, items: Sequence[QTreeWidgetItem]) -> QMimeData:
        data = QMimeData()
        name = next((item.data(0, TAG_ROLE) for item in items if item.data(0, TAG_ROLE)), None)
        if name:
            data.setData(TAG_MIME, name.encode("utf-8"))
            data.setText(name)
        return data


class TagListPanel(QWidget):
    """Double-click adds a tag to the search; right-click searches, excludes or copies it.

    A group folded by the user stays folded across searches (people fold "General" to browse
    characters and series)."""

    search_tag = Signal(str)  # replace the search with this tag
    add_tag = Signal(str)  # add the tag to the search
    exclude_tag = Signal(str)  # add -tag to the search
    vocabulary_requested = Signal(str, str)  # (rename, merge, delete, alias or imply; tag)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(self.tr("<b>Tags in the results</b>"))
        # The left panel is 180 px by default: "(100,000 images)" goes to a second line, not off the edge.
        self.title.setWordWrap(True)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(self.tr("Filter tags…"))
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(lambda _: self._show())
        self.list = _TagTree()
        self.list.setDragEnabled(True)
        self.list.setDragDropMode(QTreeWidget.DragDropMode.DragOnly)
        self.list.setHeaderHidden(True)
        self.list.setRootIsDecorated(True)
        self.list.setUniformRowHeights(True)
        self.list.setToolTip(self.tr("Double-click (or Enter) to add the tag to the search; right-click for more"))
        self.list.itemActivated.connect(self._activated)
        self.list.itemCollapsed.connect(lambda item: self._folded.add(item.data(0, CATEGORY_ROLE)))
        self.list.itemExpanded.connect(lambda item: self._folded.discard(item.data(0, CATEGORY_ROLE)))
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.filter)
        layout.addWidget(self.list, 1)
        self._rows: list[tuple[str, int]] = []
        self._categories: dict[str, str] = {}
        self._folded: set[str] = set()

    def set_counts(self, rows: list[tuple[str, int]], results: int, categories: dict[str, str] | None = None) -> None:
        """``rows``: (tag, count) most frequent first; ``categories``: tag -> category (general if absent)."""
        self._rows = rows
        self._categories = categories or {}
        self.title.setText(self.tr("<b>Tags in the results</b> (%Ln image(s))", "", results))
        self._show()

    def _show(self) -> None:
        needle = self.filter.text().strip().lower()
        groups: dict[str, list[tuple[str, int]]] = {}
        for name, count in self._rows:
            if needle and needle not in name.lower():
                continue
            groups.setdefault(self._categories.get(name, "general"), []).append((name, count))
        self.list.setUpdatesEnabled(False)
        self.list.clear()
        for category in sorted(groups, key=category_rank):
            tags = groups[category]
            colour = category_colour(category)
            group = QTreeWidgetItem([f"{category_label(category)} ({number(len(tags))})"])
            group.setData(0, CATEGORY_ROLE, category)
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = QFont(group.font(0))
            font.setBold(True)
            group.setFont(0, font)
            group.setForeground(0, colour)
            group.addChildren([self._tag_item(name, count, colour) for name, count in tags])
            self.list.addTopLevelItem(group)
            group.setExpanded(category not in self._folded)
        self.list.setUpdatesEnabled(True)

    @staticmethod
    def _tag_item(name: str, count: int, colour) -> QTreeWidgetItem:
        item = QTreeWidgetItem([f"{name}  ({number(count)})"])
        item.setData(0, TAG_ROLE, name)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsDragEnabled)
        item.setForeground(0, colour)
        return item

    def tag_items(self) -> list[QTreeWidgetItem]:
        """The tag lines in display order (group headers left out)."""
        return [item for group in top_level_items(self.list) for item in child_items(group)]

    def names(self) -> list[str]:
        return [item.data(0, TAG_ROLE) for item in self.tag_items()]

    def groups(self) -> list[str]:
        return [group.data(0, CATEGORY_ROLE) for group in top_level_items(self.list)]

    def _activated(self, item: QTreeWidgetItem) -> None:
        name = item.data(0, TAG_ROLE)
        if name:
            self.add_tag.emit(name)

    def _menu(self, position: QPoint) -> None:
        item = self.list.itemAt(position)
        name = item.data(0, TAG_ROLE) if item is not None else None
        if not name:
            return
        self.menu_for(name).exec(self.list.viewport().mapToGlobal(position))

    def menu_for(self, name: str) -> QMenu:
        """The context menu of one tag line."""
        menu = QMenu(self)
        menu.addAction(self.tr("Search for “{tag}”").format(tag=name), lambda: self.search_tag.emit(name))
        menu.addAction(self.tr("Add to the search"), lambda: self.add_tag.emit(name))
        menu.addAction(self.tr("Exclude from the search"), lambda: self.exclude_tag.emit(name))
        menu.addSeparator()
        menu.addAction(self.tr("Copy tag"), lambda: QGuiApplication.clipboard().setText(name))
        menu.addSeparator()
        for action, label in (
            ("rename", self.tr("Rename…")),
            ("merge", self.tr("Merge into…")),
            ("delete", self.tr("Delete from all images…")),
            ("alias", self.tr("Alias to…")),
            ("imply", self.tr("Implies…")),
        ):
            menu.addAction(label, lambda action=action: self.vocabulary_requested.emit(action, name))
        return menu
