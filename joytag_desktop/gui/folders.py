"""The folder tree: library roots with their sub-folders and image counts; a click filters the grid.

The tree is built from ``(folder, count)`` rows the library gives (off the GUI thread); a root's
tick box says whether it is watched for changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from joytag_desktop.gui.i18n import number
from joytag_desktop.gui.tree_items import child_items, top_level_items

FOLDER_ROLE = Qt.ItemDataRole.UserRole
ROOT_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass
class FolderNode:
    path: str
    own: int = 0  # images directly in this folder
    children: dict[str, FolderNode] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.own + sum(child.total for child in self.children.values())


def build_tree(root_paths: list[str], counts: list[tuple[str, int]]) -> dict[str, FolderNode]:
    """Nest folder counts under their roots (pure Python, run off the GUI thread)."""
    roots = {path: FolderNode(path) for path in root_paths}
    for folder, count in counts:
        root = max((r for r in roots if folder == r or folder.startswith(r.rstrip("/") + "/")), key=len, default=None)
        if root is None:
            continue
        node = roots[root]
        relative = folder[len(root) :].strip("/")
        if relative:
            for part in relative.split("/"):
                child_path = os.path.join(node.path, part)
                node = node.children.setdefault(part, FolderNode(child_path))
        node.own += count
    return roots


class FolderPanel(QWidget):
    """Roots and folders; emits ``folder_chosen(path)`` ("" for the whole library)."""

    folder_chosen = Signal(str)
    watch_toggled = Signal(str, bool)  # root path, watched
    add_requested = Signal()
    remove_requested = Signal(str)  # root path
    locate_requested = Signal(str)  # root path: it is somewhere else on this machine
    rescan_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setToolTip(
            self.tr("Click a folder to show its images; tick a library folder to watch it for changes")
        )
        self.tree.itemChanged.connect(self._item_changed)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.currentItemChanged.connect(self._current_changed)
        self.add_button = QPushButton(self.tr("Add…"))
        self.add_button.setToolTip(self.tr("Add a folder to the library (or drop one on the window)"))
        self.remove_button = QPushButton(self.tr("Remove"))
        self.remove_button.setToolTip(self.tr("Remove the selected library folder (the files are not touched)"))
        self.rescan_button = QPushButton(self.tr("Rescan"))
        self.add_button.clicked.connect(self.add_requested)
        self.remove_button.clicked.connect(self._remove_clicked)
        self.rescan_button.clicked.connect(self.rescan_requested)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.rescan_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(self.tr("<b>Folders</b>")))
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self.current_folder = ""
        self._filling = False

    def fill(self, roots: list[tuple[str, bool, bool]], counts: list[tuple[str, int]]) -> None:
        """``roots``: (path, watched, online); ``counts``: (folder, images directly in it)."""
        expanded = {item.data(0, FOLDER_ROLE) for item in self._all_items() if item.isExpanded()} or {
            path for path, _, _ in roots
        }
        self._filling = True
        self.tree.clear()
        nodes = build_tree([path for path, _, _ in roots], counts)
        everything = QTreeWidgetItem(
            [self.tr("All folders ({count})").format(count=number(sum(n.total for n in nodes.values())))]
        )
        everything.setData(0, FOLDER_ROLE, "")
        self.tree.addTopLevelItem(everything)
        select = everything
        for path, watched, online in roots:
            node = nodes[path]
            label = f"{os.path.basename(path.rstrip('/')) or path} ({number(node.total)})"
            if not online:
                label += " " + self.tr("(offline)")
            item = QTreeWidgetItem([label])
            item.setData(0, FOLDER_ROLE, path)
            item.setData(0, ROOT_ROLE, path)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Checked if watched else Qt.CheckState.Unchecked)
            state = self.tr("watched for changes") if watched else self.tr("not watched")
            tip = f"{path}\n{state}"
            if not online:
                tip += "\n" + self.tr(
                    "Not found on this computer. If the drive is mounted somewhere else, right-click the "
                    "folder and choose Locate on this computer…"
                )
            item.setToolTip(0, tip)
            self.tree.addTopLevelItem(item)
            self._add_children(item, node, expanded)
            item.setExpanded(path in expanded)
        for item in self._all_items():
            if item.data(0, FOLDER_ROLE) == self.current_folder:
                select = item
        self.tree.setCurrentItem(select)
        self._filling = False
        if select.data(0, FOLDER_ROLE) != self.current_folder:  # the chosen folder is gone
            self.current_folder = ""
            self.folder_chosen.emit("")

    def _add_children(self, parent: QTreeWidgetItem, node: FolderNode, expanded: set[str]) -> None:
        for name in sorted(node.children, key=str.casefold):
            child = node.children[name]
            item = QTreeWidgetItem([f"{name} ({number(child.total)})"])
            item.setData(0, FOLDER_ROLE, child.path)
            item.setToolTip(0, child.path)
            parent.addChild(item)
            self._add_children(item, child, expanded)
            item.setExpanded(child.path in expanded)

    def _all_items(self) -> list[QTreeWidgetItem]:
        items: list[QTreeWidgetItem] = []
        stack = top_level_items(self.tree)
        while stack:
            item = stack.pop()
            items.append(item)
            stack.extend(child_items(item))
        return items

    def selected_root(self) -> str | None:
        return self._root_of(self.tree.currentItem())

    @staticmethod
    def _root_of(item: QTreeWidgetItem | None) -> str | None:
        """The library folder an item of the tree belongs to (None: "All folders", or nothing)."""
        while item is not None and item.data(0, ROOT_ROLE) is None:
            item = item.parent()
        return item.data(0, ROOT_ROLE) if item is not None else None

    def _context_menu(self, position) -> None:
        root = self._root_of(self.tree.itemAt(position))  # a subfolder offers its library folder
        if not root:
            return
        menu = QMenu(self)
        locate = menu.addAction(self.tr("Locate on this computer…"))
        locate.setToolTip(self.tr("The same photos are at another path here (another mount point or drive letter)"))
        locate.triggered.connect(lambda: self.locate_requested.emit(root))
        menu.exec(self.tree.viewport().mapToGlobal(position))

    def _remove_clicked(self) -> None:
        root = self.selected_root()
        if root:
            self.remove_requested.emit(root)

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._filling or item.data(0, ROOT_ROLE) is None:
            return
        self.watch_toggled.emit(item.data(0, ROOT_ROLE), item.checkState(0) == Qt.CheckState.Checked)

    def _current_changed(self, current: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        if self._filling or current is None:
            return
        folder = current.data(0, FOLDER_ROLE) or ""
        if folder != self.current_folder:
            self.current_folder = folder
            self.folder_chosen.emit(folder)

    def choose(self, folder: str) -> None:
        for item in self._all_items():
            if item.data(0, FOLDER_ROLE) == folder:
                self.tree.setCurrentItem(item)
                return
