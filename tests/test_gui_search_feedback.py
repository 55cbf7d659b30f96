"""The search area telling the user what it does: completion that lets a score qualifier follow,
Safe view saying what it hides, a chosen model folder recognised (pytest-qt, real widgets)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt

from helpers.gui import close_window, tagged_window
from helpers.library import give_scores


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


def rate(library, path, rating: str) -> None:
    """A rating model's opinion of one image (as WD or camie give one)."""
    vocab = ["rating:general", "rating:sensitive", "rating:questionable", "rating:explicit"]
    library.add_model("wd", format="wd", thresholds={"general": 0.35})
    give_scores(library, vocab, {path: {f"rating:{rating}": 0.9}}, model="wd", categories=["rating"] * 4)


def all_folders(window) -> str:
    return window.folders.tree.topLevelItem(0).text(0)


def test_safe_view_says_what_it_hides_and_folder_counts_follow(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    explicit = sorted(p for p in photos.iterdir() if p.is_file())[0]
    rate(library, explicit, "explicit")
    notice = window.results.safe_notice
    qtbot.waitUntil(lambda: all_folders(window) == "All folders (6)", timeout=10_000)
    assert not notice.isVisible()

    next(a for a in window.safe_view.modes.actions() if a.data() == "hide").trigger()
    window.safe_view.toggle.setChecked(True)
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 5, timeout=10_000)
    qtbot.waitUntil(notice.isVisible, timeout=10_000)
    assert notice.hidden == 1 and "1" in notice.label.text() and "Safe view" in notice.label.text()
    qtbot.waitUntil(lambda: all_folders(window) == "All folders (5)", timeout=10_000)
    assert window.folders.tree.topLevelItem(1).text(0).endswith("(5)"), "the library folder counts what is shown"

    window.search.search_for("-" + library.tag_counts(0.4)[0][0])  # fewer results: the count follows
    qtbot.waitUntil(lambda: window.search.shown_key is not None and window.search.shown_key.query != "", timeout=10_000)
    expected = library.count(f"-{library.tag_counts(0.4)[0][0]} rating:explicit")
    qtbot.waitUntil(lambda: notice.hidden == expected, timeout=10_000)
    assert notice.isVisible() == (expected > 0)

    window.search.search_for("")
    qtbot.waitUntil(notice.isVisible, timeout=10_000)
    qtbot.mouseClick(notice.button, Qt.MouseButton.LeftButton)  # Show them: Safe view goes off
    assert not window.safe_view.toggle.isChecked()
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 6, timeout=10_000)
    qtbot.waitUntil(lambda: not notice.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: all_folders(window) == "All folders (6)", timeout=10_000)
    close_window(qtbot, window)
