"""The search area telling the user what it does: completion that lets a score qualifier follow,
Safe view saying what it hides, a chosen model folder recognised (pytest-qt, real widgets)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt

from helpers.gui import close_window, tagged_window


def test_a_completed_tag_takes_a_score_qualifier(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    window.activateWindow()
    bar = window.search_bar
    bar.line.setFocus()
    bar.line.clear()
    tag = library.tag_counts(0.4)[0][0]
    qtbot.keyClicks(bar.line, tag[:2])
    qtbot.waitUntil(bar.completer.popup().isVisible, timeout=5000)
    qtbot.keyClick(bar.completer.popup(), Qt.Key.Key_Down)
    qtbot.keyClick(bar.completer.popup(), Qt.Key.Key_Return)
    completed = bar.line.text()
    assert completed.endswith(" "), "a completion leaves room for the next word"
    qtbot.keyClicks(bar.line, ":>0.88")
    assert bar.line.text() == completed[:-1] + ":>0.88"
    assert bar.line.cursorPosition() == len(bar.line.text())
    # Any other word after a completion keeps the space.
    bar.line.clear()
    qtbot.keyClicks(bar.line, tag[:2])
    qtbot.waitUntil(bar.completer.popup().isVisible, timeout=5000)
    qtbot.keyClick(bar.completer.popup(), Qt.Key.Key_Down)
    qtbot.keyClick(bar.completer.popup(), Qt.Key.Key_Return)
    completed = bar.line.text()
    qtbot.keyClicks(bar.line, "-x")
    assert bar.line.text() == completed + "-x"
    close_window(qtbot, window)
