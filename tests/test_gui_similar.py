"""More like this, an image dropped on the search field and the duplicates window, with real
widgets offscreen (pytest-qt), a real library tagged by the small model."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PIL import Image, ImageOps
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from helpers.gui import close_window, open_window, tagged_window
from joytag_desktop.library import Library

pytestmark = pytest.mark.slow  # every test here takes seconds: not in the quick loop


@pytest.fixture
def photos_with_copy(photos: Path) -> Path:
    """The fixture photos plus a mirrored copy of one of them."""
    ImageOps.mirror(Image.open(photos / "rocket.jpg")).save(photos / "rocket-mirrored.png")
    return photos


def shown_ids(window) -> list[int]:
    return [row[0] for row in window.grid_model.rows]


def test_more_like_this_searches_by_similarity(qtbot, library: Library, settings, photos_with_copy: Path) -> None:
    window = tagged_window_of(qtbot, library, settings, photos_with_copy, 7)
    source = str(photos_with_copy / "rocket.jpg")
    window.search.more_like_this(source)
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
    qtbot,
    library: Library,
    settings,
    photos: Path,
    tmp_path: Path,
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
    qtbot.waitUntil(
        lambda: window.search.shown_key is not None and window.search.shown_key.query.startswith("like:"),
        timeout=60_000,
    )
    assert window.grid_model.rowCount() == 6
    chelsea = library.image_by_path(photos / "chelsea.png").id
    assert shown_ids(window)[0] == chelsea  # the same picture comes first
    assert window.library.count("status:tagged") == 6  # the outside file did not join the library
    assert "found.png is not in the library; the model tagged it:" in window.statusBar().currentMessage()
    close_window(qtbot, window)


def tagged_window_of(qtbot, library: Library, settings, photos: Path, count: int):
    window = open_window(qtbot, library, settings)
    window.resize(1400, 900)
    window.library_folders.add(str(photos))
    qtbot.waitUntil(lambda: library.count("status:tagged") == count, timeout=60_000)
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == count, timeout=10_000)
    return window


@pytest.fixture
def photos_with_copies(photos_with_copy: Path) -> Path:
    """Also byte-identical copies of another photo and of the mirrored one's original."""
    (photos_with_copy / "chelsea-copy.png").write_bytes((photos_with_copy / "chelsea.png").read_bytes())
    (photos_with_copy / "rocket-copy.jpg").write_bytes((photos_with_copy / "rocket.jpg").read_bytes())
    return photos_with_copy


def answer_confirmation(qtbot, dialog, key: Qt.Key | None = None, button=None) -> list:
    """Answer the trash confirmation once it shows (Enter, or a button), recording its default button."""
    seen: list = []
    tries = iter(range(200))

    def answer() -> None:
        box = next((b for b in dialog.findChildren(QMessageBox) if b.isVisible()), None)
        if box is None:
            if next(tries, None) is not None:
                QTimer.singleShot(50, answer)
            return
        seen.append(box.defaultButton() == box.button(QMessageBox.StandardButton.No))
        if key is not None:
            qtbot.keyClick(box, key)
        else:
            box.button(button).click()

    QTimer.singleShot(50, answer)
    return seen


def test_duplicates_window_ticks_only_exact_copies_and_marks_the_kept_file(
    qtbot,
    library: Library,
    settings,
    photos_with_copies: Path,
    isolated_home: Path,
) -> None:
    window = tagged_window_of(qtbot, library, settings, photos_with_copies, 9)
    window.open_duplicates()
    dialog = window.duplicates_dialog
    with qtbot.waitSignal(dialog.finished_search, timeout=30_000) as found:
        dialog.find_button.click()
    assert found.args == [2]
    exact, near = dialog.groups
    assert exact.kind == "exact" and {Path(i.path).name for i in exact.images} == {"chelsea.png", "chelsea-copy.png"}
    assert near.kind == "near"
    assert {Path(i.path).name for i in near.images} == {"rocket.jpg", "rocket-copy.jpg", "rocket-mirrored.png"}

    def card(group: int, name: str):
        return next(c for c in dialog.cards[group].values() if Path(c.image.path).name == name)

    # exact copies come ticked; the kept file is labelled, framed and cannot be ticked
    exact_copy = next(c for i, c in dialog.cards[0].items() if i != exact.keep)
    exact_name = Path(exact_copy.image.path).name
    kept = dialog.cards[0][exact.keep]
    assert exact_copy.trash.isChecked() and exact_copy.link.text() == "the same bytes from the kept file"
    assert not kept.kept.isHidden() and exact_copy.kept.isHidden() and not kept.trash.isEnabled()
    assert "border" in kept.styleSheet() and kept.kept.toolTip()
    # in the same picture's group only the byte-identical copy of the kept file is ticked; the
    # mirrored one is a judgement call, with its distance shown
    rocket, twin, mirrored = card(1, "rocket.jpg"), card(1, "rocket-copy.jpg"), card(1, "rocket-mirrored.png")
    rocket.keep.setChecked(True)
    assert not rocket.kept.isHidden() and not rocket.trash.isEnabled()
    assert twin.trash.isChecked() and not mirrored.trash.isChecked()
    assert twin.link.text() == "the same bytes from the kept file"
    bits = near.link(rocket.image.id, mirrored.image.id).value
    assert mirrored.link.text() == f"{int(bits)} hash bits (of 64) from the kept file"
    assert sorted(Path(i.path).name for i in dialog.doomed()) == sorted([exact_name, "rocket-copy.jpg"])
    assert "2 copies" in dialog.summary.text() and "judge the other groups" in dialog.summary.text()

    # Enter on the confirmation is No: nothing moves
    seen = answer_confirmation(qtbot, dialog, key=Qt.Key.Key_Return)
    dialog.confirm_trash()
    assert seen == [True]
    assert all((photos_with_copies / n).exists() for n in ("chelsea-copy.png", "rocket.jpg", "rocket-copy.jpg"))
    assert not (isolated_home / "xdg-data" / "Trash" / "files").exists()

    # keep the mirrored copy instead: the ticks start again from it (nothing is byte-identical to it)
    mirrored.keep.setChecked(True)
    assert not mirrored.kept.isHidden() and rocket.kept.isHidden() and not mirrored.trash.isEnabled()
    assert rocket.trash.isEnabled() and not rocket.trash.isChecked() and not twin.trash.isChecked()
    assert rocket.link.text().endswith("from the kept file") and mirrored.link.text() == ""
    rocket.trash.setChecked(True)
    doomed = sorted(Path(i.path).name for i in dialog.doomed())
    assert doomed == sorted([exact_name, "rocket.jpg"])
    assert (mirrored.image.id, [rocket.image.id]) in dialog.plan()
    seen = answer_confirmation(qtbot, dialog, button=QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(dialog.trashed, timeout=30_000) as trashed:
        dialog.confirm_trash()
    assert seen == [True] and trashed.args == [2]
    assert not (photos_with_copies / "rocket.jpg").exists() and (photos_with_copies / "rocket-copy.jpg").exists()
    files = isolated_home / "xdg-data" / "Trash" / "files"
    assert sorted(p.name for p in files.iterdir()) == doomed
    # what is left of the group still keeps the file the user chose
    left = [{Path(i.path).name for i in g.images} for g in dialog.groups]
    assert left == [{"rocket-copy.jpg", "rocket-mirrored.png"}]
    assert dialog.groups[0].keep == mirrored.image.id and "Moved 2" in dialog.summary.text()
    assert dialog.doomed() == []
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 7, timeout=10_000)
    dialog.close()
    close_window(qtbot, window)
