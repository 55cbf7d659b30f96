"""A scan of a big folder shows its images as they are stored, and the tagging total grows with it.

The scan is real (a real folder of real images); a gate in its progress hook holds the scanning
thread at chosen counts, so what the window shows meanwhile is seen without racing the scan.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from helpers.images import save_jpeg
from joytag_desktop.gui.grid import IMAGE_ID_ROLE
from joytag_desktop.gui.main_window import MainWindow
from joytag_desktop.library import scanner
from joytag_desktop.library.worker_state import WorkerState
from joytag_desktop.worker.tagging import TaggingProgress

FILES = 60


class Gate:
    """A scan progress hook that passes each call on, then holds the scan at the counts in ``stops``
    until the test lets it go."""

    def __init__(self, hook, stops: list[int]) -> None:
        self.hook, self.stops = hook, stops
        self.reached: list[int] = []
        self.go = threading.Event()

    def __call__(self, root: str, count: int) -> None:
        self.hook(root, count)
        if count in self.stops:
            self.reached.append(count)
            assert self.go.wait(60), "the test never let the scan go on"
            self.go.clear()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "Big"
    folder.mkdir()
    for i in range(FILES):
        save_jpeg(folder / f"img{i:03}.jpg", size=(16, 12), color=(i * 4 % 256, 90, 200 - i * 3))
    return folder


@pytest.fixture
def window(qtbot, library, settings, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    monkeypatch.setattr(scanner, "PROGRESS_EVERY", 10)
    monkeypatch.setattr(scanner, "_WRITE_BATCH", 10)
    window = MainWindow(library, settings, start_worker=False)  # the test stands in for the worker
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitUntil(lambda: window.results.empty_state.isVisible(), timeout=10_000)
    return window


def _empty_says(window: MainWindow) -> str:
    return window.results.empty_state.text() if window.results.empty_state.isVisible() else ""


def test_a_scan_shows_rows_as_they_are_stored(qtbot, window: MainWindow, library, folder: Path) -> None:
    assert "Your library is empty" in _empty_says(window)
    gate = Gate(window.library_folders.scan_progress, [10, 30])
    window.library_folders.scan_progress = gate
    window.library_folders.add(str(folder))

    qtbot.waitUntil(lambda: gate.reached == [10], timeout=30_000)  # nothing stored yet
    qtbot.waitUntil(lambda: "10 files found" in _empty_says(window), timeout=10_000)
    assert "Your library is empty" not in _empty_says(window)
    assert "Scanning" in _empty_says(window)

    gate.go.set()
    qtbot.waitUntil(lambda: gate.reached == [10, 30], timeout=30_000)  # 20 images stored, the scan held
    stored = library.count("")
    assert 20 <= stored < FILES
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == stored, timeout=10_000)
    assert window.grid.isVisible() and not window.results.empty_state.isVisible()
    # The folder panel shows the new folder ("All folders" and it) before the scan ends.
    qtbot.waitUntil(lambda: window.folders.tree.topLevelItemCount() == 2, timeout=10_000)
    assert gate.reached == [10, 30] and not gate.go.is_set()

    gate.go.set()
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == FILES, timeout=30_000)
    qtbot.waitUntil(lambda: window.work_label.text().startswith("Scan:"), timeout=10_000)
    assert not window.results.empty_state.isVisible()


def test_the_place_is_kept_while_a_scan_fills_the_grid(qtbot, window: MainWindow, library, folder: Path) -> None:
    gate = Gate(window.library_folders.scan_progress, [30])
    window.library_folders.scan_progress = gate
    window.library_folders.add(str(folder))
    qtbot.waitUntil(lambda: gate.reached == [30], timeout=30_000)
    qtbot.waitUntil(lambda: window.grid_model.rowCount() >= 20, timeout=10_000)
    index = window.grid_model.index(5)
    chosen = index.data(IMAGE_ID_ROLE)
    window.grid.setCurrentIndex(index)
    gate.go.set()
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == FILES, timeout=30_000)
    current = window.grid.currentIndex()
    assert current.isValid() and current.data(IMAGE_ID_ROLE) == chosen
    assert window.grid.selected_ids() == [chosen]


def test_the_tagging_total_grows_with_the_scan(qtbot, window: MainWindow, folder: Path) -> None:
    # The worker's news, as its bridge brings it: a run of 5 began, 3 are done.
    window.bridge.worker_state(WorkerState.TAGGING, "CPU")
    window.bridge.worker_progress(TaggingProgress(3, 0, 5, 1.0))
    qtbot.waitUntil(lambda: "Tagging 3 of 5" in window.work_label.text(), timeout=5000)
    gate = Gate(window.library_folders.scan_progress, [30])
    window.library_folders.scan_progress = gate
    window.library_folders.add(str(folder))
    qtbot.waitUntil(lambda: gate.reached == [30], timeout=30_000)  # 20 new images wait, the scan held
    qtbot.waitUntil(lambda: "Tagging 3 of 23" in window.work_label.text(), timeout=10_000)
    assert window.status.progress.maximum() == 23
    window.bridge.worker_progress(TaggingProgress(4, 0, 5, 1.0))
    qtbot.waitUntil(lambda: "Tagging 4 of" in window.work_label.text(), timeout=5000)
    assert window.status.progress.maximum() >= 23  # the grown total holds
    gate.go.set()
    qtbot.waitUntil(lambda: window.work_label.text().startswith("Scan:"), timeout=30_000)
