"""Tagging → Models…: the licence before a download, the models folder and the Hub endpoint settings,
and a whole download from a Hub on this machine (tests/helpers/fake_hub.py) through the real dialog."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from joytag_desktop import paths
from joytag_desktop.gui.model_manager import ModelManager
from joytag_desktop.taggers import pins
from joytag_desktop.taggers.catalogue import CATALOGUE
from tests.helpers.fake_hub import FakeHub, running

CAMIE = Path(__file__).parent / "fixtures/camie-format/v2-onnx"
REPO = "Camais03/camie-tagger-v2"


def _manager(qtbot) -> ModelManager:
    dialog = ModelManager("")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: bool(dialog.states) and dialog.folder_label.text() != "", timeout=10_000)
    return dialog


def _select(dialog: ModelManager, name: str) -> None:
    dialog.table.selectRow([item.name for item in CATALOGUE].index(name))


def test_a_gpl_licence_is_asked_about_before_the_download(qtbot) -> None:
    dialog = _manager(qtbot)
    _select(dialog, "camie-v2")
    assert "GPL-3.0" in dialog.licence.text() and "huggingface.co/Camais03/camie-tagger-v2" in dialog.licence.text()
    assert "2 of 2 files pinned by SHA-256" in dialog.licence.text()
    dialog.download_button.click()
    box = dialog.consent
    assert box is not None and box.isVisible() and "GPL-3.0" in box.text()
    assert not dialog.bar.isVisible()  # nothing downloads before the answer
    box.button(QMessageBox.StandardButton.No).click()
    assert dialog.consent is None and not dialog.bar.isVisible()
    dialog.download_button.click()
    assert dialog.consent is not None
    dialog.consent.button(QMessageBox.StandardButton.Yes).click()
    # The tests' environment sets HF_HUB_OFFLINE: the download starts, then says so in one line.
    qtbot.waitUntil(lambda: "HF_HUB_OFFLINE" in dialog.note.text(), timeout=10_000)


def test_a_permissive_licence_downloads_without_a_question(qtbot) -> None:
    dialog = _manager(qtbot)
    _select(dialog, "wd-vit-v3")
    assert "Apache-2.0" in dialog.licence.text()
    dialog.download_button.click()
    assert dialog.consent is None
    qtbot.waitUntil(lambda: "HF_HUB_OFFLINE" in dialog.note.text(), timeout=10_000)


def test_the_endpoint_and_the_models_folder_are_shared_settings(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialog = _manager(qtbot)
    assert str(paths.default_models_dir()) in dialog.folder_label.text()
    dialog.endpoint.setText("ftp://mirror.example")
    dialog.endpoint.editingFinished.emit()
    qtbot.waitUntil(lambda: "http(s) address" in dialog.note.text(), timeout=10_000)
    dialog.endpoint.setText("https://mirror.example/")
    dialog.endpoint.editingFinished.emit()
    settings = paths.data_dir() / paths.SETTINGS_FILE
    qtbot.waitUntil(lambda: settings.exists() and "mirror" in settings.read_text(), timeout=10_000)
    chosen = tmp_path / "big drive"
    chosen.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(chosen))
    dialog.folder_button.click()
    qtbot.waitUntil(lambda: str(chosen) in dialog.folder_label.text(), timeout=10_000)
    assert json.loads(settings.read_text()) == {"hub_endpoint": "https://mirror.example", "models_folder": str(chosen)}
    assert paths.models_dir() == chosen


def test_a_download_from_the_hub_set_in_the_dialog(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    for path in CAMIE.iterdir():
        if path.name.startswith("camie-tagger-v2"):
            content = path.read_bytes()
            monkeypatch.setitem(
                pins.PINS, (REPO, path.name), pins.Pin(len(content), hashlib.sha256(content).hexdigest())
            )
    hub = FakeHub()
    hub.add_folder(REPO, CAMIE, lfs_suffixes=(".onnx",))
    with running(hub):
        dialog = _manager(qtbot)
        dialog.endpoint.setText(hub.endpoint)
        dialog.endpoint.editingFinished.emit()
        settings = paths.data_dir() / paths.SETTINGS_FILE
        qtbot.waitUntil(lambda: settings.exists() and hub.endpoint in settings.read_text(), timeout=10_000)
        _select(dialog, "camie-v2")
        dialog.download_button.click()
        assert dialog.consent is not None
        dialog.consent.button(QMessageBox.StandardButton.Yes).click()
        qtbot.waitUntil(lambda: dialog.states.get("camie-v2") == "installed", timeout=20_000)
    assert "is installed in" in dialog.note.text()
    assert (paths.models_dir() / "camie-v2" / "camie-tagger-v2.onnx").read_bytes() == (
        CAMIE / "camie-tagger-v2.onnx"
    ).read_bytes()


def test_the_tables_headers_reach_the_translators(qtbot, tmp_path: Path) -> None:
    """Every column header is a string lupdate finds in the dialog's context (tr() over a tuple of
    names left "Model", "Good at" and "Status" English in Chinese)."""
    import joytag_desktop.gui.model_manager as model_manager
    from helpers.translations import extracted

    found = extracted(model_manager.__file__, tmp_path)
    dialog = _manager(qtbot)
    headers = [dialog.table.horizontalHeaderItem(i).text() for i in range(dialog.table.columnCount())]
    assert headers == list(model_manager.COLUMNS)
    assert [name for name in headers if ("ModelManager", name) not in found] == []


def test_the_pins_line_reaches_the_translators(qtbot, tmp_path: Path) -> None:
    """ "Checked after download: 2 of 2 files pinned by SHA-256" is said by the dialog (pins.summary
    is the CLI's English), so lupdate finds it and Chinese does not show English there."""
    import joytag_desktop.gui.model_manager as model_manager
    from helpers.translations import extracted

    found = extracted(model_manager.__file__, tmp_path)
    assert ("ModelManager", "{pinned} of {total} files pinned by SHA-256") in found
    dialog = _manager(qtbot)
    _select(dialog, "camie-v2")
    assert "Checked after download: 2 of 2 files pinned by SHA-256." in dialog.licence.text()
