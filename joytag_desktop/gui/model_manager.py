"""Tagging → Models…: the published taggers, which are installed, download one, choose which tags.

The selected model's licence shows under the table; a licence that is not permissive (camie's
GPL-3.0) or a gated repository is confirmed before its download. Where models go (the models
folder) and come from (the Hub endpoint) are the shared settings the command line reads too.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from joytag_desktop.gui.background import Background
from joytag_desktop.gui.i18n import number
from joytag_desktop.gui.messages import for_window
from joytag_desktop.gui.panels import ModelDownload
from joytag_desktop.taggers.catalogue import CATALOGUE, CatalogueEntry
from joytag_desktop.taggers.pins import pin_counts

COLUMNS = ("Model", "Good at", "Download", "Licence", "Status")


def _places() -> tuple[str, str]:
    """In a worker thread: the models folder and the Hub endpoint setting ("" when not set)."""
    from joytag_desktop import paths

    return str(paths.models_dir()), paths.shared_settings().get(paths.HUB_ENDPOINT_SETTING, "")


def _save_place(key: str, value: str) -> tuple[str, str]:
    """In a worker thread: store a shared setting (an endpoint is checked first); the places after."""
    from joytag_desktop import paths
    from joytag_desktop.taggers.hub import hub_endpoint

    if key == paths.HUB_ENDPOINT_SETTING and value:
        value = hub_endpoint(value)
    paths.save_shared_setting(key, value)
    return _places()


def _installed_states(in_use: str) -> tuple[dict[str, str], dict[str, str]]:
    """In a worker thread: for each catalogue name, "in use", "installed", "broken: …" or "", and
    the folder that holds it: the models folder's, or the folder in use where it holds that model."""
    from joytag_desktop import paths
    from joytag_desktop.errors import ModelFolderError
    from joytag_desktop.taggers import recognise
    from joytag_desktop.taggers.installed import catalogue_names

    states, folders = {}, {}
    for item in CATALOGUE:
        folder = paths.models_dir() / item.name
        if not folder.is_dir():
            states[item.name] = ""
            continue
        folders[item.name] = str(folder)
        try:
            recognise(folder)
        except ModelFolderError as exc:
            states[item.name] = f"broken: {exc}"
            continue
        states[item.name] = "in use" if str(folder) == in_use else "installed"
    if in_use and in_use not in folders.values():
        try:
            held = catalogue_names(recognise(in_use))
        except (ModelFolderError, OSError):
            held = []
        for name in held:  # a folder of the user's own holding a catalogue model
            states[name], folders[name] = "in use", in_use
    return states, folders


def check_folder(folder: str) -> tuple[str, str, list[str]]:
    """In a worker thread: the chosen folder's tagger (its path, its description, the catalogue
    names it holds); ModelFolderError says which files are missing."""
    from joytag_desktop.taggers import recognise
    from joytag_desktop.taggers.installed import catalogue_names

    tagger = recognise(folder)
    return str(tagger.path), tagger.describe(), catalogue_names(tagger)


class ModelManager(QDialog):
    """The catalogue as a table; Download fetches the selected model (progress, cancel), Use makes
    the worker tag with it, Choose folder… takes any folder in a published format."""

    model_chosen = Signal(str)  # a model folder

    def __init__(self, in_use: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Tagger models"))
        self.in_use = in_use
        self.background = Background(1, self)
        self.table = QTableWidget(len(CATALOGUE), len(COLUMNS))
        # Each header its own tr(): lupdate finds only literals, so tr(c) over COLUMNS left them English.
        headers = (self.tr("Model"), self.tr("Good at"), self.tr("Download"), self.tr("Licence"), self.tr("Status"))
        self.table.setHorizontalHeaderLabels(list(headers))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for row, item in enumerate(CATALOGUE):
            cells = (item.name, item.good_at, f"{number(item.download_mb)} MB", item.licence, "…")
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setToolTip(f"{item.repo}: {item.good_at}" if column < 2 else text)
                self.table.setItem(row, column, cell)
        self.note = QLabel(
            self.tr(
                "Models come from the Hugging Face Hub (or the mirror set here), and each file is checked after "
                "download against its pinned size and SHA-256. "
                "e6tag is not offered: its author never published trained weights."
            )
        )
        self.note.setWordWrap(True)
        self.licence = QLabel()
        self.licence.setWordWrap(True)
        self.licence.setTextFormat(Qt.TextFormat.RichText)
        self.licence.setOpenExternalLinks(True)
        self.folder_label = QLabel()
        self.folder_button = QPushButton(self.tr("Models folder…"))
        self.endpoint = QLineEdit()
        self.endpoint.setPlaceholderText(self.tr("$HF_ENDPOINT or https://huggingface.co"))
        self.endpoint.setToolTip(self.tr("A mirror of the Hugging Face Hub to download from; empty for the default"))
        self.download_button = QPushButton(self.tr("Download"))
        self.use_button = QPushButton(self.tr("Use for tagging"))
        self.choose_button = QPushButton(self.tr("Choose folder…"))
        self.cancel_button = QPushButton(self.tr("Cancel download"))
        self.close_button = QPushButton(self.tr("Close"))
        self.bar = QProgressBar()
        self.bar.hide()
        self.cancel_button.hide()
        buttons = QHBoxLayout()
        for widget in (self.download_button, self.use_button, self.choose_button):
            buttons.addWidget(widget)
        buttons.addWidget(self.bar, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch()
        buttons.addWidget(self.close_button)
        places = QHBoxLayout()
        places.addWidget(self.folder_label, 1)
        places.addWidget(self.folder_button)
        places.addWidget(QLabel(self.tr("Hub endpoint:")))
        places.addWidget(self.endpoint, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.licence)
        layout.addLayout(places)
        layout.addWidget(self.note)
        layout.addLayout(buttons)
        self.resize(900, 420)

        self.download = ModelDownload(self)
        self.download.progress.connect(self._progress)
        self.download.finished.connect(self._downloaded)
        self.download.failed.connect(self._failed)
        self.download_button.clicked.connect(self.start_download)
        self.cancel_button.clicked.connect(self.download.cancel)
        self.use_button.clicked.connect(self.use_selected)
        self.choose_button.clicked.connect(self._choose)
        self.close_button.clicked.connect(self.close)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.folder_button.clicked.connect(self._choose_models_folder)
        self.endpoint.editingFinished.connect(self._endpoint_edited)
        self.consent: QMessageBox | None = None  # the licence question before a download
        self.states: dict[str, str] = {}
        self.folders: dict[str, str] = {}  # catalogue name -> the folder holding it
        self.checking = False  # a chosen folder is being checked
        self.table.selectRow(0)
        self.refresh()

    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return CATALOGUE[rows[0].row()].name if rows else None

    def refresh(self) -> None:
        self.background.submit(lambda: _installed_states(self.in_use), self._show_states)
        self.background.submit(_places, self._show_places)

    def _show_places(self, places: tuple[str, str]) -> None:
        folder, endpoint = places
        self.folder_label.setText(self.tr("Models folder: {folder}").format(folder=folder))
        if not self.endpoint.hasFocus():
            self.endpoint.setText(endpoint)

    def _choose_models_folder(self) -> None:
        """Where downloads go from now on (models already downloaded stay where they are)."""
        from joytag_desktop import paths

        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose the folder to download models into"))
        if folder:
            self.background.submit(
                partial(_save_place, paths.MODELS_FOLDER_SETTING, folder), self._place_saved, self._place_refused
            )

    def _endpoint_edited(self) -> None:
        from joytag_desktop import paths

        text = self.endpoint.text().strip()
        self.background.submit(
            partial(_save_place, paths.HUB_ENDPOINT_SETTING, text), self._place_saved, self._place_refused
        )

    def _place_saved(self, places: tuple[str, str]) -> None:
        self._show_places(places)
        self.background.submit(lambda: _installed_states(self.in_use), self._show_states)

    def _place_refused(self, exc: Exception) -> None:
        self.note.setText(for_window(str(exc)))

    def _show_states(self, found: tuple[dict[str, str], dict[str, str]]) -> None:
        states, self.folders = found
        self.states = states
        labels = {"": self.tr("not installed"), "installed": self.tr("installed"), "in use": self.tr("in use")}
        for row, item in enumerate(CATALOGUE):
            state = states.get(item.name, "")
            cell = self.table.item(row, len(COLUMNS) - 1)
            if cell is None:  # never: __init__ fills every cell
                continue
            cell.setText(labels.get(state, self.tr("broken (download again)")))
            cell.setToolTip(state)
        self._update_buttons()

    def _selected_entry(self) -> CatalogueEntry | None:
        rows = self.table.selectionModel().selectedRows()
        return CATALOGUE[rows[0].row()] if rows else None

    def _pins(self, repo: str, patterns: list[str]) -> str:
        """``pins.summary`` in the window's language."""
        by_sha, by_size = pin_counts(repo, patterns)
        text = self.tr("{pinned} of {total} files pinned by SHA-256").format(pinned=by_sha, total=len(patterns))
        if by_size:
            text += self.tr(", {count} by size only (SHA-256 unverified)").format(count=by_size)
        return text

    def _update_buttons(self) -> None:
        item = self._selected_entry()
        if item is not None:
            page = f"https://huggingface.co/{item.repo}"
            text = self.tr('Licence of {name}: {licence} (<a href="{page}">{page}</a>)').format(
                name=item.name, licence=item.licence, page=page
            )
            if item.gated:
                text += " " + self.tr("Gated: log in with `hf auth login` or set HF_TOKEN, and accept it there.")
            pinned = self._pins(item.repo, item.patterns)
            text += "<br>" + self.tr("Checked after download: {pins}.").format(pins=pinned)
            self.licence.setText(text)
        name = self.selected_name()
        busy = self.bar.isVisible()
        self.choose_button.setEnabled(not busy)
        self.folder_button.setEnabled(not busy)
        self.endpoint.setEnabled(not busy)
        self.download_button.setEnabled(bool(name) and not busy)
        self.use_button.setEnabled(bool(name) and self.states.get(name or "") == "installed" and not busy)
        if name and self.states.get(name, "").startswith(("installed", "in use")):
            self.download_button.setText(self.tr("Download again"))
        else:
            self.download_button.setText(self.tr("Download"))

    def start_download(self) -> None:
        """Download the selected model; a GPL or gated licence is asked about first."""
        item = self._selected_entry()
        if item is None:
            return
        if not item.needs_consent:
            self._download(item.name)
            return
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("Licence"), "", parent=self)
        box.setTextFormat(Qt.TextFormat.RichText)
        page = f"https://huggingface.co/{item.repo}"
        box.setText(
            self.tr('{name} is under the {licence} licence. Read it at <a href="{page}">{page}</a>.').format(
                name=item.name, licence=item.licence, page=page
            )
        )
        gated = self.tr("Its repository is gated: accept the licence there and log in (`hf auth login` or HF_TOKEN).")
        box.setInformativeText((gated + " " if item.gated else "") + self.tr("Accept it and download?"))
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(button: QAbstractButton) -> None:
            self.consent = None
            if box.standardButton(button) == QMessageBox.StandardButton.Yes:
                self._download(item.name)

        box.buttonClicked.connect(answered)
        self.consent = box
        box.open()

    def _download(self, name: str) -> None:
        self.bar.setRange(0, 0)
        self.bar.show()
        self.cancel_button.show()
        self.note.setText(self.tr("Downloading {name}…").format(name=name))
        self._update_buttons()
        self.download.start(name)

    def _progress(self, done: int, total: int) -> None:
        if total:
            self.bar.setRange(0, 1000)
            self.bar.setValue(round(done / total * 1000))
            self.bar.setFormat(
                self.tr("{done} of {total} MB").format(done=number(done / 1e6), total=number(total / 1e6))
            )

    def _downloaded(self, folder: str) -> None:
        self._idle()
        self.note.setText(self.tr("{name} is installed in {folder}. Click Use for tagging to tag with it.").format(
            name=Path(folder).name, folder=folder))  # fmt: skip
        self.refresh()

    def _failed(self, message: str) -> None:
        self._idle()
        self.note.setText(message)

    def _idle(self) -> None:
        self.checking = False
        self.bar.hide()
        self.cancel_button.hide()
        self._update_buttons()

    def use_selected(self) -> None:
        from joytag_desktop import paths

        name = self.selected_name()
        if name:
            self.in_use = self.folders.get(name) or str(paths.models_dir() / name)
            self.model_chosen.emit(self.in_use)
            self.refresh()

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose a model folder (as published)"))
        if folder:
            self.check(folder)

    def check(self, folder: str) -> None:
        """Read the chosen folder off the GUI thread, saying so at once (reading large weights'
        headers on a slow disk takes seconds); a tagger found is used from now on."""
        self.checking = True
        self.bar.setRange(0, 0)
        self.bar.setFormat("")
        self.bar.show()
        self.note.setText(self.tr("Checking the folder {folder}…").format(folder=folder))
        self._update_buttons()
        self.background.submit(partial(check_folder, folder), self._checked, self._refused)

    def _checked(self, found: tuple[str, str, list[str]]) -> None:
        path, description, names = found
        self._idle()
        if names:
            text = self.tr("Found {model} ({names}) in {folder}: it tags from now on.")
        else:
            text = self.tr("Found {model} in {folder}: it tags from now on.")
        self.note.setText(text.format(model=description, names=", ".join(names), folder=path))
        self.in_use = path
        self.model_chosen.emit(path)
        self.refresh()

    def _refused(self, exc: Exception) -> None:
        self._idle()
        first = for_window(str(exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        self.note.setText(self.tr("This folder cannot tag: {reason}").format(reason=first))

    def closeEvent(self, event) -> None:
        self.download.cancel()
        self.background.shutdown(5_000)
        super().closeEvent(event)
