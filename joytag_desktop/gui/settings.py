"""The window's own settings (gui.ini in the data directory), each key and its default named once.

The library's settings (thresholds, models) live in the library; these are the choices of one
person on one computer: the model folder, the device, the export options, the language and the
window's layout. ``QSettings`` gives INI values back as text after a restart, so each kind of
value is read back through one converter here rather than at every use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Generic, Self, TypeVar, overload

from PySide6.QtCore import QByteArray, QSettings

from joytag_desktop.gui.grid import DEFAULT_ICON

if TYPE_CHECKING:
    from joytag_desktop.interchange.keyword_export import KeywordChoice

Value = TypeVar("Value")


class _Setting(Generic[Value]):
    """One key of the INI file with its default; subclasses say how its text reads back."""

    def __init__(self, key: str, default: Value) -> None:
        self.key, self.default = key, default

    @overload
    def __get__(self, settings: None, owner: type) -> Self: ...
    @overload
    def __get__(self, settings: GuiSettings, owner: type | None = None) -> Value: ...
    def __get__(self, settings: GuiSettings | None, owner: type | None = None) -> Value | Self:
        if settings is None:
            return self  # on the class: the setting itself, with its key and default
        return self.read(settings.store.value(self.key, self.default))

    def __set__(self, settings: GuiSettings, value: Value) -> None:
        settings.store.setValue(self.key, value)

    def read(self, stored: object) -> Value:
        raise NotImplementedError


class _Text(_Setting[str]):
    def read(self, stored: object) -> str:
        return str(stored or self.default)


class _Number(_Setting[int]):
    def read(self, stored: object) -> int:
        return int(str(stored or self.default))  # an int, or its text from the file


class _Flag(_Setting[bool]):
    def read(self, stored: object) -> bool:
        return str(stored).lower() in ("true", "1")


class _State(_Setting["QByteArray | None"]):
    """Saved widget geometry and layout (``saveGeometry``, ``saveState``); None until first saved."""

    def read(self, stored: object) -> QByteArray | None:
        return stored if isinstance(stored, QByteArray) else None


class GuiSettings:
    """Typed access to gui.ini: ``settings.device``, ``settings.model = path`` and so on."""

    # Tagging (Settings → General).
    model = _Text("model", "")  # a model folder or catalogue name; "" for none chosen yet
    device = _Text("device", "auto")
    batch_size = _Number("batch_size", 0)  # 0: automatic
    database = _Text("database", "")  # "": library.sqlite3 in the data folder
    language = _Text("language", "")  # "": the system's
    # Writing tags out.
    sidecar_naming = _Text("sidecar_naming", "jpg.xmp")
    keyword_parent = _Text("keyword_parent", "JoyTag")
    keywords_by_category = _Flag("keywords_by_category", False)
    export_skip_ratings = _Flag("export_skip_ratings", False)
    auto_sidecars = _Flag("auto_sidecars", False)
    embedded_backup = _Flag("embedded_backup", True)
    # View → Safe view (read and checked by safe_view.SafeView).
    safe_view_enabled = _Flag("safe_view/enabled", False)
    safe_view_limit = _Text("safe_view/limit", "general")
    safe_view_mode = _Text("safe_view/mode", "blur")
    safe_view_unrated_too = _Flag("safe_view/unrated_too", False)
    # View ▸ Slideshow.
    slideshow_interval = _Number("slideshow/interval", 5)
    slideshow_order = _Text("slideshow/order", "results")
    # The window as it was left.
    last_query = _Text("last_query", "")
    sort = _Text("sort", "path")
    thumbnail_size = _Number("thumbnail_size", DEFAULT_ICON)
    geometry = _State("geometry", None)
    window_state = _State("window_state", None)
    splitter = _State("splitter", None)

    def __init__(self, store: QSettings) -> None:
        self.store = store

    @property
    def model_folder(self) -> Path | None:
        return Path(self.model) if self.model else None

    def keyword_choice(self) -> KeywordChoice:
        """Settings → General's export choices: keywords filed by category, ratings left out."""
        from joytag_desktop.categories import CATEGORIES
        from joytag_desktop.interchange.keyword_export import KeywordChoice

        skip = {"rating"} if self.export_skip_ratings else set()
        return KeywordChoice(frozenset(CATEGORIES) - skip if skip else None, self.keywords_by_category)

    def sync(self) -> None:
        """Write to the file now (the window does so as it closes)."""
        self.store.sync()
