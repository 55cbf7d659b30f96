"""Edit ▸ Tag aliases and implications…: every alias and implication of the library, filterable,
with Remove (one undoable step) and Import… / Export… of the Danbooru/e621 CSV formats.

Why a model and a view: a booru import brings thousands of rows, and a widget per row would make
the window slow to open and to filter. Reading, importing and writing files run on the window's
pools (imports as long jobs with progress and Cancel); an import's refused rows (chains, cycles, bad
names) are listed in the window, one line each, for the user to read at leisure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from joytag_desktop.gui import undo
from joytag_desktop.gui.context import WindowContext
from joytag_desktop.gui.i18n import number
from joytag_desktop.gui.long_work import Job, LongWork
from joytag_desktop.gui.messages import for_window, one_line
from joytag_desktop.library import Library
from joytag_desktop.library.vocabulary import BulkReport

log = logging.getLogger(__name__)
ALIAS, IMPLICATION = "alias", "implication"
Row = tuple[str, str, str]  # (kind, tag, other): alias → target, or child → parent
INDEX = QModelIndex | QPersistentModelIndex
CSV_FILTER = "CSV (*.csv);;All files (*)"


def read_relations(library: Library) -> list[Row]:
    """Every alias and implication, aliases first (run in the background)."""
    vocabulary = library.vocabulary
    return [(ALIAS, a, b) for a, b in vocabulary.aliases()] + [
        (IMPLICATION, c, p) for c, p in vocabulary.implications()
    ]


def removal_edit(
    library: Library,
    writer,
    text: str,
    rows: list[Row],
    done: Callable[[Any], None],
    failed: Callable[[Exception], None],
) -> undo.LibraryCommand:
    """Remove the rows' aliases and implications; the undo adds back exactly those."""
    aliases = [(a, b) for kind, a, b in rows if kind == ALIAS]
    implications = [(c, p) for kind, c, p in rows if kind == IMPLICATION]

    def apply() -> int:
        return library.vocabulary.remove([a for a, _ in aliases], implications)

    def revert() -> int:
        return library.vocabulary.add_aliases(aliases).added + library.vocabulary.add_implications(implications).added

    return undo.LibraryCommand(text, writer, apply, revert, done, failed)


def import_edit(
    library: Library,
    jobs: LongWork,
    text: str,
    kind: str,
    path: Path,
    done: Callable[[Any, Job], None],
    failed: Callable[[Exception], None],
) -> undo.BulkCommand:
    """Import a booru file (progress, Cancel); the undo removes exactly the pairs it added."""
    from joytag_desktop.interchange import booru

    added: list[tuple[str, str]] = []

    def apply(job: Job) -> BulkReport:
        load = booru.import_aliases if kind == ALIAS else booru.import_implications
        report = load(library, path, job.progress, job.cancel)
        added[:] = report.pairs
        return report

    def revert(job: Job) -> int:
        if kind == ALIAS:
            return library.vocabulary.remove([a for a, _ in added])
        return library.vocabulary.remove((), added)

    return undo.BulkCommand(text, jobs, apply, revert, done, failed)


class RelationsModel(QAbstractTableModel):
    """The rows as a table (tag, relation, other tag), filtered and sorted here in Python: a
    QSortFilterProxyModel would call ``data`` per row and per comparison (seconds at 25,000 rows)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.all_rows: list[Row] = []
        self.rows: list[Row] = []  # the ones shown: filtered and sorted
        self._keys: list[str] = []
        self.needle = ""
        self.sorting = (0, Qt.SortOrder.AscendingOrder)
        self.kinds = {ALIAS: self.tr("alias of"), IMPLICATION: self.tr("implies")}
        self.headers = [self.tr("Tag"), self.tr("Relation"), self.tr("Other tag")]

    def set_rows(self, rows: list[Row]) -> None:
        self.all_rows = rows
        self._keys = [f"{tag}\n{other}".lower() for _, tag, other in rows]
        self._refresh()

    def set_filter(self, text: str) -> None:
        """Show the rows where either tag's name contains ``text`` (any case)."""
        self.needle = text.strip().lower()
        self._refresh()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sorting = (column, order)
        self._refresh()

    def _refresh(self) -> None:
        self.beginResetModel()
        needle = self.needle
        rows = (
            [r for r, k in zip(self.all_rows, self._keys, strict=True) if needle in k]
            if needle
            else list(self.all_rows)
        )
        column, order = self.sorting
        if column == 1:
            rows.sort(key=lambda r: (self.kinds[r[0]], r[1], r[2]))
        else:
            rows.sort(key=lambda r: (r[2], r[1]) if column == 2 else (r[1], r[2]))
        if order == Qt.SortOrder.DescendingOrder:
            rows.reverse()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: INDEX = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: INDEX = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 3

    def data(self, index: INDEX, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        kind, tag, other = self.rows[index.row()]
        return (tag, self.kinds[kind], other)[index.column()]

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers[section]
        return None


class VocabularyWindow(QDialog):
    """The aliases and implications, listed, filtered, removed, imported and exported."""

    def __init__(self, context: WindowContext, changed: Callable[[], None]) -> None:
        super().__init__(context.window)
        self.context, self.library, self.changed = context, context.library, changed
        self.setWindowTitle(self.tr("Tag aliases and implications"))
        self.model = RelationsModel(self)
        self.filter = QLineEdit(placeholderText=self.tr("Filter by tag"), clearButtonEnabled=True)
        self.filter.textChanged.connect(self.model.set_filter)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.summary = QLabel(wordWrap=True)
        self.remove_button = QPushButton(self.tr("Remove"))
        self.remove_button.setEnabled(False)
        self.remove_button.setToolTip(
            self.tr("Remove the selected aliases and implications (Edit ▸ Undo puts them back)")
        )
        self.remove_button.clicked.connect(self.remove_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        for text, slot in (
            (self.tr("Import aliases…"), partial(self.ask_import, ALIAS)),
            (self.tr("Import implications…"), partial(self.ask_import, IMPLICATION)),
            (self.tr("Export aliases…"), partial(self.ask_export, ALIAS)),
            (self.tr("Export implications…"), partial(self.ask_export, IMPLICATION)),
        ):
            button = QPushButton(text)
            button.clicked.connect(lambda *_, slot=slot: slot())
            buttons.addWidget(button)
        self.report = QLabel(wordWrap=True)
        self.refused = QPlainTextEdit(readOnly=True)
        self.refused.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.refused.setMaximumBlockCount(100_000)
        self.refused.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.table, 3)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)
        layout.addWidget(self.report)
        layout.addWidget(self.refused, 1)
        self.resize(720, 560)

    # --- the list -----------------------------------------------------------------------------------

    def reload(self) -> None:
        self.context.background.submit(partial(read_relations, self.library), self._loaded, self._failed)

    def reload_if_shown(self) -> None:
        """The vocabulary changed (here, from the tag list's menu, or by a rename): read it again."""
        if self.isVisible():
            self.reload()

    def showEvent(self, event) -> None:
        if not event.spontaneous():
            self.reload()
        super().showEvent(event)

    def _loaded(self, rows: list[Row]) -> None:
        self.model.set_rows(rows)
        aliases = sum(1 for row in rows if row[0] == ALIAS)
        self.summary.setText(
            self.tr("%Ln alias(es)", "", aliases) + ", " + self.tr("%Ln implication(s)", "", len(rows) - aliases)
        )
        self._selection_changed()

    def selected_rows(self) -> list[Row]:
        chosen = self.table.selectionModel().selectedRows()
        return [self.model.rows[index.row()] for index in chosen]

    def _selection_changed(self, *_: object) -> None:
        self.remove_button.setEnabled(bool(self.table.selectionModel().selectedRows()))

    def remove_selected(self) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        text = self.tr("remove %n alias(es) or implication(s)", "", len(rows))
        context = self.context
        context.undo_stack.push(
            removal_edit(self.library, context.writer, text, rows, partial(self._edited, text), self._failed)
        )

    def _edited(self, text: str, _: object) -> None:
        self.context.status_bar.showMessage(text, 4000)
        self.changed()  # the controller's news: this window reloads with the tag list

    def _failed(self, exc: Exception) -> None:
        self.report.setText(one_line(for_window(str(exc) or type(exc).__name__)))
        self.context.show_error(exc)

    # --- files --------------------------------------------------------------------------------------

    def ask_import(self, kind: str) -> None:
        title = self.tr("Import aliases") if kind == ALIAS else self.tr("Import implications")
        path, _ = QFileDialog.getOpenFileName(self, title, "", CSV_FILTER)
        if path:
            self.import_file(kind, Path(path))

    def import_file(self, kind: str, path: Path) -> None:
        """Read ``path`` (a Danbooru/e621 export) and add its rows as a long job on the writer; one
        undoable step (the undo removes what the import added, nothing that was there before)."""
        self.report.setText(self.tr("Importing {file}").format(file=path.name))
        self.refused.clear()
        self.refused.hide()
        text = self.tr("import {file}").format(file=path.name)
        self.context.undo_stack.push(
            import_edit(self.library, self.context.jobs, text, kind, path, partial(self._imported, path), self._failed)
        )

    def _imported(self, path: Path, result: BulkReport | int, job: Job) -> None:
        if not isinstance(result, BulkReport):  # the undo: what the import added went
            self._edited(
                self.tr("{file}: %n alias(es) or implication(s) removed", "", result).format(file=path.name), None
            )
            return
        report = result
        text = self.tr("{file}: {added} added, {unchanged} already there, {refused} refused").format(
            file=path.name,
            added=number(report.added),
            unchanged=number(report.unchanged),
            refused=number(len(report.refused)),
        )
        if job.cancelled:
            text = self.tr("{edit}: stopped part way").format(edit=text)
        self.report.setText(text)
        if report.refused:
            self.refused.setPlainText("\n".join(report.refused))
            self.refused.show()
        log.info("%s", text)
        self.changed()

    def ask_export(self, kind: str) -> None:
        title = self.tr("Export aliases") if kind == ALIAS else self.tr("Export implications")
        name = "tag_aliases.csv" if kind == ALIAS else "tag_implications.csv"
        path, _ = QFileDialog.getSaveFileName(self, title, name, CSV_FILTER)
        if path:
            self.export_file(kind, Path(path))

    def export_file(self, kind: str, path: Path) -> None:
        """Write the library's aliases or implications in e621's layout, in the background."""
        from joytag_desktop.interchange import booru

        def write() -> int:
            pairs = self.library.vocabulary.aliases() if kind == ALIAS else self.library.vocabulary.implications()
            return booru.write_pairs(path, pairs)

        self.context.background.submit(write, partial(self._exported, path), self._failed)

    def _exported(self, path: Path, count: int) -> None:
        self.report.setText(self.tr("{file}: %n row(s) written", "", count).format(file=path.name))
