"""View → Safe view: keep images rated above a chosen level out of sight (blurred or left out of
the results) in the grid, the details preview and the viewer, so people can browse with others
in the room. Off by default; the choice is remembered."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QPushButton, QWidget

from joytag_desktop.categories import RATINGS
from joytag_desktop.gui.settings import GuiSettings
from joytag_desktop.library.terms import FieldTerm, Node, Or, Range


@dataclass(frozen=True)
class SafeView:
    """``limit``: the highest rating shown freely; ``mode``: "blur" or "hide"; ``unrated_too``:
    images no model has rated count as above the limit."""

    enabled: bool = False
    limit: str = "general"
    mode: str = "blur"
    unrated_too: bool = False

    @classmethod
    def load(cls, settings: GuiSettings) -> SafeView:
        """The saved choice; a level or mode this version does not know falls back to the default."""
        limit, mode = settings.safe_view_limit, settings.safe_view_mode
        return cls(
            settings.safe_view_enabled,
            limit if limit in RATINGS[:-1] else cls.limit,
            mode if mode in ("blur", "hide") else cls.mode,
            settings.safe_view_unrated_too,
        )

    def save(self, settings: GuiSettings) -> None:
        settings.safe_view_enabled = self.enabled
        settings.safe_view_limit = self.limit
        settings.safe_view_mode = self.mode
        settings.safe_view_unrated_too = self.unrated_too

    def allowed(self) -> Node:
        """The images shown freely, as a query node (rating at most the limit, unrated ones unless excluded)."""
        within = FieldTerm("rating", range=Range(high=RATINGS.index(self.limit)))
        return within if self.unrated_too else Or((within, FieldTerm("rating", text="none")))

    @property
    def hides(self) -> bool:
        return self.enabled and self.mode == "hide"

    @property
    def blurs(self) -> bool:
        return self.enabled and self.mode == "blur"


class SafeViewMenu(QObject):
    """The View menu's switch and its options; ``changed`` carries the new SafeView (already saved)."""

    changed = Signal(object)

    def __init__(self, settings: GuiSettings, view_menu: QMenu) -> None:
        super().__init__(view_menu)
        self.settings = settings
        self.state = SafeView.load(settings)
        self.toggle = QAction(self.tr("Safe view"), view_menu, checkable=True)
        self.toggle.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.toggle.setToolTip(self.tr("Blur or hide images rated above the level chosen in View → Safe view options"))
        self.toggle.setChecked(self.state.enabled)
        self.toggle.toggled.connect(lambda on: self._update(enabled=on))
        view_menu.addAction(self.toggle)
        options = view_menu.addMenu(self.tr("Safe view options"))
        labels = {
            "general": self.tr("Show only general images freely"),
            "sensitive": self.tr("Show general and sensitive images freely"),
            "questionable": self.tr("Keep only explicit images out of sight"),
        }
        self.limits = QActionGroup(options)
        for rating in RATINGS[:-1]:
            action = options.addAction(labels[rating])
            action.setCheckable(True)
            action.setChecked(rating == self.state.limit)
            action.setData(rating)
            action.triggered.connect(lambda _=False, r=rating: self._update(limit=r))
            self.limits.addAction(action)
        options.addSeparator()
        self.modes = QActionGroup(options)
        for mode, text in (("blur", self.tr("Blur them")), ("hide", self.tr("Leave them out of the results"))):
            action = options.addAction(text)
            action.setCheckable(True)
            action.setChecked(mode == self.state.mode)
            action.setData(mode)
            action.triggered.connect(lambda _=False, m=mode: self._update(mode=m))
            self.modes.addAction(action)
        options.addSeparator()
        self.unrated = options.addAction(self.tr("Treat unrated images as above the level"))
        self.unrated.setCheckable(True)
        self.unrated.setChecked(self.state.unrated_too)
        self.unrated.setToolTip(
            self.tr("Images no model with rating outputs (WD, camie) has tagged, and that you have not rated")
        )
        self.unrated.toggled.connect(lambda on: self._update(unrated_too=on))

    def _update(self, **change: object) -> None:
        values = {**self.state.__dict__, **change}
        new = SafeView(**values)  # type: ignore[arg-type]
        if new == self.state:
            return
        self.state = new
        new.save(self.settings)
        self.changed.emit(new)


class SafeViewNotice(QWidget):
    """The line above the grid saying how many of the results Safe view leaves out, and a button
    that turns it off (View → Safe view): images never vanish without a word."""

    show_them = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hidden = 0
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.button = QPushButton(self.tr("Show them"))
        self.button.setToolTip(self.tr("Turn off View ▸ Safe view (Ctrl+Shift+S)"))
        self.button.clicked.connect(self.show_them)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        self.hide()

    def show_hidden(self, count: int) -> None:
        """``count`` images of the results are left out (0: the notice goes)."""
        self.hidden = count
        self.label.setText(self.tr("Safe view leaves %Ln image(s) out of these results (View ▸ Safe view).", "", count))
        self.setVisible(count > 0)
