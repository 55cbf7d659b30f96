"""Writing tags out from the window: XMP sidecars, embedded keywords, caption files, CSV/JSON tables.

File writes run as long jobs on the window's ordered writer thread (progress and Cancel in the
status bar, stopping between two files); the outcome lands in the status bar and each refused
file in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from joytag_desktop.files import atomic_text_output
from joytag_desktop.gui.long_work import Job, LongWork
from joytag_desktop.gui.messages import export_summary, for_window
from joytag_desktop.gui.settings import GuiSettings
from joytag_desktop.gui.status import WorkStatus
from joytag_desktop.library import Library

log = logging.getLogger("joytag_desktop.gui")


class Exports(QObject):
    def __init__(
        self,
        window: QWidget,
        library: Library,
        settings: GuiSettings,
        jobs: LongWork,
        status: WorkStatus,
        show_error: Callable[[Exception], None],
    ) -> None:
        super().__init__(window)
        self.window, self.library, self.settings = window, library, settings
        self.jobs, self.status, self.show_error = jobs, status, show_error

    def write_metadata(self, target: str, ids: list[int]) -> None:
        """Sidecars ("xmp"), caption files ("captions") or keywords inside the files ("embedded")."""
        from joytag_desktop.interchange.captions import CaptionOptions, export_captions
        from joytag_desktop.interchange.keyword_export import export_embedded, export_xmp

        if not ids:
            return
        backup = self.settings.embedded_backup
        if target == "embedded":
            question = self.tr(
                "Write keywords into %Ln image file(s)? Only the metadata changes, never the pixels.", "", len(ids)
            )
            if backup:
                question += "\n" + self.tr("A backup copy (…_original) is kept.")
            answer = QMessageBox.question(self.window, self.tr("Write keywords into the files"), question)
            if answer != QMessageBox.StandardButton.Yes:
                return
        naming, parent = self.settings.sidecar_naming, self.settings.keyword_parent
        choice = self.settings.keyword_choice()
        title = {
            "xmp": self.tr("Writing XMP sidecars"),
            "captions": self.tr("Writing caption files"),
            "embedded": self.tr("Writing keywords into the files"),
        }[target]

        def write(job: Job):
            library, progress, cancel = self.library, job.progress, job.cancel
            if target == "xmp":
                return export_xmp(
                    library,
                    image_ids=ids,
                    naming=naming,
                    parent=parent,
                    choice=choice,
                    progress=progress,
                    cancel=cancel,
                )
            if target == "captions":
                options = CaptionOptions(categories=choice.categories)
                return export_captions(library, options=options, image_ids=ids, progress=progress, cancel=cancel)
            return export_embedded(
                library,
                keep_backup=backup,
                image_ids=ids,
                parent=parent,
                choice=choice,
                progress=progress,
                cancel=cancel,
            )

        def done(report, _: Job) -> None:
            for path, reason in report.errors:
                log.warning("%s: %s", path, for_window(reason))
            self.status.set_text(f"{title}: {export_summary(report)}")

        self.jobs.submit(title, write, done, self.show_error, stops_at_quit=True)

    def export_table(self, fmt: str, query: str, threshold: float, target: str | None = None) -> None:
        """Save the tags of the images ``query`` finds as CSV or JSON (asks where unless ``target``)."""
        from joytag_desktop.interchange.table import export_table

        if target is None:
            target, _ = QFileDialog.getSaveFileName(
                self.window,
                self.tr("Export tags as {format}").format(format=fmt.upper()),
                f"tags.{fmt}",
                f"{fmt.upper()} (*.{fmt})",
            )
        if not target:
            return

        def write(_: Job) -> int:
            with atomic_text_output(Path(target)) as out:
                return export_table(self.library, out, fmt, query, threshold)

        def done(count: int, _: Job) -> None:
            log.info("exported the tags of %d image(s) to %s", count, target)
            self.status.set_text(self.tr("Exported %Ln image(s) to {name}", "", count).format(name=Path(target).name))

        title = self.tr("Exporting tags as {format}").format(format=fmt.upper())
        self.jobs.submit(title, write, done, self.show_error, cancellable=False)
