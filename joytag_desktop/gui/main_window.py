"""The main window: folders and tags on the left, the grid in the centre, details on the right."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from PySide6.QtCore import QItemSelection, QModelIndex, QSettings, QStringListModel, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QDragEnterEvent, QDropEvent, QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from joytag_desktop import __version__
from joytag_desktop.errors import JoyTagError
from joytag_desktop.gui.background import Background
from joytag_desktop.gui.bridge import WorkerBridge
from joytag_desktop.gui.details import DetailsPanel
from joytag_desktop.gui.grid import IMAGE_ID_ROLE, PATH_ROLE, ImageGridModel, ThumbnailGrid
from joytag_desktop.gui.panels import (
    FirstRunPanel,
    LogPanel,
    PreviewDialog,
    QtLogHandler,
    SettingsDialog,
    model_folder_setting,
)
from joytag_desktop.library import Library, QueryError, quote_tag
from joytag_desktop.library.search import SORTS
from joytag_desktop.thumbnails import thumbnail_for
from joytag_desktop.worker.tagging import TaggingProgress
from joytag_desktop.worker.watcher import FolderWatcher
from joytag_desktop.worker.worker import TaggingWorker, WorkerSettings

log = logging.getLogger("joytag_desktop.gui")
SEARCH_DELAY_MS = 250


class MainWindow(QMainWindow):
    def __init__(self, library: Library, settings: QSettings, start_worker: bool = True) -> None:
        super().__init__()
        self.library = library
        self.settings = settings
        self.background = Background(parent=self)
        self.bridge = WorkerBridge(self)
        self.setWindowTitle("JoyTag Desktop")
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        self.current_query = ""
        self.search_generation = 0
        self._current_image_id: int | None = None
        self._threshold = 0.4
        self._last_progress: TaggingProgress | None = None
        self._scan_cancel = threading.Event()

        self._build_log()
        self._build_left()
        self._build_centre()
        self._build_right()
        self._build_status_bar()
        self._build_actions()

        self.worker = TaggingWorker(library, self._worker_settings(), self.bridge)
        self.watcher = FolderWatcher(
            library, on_change=self.bridge.watcher_changed, on_warning=self.bridge.watcher_warning
        )
        self.bridge.state_changed.connect(self._worker_state)
        self.bridge.progress.connect(self._worker_progress)
        self.bridge.error.connect(self._worker_error)
        self.bridge.finished.connect(lambda report: self._refresh_after_change())
        self.bridge.library_changed.connect(self._library_changed)
        self.bridge.warning.connect(lambda message: log.warning("%s", message))
        self.bridge.scan_progress.connect(self._scan_progressed)

        self._refresh_timer = QTimer(self, singleShot=True, interval=800)
        self._refresh_timer.timeout.connect(self._refresh_after_change)
        geometry = settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = settings.value("window_state")
        if state is not None:
            self.restoreState(state)
        self.search_box.setText(str(settings.value("last_query", "") or ""))
        self.sort_box.setCurrentText(str(settings.value("sort", "path") or "path"))
        self._load_threshold()
        self._load_roots()
        self.run_search()
        self._check_model()
        self._started = False
        self._closing = False
        if start_worker:
            self.start_background_work()

    # --- building ---------------------------------------------------------------------------

    def _build_log(self) -> None:
        self.log_panel = LogPanel()
        self.log_handler = QtLogHandler()
        self.log_handler.setLevel(logging.INFO)
        self.log_handler.record_formatted.connect(self._log_line)
        logging.getLogger("joytag_desktop").addHandler(self.log_handler)
        logging.getLogger("joytag_desktop").setLevel(logging.INFO)
        dock = QDockWidget("Log", self)
        dock.setObjectName("logDock")
        dock.setWidget(self.log_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        dock.hide()
        self.log_dock = dock

    def _build_left(self) -> None:
        self.roots_list = QListWidget()
        self.roots_list.setToolTip("Library folders: tick to watch for changes")
        self.roots_list.itemChanged.connect(self._root_toggled)
        add = QPushButton("Add…")
        remove = QPushButton("Remove")
        rescan = QPushButton("Rescan")
        add.clicked.connect(self.choose_folder)
        remove.clicked.connect(self.remove_selected_root)
        rescan.clicked.connect(self.rescan)
        buttons = QHBoxLayout()
        for button in (add, remove, rescan):
            buttons.addWidget(button)
        self.tag_filter = QLineEdit(placeholderText="Filter tags…")
        self.tag_filter.setClearButtonEnabled(True)
        self.tag_filter.textChanged.connect(lambda _: self._load_tag_list())
        self.tag_list = QListWidget()
        self.tag_list.itemActivated.connect(self._tag_activated)
        self.tag_list.setToolTip("Double-click (or Enter) to add the tag to the search")
        left = QWidget()
        layout = QVBoxLayout(left)
        layout.addWidget(QLabel("<b>Folders</b>"))
        layout.addWidget(self.roots_list, 1)
        layout.addLayout(buttons)
        layout.addWidget(QLabel("<b>Tags</b>"))
        layout.addWidget(self.tag_filter)
        layout.addWidget(self.tag_list, 3)
        self.left_panel = left

    def _build_centre(self) -> None:
        self.search_box = QLineEdit(
            placeholderText="Search: cat outdoors -indoors, cat | dog, *_hair, cat:>0.8, "
            "camera:canon, date:2023-01..2023-06, folder:holidays"
        )
        self.search_box.setClearButtonEnabled(True)
        self.search_completer_model = QStringListModel(self)
        self.search_completer = QCompleter(self.search_completer_model, self)
        self.search_completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.search_completer.setWidget(self.search_box)
        self.search_completer.activated.connect(self._insert_completion)
        self.search_box.textEdited.connect(self._search_edited)
        self.search_box.returnPressed.connect(self.run_search)
        self.sort_box = QComboBox()
        for key in SORTS:
            self.sort_box.addItem(key)
            self.sort_box.addItem(f"-{key}")
        self.sort_box.setToolTip("Sort order (- reverses)")
        self.sort_box.currentTextChanged.connect(lambda _: self.run_search())
        self.search_error = QLabel()
        self.search_error.setStyleSheet("color: #ff6b6b;")
        self.search_error.hide()
        self.result_label = QLabel()
        self.first_run = FirstRunPanel()
        self.first_run.hide()
        self.first_run.model_ready.connect(self.use_model)
        self.grid_model = ImageGridModel(self)
        self.grid = ThumbnailGrid()
        self.grid.setModel(self.grid_model)
        self.grid.selectionModel().selectionChanged.connect(self._selection_changed)
        self.grid.doubleClicked.connect(self.open_preview)
        self.grid.customContextMenuRequested.connect(self._grid_menu)
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.run_search)
        self._save_threshold_timer = QTimer(self, singleShot=True, interval=300)
        self._save_threshold_timer.timeout.connect(self._save_threshold)

        top = QHBoxLayout()
        top.addWidget(self.search_box, 1)
        top.addWidget(self.sort_box)
        centre = QWidget()
        layout = QVBoxLayout(centre)
        layout.addLayout(top)
        layout.addWidget(self.search_error)
        layout.addWidget(self.first_run)
        layout.addWidget(self.result_label)
        layout.addWidget(self.grid, 1)
        self.centre = centre

    def _build_right(self) -> None:
        self.details = DetailsPanel()
        self.details.add_tag_requested.connect(lambda name: self.edit_tags([name], True))
        self.details.remove_tags_requested.connect(lambda names: self.edit_tags(names, False))
        self.details.threshold_changed.connect(self._threshold_moved)
        self.details.preset_chosen.connect(self._preset_chosen)
        splitter = QSplitter()
        splitter.addWidget(self.left_panel)
        splitter.addWidget(self.centre)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([240, 760, 400])

        self.splitter = splitter
        self.setCentralWidget(splitter)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.work_label = QLabel("Idle")
        self.work_progress = QProgressBar()
        self.work_progress.setMaximumWidth(220)
        self.work_progress.hide()
        self.device_label = QLabel("")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self.set_paused)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the current tagging run and any scan (what is done is kept)")
        self.cancel_button.clicked.connect(self.worker_cancel)
        bar.addPermanentWidget(self.work_label)
        bar.addPermanentWidget(self.work_progress)
        bar.addPermanentWidget(self.device_label)
        bar.addPermanentWidget(self.pause_button)
        bar.addPermanentWidget(self.cancel_button)

    def _build_actions(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self._action(file_menu, "Add folder…", QKeySequence.StandardKey.Open, self.choose_folder)
        self._action(file_menu, "Rescan folders", QKeySequence("F5"), self.rescan)
        export_menu = file_menu.addMenu("Export current results")
        self._action(export_menu, "XMP sidecars", None, lambda: self.write_metadata("xmp", selection=False))
        self._action(export_menu, "Caption files", None, lambda: self.write_metadata("captions", selection=False))
        self._action(
            export_menu, "Keywords into the files…", None, lambda: self.write_metadata("embedded", selection=False)
        )
        self._action(export_menu, "Tags as CSV…", None, lambda: self.export_table("csv"))
        self._action(export_menu, "Tags as JSON…", None, lambda: self.export_table("json"))
        self._action(file_menu, "Settings…", QKeySequence("Ctrl+,"), self.open_settings)
        file_menu.addSeparator()
        self._action(file_menu, "Quit", QKeySequence.StandardKey.Quit, self.close)
        edit_menu = menu.addMenu("&Edit")
        self._action(edit_menu, "Find", QKeySequence.StandardKey.Find, self.focus_search)
        self._action(edit_menu, "Add tag to selection", QKeySequence("Ctrl+T"), self.details.new_tag.setFocus)
        self._action(edit_menu, "Select all", QKeySequence.StandardKey.SelectAll, self.grid.selectAll)
        self._action(edit_menu, "Retag selection", QKeySequence("Ctrl+R"), self.retag_selection)
        view_menu = menu.addMenu("&View")
        self._action(
            view_menu, "Open preview", QKeySequence("Space"), lambda: self.open_preview(self.grid.currentIndex())
        )
        view_menu.addAction(self.log_dock.toggleViewAction())
        tag_menu = menu.addMenu("&Tagging")
        self._action(tag_menu, "Pause / resume", QKeySequence("Ctrl+P"), self.pause_button.toggle)
        self._action(tag_menu, "Cancel tagging run and scans", QKeySequence("Ctrl+Shift+P"), self.worker_cancel)
        help_menu = menu.addMenu("&Help")
        self._action(help_menu, "About JoyTag Desktop", None, self.show_about)

    def _action(self, menu: QMenu, text: str, shortcut, slot) -> QAction:  # noqa: ANN001
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(lambda *_: slot())
        menu.addAction(action)
        return action

    # --- start / stop ---------------------------------------------------------------------------

    def start_background_work(self) -> None:
        """Start-up scan (catches changes made while the app was closed), then watch and tag."""
        if self._started:
            return
        self._started = True
        self.work_label.setText("Scanning folders…")
        self._scan_cancel.clear()

        def scan() -> object:
            return self.library.scan(progress=self._scan_progress_hook, cancel=self._scan_cancel)

        def scanned(report) -> None:  # noqa: ANN001
            if self._closing:
                return
            self.work_label.setText(f"Scan: {report.summary()}")
            for offline in report.offline:
                log.warning("offline: %s", offline)
            self._refresh_after_change()
            self.watcher.start()
            self.worker.start()

        self.background.submit(scan, scanned, self._show_error)

    def closeEvent(self, event) -> None:  # noqa: ANN001, N802
        self._closing = True
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        self.settings.setValue("last_query", self.search_box.text())
        self.settings.setValue("sort", self.sort_box.currentText())
        self.settings.sync()
        self.first_run.download.cancel()
        if self._started:
            self.watcher.stop()
            self.worker.stop()
        self.background.shutdown(10_000)
        self.grid_model.pool.clear()
        self.grid_model.pool.waitForDone(10_000)
        logging.getLogger("joytag_desktop").removeHandler(self.log_handler)
        super().closeEvent(event)

    # --- model --------------------------------------------------------------------------------

    def _worker_settings(self) -> WorkerSettings:
        batch = int(self.settings.value("batch_size", 0) or 0)
        settings = WorkerSettings(
            model_folder_setting(self.settings), str(self.settings.value("device", "auto")), batch or None
        )
        if self._bool("auto_sidecars", False):
            from joytag_desktop.metadata.sync import export_xmp

            naming = str(self.settings.value("sidecar_naming", "jpg.xmp"))
            parent = str(self.settings.value("keyword_parent", "JoyTag") or "JoyTag")
            settings.after_commit = lambda ids: export_xmp(self.library, image_ids=ids, naming=naming, parent=parent)
        return settings

    def _check_model(self) -> None:
        def check() -> str:
            from joytag_desktop.model.folder import inspect_folder, resolve_model_path

            return str(inspect_folder(resolve_model_path(model_folder_setting(self.settings))).path)

        def ok(path: str) -> None:
            self.first_run.hide()
            self.device_label.setText(f"Model: {Path(path).name}")

        def missing(exc: Exception) -> None:
            self.first_run.show()
            if not isinstance(exc, JoyTagError):
                log.error("model check failed: %s", exc)
            else:
                log.info("%s", exc)

        self.background.submit(check, ok, missing)

    def use_model(self, folder: str) -> None:
        def check() -> str:
            from joytag_desktop.model.folder import inspect_folder

            return str(inspect_folder(folder).path)

        def ok(path: str) -> None:
            self.settings.setValue("model", path)
            self.first_run.hide()
            self.worker.reload_model(self._worker_settings())
            log.info("using the model in %s", path)
            self._check_model()

        def bad(exc: Exception) -> None:
            self.first_run.message.setText(str(exc))
            self.first_run.show()

        self.background.submit(check, ok, bad)

    # --- folders ------------------------------------------------------------------------------

    def _load_roots(self) -> None:
        def done(roots) -> None:  # noqa: ANN001
            self.roots_list.blockSignals(True)
            self.roots_list.clear()
            for root in roots:
                label = (Path(root.path).name or root.path) + ("" if root.online else "  (offline)")
                item = QListWidgetItem(label)
                item.setData(Qt.ItemDataRole.UserRole, root.path)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if root.watched else Qt.CheckState.Unchecked)
                state = "watched for changes" if root.watched else "not watched"
                item.setToolTip(f"{root.path}\n{state}{'' if root.online else ', offline'}")
                self.roots_list.addItem(item)
            self.roots_list.blockSignals(False)

        self.background.submit(self.library.roots, done, self._show_error)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to the library")
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str, watched: bool = True) -> None:
        self.work_label.setText(f"Scanning {folder}…")
        self._scan_cancel.clear()

        def add_and_scan():  # noqa: ANN202
            root = self.library.add_root(folder, watched)
            return self.library.scan([root.path], progress=self._scan_progress_hook, cancel=self._scan_cancel)

        def done(report) -> None:  # noqa: ANN001
            log.info("added %s: %s", folder, report.summary())
            self.work_label.setText(f"Scan: {report.summary()}")
            self._load_roots()
            if self._started:
                self.watcher.refresh_roots()
            self.worker.wake()
            self._refresh_after_change()

        self.background.submit(add_and_scan, done, self._show_error)

    def remove_selected_root(self) -> None:
        item = self.roots_list.currentItem()
        if item is None:
            return
        path = item.data(Qt.ItemDataRole.UserRole)
        answer = QMessageBox.question(
            self,
            "Remove folder",
            f"Remove {path} from the library?\nThe files are not touched; their tags "
            "and manual edits in the library are forgotten.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return

        def done(count: int) -> None:
            log.info("removed %s (%d images forgotten)", path, count)
            self._load_roots()
            if self._started:
                self.watcher.refresh_roots()
            self._refresh_after_change()

        self.background.submit(lambda: self.library.remove_root(path), done, self._show_error)

    def _root_toggled(self, item: QListWidgetItem) -> None:
        path = item.data(Qt.ItemDataRole.UserRole)
        watched = item.checkState() == Qt.CheckState.Checked

        def done(_: object) -> None:
            if self._started:
                self.watcher.refresh_roots()

        self.background.submit(lambda: self.library.set_watched(path, watched), done, self._show_error)

    def rescan(self) -> None:
        self.work_label.setText("Scanning folders…")

        def done(report) -> None:  # noqa: ANN001
            self.work_label.setText(f"Scan: {report.summary()}")
            self.worker.wake()
            self._load_roots()
            self._refresh_after_change()

        self._scan_cancel.clear()
        self.background.submit(
            lambda: self.library.scan(progress=self._scan_progress_hook, cancel=self._scan_cancel),
            done,
            self._show_error,
        )

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        # No file-system check here (the GUI thread does no I/O): add_folder validates in the background.
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.add_folder(url.toLocalFile())

    # --- search -------------------------------------------------------------------------------

    def focus_search(self) -> None:
        self.search_box.setFocus()
        self.search_box.selectAll()

    def _search_edited(self, text: str) -> None:
        self._search_timer.start()
        word = text[: self.search_box.cursorPosition()].split(" ")[-1].lstrip("-(")
        if len(word) < 1 or ":" in word:
            self.search_completer.popup().hide()
            return

        def complete() -> list[tuple[str, int]]:
            return self.library.autocomplete(word, limit=12, threshold=self._threshold)

        def show(rows: list[tuple[str, int]]) -> None:
            current = self.search_box.text()[: self.search_box.cursorPosition()].split(" ")[-1].lstrip("-(")
            if current != word or not rows:
                return
            self.search_completer_model.setStringList([f"{quote_tag(name)}  ({count})" for name, count in rows])
            self.search_completer.complete()

        self.background.submit(complete, show)

    def _insert_completion(self, text: str) -> None:
        tag = text.rsplit("  (", 1)[0]
        full = self.search_box.text()
        cursor = self.search_box.cursorPosition()
        before, after = full[:cursor], full[cursor:]
        head, _, word = before.rpartition(" ")
        prefix = word[: len(word) - len(word.lstrip("-("))]
        new_before = (head + " " if head else "") + prefix + tag + " "
        self.search_box.setText(new_before + after.lstrip())
        self.search_box.setCursorPosition(len(new_before))
        self.run_search()

    def run_search(self) -> None:
        self._search_timer.stop()
        query = self.search_box.text().strip()
        sort = self.sort_box.currentText()
        threshold = self._threshold
        self.search_generation += 1
        generation = self.search_generation

        def search():  # noqa: ANN202
            return self.library.search_rows(query, threshold=threshold, sort=sort)

        def done(result) -> None:  # noqa: ANN001
            if generation != self.search_generation:
                return  # a newer search is on its way
            rows, warnings = result
            self.search_error.hide()
            self.current_query = query
            selected = set(self.grid.selected_ids())
            self.grid_model.set_rows(rows)
            self._reselect(selected)
            note = f" — {'; '.join(warnings)}" if warnings else ""
            self.result_label.setText(f"{len(rows):,} image(s){note}")

        def failed(exc: Exception) -> None:
            if generation != self.search_generation:
                return
            if isinstance(exc, QueryError):
                self.search_error.setText(
                    f"{exc.message} — at position {exc.position + 1}: "
                    f"…{query[max(0, exc.position - 10) : exc.position + 10]}…"
                )
                self.search_error.show()
            else:
                self._show_error(exc)

        self.background.submit(search, done, failed)

    def _reselect(self, ids: set[int]) -> None:
        if not ids:
            return
        selection = QItemSelection()
        for row, values in enumerate(self.grid_model.rows):
            if values[0] in ids:
                index = self.grid_model.index(row)
                selection.select(index, index)
        self.grid.selectionModel().select(selection, self.grid.selectionModel().SelectionFlag.ClearAndSelect)

    def _tag_activated(self, item: QListWidgetItem) -> None:
        tag = item.data(Qt.ItemDataRole.UserRole)
        text = self.search_box.text().strip()
        self.search_box.setText(f"{text} {quote_tag(tag)}".strip())
        self.run_search()

    def _load_tag_list(self) -> None:
        contains = self.tag_filter.text().strip()
        threshold = self._threshold

        def done(rows: list[tuple[str, int]]) -> None:
            self.tag_list.clear()
            for name, count in rows:
                item = QListWidgetItem(f"{name}  ({count:,})")
                item.setData(Qt.ItemDataRole.UserRole, name)
                self.tag_list.addItem(item)

        self.background.submit(lambda: self.library.tag_counts(threshold, contains, limit=2000), done)

    # --- thresholds -------------------------------------------------------------------------------

    def _load_threshold(self) -> None:
        def done(value: float) -> None:
            self._threshold = value
            self.details.set_threshold(value)
            self._load_tag_list()

        self.background.submit(lambda: self.library.threshold, done)

    def _threshold_moved(self, value: float) -> None:
        self._threshold = value
        self._save_threshold_timer.start()  # debounced: saved and applied once the slider rests

    def _save_threshold(self) -> None:
        value = self._threshold
        self.background.submit(lambda: self.library.set_threshold(value), lambda _: None, self._show_error)
        self._load_tag_list()
        self.run_search()

    def _preset_chosen(self, key: str) -> None:
        def done(value: float) -> None:
            self._threshold = value
            self._load_tag_list()
            self.run_search()

        self.background.submit(lambda: self.library.apply_preset(key), done, self._show_error)

    # --- selection and details -------------------------------------------------------------------

    def _selection_changed(self, *_: object) -> None:
        ids = self.grid.selected_ids()
        current = self.grid.currentIndex()
        image_id = (
            current.data(IMAGE_ID_ROLE)
            if current.isValid() and current.data(IMAGE_ID_ROLE) in ids
            else (ids[0] if ids else None)
        )
        self._show_details(image_id, len(ids))

    def _show_details(self, image_id: int | None, count: int) -> None:
        self._current_image_id = image_id
        if image_id is None:
            self.details.show_nothing()
            return

        def load():  # noqa: ANN202
            return self.library.image(image_id), self.library.image_tags(image_id)

        def done(result) -> None:  # noqa: ANN001
            image, views = result
            if image is None or image_id != self._current_image_id:
                return
            self.details.show_image(image, views, count)
            self._load_preview(image.path, image.content_hash)

        self.background.submit(load, done, self._show_error)

    def _load_preview(self, path: str, content_hash: str | None) -> None:
        image_id = self._current_image_id

        def load() -> QImage:
            image = QImage(str(thumbnail_for(path, content_hash, 512)))
            if image.isNull():
                raise OSError("cannot read the preview")
            return image

        def done(image: QImage) -> None:
            if image_id == self._current_image_id:
                self.details.show_preview(QPixmap.fromImage(image))

        self.background.submit(load, done, lambda exc: self.details.show_preview(None, str(exc)))

    def edit_tags(self, names: list[str], present: bool) -> None:
        ids = self.grid.selected_ids()
        if not ids:
            return

        def apply() -> int:
            return sum(self.library.set_manual_tag(ids, name, present) for name in names)

        def done(count: int) -> None:
            verb = "added" if present else "removed"
            log.info("%s %s on %d image(s)", verb, ", ".join(names), len(ids))
            self.statusBar().showMessage(f"{', '.join(names)} {verb} on {len(ids)} image(s)", 4000)
            self._selection_changed()
            self._load_tag_list()

        self.background.submit(apply, done, self._show_error)

    def retag_selection(self) -> None:
        ids = self.grid.selected_ids()
        if not ids:
            return

        def done(count: int) -> None:
            log.info("queued %d image(s) for retagging", count)
            self.worker.wake()
            self._refresh_after_change()

        self.background.submit(lambda: self.library.retag(ids), done, self._show_error)

    # --- grid actions -----------------------------------------------------------------------------

    def open_preview(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        path = index.data(PATH_ROLE)
        dialog = PreviewDialog(Path(path).name, self)
        row = self.grid_model.rows[index.row()]

        def load() -> QImage:
            image = QImage(str(thumbnail_for(path, row[2], 1600)))
            if image.isNull():
                raise OSError("cannot read the image")
            return image

        self.background.submit(
            load, lambda image: dialog.show_pixmap(QPixmap.fromImage(image)), lambda exc: dialog.label.setText(str(exc))
        )
        dialog.show()

    def _grid_menu(self, position) -> None:  # noqa: ANN001
        index = self.grid.indexAt(position)
        if not index.isValid():
            return
        path = index.data(PATH_ROLE)
        menu = QMenu(self)
        menu.addAction("Open in system viewer", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(path)))
        menu.addAction("Show in folder", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path))))
        menu.addAction("Preview", lambda: self.open_preview(index))
        menu.addAction("Retag", self.retag_selection)
        menu.addSeparator()
        menu.addAction("Write XMP sidecars", lambda: self.write_metadata("xmp", selection=True))
        menu.addAction("Write caption files", lambda: self.write_metadata("captions", selection=True))
        menu.addAction("Write keywords into the files…", lambda: self.write_metadata("embedded", selection=True))
        menu.exec(self.grid.viewport().mapToGlobal(position))

    def write_metadata(self, target: str, selection: bool) -> None:
        """Write sidecars, captions or embedded keywords for the selection or the current search."""
        from joytag_desktop.metadata.sync import CaptionOptions, export_captions, export_embedded, export_xmp

        ids = self.grid.selected_ids() if selection else [row[0] for row in self.grid_model.rows]
        if not ids:
            return
        if target == "embedded":
            answer = QMessageBox.question(
                self,
                "Write keywords into the files",
                f"Write keywords into {len(ids)} image file(s)? Only the metadata changes, never the pixels."
                + ("\nA backup copy (…_original) is kept." if self._bool("embedded_backup", True) else ""),
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        naming = str(self.settings.value("sidecar_naming", "jpg.xmp"))
        parent = str(self.settings.value("keyword_parent", "JoyTag") or "JoyTag")
        backup = self._bool("embedded_backup", True)
        self.work_label.setText(f"Writing {target} for {len(ids)} image(s)…")

        def write():  # noqa: ANN202
            if target == "xmp":
                return export_xmp(self.library, image_ids=ids, naming=naming, parent=parent)
            if target == "captions":
                return export_captions(self.library, options=CaptionOptions(), image_ids=ids)
            return export_embedded(self.library, keep_backup=backup, image_ids=ids, parent=parent)

        def done(report) -> None:  # noqa: ANN001
            for path, reason in report.errors:
                log.warning("%s: %s", path, reason)
            self.work_label.setText(f"{target}: {report.summary()}")

        self.background.submit(write, done, self._show_error)

    def export_table(self, fmt: str, target: str | None = None) -> None:
        """Save the tags of the current search results as CSV or JSON."""
        from joytag_desktop.metadata.sync import export_table

        if target is None:
            target, _ = QFileDialog.getSaveFileName(
                self, f"Export tags as {fmt.upper()}", f"tags.{fmt}", f"{fmt.upper()} files (*.{fmt})"
            )
        if not target:
            return
        query, threshold = self.current_query, self._threshold

        def write() -> int:
            with open(target, "w", encoding="utf-8", newline="") as out:
                return export_table(self.library, out, fmt, query, threshold)

        def done(count: int) -> None:
            log.info("exported the tags of %d image(s) to %s", count, target)
            self.work_label.setText(f"Exported {count:,} image(s) to {Path(target).name}")

        self.background.submit(write, done, self._show_error)

    def _bool(self, key: str, default: bool) -> bool:

        value = self.settings.value(key, default)
        return value in (True, "true", "1", 1)

    # --- worker status ----------------------------------------------------------------------------

    def _worker_state(self, state: str, detail: str) -> None:
        if state == "tagging":
            self.device_label.setText(detail)
            self.work_progress.show()
        elif state == "idle":
            self.work_progress.hide()
            self.work_label.setText("All images tagged" if self._last_progress else "Idle")
        elif state == "paused":
            self.work_label.setText("Tagging paused")
        elif state == "loading":
            self.work_label.setText("Loading the model…")
        elif state == "error":
            self.work_progress.hide()
            self.work_label.setText("Tagging stopped: see the log")

    def _worker_progress(self, progress: TaggingProgress) -> None:
        self._last_progress = progress
        self.work_progress.setRange(0, max(1, progress.total))
        self.work_progress.setValue(progress.done)
        left = progress.seconds_left
        eta = f", {time.strftime('%H:%M:%S', time.gmtime(left))} left" if left is not None else ""
        self.work_label.setText(
            f"Tagging {progress.done:,} of {progress.total:,} ({progress.images_per_second:.1f} images/s{eta})"
        )
        if not self._refresh_timer.isActive():
            self._refresh_timer.start(3000)

    def _worker_error(self, message: str) -> None:
        log.error("%s", message)
        self.statusBar().showMessage(message, 10_000)
        if "model" in message.lower():
            self.first_run.show()

    def set_paused(self, paused: bool) -> None:
        if paused:
            self.worker.pause()
            self.pause_button.setText("Resume")
        else:
            self.worker.resume()
            self.pause_button.setText("Pause")

    def worker_cancel(self) -> None:
        """Cancel the tagging run and any scan in progress (what was done is kept)."""
        self.worker.cancel()
        self._scan_cancel.set()
        log.info("cancelled: tagging stops after the current batch (the rest stays queued); scans stop")

    def _scan_progress_hook(self, root: str, count: int) -> None:
        """Called from the scanning thread; the label is updated on the GUI thread."""
        self.bridge.scan_progress.emit(root, count)

    def _scan_progressed(self, root: str, count: int) -> None:
        self.work_label.setText(f"Scanning {Path(root).name}: {count:,} files…")

    def _library_changed(self, report) -> None:  # noqa: ANN001
        if report.added or report.changed or report.moved or report.missing or report.restored:
            self.worker.wake()
            if not self._refresh_timer.isActive():
                self._refresh_timer.start(800)

    def _refresh_after_change(self) -> None:
        self.run_search()
        self._load_tag_list()
        if self._current_image_id is not None:
            self._selection_changed()

    # --- dialogs ------------------------------------------------------------------------------------

    def open_settings(self) -> None:
        def show(values) -> None:  # noqa: ANN001
            threshold, floor = values
            dialog = SettingsDialog(self.settings, threshold, floor, self)
            if dialog.exec() != SettingsDialog.DialogCode.Accepted:
                return
            dialog.save()
            new_threshold, new_floor = dialog.threshold.value(), dialog.floor.value()

            def apply() -> None:
                self.library.set_threshold(new_threshold)
                self.library.set_storage_floor(new_floor)

            self.background.submit(apply, lambda _: self._load_threshold(), self._show_error)
            self.worker.reload_model(self._worker_settings())
            self._check_model()

        self.background.submit(lambda: (self.library.threshold, self.library.storage_floor), show, self._show_error)

    def about_text(self) -> str:
        model = self.device_label.text() or "not loaded"
        return (
            f"<h3>JoyTag Desktop {__version__}</h3>"
            "<p>Auto-tags your image library with the JoyTag model and makes it searchable.</p>"
            f"<p>{model}</p>"
            "<p>JoyTag Desktop is released under the Apache License 2.0.<br>"
            "The JoyTag model by fancyfeast (huggingface.co/fancyfeast/joytag) is released under the "
            "Apache License 2.0.<br>"
            "Built with Qt (PySide6), PyTorch, Pillow, SQLAlchemy, Alembic, watchdog, exifread and defusedxml.</p>"
        )

    def show_about(self) -> None:
        QMessageBox.about(self, "About JoyTag Desktop", self.about_text())

    def _show_error(self, exc: Exception) -> None:
        message = str(exc) or type(exc).__name__
        log.error("%s", message)
        self.statusBar().showMessage(message, 10_000)

    def _log_line(self, text: str, level: int) -> None:
        self.log_panel.append_line(text, level)
        if level >= logging.ERROR:
            self.statusBar().showMessage(text, 10_000)
