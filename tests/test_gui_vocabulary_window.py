"""Edit ▸ Tag aliases and implications… (issue 34): the vocabulary listed and filtered at thousands of
rows, removed undoably, booru CSV files imported (refusals listed in the window) and exported."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QItemSelectionModel, QTimer
from PySide6.QtWidgets import QApplication, QMenu

from helpers.gui import close_window, open_window
from joytag_desktop.interchange import booru

VOCAB = Path(__file__).parent / "fixtures" / "vocabulary"


def _open(qtbot, library, settings):
    settings.model = ""
    window = open_window(qtbot, library, settings)
    edit = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    assert isinstance(edit, QMenu)
    item = next(a for a in edit.actions() if a.text() == "Tag aliases and implications…")
    item.trigger()
    relations = window.vocabulary.relations_window
    assert relations is not None and relations.isVisible()
    return window, relations


def _shown(relations) -> list[tuple[str, str, str]]:
    model = relations.model
    return [tuple(model.index(r, c).data() for c in range(3)) for r in range(model.rowCount())]


def test_the_window_lists_filters_and_removes_undoably(qtbot, library, settings) -> None:
    library.vocabulary.add_aliases([(f"alias_{n:04d}", f"target_{n % 500:03d}") for n in range(3000)])
    library.vocabulary.imply("target_007", "animal")
    window, relations = _open(qtbot, library, settings)
    qtbot.waitUntil(lambda: len(relations.model.all_rows) == 3001, timeout=10_000)
    assert relations.summary.text().startswith("3,000 alias") and ", 1 implication" in relations.summary.text()
    started = time.perf_counter()
    relations.filter.setText("alias_0007")
    assert time.perf_counter() - started < 0.5  # filtered in the model (25,000 rows: about 10 ms)
    assert _shown(relations) == [("alias_0007", "alias of", "target_007")]
    relations.filter.setText("target_007")
    assert ("target_007", "implies", "animal") in _shown(relations) and len(_shown(relations)) == 7
    relations.filter.setText("animal")
    relations.filter.setText("")
    relations.filter.setText("_0042")
    assert _shown(relations) == [("alias_0042", "alias of", "target_042")]
    relations.table.selectAll()
    relations.filter.setText("target_007")  # alias_0007, _0507, … and the implication, all selected
    relations.table.selectAll()
    assert relations.remove_button.isEnabled()
    relations.remove_button.click()
    qtbot.waitUntil(lambda: library.vocabulary.implications() == [], timeout=10_000)
    assert (
        len(library.vocabulary.aliases()) == 2994 and ("alias_0507", "target_007") not in library.vocabulary.aliases()
    )
    qtbot.waitUntil(lambda: len(relations.model.all_rows) == 2994, timeout=10_000)
    assert _shown(relations) == []
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: library.vocabulary.implications() == [("target_007", "animal")], timeout=10_000)
    assert len(library.vocabulary.aliases()) == 3000
    qtbot.waitUntil(lambda: len(_shown(relations)) == 7, timeout=10_000)
    close_window(qtbot, window)


def test_booru_files_import_with_refusals_listed_and_export(qtbot, library, settings, tmp_path: Path) -> None:
    window, relations = _open(qtbot, library, settings)
    relations.import_file("alias", VOCAB / "tag_aliases-2024-05-01.csv")
    qtbot.waitUntil(lambda: "refused" in relations.report.text() and relations.refused.isVisible(), timeout=10_000)
    assert "4 added, 0 already there, 1 refused" in relations.report.text()
    assert "alias chain puppy → doggy" in relations.refused.toPlainText()
    relations.import_file("implication", VOCAB / "tag_implications-2024-05-01.csv")
    qtbot.waitUntil(lambda: "tag_implications-2024-05-01.csv:" in relations.report.text(), timeout=10_000)
    lines = relations.refused.toPlainText().splitlines()
    assert len(lines) == 1 and "cycle: mammal → cat → felid → mammal" in lines[0]
    qtbot.waitUntil(lambda: len(relations.model.all_rows) == 4 + 5, timeout=10_000)
    relations.import_file("alias", VOCAB / "tag_aliases-2024-05-01.csv")  # again: all there, none refused twice
    qtbot.waitUntil(lambda: "4 already there" in relations.report.text(), timeout=10_000)
    window.undo_stack.undo()  # the import that added nothing: the aliases stay
    window.undo_stack.undo()  # the implications' import: its five go, the aliases stay
    qtbot.waitUntil(lambda: library.vocabulary.implications() == [], timeout=10_000)
    assert len(library.vocabulary.aliases()) == 4
    window.undo_stack.redo()
    qtbot.waitUntil(lambda: len(library.vocabulary.implications()) == 5, timeout=10_000)
    not_booru = tmp_path / "x.csv"
    not_booru.write_text("a,b\n1,2\n")
    relations.import_file("alias", not_booru)
    qtbot.waitUntil(lambda: "antecedent_name" in relations.report.text(), timeout=10_000)
    assert "\n" not in relations.report.text() and "Traceback" not in relations.report.text()
    written = tmp_path / "out" / "implications.csv"
    written.parent.mkdir()
    relations.export_file("implication", written)
    qtbot.waitUntil(lambda: "implications.csv: 5 row" in relations.report.text(), timeout=10_000)
    assert sorted(booru.read_pairs(written)) == sorted(library.vocabulary.implications())
    relations.export_file("alias", tmp_path / "missing" / "aliases.csv")  # a folder that is not there
    qtbot.waitUntil(lambda: "cannot write" in relations.report.text(), timeout=10_000)
    close_window(qtbot, window)


def test_remove_acts_only_on_the_rows_shown(qtbot, library, settings) -> None:
    """Remove acts on the selected rows as shown through the filter, never on hidden ones."""
    library.vocabulary.add_aliases([("kitty", "cat"), ("puppy", "dog")])
    window, relations = _open(qtbot, library, settings)
    qtbot.waitUntil(lambda: len(relations.model.all_rows) == 2, timeout=10_000)
    relations.filter.setText("kitty")
    index = relations.model.index(0, 0)
    relations.table.selectionModel().select(
        index, QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    )
    assert relations.selected_rows() == [("alias", "kitty", "cat")]
    relations.remove_button.click()
    qtbot.waitUntil(lambda: library.vocabulary.aliases() == [("puppy", "dog")], timeout=10_000)
    close_window(qtbot, window)


def _when_modal(kind: type, act) -> None:
    """Run ``act(dialog)`` once a modal dialog of ``kind`` is up (the code under test is in exec())."""

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, kind):
            QTimer.singleShot(50, poll)
            return
        act(dialog)

    QTimer.singleShot(50, poll)


def test_settings_set_a_models_exclusions_and_caps(qtbot, library, settings, photos) -> None:
    from helpers.library import give_scores
    from joytag_desktop.gui.model_rules_dialog import ModelRulesDialog
    from joytag_desktop.gui.panels import SettingsDialog

    library.add_root(photos)
    library.scan()
    first, second = sorted(p for p in photos.iterdir() if p.is_file())[:2]
    give_scores(
        library,
        ["cat", "watermark", "miku", "rin"],
        {first: {"cat": 0.9, "watermark": 0.8, "miku": 0.7, "rin": 0.95}, second: {"miku": 0.6}},
        categories=["general", "meta", "character", "character"],
    )
    model_id = library.model("test-model").id
    window, _ = _open(qtbot, library, settings)
    typed: list[str] = []

    def rules(dialog: ModelRulesDialog) -> None:
        dialog.excluded.setPlainText("watermark\nbad\x00name")
        dialog.caps["character"].setValue(1)
        dialog.accept()  # refused: a line is no tag name, said in the dialog
        typed.append(dialog.error.text())
        dialog.excluded.setPlainText("watermark, signature")
        dialog.accept()

    def settings_up(dialog: SettingsDialog) -> None:
        page = dialog.models_page
        assert dialog.tabs.currentWidget() is page
        assert page.rule_buttons["test-model"].text() == "None…"
        _when_modal(ModelRulesDialog, rules)
        page.rule_buttons["test-model"].click()  # runs the rules dialog to its end
        typed.append(page.rule_buttons["test-model"].text())
        dialog.accept()

    _when_modal(SettingsDialog, settings_up)
    window.open_settings("models")
    qtbot.waitUntil(lambda: library.model_rules.caps(model_id) == {"character": 1}, timeout=10_000)
    assert typed[0].startswith("Not a tag name") and "2 tag" in typed[1] and "1 cap" in typed[1]
    assert library.model_rules.exclusions(model_id) == ["signature", "watermark"]
    assert library.count("watermark") == 0 and library.count("miku") == 1 and library.count("rin") == 1

    # Opened again, the page shows what is stored; lifting the cap keeps the exclusions.
    def lift(dialog: ModelRulesDialog) -> None:
        assert dialog.values().excluded == ["signature", "watermark"]
        dialog.caps["character"].setValue(dialog.caps["character"].minimum())
        dialog.accept()

    def again(dialog: SettingsDialog) -> None:
        _when_modal(ModelRulesDialog, lift)
        dialog.models_page.rule_buttons["test-model"].click()
        dialog.accept()

    _when_modal(SettingsDialog, again)
    window.open_settings("models")
    qtbot.waitUntil(lambda: library.model_rules.caps(model_id) == {}, timeout=10_000)
    assert library.model_rules.exclusions(model_id) == ["signature", "watermark"]
    close_window(qtbot, window)


def test_a_rename_carries_aliases_and_its_undo_takes_them_back(qtbot, library, settings, photos) -> None:
    library.add_root(photos)
    library.scan()
    ids = [image.id for image in library.images(library.search("").ids)]
    library.set_manual_tag(ids[:2], "kitty_cat", True)
    library.vocabulary.alias("moggy", "kitty_cat")
    library.vocabulary.imply("kitty_cat", "pet")
    window, relations = _open(qtbot, library, settings)
    qtbot.waitUntil(lambda: len(relations.model.all_rows) == 2, timeout=10_000)
    window.vocabulary.rename("kitty_cat", "kitty")
    qtbot.waitUntil(lambda: library.vocabulary.implications() == [("kitty", "pet")], timeout=10_000)
    assert library.vocabulary.aliases() == [("moggy", "kitty")]
    qtbot.waitUntil(lambda: ("moggy", "alias of", "kitty") in _shown(relations), timeout=10_000)
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: library.vocabulary.implications() == [("kitty_cat", "pet")], timeout=10_000)
    assert library.vocabulary.aliases() == [("moggy", "kitty_cat")]
    qtbot.waitUntil(lambda: library.count("kitty_cat") == 2 and library.count("kitty") == 0, timeout=10_000)
    close_window(qtbot, window)


def test_details_show_an_alias_as_its_target_and_edits_act_on_the_stored_name(qtbot, library, settings, photos) -> None:
    """An image's ``kitty`` (another name of ``cat``) reads "kitty → cat": the line the user unticks
    is the one that goes, and the image no longer counts as cat; a real ``cat`` line stays apart."""
    from PySide6.QtCore import Qt

    library.add_root(photos)
    library.scan()
    ids = sorted(image.id for image in library.images(library.search("").ids))
    library.set_manual_tag([ids[0]], "kitty", True)
    library.set_manual_tag([ids[0]], "sofa", True)
    library.vocabulary.alias("kitty", "cat")
    window, _ = _open(qtbot, library, settings)
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 6, timeout=10_000)
    row = next(r for r in range(6) if window.grid_model.index(r).data(Qt.ItemDataRole.UserRole + 1) == ids[0])
    window.grid.setCurrentIndex(window.grid_model.index(row))
    qtbot.waitUntil(lambda: window.details.tags.item_for("kitty") is not None, timeout=10_000)
    item = window.details.tags.item_for("kitty")
    assert item is not None and item.text(0) == "kitty → cat" and "another name of cat" in item.toolTip(0)
    sofa = window.details.tags.item_for("sofa")
    assert sofa is not None and sofa.text(0) == "sofa"
    assert library.count("cat") == 1
    item.setCheckState(0, Qt.CheckState.Unchecked)
    qtbot.waitUntil(lambda: library.count("cat") == 0, timeout=10_000)
    assert library.count("sofa") == 1 and library.vocabulary.aliases() == [("kitty", "cat")]
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: library.count("cat") == 1, timeout=10_000)
    qtbot.waitUntil(lambda: window.details.tags.state_of("kitty") == Qt.CheckState.Checked, timeout=10_000)
    item = window.details.tags.item_for("kitty")
    assert item is not None and item.text(0) == "kitty → cat"
    close_window(qtbot, window)
