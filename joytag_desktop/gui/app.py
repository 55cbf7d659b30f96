"""Starting the GUI: settings, the library, the main window."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, cast

from joytag_desktop import __version__, failures, paths

if TYPE_CHECKING:
    from joytag_desktop.gui.settings import GuiSettings


def gui_settings() -> GuiSettings:
    """GUI settings live in the data directory (so JOYTAG_DESKTOP_HOME isolates them too)."""
    from PySide6.QtCore import QSettings

    from joytag_desktop.gui.settings import GuiSettings

    return GuiSettings(QSettings(str(paths.data_dir() / "gui.ini"), QSettings.Format.IniFormat))


def run_gui(database: str | None = None) -> int:
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
    from PySide6.QtWidgets import QApplication, QMessageBox

    from joytag_desktop.errors import JoyTagError
    from joytag_desktop.gui.main_window import MainWindow
    from joytag_desktop.library import Library
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
        library = Library(chosen)
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
