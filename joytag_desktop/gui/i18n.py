"""The user interface's language: the system locale unless chosen in Settings.

Strings are marked with Qt's ``tr``; ``pyside6-lupdate`` collects them into
``resources/translations/joytag_<locale>.ts`` and ``pyside6-lrelease`` compiles the ``.qm``
files the app loads (``packaging/update_translations.py`` runs both). Tags are never
translated: they stay as the model names them.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from joytag_desktop.gui.settings import GuiSettings
from joytag_desktop.resources import translations_dir  # pyright: ignore[reportMissingImports] - resources/ is installed under this name

# Shown in Settings, each in its own language.
LANGUAGES = {"": "System default", "en": "English", "zh_CN": "简体中文"}


def chosen_language(settings: GuiSettings) -> str:
    """The Settings choice, or "" to follow the system."""
    value = settings.language
    return value if value in LANGUAGES else ""


def effective_locale(settings: GuiSettings) -> QLocale:
    language = chosen_language(settings)
    return QLocale(language) if language else QLocale.system()


def install_translators(app: QCoreApplication, settings: GuiSettings) -> list[QTranslator]:
    """Load our translation and Qt's own (dialog buttons) for the locale; English needs none."""
    locale = effective_locale(settings)
    installed: list[QTranslator] = []
    ours = QTranslator(app)
    if ours.load(locale, "joytag", "_", str(translations_dir())):
        app.installTranslator(ours)
        installed.append(ours)
        qt_base = QTranslator(app)
        if qt_base.load(locale, "qtbase", "_", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
            app.installTranslator(qt_base)
            installed.append(qt_base)
    return installed


def remove_translators(app: QCoreApplication, translators: list[QTranslator]) -> None:
    for translator in translators:
        app.removeTranslator(translator)
