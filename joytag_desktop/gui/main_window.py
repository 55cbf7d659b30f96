"""The main window: folders and tags on the left, the grid in the centre, details on the right.

It wires the widgets to the library; every query and write runs in the background (reads in
``background``, edits in order on ``writer``) and answers come back on the GUI thread.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QAction,
    QDesktopServices,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QImage,
    QKeySequence,
    QPixmap,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QInputDialog,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
)

from joytag_desktop import __version__
from joytag_desktop.errors import JoyTagError
from joytag_desktop.gui import undo
from joytag_desktop.gui.background import Background
from joytag_desktop.gui.bridge import WorkerBridge
from joytag_desktop.gui.details import DetailsPanel
from joytag_desktop.gui.exports import Exports
from joytag_desktop.gui.folders import FolderPanel
from joytag_desktop.gui.grid import (
    DEFAULT_ICON,
    IMAGE_ID_ROLE,
    PATH_ROLE,
    RowPlan,
    plan_rows,
)
from joytag_desktop.gui.library_folders import LibraryFolders
from joytag_desktop.gui.messages import for_window
from joytag_desktop.gui.model_settings import apply_model_choices
from joytag_desktop.gui.panels import (
    LogPanel,
    QtLogHandler,
    SettingsDialog,
    bool_setting,
    keyword_choice,
    model_folder_setting,
    resize_within_screen,
)
from joytag_desktop.gui.results import ResultsPanel
from joytag_desktop.gui.safe_view import SafeView, SafeViewMenu, veiled_pixmap
from joytag_desktop.gui.search_bar import like_term
from joytag_desktop.gui.status import WorkStatus
from joytag_desktop.gui.tag_list import TagListPanel
from joytag_desktop.gui.viewer import Viewer, decode_for_viewer
from joytag_desktop.gui.workers_status import OtherWorkers
from joytag_desktop.library import Library, QueryError, quote_tag
from joytag_desktop.library.query import And, Node, Not, field_terms, parse
from joytag_desktop.thumbnails import thumbnail_for
from joytag_desktop.worker.tagging import TaggingProgress
from joytag_desktop.worker.watcher import FolderWatcher
from joytag_desktop.worker.worker import TaggingWorker, WorkerSettings

log = logging.getLogger("joytag_desktop.gui")
# A new search shows this many images first (the posting lists find them in milliseconds even
# among a million), then the rest of the list follows.
FIRST_PAGE = 600
SPLITTER_DEFAULT = [180, 700, 260]  # at 1024 px wide the grid keeps 3 columns of default thumbnails


@dataclass(frozen=True)
class SearchKey:
    """What the grid shows: a new key is a new search; the same key again is a refresh."""

    query: str
    sort: str
    folder: str
    threshold: float
    safe: SafeView = field(default_factory=SafeView)

    def node(self) -> Node:
        """The query as the library runs it: with Safe view hiding, only the images it allows."""
        node = parse(self.query)
        return And((node, self.safe.allowed())) if self.safe.hides else node


class MainWindow(QMainWindow):
    def __init__(self, library: Library, settings: QSettings, start_worker: bool = True) -> None:
        super().__init__()
        self.library = library
        self.settings = settings
        self.background = Background(parent=self)
        self.writer = Background(threads=1, parent=self)  # edits, in the order they were made
        self.bridge = WorkerBridge(self)
        self.undo_stack = QUndoStack(self)
        self.setWindowTitle(self.tr("JoyTag Desktop"))
        self.setAcceptDrops(True)
        resize_within_screen(self, 1400, 900)
        self.search_generation = 0
        self._last_search_explicit = True
        self.shown_key: SearchKey | None = None
        self.current_query = ""
        self.folder = ""
        self._current_image_id: int | None = None
        self._details_ids: list[int] = []
        self._threshold = 0.4
        self._saved_threshold = 0.4
        self._scan_cancel = threading.Event()
        self._viewer: Viewer | None = None
        self._side_widths = {0: SPLITTER_DEFAULT[0], 2: SPLITTER_DEFAULT[2]}  # to reopen a collapsed panel

        self._build_log()
        self._build_left()
        self._build_centre()
        self._build_right()
        self._build_status_bar()
        self.exports = Exports(self, library, settings, self.writer, self.status, self._show_error)
        self.library_folders = LibraryFolders(
            self,
            library,
            self.folders,
            self.background,
            self.writer,
            self.status,
            self._scan_progress_hook,
            self._scan_cancel,
            self._show_error,
        )
        self.library_folders.changed.connect(self._folders_changed)
        self.library_folders.watching_changed.connect(self._refresh_watcher)
        self.library_folders.roots_loaded.connect(self.results.set_library_empty)
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
        self._roots_timer = QTimer(self, singleShot=True, interval=2000)  # folder counts after watcher events
        self._roots_timer.timeout.connect(self.library_folders.load)
        self._restore_layout()
        self.search_bar.set_query(str(settings.value("last_query", "") or ""))
        self.search_bar.set_sort(str(settings.value("sort", "path") or "path"))
        self._load_threshold()
        self.library_folders.load()
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
        dock = QDockWidget(self.tr("Log"), self)
        dock.setObjectName("logDock")
        dock.setWidget(self.log_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        dock.hide()
        self.log_dock = dock

    def _build_left(self) -> None:
        self.folders = FolderPanel()
        self.folders.folder_chosen.connect(self._folder_chosen)
        self.tag_panel = TagListPanel()
        self.tag_panel.add_tag.connect(lambda tag: self._add_to_search(quote_tag(tag)))
        self.tag_panel.exclude_tag.connect(lambda tag: self._add_to_search("-" + quote_tag(tag)))
        self.tag_panel.search_tag.connect(self.search_for_tag)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.folders)
        left.addWidget(self.tag_panel)
        left.setSizes([300, 500])
        left.setMinimumWidth(150)
        self.left_panel = left

    def _build_centre(self) -> None:
        icon_size = int(self.settings.value("thumbnail_size", DEFAULT_ICON) or DEFAULT_ICON)
        self.results = ResultsPanel(self._complete, icon_size)
        self.centre = self.results
        # The pieces the window wires up.
        self.search_bar, self.grid, self.grid_model = (
            self.results.search_bar,
            self.results.grid,
            self.results.grid_model,
        )
        self.first_run = self.results.first_run
        self.search_box = self.search_bar.line
        self.search_bar.search_requested.connect(self._search_requested)
        self.search_bar.image_dropped.connect(self.more_like_this)
        # A file from outside the library dropped on the search field is tagged and embedded on the
        # fly (the network loads, off the GUI thread, on the first such search).
        from joytag_desktop.worker.on_the_fly import OnTheFly

        self.on_the_fly = OnTheFly()
        self.library.similarity.embedder = self.on_the_fly
        self.first_run.model_ready.connect(self.use_model)
        self.grid.selectionModel().selectionChanged.connect(self._selection_changed)
        self.grid_model.modelReset.connect(self._selection_changed)
        self.grid.doubleClicked.connect(self.open_viewer)
        self.grid.activated_for_viewer.connect(self.open_viewer)
        self.grid.customContextMenuRequested.connect(self._grid_menu)
        self._save_threshold_timer = QTimer(self, singleShot=True, interval=400)
        self._save_threshold_timer.timeout.connect(self._save_threshold)

    def _build_right(self) -> None:
        self.details = DetailsPanel()
        self.details.add_tag_requested.connect(lambda name: self.edit_tags([name], True))
        self.details.tags.tag_set.connect(lambda name, present: self.edit_tags([name], present))
        self.details.tags.tags_removed.connect(lambda names: self.edit_tags(names, False))
        self.details.tags.reset_requested.connect(lambda names: self.edit_tags(names, None))
        self.details.tags.threshold_requested.connect(self.ask_tag_threshold)
        self.details.tags.threshold_cleared.connect(lambda tag: self.set_tag_threshold(tag, None))
        self.details.tags.search_requested.connect(self.search_for_tag)
        self.details.threshold_changed.connect(self._threshold_moved)
        self.details.preset_chosen.connect(self._preset_chosen)
        self.details.rating_chosen.connect(lambda rating: self.rate_selection(rating or None))
        splitter = QSplitter()
        splitter.addWidget(self.left_panel)
        splitter.addWidget(self.centre)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(1, 1)
        for index in (0, 2):
            splitter.setCollapsible(index, True)
        splitter.setCollapsible(1, False)
        splitter.setSizes(SPLITTER_DEFAULT)
        self.splitter = splitter
        self.setCentralWidget(splitter)

    def _build_status_bar(self) -> None:
        self.status = WorkStatus()
        self.status.pause_toggled.connect(self.set_paused)
        self.status.cancel_clicked.connect(self.worker_cancel)
        self.status.show_failed.connect(lambda: self.search_for("status:error"))
        self.statusBar().addPermanentWidget(self.status)
        self.other_workers = OtherWorkers(self.library, self.background)  # a shared library's others
        self.statusBar().addPermanentWidget(self.other_workers)
        # Older names the tests and scripts use.
        self.work_label = self.status.label
        self.pause_button = self.status.pause_button
        self.cancel_button = self.status.cancel_button
        self.device_label = self.status.device

    def _build_actions(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu(self.tr("&File"))
        self._action(file_menu, self.tr("Add folder…"), QKeySequence.StandardKey.Open, self.library_folders.choose)
        self._action(file_menu, self.tr("Rescan folders"), QKeySequence("F5"), self.library_folders.rescan)
        export_menu = file_menu.addMenu(self.tr("Export current results"))
        self._action(export_menu, self.tr("XMP sidecars"), None, lambda: self.write_metadata("xmp", selection=False))
        self._action(
            export_menu, self.tr("Caption files"), None, lambda: self.write_metadata("captions", selection=False)
        )
        self._action(
            export_menu,
            self.tr("Keywords into the files…"),
            None,
            lambda: self.write_metadata("embedded", selection=False),
        )
        self._action(export_menu, self.tr("Tags as CSV…"), None, lambda: self.export_table("csv"))
        self._action(export_menu, self.tr("Tags as JSON…"), None, lambda: self.export_table("json"))
        self._action(file_menu, self.tr("Settings…"), QKeySequence("Ctrl+,"), lambda: self.open_settings())
        file_menu.addSeparator()
        self._action(file_menu, self.tr("Quit"), QKeySequence.StandardKey.Quit, self.close)
        edit_menu = menu.addMenu(self.tr("&Edit"))
        undo_action = self.undo_stack.createUndoAction(self, self.tr("Undo"))
        undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        redo_action = self.undo_stack.createRedoAction(self, self.tr("Redo"))
        redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit_menu.addAction(undo_action)
        edit_menu.addAction(redo_action)
        self.undo_action, self.redo_action = undo_action, redo_action
        edit_menu.addSeparator()
        self._action(edit_menu, self.tr("Find"), QKeySequence.StandardKey.Find, self.focus_search)
        self._action(edit_menu, self.tr("Add tag to selection"), QKeySequence("Ctrl+T"), self.details.new_tag.setFocus)
        self._action(edit_menu, self.tr("Select all"), QKeySequence.StandardKey.SelectAll, self.grid.selectAll)
        self._action(edit_menu, self.tr("Retag selection"), QKeySequence("Ctrl+R"), self.retag_selection)
        self._action(edit_menu, self.tr("More like this"), QKeySequence("Ctrl+L"), self.more_like_current)
        self._action(edit_menu, self.tr("Find duplicates…"), QKeySequence("Ctrl+Shift+D"), self.open_duplicates)
        view_menu = menu.addMenu(self.tr("&View"))
        self._action(view_menu, self.tr("Open viewer"), None, lambda: self.open_viewer(self.grid.currentIndex()))
        self._action(
            view_menu,
            self.tr("Larger thumbnails"),
            QKeySequence.StandardKey.ZoomIn,
            lambda: self.results.grow_thumbnails(16),
        )
        self._action(
            view_menu,
            self.tr("Smaller thumbnails"),
            QKeySequence.StandardKey.ZoomOut,
            lambda: self.results.grow_thumbnails(-16),
        )
        self.toggle_left = self._action(
            view_menu, self.tr("Show folders and tags"), QKeySequence("Ctrl+1"), lambda: self._toggle_side(0)
        )
        self.toggle_right = self._action(
            view_menu, self.tr("Show details"), QKeySequence("Ctrl+2"), lambda: self._toggle_side(2)
        )
        view_menu.addAction(self.log_dock.toggleViewAction())
        view_menu.addSeparator()
        self.safe_view = SafeViewMenu(self.settings, view_menu)
        self.safe_view.changed.connect(lambda _: self._refresh_after_change())
        tag_menu = menu.addMenu(self.tr("&Tagging"))
        self._action(tag_menu, self.tr("Models…"), None, self.open_model_manager)
        self._action(
            tag_menu,
            self.tr("Models of this library and their thresholds…"),
            None,
            lambda: self.open_settings("models"),
        )
        self._action(tag_menu, self.tr("Pause / resume"), QKeySequence("Ctrl+P"), self.pause_button.toggle)
        self._action(
            tag_menu, self.tr("Cancel tagging run and scans"), QKeySequence("Ctrl+Shift+P"), self.worker_cancel
        )
        help_menu = menu.addMenu(self.tr("&Help"))
        self._action(help_menu, self.tr("About JoyTag Desktop"), None, self.show_about)

    def _action(self, menu: QMenu, text: str, shortcut, slot) -> QAction:  # noqa: ANN001
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(lambda *_: slot())
        menu.addAction(action)
        return action

    def _toggle_side(self, index: int) -> None:
        sizes = self.splitter.sizes()
        if sizes[index] > 0:
            self._side_widths[index] = sizes[index]
            sizes[1] += sizes[index]
            sizes[index] = 0
        else:
            width = self._side_widths[index]
            sizes[index] = width
            sizes[1] = max(200, sizes[1] - width)
        self.splitter.setSizes(sizes)

    def _restore_layout(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.value("window_state")
        if state is not None:
            self.restoreState(state)
        splitter = self.settings.value("splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)

    # --- start / stop ---------------------------------------------------------------------------

    def start_background_work(self) -> None:
        """Start-up scan (catches changes made while the app was closed), then watch and tag."""
        if self._started:
            return
        self._started = True
        self.status.set_text(self.tr("Scanning folders…"))
        self._scan_cancel.clear()

        def scan() -> object:
            # Watching starts first (off the GUI thread: it walks the folders): a file that lands
            # while the scan runs is seen by one or the other, never by neither.
            self.watcher.start()
            from joytag_desktop.interchange.keyword_sync import import_found

            report = self.library.scan(progress=self._scan_progress_hook, cancel=self._scan_cancel)
            return import_found(self.library, report)

        def scanned(report) -> None:  # noqa: ANN001
            if self._closing:
                return
            self.status.set_text(self.tr("Scan: {summary}").format(summary=report.summary()))
            for offline in report.offline:
                log.warning("offline: %s", offline)
            self.library_folders.load()  # a folder found again (a drive mounted since) is online
            self._refresh_after_change()
            self.worker.start()

        self.background.submit(scan, scanned, self._show_error)

    def closeEvent(self, event) -> None:  # noqa: ANN001, N802
        self._closing = True
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        self.settings.setValue("splitter", self.splitter.saveState())
        self.settings.setValue("last_query", self.search_bar.line.text())
        self.settings.setValue("sort", self.search_bar.sort())
        self.settings.setValue("thumbnail_size", self.grid.icon_size)
        self.settings.sync()
        self.first_run.download.cancel()
        if self._viewer is not None:
            self._viewer.close()
        if self._started:
            self.watcher.stop()
            self.worker.stop()
        self.writer.shutdown(30_000)  # edits in flight are written, never dropped
        self.background.shutdown(10_000)
        self.grid_model.pool.clear()
        self.grid_model.pool.waitForDone(10_000)
        logging.getLogger("joytag_desktop").removeHandler(self.log_handler)
        super().closeEvent(event)

    # --- model --------------------------------------------------------------------------------

    def _worker_settings(self, chosen: bool = False) -> WorkerSettings:
        """``chosen``: the user has just chosen the model folder, so it tags new files from now on
        (otherwise it does so only if new to the library: unticking it in Settings → Models holds)."""
        batch = int(self.settings.value("batch_size", 0) or 0)
        settings = WorkerSettings(
            model_folder_setting(self.settings),
            str(self.settings.value("device", "auto")),
            batch or None,
            make_auto=chosen,
        )
        if bool_setting(self.settings, "auto_sidecars", False):
            from joytag_desktop.interchange.keyword_export import export_xmp

            naming = str(self.settings.value("sidecar_naming", "jpg.xmp"))
            parent = str(self.settings.value("keyword_parent", "JoyTag") or "JoyTag")
            choice = keyword_choice(self.settings)
            settings.after_commit = lambda ids: export_xmp(
                self.library, image_ids=ids, naming=naming, parent=parent, choice=choice
            )
        return settings

    def _check_model(self) -> None:
        def check() -> str:
            from joytag_desktop.model.formats import inspect_tagger
            from joytag_desktop.model.installed import resolve_model_path

            try:
                return str(inspect_tagger(resolve_model_path(model_folder_setting(self.settings))).path)
            except JoyTagError:
                # No usable model folder in the settings: the library's automatic models may still tag.
                for model in self.library.models():
                    if model.auto and model.path and os.path.isdir(model.path):
                        return str(inspect_tagger(model.path).path)
                raise

        def ok(path: str) -> None:
            self.first_run.hide()
            self.device_label.setText(self.tr("Model: {name}").format(name=Path(path).name))

        def missing(exc: Exception) -> None:
            self.first_run.show()
            if isinstance(exc, JoyTagError):
                log.info("no model yet: %s", exc)  # the first-run panel says what to do; not an error
            else:
                log.error("model check failed: %s", exc)

        self.background.submit(check, ok, missing)

    def open_model_manager(self) -> None:
        """Tagging → Models…: download a published tagger or choose a folder; the choice tags from now on."""
        from joytag_desktop.gui.model_manager import ModelManager

        dialog = ModelManager(model_folder_setting(self.settings) or "", self)
        dialog.model_chosen.connect(self.use_model)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.model_manager = dialog
        dialog.show()

    def use_model(self, folder: str) -> None:
        def check() -> str:
            from joytag_desktop.model.formats import inspect_tagger

            return str(inspect_tagger(folder).path)

        def ok(path: str) -> None:
            self.settings.setValue("model", path)
            self.first_run.hide()
            self.worker.reload_model(self._worker_settings(chosen=True))
            log.info("using the model in %s", path)
            self._check_model()

        def bad(exc: Exception) -> None:
            self.first_run.message.setText(for_window(str(exc)))
            self.first_run.show()

        self.background.submit(check, ok, bad)

    # --- folders ------------------------------------------------------------------------------

    def _folder_chosen(self, folder: str) -> None:
        self.folder = folder
        self.run_search(explicit=True)

    def _folders_changed(self) -> None:
        """Folders were added, located, removed or rescanned: watch what is now there, tag what
        is new, show the result."""
        self._refresh_watcher()
        self.worker.wake()
        self._refresh_after_change()

    def _refresh_watcher(self) -> None:
        if self._started:  # off the GUI thread: scheduling watches walks the folders
            self.background.submit(self.watcher.refresh_roots, lambda _: None, self._show_error)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        # No file-system check here (the GUI thread does no I/O): the add validates in the background.
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            self._accept_as_link(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            self._accept_as_link(event)

    @staticmethod
    def _accept_as_link(event: QDropEvent) -> None:
        """Folders are indexed where they are: the drop is a link (or a copy), never a move that
        would make the file manager delete the source."""
        actions = event.possibleActions()
        for action in (Qt.DropAction.LinkAction, Qt.DropAction.CopyAction):
            if actions & action:
                event.setDropAction(action)
                event.accept()
                return
        event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self._accept_as_link(event)
        if not event.isAccepted():
            return
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.library_folders.add(url.toLocalFile())

    # --- search -------------------------------------------------------------------------------

    def focus_search(self) -> None:
        self.search_box.setFocus()
        self.search_box.selectAll()

    def _complete(self, word: str, show) -> None:  # noqa: ANN001
        self.background.submit(lambda: self.library.autocomplete(word, limit=12), show)

    def _add_to_search(self, term: str) -> None:
        text = self.search_bar.query()
        self.search_for(f"{text} {term}".strip())

    def search_for(self, query: str) -> None:
        self.search_bar.set_query(query)
        self.run_search(explicit=True)

    def more_like_this(self, path: str) -> None:
        """Images like ``path`` (of the library, or a file dropped from elsewhere), most alike first."""
        self.search_bar.set_sort("similarity")
        self.search_for(like_term(path))

    def more_like_current(self) -> None:
        index = self.grid.currentIndex()
        if index.isValid():
            self.more_like_this(index.data(PATH_ROLE))

    def open_duplicates(self) -> None:
        """Edit → Find duplicates…: groups side by side; the copies not kept go to the trash."""
        from joytag_desktop.gui.duplicates import DuplicatesDialog

        dialog = DuplicatesDialog(
            self.library, self.background, self.current_query or "", self._refresh_after_change, parent=self
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.duplicates_dialog = dialog
        dialog.show()

    def search_for_tag(self, tag: str) -> None:
        self.search_for(quote_tag(tag))

    def _search_requested(self, explicit: bool) -> None:
        self.run_search(explicit=explicit)

    def _search_key(self) -> SearchKey:
        safe = self.safe_view.state if self.safe_view.state.enabled else SafeView()
        return SearchKey(self.search_bar.query(), self.search_bar.sort(), self.folder, self._threshold, safe)

    def run_search(self, explicit: bool = True) -> None:
        """Search (or refresh) off the GUI thread; the grid is updated in place.

        ``explicit``: the user asked (Return, a click); otherwise it is the pause after typing, and
        a half-typed word that matches nothing leaves the grid as it is.
        """
        self.search_bar.timer.stop()
        self._last_search_explicit = explicit
        key = self._search_key()
        self.search_generation += 1
        generation = self.search_generation
        old_rows = self.grid_model.rows
        # A new search (not a refresh, which must keep the place) shows its first page at once.
        first_page = key != self.shown_key and not key.safe.blurs

        def search(limit: int | None = None) -> tuple:
            # The library's rules (its saved threshold, each model's category thresholds) decide;
            # key.threshold only tells that a slider change needs a new search.
            node = key.node()
            rows, warnings = self.library.search_rows(node, sort=key.sort, folder=key.folder, limit=limit)
            veiled: set[int] = set()
            if key.safe.blurs and rows:
                above, _ = self.library.search_rows(And((node, Not(key.safe.allowed()))), folder=key.folder)
                veiled = {row[0] for row in above}
            more = limit is not None and len(rows) == limit
            return plan_rows(old_rows, rows), warnings, veiled, more, old_rows, similarity_captions(node)

        def similarity_captions(node) -> dict[int, str]:  # noqa: ANN001 - a query Node
            """A like: search shows each image's similarity before its name."""
            found = self.library.like_similarities(node)
            return {image_id: f"{value:.2f}" for image_id, value in found.items()}

        def rest(shown: list) -> tuple:
            """The whole list after the first page: planned (off the GUI thread) as rows added to it."""
            node = key.node()
            rows, warnings = self.library.search_rows(node, sort=key.sort, folder=key.folder)
            return plan_rows(shown, rows), warnings, set(), False, shown, similarity_captions(node)

        def done(result) -> None:  # noqa: ANN001
            if generation != self.search_generation or self._closing:
                return  # a newer search is on its way
            plan, warnings, veiled, more, planned_from, captions = result
            self.grid_model.set_veiled(veiled)
            self.grid_model.set_captions(captions)
            if self._viewer is not None:
                self._viewer.refresh_veil()
            if not explicit and not plan.rows and self.search_bar.word_in_progress():
                self.results.show_no_match_yet(self.search_bar.query().split(" ")[-1])
                return
            if self.grid_model.rows is not planned_from:
                plan = plan_rows(self.grid_model.rows, plan.rows)
            self._show_rows(key, plan)
            if more:
                shown = self.grid_model.rows
                self.background.submit(lambda: rest(shown), done, failed)
                return
            self.results.show_count(len(plan.rows), warnings)
            self._load_tag_list(key, len(plan.rows))
            self._say_outside_tags(key)

        def failed(exc: Exception) -> None:
            if generation != self.search_generation:
                return
            if isinstance(exc, QueryError):
                self.results.show_query_error(exc.message, exc.position, key.query)
            else:
                self._show_error(exc)

        self.background.submit(lambda: search(FIRST_PAGE if first_page else None), done, failed)

    def _say_outside_tags(self, key: SearchKey) -> None:
        """After a search by a file from outside the library, what the model saw in it."""
        for term in field_terms(key.node(), "like"):
            tags = self.on_the_fly.tags.get(Path(term.text or ""))
            if tags:
                names = ", ".join(name for name, _ in tags[:12])
                self.statusBar().showMessage(
                    self.tr("{name} is not in the library; the model tagged it: {tags}").format(
                        name=Path(term.text or "").name, tags=names
                    )
                )

    def _show_rows(self, key: SearchKey, plan: RowPlan) -> None:
        """Apply a search plan; the same search again keeps the place (see ResultsPanel.show_rows)."""
        refresh = self.shown_key is not None and key == self.shown_key
        selection_moved = self.results.show_rows(plan, refresh)
        self.shown_key = key
        self.current_query = key.query
        if selection_moved:
            self._selection_changed()

    def _load_tag_list(self, key: SearchKey | None = None, results: int | None = None) -> None:
        key = key or self.shown_key or self._search_key()
        count = len(self.grid_model.rows) if results is None else results

        def load() -> tuple[list[tuple[str, int]], dict[str, str]]:
            if not key.query and not key.folder and not key.safe.hides:
                rows = self.library.tag_counts(limit=2000)  # from the histogram: instant
            else:
                rows = self.library.result_tag_counts(key.node(), folder=key.folder or None)
            return rows, self.library.tag_categories(name for name, _ in rows)

        def done(result: tuple[list[tuple[str, int]], dict[str, str]]) -> None:
            if key == (self.shown_key or key):
                self.tag_panel.set_counts(result[0], count, result[1])

        self.background.submit(load, done, lambda exc: log.warning("tag counts: %s", exc))

    # --- thresholds -------------------------------------------------------------------------------

    def _load_threshold(self) -> None:
        def done(value: float) -> None:
            self._threshold = self._saved_threshold = value
            self.details.set_threshold(value)
            self._load_tag_list()

        self.background.submit(lambda: self.library.threshold, done)

    def _threshold_moved(self, value: float) -> None:
        self._threshold = value
        self._save_threshold_timer.start()  # debounced: saved and applied once the slider rests

    def _save_threshold(self) -> None:
        old, new = self._saved_threshold, self._threshold
        if abs(old - new) < 1e-9:
            return
        self._saved_threshold = new
        self.undo_stack.push(
            undo.global_threshold(
                self.library,
                self.writer,
                self.tr("threshold {old:.2f} → {new:.2f}").format(old=old, new=new),
                old,
                new,
                self._threshold_applied,
                self._show_error,
            )
        )

    def _threshold_applied(self, value: float) -> None:
        self._threshold = self._saved_threshold = value
        self.details.set_threshold(value)
        self._refresh_after_change()

    def _preset_chosen(self, key: str) -> None:
        from joytag_desktop.library.thresholds import PRESETS

        self._threshold = PRESETS[key]
        self._save_threshold()

    def ask_tag_threshold(self, tag: str, current: float) -> None:
        value, ok = QInputDialog.getDouble(
            self,
            self.tr("Threshold for one tag"),
            self.tr("Lowest score that counts as “{tag}” (the global threshold is {value:.2f}):").format(
                tag=tag, value=self._threshold
            ),
            current,
            0.01,
            1.0,
            2,
        )
        if ok:
            self.set_tag_threshold(tag, value)

    def set_tag_threshold(self, tag: str, value: float | None) -> None:
        text = (
            self.tr("threshold of {tag} → {value:.2f}").format(tag=tag, value=value)
            if value is not None
            else self.tr("threshold of {tag} → global").format(tag=tag)
        )
        self.undo_stack.push(
            undo.tag_threshold(
                self.library, self.writer, text, tag, value, lambda _: self._refresh_after_change(), self._show_error
            )
        )

    # --- selection and details -------------------------------------------------------------------

    def _selection_changed(self, *_: object) -> None:
        ids = self.grid.selected_ids()
        current = self.grid.currentIndex()
        current_selected = current.isValid() and self.grid.selectionModel().isSelected(current)
        image_id = current.data(IMAGE_ID_ROLE) if current_selected else (ids[0] if ids else None)
        self._show_details(image_id, ids)

    def _show_details(self, image_id: int | None, ids: list[int]) -> None:
        self._current_image_id = image_id
        self._details_ids = ids
        if image_id is None:
            self.details.show_nothing()
            return

        def load():  # noqa: ANN202
            image = self.library.image(image_id)
            if len(ids) > 1:
                return image, self.library.selection_tags(ids)
            return image, self.library.image_tags(image_id)

        def done(result) -> None:  # noqa: ANN001
            image, tags = result
            if image is None or image_id != self._current_image_id or ids is not self._details_ids:
                return
            if len(ids) > 1:
                self.details.show_selection(image, tags, len(ids))
            else:
                self.details.show_image(image, tags)
            self._load_preview(image.path, image.content_hash)

        self.background.submit(load, done, self._show_error)

    def _load_preview(self, path: str, content_hash: str | None) -> None:
        image_id = self._current_image_id

        def load() -> QImage:
            image = QImage(str(thumbnail_for(path, content_hash, 512)))
            if image.isNull():
                raise OSError(self.tr("cannot read the preview"))
            return image

        def done(image: QImage) -> None:
            if image_id == self._current_image_id:
                pixmap = QPixmap.fromImage(image)
                self.details.show_preview(veiled_pixmap(pixmap) if image_id in self.grid_model.veiled else pixmap)

        self.background.submit(load, done, lambda exc: self.details.show_preview(None, str(exc)))

    def edit_tags(self, names: list[str], present: bool | None) -> None:
        """Add, remove or reset tags on every selected image, as one undoable step."""
        ids = self.grid.selected_ids()
        if not ids:
            self.statusBar().showMessage(self.tr("Select images in the grid first"), 4000)
            self.details.show_nothing()
            return
        tags = ", ".join(names)
        if present is None:
            text = self.tr("reset {tags} to the model on {count:,} images").format(tags=tags, count=len(ids))
        elif present:
            text = self.tr("add {tags} to {count:,} images").format(tags=tags, count=len(ids))
        else:
            text = self.tr("remove {tags} from {count:,} images").format(tags=tags, count=len(ids))

        def done(_: object) -> None:
            log.info("%s", text)
            self.statusBar().showMessage(text, 4000)
            self._selection_changed()
            self._load_tag_list()

        self.undo_stack.push(
            undo.tag_edit(self.library, self.writer, text, ids, names, present, done, self._show_error)
        )

    def rate_selection(self, rating: str | None) -> None:
        """Set the rating of every selected image by hand (None: back to the models'), undoably."""
        ids = self.grid.selected_ids()
        if not ids:
            self.statusBar().showMessage(self.tr("Select images in the grid first"), 4000)
            return
        text = (
            self.tr("rating of {count:,} images → {rating}").format(count=len(ids), rating=rating)
            if rating
            else self.tr("rating of {count:,} images → from the models").format(count=len(ids))
        )

        def done(_: object) -> None:
            self.statusBar().showMessage(text, 4000)
            self._selection_changed()
            self._refresh_after_change()

        self.undo_stack.push(undo.rating_edit(self.library, self.writer, text, ids, rating, done, self._show_error))

    def retag_selection(self) -> None:
        ids = self.grid.selected_ids()
        if not ids:
            return

        def done(count: int) -> None:
            log.info("queued %d image(s) for retagging", count)
            self.worker.resume()
            self._refresh_after_change()

        self.writer.submit(lambda: self.library.retag(ids), done, self._show_error)

    # --- viewer -------------------------------------------------------------------------------

    def open_viewer(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        if self._viewer is None:
            self._viewer = Viewer(
                self.grid_model.rowCount,
                lambda row: (self.grid_model.rows[row][0], self.grid_model.rows[row][1]),
                self._load_picture,
                self,
                is_veiled=lambda image_id: image_id in self.grid_model.veiled,
            )
            self._viewer.row_changed.connect(self._viewer_moved)
        self._viewer.show_row(index.row())
        self._viewer.show()
        self._viewer.raise_()
        self._viewer.activateWindow()

    def _viewer_moved(self, row: int) -> None:
        index = self.grid_model.index(row)
        self.grid.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.grid.scrollTo(index)

    def _load_picture(self, image_id: int, path: str) -> None:
        viewer = self._viewer
        if viewer is None:
            return
        self.background.submit(
            lambda: decode_for_viewer(path),
            lambda result: viewer.picture_loaded(image_id, *result),
            lambda exc: viewer.picture_failed(image_id, str(exc)),
        )
        threshold = self._threshold
        self.background.submit(
            lambda: [v.name for v in self.library.image_tags(image_id) if v.present_at(threshold)],
            lambda names: viewer.tags_loaded(image_id, names),
        )

    # --- grid actions -----------------------------------------------------------------------------

    def _grid_menu(self, position) -> None:  # noqa: ANN001
        index = self.grid.indexAt(position)
        if not index.isValid():
            return
        path = index.data(PATH_ROLE)
        menu = QMenu(self)
        menu.addAction(self.tr("View"), lambda: self.open_viewer(index))
        menu.addAction(self.tr("Open in system viewer"), lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(path)))
        menu.addAction(
            self.tr("Show in folder"), lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))
        )
        menu.addAction(self.tr("Retag"), self.retag_selection)
        menu.addAction(self.tr("More like this"), lambda: self.more_like_this(path))
        menu.addSeparator()
        menu.addAction(self.tr("Write XMP sidecars"), lambda: self.write_metadata("xmp", selection=True))
        menu.addAction(self.tr("Write caption files"), lambda: self.write_metadata("captions", selection=True))
        menu.addAction(
            self.tr("Write keywords into the files…"), lambda: self.write_metadata("embedded", selection=True)
        )
        menu.exec(self.grid.viewport().mapToGlobal(position))

    def write_metadata(self, target: str, selection: bool) -> None:
        """Write sidecars, captions or embedded keywords for the selection or the current search."""
        ids = self.grid.selected_ids() if selection else [row[0] for row in self.grid_model.rows]
        self.exports.write_metadata(target, ids)

    def export_table(self, fmt: str, target: str | None = None) -> None:
        """Save the tags of the current search results as CSV or JSON."""
        self.exports.export_table(fmt, self.current_query, self._threshold, target)

    # --- worker status ----------------------------------------------------------------------------

    def _worker_state(self, state: str, detail: str) -> None:
        if state == "tagging":
            self.device_label.setText(detail)
            self.status.set_held(False)
        elif state in ("idle", "cancelled", "paused"):
            self._show_outcome(state)
        elif state == "loading":
            self.status.set_text(self.tr("Loading the model…"))
        elif state == "error":
            self.status.progress.hide()
            self.status.set_text(self.tr("Tagging stopped: see the log (View ▸ Log)"))

    def _show_outcome(self, state: str) -> None:
        """Say what is left in the library's own counts (pending and failed), never a guess."""

        def done(counts: dict[str, int]) -> None:
            current = "cancelled" if self.worker.held else ("paused" if self.worker.paused else state)
            self.status.show_counts(current, counts.get("pending", 0), counts.get("error", 0))
            self.status.set_held(self.worker.held or self.worker.paused)

        self.background.submit(self.library.count_by_status, done, self._show_error)

    def _worker_progress(self, progress: TaggingProgress) -> None:
        self.status.show_progress(progress)
        if not self._refresh_timer.isActive():
            self._refresh_timer.start(3000)

    def _worker_error(self, message: str) -> None:
        message = for_window(message)
        log.error("%s", message)
        self.statusBar().showMessage(message, 10_000)
        if "model" in message.lower():
            self.first_run.show()

    def set_paused(self, paused: bool) -> None:
        if paused:
            self.worker.pause()
        else:
            self.worker.resume()

    def worker_cancel(self) -> None:
        """Cancel the tagging run and any scan in progress; what was done is kept, the rest waits for Resume."""
        self.worker.cancel()
        self._scan_cancel.set()
        self.status.set_held(True)
        log.info("cancelled: tagging stops after the current batch; the rest waits until you press Resume")
        self._show_outcome("cancelled")

    def _scan_progress_hook(self, root: str, count: int) -> None:
        """Called from the scanning thread; the label is updated on the GUI thread."""
        self.bridge.scan_progress.emit(root, count)

    def _scan_progressed(self, root: str, count: int) -> None:
        self.status.set_text(self.tr("Scanning {folder}: {count:,} files…").format(folder=Path(root).name, count=count))

    def _library_changed(self, report) -> None:  # noqa: ANN001
        if report.added or report.changed or report.moved or report.missing or report.restored:
            self.worker.wake()
            if not self._roots_timer.isActive():
                self._roots_timer.start()
            if not self._refresh_timer.isActive():
                self._refresh_timer.start(800)

    def _refresh_after_change(self) -> None:
        # A refresh answers the way the last search did: a half-typed word stays a half-typed word.
        self.run_search(explicit=self._last_search_explicit)
        if self._current_image_id is not None:
            self._selection_changed()

    # --- dialogs ------------------------------------------------------------------------------------

    def open_settings(self, tab: str = "") -> None:
        """File → Settings…: the library's values are read in the background, then the dialog opens."""

        def load():  # noqa: ANN202
            lib = self.library
            return lib.threshold, lib.storage_floor, lib.models(), lib.model_thresholds()

        def show(values) -> None:  # noqa: ANN001
            threshold, floor, models, model_thresholds = values
            dialog = SettingsDialog(self.settings, threshold, floor, self, models, model_thresholds)
            self.settings_dialog = dialog
            if tab == "models":
                dialog.tabs.setCurrentWidget(dialog.models_page)
            if dialog.exec() != SettingsDialog.DialogCode.Accepted:
                return
            language_before = str(self.settings.value("language", "") or "")
            model_before = str(self.settings.value("model", "") or "")
            dialog.save()
            new_threshold, new_floor = dialog.threshold.value(), dialog.floor.value()
            choices = dialog.models_page.choices()

            def apply() -> None:
                self.library.set_threshold(new_threshold)
                self.library.set_storage_floor(new_floor)
                apply_model_choices(self.library, choices)

            def applied(_: object) -> None:
                self._load_threshold()
                chosen = str(self.settings.value("model", "") or "") != model_before
                self.worker.reload_model(self._worker_settings(chosen=chosen))
                self._check_model()
                self._refresh_after_change()

            self.writer.submit(apply, applied, self._show_error)
            if str(self.settings.value("language", "") or "") != language_before:
                QMessageBox.information(
                    self,
                    self.tr("Language"),
                    self.tr("The new language is used from the next start of JoyTag Desktop."),
                )

        self.background.submit(load, show, self._show_error)

    def about_text(self) -> str:
        model = self.device_label.text() or self.tr("not loaded")
        return (
            f"<h3>JoyTag Desktop {__version__}</h3>"
            + self.tr("<p>Auto-tags your image library with the JoyTag model and makes it searchable.</p>")
            + f"<p>{model}</p>"
            "<p>JoyTag Desktop is released under the Apache License 2.0.<br>"
            "The JoyTag model by fancyfeast (huggingface.co/fancyfeast/joytag) is released under the "
            "Apache License 2.0.<br>"
            "Built with Qt (PySide6), PyTorch, Pillow, SQLAlchemy, Alembic, watchdog, exifread and defusedxml.</p>"
        )

    def show_about(self) -> None:
        QMessageBox.about(self, self.tr("About JoyTag Desktop"), self.about_text())

    def _show_error(self, exc: Exception) -> None:
        message = for_window(str(exc) or type(exc).__name__)
        log.error("%s", message)
        self.statusBar().showMessage(message, 10_000)

    def _log_line(self, text: str, level: int) -> None:
        self.log_panel.append_line(text, level)
        if level >= logging.ERROR:
            self.statusBar().showMessage(text, 10_000)
