"""More like this, an image dropped on the search field and the duplicates window, with real
widgets offscreen (pytest-qt), a real library tagged by the small model."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PIL import Image, ImageOps  # noqa: E402
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from test_gui import (  # noqa: E402
    close_window,
    library,  # noqa: F401 - fixtures
    open_window,
    photos,  # noqa: F401
    settings,  # noqa: F401
    tagged_window,
)

from joytag_desktop.library import Library  # noqa: E402


@pytest.fixture
def photos_with_copy(photos: Path) -> Path:  # noqa: F811
    """The fixture photos plus a mirrored copy of one of them."""
    ImageOps.mirror(Image.open(photos / "rocket.jpg")).save(photos / "rocket-mirrored.png")
    return photos


def shown_ids(window) -> list[int]:  # noqa: ANN001 - a MainWindow
    return [row[0] for row in window.grid_model.rows]


def test_more_like_this_searches_by_similarity(qtbot, library: Library, settings, photos_with_copy: Path) -> None:  # noqa: F811
    window = tagged_window_of(qtbot, library, settings, photos_with_copy, 7)
    source = str(photos_with_copy / "rocket.jpg")
    window.more_like_this(source)
    source_id = library.image_by_path(source).id
    expected = library.search(f'like:"{source}"', sort="similarity").ids
    assert len(expected) == 6 and source_id not in expected
    qtbot.waitUntil(lambda: shown_ids(window) == expected, timeout=10_000)
    assert window.search_bar.query().startswith("like:") and window.search_bar.sort() == "similarity"
    # each thumbnail shows its similarity before its name, best first
    shown = [window.grid_model.index(row).data() for row in range(6)]
    values = [float(text.split()[0]) for text in shown]
    assert values == sorted(values, reverse=True) and shown[0].endswith("rocket-mirrored.png")
    close_window(qtbot, window)


def test_an_image_dropped_on_the_search_field_is_tagged_and_matched(
    qtbot, library: Library, settings, photos: Path, tmp_path: Path  # noqa: F811
) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    outside = tmp_path / "elsewhere" / "found.png"
    outside.parent.mkdir()
    Image.open(photos / "chelsea.png").save(outside)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(outside))])
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(window.search_bar.line, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(window.search_bar.line, drop)
    assert window.search_bar.query().startswith("like:")
    # the model loads and embeds the file off the GUI thread, then the results show
    qtbot.waitUntil(lambda: window.shown_key is not None and window.shown_key.query.startswith("like:"), timeout=60_000)
    assert window.grid_model.rowCount() == 6
    chelsea = library.image_by_path(photos / "chelsea.png").id
    assert shown_ids(window)[0] == chelsea  # the same picture comes first
    assert window.library.count("status:tagged") == 6  # the outside file did not join the library
    assert "found.png is not in the library; the model tagged it:" in window.statusBar().currentMessage()
    close_window(qtbot, window)


def tagged_window_of(qtbot, library: Library, settings, photos: Path, count: int):  # noqa: ANN201, F811
    window = open_window(qtbot, library, settings)
    window.resize(1400, 900)
    window.library_folders.add(str(photos))
    qtbot.waitUntil(lambda: library.count("status:tagged") == count, timeout=60_000)
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == count, timeout=10_000)
    return window


def test_duplicates_window_finds_shows_and_trashes(
    qtbot, library: Library, settings, photos_with_copy: Path, isolated_home: Path  # noqa: F811
) -> None:
    window = tagged_window_of(qtbot, library, settings, photos_with_copy, 7)
    window.open_duplicates()
    dialog = window.duplicates_dialog
    with qtbot.waitSignal(dialog.finished_search, timeout=30_000) as found:
        dialog.find_button.click()
    assert found.args == [1]
    group = dialog.groups[0]
    assert {Path(i.path).name for i in group.images} == {"rocket.jpg", "rocket-mirrored.png"}
    assert "would go to the trash" in dialog.summary.text()
    # keep the mirrored copy instead of the suggested one
    buttons = dialog.keep_choices[0].buttons()
    mirrored = next(b for b in buttons if library.image(b.property("image_id")).name == "rocket-mirrored.png")
    mirrored.setChecked(True)
    doomed = dialog.doomed()
    assert [Path(i.path).name for i in doomed] == ["rocket.jpg"]
    with qtbot.waitSignal(dialog.trashed, timeout=30_000):
        dialog.trash([i.id for i in doomed])
    assert not (photos_with_copy / "rocket.jpg").exists()
    assert (isolated_home / "xdg-data" / "Trash" / "files" / "rocket.jpg").is_file()
    assert dialog.groups == [] and "Moved 1" in dialog.summary.text()
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 6, timeout=10_000)
    dialog.close()
    close_window(qtbot, window)
