"""The items of a QTreeWidget as plain lists.

Qt's ``topLevelItem(i)`` and ``child(i)`` answer None for an index out of range; walked by their
counts they never do, and these lists say so to the type checker."""

from __future__ import annotations

from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem


def top_level_items(tree: QTreeWidget) -> list[QTreeWidgetItem]:
    return [item for i in range(tree.topLevelItemCount()) if (item := tree.topLevelItem(i)) is not None]


def child_items(parent: QTreeWidgetItem) -> list[QTreeWidgetItem]:
    return [item for i in range(parent.childCount()) if (item := parent.child(i)) is not None]
