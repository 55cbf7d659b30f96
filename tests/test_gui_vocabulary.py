"""The tag vocabulary in the window (issue 34): the tag list's menu renames, merges, deletes, aliases
and implies, each undoable; a tag dragged from the list onto thumbnails adds it."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QEvent, QPointF, Qt, QTimer
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QInputDialog

from helpers.gui import close_window, open_window
from joytag_desktop.gui.tag_list import TAG_MIME


def _names(library, query: str) -> list[str]:
    return sorted(Path(image.path).name for image in library.images(library.search(query).ids))


def _window(qtbot, library, settings, photos: Path):
    library.add_root(photos)
    library.scan()
    ids = [image.id for image in library.images(library.search("").ids)]
    library.set_manual_tag(ids[:2], "kitty_cat", True)
    settings.model = ""  # nothing tags in the background: the test reads only the user's tags
    window = open_window(qtbot, library, settings)
    window.resize(1400, 900)
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 6, timeout=10_000)
    qtbot.waitUntil(lambda: "kitty_cat" in window.tag_panel.names(), timeout=10_000)
    return window, ids


def _answer_input(text: str) -> None:
    """Type ``text`` into the input dialog the menu opens, once it is up, and press OK."""

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QInputDialog):
            QTimer.singleShot(50, answer)
            return
        dialog.setTextValue(text)
        dialog.accept()

    QTimer.singleShot(50, answer)


def _trigger(window, tag: str, label: str) -> None:
    menu = window.tag_panel.menu_for(tag)
    action = next(a for a in menu.actions() if a.text() == label)
    action.trigger()


def test_the_tag_lists_menu_renames_aliases_and_implies_undoably(qtbot, library, settings, photos) -> None:
    window, _ = _window(qtbot, library, settings, photos)
    labels = [a.text() for a in window.tag_panel.menu_for("kitty_cat").actions()]
    for label in ("Rename…", "Merge into…", "Delete from all images…", "Alias to…", "Implies…"):
        assert label in labels
    before = _names(library, "kitty_cat")
    _answer_input("kitty")
    _trigger(window, "kitty_cat", "Rename…")
    qtbot.waitUntil(lambda: _names(library, "kitty") == before, timeout=10_000)
    assert _names(library, "kitty_cat") == []
    qtbot.waitUntil(lambda: "kitty" in window.tag_panel.names(), timeout=10_000)
    _answer_input("cat")
    _trigger(window, "kitty", "Alias to…")
    qtbot.waitUntil(lambda: library.vocabulary.aliases() == [("kitty", "cat")], timeout=10_000)
    qtbot.waitUntil(lambda: "cat" in window.tag_panel.names() and "kitty" not in window.tag_panel.names())
    window.vocabulary.imply("cat", "animal")
    qtbot.waitUntil(lambda: _names(library, "animal") == before, timeout=10_000)
    window.undo_stack.undo()  # the implication
    qtbot.waitUntil(lambda: _names(library, "animal") == [], timeout=10_000)
    window.undo_stack.undo()  # the alias
    qtbot.waitUntil(lambda: library.vocabulary.aliases() == [], timeout=10_000)
    window.undo_stack.undo()  # the rename
    qtbot.waitUntil(lambda: _names(library, "kitty_cat") == before and _names(library, "kitty") == [])
    window.vocabulary.delete("kitty_cat")
    qtbot.waitUntil(lambda: _names(library, "kitty_cat") == [], timeout=10_000)
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: _names(library, "kitty_cat") == before, timeout=10_000)
    close_window(qtbot, window)


def test_a_model_tag_cannot_be_renamed_and_says_why(qtbot, library, settings, photos, caplog) -> None:
    window, ids = _window(qtbot, library, settings, photos)
    from helpers.library import give_scores

    give_scores(library, ["sky"], {Path(library.image(ids[0]).path): {"sky": 0.9}})
    window.vocabulary.rename("sky", "heaven")
    # Said on the status bar and in the log; the log is read here, since the status bar's line may
    # already be taken by the next message ("No tagger model is installed", this test has none).
    qtbot.waitUntil(lambda: "(Alias to…)" in caplog.text, timeout=10_000)
    assert "tags alias" not in caplog.text.split("(Alias to…)")[0].splitlines()[-1]  # the window's menu, not the CLI
    assert not window.undo_stack.canUndo(), "nothing was renamed, so there is nothing to undo"
    close_window(qtbot, window)


def _drop(window, tag: str, row: int) -> None:
    """Drop ``tag``, dragged from the tag list's own line, on the grid's thumbnail at ``row``."""
    item = next(i for i in window.tag_panel.tag_items() if i.text(0).startswith(tag))
    data = window.tag_panel.list.mimeData([item])
    assert bytes(data.data(TAG_MIME).data()).decode() == tag
    centre = window.grid.visualRect(window.grid_model.index(row)).center()
    viewport = window.grid.viewport()
    for kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
        from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent

        cls = QDragEnterEvent if kind == QEvent.Type.DragEnter else QDragMoveEvent
        event = cls(centre, Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(viewport, event)
        assert event.isAccepted()
    drop = QDropEvent(
        QPointF(centre), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(viewport, drop)
    assert drop.isAccepted()


def test_dragging_a_tag_onto_thumbnails_adds_it(qtbot, library, settings, photos) -> None:
    window, _ = _window(qtbot, library, settings, photos)
    model = window.grid_model
    unselected = Path(library.image(model.index(4).data(Qt.ItemDataRole.UserRole + 1)).path).name
    _drop(window, "kitty_cat", 4)  # nothing selected: the thumbnail under the pointer
    qtbot.waitUntil(lambda: unselected in _names(library, "kitty_cat"), timeout=10_000)
    assert len(_names(library, "kitty_cat")) == 3
    window.grid.selectionModel().clearSelection()
    for row in (2, 3):
        window.grid.selectionModel().select(model.index(row), window.grid.selectionModel().SelectionFlag.Select)
    chosen = sorted(Path(library.image(i).path).name for i in window.grid.selected_ids())
    _drop(window, "kitty_cat", 3)  # onto the selection: every selected image
    qtbot.waitUntil(lambda: set(chosen) <= set(_names(library, "kitty_cat")), timeout=10_000)
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: len(_names(library, "kitty_cat")) == 3, timeout=10_000)
    close_window(qtbot, window)
