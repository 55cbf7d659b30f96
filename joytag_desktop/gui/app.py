"""Starting the GUI: settings, the library, the main window."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, cast

from joytag_desktop import __version__, failures, paths

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication, QMainWindow

    from joytag_desktop.gui.settings import GuiSettings
    from joytag_desktop.gui.single_instance import Claim, SingleInstance
    from joytag_desktop.library import Library


def gui_settings() -> GuiSettings:
    """GUI settings live in the data directory (so JOYTAG_DESKTOP_HOME isolates them too)."""
    from PySide6.QtCore import QSettings

    from joytag_desktop.gui.settings import GuiSettings

    return GuiSettings(QSettings(str(paths.data_dir() / "gui.ini"), QSettings.Format.IniFormat))


def run_gui(database: str | None = None, argument: str = "") -> int:
    """Open the window on ``database`` (else the chosen library), or hand over to the window that
    has it open already. ``argument``: a file or folder passed along to that window."""
    import os

    if (
        sys.platform.startswith("linux")
        and not os.environ.get("QT_QPA_PLATFORM")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    ):
        print(
            "joytag-desktop: no display found, so the window cannot open. Run it in a desktop session, "
            "or use the commands headless (joytag-desktop --help).",
            file=sys.stderr,
        )
        return 2
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from joytag_desktop.resources import icon_path  # pyright: ignore[reportMissingImports] - resources/ is installed under this name

    # instance() is typed QCoreApplication; the one that exists here (the tests' or ours) is a QApplication.
    app = cast(QApplication, QApplication.instance() or QApplication(sys.argv))
    app.setApplicationName("JoyTag Desktop")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("io.github.joytag_desktop")
    icon = icon_path()
    if icon is not None:
        app.setWindowIcon(QIcon(str(icon)))
    settings = gui_settings()
    from joytag_desktop.gui.i18n import install_translators

    install_translators(app, settings)
    chosen = database or settings.database or None
    # Before the library opens: a second start on it hands over at once and opens nothing.
    from joytag_desktop.gui.single_instance import Claim, SingleInstance, server_name

    instance = SingleInstance(server_name(chosen))
    claim = instance.claim(argument)
    if claim != Claim.PRIMARY:
        print(_handed_over_message(claim), file=sys.stderr)
        return 0
    try:
        return _open_window(app, settings, chosen, instance)
    finally:
        instance.close()


def _handed_over_message(claim: Claim) -> str:
    from PySide6.QtCore import QCoreApplication

    from joytag_desktop.gui.single_instance import Claim

    if claim == Claim.HANDED_OVER:
        text = QCoreApplication.translate(
            "app", "this library is already open in another window; it was brought to the front"
        )
    else:
        text = QCoreApplication.translate(
            "app", "this library is already open in another window, which did not answer (it may be busy)"
        )
    return f"joytag-desktop: {text}"


def open_library(chosen: str | None) -> Library:
    """The library; when its schema is to be upgraded first, on a thread while a dialog says so
    (the window is not up yet, and a million images take minutes: the app must not look hung)."""
    import threading

    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtWidgets import QApplication, QLabel, QProgressDialog

    from joytag_desktop.library import Library
    from joytag_desktop.library.db import upgrade_pending

    if not upgrade_pending(chosen):
        return Library(chosen)
    notice = QProgressDialog("", "", 0, 0)
    label = QLabel(
        QCoreApplication.translate(
            "app",
            "Upgrading the library for this version of JoyTag Desktop… A big library takes a few minutes. "
            "If this is interrupted, the library stays as it was and the upgrade starts again next time.",
        )
    )
    label.setWordWrap(True)
    notice.setLabel(label)
    notice.setFixedWidth(460)
    notice.setWindowTitle("JoyTag Desktop")
    notice.setCancelButton(None)  # pyright: ignore[reportArgumentType]
    notice.setWindowModality(Qt.WindowModality.ApplicationModal)
    notice.setMinimumDuration(0)
    notice.show()
    outcome: list[Library | BaseException] = []

    def upgrade() -> None:
        try:
            outcome.append(Library(chosen))
        except BaseException as exc:  # noqa: BLE001 - re-raised on the GUI thread below
            outcome.append(exc)

    worker = threading.Thread(target=upgrade, name="library-upgrade", daemon=True)
    worker.start()
    while worker.is_alive():
        QApplication.processEvents()
        worker.join(0.05)
    notice.close()
    notice.deleteLater()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _open_window(app: QApplication, settings: GuiSettings, chosen: str | None, instance: SingleInstance) -> int:
    """The library opened, its window shown and run until it closes; 2 where it cannot open."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    from joytag_desktop.errors import JoyTagError
    from joytag_desktop.gui.main_window import MainWindow

    started = time.time()
    damaged, sound = _damage_check(chosen)
    if damaged is not None:
        QMessageBox.critical(
            None,
            "JoyTag Desktop",
            QApplication.translate("app", "The library database cannot be used:\n\n{error}").format(error=damaged),
        )
        return 2
    try:
        library = open_library(chosen)
        library.search_index.background = True  # big indexes build beside the window
        library.similarity.background = True
    except JoyTagError as exc:
        QMessageBox.critical(
            None,
            "JoyTag Desktop",
            QApplication.translate("app", "The library database cannot be opened:\n\n{error}").format(error=exc),
        )
        return 2
    window = MainWindow(library, settings)
    instance.activation_requested.connect(lambda argument: _bring_to_front(window, argument))
    instance.follow(window.closing)

    def unforeseen(kind, exc, trace) -> None:
        """An exception escaping a slot: one line in a dialog, the traceback in the error log."""
        if issubclass(kind, KeyboardInterrupt):
            app.quit()
            return
        QMessageBox.warning(window, "JoyTag Desktop", failures.unexpected(exc.with_traceback(trace)))

    sys.excepthook = unforeseen
    failures.one_line_warnings("joytag-desktop")
    window.show()
    code = app.exec()
    library.close()
    if sound is not None:
        from joytag_desktop.library import integrity

        # The window's own writes leave it sound, unless another process found it damaged meanwhile.
        integrity.record(sound, integrity.Verdict(True), since=started)
    return code


def _bring_to_front(window: QMainWindow, argument: str) -> None:
    """Another start on this library handed over: show this window in front (and not minimised)."""
    import logging

    from PySide6.QtCore import Qt

    if argument:
        logging.getLogger("joytag_desktop.gui").info("another start on this library was given %s", argument)
    window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
    window.show()
    window.raise_()
    window.activateWindow()


def _damage_check(database: str | None):
    """The window writes (tags, the watcher), so a damaged library is refused, as the commands
    that write refuse it. Checked within a reader's budget only (``library.integrity``): a window
    must open at once, so a big library changed elsewhere opens unchecked."""
    from joytag_desktop.library import integrity

    path = integrity.sqlite_file(database)
    if path is None or not integrity.is_sqlite(path):
        return None, None  # none yet, or not SQLite at all: the opening says so
    verdict = integrity.verdict_for(path, writes=False)
    if verdict.sound is False:
        return integrity.damaged_message(path, verdict.problem), None
    return None, path if verdict.sound else None
