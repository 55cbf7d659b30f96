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


def hold_edits(library, monkeypatch) -> threading.Event:
    """Tag edits in chunks of 2, held after the first until cancelled; the event says it got there."""
    monkeypatch.setattr(edits, "EDIT_CHUNK", 2)
    reached = threading.Event()
    original = library.set_manual_tag

    def slow(ids, tag, present, progress, cancel):
        return original(ids, tag, present, holding(progress, cancel, reached), cancel)

    monkeypatch.setattr(library, "set_manual_tag", slow)
    return reached


def hold_exports(monkeypatch) -> threading.Event:
    """XMP exports held after their first file until cancelled; the event says one got there."""
    from joytag_desktop.interchange import keyword_export

    reached = threading.Event()
    original = keyword_export.export_xmp

    def slow(*args, progress, cancel, **kwargs):
        return original(*args, progress=holding(progress, cancel, reached), cancel=cancel, **kwargs)

    monkeypatch.setattr(keyword_export, "export_xmp", slow)
    return reached


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
    reached = hold_edits(library, monkeypatch)
    ids = select_all(window)
    qtbot.waitUntil(lambda: window.details.selection_count == 6, timeout=10_000)
    window.selection.edit_tags(["my_trip"], True)
    assert reached.wait(10)
    qtbot.waitUntil(lambda: window.details.tags.state_of("my_trip") == Qt.CheckState.Checked, timeout=2_000)
    assert window.jobs.jobs, "the edit shows while it is still being written"
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
    window = tagged_window(qtbot, library, settings, photos)
    reached = hold_exports(monkeypatch)
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
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert not window.writer.busy() and window.writer.pool.activeThreadCount() == 0, "nothing writes after"
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


def test_quitting_while_scanning_and_tagging_prints_no_traceback(qtbot, library, settings, photos, tmp_path, capfd):
    """What used to reach the terminal at quit: "Signal source has been deleted", "Internal C++ object
    already deleted" (answers from worker threads arriving after the window was gone)."""
    import shutil

    from helpers.library import write_photo

    window = tagged_window(qtbot, library, settings, photos)
    more = tmp_path / "More"
    for index in range(120):
        write_photo(more / f"shot_{index:03}.jpg", color=(index, 255 - index, 90))
    shutil.copytree(photos, more / "copies")
    window.library_folders.add(str(more))
    qtbot.waitUntil(lambda: library.count("status:pending") > 0, timeout=20_000)
    close_window(qtbot, window)
    qtbot.wait(1500)  # late answers from the worker, the scan and the thumbnail pool would land now
    assert not (window.worker._thread and window.worker._thread.is_alive()), "the worker stopped with the window"
    printed = capfd.readouterr().err
    assert "Traceback" not in printed and "deleted" not in printed, printed


def test_an_edit_queued_behind_an_export_is_finished_not_dropped_at_quit(
    qtbot, library, settings, photos, monkeypatch
) -> None:
    """The export stops at its next file; the tag edit made after it (shown ticked at once) is
    written whole before the window goes, which stays up meanwhile saying so."""
    window = tagged_window(qtbot, library, settings, photos)
    reached = hold_exports(monkeypatch)
    select_all(window)
    qtbot.waitUntil(lambda: window.details.selection_count == 6, timeout=10_000)
    window.write_metadata("xmp", selection=True)
    assert reached.wait(20)
    window.selection.edit_tags(["my_trip"], True)
    qtbot.waitUntil(lambda: window.jobs.isVisible(), timeout=5_000)
    answer_quit_question("Stop and quit")
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)
    assert library.count("my_trip") == 6
    assert len(list(photos.glob("*.xmp"))) == 1


def test_redo_of_a_stopped_edit_repeats_what_was_written(qtbot, library, settings, photos, monkeypatch) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    reached = hold_edits(library, monkeypatch)
    select_all(window)
    qtbot.waitUntil(lambda: window.details.selection_count == 6, timeout=10_000)
    window.selection.edit_tags(["my_trip"], True)
    assert reached.wait(10)
    window.jobs.cancel_current()
    qtbot.waitUntil(lambda: not window.jobs.jobs, timeout=10_000)
    assert library.count("my_trip") == 2
    assert "stopped after 2 of 6" in window.undo_stack.text(window.undo_stack.index() - 1)
    monkeypatch.delattr(library, "set_manual_tag")  # the library's own method again: no more holding
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: library.count("my_trip") == 0, timeout=10_000)
    window.redo_action.trigger()
    qtbot.waitUntil(lambda: not window.jobs.jobs and library.count("my_trip") == 2, timeout=10_000)
    qtbot.wait(300)
    assert library.count("my_trip") == 2, "the redo repeats the two images written, not all six"
    close_window(qtbot, window)
