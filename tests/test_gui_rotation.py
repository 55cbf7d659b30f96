"""Rotation in the window as an edit (pytest-qt, real widgets, real files): Ctrl+] turns a JPEG in
itself and a RAW in its sidecar, Edit ▸ Undo turns both back (read back with exiftool and exiv2,
and in the library), Redo turns them again; a rotation stopped by Cancel undoes only the files it
reached; and the keys work in the full-screen viewer and the slideshow."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt

from helpers.gui import close_window, open_window
from helpers.metadata_readers import EXIFTOOL, EXIV2

FIXTURES = Path(__file__).parent / "fixtures" / "metadata"
CTRL = Qt.KeyboardModifier.ControlModifier

pytestmark = pytest.mark.skipif(EXIFTOOL is None or EXIV2 is None, reason="needs exiftool and exiv2")


def exiftool_flag(path: Path, tag: str) -> int | None:
    """The flag exiftool reads (``EXIF:Orientation`` of a JPEG, ``XMP-tiff:Orientation`` of a sidecar)."""
    out = subprocess.run(["exiftool", "-n", "-s3", f"-{tag}", str(path)], capture_output=True, text=True).stdout
    return int(out) if out.strip() else None


def exiv2_flag(path: Path, key: str) -> int | None:
    """The flag exiv2 (digiKam's and darktable's reader) reads: ``Exif.Image.Orientation``, ``Xmp.tiff.Orientation``."""
    out = subprocess.run(["exiv2", "-q", "-Pv", "-K", key, str(path)], capture_output=True, text=True).stdout
    return int(out) if out.strip() else None


def flags(jpeg: Path, sidecar: Path) -> tuple:
    """Both files' flags as both outside readers see them."""
    return (
        exiftool_flag(jpeg, "EXIF:Orientation"),
        exiv2_flag(jpeg, "Exif.Image.Orientation"),
        exiftool_flag(sidecar, "XMP-tiff:Orientation") if sidecar.exists() else None,
        exiv2_flag(sidecar, "Xmp.tiff.Orientation") if sidecar.exists() else None,
    )


def orientations(library, ids: list[int]) -> list[int]:
    """The library's flags (no flag read, None, shows as 1 does)."""
    return [library.image(i).orientation or 1 for i in ids]


def window_with(qtbot, library, settings, folder: Path, count: int):
    library.add_folder(folder)
    library.scan()
    window = open_window(qtbot, library, settings)
    window.worker.cancel()  # no tagging: the test is about the files and the orientation column
    window.search.refresh()
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == count, timeout=10_000)
    return window


def test_undo_turns_back_a_jpeg_and_a_raws_sidecar_and_redo_turns_them_again(
    qtbot, library, settings, tmp_path: Path
) -> None:
    folder = tmp_path / "Photos"
    folder.mkdir()
    jpeg = folder / "a-canon.jpg"
    shutil.copy(FIXTURES / "canon-eos-300d-rotated.jpg", jpeg)  # EXIF flag 6
    raw = folder / "b-DSC_9034.NEF"
    shutil.copy(FIXTURES / "nikon.nef", raw)  # its own flag 1
    sidecar = folder / "b-DSC_9034.NEF.xmp"
    shutil.copy(FIXTURES / "darktable-DSC_9034.NEF.xmp", sidecar)  # darktable's, no flag in it
    raw_bytes = raw.read_bytes()
    window = window_with(qtbot, library, settings, folder, 2)
    ids = [row[0] for row in window.grid_model.rows]
    start = orientations(library, ids)
    assert start == [6, 1]
    assert flags(jpeg, sidecar) == (6, 6, None, None)

    window.grid.selectAll()
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_BracketRight, CTRL)
    qtbot.waitUntil(lambda: orientations(library, ids) == [3, 6], timeout=20_000)
    assert flags(jpeg, sidecar) == (3, 3, 6, 6)
    qtbot.waitUntil(lambda: "Rotated 2 images" in window.statusBar().currentMessage(), timeout=5_000)
    assert "Edit ▸ Undo" in window.statusBar().currentMessage()
    assert window.undo_action.isEnabled() and "Rotate right" in window.undo_stack.undoText()

    window.undo_action.trigger()
    qtbot.waitUntil(lambda: orientations(library, ids) == start and not window.jobs.jobs, timeout=20_000)
    assert flags(jpeg, sidecar) == (6, 6, 1, 1)  # the sidecar says "as the RAW itself": 1
    qtbot.waitUntil(lambda: "Turned back 2 images" in window.statusBar().currentMessage(), timeout=5_000)
    assert raw.read_bytes() == raw_bytes, "the RAW is never written"
    assert b"darktable:history" in sidecar.read_bytes(), "darktable's edits stay in its sidecar"

    window.redo_action.trigger()
    qtbot.waitUntil(lambda: orientations(library, ids) == [3, 6] and not window.jobs.jobs, timeout=20_000)
    assert flags(jpeg, sidecar) == (3, 3, 6, 6)
    close_window(qtbot, window)


def test_a_cancelled_rotation_undoes_only_the_files_it_turned(qtbot, library, settings, tmp_path, monkeypatch) -> None:
    from joytag_desktop.interchange import rotation

    folder = tmp_path / "Photos"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        shutil.copy(FIXTURES / "canon-eos-300d-rotated.jpg", folder / name)
    window = window_with(qtbot, library, settings, folder, 3)
    ids = [row[0] for row in window.grid_model.rows]
    reached = threading.Event()
    cancelled = threading.Event()
    original = rotation.rotate

    def held(path, transform):
        """The first file turned, then the work held until Cancel (the next file is never reached)."""
        result = original(path, transform)
        if not reached.is_set():
            reached.set()
            deadline = time.monotonic() + 20
            while not cancelled.is_set() and time.monotonic() < deadline:
                time.sleep(0.01)
        return result

    monkeypatch.setattr(rotation, "rotate", held)
    window.grid.selectAll()
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_BracketLeft, CTRL)  # 270: 6 → 1
    assert reached.wait(20)
    window.jobs.cancel_current()
    cancelled.set()
    qtbot.waitUntil(lambda: not window.jobs.jobs, timeout=20_000)
    turned = [exiftool_flag(folder / n, "EXIF:Orientation") for n in ("a.jpg", "b.jpg", "c.jpg")]
    assert turned == [1, 6, 6]
    assert orientations(library, ids) == [1, 6, 6]
    assert "stopped after 1 of 3" in window.undo_stack.undoText()
    assert "Edit ▸ Undo" in window.statusBar().currentMessage()

    window.undo_action.trigger()
    qtbot.waitUntil(lambda: orientations(library, ids) == [6, 6, 6] and not window.jobs.jobs, timeout=20_000)
    for name in ("a.jpg", "b.jpg", "c.jpg"):  # not turned twice: the two it never reached stay at 6
        assert exiftool_flag(folder / name, "EXIF:Orientation") == 6
        assert exiv2_flag(folder / name, "Exif.Image.Orientation") == 6
    window.redo_action.trigger()
    qtbot.waitUntil(lambda: orientations(library, ids) == [1, 6, 6] and not window.jobs.jobs, timeout=20_000)
    assert exiftool_flag(folder / "c.jpg", "EXIF:Orientation") == 6, "the redo repeats what was turned, no more"
    close_window(qtbot, window)


def test_the_keys_turn_the_picture_in_the_full_screen_viewer_and_the_slideshow(
    qtbot, library, settings, tmp_path: Path
) -> None:
    folder = tmp_path / "Photos"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg"):
        shutil.copy(FIXTURES / "canon-eos-300d-rotated.jpg", folder / name)
    window = window_with(qtbot, library, settings, folder, 2)
    ids = [row[0] for row in window.grid_model.rows]
    window.grid.setCurrentIndex(window.grid_model.index(0))
    window.viewer.full_screen()
    viewer = window.viewer.viewer
    assert viewer is not None
    qtbot.waitUntil(viewer.isFullScreen)
    qtbot.keyClick(viewer, Qt.Key.Key_BracketRight, CTRL)
    qtbot.waitUntil(lambda: orientations(library, ids) == [3, 6], timeout=20_000)
    qtbot.waitUntil(lambda: "Edit ▸ Undo" in window.statusBar().currentMessage(), timeout=5_000)
    viewer.close()
    window.grid.setCurrentIndex(window.grid_model.index(1))
    window.start_slideshow()
    assert viewer.slideshow.running and viewer.row == 1
    viewer.slideshow.toggle_pause()  # the picture stays the one turned
    qtbot.keyClick(viewer, Qt.Key.Key_H, CTRL | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: orientations(library, ids) == [3, 5], timeout=20_000)
    assert exiv2_flag(folder / "b.jpg", "Exif.Image.Orientation") == 5
    assert viewer.slideshow.running, "a turn does not end the show"
    qtbot.keyClick(viewer, Qt.Key.Key_Z, CTRL)  # Undo from the viewer itself: each turn is its own edit
    qtbot.waitUntil(lambda: orientations(library, ids) == [3, 6] and not window.jobs.jobs, timeout=20_000)
    assert exiv2_flag(folder / "b.jpg", "Exif.Image.Orientation") == 6
    qtbot.keyClick(viewer, Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)  # and Redo
    qtbot.waitUntil(lambda: orientations(library, ids) == [3, 5] and not window.jobs.jobs, timeout=20_000)
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    viewer.close()
    window.undo_action.trigger()
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: orientations(library, ids) == [6, 6] and not window.jobs.jobs, timeout=20_000)
    assert exiftool_flag(folder / "a.jpg", "EXIF:Orientation") == 6
    close_window(qtbot, window)


def _pixmap_shape(window, image_id: int) -> str | None:
    pixmap = window.grid_model._pixmaps.get(image_id)
    if pixmap is None:
        return None
    return "tall" if pixmap.height() > pixmap.width() else "wide"


def test_a_rescan_shows_a_raw_turned_by_digikam_in_its_sidecar(qtbot, library, settings, tmp_path: Path) -> None:
    """digiKam writes Xmp.tiff.Orientation in the sidecar (through Exiv2) and leaves the RAW: File ▸
    Rescan folders turns the grid's thumbnail, though the file and its hash are the same. (The
    window's start-up scan or its watcher may see the change first: each of them turns it too.)"""
    from helpers.metadata_readers import touch_later

    folder = tmp_path / "Photos"
    folder.mkdir()
    raw = folder / "DSCF0001.RAF"
    shutil.copy(FIXTURES / "fujifilm.raf", raw)  # a real 160x120 preview
    sidecar = folder / "DSCF0001.RAF.xmp"
    shutil.copy(FIXTURES / "darktable-DSC_9034.NEF.xmp", sidecar)
    window = window_with(qtbot, library, settings, folder, 1)
    image_id = window.grid_model.rows[0][0]
    qtbot.waitUntil(lambda: _pixmap_shape(window, image_id) == "wide", timeout=10_000)
    subprocess.run(["exiv2", "-M", "set Xmp.tiff.Orientation 6", str(sidecar)], check=True, capture_output=True)
    touch_later(sidecar)
    assert exiv2_flag(sidecar, "Xmp.tiff.Orientation") == exiftool_flag(sidecar, "XMP-tiff:Orientation") == 6
    window.library_folders.rescan()
    qtbot.waitUntil(lambda: orientations(library, [image_id]) == [6], timeout=20_000)
    qtbot.waitUntil(lambda: _pixmap_shape(window, image_id) == "tall", timeout=10_000)
    qtbot.waitUntil(lambda: _pixmap_shape(window, image_id) == "tall", timeout=10_000)
    close_window(qtbot, window)
