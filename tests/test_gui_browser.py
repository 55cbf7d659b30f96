"""The main window as a photo browser (pytest-qt, real widgets, a real library and the small model)."""

from __future__ import annotations

import gc
import logging
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QWheelEvent

from helpers.gui import ARTIFACTS, close_window, open_window, select_row, tagged_window
from joytag_desktop.gui.grid import ImageGridModel, ThumbnailGrid, plan_rows
from joytag_desktop.gui.main_window import MainWindow
from joytag_desktop.gui.messages import for_window
from joytag_desktop.gui.tag_editor import score_text

ROWS = 5000


def idle_window(qtbot, library, settings) -> MainWindow:
    """An empty library's window once its first search has answered (so fake rows stay)."""
    window = open_window(qtbot, library, settings)
    window.worker.cancel()
    window.background.wait()
    qtbot.wait(100)
    window.results.set_library_empty(False)
    return window


def fake_rows(count: int, status: str = "pending", start: int = 1) -> list[tuple[int, str, str | None, str]]:
    # A content hash, not None: rows holding None would move its reference count themselves.
    return [(i, f"/nowhere/img{i:06d}.jpg", f"{i:064x}", status) for i in range(start, start + count)]


# --- the blocker: selections restored as ranges, no reference drift -------------------------


@pytest.mark.slow
def test_refreshes_with_thousands_selected_keep_none_refcount_steady(qtbot, library, settings) -> None:
    window = idle_window(qtbot, library, settings)
    key = window.search.key()
    rows = fake_rows(ROWS)
    window.search.show_rows(key, plan_rows(window.grid_model.rows, rows))
    window.grid.selectAll()
    assert len(window.grid.selected_ids()) == ROWS

    def settled_count() -> int:
        """None's count once background answers (which hold references while queued) are in and
        garbage from earlier tests (rows full of None) is collected, so only this test moves it."""
        window.background.wait()
        qtbot.wait(100)
        gc.collect()
        return sys.getrefcount(None)

    baseline = settled_count()
    for refresh in range(60):
        if refresh % 2:  # reordered: a reset, the selection is put back
            new = list(reversed(window.grid_model.rows))
        else:  # statuses change in place
            status = "tagged" if refresh % 4 else "pending"
            new = [(r[0], r[1], r[2], status) for r in window.grid_model.rows]
        window.search.show_rows(key, plan_rows(window.grid_model.rows, new))
        assert len(window.grid.selected_ids()) == ROWS
    drift = abs(settled_count() - baseline)
    # PySide6 6.12.0 on Python 3.11 loses one reference per Qt call returning nothing: a per-row
    # reselect moves it by 5,000 per refresh here (300,000 in this test) and soon aborts the
    # interpreter. Restored by ranges, the whole run moves it by less than one selected row's worth.
    assert drift < ROWS, f"None's reference count moved by {drift} over 60 refreshes of {ROWS} selected rows"
    assert len(window.grid.selectionModel().selection()) == 1, "one range, not one per row"
    close_window(qtbot, window)


def test_selection_is_restored_as_one_range_per_run(qapp) -> None:
    from joytag_desktop.gui.grid import selection_from_rows

    model = ImageGridModel()
    model.set_rows(fake_rows(100))
    selection = selection_from_rows(model, [*range(10, 40), *range(50, 51), *range(60, 100)])
    assert [(r.top(), r.bottom()) for r in selection] == [(10, 39), (50, 50), (60, 99)]


# --- refreshes keep the place --------------------------------------------------------------


def test_refresh_keeps_scroll_position_current_item_and_selection(qtbot, library, settings) -> None:
    window = idle_window(qtbot, library, settings)
    window.resize(1200, 800)
    key = window.search.key()
    window.search.show_rows(key, plan_rows([], fake_rows(3000)))
    qtbot.waitUntil(lambda: window.grid.verticalScrollBar().maximum() > 10_000, timeout=5000)
    middle = window.grid_model.index(2000)
    window.grid.scrollTo(middle, ThumbnailGrid.ScrollHint.PositionAtTop)
    window.grid.selectionModel().setCurrentIndex(middle, window.grid.selectionModel().SelectionFlag.ClearAndSelect)
    top_id = window.grid_model.rows[window.grid.top_left_row()][0]
    top_y = window.grid.visualRect(window.grid_model.index(window.grid.top_left_row())).top()

    def still_in_place() -> None:
        row = window.grid_model.row_of(top_id)
        assert window.grid.visualRect(window.grid_model.index(row)).top() == top_y
        assert window.grid.currentIndex().data(Qt.ItemDataRole.UserRole + 1) == 2001
        assert window.grid.selected_ids() == [2001]

    rows = window.grid_model.rows
    tagged = [(r[0], r[1], r[2], "tagged") for r in rows]  # tagging progressed: statuses change
    assert window.grid_model.apply_plan(plan_rows(rows, tagged)) == "same"
    still_in_place()
    for new in (
        fake_rows(40, start=10_000) + tagged,  # new images sort before the visible ones
        fake_rows(40, start=10_000) + tagged[:500] + tagged[700:] + fake_rows(9, start=20_000),
    ):
        plan = plan_rows(window.grid_model.rows, new)
        assert plan.kind == "edit"
        window.search.show_rows(key, plan)
        still_in_place()
    # An unordered change is a reset; the place is restored all the same.
    shuffled = list(window.grid_model.rows)
    shuffled[0], shuffled[-1] = shuffled[-1], shuffled[0]
    plan = plan_rows(window.grid_model.rows, shuffled)
    assert plan.kind == "reset"
    window.search.show_rows(key, plan)
    still_in_place()
    close_window(qtbot, window)


@pytest.mark.slow
def test_details_never_go_stale_when_a_search_drops_the_selection(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    window.grid.selectAll()
    qtbot.waitUntil(lambda: window.details.selection_count == 6, timeout=10_000)
    assert "6 images" in window.details.facts.text()
    window.search.search_for("nothing_has_this_tag")
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 0, timeout=10_000)
    qtbot.waitUntil(lambda: window.details.selection_count == 0, timeout=10_000)
    assert not window.details.new_tag.isEnabled()
    window.selection.edit_tags(["ghost_tag"], True)
    window.writer.wait()
    assert library.tag_id("ghost_tag") is None, "nothing is silently applied to no images"
    close_window(qtbot, window)


# --- typing in the search bar ---------------------------------------------------------------


def test_completion_never_rewrites_the_typed_query(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    window.activateWindow()
    bar = window.search_bar
    bar.line.setFocus()
    bar.line.clear()
    tag = library.tag_counts(0.4)[0][0]
    qtbot.keyClicks(bar.line, f"(cat | {tag[0]}")
    qtbot.wait(300)  # suggestions for the one-letter word may arrive and show
    qtbot.keyClicks(bar.line, tag[1:])
    qtbot.wait(300)
    qtbot.keyClick(bar.completer.popup() if bar.completer.popup().isVisible() else bar.line, Qt.Key.Key_Return)
    assert bar.line.text() == f"(cat | {tag}", "Return runs what was typed"
    # Choosing a suggestion on purpose (arrow key, then Return) does complete the word.
    bar.line.clear()
    qtbot.keyClicks(bar.line, tag[:2])
    qtbot.waitUntil(bar.completer.popup().isVisible, timeout=5000)
    qtbot.keyClick(bar.completer.popup(), Qt.Key.Key_Down)
    qtbot.keyClick(bar.completer.popup(), Qt.Key.Key_Return)
    assert bar.line.text().strip().startswith(tag[:2]) and len(bar.line.text().strip()) > 2
    close_window(qtbot, window)


def test_half_typed_word_keeps_the_grid(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    window.search_bar.line.setFocus()
    qtbot.keyClicks(window.search_bar.line, "zzq")
    window.search.run(explicit=False)  # the pause after typing
    qtbot.waitUntil(lambda: "keep typing" in window.results.result_label.text(), timeout=10_000)
    assert window.grid_model.rowCount() == 6
    generation = window.search.generation
    window._refresh_after_change()  # the worker finishing a batch while the word is half typed
    assert window.search.generation == generation + 1
    qtbot.waitUntil(lambda: not window.background._live, timeout=10_000)  # its answer was delivered
    assert window.grid_model.rowCount() == 6 and "keep typing" in window.results.result_label.text()
    window.search.run(explicit=True)  # Return: the real answer
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 0, timeout=10_000)
    window.search.search_for("(black_hair")
    qtbot.waitUntil(window.results.search_error.isVisible, timeout=10_000)
    assert "previous results" in window.results.result_label.text()
    close_window(qtbot, window)


# --- tagging status -------------------------------------------------------------------------


@pytest.mark.slow
def test_cancel_holds_until_resume_and_counts_are_told(qtbot, library, settings, photos, tmp_path) -> None:
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    window = open_window(qtbot, library, settings)
    window.tagging_status.cancel()  # held before anything is queued
    window.library_folders.add(str(photos))
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 7, timeout=20_000)
    window.worker.wake()
    qtbot.wait(1500)
    waiting = library.count_by_status()["pending"]
    assert waiting >= 6, "a cancelled worker does not start again by itself"
    window.tagging_status.show_outcome("cancelled")
    qtbot.waitUntil(lambda: f"{waiting} images wait" in window.work_label.text(), timeout=10_000)
    assert "Resume" in window.work_label.text() and window.pause_button.text() == "Resume"
    window.pause_button.click()  # Resume
    qtbot.waitUntil(lambda: library.count_by_status()["pending"] == 0, timeout=60_000)
    qtbot.waitUntil(lambda: "could not be tagged" in window.work_label.text(), timeout=20_000)
    assert "All images tagged" in window.work_label.text() and "1 could" in window.work_label.text()
    window.status.show_failed.emit()  # the link
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 1, timeout=10_000)
    assert window.search_bar.query() == "status:error"
    close_window(qtbot, window)


# --- browsing -------------------------------------------------------------------------------


@pytest.mark.slow
def test_folder_tree_filters_the_grid_with_the_search(qtbot, library, settings, photos) -> None:
    sub = photos / "Best"
    sub.mkdir()
    for name in sorted(p.name for p in photos.iterdir() if p.is_file())[:2]:
        shutil.move(photos / name, sub / name)
    window = tagged_window(qtbot, library, settings, photos)
    qtbot.waitUntil(lambda: window.folders.tree.topLevelItemCount() == 2, timeout=10_000)
    root_item = window.folders.tree.topLevelItem(1)
    assert root_item.text(0) == "Photos (6)"
    best = root_item.child(0)
    assert best.text(0) == "Best (2)"
    window.folders.tree.setCurrentItem(best)
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 2, timeout=10_000)
    assert all("/Best/" in row[1] for row in window.grid_model.rows)
    tag = library.result_tag_counts("", folder=str(sub.resolve()))[0][0]
    window.search.search_for(tag)
    expected = library.search_rows(tag, folder=str(sub.resolve()))[0]
    qtbot.waitUntil(lambda: window.grid_model.rows == expected, timeout=10_000)
    window.folders.tree.setCurrentItem(window.folders.tree.topLevelItem(0))  # All folders
    qtbot.waitUntil(lambda: len(window.grid_model.rows) == library.count(tag), timeout=10_000)
    close_window(qtbot, window)


@pytest.mark.slow
def test_viewer_opens_steps_zooms_and_closes(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    select_row(window, 1)
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_Space)
    viewer = window.viewer.viewer
    assert viewer is not None and viewer.isVisible()
    qtbot.waitUntil(lambda: not viewer.canvas.pixmap.isNull(), timeout=10_000)
    assert viewer.row == 1 and Path(window.grid_model.rows[1][1]).name in viewer.name.text()
    qtbot.waitUntil(lambda: bool(viewer.tags.text()), timeout=10_000)
    viewer.resize(500, 400)
    viewer.canvas.fit_to_window()
    fit = viewer.canvas.zoom
    assert fit <= 1.0
    viewer.canvas.actual_size()
    assert viewer.canvas.zoom == 1.0
    wheel = QWheelEvent(
        QPointF(50, 50),
        QPointF(50, 50),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    viewer.canvas.wheelEvent(wheel)
    assert viewer.canvas.zoom == pytest.approx(1.25)
    qtbot.keyClick(viewer, Qt.Key.Key_Right)
    assert viewer.row == 2 and window.grid.currentIndex().row() == 2, "the grid follows the viewer"
    qtbot.keyClick(viewer, Qt.Key.Key_Left)
    assert viewer.row == 1
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    assert not viewer.isVisible()
    window.viewer.open(window.grid_model.index(0))  # double-click does the same
    assert viewer.isVisible() and viewer.row == 0
    ARTIFACTS.mkdir(exist_ok=True)
    viewer.resize(900, 650)
    qtbot.waitUntil(lambda: not viewer.canvas.pixmap.isNull(), timeout=10_000)
    assert viewer.grab().save(str(ARTIFACTS / "viewer.png"))
    viewer.close()
    close_window(qtbot, window)


def test_thumbnail_size_slider_and_ctrl_wheel_are_remembered(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    window.results.size_slider.setValue(200)
    assert window.grid.icon_size == 200 and window.grid.gridSize().width() == 216
    wheel = QWheelEvent(
        QPointF(20, 20),
        QPointF(20, 20),
        QPoint(0, 0),
        QPoint(0, -120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.ControlModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    window.grid.wheelEvent(wheel)
    assert window.grid.icon_size == 184 and window.results.size_slider.value() == 184
    assert "missing" in window.results.legend.toolTip()
    close_window(qtbot, window)
    again = open_window(qtbot, library, settings)
    assert again.grid.icon_size == 184
    close_window(qtbot, again)


def test_tri_state_selection_editing_with_undo_and_redo(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    ids = [row[0] for row in window.grid_model.rows[:2]]
    select_row(window, 0)
    qtbot.waitUntil(lambda: window.details.selection_count == 1, timeout=10_000)
    window.selection.edit_tags(["only_first"], True)
    qtbot.waitUntil(lambda: library.count("only_first") == 1, timeout=10_000)
    window.grid.selectionModel().select(window.grid_model.index(1), window.grid.selectionModel().SelectionFlag.Select)
    qtbot.waitUntil(
        lambda: window.details.tags.state_of("only_first") == Qt.CheckState.PartiallyChecked, timeout=10_000
    )
    rows = {r.name: r for r in window.details.tags.rows}
    assert rows["only_first"].info == "1 of 2"
    before = {tag: library.tag_states(ids, tag) for tag in ("only_first",)}
    item = window.details.tags.item_for("only_first")
    item.setCheckState(0, Qt.CheckState.Checked)  # a click on "some" adds to all
    qtbot.waitUntil(lambda: library.count("only_first") == 2, timeout=10_000)
    qtbot.waitUntil(lambda: window.details.tags.state_of("only_first") == Qt.CheckState.Checked, timeout=10_000)
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: library.count("only_first") == 1, timeout=10_000)
    assert library.tag_states(ids, "only_first") == before["only_first"], "undo puts back exactly what was there"
    window.redo_action.trigger()
    qtbot.waitUntil(lambda: library.count("only_first") == 2, timeout=10_000)
    # Removing a model tag from both, then resetting to the model's opinion.
    model_tag = next(r.name for r in window.details.tags.rows if r.name != "only_first")
    states = library.tag_states(ids, model_tag)
    window.selection.edit_tags([model_tag], False)
    qtbot.waitUntil(lambda: all(s and s[1] < 0 for s in library.tag_states(ids, model_tag).values()), timeout=10_000)
    window.selection.edit_tags([model_tag], None)
    qtbot.waitUntil(lambda: library.tag_states(ids, model_tag) == states, timeout=10_000)
    assert window.undo_stack.count() == 4
    close_window(qtbot, window)


def test_thresholds_per_tag_and_global_are_undoable(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    select_row(window, 0)
    qtbot.waitUntil(lambda: len(window.details.tags.tag_items()) > 0, timeout=10_000)
    tag = window.details.tags.rows[0].name
    window.thresholds.set_tag_threshold(tag, 0.99)
    qtbot.waitUntil(lambda: library.tag_thresholds().get(tag) == 0.99, timeout=10_000)
    qtbot.waitUntil(
        lambda: next(r for r in window.details.tags.rows if r.name == tag).threshold == 0.99, timeout=10_000
    )
    row = next(r for r in window.details.tags.rows if r.name == tag)
    assert row.overridden and "own threshold 0.99" in row.info
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: tag not in library.tag_thresholds(), timeout=10_000)
    window.details.slider.setValue(70)
    qtbot.waitUntil(lambda: abs(library.threshold - 0.7) < 1e-9, timeout=10_000)
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: abs(library.threshold - 0.4) < 1e-9, timeout=10_000)
    qtbot.waitUntil(lambda: window.details.slider.value() == 40, timeout=10_000)
    close_window(qtbot, window)


def test_confidence_shows_three_decimals_near_the_threshold() -> None:
    assert score_text(0.3994, 0.4) == "0.399"
    assert score_text(0.72, 0.4) == "0.72"
    assert score_text(-1.0, 0.4) == "—"


def test_tag_list_counts_the_results_and_its_menu_edits_the_search(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    tag = library.tag_counts(0.4)[0][0]
    window.search.search_for(tag)
    expected = library.result_tag_counts(tag, 0.4)
    qtbot.waitUntil(lambda: window.tag_panel._rows == expected, timeout=10_000)
    assert f"({expected[0][1]})" in window.tag_panel.tag_items()[0].text(0)
    other = expected[1][0]
    window.tag_panel.exclude_tag.emit(other)
    assert window.search_bar.query() == f"{tag} -{other}"
    qtbot.waitUntil(lambda: len(window.grid_model.rows) == library.count(f"{tag} -{other}"), timeout=10_000)
    close_window(qtbot, window)


def test_sort_in_words_with_a_direction(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    labels = [window.search_bar.sort_box.itemText(i) for i in range(window.search_bar.sort_box.count())]
    assert "Date taken" in labels and not any(label.startswith("-") for label in labels)
    window.search_bar.sort_box.setCurrentIndex(window.search_bar.sort_box.findData("name"))
    window.search_bar.direction.click()
    assert window.search_bar.sort() == "-name"
    expected = library.search_rows("", sort="-name")[0]
    qtbot.waitUntil(lambda: window.grid_model.rows == expected, timeout=10_000)
    close_window(qtbot, window)


# --- first start, layout, drops ---------------------------------------------------------------


def test_first_start_says_what_to_do_and_no_model_is_not_an_error(qtbot, library, settings, caplog) -> None:
    settings.model = ""
    with caplog.at_level(logging.INFO, logger="joytag_desktop"):
        window = open_window(qtbot, library, settings)
        qtbot.waitUntil(window.first_run.isVisible, timeout=10_000)
        qtbot.waitUntil(window.results.empty_state.isVisible, timeout=10_000)
    assert "Add…" in window.results.empty_state.text() and "drop a folder" in window.results.empty_state.text()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    close_window(qtbot, window)


def test_messages_point_at_controls_not_flags() -> None:
    from joytag_desktop.taggers.joytag.layout import HOW_TO_GET_A_MODEL

    for message in (
        HOW_TO_GET_A_MODEL,
        "--device cuda was asked for, but PyTorch sees no CUDA GPU here (use --device cpu)",
        "Could not reach the Hugging Face Hub: pass their folder with --model DIR.",
        "a caption written by someone else exists (use --overwrite)",
    ):
        assert "--" not in for_window(message), for_window(message)
    assert "Settings" in for_window("--device cuda was asked for, but no GPU (use --device cpu)")


@pytest.mark.slow
def test_small_window_keeps_several_columns_and_remembers_the_panels(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    window.resize(1024, 700)
    qtbot.wait(100)
    columns = window.grid.viewport().width() // window.grid.gridSize().width()
    assert columns >= 3, f"only {columns} columns at 1024x700 (panels {window.splitter.sizes()})"
    assert window.details.width() >= window.details.minimumWidth()
    window.toggle_right.trigger()  # collapse the details panel
    assert window.splitter.sizes()[2] == 0
    assert window.grid.viewport().width() // window.grid.gridSize().width() > columns
    close_window(qtbot, window)
    again = open_window(qtbot, library, settings)
    assert again.splitter.sizes()[2] == 0, "splitter sizes are remembered"
    again.toggle_right.trigger()
    assert again.splitter.sizes()[2] > 0
    close_window(qtbot, again)


def test_drops_are_links_or_copies_never_moves(qtbot, library, settings, photos) -> None:
    window = open_window(qtbot, library, settings)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photos))])
    move_or_copy = Qt.DropAction.MoveAction | Qt.DropAction.CopyAction
    event = QDragEnterEvent(QPoint(5, 5), move_or_copy, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(event)
    assert event.isAccepted() and event.dropAction() == Qt.DropAction.CopyAction
    move_or_link = Qt.DropAction.MoveAction | Qt.DropAction.LinkAction
    event = QDragEnterEvent(QPoint(5, 5), move_or_link, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(event)
    assert event.isAccepted() and event.dropAction() == Qt.DropAction.LinkAction
    move_only = QDragEnterEvent(
        QPoint(5, 5), Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    window.dragEnterEvent(move_only)
    assert not move_only.isAccepted(), "a drag that can only move is refused"
    close_window(qtbot, window)


# --- translations ---------------------------------------------------------------------------


def test_chinese_user_interface(qtbot, library, settings, photos) -> None:
    from PySide6.QtWidgets import QApplication

    from joytag_desktop.gui.i18n import install_translators, remove_translators

    settings.language = "zh_CN"
    translators = install_translators(QApplication.instance(), settings)
    try:
        assert translators, "the zh_CN translation loads"
        window = tagged_window(qtbot, library, settings, photos)
        menus = [action.text() for action in window.menuBar().actions()]
        assert menus[0] == "文件(&F)" and "帮助(&H)" in menus
        assert window.folders.add_button.text() == "添加…"
        qtbot.waitUntil(lambda: "所有图片均已标注" in window.work_label.text(), timeout=30_000)
        select_row(window, 0)
        qtbot.waitUntil(lambda: len(window.details.tags.tag_items()) > 0, timeout=10_000)
        tag_names = {r.name for r in window.details.tags.rows}
        assert tag_names <= {name for name, _ in library.tag_counts(0.0)}, "tags stay as the model names them"
        window.resize(1280, 800)
        ARTIFACTS.mkdir(exist_ok=True)
        qtbot.wait(200)
        assert window.grab().save(str(ARTIFACTS / "main-window-zh_CN.png"))
        close_window(qtbot, window)
    finally:
        remove_translators(QApplication.instance(), translators)
        settings.language = ""


def test_translations_are_complete_and_built() -> None:
    import subprocess

    script = Path(__file__).resolve().parents[1] / "packaging" / "update_translations.py"
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_translations_ship_in_the_package() -> None:
    from joytag_desktop.resources import translations_dir

    assert (translations_dir() / "joytag_zh_CN.qm").stat().st_size > 5000


def test_viewer_shows_a_camera_file_upright() -> None:
    """The Canon EOS 300D JPEG (Exiv2 test data) is stored 150×91 with EXIF Orientation 6."""
    from helpers.fixture_files import FIXTURES
    from joytag_desktop.gui.viewer import decode_for_viewer

    image, full = decode_for_viewer(str(FIXTURES / "metadata" / "canon-eos-300d-rotated.jpg"))
    assert full == (91, 150) and (image.width(), image.height()) == (91, 150)


def test_the_grid_follows_each_models_category_thresholds(qtbot, library, settings, photos) -> None:
    """The slider is the library threshold, not a one-off one: WD's character threshold (0.85) still
    decides its characters in the grid, the tag list and completion."""
    from helpers.library import give_scores

    window = tagged_window(qtbot, library, settings, photos)
    first, second = sorted(p for p in photos.iterdir() if p.is_file())[:2]
    library.add_model("wd", format="wd", thresholds={"character": 0.85})
    give_scores(library, ["hatsune_miku"], {first: {"hatsune_miku": 0.9}, second: {"hatsune_miku": 0.8}},
                model="wd", categories=["character"])  # fmt: skip
    window.search.search_for("hatsune_miku")
    qtbot.waitUntil(lambda: [Path(r[1]).name for r in window.grid_model.rows] == [first.name], timeout=10_000)
    assert dict(library.tag_counts())["hatsune_miku"] == 1
    close_window(qtbot, window)
