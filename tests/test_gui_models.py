"""Tagging → Models…: the catalogue table, installed states, Use for tagging, a failed download."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from joytag_desktop.gui.model_manager import COLUMNS, ModelManager
from joytag_desktop.model.catalogue import CATALOGUE

FIXTURES = Path(__file__).parent / "fixtures"
STATUS = len(COLUMNS) - 1


def _row(name: str) -> int:
    return [item.name for item in CATALOGUE].index(name)


def test_manager_shows_states_and_uses_a_model(qtbot, isolated_home: Path) -> None:
    models = isolated_home / "models"
    shutil.copytree(FIXTURES / "wd-format/wd-tiny-vit-tagger-v3", models / "wd-vit-v3")
    (models / "camie-v2").mkdir(parents=True)  # an interrupted copy: no files
    dialog = ModelManager(in_use="")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.table.item(0, STATUS).text() != "…", timeout=10_000)
    assert dialog.table.item(_row("wd-vit-v3"), STATUS).text() == "installed"
    assert dialog.table.item(_row("joytag"), STATUS).text() == "not installed"
    assert "broken" in dialog.table.item(_row("camie-v2"), STATUS).text()
    assert dialog.table.item(_row("camie-v2"), 3).text() == "GPL-3.0"
    dialog.table.selectRow(_row("joytag"))
    assert not dialog.use_button.isEnabled() and dialog.download_button.text() == "Download"
    dialog.table.selectRow(_row("wd-vit-v3"))
    assert dialog.use_button.isEnabled() and dialog.download_button.text() == "Download again"
    with qtbot.waitSignal(dialog.model_chosen, timeout=5_000) as chosen:
        dialog.use_button.click()
    assert chosen.args == [str(models / "wd-vit-v3")]
    qtbot.waitUntil(lambda: dialog.table.item(_row("wd-vit-v3"), STATUS).text() == "in use", timeout=10_000)
    dialog.close()


def test_download_without_network_is_reported_in_the_dialog(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    dialog = ModelManager(in_use="")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.table.selectRow(_row("wd-swinv2-v3"))
    dialog.download_button.click()
    assert dialog.cancel_button.isVisible() and not dialog.download_button.isEnabled()
    qtbot.waitUntil(lambda: "no network connection" in dialog.note.text(), timeout=60_000)
    assert dialog.download_button.isEnabled() and not dialog.bar.isVisible()
    dialog.close()
