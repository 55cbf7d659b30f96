"""The thumbnail grid: a list model over search results, a delegate, and lazy thumbnails.

Only rows the view paints ask for a thumbnail; thumbnails are made (and cached on disk by
content hash) in a thread pool and kept in a bounded in-memory cache, so the grid stays
smooth with 100,000+ images. A refresh is planned off the GUI thread (``plan_rows``) and
applied in place (rows removed, inserted or repainted), so the scroll position, the current
item and the selection survive it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from PySide6.QtCore import (
    QAbstractListModel,
    QCoreApplication,
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QRectF,
    QRunnable,
    QSize,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QImage,
    QKeyEvent,
    QPainter,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from joytag_desktop.gui.background import emit_if_alive
from joytag_desktop.gui.marks_view import mark_for_key, paint_marks
from joytag_desktop.gui.veil import veiled_pixmap
from joytag_desktop.media.thumbnails import THUMBNAIL_SIZE, thumbnail_for
from joytag_desktop.metadata.marks import Marks

MIN_ICON, MAX_ICON, DEFAULT_ICON = 96, 256, 160
IMAGE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
TAG_MIME = "application/x-joytag-tag"  # a tag dragged from the tag list: dropped on thumbnails, adds it
PATH_ROLE = Qt.ItemDataRole.UserRole + 2
STATUS_ROLE = Qt.ItemDataRole.UserRole + 3
MARKS_ROLE = Qt.ItemDataRole.UserRole + 4
# id, path, content hash, status (and stars, label, pick, as ``Library.search_rows`` gives them)
Row = tuple[int, str, str | None, str] | tuple[int, str, str | None, str, int | None, str | None, str | None]
# A plan with more separate runs than this is applied as a reset (the view restores its place).
MAX_RUNS = 64
STATUS_COLOURS = {"pending": QColor(230, 170, 40), "error": QColor(220, 60, 60), "missing": QColor(140, 140, 140)}


def status_text(status: str) -> str:
    """What a grid mark means, for tooltips and the legend."""
    texts = {
        "pending": QCoreApplication.translate("grid", "waiting to be tagged (orange mark)"),
        "error": QCoreApplication.translate("grid", "could not be read or tagged (red mark)"),
        "missing": QCoreApplication.translate("grid", "file missing or folder offline (grey mark)"),
        "tagged": QCoreApplication.translate("grid", "tagged"),
    }
    return texts.get(status, status)


@dataclass
class RowPlan:
    """How to turn the grid's rows into new search results.

    ``kind`` is "same" (same images in the same order; ``changed`` rows repaint), "edit"
    (``removed`` and ``inserted`` runs of rows, applied in order) or "reset".
    """

    kind: str
    rows: list[Row]
    row_of: dict[int, int]
    changed: list[int] = field(default_factory=list)
    removed: list[tuple[int, int]] = field(default_factory=list)  # (first, last) in old rows, bottom-up
    inserted: list[tuple[int, int]] = field(default_factory=list)  # (first, last) in new rows, top-down
    # ids whose content hash or path changed (a move, a folder located elsewhere): new thumbnails
    new_content: list[int] = field(default_factory=list)


def _runs(positions: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for position in positions:
        if runs and runs[-1][1] == position - 1:
            runs[-1] = (runs[-1][0], position)
        else:
            runs.append((position, position))
    return runs


def plan_rows(old: list[Row], new: list[Row]) -> RowPlan:
    """Plan the update from ``old`` to ``new`` (pure Python, run off the GUI thread)."""
    row_of = {row[0]: index for index, row in enumerate(new)}
    if len(old) == len(new) and all(a[0] == b[0] for a, b in zip(old, new, strict=True)):
        changed = [index for index, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
        new_content = [new[i][0] for i in changed if old[i][1:3] != new[i][1:3]]
        return RowPlan("same", new, row_of, changed=changed, new_content=new_content)
    old_ids = {row[0] for row in old}
    kept_old = [row[0] for row in old if row[0] in row_of]
    kept_new = [row[0] for row in new if row[0] in old_ids]
    if not old or not kept_old or kept_old != kept_new:
        return RowPlan("reset", new, row_of)
    removed = _runs([index for index, row in enumerate(old) if row[0] not in row_of])
    inserted = _runs([index for index, row in enumerate(new) if row[0] not in old_ids])
    if len(removed) + len(inserted) > MAX_RUNS:
        return RowPlan("reset", new, row_of)
    new_by_id = {row[0]: row for row in new}
    survivors = [row for row in old if row[0] in row_of]
    changed = [row_of[row[0]] for row in survivors if new_by_id[row[0]] != row]
    new_content = [row[0] for row in survivors if new_by_id[row[0]][1:3] != row[1:3]]
    return RowPlan(
        "edit", new, row_of, changed=changed, removed=removed[::-1], inserted=inserted, new_content=new_content
    )


def selection_from_rows(model: QAbstractListModel, rows: list[int]) -> QItemSelection:
    """A selection of ``rows`` as one range per run of consecutive rows.

    One Qt call per run, not per row: a 20,000-row selection is a handful of calls.
    """
    selection = QItemSelection()
    for first, last in _runs(sorted(rows)):
        selection.select(model.index(first), model.index(last))
    return selection


class _ThumbnailSignals(QObject):
    ready = Signal(int, int, QImage)  # generation, image id, image
    failed = Signal(int, int, str)


class _ThumbnailTask(QRunnable):
    def __init__(self, generation: int, row: Row, signals: _ThumbnailSignals) -> None:
        super().__init__()
        self.generation, self.row, self.signals = generation, row, signals

    def run(self) -> None:
        image_id, path, content_hash = self.row[0], self.row[1], self.row[2]
        try:
            cached = thumbnail_for(path, content_hash, THUMBNAIL_SIZE)
            image = QImage(str(cached))
            if image.isNull():
                raise OSError("thumbnail unreadable")
        except Exception as exc:  # noqa: BLE001 - a broken image just has no thumbnail
            emit_if_alive(self.signals.failed, self.generation, image_id, str(exc))
        else:
            emit_if_alive(self.signals.ready, self.generation, image_id, image)


class ImageGridModel(QAbstractListModel):
    """Search results; thumbnails load on demand.

    ``rows`` is replaced, never mutated once published, so a background thread may plan the
    next refresh against it.
    """

    thumbnail_loaded = Signal(int)

    def __init__(self, parent: QObject | None = None, memory_items: int = 3000) -> None:
        super().__init__(parent)
        self.rows: list[Row] = []
        self._row_of: dict[int, int] = {}
        self._pixmaps: OrderedDict[int, QPixmap] = OrderedDict()
        self._failed: set[int] = set()
        self._requested: set[int] = set()
        self._memory_items = memory_items
        self._generation = 0
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._signals = _ThumbnailSignals()
        self._signals.ready.connect(self._on_ready)
        self._signals.failed.connect(self._on_failed)
        self.veiled: set[int] = set()  # blurred by View → Safe view
        self.captions: dict[int, str] = {}  # shown before the file name (a like: search's similarity)
        self._veiled_pixmaps: dict[int, QPixmap] = {}
        self.placeholder = QPixmap(DEFAULT_ICON, DEFAULT_ICON)
        self.placeholder.fill(QColor(60, 60, 64))

    def set_rows(self, rows: list[Row]) -> None:
        """Replace the results (a reset: the view loses its place; ``apply_plan`` keeps it)."""
        self.apply_plan(RowPlan("reset", list(rows), {row[0]: i for i, row in enumerate(rows)}))

    def apply_plan(self, plan: RowPlan) -> str:
        """Apply a plan made against the current rows; returns what was done ("same", "edit", "reset")."""
        if plan.kind == "reset":
            self.beginResetModel()
            self._generation += 1
            self.pool.clear()  # drop queued requests for the old results
            self._requested.clear()
            self.rows, self._row_of = plan.rows, plan.row_of
            self.endResetModel()
            return "reset"
        if plan.kind == "edit":
            working = list(self.rows)
            self.rows = working
            for first, last in plan.removed:
                self.beginRemoveRows(QModelIndex(), first, last)
                del working[first : last + 1]
                self.endRemoveRows()
            for first, last in plan.inserted:
                self.beginInsertRows(QModelIndex(), first, last)
                working[first:first] = plan.rows[first : last + 1]
                self.endInsertRows()
        self.rows, self._row_of = plan.rows, plan.row_of
        for image_id in plan.new_content:  # new content: a new thumbnail
            self._veiled_pixmaps.pop(image_id, None)
            self._requested.discard(image_id)
            self._failed.discard(image_id)
            self._pixmaps.pop(image_id, None)
        if plan.changed:  # one signal for the span, not one per row
            self.dataChanged.emit(self.index(min(plan.changed)), self.index(max(plan.changed)))
        return plan.kind

    def row_of(self, image_id: int) -> int | None:
        return self._row_of.get(image_id)

    def marks_of(self, image_id: int) -> Marks:
        """The image's stars, label and pick as the last search read them."""
        row = self._row_of.get(image_id)
        found = self.rows[row] if row is not None else ()
        return Marks(*found[4:7]) if len(found) > 4 else Marks()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row = self.rows[index.row()]
        image_id, path, status = row[0], row[1], row[3]
        if role == MARKS_ROLE:
            return Marks(*row[4:7]) if len(row) > 4 else Marks()
        if role == Qt.ItemDataRole.DisplayRole:
            caption = self.captions.get(image_id)
            return f"{caption}  {Path(path).name}" if caption else Path(path).name
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = path if status == "tagged" else f"{path}\n{status_text(status)}"
            if image_id in self.veiled:
                tip += "\n" + QCoreApplication.translate("grid", "blurred by View → Safe view")
            return tip
        if role == IMAGE_ID_ROLE:
            return image_id
        if role == PATH_ROLE:
            return path
        if role == STATUS_ROLE:
            return status
        if role == Qt.ItemDataRole.DecorationRole:
            pixmap = self._pixmaps.get(image_id)
            if pixmap is not None:
                self._pixmaps.move_to_end(image_id)
                if image_id in self.veiled:
                    veiled = self._veiled_pixmaps.get(image_id)
                    if veiled is None:
                        veiled = self._veiled_pixmaps[image_id] = veiled_pixmap(pixmap)
                    return veiled
                return pixmap
            if image_id not in self._requested and image_id not in self._failed:
                self._requested.add(image_id)
                self.pool.start(_ThumbnailTask(self._generation, self.rows[index.row()], self._signals))
            return self.placeholder
        return None

    def set_captions(self, captions: dict[int, str]) -> None:
        """Text shown before these images' names (the others show their name alone)."""
        if captions == self.captions:
            return
        self.captions = captions
        if self.rows:
            self.dataChanged.emit(self.index(0), self.index(len(self.rows) - 1), [Qt.ItemDataRole.DisplayRole])

    def set_veiled(self, image_ids: set[int]) -> None:
        """Blur these images' thumbnails (Safe view); the rest show as they are."""
        if image_ids == self.veiled:
            return
        self.veiled = image_ids
        self._veiled_pixmaps.clear()
        if self.rows:
            self.dataChanged.emit(self.index(0), self.index(len(self.rows) - 1), [Qt.ItemDataRole.DecorationRole])

    def _on_ready(self, generation: int, image_id: int, image: QImage) -> None:
        if generation != self._generation:
            return
        self._pixmaps[image_id] = QPixmap.fromImage(image)
        self._veiled_pixmaps.pop(image_id, None)
        while len(self._pixmaps) > self._memory_items:
            evicted, _ = self._pixmaps.popitem(last=False)
            self._requested.discard(evicted)
            self._veiled_pixmaps.pop(evicted, None)
        row = self._row_of.get(image_id)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
        self.thumbnail_loaded.emit(image_id)

    def _on_failed(self, generation: int, image_id: int, _reason: str) -> None:
        if generation == self._generation:
            self._failed.add(image_id)

    def has_thumbnail(self, image_id: int) -> bool:
        return image_id in self._pixmaps

    def forget_thumbnails(self, image_ids: list[int]) -> None:
        """These images look otherwise now (turned): their thumbnails are read again."""
        for image_id in image_ids:
            self._pixmaps.pop(image_id, None)
            self._veiled_pixmaps.pop(image_id, None)
            self._requested.discard(image_id)
            self._failed.discard(image_id)
            row = self._row_of.get(image_id)
            if row is not None:
                index = self.index(row)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class ThumbnailDelegate(QStyledItemDelegate):
    """A framed thumbnail over its file name, with a mark for pending, failed and missing images."""

    def __init__(self, grid: ThumbnailGrid) -> None:
        super().__init__(grid)
        self.grid = grid

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return self.grid.cell_size()

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        icon = self.grid.icon_size
        painter.save()
        rect = option.rect.adjusted(4, 4, -4, -4)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(rect, option.palette.highlight())
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(rect, option.palette.alternateBase())
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            scaled = pixmap.scaled(
                icon, icon, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
            x = rect.x() + (rect.width() - scaled.width()) // 2
            y = rect.y() + 4 + (icon - scaled.height()) // 2
            painter.drawPixmap(x, y, scaled)
            # A thin frame, so white pictures do not melt into a light background.
            painter.setPen(QPen(QColor(128, 128, 128, 160), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(x - 1, y - 1, scaled.width() + 1, scaled.height() + 1)
            marks = index.data(MARKS_ROLE)
            if isinstance(marks, Marks) and marks != Marks():
                paint_marks(painter, QRectF(x, y, scaled.width(), scaled.height()), marks)
        status = index.data(STATUS_ROLE)
        if status in STATUS_COLOURS:
            painter.setBrush(STATUS_COLOURS[status])
            painter.setPen(QPen(QColor(255, 255, 255), 1))
            painter.drawEllipse(QRect(rect.right() - 18, rect.top() + 6, 12, 12))
        text_rect = QRect(rect.x() + 4, rect.y() + icon + 8, rect.width() - 8, rect.height() - icon - 8)
        name = option.fontMetrics.elidedText(
            index.data(Qt.ItemDataRole.DisplayRole) or "", Qt.TextElideMode.ElideMiddle, text_rect.width()
        )
        painter.setPen(option.palette.highlightedText().color() if selected else option.palette.text().color())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, name)
        painter.restore()


# Keys whose repeats are added up into one move (see ThumbnailGrid._coalesce).
_Cursor = QAbstractItemView.CursorAction
NAVIGATION_KEYS = {
    Qt.Key.Key_PageDown: _Cursor.MovePageDown,
    Qt.Key.Key_PageUp: _Cursor.MovePageUp,
    Qt.Key.Key_Down: _Cursor.MoveDown,
    Qt.Key.Key_Up: _Cursor.MoveUp,
    Qt.Key.Key_Left: _Cursor.MoveLeft,
    Qt.Key.Key_Right: _Cursor.MoveRight,
}

# Above this many rows the grid lays out in batches between events: one pass over a million rows
# holds the GUI thread for 2.7 s (measured, benchmarks/bench_gui_search.py), batches for 6-35 ms.
BATCHED_LAYOUT_ABOVE = 150_000


class ThumbnailGrid(QListView):
    """A wrapping list of uniform cells (list mode lays out 100,000 rows in one pass in ~0.25 s;
    bigger results are laid out in batches, see ``fit_layout``)."""

    icon_size_changed = Signal(int)
    activated_for_viewer = Signal(QModelIndex)
    tag_dropped = Signal(str, int)  # a tag from the tag list; the image under it (-1: none)
    mark_key = Signal(str, object)  # Lightroom's keys: stars, label or pick for the selection

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.icon_size = DEFAULT_ICON
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setSpacing(0)
        self.setBatchSize(5000)
        self.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.setItemDelegate(ThumbnailDelegate(self))
        self.setMouseTracking(True)
        self.setWordWrap(False)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setDragEnabled(False)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self._apply_icon_size()
        # Repeats of a held navigation key, added up until the event loop comes round (_coalesce).
        self._pending_moves: tuple[tuple[Qt.Key, Qt.KeyboardModifier], int] | None = None
        self._moves_timer = QTimer(self, singleShot=True, interval=0)
        self._moves_timer.timeout.connect(self._apply_pending_moves)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(TAG_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(TAG_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        """A tag dropped from the tag list: ``tag_dropped`` with the image under the pointer."""
        if not event.mimeData().hasFormat(TAG_MIME):
            event.ignore()
            return
        name = bytes(event.mimeData().data(TAG_MIME).data()).decode("utf-8", "replace")
        index = self.indexAt(event.position().toPoint())
        image_id = index.data(IMAGE_ID_ROLE) if index.isValid() else None
        event.acceptProposedAction()
        self.tag_dropped.emit(name, image_id if isinstance(image_id, int) else -1)

    def cell_size(self) -> QSize:
        return QSize(self.icon_size + 16, self.icon_size + 40)

    def fit_layout(self, rows: int) -> None:
        """One layout pass for ordinary results (exact places at once); batches for huge ones."""
        batched = rows > BATCHED_LAYOUT_ABOVE
        mode = QListView.LayoutMode.Batched if batched else QListView.LayoutMode.SinglePass
        if self.layoutMode() != mode:
            self.setLayoutMode(mode)

    def set_icon_size(self, size: int) -> None:
        size = max(MIN_ICON, min(MAX_ICON, int(size)))
        if size == self.icon_size:
            return
        anchor = self.currentIndex() if self.currentIndex().isValid() else self.indexAt(QPoint(8, 8))
        self.icon_size = size
        self._apply_icon_size()
        if anchor.isValid():
            self.scrollTo(anchor, QAbstractItemView.ScrollHint.PositionAtCenter)
        self.icon_size_changed.emit(size)

    def _apply_icon_size(self) -> None:
        self.setGridSize(self.cell_size())
        self.verticalScrollBar().setSingleStep(max(20, self.cell_size().height() // 4))
        self.scheduleDelayedItemsLayout()
        self.viewport().update()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            self.set_icon_size(self.icon_size + round(steps * 16))
            event.accept()
            return
        super().wheelEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.isAutoRepeat() and event.key() in NAVIGATION_KEYS:
            self._coalesce(event)
            return
        self._apply_pending_moves()  # a new key (or a new press) comes after the moves it follows
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space) and self.currentIndex().isValid():
            self.activated_for_viewer.emit(self.currentIndex())
            event.accept()
            return
        mark = mark_for_key(event.key(), event.modifiers())
        if mark is not None and not event.isAutoRepeat():  # rather than jump to a name starting so
            self.mark_key.emit(*mark)
            event.accept()
            return
        super().keyPressEvent(event)

    def _coalesce(self, event: QKeyEvent) -> None:
        """A held navigation key: its repeats queue up faster than each move's work (thumbnails,
        the selection, the details) is done, and the view would go on moving for seconds after the
        key is let go. Repeats that arrive before the event loop comes round are added up and
        applied as one move (one selection change), so the view stops with the key."""
        step = (Qt.Key(event.key()), event.modifiers())
        if self._pending_moves is not None and self._pending_moves[0] != step:
            self._apply_pending_moves()
        count = self._pending_moves[1] if self._pending_moves is not None else 0
        self._pending_moves = (step, count + 1)
        if not self._moves_timer.isActive():
            self._moves_timer.start()
        event.accept()

    def _apply_pending_moves(self) -> None:
        """Walk the current image through all but the last pending step without selecting, then
        make the last step as a key press does: one selection change, the anchor of Shift kept."""
        self._moves_timer.stop()
        pending, self._pending_moves = self._pending_moves, None
        if pending is None:
            return
        (key, modifiers), count = pending
        action = NAVIGATION_KEYS[key]
        selection_model = self.selectionModel()
        for _ in range(count - 1):
            index = self.moveCursor(action, modifiers)
            if not index.isValid() or index == self.currentIndex():
                break
            selection_model.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
        super().keyPressEvent(QKeyEvent(QEvent.Type.KeyPress, key, modifiers))

    def top_left_row(self) -> int | None:
        index = self.indexAt(QPoint(self.cell_size().width() // 2, 8))
        return index.row() if index.isValid() else None

    def image_model(self) -> ImageGridModel:
        """The grid's model (``model()`` is typed QAbstractItemModel; ResultsView gives it an ImageGridModel)."""
        return cast(ImageGridModel, self.model())

    def selected_ids(self) -> list[int]:
        """Ids of the selected images, read by selection range (fast for 100,000-image selections)."""
        rows = self.image_model().rows
        ids: list[int] = []
        selection = self.selectionModel().selection()
        for selection_range in selection:  # pyright: ignore[reportGeneralTypeIssues] - stubs lack its __iter__
            ids.extend(row[0] for row in rows[selection_range.top() : selection_range.bottom() + 1])
        return ids

    def restore_selection(self, selected_ids: list[int], current_id: int | None) -> None:
        """After a reset: select ``selected_ids`` again (one range per run of rows) and make
        ``current_id`` current."""
        model = self.image_model()
        rows = [r for r in (model.row_of(i) for i in selected_ids) if r is not None]
        selection_model = self.selectionModel()
        flags = QItemSelectionModel.SelectionFlag
        current_row = model.row_of(current_id) if current_id is not None else None
        if current_row is not None:
            selection_model.setCurrentIndex(model.index(current_row), flags.NoUpdate)
        if rows:
            selection_model.select(selection_from_rows(model, rows), flags.ClearAndSelect)
