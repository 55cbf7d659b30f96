"""Holding a navigation key in the grid: its repeats are added up, so the view stops with the key."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from joytag_desktop.gui.grid import ImageGridModel, ThumbnailGrid

ROWS = 3000


def _grid(qtbot) -> ThumbnailGrid:
    model = ImageGridModel()
    model.set_rows([(i, f"/nowhere/{i:05}.jpg", None, "tagged") for i in range(1, ROWS + 1)])
    grid = ThumbnailGrid()
    grid.setModel(model)
    model.setParent(grid)
    qtbot.addWidget(grid)
    grid.resize(900, 700)
    grid.show()
    qtbot.waitExposed(grid)
    grid.setCurrentIndex(model.index(0))
    return grid


def _press(grid: ThumbnailGrid, key: Qt.Key, modifiers=Qt.KeyboardModifier.NoModifier, repeat: bool = True) -> None:
    """What the window system sends while a key is held: a release and a press, both marked auto-repeat."""
    if repeat:
        QApplication.sendEvent(grid, QKeyEvent(QEvent.Type.KeyRelease, key, modifiers, "", True))
    QApplication.sendEvent(grid, QKeyEvent(QEvent.Type.KeyPress, key, modifiers, "", repeat))


def _changes(grid: ThumbnailGrid) -> list[int]:
    """Counts selection changes: each one is a details request in the window (SelectionController.update)."""
    seen: list[int] = []
    grid.selectionModel().selectionChanged.connect(lambda *_: seen.append(grid.currentIndex().row()))
    return seen


def _reference(qtbot, key: Qt.Key, presses: int, modifiers=Qt.KeyboardModifier.NoModifier) -> tuple[int, list[int]]:
    """Where ``presses`` separate presses, each handled in full, lead (what the held key must reach)."""
    grid = _grid(qtbot)
    for _ in range(presses):
        _press(grid, key, modifiers, repeat=False)
        QCoreApplication.processEvents()
    return grid.currentIndex().row(), sorted(i.row() for i in grid.selectionModel().selectedIndexes())


@pytest.mark.parametrize("key", [Qt.Key.Key_PageDown, Qt.Key.Key_Down, Qt.Key.Key_Right])
def test_a_burst_of_repeats_is_one_move_to_the_right_place(qtbot, key: Qt.Key) -> None:
    expected, _ = _reference(qtbot, key, 1 + 40)
    grid = _grid(qtbot)
    changes = _changes(grid)
    _press(grid, key, repeat=False)  # the first press moves at once
    QCoreApplication.processEvents()
    assert len(changes) == 1 and changes[0] > 0
    for _ in range(40):  # the repeats that queued up while that move's work was done
        _press(grid, key)
    assert grid.currentIndex().row() == changes[0]  # nothing moved yet
    qtbot.waitUntil(lambda: grid.currentIndex().row() == expected, timeout=5000)
    QCoreApplication.processEvents()
    assert len(changes) == 2  # one more selection change (one details request), not 40
    assert grid.selectionModel().selectedIndexes() == [grid.model().index(expected, 0)]


def test_repeats_between_frames_move_once_a_frame(qtbot) -> None:
    key = Qt.Key.Key_PageDown
    expected, _ = _reference(qtbot, key, 60)
    grid = _grid(qtbot)
    changes = _changes(grid)
    for frame in range(6):  # six turns of the event loop, ten repeats queued before each
        for _ in range(10):
            _press(grid, key, repeat=frame > 0 or _ > 0)
        QCoreApplication.processEvents()
    qtbot.waitUntil(lambda: grid.currentIndex().row() == expected, timeout=5000)
    assert len(changes) <= 7, changes


def test_shift_repeats_extend_the_selection_from_where_it_began(qtbot) -> None:
    key, shift = Qt.Key.Key_PageDown, Qt.KeyboardModifier.ShiftModifier
    expected, selected = _reference(qtbot, key, 25, shift)
    grid = _grid(qtbot)
    changes = _changes(grid)
    _press(grid, key, shift, repeat=False)
    for _ in range(24):
        _press(grid, key, shift)
    qtbot.waitUntil(lambda: grid.currentIndex().row() == expected, timeout=5000)
    assert sorted(i.row() for i in grid.selectionModel().selectedIndexes()) == selected
    assert selected[0] == 0 and len(selected) == expected + 1
    assert len(changes) == 2


def test_another_key_comes_after_the_repeats_it_follows(qtbot) -> None:
    expected_down, _ = _reference(qtbot, Qt.Key.Key_PageDown, 10)
    grid = _grid(qtbot)
    _press(grid, Qt.Key.Key_PageDown, repeat=False)
    for _ in range(9):
        _press(grid, Qt.Key.Key_PageDown)
    _press(grid, Qt.Key.Key_Right, repeat=False)  # handled at once, after the pending moves
    assert grid.currentIndex().row() == expected_down + 1
