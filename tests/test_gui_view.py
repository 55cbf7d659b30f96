"""Viewing in the window (pytest-qt, real widgets): turning pictures from the grid and the viewer,
full screen, and the slideshow's keys and timer (a short interval, and its timer's own signal)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt

from helpers.gui import close_window, open_window
from joytag_desktop.gui.viewer import Viewer

FIXTURES = Path(__file__).parent / "fixtures" / "metadata"
CTRL = Qt.KeyboardModifier.ControlModifier


def _viewer(qtbot, count: int = 5) -> tuple[Viewer, list[int]]:
    loaded: list[int] = []
    viewer = Viewer(lambda: count, lambda row: (row + 100, f"/nowhere/img{row}.jpg"), lambda i, p: loaded.append(i))
    qtbot.addWidget(viewer)
    viewer.show()
    return viewer, loaded


def test_the_viewer_asks_for_turns_with_lightrooms_keys(qtbot) -> None:
    viewer, _ = _viewer(qtbot)
    viewer.show_row(1)
    asked: list[str] = []
    viewer.rotate_requested.connect(asked.append)
    qtbot.keyClick(viewer, Qt.Key.Key_BracketRight, CTRL)
    qtbot.keyClick(viewer, Qt.Key.Key_BracketLeft, CTRL)
    qtbot.keyClick(viewer, Qt.Key.Key_H, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert asked == ["90", "270", "flip"]
    assert viewer.row == 1  # none of them stepped


def test_full_screen_and_escape_comes_back_before_closing(qtbot) -> None:
    viewer, _ = _viewer(qtbot)
    viewer.show_row(0)
    qtbot.keyClick(viewer, Qt.Key.Key_F11)
    qtbot.waitUntil(viewer.isFullScreen)
    assert not viewer.chrome.isVisible()
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not viewer.isFullScreen())
    assert viewer.isVisible() and viewer.chrome.isVisible()
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not viewer.isVisible())


def test_the_slideshow_steps_on_its_timer_pauses_on_space_and_steps_with_the_arrows(qtbot) -> None:
    viewer, loaded = _viewer(qtbot, count=4)
    viewer.start_slideshow(2, interval_ms=20)
    assert viewer.row == 2 and viewer.isFullScreen()
    qtbot.waitUntil(lambda: viewer.row == 3, timeout=2000)  # the timer, at its short interval
    qtbot.waitUntil(lambda: viewer.row == 0, timeout=2000)  # round to the first
    qtbot.keyClick(viewer, Qt.Key.Key_Space)
    assert viewer.slideshow.paused and not viewer.slideshow.timer.isActive()
    shown = viewer.row
    qtbot.wait(100)  # five intervals: nothing moves while paused
    assert viewer.row == shown
    qtbot.keyClick(viewer, Qt.Key.Key_Right)
    assert viewer.row == (shown + 1) % 4
    qtbot.keyClick(viewer, Qt.Key.Key_Left)
    qtbot.keyClick(viewer, Qt.Key.Key_Left)
    assert viewer.row == (shown - 1) % 4
    qtbot.keyClick(viewer, Qt.Key.Key_Space)
    assert not viewer.slideshow.paused and viewer.slideshow.timer.isActive()
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    assert not viewer.slideshow.running
    qtbot.waitUntil(lambda: not viewer.isFullScreen())
    assert viewer.isVisible()  # Escape left the show, not the viewer
    assert loaded[0] == 102


def test_a_shuffled_slideshow_starts_where_the_user_was_and_shows_each_once(qtbot) -> None:
    viewer, _ = _viewer(qtbot, count=6)
    viewer.start_slideshow(3, interval_ms=60_000, order="random")
    seen = [viewer.row]
    for _ in range(5):
        viewer.slideshow.timer.timeout.emit()  # the timer's own signal, without waiting a minute
        seen.append(viewer.row)
    assert seen[0] == 3 and sorted(seen) == list(range(6))
    viewer.stop_slideshow()


def _orientation(library, image_id: int) -> int | None:
    image = library.image(image_id)
    return None if image is None else image.orientation


def _pixmap_shape(window, image_id: int) -> str | None:
    pixmap = window.grid_model._pixmaps.get(image_id)
    if pixmap is None:
        return None
    return "tall" if pixmap.height() > pixmap.width() else "wide"


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")
def test_ctrl_bracket_turns_the_selection_and_its_thumbnails(qtbot, library, settings, tmp_path: Path) -> None:
    from PIL import Image

    folder = tmp_path / "Photos"
    folder.mkdir()
    shutil.copy(FIXTURES / "canon-eos-300d-rotated.jpg", folder / "a-canon.jpg")  # stored 150x91, shown 91x150
    Image.new("RGB", (60, 30), (200, 40, 40)).save(folder / "b-wide.gif")  # turned in its sidecar
    library.add_folder(folder)
    library.scan()
    window = open_window(qtbot, library, settings)
    window.worker.cancel()
    window.resize(1200, 800)
    window.search.refresh()
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 2, timeout=10_000)
    jpeg, gif = (row[0] for row in window.grid_model.rows)
    qtbot.waitUntil(lambda: _pixmap_shape(window, jpeg) == "tall" and _pixmap_shape(window, gif) == "wide")
    window.grid.selectAll()
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_BracketRight, CTRL)
    qtbot.waitUntil(lambda: [_orientation(library, i) for i in (jpeg, gif)] == [3, 6], timeout=20_000)
    qtbot.waitUntil(lambda: _pixmap_shape(window, jpeg) == "wide" and _pixmap_shape(window, gif) == "tall")
    assert "Rotated 2 images" in window.statusBar().currentMessage()
    assert (folder / "b-wide.gif.xmp").exists()
    # The slideshow starts from the current image of the current results, full screen.
    window.grid.setCurrentIndex(window.grid_model.index(1))
    window.slideshow_menu.intervals.actions()[0].trigger()  # every 2 seconds, remembered
    assert settings.slideshow_interval == 2
    window.start_slideshow()
    viewer = window.viewer.viewer
    assert viewer is not None and viewer.slideshow.running and viewer.row == 1
    assert viewer.slideshow.timer.interval() == 2000 and viewer.isFullScreen()
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    assert not viewer.slideshow.running and viewer.isVisible()
    viewer.close()
    # Sorting by camera and by tag count, in words.
    box = window.search_bar.sort_box
    assert box.findData("camera") >= 0 and box.findData("tags") >= 0
    box.setCurrentIndex(box.findData("tags"))
    box.activated.emit(box.currentIndex())
    expected = library.search_rows("", sort="tags")[0]
    qtbot.waitUntil(lambda: window.grid_model.rows == expected, timeout=10_000)
    close_window(qtbot, window)
