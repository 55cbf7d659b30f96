"""Long work in the window: bulk edits and exports show progress, can be cancelled, and quitting
asks first, then stops them at a safe point within seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from helpers.gui import close_window, tagged_window
from joytag_desktop.library import edits


def holding(progress: Callable[[int, int], None], cancel: threading.Event, reached: threading.Event):
    """A progress hook that reports, then holds the work at its first safe point until it is cancelled."""

    def hook(done: int, total: int) -> None:
        progress(done, total)
        reached.set()
        deadline = time.monotonic() + 20
        while not cancel.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)

    return hook


def answer_quit_question(button_text: str) -> None:
    """Click a button of the question quitting asks, once it is up."""

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(50, click)
            return
        button = next(b for b in box.buttons() if b.text() == button_text)
        button.click()

    QTimer.singleShot(50, click)


def select_all(window) -> list[int]:
    window.grid.selectAll()
    return window.grid.selected_ids()


def test_a_bulk_edit_shows_progress_at_once_and_cancel_keeps_what_landed(
    qtbot, library, settings, photos, monkeypatch
) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    monkeypatch.setattr(edits, "EDIT_CHUNK", 2)
    reached = threading.Event()
    original = library.set_manual_tag

    def slow(ids, tag, present, progress, cancel):
        return original(ids, tag, present, holding(progress, cancel, reached), cancel)

    monkeypatch.setattr(library, "set_manual_tag", slow)
    ids = select_all(window)
    qtbot.waitUntil(lambda: window.details.selection_count == 6, timeout=10_000)
    window.selection.edit_tags(["my_trip"], True)
    assert window.details.tags.state_of("my_trip") == Qt.CheckState.Checked, "the edit shows before it is written"
    assert reached.wait(10)
    assert library.count("my_trip") == 2, "the first chunk is searchable while the rest is written"
    qtbot.waitUntil(lambda: window.jobs.isVisible(), timeout=5_000)
    assert "2 of 6" in window.jobs.label.text()
    assert window.jobs.cancel_button.isEnabled()
    qtbot.mouseClick(window.jobs.cancel_button, Qt.MouseButton.LeftButton)
    assert "stopping" in window.jobs.label.text()
    qtbot.waitUntil(lambda: not window.jobs.jobs, timeout=10_000)
    assert not window.jobs.isVisible()
    assert library.count("my_trip") == 2, "the cancel stopped between chunks; what landed stays"
    assert "stopped after 2 of 6" in window.statusBar().currentMessage()
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: library.count("my_trip") == 0, timeout=10_000)
    assert len(ids) == 6
    close_window(qtbot, window)


def test_quitting_during_an_export_asks_then_stops_it_within_seconds(
    qtbot, library, settings, photos, monkeypatch, tmp_path
) -> None:
    from joytag_desktop.interchange import keyword_export

    window = tagged_window(qtbot, library, settings, photos)
    reached = threading.Event()
    original = keyword_export.export_xmp

    def slow(*args, progress, cancel, **kwargs):
        return original(*args, progress=holding(progress, cancel, reached), cancel=cancel, **kwargs)

    monkeypatch.setattr(keyword_export, "export_xmp", slow)
    select_all(window)
    window.write_metadata("xmp", selection=True)
    assert reached.wait(20)
    qtbot.waitUntil(lambda: window.jobs.isVisible(), timeout=5_000)  # long enough to be asked about
    written = sorted(photos.glob("*.xmp"))
    assert len(written) == 1

    answer_quit_question("Keep working")
    window.close()
    assert window.isVisible(), "Keep working leaves the window and the export as they were"
    assert window.jobs.jobs and not window.jobs.jobs[0].cancel.is_set()

    answer_quit_question("Stop and quit")
    started = time.monotonic()
    window.close()
    seconds = time.monotonic() - started
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert seconds < 5, f"quitting took {seconds:.1f} s"
    assert window.writer.pool.activeThreadCount() == 0, "nothing writes once the window is gone"
    assert sorted(photos.glob("*.xmp")) == written, "the export stopped at the next file"


def test_quitting_with_nothing_in_flight_asks_nothing(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    asked: list[object] = []
    QTimer.singleShot(300, lambda: asked.append(QApplication.activeModalWidget()))
    close_window(qtbot, window)
    qtbot.wait(400)
    assert asked == [None]


def test_an_edit_made_just_before_quitting_is_written_whole(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    select_all(window)
    qtbot.waitUntil(lambda: window.details.selection_count == 6, timeout=10_000)
    window.selection.edit_tags(["last_word"], True)
    close_window(qtbot, window)  # nothing long in flight: no question, and the edit is not cancelled
    assert library.count("last_word") == 6
