"""Stars, labels and picks in the window, with real widgets: Lightroom's keys in the grid and the
viewer, the details panel's editor, the marks painted on the thumbnails, and undo."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from helpers.gui import close_window, select_row, tagged_window
from joytag_desktop.gui.marks_view import LABEL_COLOURS, STAR_GOLD
from joytag_desktop.metadata.marks import Marks


def marks_of(window, row: int) -> Marks:
    image_id = window.grid_model.rows[row][0]
    return window.library.marks([image_id])[image_id]


def shown(window, row: int) -> Marks:
    """What the grid's row holds (what its thumbnail paints)."""
    return window.grid_model.marks_of(window.grid_model.rows[row][0])


def settle(qtbot, window, row: int, expected: Marks) -> None:
    """The edit is written, and the grid's next search shows it."""
    qtbot.waitUntil(lambda: marks_of(window, row) == expected, timeout=10_000)
    qtbot.waitUntil(lambda: shown(window, row) == expected, timeout=10_000)


def test_lightroom_keys_in_the_grid_and_undo(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    select_row(window, 0)
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_4)
    settle(qtbot, window, 0, Marks(4))
    qtbot.keyClick(window.grid, Qt.Key.Key_6)
    settle(qtbot, window, 0, Marks(4, "red"))
    qtbot.keyClick(window.grid, Qt.Key.Key_P)
    settle(qtbot, window, 0, Marks(4, "red", "picked"))
    qtbot.keyClick(window.grid, Qt.Key.Key_X)
    settle(qtbot, window, 0, Marks(4, "red", "rejected"))
    qtbot.keyClick(window.grid, Qt.Key.Key_6)  # the same label again takes it off
    settle(qtbot, window, 0, Marks(4, None, "rejected"))
    qtbot.keyClick(window.grid, Qt.Key.Key_U)
    settle(qtbot, window, 0, Marks(4))
    qtbot.keyClick(window.grid, Qt.Key.Key_0)
    settle(qtbot, window, 0, Marks())
    for expected in (Marks(4), Marks(4, None, "rejected"), Marks(4, "red", "rejected"), Marks(4, "red", "picked")):
        window.undo_stack.undo()
        settle(qtbot, window, 0, expected)
    window.undo_stack.redo()
    settle(qtbot, window, 0, Marks(4, "red", "rejected"))
    assert marks_of(window, 1) == Marks()  # only the selection
    qtbot.keyClick(window.grid, Qt.Key.Key_5, Qt.KeyboardModifier.ControlModifier)  # not a mark key
    qtbot.wait(300)
    assert marks_of(window, 0).stars == 4
    close_window(qtbot, window)


def test_details_panel_shows_and_sets_the_selection(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    window.grid.selectAll()
    editor = window.details.marks
    qtbot.waitUntil(editor.isEnabled, timeout=10_000)
    editor.stars.activated.emit(editor.stars.findData(3))
    editor.label.activated.emit(editor.label.findData("purple"))
    for row in range(6):
        settle(qtbot, window, row, Marks(3, "purple"))
    select_row(window, 2)
    qtbot.waitUntil(lambda: editor.stars.currentData() == 3 and editor.label.currentData() == "purple", timeout=10_000)
    editor.stars.activated.emit(editor.stars.findData(-1))
    settle(qtbot, window, 2, Marks(-1, "purple"))
    assert marks_of(window, 3) == Marks(3, "purple")
    window.undo_stack.undo()
    settle(qtbot, window, 2, Marks(3, "purple"))
    window.undo_stack.undo()
    for row in range(6):
        settle(qtbot, window, row, Marks(3))
    window.grid.clearSelection()  # no image: the boxes say nothing rather than the last image's marks
    qtbot.waitUntil(lambda: not editor.isEnabled(), timeout=10_000)
    assert [box.currentData() for box in (editor.stars, editor.label, editor.pick)] == [None, None, None]
    close_window(qtbot, window)


def test_viewer_keys_mark_its_image_and_z_is_actual_size(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    window.viewer.open(window.grid_model.index(1))
    viewer = window.viewer.viewer
    assert viewer is not None
    qtbot.waitUntil(viewer.isVisible)
    qtbot.waitUntil(lambda: not viewer.canvas.pixmap.isNull(), timeout=10_000)
    assert viewer.canvas.fit
    qtbot.keyClick(viewer, Qt.Key.Key_1)  # Lightroom's: one star (1:1 moved to Z)
    settle(qtbot, window, 1, Marks(1))
    assert viewer.canvas.fit  # not zoomed
    qtbot.keyClick(viewer, Qt.Key.Key_9)
    settle(qtbot, window, 1, Marks(1, "blue"))
    qtbot.waitUntil(lambda: viewer.marks.text() == "★  Blue", timeout=10_000)  # shown in the viewer too
    qtbot.keyClick(viewer, Qt.Key.Key_Z)
    assert not viewer.canvas.fit and viewer.canvas.zoom == 1.0
    assert marks_of(window, 1) == Marks(1, "blue") and marks_of(window, 0) == Marks()
    viewer.close()
    close_window(qtbot, window)


def _has_colour(image, rect, colour: QColor, tolerance: int = 40) -> bool:
    for y in range(rect.top(), rect.bottom(), 2):
        for x in range(rect.left(), rect.right(), 2):
            pixel = image.pixelColor(x, y)
            if all(abs(a - b) <= tolerance for a, b in zip(pixel.getRgb()[:3], colour.getRgb()[:3], strict=True)):
                return True
    return False


def test_thumbnails_show_stars_and_labels(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    ids = [row[0] for row in window.grid_model.rows]
    library.set_mark([ids[0]], "stars", 5)
    library.set_mark([ids[0]], "label", "green")
    window.search.refresh()
    qtbot.waitUntil(lambda: shown(window, 0) == Marks(5, "green"), timeout=10_000)
    qtbot.waitUntil(lambda: all(window.grid_model.has_thumbnail(i) for i in ids[:2]), timeout=20_000)
    window.grid.viewport().update()
    qtbot.wait(100)
    image = window.grid.viewport().grab().toImage()
    marked = window.grid.visualRect(window.grid_model.index(0))
    plain = window.grid.visualRect(window.grid_model.index(1))
    assert _has_colour(image, marked, STAR_GOLD, 30)
    assert _has_colour(image, marked, LABEL_COLOURS["green"], 20)
    assert not _has_colour(image, plain, STAR_GOLD, 30)
    close_window(qtbot, window)


def test_the_stars_plural_reaches_the_translators(tmp_path) -> None:
    """lupdate finds "%n star(s)" as a plural, so the status bar's "1 image → 5 stars" is
    translated and not left as "5 star(s)"."""
    import joytag_desktop.gui.marks_view as marks_view
    from helpers.translations import extracted

    plurals = {text: plural for (_, text), plural in extracted(marks_view.__file__, tmp_path).items()}
    assert plurals.get("%n star(s)") is True
