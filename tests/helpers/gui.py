"""Steps the GUI tests share: opening the main window on a library, waiting for it to tag, selecting a row."""

from __future__ import annotations

from pathlib import Path

from joytag_desktop.gui.main_window import MainWindow
from joytag_desktop.gui.settings import GuiSettings
from joytag_desktop.library import Library

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def open_window(qtbot, library: Library, settings: GuiSettings) -> MainWindow:
    window = MainWindow(library, settings)
    qtbot.addWidget(window)
    window.show()
    return window


def close_window(qtbot, window: MainWindow) -> None:
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)


def tagged_window(qtbot, library: Library, settings: GuiSettings, photos: Path) -> MainWindow:
    window = open_window(qtbot, library, settings)
    window.resize(1400, 900)  # the offscreen screen is small: every thumbnail in view, so all load
    window.library_folders.add(str(photos))
    qtbot.waitUntil(lambda: library.count("status:tagged") == 6, timeout=60_000)
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 6, timeout=10_000)
    return window


def root_count(window: MainWindow) -> int:
    """Library folders in the folder tree (its first item is "All folders")."""
    return window.folders.tree.topLevelItemCount() - 1


def select_row(window: MainWindow, row: int) -> None:
    index = window.grid_model.index(row)
    window.grid.setCurrentIndex(index)
    window.grid.selectionModel().select(index, window.grid.selectionModel().SelectionFlag.ClearAndSelect)
