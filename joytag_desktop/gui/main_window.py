"""The main window: folders and tags on the left, the grid in the centre, details on the right.

It lays the widgets out, builds the menus and wires the controllers that do the work, each in its
own module: what the grid shows (``search``), the selected images and their edits (``selection``),
the thresholds (``thresholds``), the viewer (``viewer``), the tagging status bar items
(``tagging_status``), the model that tags (``model_choice``), and the scan, watcher and worker that
keep the library current (``upkeep``). Every query and write runs in the background (reads in
``background``, edits in order on ``writer``) and answers come back on the GUI thread.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import partial

from PySide6.QtCore import QPoint, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QDesktopServices,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeySequence,
    QUndoStack,
)
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QMessageBox, QSplitter

from joytag_desktop import __version__
from joytag_desktop.gui.background import Background
from joytag_desktop.gui.bridge import WorkerBridge
from joytag_desktop.gui.context import WindowContext
from joytag_desktop.gui.details import DetailsPanel
from joytag_desktop.gui.exports import Exports
from joytag_desktop.gui.folders import FolderPanel
from joytag_desktop.gui.grid import PATH_ROLE
from joytag_desktop.gui.i18n import number
from joytag_desktop.gui.library_folders import LibraryFolders
from joytag_desktop.gui.long_work import Job, LongWork
from joytag_desktop.gui.marking import MarkingController
from joytag_desktop.gui.messages import for_window, one_line
from joytag_desktop.gui.model_choice import ModelChoice
from joytag_desktop.gui.model_rules_dialog import RuleValues
from joytag_desktop.gui.model_settings import ModelChoices, apply_model_choices
from joytag_desktop.gui.panels import LogPanel, QtLogHandler, SettingsDialog, resize_within_screen
from joytag_desktop.gui.results import ResultsPanel
from joytag_desktop.gui.rotation import RotationController
from joytag_desktop.gui.safe_view import SafeView, SafeViewMenu
from joytag_desktop.gui.search import SearchController
from joytag_desktop.gui.selection import SelectionController
from joytag_desktop.gui.settings import GuiSettings
from joytag_desktop.gui.slideshow import SlideshowMenu
from joytag_desktop.gui.status import WorkStatus
from joytag_desktop.gui.tag_list import TagListPanel
from joytag_desktop.gui.tagging_status import TaggingStatus
from joytag_desktop.gui.thresholds import ThresholdController
from joytag_desktop.gui.upkeep import LibraryUpkeep
from joytag_desktop.gui.viewing import ViewerController
from joytag_desktop.gui.vocabulary import VocabularyController
from joytag_desktop.gui.workers_status import OtherWorkers
from joytag_desktop.library import Library
from joytag_desktop.worker.watcher import FolderWatcher
from joytag_desktop.worker.worker import TaggingWorker

log = logging.getLogger("joytag_desktop.gui")
SPLITTER_DEFAULT = [180, 700, 260]  # at 1024 px wide the grid keeps 3 columns of default thumbnails
ERROR_MS = 10_000
QUIT_WAIT_MS = 10_000  # each stage of quitting waits this long at most for work at a safe point


class MainWindow(QMainWindow):
    closing = Signal()  # the window closes for good (asked, and what it wrote is written)

    def __init__(self, library: Library, settings: GuiSettings, start_worker: bool = True) -> None:
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
        self._scan_cancel = threading.Event()
        self._quitting = False  # the user chose to quit: what was asked is settled
        self._finish_timer = QTimer(self, interval=100)
        self._finish_timer.timeout.connect(self._finished_writing)
        self._side_widths = {0: SPLITTER_DEFAULT[0], 2: SPLITTER_DEFAULT[2]}  # to reopen a collapsed panel

        self._build_log()
        self._build_left()
        self._build_centre()
        self._build_right()
        self._build_status_bar()
        self._build_controllers()
        self._build_actions()
        self._connect()

        self._restore_layout()
        self.search_bar.set_query(settings.last_query)
        self.search_bar.set_sort(settings.sort)
        self.thresholds.load()
        self.library_folders.load()
        self.search.run()
        self.model_choice.check()
        if start_worker:
            self.upkeep.start()  # the start-up scan, then watching and tagging

    # --- building ---------------------------------------------------------------------------

    def _build_log(self) -> None:
        self.log_panel = LogPanel()
        self.log_handler = QtLogHandler()
        self.log_handler.setLevel(logging.INFO)
        self.log_handler.record_formatted.connect(self._log_line)
        self.log_handler.error_line.connect(self._error_line)
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
        self.tag_panel = TagListPanel()
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.folders)
        left.addWidget(self.tag_panel)
        left.setSizes([300, 500])
        left.setMinimumWidth(150)
        self.left_panel = left

    def _build_centre(self) -> None:
        self.results = ResultsPanel(self._complete, self.settings.thumbnail_size)
        self.centre = self.results
        # The pieces the window wires up.
        self.search_bar, self.grid, self.grid_model = (
            self.results.search_bar,
            self.results.grid,
            self.results.grid_model,
        )
        self.first_run = self.results.first_run
        self.search_box = self.search_bar.line
        # A file from outside the library dropped on the search field is tagged and embedded on the
        # fly (the network loads, off the GUI thread, on the first such search).
        from joytag_desktop.worker.on_the_fly import OnTheFly

        self.on_the_fly = OnTheFly(options=self.library.model_options)
        self.library.similarity.embedder = self.on_the_fly
        from joytag_desktop.worker.text_search import TextEmbedder  # words: the text tower loads on first use

        self.library.similarity.text_encoder = TextEmbedder()
        self.grid.customContextMenuRequested.connect(self._grid_menu)

    def _build_right(self) -> None:
        self.details = DetailsPanel()
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
        self.jobs = LongWork(self.writer)  # bulk edits and exports: progress and Cancel
        self.statusBar().addPermanentWidget(self.jobs)
        self.status = WorkStatus()
        self.status.show_failed.connect(self._show_failed)
        self.statusBar().addPermanentWidget(self.status)
        self.other_workers = OtherWorkers(self.library, self.background)  # a shared library's others
        self.statusBar().addPermanentWidget(self.other_workers)
        # Older names the tests and scripts use.
        self.work_label = self.status.label
        self.pause_button = self.status.pause_button
        self.cancel_button = self.status.cancel_button
        self.device_label = self.status.device

    def _build_controllers(self) -> None:
        library, details, status = self.library, self.details, self.status
        context = WindowContext(
            self, library, self.background, self.writer, self.undo_stack, self._show_error, self.jobs
        )
        self.thresholds = ThresholdController(context, details)
        self.search = SearchController(context, self.results, self.tag_panel, self.thresholds, self.on_the_fly)
        self.selection = SelectionController(context, self.results, details)
        self.vocabulary = VocabularyController(context, self.results.grid.selected_ids)
        self.viewer = ViewerController(context, self.results, self.thresholds)
        self.rotation = RotationController(context, self.results)
        self.marking = MarkingController(context, self.results.grid, self.results.grid_model)
        self.model_choice = ModelChoice(context, self.settings, self.first_run, status)
        self.worker = TaggingWorker(library, self.model_choice.worker_settings(), self.bridge)
        self.watcher = FolderWatcher(
            library, on_change=self.bridge.watcher_changed, on_warning=self.bridge.watcher_warning
        )
        self.tagging_status = TaggingStatus(
            context, self.worker, self.bridge, status, self.first_run, self._scan_cancel
        )
        self.exports = Exports(self, library, self.settings, self.jobs, status, self._show_error)
        self.library_folders = LibraryFolders(
            self,
            library,
            self.folders,
            self.background,
            self.writer,
            status,
            self.bridge.scan_progressed,
            self._scan_cancel,
            self._show_error,
        )
        self.upkeep = LibraryUpkeep(
            context, self.worker, self.watcher, self.bridge, self.library_folders, status, self._scan_cancel
        )

    def _connect(self) -> None:
        """What one part's news means for the others."""
        self.folders.folder_chosen.connect(self.search.show_folder)
        self.details.tags.search_requested.connect(self.search.search_for_tag)
        self.search.selection_moved.connect(self.selection.update)
        self.search.veil_changed.connect(self.viewer.refresh_veil)
        self.thresholds.loaded.connect(self.search.load_tag_list)
        self.thresholds.applied.connect(self._refresh_after_change)
        self.selection.tags_edited.connect(self.search.load_tag_list)
        self.tag_panel.vocabulary_requested.connect(self.vocabulary.request)
        self.results.grid.tag_dropped.connect(self.vocabulary.dropped)
        self.vocabulary.changed.connect(self._refresh_after_change)
        self.selection.rated.connect(self._refresh_after_change)
        self.results.grid.mark_key.connect(self.marking.key_pressed)
        self.viewer.mark_key.connect(self.marking.key_pressed_on)
        self.details.marks.mark_chosen.connect(self.marking.mark_selection)
        self.marking.marked.connect(self._refresh_after_change)
        self.selection.retag_queued.connect(self._retag_queued)
        self.viewer.rotate_requested.connect(self.rotation.rotate)
        self.rotation.rotated.connect(self._rotated)
        self.library_folders.scanned.connect(self.rotation.follow)  # turned by another program
        self.upkeep.scanned.connect(self.rotation.follow)
        self.bridge.library_changed.connect(self.rotation.follow)
        self.rotation.turned_elsewhere.connect(self.viewer.reload)
        self.model_choice.worker_settings_changed.connect(self.worker.reload_model)
        self.model_choice.tag_library.connect(lambda now: self._retag_queued() if now else self.worker.pause())
        self.library_folders.roots_loaded.connect(self.results.set_library_empty)
        self.search.set_safe_view(self.safe_view.state)
        self.library_folders.only = self.safe_view.state.allowed() if self.safe_view.state.hides else None
        self.safe_view.changed.connect(self._safe_view_changed)
        self.results.safe_notice.show_them.connect(lambda: self.safe_view.toggle.setChecked(False))
        self.upkeep.refresh_due.connect(self._refresh_after_change)
        self.upkeep.scanning.connect(self.results.set_scanning)

    def _build_actions(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu(self.tr("&File"))
        self._action(file_menu, self.tr("Add folder…"), QKeySequence.StandardKey.Open, self.library_folders.choose)
        self._action(file_menu, self.tr("Rescan folders"), QKeySequence("F5"), self.library_folders.rescan)
        export_menu = file_menu.addMenu(self.tr("Export current results"))
        self._action(export_menu, self.tr("XMP sidecars"), None, partial(self.write_metadata, "xmp", selection=False))
        self._action(
            export_menu, self.tr("Caption files"), None, partial(self.write_metadata, "captions", selection=False)
        )
        self._action(
            export_menu,
            self.tr("Keywords into the files…"),
            None,
            partial(self.write_metadata, "embedded", selection=False),
        )
        self._action(export_menu, self.tr("Tags as CSV…"), None, partial(self.export_table, "csv"))
        self._action(export_menu, self.tr("Tags as JSON…"), None, partial(self.export_table, "json"))
        self._action(file_menu, self.tr("Settings…"), QKeySequence("Ctrl+,"), self.open_settings)
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
        self._action(edit_menu, self.tr("Retag selection"), QKeySequence("Ctrl+R"), self.selection.retag_selection)
        self.rotation.fill_menu(edit_menu.addMenu(self.tr("Rotate")))
        self._action(edit_menu, self.tr("More like this"), QKeySequence("Ctrl+L"), self.search.more_like_current)
        self._action(edit_menu, self.tr("Find duplicates…"), QKeySequence("Ctrl+Shift+D"), self.open_duplicates)
        self._action(edit_menu, self.tr("Tag aliases and implications…"), None, self.vocabulary.open_window)
        view_menu = menu.addMenu(self.tr("&View"))
        self._action(view_menu, self.tr("Open viewer"), None, self.viewer.open_current)
        self._action(view_menu, self.tr("Full screen"), QKeySequence("F11"), self.viewer.full_screen)
        self._action(view_menu, self.tr("Slideshow"), QKeySequence("Ctrl+Return"), self.start_slideshow)
        self.slideshow_menu = SlideshowMenu(
            view_menu.addMenu(self.tr("Slideshow settings")),
            self.settings.slideshow_interval,
            self.settings.slideshow_order,
        )
        self.slideshow_menu.changed.connect(self._slideshow_chosen)
        self._action(
            view_menu,
            self.tr("Larger thumbnails"),
            QKeySequence.StandardKey.ZoomIn,
            partial(self.results.grow_thumbnails, 16),
        )
        self._action(
            view_menu,
            self.tr("Smaller thumbnails"),
            QKeySequence.StandardKey.ZoomOut,
            partial(self.results.grow_thumbnails, -16),
        )
        self.toggle_left = self._action(
            view_menu, self.tr("Show folders and tags"), QKeySequence("Ctrl+1"), partial(self._toggle_side, 0)
        )
        self.toggle_right = self._action(
            view_menu, self.tr("Show details"), QKeySequence("Ctrl+2"), partial(self._toggle_side, 2)
        )
        view_menu.addAction(self.log_dock.toggleViewAction())
        view_menu.addSeparator()
        self.safe_view = SafeViewMenu(self.settings, view_menu)
        tag_menu = menu.addMenu(self.tr("&Tagging"))
        self._action(tag_menu, self.tr("Models…"), None, self.model_choice.open_manager)
        self._action(
            tag_menu,
            self.tr("Models of this library and their thresholds…"),
            None,
            partial(self.open_settings, "models"),
        )
        self._action(tag_menu, self.tr("Pause / resume"), QKeySequence("Ctrl+P"), self.status.toggle_pause)
        self._action(
            tag_menu,
            self.tr("Cancel tagging run and scans"),
            QKeySequence("Ctrl+Shift+P"),
            self.tagging_status.cancel,
        )
        help_menu = menu.addMenu(self.tr("&Help"))
        self._action(help_menu, self.tr("About JoyTag Desktop"), None, self.show_about)

    def _action(self, menu: QMenu, text: str, shortcut, slot) -> QAction:
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
        geometry = self.settings.geometry
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.window_state
        if state is not None:
            self.restoreState(state)
        splitter = self.settings.splitter
        if splitter is not None:
            self.splitter.restoreState(splitter)

    # --- closing ----------------------------------------------------------------------------------

    def closeEvent(self, event) -> None:
        if not self._quitting:
            stopping = self._jobs_to_stop()
            if stopping is None:
                event.ignore()
                return
            self._quitting = True
            for job in stopping:  # exports stop at their next file; edits are finished, never cut
                job.cancel.set()
            self._scan_cancel.set()  # a scan stops within a few hundred files
            self.first_run.download.cancel()
        if self.writer.busy():
            self._finish_then_close()
            event.ignore()
            return
        self.search.close()
        settings = self.settings
        settings.geometry = self.saveGeometry()
        settings.window_state = self.saveState()
        settings.splitter = self.splitter.saveState()
        settings.last_query = self.search_bar.line.text()
        settings.sort = self.search_bar.sort()
        settings.thumbnail_size = self.grid.icon_size
        settings.sync()
        self.bridge.close()  # the worker's last news has no window to go to
        self.viewer.close()
        self.upkeep.stop()  # the worker stops after its current batch
        self.writer.shutdown(QUIT_WAIT_MS, drop_queued=False)
        self.background.shutdown(QUIT_WAIT_MS)
        self.grid_model.pool.clear()
        self.grid_model.pool.waitForDone(QUIT_WAIT_MS)
        logging.getLogger("joytag_desktop").removeHandler(self.log_handler)
        self.closing.emit()
        super().closeEvent(event)

    def _finish_then_close(self) -> None:
        """Edits in flight are written before the window goes: it stays up, saying so with their
        progress in the status bar (never frozen), and closes by itself once they are done."""
        self.splitter.setEnabled(False)
        self.menuBar().setEnabled(False)
        running = self.jobs.in_flight()
        title = running[0].title if running else self.tr("the last edits")
        self.status.set_text(self.tr("Finishing {title} before quitting…").format(title=title))
        self._finish_timer.start()

    def _finished_writing(self) -> None:
        if not self.writer.busy():
            self._finish_timer.stop()
            self.close()

    def _jobs_to_stop(self) -> list[Job] | None:
        """With long work in flight, ask first. Returns the jobs quitting stops (exports; edits are
        finished first), or None when the user keeps working."""
        jobs = self.jobs.long_running()
        if not jobs:
            return []
        job = jobs[0]
        progress = (
            self.tr("{title}: {done} of {total} done.").format(
                title=job.title, done=number(job.done), total=number(job.total)
            )
            if job.total
            else self.tr("{title} has not finished.").format(title=job.title)
        )
        if len(jobs) > 1:
            progress += " " + self.tr("%Ln more wait(s) after it.", "", len(jobs) - 1)
        box = QMessageBox(
            QMessageBox.Icon.Question,
            self.tr("Quit JoyTag Desktop"),
            progress
            + "\n\n"
            + self.tr(
                "Quit now? Exports stop at the next file and what they wrote is kept; "
                "tag and rating edits are finished first."
            ),
            parent=self,
        )
        stop = box.addButton(self.tr("Stop and quit"), QMessageBox.ButtonRole.AcceptRole)
        box.addButton(self.tr("Keep working"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(stop)
        box.exec()
        return [j for j in jobs if j.stops_at_quit] if box.clickedButton() is stop else None

    # --- what changed ------------------------------------------------------------------------------

    def _refresh_after_change(self, *_: object) -> None:
        """Search again (keeping the place) and read the shown image's details again."""
        self.search.refresh()
        self.selection.refresh()

    def start_slideshow(self) -> None:
        self.viewer.slideshow(self.slideshow_menu.interval_s, self.slideshow_menu.order)

    def _slideshow_chosen(self, interval_s: int, order: str) -> None:
        self.settings.slideshow_interval, self.settings.slideshow_order = interval_s, order

    def _rotated(self, image_ids: list[int]) -> None:
        """Turned images: the viewer shows them again, and they wait to be tagged again."""
        self.viewer.reload(image_ids)
        self._retag_queued()

    def _retag_queued(self) -> None:
        self.worker.resume()
        self._refresh_after_change()

    def _safe_view_changed(self, state: SafeView) -> None:
        self.search.set_safe_view(state)
        self.library_folders.only = state.allowed() if state.hides else None  # folder counts follow
        self.library_folders.load()
        self._refresh_after_change()

    def _show_failed(self) -> None:
        self.search.search_for("status:error")

    # --- folders ------------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        # No file-system check here (the GUI thread does no I/O): the add validates in the background.
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            self._accept_as_link(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
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

    def dropEvent(self, event: QDropEvent) -> None:
        self._accept_as_link(event)
        if not event.isAccepted():
            return
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.library_folders.add(url.toLocalFile())

    # --- search ------------------------------------------------------------------------------------

    def focus_search(self) -> None:
        self.search_box.setFocus()
        self.search_box.selectAll()

    def _complete(self, word: str, show) -> None:
        self.background.submit(partial(self.library.autocomplete, word, limit=12), show)

    def open_duplicates(self) -> None:
        """Edit → Find duplicates…: groups side by side; the copies not kept go to the trash."""
        from joytag_desktop.gui.duplicates import DuplicatesDialog

        dialog = DuplicatesDialog(
            self.library, self.background, self.search.current_query or "", self._refresh_after_change, parent=self
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.duplicates_dialog = dialog
        dialog.show()

    # --- grid actions -----------------------------------------------------------------------------

    def _grid_menu(self, position: QPoint) -> None:
        index = self.grid.indexAt(position)
        if not index.isValid():
            return
        path = index.data(PATH_ROLE)
        menu = QMenu(self)
        menu.addAction(self.tr("View"), partial(self.viewer.open, index))
        menu.addAction(self.tr("Open in system viewer"), partial(QDesktopServices.openUrl, QUrl.fromLocalFile(path)))
        menu.addAction(
            self.tr("Show in folder"),
            partial(QDesktopServices.openUrl, QUrl.fromLocalFile(os.path.dirname(path))),
        )
        menu.addAction(self.tr("Retag"), self.selection.retag_selection)
        self.rotation.fill_menu(menu.addMenu(self.tr("Rotate")), shortcuts=False)
        menu.addAction(self.tr("More like this"), partial(self.search.more_like_this, path))
        menu.addSeparator()
        menu.addAction(self.tr("Write XMP sidecars"), partial(self.write_metadata, "xmp", selection=True))
        menu.addAction(self.tr("Write caption files"), partial(self.write_metadata, "captions", selection=True))
        menu.addAction(
            self.tr("Write keywords into the files…"), partial(self.write_metadata, "embedded", selection=True)
        )
        menu.exec(self.grid.viewport().mapToGlobal(position))

    def write_metadata(self, target: str, selection: bool) -> None:
        """Write sidecars, captions or embedded keywords for the selection or the current search."""
        ids = self.grid.selected_ids() if selection else [row[0] for row in self.grid_model.rows]
        self.exports.write_metadata(target, ids)

    def export_table(self, fmt: str, target: str | None = None) -> None:
        """Save the tags of the current search results as CSV or JSON."""
        self.exports.export_table(fmt, self.search.current_query, self.thresholds.value, target)

    # --- dialogs ------------------------------------------------------------------------------------

    def open_settings(self, tab: str = "") -> None:
        """File → Settings…: the library's values are read in the background, then the dialog opens."""
        self.background.submit(
            partial(_library_settings, self.library), partial(self._show_settings, tab), self._show_error
        )

    def _show_settings(self, tab: str, values: tuple) -> None:
        threshold, floor, models, model_thresholds, rules = values
        dialog = SettingsDialog(self.settings, threshold, floor, self, models, model_thresholds, rules)
        self.settings_dialog = dialog
        if tab == "models":
            dialog.tabs.setCurrentWidget(dialog.models_page)
        if dialog.exec() != SettingsDialog.DialogCode.Accepted:
            return
        language_before, model_before, device_before = self.settings.language, self.settings.model, self.settings.device
        dialog.save()
        apply = partial(
            _apply_library_settings,
            self.library,
            dialog.threshold.value(),
            dialog.floor.value(),
            dialog.models_page.choices(),
        )
        self.writer.submit(apply, partial(self._settings_applied, model_before, device_before), self._show_error)
        if self.settings.language != language_before:
            QMessageBox.information(
                self,
                self.tr("Language"),
                self.tr("The new language is used from the next start of JoyTag Desktop."),
            )

    def _settings_applied(self, model_before: str, device_before: str, _: object) -> None:
        self.thresholds.load()
        self.model_choice.settings_saved(
            model_chosen=self.settings.model != model_before, device_changed=self.settings.device != device_before
        )
        self._refresh_after_change()

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
        self.statusBar().showMessage(one_line(message), ERROR_MS)

    def _log_line(self, text: str, level: int) -> None:
        self.log_panel.append_line(text, level)

    def _error_line(self, line: str, more: bool) -> None:
        """An error in one line on the status bar; a traceback stays in the log panel."""
        line = one_line(for_window(line))
        if more:
            line = self.tr("{error} (details in View ▸ Log)").format(error=line)
        self.statusBar().showMessage(line, ERROR_MS)


# --- run on the background pool (or the writer) ------------------------------------------------------


def _library_settings(library: Library) -> tuple:
    """What Settings shows of the library: threshold, storage floor, models, their thresholds and rules."""
    models = library.models()
    rules = {m.name: RuleValues(library.model_rules.exclusions(m.id), library.model_rules.caps(m.id)) for m in models}
    return library.threshold, library.storage_floor, models, library.model_thresholds(), rules


def _apply_library_settings(library: Library, threshold: float, floor: float, choices: ModelChoices) -> None:
    library.set_threshold(threshold)
    library.set_storage_floor(floor)
    apply_model_choices(library, choices)
