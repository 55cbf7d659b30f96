"""Which model tags new files from the window: the settings' model folder, its check at start-up
(the first-run panel when there is none), Tagging → Models… and the worker's settings from them.

Checking a folder reads the tagger's files, so it runs on the background pool; ``worker_settings_changed``
hands the tagging worker its new settings, which it uses from its next run on.
"""

from __future__ import annotations

import logging
import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QAbstractButton, QMessageBox

from joytag_desktop.errors import JoyTagError
from joytag_desktop.gui.context import WindowContext
from joytag_desktop.gui.messages import for_window
from joytag_desktop.gui.panels import FirstRunPanel
from joytag_desktop.gui.settings import GuiSettings
from joytag_desktop.gui.status import WorkStatus
from joytag_desktop.library import Library
from joytag_desktop.library.query import quote_tag
from joytag_desktop.worker.worker import WorkerSettings

if TYPE_CHECKING:
    from joytag_desktop.gui.model_manager import ModelManager
    from joytag_desktop.interchange.keyword_export import KeywordChoice

log = logging.getLogger("joytag_desktop.gui")


class ModelChoice(QObject):
    worker_settings_changed = Signal(object)  # WorkerSettings: the worker uses them from its next run
    tag_library = Signal(bool)  # after a model is chosen: tag the library's images with it now, or hold

    def __init__(
        self, context: WindowContext, settings: GuiSettings, first_run: FirstRunPanel, status: WorkStatus
    ) -> None:
        super().__init__(context.window)
        self.context, self.library, self.settings = context, context.library, settings
        self.first_run, self.status = first_run, status
        first_run.model_ready.connect(self.use)
        self.manager: ModelManager | None = None  # Tagging → Models…, while open
        self.offer: QMessageBox | None = None  # the question after a model is chosen

    def worker_settings(self, chosen: bool = False) -> WorkerSettings:
        """``chosen``: the user has just chosen the model folder, so it tags new files from now on
        (otherwise it does so only if new to the library: unticking it in Settings → Models holds)."""
        settings = self.settings
        worker = WorkerSettings(settings.model_folder, settings.device, settings.batch_size or None, make_auto=chosen)
        if settings.auto_sidecars:
            naming, parent, choice = settings.sidecar_naming, settings.keyword_parent, settings.keyword_choice()
            worker.after_commit = partial(_write_sidecars, self.library, naming, parent, choice)
        return worker

    def settings_saved(self, model_chosen: bool, device_changed: bool = False) -> None:
        """Settings → OK: the worker takes the new settings and the model is checked again; the
        device label keeps what the worker runs on unless the device setting changed."""
        if device_changed:
            self.status.set_device("")  # the next run says what it runs on
        self.worker_settings_changed.emit(self.worker_settings(chosen=model_chosen))
        self.check()

    # --- the model in use ------------------------------------------------------------------------

    def check(self) -> None:
        """Show the model that will tag (on the status bar), or the first-run panel when there is none."""
        self.context.background.submit(self._find_tagger, self._found, self._missing)

    def _find_tagger(self) -> str:
        from joytag_desktop.taggers import open_tagger, recognise

        try:
            return str(open_tagger(self.settings.model_folder).path)
        except JoyTagError:
            # No usable model folder in the settings: the library's automatic models may still tag.
            for model in self.library.models():
                if model.auto and model.path and os.path.isdir(model.path):
                    return str(recognise(model.path).path)
            raise

    def _found(self, path: str) -> None:
        self.first_run.hide()
        self.status.set_model(Path(path).name)

    def _missing(self, exc: Exception) -> None:
        self.first_run.show()
        if isinstance(exc, JoyTagError):
            log.info("no model yet: %s", exc)  # the first-run panel says what to do; not an error
        else:
            log.error("model check failed: %s", exc)

    # --- choosing one ------------------------------------------------------------------------------

    def open_manager(self) -> None:
        """Tagging → Models…: download a published tagger or choose a folder; the choice tags from now on."""
        from joytag_desktop.gui.model_manager import ModelManager

        dialog = ModelManager(str(self.settings.model_folder or ""), self.context.window)
        dialog.model_chosen.connect(self.use)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.manager = dialog
        dialog.destroyed.connect(self._manager_closed)
        dialog.show()

    def _manager_closed(self) -> None:
        self.manager = None

    def use(self, folder: str) -> None:
        """Tag new files with the model in ``folder`` (once it reads as a tagger)."""
        self.context.background.submit(partial(_tagger_path, folder), self._use, self._refused)

    def _use(self, path: str) -> None:
        self.settings.model = path
        self.first_run.hide()
        self.worker_settings_changed.emit(self.worker_settings(chosen=True))
        log.info("using the model in %s", path)
        self.check()
        self.context.background.submit(partial(self._not_tagged_by, path), partial(self._offer, path), self._uncounted)

    def _not_tagged_by(self, path: str) -> int:
        """In the background: the images of the library the model in ``path`` has not tagged."""
        for model in self.library.models():
            if model.path == path:
                return self.library.count("-model:" + quote_tag(model.name))
        return self.library.count("")  # new to the library: none yet

    @staticmethod
    def _uncounted(exc: Exception) -> None:
        log.warning("images not tagged by the chosen model: %s", exc)

    def _offer(self, path: str, count: int) -> None:
        """Ask whether to tag the images already in the library with the chosen model now."""
        if count == 0:
            return
        manager = self.manager
        parent = manager if manager is not None and manager.isVisible() else self.context.window
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("Tag the library"), "", parent=parent)
        box.setText(
            self.tr("Tag the %Ln image(s) already in the library with {model} now?", "", count).format(
                model=Path(path).name
            )
        )
        box.setInformativeText(self.tr("No: tagging pauses, new files too, until you press Resume in the status bar."))
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.setDefaultButton(QMessageBox.StandardButton.Yes)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(button: QAbstractButton) -> None:
            self.offer = None
            self.tag_library.emit(box.standardButton(button) == QMessageBox.StandardButton.Yes)

        box.buttonClicked.connect(answered)
        self.offer = box
        box.open()

    def _refused(self, exc: Exception) -> None:
        self.first_run.message.setText(for_window(str(exc)))
        self.first_run.show()


def _tagger_path(folder: str) -> str:
    from joytag_desktop.taggers import recognise

    return str(recognise(folder).path)


def _write_sidecars(library: Library, naming: str, parent: str, choice: KeywordChoice, image_ids: list[int]) -> None:
    """Settings → "Write XMP sidecars automatically after tagging", for each batch the worker commits."""
    from joytag_desktop.interchange.keyword_export import export_xmp

    export_xmp(library, image_ids=image_ids, naming=naming, parent=parent, choice=choice)
