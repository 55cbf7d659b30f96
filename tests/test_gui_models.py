"""Several taggers in the GUI (pytest-qt, real widgets, a real library and the small JoyTag model):
per-model score columns, tags grouped by category, ratings set by hand, and View → Safe view."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap

from helpers.gui import close_window, open_window, select_row, tagged_window
from helpers.library import give_scores
from joytag_desktop.gui.categories import category_colour
from joytag_desktop.gui.tag_editor import ABOVE, BELOW

WD_VOCAB = ["hatsune_miku", "rating:general", "rating:sensitive", "rating:questionable", "rating:explicit"]
WD_CATEGORIES = ["character", "rating", "rating", "rating", "rating"]


def row_of(window, path: Path) -> int:
    return [Path(r[1]).name for r in window.grid_model.rows].index(path.name)


def add_wd(lib, paths: list[Path], ratings: list[str], shared: str | None = None, shared_score: float = 0.2):
    """A second model's opinion: hatsune_miku on the first image, a rating for each, and optionally a
    tag the JoyTag model also scored (one vocabulary, as WD and JoyTag share Danbooru names)."""
    vocab, categories = list(WD_VOCAB), list(WD_CATEGORIES)
    if shared:
        vocab.append(shared)
        categories.append("general")
    scores = {}
    for index, (path, rating) in enumerate(zip(paths, ratings, strict=True)):
        scores[path] = {f"rating:{rating}": 0.9, "rating:general": 0.05 if rating != "general" else 0.9}
        if index == 0:
            scores[path]["hatsune_miku"] = 0.95
            if shared:
                scores[path][shared] = shared_score
    lib.add_model("wd", format="wd", thresholds={"character": 0.85, "general": 0.35})
    give_scores(lib, vocab, scores, model="wd", categories=categories)


@pytest.mark.slow
def test_details_show_each_models_score_and_group_tags_by_category(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    first = sorted(p for p in photos.iterdir() if p.is_file())[0]
    joytag = library.models()[0].name
    image_id = library.image_by_path(first).id
    shared = library.image_tags(image_id)[0].name  # the JoyTag model's best tag on it
    add_wd(library, [first], ["explicit"], shared=shared, shared_score=0.2)
    window.search.search_for("")
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 6, timeout=10_000)
    select_row(window, row_of(window, first))
    qtbot.waitUntil(lambda: window.details.tags.item_for("hatsune_miku") is not None, timeout=10_000)
    editor = window.details.tags
    assert editor.models == sorted([joytag, "wd"])
    header = [editor.headerItem().toolTip(c) for c in range(editor.columnCount())]
    assert header[2:4] == editor.models, "one score column per model, named in full in its tooltip"
    assert editor.isColumnHidden(1) and editor.isColumnHidden(4), "the scores replace the bar; source in tooltips"
    assert editor.columnWidth(0) > sum(editor.columnWidth(c) for c in (2, 3)), "the tag names keep the room"
    wd_column = 2 + editor.models.index("wd")
    joytag_column = 2 + editor.models.index(joytag)
    item = editor.item_for(shared)
    assert item.text(wd_column) == "0.20" and item.foreground(wd_column).color() == BELOW
    joytag_score = next(v.scores[joytag] for v in library.image_tags(image_id) if v.name == shared)
    assert item.text(joytag_column) == f"{joytag_score:.2f}" and item.foreground(joytag_column).color() == ABOVE
    miku = editor.item_for("hatsune_miku")
    assert miku.text(joytag_column) == "—" and miku.checkState(0) == Qt.CheckState.Checked
    assert miku.parent().text(0).startswith("Characters") and miku.foreground(0).color() == category_colour("character")
    groups = [editor.topLevelItem(i).text(0).split(" (")[0] for i in range(editor.topLevelItemCount())]
    assert groups == ["Characters", "General", "Rating"], "who comes before the long general list"
    assert "Explicit" in window.details.facts.text()

    # The tag list of the results groups by category too, in the category's colour.
    window.search.search_for("hatsune_miku")
    qtbot.waitUntil(lambda: "hatsune_miku" in window.tag_panel.names(), timeout=10_000)
    assert window.tag_panel.groups()[0] == "character"
    line = next(i for i in window.tag_panel.tag_items() if i.data(0, Qt.ItemDataRole.UserRole) == "hatsune_miku")
    assert line.foreground(0).color() == category_colour("character")
    close_window(qtbot, window)


def test_rating_set_by_hand_wins_and_undoes(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    first = sorted(p for p in photos.iterdir() if p.is_file())[0]
    add_wd(library, [first], ["explicit"])
    assert library.count("rating:explicit") == 1 and library.count("rating:none") == 5
    select_row(window, row_of(window, first))
    qtbot.waitUntil(lambda: window.details.rating.isEnabled(), timeout=10_000)
    combo = window.details.rating
    combo.setCurrentIndex(combo.findData("general"))
    combo.activated.emit(combo.currentIndex())
    qtbot.waitUntil(lambda: library.count("rating:general") == 1, timeout=10_000)
    assert library.count("rating:explicit") == 0
    qtbot.waitUntil(lambda: "set by hand" in window.details.facts.text(), timeout=10_000)
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: library.count("rating:explicit") == 1, timeout=10_000)
    assert library.manual_ratings([library.image_by_path(first).id]) == {library.image_by_path(first).id: None}
    close_window(qtbot, window)


@pytest.mark.slow
def test_safe_view_blurs_or_hides_and_is_remembered(qtbot, library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    first, second = sorted(p for p in photos.iterdir() if p.is_file())[:2]
    add_wd(library, [first, second], ["explicit", "general"])
    ids = {library.image_by_path(p).id for p in (first, second)}
    explicit_id = library.image_by_path(first).id
    assert not window.safe_view.toggle.isChecked(), "off by default"
    window._refresh_after_change()
    qtbot.waitUntil(lambda: all(window.grid_model.has_thumbnail(r[0]) for r in window.grid_model.rows), timeout=30_000)
    row = row_of(window, first)
    plain = window.grid_model.data(window.grid_model.index(row), Qt.ItemDataRole.DecorationRole)

    window.safe_view.toggle.setChecked(True)  # blur above general; unrated images stay visible
    qtbot.waitUntil(lambda: window.grid_model.veiled == {explicit_id}, timeout=10_000)
    assert window.grid_model.rowCount() == 6
    blurred = window.grid_model.data(window.grid_model.index(row), Qt.ItemDataRole.DecorationRole)
    assert isinstance(blurred, QPixmap) and blurred.cacheKey() != plain.cacheKey()
    assert blurred.toImage() != plain.toImage()
    window.viewer.open(window.grid_model.index(row))
    qtbot.waitUntil(lambda: window.viewer.viewer._picture is not None, timeout=10_000)
    assert window.viewer.viewer.veil_note.isVisible()
    window.viewer.viewer.toggle_reveal()
    assert not window.viewer.viewer.veil_note.isVisible()
    window.viewer.viewer.close()

    hide = next(a for a in window.safe_view.modes.actions() if a.data() == "hide")
    hide.trigger()
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 5, timeout=10_000)
    assert explicit_id not in {r[0] for r in window.grid_model.rows} and not window.grid_model.veiled
    window.safe_view.unrated.setChecked(True)  # only images rated at most general
    qtbot.waitUntil(lambda: {r[0] for r in window.grid_model.rows} == ids - {explicit_id}, timeout=10_000)
    close_window(qtbot, window)

    again = open_window(qtbot, library, settings)
    assert again.safe_view.toggle.isChecked() and again.safe_view.state.mode == "hide"
    qtbot.waitUntil(lambda: {r[0] for r in again.grid_model.rows} == ids - {explicit_id}, timeout=10_000)
    again.safe_view.toggle.setChecked(False)
    qtbot.waitUntil(lambda: again.grid_model.rowCount() == 6, timeout=10_000)
    close_window(qtbot, again)


@pytest.mark.slow
def test_settings_models_page_chooses_automatic_models_and_thresholds(qtbot, library, settings, photos) -> None:
    from joytag_desktop.gui.model_settings import apply_model_choices
    from joytag_desktop.gui.panels import SettingsDialog

    window = tagged_window(qtbot, library, settings, photos)
    first = sorted(p for p in photos.iterdir() if p.is_file())[0]
    add_wd(library, [first], ["explicit"])
    joytag = library.models()[0].name
    dialog = SettingsDialog(settings, 0.4, 0.05, window, library.models(), library.model_thresholds())
    qtbot.addWidget(dialog)
    page = dialog.models_page
    assert page.table.rowCount() == 2
    assert page.spins[("wd", "character")].value() == 0.85 and page.spins[("wd", "general")].value() == 0.35
    assert page.spins[(joytag, "general")].text() == "library"
    assert page.auto[joytag].isChecked() and not page.auto["wd"].isEnabled(), "no folder known for wd"

    page.auto[joytag].setChecked(False)
    page.searched["wd"].setChecked(False)
    page.spins[(joytag, "general")].setValue(0.9)
    apply_model_choices(library, page.choices())
    models = {m.name: m for m in library.models()}
    assert not models[joytag].auto and not models["wd"].searched
    assert library.model_thresholds()[joytag] == {"general": 0.9}
    assert library.model_thresholds()["wd"]["character"] == 0.85, "untouched values stay"
    assert library.count("hatsune_miku") == 0, "an unsearched model's tags do not count"

    # The unticked model stays off when the window starts its worker again; nothing tags new files now.
    window.worker.reload_model(window.model_choice.worker_settings())
    shutil.copy(first, photos / "new.jpg")
    window.library_folders.rescan()
    qtbot.waitUntil(lambda: "Settings… ▸ Models" in window.statusBar().currentMessage(), timeout=30_000)
    assert not library.model(joytag).auto and library.count("status:pending") == 1
    # Choosing the model again (Tagging → Models…) makes it tag new files.
    window.model_choice.use(settings.model)
    qtbot.waitUntil(lambda: library.count("status:tagged") == 7, timeout=60_000)
    assert library.model(joytag).auto
    close_window(qtbot, window)


def test_exports_from_the_window_follow_the_category_settings(qtbot, library, settings, photos) -> None:
    import subprocess

    window = tagged_window(qtbot, library, settings, photos)
    first = sorted(p for p in photos.iterdir() if p.is_file())[0]
    add_wd(library, [first], ["explicit"])
    settings.keywords_by_category = True
    settings.export_skip_ratings = True
    window.exports.write_metadata("xmp", [library.image_by_path(first).id])
    sidecar = first.with_name(first.name + ".xmp")
    qtbot.waitUntil(sidecar.exists, timeout=10_000)
    read = subprocess.run(
        ["exiv2", "-q", "-P", "v", "-K", "Xmp.lr.hierarchicalSubject", str(sidecar)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "JoyTag|character|hatsune_miku" in read and "JoyTag|general|" in read
    assert "rating" not in read
    close_window(qtbot, window)
