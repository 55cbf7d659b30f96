"""The window's words: counts with the locale's separators and plural forms in English and Chinese,
categories apart from ratings, one preset table, the device label, Pause/Cancel only with work,
other workers that still answer, and errors in one line (issue 35)."""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLocale, QTimer, QTranslator

from helpers.gui import close_window, open_window, select_row, tagged_window
from joytag_desktop.gui.categories import category_label, rating_label
from joytag_desktop.gui.details import DetailsPanel
from joytag_desktop.gui.messages import device_text, for_window, scan_summary, status_name
from joytag_desktop.gui.panels import SettingsDialog
from joytag_desktop.gui.status import WorkStatus
from joytag_desktop.library import Library
from joytag_desktop.library.scanner import ScanReport
from joytag_desktop.library.worker_state import WorkerState
from joytag_desktop.worker.tagging import TaggingProgress

TRANSLATIONS = Path(__file__).resolve().parents[1] / "resources" / "translations"


@contextlib.contextmanager
def chinese():
    """The window as a zh_CN user sees it: our Chinese translation and the zh_CN locale's numbers."""
    app = QCoreApplication.instance()
    assert app is not None
    before = QLocale()
    translator = QTranslator()
    assert translator.load(str(TRANSLATIONS / "joytag_zh_CN.qm"))
    app.installTranslator(translator)
    QLocale.setDefault(QLocale("zh_CN"))
    try:
        yield
    finally:
        app.removeTranslator(translator)
        QLocale.setDefault(before)


def test_counts_read_right_for_one_and_many_with_separators(qtbot) -> None:
    status = WorkStatus()
    qtbot.addWidget(status)
    status.show_counts(WorkerState.IDLE, 1, 0)
    assert status.label.text() == "1 image waits to be tagged"
    status.show_counts(WorkerState.IDLE, 2, 0)
    assert status.label.text() == "2 images wait to be tagged"
    status.show_counts(WorkerState.PAUSED, 100_000, 1)
    assert status.label.text().startswith("Tagging paused: 100,000 images wait")
    assert ">1 could not be tagged<" in status.label.text()
    status.show_progress(TaggingProgress(done=5760, failed=0, total=100_000, images_per_second=0.0))
    assert status.label.text() == "Tagging 5,760 of 100,000"
    status.show_scanning("Photos", 68_000)
    assert status.label.text() == "Scanning Photos: 68,000 files…"
    assert device_text("CPU (1 threads), float32, batch 4, fast preprocessing").startswith("CPU (1 thread),")
    assert device_text("CPU (8 threads), float32, batch 4, fast preprocessing").startswith("CPU (8 threads),")
    assert scan_summary(ScanReport(added=1, unchanged=2500)) == "1 new, 0 changed, 0 moved, 0 missing, 2,500 unchanged"
    with chinese():
        status.show_progress(TaggingProgress(done=5760, failed=0, total=100_000, images_per_second=0.0))
        assert status.label.text() == "正在标注 5,760 / 100,000"
        status.show_counts(WorkerState.IDLE, 1, 0)
        assert status.label.text() == "1 张图片等待标注"
        assert device_text("CPU (1 threads), float32, batch 4, fast preprocessing") == (
            "CPU（1 个线程），float32，批量 4，快速预处理"
        )


def test_results_and_selection_counts_in_a_real_window(qtbot, library: Library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    window.search.search_for("name:rocket")
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 1, timeout=10_000)
    assert window.results.result_label.text().startswith("1 image"), window.results.result_label.text()
    assert not window.results.result_label.text().startswith("1 images")
    window.search.search_for("")
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 6, timeout=10_000)
    assert window.results.result_label.text().startswith("6 images")
    window.grid.selectAll()
    qtbot.waitUntil(lambda: "6 images (tag edits apply to all)" in window.details.facts.text(), timeout=10_000)
    window.selection.edit_tags(["my_trip"], True)
    qtbot.waitUntil(lambda: "add my_trip to 6 images" in window.statusBar().currentMessage(), timeout=10_000)
    select_row(window, 0)
    window.selection.edit_tags(["my_trip"], True)
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "add my_trip to 1 image", timeout=10_000)
    with chinese():
        window.selection.edit_tags(["my_trip"], False)
        qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "从 1 张图片移除 my_trip", timeout=10_000)
    close_window(qtbot, window)


def test_category_general_and_rating_general_are_different_words_in_chinese(qtbot, settings) -> None:
    assert category_label("general") == "General" and rating_label("general") == "General"
    with chinese():
        assert category_label("general") == "通用"
        assert rating_label("general") == "全年龄"
        details = DetailsPanel()
        qtbot.addWidget(details)
        assert [details.rating.itemText(i) for i in range(details.rating.count())][1] == "全年龄"
        dialog = SettingsDialog(settings, 0.4, 0.05)
        qtbot.addWidget(dialog)
        assert dialog.tabs.tabText(0) == "常规"
        assert status_name("tagged") == "已标注" and status_name("pending") == "等待标注"
        message = "no model tags new files: choose one (Settings → Models in the window, --model on the command line)"
        assert for_window(message).startswith("没有模型标注新文件")
        assert for_window("tagging failed: ValueError: boom").startswith("标注失败：ValueError: boom")
    assert for_window("tagging failed: ValueError: boom") == "Tagging failed: ValueError: boom (details in View ▸ Log)"


def test_settings_and_the_window_name_the_same_preset(qtbot, settings) -> None:
    details = DetailsPanel()
    qtbot.addWidget(details)
    for stored in (0.4, 0.4000000001, 0.39999999):
        details.set_threshold(stored)
        dialog = SettingsDialog(settings, stored, 0.05)
        qtbot.addWidget(dialog)
        assert details.presets.currentText() == "Balanced (0.4)"
        assert dialog.preset.currentText() == details.presets.currentText()
    dialog.threshold.setValue(0.6)
    assert dialog.preset.currentText() == "High precision (0.6)"
    dialog.threshold.setValue(0.33)
    assert dialog.preset.currentText() == "Custom"
    details.set_threshold(0.33)
    assert details.presets.currentText() == "Custom"


def test_device_label_stays_after_settings_and_idle_disables_pause_and_cancel(
    qtbot, library: Library, settings, photos, monkeypatch
) -> None:
    window = tagged_window(qtbot, library, settings, photos)
    qtbot.waitUntil(lambda: "All images tagged" in window.work_label.text(), timeout=30_000)
    qtbot.waitUntil(lambda: "CPU (" in window.device_label.text(), timeout=10_000)
    assert not window.pause_button.isEnabled() and not window.cancel_button.isEnabled()
    device = window.device_label.text()
    checked: list[str] = []
    found = window.model_choice._found  # the model check after Settings ▸ OK ends here
    monkeypatch.setattr(window.model_choice, "_found", lambda path: (found(path), checked.append(path)))
    QTimer.singleShot(300, lambda: window.settings_dialog.accept())
    window.open_settings()
    qtbot.waitUntil(lambda: bool(checked), timeout=10_000)
    qtbot.wait(300)  # the worker's reload (a wake with nothing pending) has answered too
    assert "CPU (" in window.device_label.text(), f"{device!r} became {window.device_label.text()!r}"
    assert not window.pause_button.isEnabled() and not window.cancel_button.isEnabled()
    close_window(qtbot, window)


def test_cuda_asked_for_without_a_gpu_tags_on_the_cpu_and_says_so(qtbot, library: Library, settings, photos) -> None:
    """Settings ▸ Device = cuda on a machine without a usable GPU: the images are still tagged (on
    the CPU), and the status line says plainly that CUDA is not in use, why, and (tooltip) what to do."""
    import pytest
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    settings.device = "cuda"
    window = tagged_window(qtbot, library, settings, photos)
    wanted = "CUDA was asked for but is not available: "
    qtbot.waitUntil(lambda: wanted in window.device_label.text(), timeout=10_000)
    label = window.device_label.text()
    assert "CPU (" in label and label.index("CPU (") < label.index(wanted), label
    assert label.split(wanted, 1)[1].strip(), "the reason is missing"
    tooltip = window.device_label.toolTip()
    assert "tagging runs on the CPU" in tooltip and "Settings" in tooltip, tooltip
    close_window(qtbot, window)
    status = WorkStatus()
    qtbot.addWidget(status)
    status.set_device("CPU (2 threads), float32, batch 4, fast preprocessing")
    assert status.device.toolTip() == "" and "CUDA" not in status.device.text()
    with chinese():
        status.set_device("CPU (2 threads), float32, batch 4, fast preprocessing — " + label.split(" — ", 1)[1])
        assert status.device.text().startswith("CPU（2 个线程）") and "CUDA 不可用" in status.device.text()
        assert "标注正在 CPU 上运行" in status.device.toolTip()


def test_pause_and_cancel_follow_the_work(qtbot) -> None:
    status = WorkStatus()
    qtbot.addWidget(status)
    assert not status.pause_button.isEnabled() and not status.cancel_button.isEnabled()
    status.show_progress(TaggingProgress(done=1, failed=0, total=10, images_per_second=2.0))
    assert status.pause_button.isEnabled() and status.cancel_button.isEnabled()
    status.show_counts(WorkerState.PAUSED, 9, 0)
    status.set_held(True)
    assert status.pause_button.isEnabled() and status.pause_button.text() == "Resume"
    status.show_counts(WorkerState.CANCELLED, 9, 0)
    status.set_held(True)
    assert status.pause_button.isEnabled() and not status.cancel_button.isEnabled()
    status.set_held(False)
    status.show_counts(WorkerState.IDLE, 0, 0)
    assert not status.pause_button.isEnabled() and not status.cancel_button.isEnabled()
    status.show_scanning()
    assert status.cancel_button.isEnabled() and not status.pause_button.isEnabled()
    status.show_scanned(ScanReport(added=3))
    assert not status.cancel_button.isEnabled()
    assert status.label.text() == "Scan: 3 new, 0 changed, 0 moved, 0 missing, 0 unchanged"


def test_a_killed_or_silent_worker_is_not_counted_idle(qtbot, tmp_path: Path) -> None:
    from sqlalchemy import update

    from joytag_desktop.gui.app import gui_settings
    from joytag_desktop.gui.main_window import MainWindow
    from joytag_desktop.library.mounts import machine_name
    from joytag_desktop.library.schema import WorkerRow
    from joytag_desktop.library.work import WorkQueue

    library = Library(tmp_path / "lib.sqlite3")
    window = MainWindow(library, gui_settings(), start_worker=False)
    qtbot.addWidget(window)
    window.show()
    label = window.other_workers
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(ended.stdout)
    killed, silent, alive = (WorkQueue(library.database, device="CPU") for _ in range(3))
    for queue in (killed, silent, alive):
        queue.report(WorkerState.IDLE)
    with library.Session.begin() as session:
        here = {"host": socket.gethostname(), "machine": machine_name()}
        session.execute(update(WorkerRow).where(WorkerRow.id == killed.id).values(pid=dead_pid, **here))
        session.execute(
            update(WorkerRow)
            .where(WorkerRow.id == silent.id)
            .values(host="far", machine="far", seen=WorkerRow.seen - 200)  # two heartbeats missed
        )
        session.execute(update(WorkerRow).where(WorkerRow.id == alive.id).values(host="near", machine="near"))
    label.refresh()
    qtbot.waitUntil(label.isVisible, timeout=5000)
    assert label.text() == "1 other worker idle"
    assert "near" in label.toolTip() and "far" not in label.toolTip()
    alive.close()
    label.refresh()
    qtbot.waitUntil(label.isHidden, timeout=5000)
    window.close()
    library.close()


def test_a_failed_worker_shows_one_line_and_the_log_keeps_the_traceback(qtbot, library: Library, settings) -> None:
    window = open_window(qtbot, library, settings)
    try:
        raise ValueError("boom\nsecond line of the error")
    except ValueError:
        logging.getLogger("joytag_desktop.worker.worker").exception("tagging worker failed")
    message = window.statusBar().currentMessage()
    assert message == "tagging worker failed: ValueError: boom (details in View ▸ Log)", message
    assert "Traceback" in window.log_panel.toPlainText()
    window.tagging_status._worker_error("tagging failed: ValueError: boom\nTraceback (most recent call last):\n  x")
    message = window.statusBar().currentMessage()
    assert "\n" not in message and "Traceback" not in message and message.startswith("Tagging failed: ValueError: boom")
    close_window(qtbot, window)


def test_the_app_loads_english_plurals_and_a_locale_with_separators(qtbot, settings, monkeypatch) -> None:
    """English has its own plural forms (joytag_en.qm); LANG=C still writes 100,000."""
    from joytag_desktop.gui import i18n

    monkeypatch.setattr(i18n, "translations_dir", lambda: TRANSLATIONS)
    app = QCoreApplication.instance()
    assert app is not None
    before = QLocale()
    settings.language = "en"
    translators = i18n.install_translators(app, settings)
    try:
        assert [t.language() for t in translators] == ["en_US"]
        assert QCoreApplication.translate("WorkStatus", "%Ln image(s) wait to be tagged", "", 1) == (
            "1 image waits to be tagged"
        )
        assert i18n.number(100_000) == "100,000"
    finally:
        i18n.remove_translators(app, translators)
        QLocale.setDefault(before)
    monkeypatch.setattr(QLocale, "system", staticmethod(lambda: QLocale("C")))
    settings.language = ""
    assert i18n.effective_locale(settings).toString(100_000) == "100,000"
