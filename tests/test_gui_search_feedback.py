"""The search area telling the user what it does: completion that lets a score qualifier follow,
Safe view saying what it hides, a chosen model folder recognised (pytest-qt, real widgets)."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from helpers.fixture_files import FIXTURES
from helpers.gui import close_window, open_window, tagged_window
from helpers.library import give_scores
from joytag_desktop.taggers.catalogue import CATALOGUE

WD_DIR = FIXTURES / "wd-format"


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


# --- Tagging ▸ Models… ▸ Choose folder… -------------------------------------------------------


def status_of(manager, name: str) -> str:
    row = [item.name for item in CATALOGUE].index(name)
    return manager.table.item(row, manager.table.columnCount() - 1).text()


def test_choosing_a_model_folder_says_what_it_holds_and_offers_to_tag(
    qtbot, library, settings, photos, tmp_path, monkeypatch
) -> None:
    wd = tmp_path / "my models" / "some-wd"
    shutil.copytree(WD_DIR / "wd-tiny-vit-tagger-v3", wd)
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "selected_tags.csv"):
        shutil.copy(wd / name, broken / name)
    window = tagged_window(qtbot, library, settings, photos)
    window.model_choice.open_manager()
    manager = window.model_choice.manager
    assert manager is not None
    qtbot.waitUntil(lambda: bool(manager.states), timeout=10_000)
    assert status_of(manager, "joytag") == "in use", "the settings' folder holds JoyTag"
    assert status_of(manager, "wd-vit-v3") == "not installed"

    # A folder missing its weights: refused in one line that names the missing files.
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(broken))
    qtbot.mouseClick(manager.choose_button, Qt.MouseButton.LeftButton)
    assert "Checking the folder" in manager.note.text() and manager.bar.isVisible(), "busy at once"
    assert not manager.choose_button.isEnabled()
    qtbot.waitUntil(lambda: "cannot tag" in manager.note.text(), timeout=10_000)
    assert "model.safetensors" in manager.note.text() and "\n" not in manager.note.text()
    assert not manager.bar.isVisible() and manager.choose_button.isEnabled()
    assert window.model_choice.offer is None

    # A WD folder of the user's own: recognised as the catalogue's wd-vit-v3, used, and the
    # library's images (JoyTag tagged them, WD has not) are offered to it.
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(wd))
    qtbot.mouseClick(manager.choose_button, Qt.MouseButton.LeftButton)
    assert "Checking the folder" in manager.note.text()
    qtbot.waitUntil(lambda: "Found" in manager.note.text(), timeout=10_000)
    assert "wd-vit-v3" in manager.note.text() and "WD" in manager.note.text()
    qtbot.waitUntil(lambda: status_of(manager, "wd-vit-v3") == "in use", timeout=10_000)
    assert status_of(manager, "joytag") == "not installed"
    qtbot.waitUntil(lambda: window.model_choice.offer is not None, timeout=10_000)
    offer = window.model_choice.offer
    assert "6" in offer.text() and "some-wd" in offer.text()
    assert settings.model_folder is not None and str(settings.model_folder) == str(wd)
    qtbot.mouseClick(offer.button(QMessageBox.StandardButton.No), Qt.MouseButton.LeftButton)
    assert window.worker.paused, "No: nothing starts behind the user's back"
    assert window.model_choice.offer is None
    manager.close()
    close_window(qtbot, window)


def test_the_first_load_says_it_converts_once(qtbot, library, settings) -> None:
    from joytag_desktop.library.worker_state import FIRST_LOAD, WorkerState

    window = open_window(qtbot, library, settings)
    window.tagging_status._worker_state(WorkerState.LOADING, FIRST_LOAD)
    assert "converts" in window.work_label.text() and "minute" in window.work_label.text()
    window.tagging_status._worker_state(WorkerState.LOADING, "model")
    assert "converts" not in window.work_label.text()
    close_window(qtbot, window)
