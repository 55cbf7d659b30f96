"""The main window with real widgets offscreen (pytest-qt), a real library, the small model."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from helpers.fixture_files import IMAGES_DIR
from helpers.gui import ARTIFACTS, close_window, open_window, root_count, select_row, tagged_window
from joytag_desktop.gui.app import gui_settings
from joytag_desktop.gui.main_window import MainWindow
from joytag_desktop.library import Library


def test_first_run_panel_without_a_model(qtbot, library: Library) -> None:
    window = open_window(qtbot, library, gui_settings())
    qtbot.waitUntil(lambda: window.first_run.isVisible(), timeout=10_000)
    assert window.first_run.download_button.isEnabled()
    assert "366 MB" in window.first_run.message.text()
    close_window(qtbot, window)


def test_download_without_network_says_so(qtbot, library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    window = open_window(qtbot, library, gui_settings())
    qtbot.waitUntil(lambda: window.first_run.isVisible(), timeout=10_000)
    window.first_run.download_button.click()
    qtbot.waitUntil(lambda: "no network connection" in window.first_run.message.text(), timeout=60_000)
    assert window.first_run.download_button.isEnabled()
    close_window(qtbot, window)


@pytest.mark.slow
def test_choosing_a_model_folder_hides_the_panel_and_tags(
    qtbot, library: Library, photos: Path, tiny_model_dir: Path
) -> None:
    window = open_window(qtbot, library, gui_settings())
    qtbot.waitUntil(lambda: window.first_run.isVisible(), timeout=10_000)
    window.library_folders.add(str(photos))
    window.first_run.model_ready.emit(str(tiny_model_dir))
    qtbot.waitUntil(lambda: not window.first_run.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: library.count("status:tagged") == 6, timeout=60_000)
    close_window(qtbot, window)


def test_add_folder_thumbnails_tagging_search_and_details(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    model = window.grid_model
    qtbot.waitUntil(lambda: all(model.has_thumbnail(row[0]) for row in model.rows), timeout=30_000)
    qtbot.waitUntil(lambda: "All images tagged" in window.work_label.text(), timeout=30_000)
    assert root_count(window) == 1
    qtbot.waitUntil(lambda: len(window.tag_panel.names()) > 0, timeout=10_000)

    # A search filters the grid to what the library says.
    query = "black_hair:>0.87 -chelsea_nonexistent"
    expected = {Path(img.path).name for img in library.images(library.search(query).ids)}
    assert 0 < len(expected) < 6
    window.search_box.setText(query)
    window.search.run()
    qtbot.waitUntil(lambda: model.rowCount() == len(expected), timeout=10_000)
    assert {Path(row[1]).name for row in model.rows} == expected

    # A malformed query gets an inline message, and the grid keeps the last results.
    window.search_box.setText("(black_hair")
    window.search.run()
    qtbot.waitUntil(lambda: window.results.search_error.isVisible(), timeout=10_000)
    assert "never closed" in window.results.search_error.text()
    assert model.rowCount() == len(expected)

    # Selecting an image shows its tags, best first.
    window.search_box.setText("")
    window.search.run()
    qtbot.waitUntil(lambda: model.rowCount() == 6, timeout=10_000)
    select_row(window, 0)
    qtbot.waitUntil(lambda: len(window.details.tags.tag_items()) > 0, timeout=10_000)
    image_id = model.rows[0][0]
    views = library.image_tags(image_id)
    first = window.details.tags.tag_items()[0].text(0)
    assert first == max(views, key=lambda v: v.score).name

    # The slider changes what counts as a tag, live.
    at_default = set(window.details.present_tags())
    assert at_default == {v.name for v in views if v.score >= 0.4}
    window.details.slider.setValue(85)
    assert set(window.details.present_tags()) == {v.name for v in views if v.score >= 0.85}
    assert len(window.details.present_tags()) < len(at_default)
    qtbot.waitUntil(lambda: abs(library.threshold - 0.85) < 1e-9, timeout=10_000)
    close_window(qtbot, window)


def test_manual_tag_edit_persists_after_restart(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    select_row(window, 1)
    qtbot.waitUntil(lambda: window.details.new_tag.isEnabled(), timeout=10_000)
    image_id = window.grid_model.rows[1][0]
    removed = library.image_tags(image_id)[0].name
    window.details.new_tag.setText("my cat")
    window.details.add_button.click()
    qtbot.waitUntil(lambda: "my_cat" in window.details.present_tags(), timeout=10_000)
    window.details.tags.item_for(removed).setSelected(True)
    window.details.remove_button.click()
    qtbot.waitUntil(lambda: removed not in window.details.present_tags(), timeout=10_000)
    window.search_box.setText("my_cat")
    close_window(qtbot, window)

    again = open_window(qtbot, library, settings)
    assert again.search_box.text() == "my_cat", "the last query is remembered"
    qtbot.waitUntil(lambda: again.grid_model.rowCount() == 1, timeout=10_000)
    select_row(again, 0)
    qtbot.waitUntil(lambda: "my_cat" in again.details.present_tags(), timeout=10_000)
    assert removed not in again.details.present_tags()
    sources = {item.text(0): item.text(item.columnCount() - 1) for item in again.details.tags.tag_items()}
    assert sources["my_cat"] == "added by hand" and sources[removed] == "removed by hand"
    close_window(qtbot, again)


def test_multi_selection_edit_and_pause(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    window.grid.selectAll()
    qtbot.waitUntil(lambda: window.details.new_tag.isEnabled(), timeout=10_000)
    window.details.new_tag.setText("holiday_2024")
    window.details.add_button.click()
    qtbot.waitUntil(lambda: library.count("holiday_2024") == 6, timeout=10_000)
    qtbot.waitUntil(lambda: "All images tagged" in window.work_label.text(), timeout=30_000)
    assert not window.pause_button.isEnabled()  # all tagged: nothing to pause
    window.selection.retag_selection()  # six images wait again: Pause is offered while they do
    qtbot.waitUntil(window.pause_button.isEnabled, timeout=10_000)
    window.pause_button.click()
    assert window.worker.paused and window.pause_button.text() == "Resume"
    window.pause_button.click()
    assert not window.worker.paused
    qtbot.waitUntil(lambda: library.count("status:tagged") == 6, timeout=30_000)
    close_window(qtbot, window)


def test_screenshot_of_a_realistic_state(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    window.resize(1400, 860)
    window.search_box.setText("black_hair:>0.85")
    window.search.run()
    qtbot.waitUntil(lambda: 0 < window.grid_model.rowCount() < 6, timeout=10_000)
    model = window.grid_model
    qtbot.waitUntil(lambda: all(model.has_thumbnail(row[0]) for row in model.rows), timeout=30_000)
    select_row(window, 0)
    qtbot.waitUntil(
        lambda: window.details.preview.pixmap() is not None and not window.details.preview.pixmap().isNull(),
        timeout=10_000,
    )
    qtbot.waitUntil(lambda: "All images tagged" in window.work_label.text(), timeout=30_000)
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "main-window.png"
    grabbed = window.grab()
    assert grabbed.save(str(target))
    assert target.stat().st_size > 20_000
    check_screenshot(window, target, grabbed.devicePixelRatio())
    close_window(qtbot, window)


def check_screenshot(window: MainWindow, target: Path, ratio: float) -> None:
    """The screenshot shows the window as laid out: its size, no blank picture, each main widget
    where the layout puts it (search above the grid, folders left of it, details right of it) and
    drawn: text where text is, thumbnails in the grid, the selected image in the preview."""
    import numpy as np
    from PIL import Image
    from PySide6.QtCore import QPoint, QRect
    from PySide6.QtWidgets import QWidget

    pixels = np.asarray(Image.open(target).convert("RGB"))
    assert pixels.shape == (round(860 * ratio), round(1400 * ratio), 3)
    assert len(np.unique(pixels[::4, ::4].reshape(-1, 3), axis=0)) > 2000, "a blank or flat screenshot"

    def place(widget: QWidget) -> QRect:
        assert widget.isVisible() and widget.width() > 20 and widget.height() > 10, widget
        return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())

    def drawn(rect: QRect) -> tuple[int, float]:
        """Distinct colours in the region, and the share of its pixels that are not its commonest colour."""
        region = pixels[
            round(rect.top() * ratio) : round((rect.bottom() + 1) * ratio),
            round(rect.left() * ratio) : round((rect.right() + 1) * ratio),
        ].reshape(-1, 3)
        colours, counts = np.unique(region, axis=0, return_counts=True)
        return len(colours), 1 - counts.max() / len(region)

    search, grid, folders = place(window.search_box), place(window.grid.viewport()), place(window.folders.tree)
    preview, tags, status = place(window.details.preview), place(window.details.tags), place(window.work_label)
    assert window.rect().contains(search | grid | folders | preview | tags | status)
    assert search.bottom() < grid.top() and folders.right() < grid.left() and grid.right() < preview.left()
    assert preview.bottom() < tags.top() and grid.bottom() < status.top()
    assert grid.width() > 600 and grid.height() > 500, "the grid takes the middle of the window"
    for name, rect in (("search text", search), ("folder tree", folders), ("tag list", tags), ("status", status)):
        colours, share = drawn(rect)
        assert colours > 8 and share > 0.01, f"no text drawn in the {name}"
    colours, share = drawn(grid)
    assert colours > 3000 and share > 0.1, "no thumbnails in the grid"
    colours, share = drawn(preview)
    assert colours > 3000 and share > 0.3, "no picture in the preview"


def test_window_geometry_is_remembered(qtbot, library, settings) -> None:
    from PySide6.QtGui import QGuiApplication

    screen = QGuiApplication.primaryScreen().availableGeometry()
    size = (min(1000, screen.width() - 30), min(640, screen.height() - 100))
    window = open_window(qtbot, library, settings)
    window.resize(*size)
    close_window(qtbot, window)
    again = open_window(qtbot, library, settings)
    assert (again.width(), again.height()) == size
    close_window(qtbot, again)


def test_gui_never_imported_by_the_core() -> None:
    import subprocess
    import sys

    code = (
        "import sys, joytag_desktop.taggers, joytag_desktop.inference.engine, joytag_desktop.library, "
        "joytag_desktop.worker.watcher, joytag_desktop.worker.worker, joytag_desktop.cli.main; "
        "sys.exit(1 if any(m.startswith('PySide6') for m in sys.modules) else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], env={**os.environ}).returncode == 0


def test_write_sidecars_for_the_selection_and_automatically(qtbot, library, settings, photos) -> None:
    settings.auto_sidecars = True
    window = tagged_window(qtbot, library, settings, photos)
    qtbot.waitUntil(lambda: all((photos / f"{p.name}.xmp").exists() for p in photos.glob("*.*g")), timeout=30_000)

    (photos / "rocket.jpg.xmp").unlink()
    select_row(window, [Path(r[1]).name for r in window.grid_model.rows].index("rocket.jpg"))
    window.write_metadata("xmp", selection=True)
    qtbot.waitUntil(lambda: (photos / "rocket.jpg.xmp").exists(), timeout=10_000)
    close_window(qtbot, window)


def test_dropping_a_folder_adds_it_and_a_file_is_refused(qtbot, library, settings, photos) -> None:
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    window = open_window(qtbot, library, settings)

    def drop(path: Path) -> None:
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        event = QDropEvent(
            QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        )
        window.dropEvent(event)

    drop(photos / "rocket.jpg")
    qtbot.waitUntil(lambda: "not a folder" in window.statusBar().currentMessage(), timeout=10_000)
    drop(photos)
    qtbot.waitUntil(lambda: root_count(window) == 1, timeout=10_000)
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 6, timeout=10_000)
    close_window(qtbot, window)


@pytest.mark.slow
def test_export_current_results_as_csv(qtbot, library, settings, photos, tmp_path) -> None:
    import csv

    window = tagged_window(qtbot, library, settings, photos)
    window.search_box.setText("black_hair:>0.85")
    window.search.run()
    qtbot.waitUntil(lambda: window.search.current_query == "black_hair:>0.85", timeout=10_000)
    target = tmp_path / "tags.csv"
    window.export_table("csv", str(target))
    qtbot.waitUntil(lambda: "Exported" in window.work_label.text(), timeout=10_000)
    rows = list(csv.DictReader(target.open()))
    expected = {img.path for img in library.images(library.search("black_hair:>0.85").ids)}
    assert {row["path"] for row in rows} == expected
    close_window(qtbot, window)


def test_scan_progress_is_shown_and_cancel_stops_a_scan(qtbot, library, settings, tmp_path) -> None:
    from helpers.library import write_photo

    big = tmp_path / "Big"
    template = write_photo(tmp_path / "template.jpg").read_bytes()
    for index in range(1500):
        sub = big / f"d{index // 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{index:05d}.jpg").write_bytes(template + index.to_bytes(4, "little"))
    window = open_window(qtbot, library, settings)
    seen: list[str] = []
    window.bridge.scan_progress.connect(lambda root, count: seen.append(f"{root}:{count}"))
    window.library_folders.add(str(big))
    qtbot.waitUntil(lambda: bool(seen), timeout=30_000)
    window.tagging_status.cancel()
    qtbot.waitUntil(lambda: root_count(window) == 1, timeout=30_000)  # the add finished
    assert library.count("") < 1500, "the scan stopped early"

    close_window(qtbot, window)


def test_adding_a_folder_inside_or_around_library_folders(
    qtbot, library, settings, photos, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside a library folder: rescanned, no second root. Around it: one root, tags kept."""
    window = tagged_window(qtbot, library, settings, photos)
    image = library.image_by_path(next(photos.glob("*.jpg")))
    library.set_manual_tag([image.id], "kept_by_hand", True)
    (photos / "sub").mkdir()
    shutil.copy(next(photos.glob("*.jpg")), photos / "sub" / "copy.jpg")
    # Every status line shown: the worker's progress may replace the scan's before a poll sees it.
    shown: list[str] = []
    show = window.status.set_text
    monkeypatch.setattr(window.status, "set_text", lambda text: (shown.append(text), show(text)))
    window.library_folders.add(str(photos / "sub"))
    qtbot.waitUntil(lambda: any(text.startswith("Scan: 1 new") for text in shown), timeout=20_000)
    assert library.image_by_path(photos / "sub" / "copy.jpg") is not None
    assert [root.path for root in library.roots()] == [str(photos)]
    window.library_folders.add(str(tmp_path))
    qtbot.waitUntil(lambda: [root.path for root in library.roots()] == [str(tmp_path)], timeout=20_000)
    qtbot.waitUntil(lambda: root_count(window) == 1, timeout=10_000)
    assert library.search("kept_by_hand").ids == [image.id]
    close_window(qtbot, window)


@pytest.mark.slow
def test_folder_panel_unwatches_and_removes_a_folder(
    qtbot, library, settings, photos, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder panel's watch box and Remove go through to the library, the watcher and the grid;
    Remove asks first, and a No keeps everything."""
    from PySide6.QtWidgets import QMessageBox

    window = tagged_window(qtbot, library, settings, photos)
    qtbot.waitUntil(lambda: str(photos) in window.watcher.state.watched, timeout=10_000)
    window.folders.watch_toggled.emit(str(photos), False)
    qtbot.waitUntil(lambda: str(photos) not in window.watcher.state.watched, timeout=10_000)
    assert [root.watched for root in library.roots()] == [False]

    answers = iter([QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes])
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: next(answers))
    window.folders.remove_requested.emit(str(photos))
    qtbot.wait(300)
    assert [root.path for root in library.roots()] == [str(photos)] and library.count("") == 6
    window.folders.remove_requested.emit(str(photos))
    qtbot.waitUntil(lambda: library.roots() == [] and root_count(window) == 0, timeout=10_000)
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 0, timeout=10_000)
    assert sorted(p.name for p in photos.iterdir()) == sorted(p.name for p in IMAGES_DIR.iterdir())
    close_window(qtbot, window)


@pytest.mark.slow
def test_a_file_landing_during_the_start_up_scan_is_not_missed(
    qtbot, library, settings, photos, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Watching starts before the start-up scan, so a photo copied in after the scan passed its
    folder (a camera import still running when the app opens) is indexed without a restart."""
    library.add_root(photos)
    late = photos / "late.jpg"
    scan = library.scan

    def scan_then_a_file_lands(*args, **kwargs):
        report = scan(*args, **kwargs)
        shutil.copyfile(IMAGES_DIR / "rocket.jpg", late)
        return report

    monkeypatch.setattr(library, "scan", scan_then_a_file_lands)
    window = open_window(qtbot, library, settings)
    qtbot.waitUntil(lambda: library.image_by_path(late) is not None, timeout=30_000)
    qtbot.waitUntil(lambda: library.count("status:tagged") == 7, timeout=60_000)
    close_window(qtbot, window)
