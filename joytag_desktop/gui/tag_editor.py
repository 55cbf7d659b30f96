"""The tags of the selection, editable: one image's tags with confidence bars, or the union of
several images' tags with how many have each (tri-state: all, some, none), like digiKam and Hydrus.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QRect, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QKeySequence,
    QPainter,
    QPen,
    QShortcut,
)
from PySide6.QtWidgets import (
    QHeaderView,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from joytag_desktop.gui.categories import category_colour, category_label, category_rank
from joytag_desktop.gui.i18n import number
from joytag_desktop.gui.tree_items import child_items, top_level_items
from joytag_desktop.library.records import SelectionTag, TagView

NAME_ROLE = Qt.ItemDataRole.UserRole
SCORE_ROLE = Qt.ItemDataRole.UserRole + 1
THRESHOLD_ROLE = Qt.ItemDataRole.UserRole + 2
ABOVE = QColor(70, 160, 90)
BELOW = QColor(120, 120, 128)
REMOVED_FILL = QColor(170, 80, 80, 90)
NAME_SAMPLE = "hair_between_eye"  # 16 characters: the Tag column keeps room for a name this long
TRACK = QColor(128, 128, 128, 50)
MIN_CONTRAST = 4.5  # WCAG AA for text


def score_text(score: float, threshold: float) -> str:
    """Two decimals, three where the value sits near the threshold (so 0.399 is not shown as 0.40)."""
    if score < 0:
        return "—"
    return f"{score:.3f}" if abs(score - threshold) < 0.01 else f"{score:.2f}"


@dataclass
class TagRow:
    """What one line of the editor shows."""

    name: str
    state: Qt.CheckState
    score: float  # best effective score (−1: removed by hand)
    threshold: float
    info: str
    manual: bool = False
    overridden: bool = False
    ai_score: float | None = None
    category: str = "general"
    scores: dict[str, float] = field(default_factory=dict)  # model name -> score
    thresholds: dict[str, float] = field(default_factory=dict)  # model name -> threshold in force


def luminance(colour: QColor) -> float:
    """WCAG relative luminance (0 black … 1 white)."""

    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(colour.red()) + 0.7152 * linear(colour.green()) + 0.0722 * linear(colour.blue())


def contrast(first: QColor, second: QColor) -> float:
    """WCAG contrast ratio, 1 (none) to 21 (black on white); 4.5 is the minimum for body text."""
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def readable_on(background: QColor, preferred: QColor | None = None) -> QColor:
    """``preferred`` (the palette's text colour) where it reads on ``background``, else black or white."""
    if preferred is not None and contrast(preferred, background) >= MIN_CONTRAST:
        return preferred
    black, white = QColor(0, 0, 0), QColor(255, 255, 255)
    return black if contrast(black, background) >= contrast(white, background) else white


def blend(over: QColor, under: QColor) -> QColor:
    """``over`` (with its alpha) painted on the opaque ``under``: the colour the eye sees."""
    alpha = over.alphaF()

    def mix(top: int, bottom: int) -> int:
        return round(top * alpha + bottom * (1 - alpha))

    return QColor(mix(over.red(), under.red()), mix(over.green(), under.green()), mix(over.blue(), under.blue()))


class ConfidenceDelegate(QStyledItemDelegate):
    """A bar for the score, green above the tag's threshold and grey below, with a mark at the threshold.

    The number sits over the middle of the bar; each part of it takes the colour that reads on what
    lies under that part (the bar's fill, or the empty track), so it never vanishes into the bar."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        score = index.data(SCORE_ROLE)
        threshold = index.data(THRESHOLD_ROLE)
        if score is None or threshold is None:
            super().paint(painter, option, index)
            return
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        ground = option.palette.highlight().color() if selected else option.palette.base().color()
        text = option.palette.highlightedText().color() if selected else option.palette.text().color()
        if selected:
            painter.fillRect(option.rect, ground)
        track = option.rect.adjusted(3, 1, -3, -1)  # as tall as the line, so the number sits inside it
        painter.fillRect(track, TRACK)
        if score >= 0:
            fill = QRect(track.x(), track.y(), round(track.width() * min(1.0, score)), track.height())
            fill_colour = ABOVE if score >= threshold else BELOW
        else:
            fill, fill_colour = QRect(track), blend(REMOVED_FILL, blend(TRACK, ground))
        painter.fillRect(fill, fill_colour)
        marker = track.x() + round(track.width() * threshold)
        painter.setPen(QPen(text, 2))
        # The threshold as two ticks, above and below the number, which it would otherwise cross out.
        tick = max(2, track.height() // 5)
        painter.drawLine(marker, track.top(), marker, track.top() + tick)
        painter.drawLine(marker, track.bottom() - tick, marker, track.bottom())
        label = score_text(score, threshold)
        top, height = option.rect.y(), option.rect.height()
        filled = QRect(fill.x(), top, fill.width(), height)
        empty = QRect(fill.right() + 1, top, track.right() - fill.right(), height)
        for area, under in ((filled, fill_colour), (empty, blend(TRACK, ground))):
            if area.width() > 0:
                painter.setClipRect(area)
                painter.setPen(readable_on(under, text))
                painter.drawText(track, Qt.AlignmentFlag.AlignCenter, label)
        painter.restore()


class TagEditor(QTreeWidget):
    """Signals carry tag names; the window turns them into undoable edits on the selection."""

    tag_set = Signal(str, bool)  # add (True) or remove (False) on every selected image
    tags_removed = Signal(list)
    reset_requested = Signal(list)  # back to the model's opinion
    threshold_requested = Signal(str, float)  # ask for a per-tag threshold, starting at this value
    threshold_cleared = Signal(str)
    search_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderLabels([self.tr("Tag"), self.tr("Score"), self.tr("Source")])
        self.setRootIsDecorated(True)
        # Tags sit one level under their category: Qt's 20 px a level (twice, with the root's arrows)
        # would take 40 px of a 260 px panel from the names.
        self.setIndentation(max(10, self.fontMetrics().height() * 2 // 3))
        self.setTextElideMode(Qt.TextElideMode.ElideRight)  # a long name ends in "…", whole in its tooltip
        self.models: list[str] = []
        self.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
        self.header().setStretchLastSection(False)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        self.header().resizeSection(1, self.bar_width())
        self.setItemDelegateForColumn(1, ConfidenceDelegate(self))
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.itemChanged.connect(self._item_changed)
        QShortcut(QKeySequence.StandardKey.Delete, self).activated.connect(self.remove_selected)
        self._filling = False
        self.rows: list[TagRow] = []
        self.source_width = 0
        # Tags that are aliases, and the tag each counts as: shown "kitty → cat"; edits act on "kitty".
        self.alias_targets: dict[str, str] = {}

    # --- content ------------------------------------------------------------------------------

    def rows_for_image(self, views: list[TagView], threshold: float) -> list[TagRow]:
        """One image's tags at library threshold ``threshold`` (the slider, live): each model's
        category and tag thresholds still apply where they are set."""
        rows: list[TagRow] = []
        for view in views:
            in_force = {m: (t if m in view.fixed else threshold) for m, t in view.thresholds.items()}
            best = max(
                (m for m in in_force if m in view.scores),
                key=lambda m: view.scores[m] - in_force[m],
                default=None,
            )
            limit = in_force[best] if best is not None else (view.threshold if view.overridden else threshold)
            present = view.present_at(threshold)
            if view.source == "manual":
                info = self.tr("removed by hand") if view.score < 0 else self.tr("added by hand")
            elif view.source == "imported":
                info = self.tr("from the file's keywords")
            else:
                info = best if best is not None and len(view.scores) > 1 else self.tr("model")
            if view.overridden:
                info += " · " + self.tr("own threshold {value:.2f}").format(value=view.threshold)
            score = view.score if view.source != "ai" or best is None else view.scores[best]
            rows.append(
                TagRow(
                    view.name,
                    Qt.CheckState.Checked if present else Qt.CheckState.Unchecked,
                    score,
                    limit,
                    info,
                    view.source == "manual",
                    view.overridden,
                    view.ai_score,
                    view.category,
                    dict(view.scores),
                    in_force,
                )
            )
        order = {Qt.CheckState.Checked: 0, Qt.CheckState.Unchecked: 1}
        rows.sort(key=lambda r: (order[r.state] if r.score >= 0 else 2, -r.score))
        return rows

    def rows_for_selection(self, tags: list[SelectionTag], selected: int) -> list[TagRow]:
        return [
            TagRow(
                tag.name,
                Qt.CheckState.Checked if tag.count >= selected else Qt.CheckState.PartiallyChecked,
                tag.best_score,
                tag.threshold,
                self.tr("{count} of {total}").format(count=number(tag.count), total=number(selected)),
                tag.manual > 0,
                tag.overridden,
                category=tag.category,
            )
            for tag in tags
        ]

    def show_rows(self, rows: list[TagRow]) -> None:
        """Rows grouped by category (a header each, in the category's colour); with several models,
        one score column per model beside the bar."""
        self._filling = True
        self.setUpdatesEnabled(False)
        self.clear()
        self.rows = rows
        self.models = sorted({m for row in rows for m in row.scores}) if any(len(r.scores) > 1 for r in rows) else []
        source_column = 2 + len(self.models)
        self.setColumnCount(source_column + 1)
        # Model columns hold a score ("0.87"): narrow, headed by the model's name cut to fit (the
        # full name in the tooltip), so the tag names keep the room in a narrow details panel.
        metrics = self.fontMetrics()
        score_width = metrics.horizontalAdvance("0.000") + 12
        labels = [metrics.elidedText(m, Qt.TextElideMode.ElideRight, score_width - 6) for m in self.models]
        # "Score", not "Confidence": the bar's column is as narrow as "0.000" (the whole word in its tooltip).
        self.setHeaderLabels([self.tr("Tag"), self.tr("Score"), *labels, self.tr("Source")])
        self.headerItem().setToolTip(1, self.tr("Confidence"))
        # With several models their columns (coloured by each one's threshold) replace the bar, and
        # the source moves to the tag's tooltip: a details panel is narrow and the names come first.
        self.setColumnHidden(1, bool(self.models))
        self.setColumnHidden(source_column, bool(self.models))
        self.header().setStretchLastSection(False)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column, model in enumerate(self.models, start=2):
            self.header().setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            self.header().resizeSection(column, score_width)
            self.headerItem().setToolTip(column, model)
        # The source can be a model's name or "from the file's keywords": cut to fit, whole in the tooltip.
        self.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        self.header().resizeSection(1, self.bar_width())
        self.header().setSectionResizeMode(source_column, QHeaderView.ResizeMode.Interactive)
        self.source_width = metrics.horizontalAdvance(self.tr("added by hand")) + 12
        self.header().resizeSection(source_column, self.source_width)
        self._fit_columns()
        groups: dict[str, QTreeWidgetItem] = {}
        for category in sorted({row.category for row in rows}, key=category_rank):
            count = sum(1 for row in rows if row.category == category)
            group = QTreeWidgetItem([f"{category_label(category)} ({number(count)})"])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = QFont(group.font(0))
            font.setBold(True)
            group.setFont(0, font)
            group.setForeground(0, category_colour(category))
            groups[category] = group
            self.addTopLevelItem(group)
            group.setFirstColumnSpanned(True)  # "General (70)" over the whole line, not the Tag column
        for row in rows:
            groups[row.category].addChild(self._item(row, source_column))
        for group in groups.values():
            group.setExpanded(True)
        self.setUpdatesEnabled(True)
        self._filling = False

    def bar_width(self) -> int:
        """The bar's column: room for "0.000" on a short bar, and for its header, no more (the names
        need the rest)."""
        metrics = self.fontMetrics()
        return max(metrics.horizontalAdvance("0.000") + 20, metrics.horizontalAdvance(self.tr("Score")) + 16)

    def name_room(self) -> int:
        """What the Tag column needs to show a 16-character name whole: the indentation of a tag
        under its category, the check box, the text and the item's margins."""
        style = self.style()
        check = style.pixelMetric(QStyle.PixelMetric.PM_IndicatorWidth, None, self)
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self) + 1
        return 2 * self.indentation() + check + 4 * margin + self.fontMetrics().horizontalAdvance(NAME_SAMPLE)

    def _fit_columns(self) -> None:
        """The Tag column takes the room; the Source column shows only where the names keep
        ``name_room`` beside it (its text is in the tag's tooltip as well)."""
        source_column = self.columnCount() - 1
        if self.models or source_column < 2:
            return
        fixed = sum(self.columnWidth(c) for c in range(1, source_column) if not self.isColumnHidden(c))
        room = self.viewport().width() - fixed - self.source_width
        self.setColumnHidden(source_column, room < self.name_room())

    def viewportEvent(self, event: QEvent) -> bool:
        handled = super().viewportEvent(event)
        if event.type() == QEvent.Type.Resize:  # the panel's width, or a scroll bar coming or going
            self._fit_columns()
        return handled

    def _item(self, row: TagRow, source_column: int) -> QTreeWidgetItem:
        target = self.alias_targets.get(row.name)
        shown = self.tr("{alias} → {target}").format(alias=row.name, target=target) if target else row.name
        item = QTreeWidgetItem([shown, ""] + [""] * len(self.models) + [row.info])
        item.setToolTip(source_column, row.info)
        item.setData(0, NAME_ROLE, row.name)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(0, row.state)
        scored = not math.isnan(row.score)  # a big selection's rows carry counts, not a best score
        item.setData(1, SCORE_ROLE, row.score if scored else None)
        item.setData(1, THRESHOLD_ROLE, row.threshold)
        item.setForeground(0, category_colour(row.category))
        for column, model in enumerate(self.models, start=2):
            score, limit = row.scores.get(model), row.thresholds.get(model)
            if score is None:
                item.setText(column, "—")
                item.setToolTip(column, self.tr("{model} gave no score above the storage floor").format(model=model))
                continue
            item.setText(column, score_text(score, limit if limit is not None else 0.0))
            item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if limit is None:
                item.setToolTip(column, self.tr("{model}: not searched (Settings → Models)").format(model=model))
                item.setForeground(column, BELOW)
            else:
                item.setToolTip(column, self.tr("{model}: threshold {value:.2f}").format(model=model, value=limit))
                item.setForeground(column, ABOVE if score >= limit else BELOW)
        tip = (
            self.tr("model score {score:.3f}").format(score=row.ai_score)
            if row.ai_score is not None
            else self.tr("no model score")
        )
        also = "; " + self.tr("another name of {target}").format(target=target) if target else ""
        item.setToolTip(
            0,
            f"{row.name}: {tip}; "
            + self.tr("threshold {value:.2f}").format(value=row.threshold)
            + f"; {row.info}{also}",
        )
        item.setToolTip(
            1,
            self.tr("score {score} (threshold {threshold:.2f})").format(
                score=score_text(row.score, row.threshold), threshold=row.threshold
            )
            if scored
            else row.info,
        )
        if row.manual:
            font = QFont(item.font(0))
            font.setBold(True)
            item.setFont(0, font)
        if row.state == Qt.CheckState.Unchecked:
            for column in (0, source_column):
                item.setForeground(column, QColor(130, 130, 130))
        return item

    def tag_items(self) -> list[QTreeWidgetItem]:
        """The tag lines in display order (category headers left out)."""
        return [item for group in top_level_items(self) for item in child_items(group)]

    def item_for(self, name: str) -> QTreeWidgetItem | None:
        return next((item for item in self.tag_items() if item.data(0, NAME_ROLE) == name), None)

    def present_tags(self) -> list[str]:
        return [row.name for row in self.rows if row.state == Qt.CheckState.Checked]

    def state_of(self, name: str) -> Qt.CheckState | None:
        return next((row.state for row in self.rows if row.name == name), None)

    # --- editing ------------------------------------------------------------------------------

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._filling or column != 0:
            return
        name = item.data(0, NAME_ROLE)
        if not name:
            return
        before = self.state_of(name)
        after = item.checkState(0)
        if before == after:
            return
        # Checked -> unchecked removes from all; unchecked or "some" -> checked adds to all.
        self.tag_set.emit(name, after == Qt.CheckState.Checked)

    def selected_names(self) -> list[str]:
        return [item.data(0, NAME_ROLE) for item in self.selectedItems() if item.data(0, NAME_ROLE)]

    def remove_selected(self) -> None:
        names = self.selected_names()
        if names:
            self.tags_removed.emit(names)

    def _menu(self, position: QPoint) -> None:
        item = self.itemAt(position)
        name = item.data(0, NAME_ROLE) if item is not None else None
        if not name:
            return
        names = self.selected_names() or [name]
        row = next(r for r in self.rows if r.name == name)
        menu = QMenu(self)
        if row.state != Qt.CheckState.Checked:
            menu.addAction(self.tr("Add to every selected image"), lambda: self.tag_set.emit(name, True))
        menu.addAction(self.tr("Remove from the selected images"), lambda: self.tags_removed.emit(names))
        reset = menu.addAction(self.tr("Reset to the model's opinion"), lambda: self.reset_requested.emit(names))
        reset.setToolTip(self.tr("Forget the manual edit: the model's score decides again"))
        menu.addSeparator()
        menu.addAction(
            self.tr("Threshold for “{tag}”…").format(tag=name),
            lambda: self.threshold_requested.emit(name, row.threshold),
        )
        if row.overridden:
            menu.addAction(
                self.tr("Use the global threshold for “{tag}”").format(tag=name),
                lambda: self.threshold_cleared.emit(name),
            )
        menu.addSeparator()
        menu.addAction(self.tr("Search for “{tag}”").format(tag=name), lambda: self.search_requested.emit(name))
        menu.addAction(self.tr("Copy tag"), lambda: QGuiApplication.clipboard().setText(name))
        menu.exec(self.viewport().mapToGlobal(position))
