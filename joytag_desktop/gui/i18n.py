"""The user interface's language: the system locale unless chosen in Settings.

Strings are marked with Qt's ``tr``; ``pyside6-lupdate`` collects them into
``resources/translations/joytag_<locale>.ts`` and ``pyside6-lrelease`` compiles the ``.qm``
files the app loads (``packaging/update_translations.py`` runs both). Tags are never
translated: they stay as the model names them.

Counts are written with Qt's plural forms: ``self.tr("%Ln image(s)", "", n)``. ``%Ln`` is the
number in the locale's digits and separators (5,760 in English); the English words for one and
many come from ``joytag_en.qm``, which holds only those plural forms and is loaded for English
and for every language without its own translation. Other numbers go through ``number``.
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
    locale = QLocale(language) if language else QLocale.system()
    # The "C" locale (LANG unset) writes 100000 without separators: the window speaks English then.
    return (
        QLocale(QLocale.Language.English, QLocale.Country.UnitedStates)
        if locale.language() == QLocale.Language.C
        else locale
    )


def number(value: float, decimals: int = 0) -> str:
    """``value`` in the locale's digits and group separators (5,760 in English), as ``%Ln`` writes counts."""
    if decimals or isinstance(value, float):
        return QLocale().toString(float(value), "f", decimals)
    return QLocale().toString(int(value))


def install_translators(app: QCoreApplication, settings: GuiSettings) -> list[QTranslator]:
    """Load our translation and Qt's own (dialog buttons) for the locale, or the English plural
    forms where we have no translation; numbers follow the same locale."""
    locale = effective_locale(settings)
    QLocale.setDefault(locale)
    installed: list[QTranslator] = []
    ours = QTranslator(app)
    found = ours.load(locale, "joytag", "_", str(translations_dir()))
    if not found:  # a language we have no words for: the window speaks English, with its plurals
        found = ours.load(str(translations_dir() / "joytag_en.qm"))
    if found:
        app.installTranslator(ours)
        installed.append(ours)
    if found and not ours.language().startswith("en"):
        qt_base = QTranslator(app)
        if qt_base.load(locale, "qtbase", "_", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
            app.installTranslator(qt_base)
            installed.append(qt_base)
    return installed


def remove_translators(app: QCoreApplication, translators: list[QTranslator]) -> None:
    for translator in translators:
        app.removeTranslator(translator)
