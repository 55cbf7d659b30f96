"""Stars, colour labels and picks as the window shows them: Lightroom's keys, the marks painted on
thumbnails, and the details panel's editor (the edits they make: ``gui.marking``).

Keys (in the grid and the viewer, as Lightroom has them): 1-5 stars, 0 no stars; 6-9 red, yellow,
green, blue (the same key again takes the label off); P picked, X rejected, U unflagged. An edit of
the selection is one undo step, written on the window's long-work queue (progress, Cancel).
"""

from __future__ import annotations

import math
from functools import partial

from PySide6.QtCore import QCoreApplication, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QWidget

from joytag_desktop.metadata.marks import LABELS, Marks

Key = Qt.Key
# Lightroom's keys: the mark each sets, and its value.
MARK_KEYS: dict[Qt.Key, tuple[str, object]] = {
    Key.Key_0: ("stars", None),
    Key.Key_1: ("stars", 1),
    Key.Key_2: ("stars", 2),
    Key.Key_3: ("stars", 3),
    Key.Key_4: ("stars", 4),
    Key.Key_5: ("stars", 5),
    Key.Key_6: ("label", "red"),
    Key.Key_7: ("label", "yellow"),
    Key.Key_8: ("label", "green"),
    Key.Key_9: ("label", "blue"),
    Key.Key_P: ("pick", "picked"),
    Key.Key_X: ("pick", "rejected"),
    Key.Key_U: ("pick", None),
}
LABEL_COLOURS = {
    "red": QColor(220, 50, 47),
    "orange": QColor(240, 140, 30),
    "yellow": QColor(235, 200, 40),
    "green": QColor(80, 170, 60),
    "blue": QColor(50, 110, 220),
    "purple": QColor(150, 80, 190),
    "gray": QColor(140, 140, 140),
    "black": QColor(20, 20, 20),
    "white": QColor(245, 245, 245),
}
STAR_GOLD = QColor(255, 196, 0)


def mark_for_key(key: int, modifiers: Qt.KeyboardModifier) -> tuple[str, object] | None:
    """The mark a key press sets (None: not one of the keys, or pressed with Ctrl, Alt or Meta)."""
    held = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier
    if modifiers & held:
        return None
    return MARK_KEYS.get(Qt.Key(key)) if key in MARK_KEYS else None


def label_name(label: str) -> str:
    names = {
        "red": QCoreApplication.translate("marks", "Red"),
        "orange": QCoreApplication.translate("marks", "Orange"),
        "yellow": QCoreApplication.translate("marks", "Yellow"),
        "green": QCoreApplication.translate("marks", "Green"),
        "blue": QCoreApplication.translate("marks", "Blue"),
        "purple": QCoreApplication.translate("marks", "Purple"),
        "gray": QCoreApplication.translate("marks", "Gray"),
        "black": QCoreApplication.translate("marks", "Black"),
        "white": QCoreApplication.translate("marks", "White"),
    }
    return names.get(label, label)


def pick_name(pick: str) -> str:
    names = {
        "picked": QCoreApplication.translate("marks", "Picked"),
        "rejected": QCoreApplication.translate("marks", "Rejected"),
        "pending": QCoreApplication.translate("marks", "Pending"),
    }
    return names.get(pick, pick)


class _Plurals(QObject):
    """Plural words through ``self.tr``: lupdate takes ``QCoreApplication.translate(…, n)`` as no
    numerus message (nor at all, with ``int(value)`` as its count), so "5 star(s)" stayed English."""

    def stars(self, count: int) -> str:
        return self.tr("%n star(s)", "", count)


def value_text(mark: str, value: object) -> str:
    """A mark's value in words, for the status bar and the undo menu."""
    if mark == "stars":
        if value is None:
            return QCoreApplication.translate("marks", "no stars")
        if value == -1:
            return QCoreApplication.translate("marks", "rejected")
        return _Plurals().stars(int(value))  # type: ignore[arg-type]
    if value is None:
        return (
            QCoreApplication.translate("marks", "no label")
            if mark == "label"
            else QCoreApplication.translate("marks", "unflagged")
        )
    return label_name(str(value)) if mark == "label" else pick_name(str(value))


def marks_text(marks: Marks) -> str:
    """Marks in one short line (the viewer's): "★★★  Red  Picked"."""
    parts = []
    if marks.stars:
        parts.append("★" * marks.stars if marks.stars > 0 else value_text("stars", -1))
    if marks.label:
        parts.append(label_name(marks.label))
    if marks.pick:
        parts.append(pick_name(marks.pick))
    return "  ".join(parts)


# --- on the thumbnails ------------------------------------------------------------------------


def _star(centre: QPointF, radius: float) -> QPainterPath:
    """A five-pointed star (drawn, not a font's glyph: every platform shows the same)."""
    path = QPainterPath()
    for point in range(10):
        r = radius if point % 2 == 0 else radius * 0.45
        angle = -math.pi / 2 + point * math.pi / 5
        at = QPointF(centre.x() + r * math.cos(angle), centre.y() + r * math.sin(angle))
        path.moveTo(at) if point == 0 else path.lineTo(at)
    path.closeSubpath()
    return path


def paint_marks(painter: QPainter, picture: QRectF, marks: Marks) -> None:
    """Stars along the picture's bottom edge, the label as a band on its left, the pick as a flag
    in its top-left corner; each on a dark backing so that it reads on any picture."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if marks.label in LABEL_COLOURS:
        painter.setPen(QPen(QColor(0, 0, 0, 160), 1))
        painter.setBrush(LABEL_COLOURS[marks.label])
        painter.drawRoundedRect(QRectF(picture.left() + 3, picture.top() + 3, 8, picture.height() - 6), 3, 3)
    if marks.stars:
        size = 12.0
        left = picture.left() + 14
        bottom = picture.bottom() - 3
        if marks.stars < 0:
            backing = QRectF(left, bottom - size - 4, size + 8, size + 4)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(170, 30, 30, 220))
            painter.drawRoundedRect(backing, 4, 4)
            painter.setPen(QPen(QColor(255, 255, 255), 2))
            inner = backing.adjusted(6, 4, -6, -4)
            painter.drawLine(inner.topLeft(), inner.bottomRight())
            painter.drawLine(inner.topRight(), inner.bottomLeft())
        else:
            backing = QRectF(left, bottom - size - 4, marks.stars * (size + 1) + 6, size + 4)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(0, 0, 0, 150))
            painter.drawRoundedRect(backing, 4, 4)
            painter.setPen(QPen(QColor(90, 60, 0), 1))
            painter.setBrush(STAR_GOLD)
            for n in range(marks.stars):
                painter.drawPath(_star(QPointF(left + 3 + size / 2 + n * (size + 1), bottom - 2 - size / 2), size / 2))
    if marks.pick:
        colour = {"picked": QColor(255, 255, 255), "rejected": QColor(30, 30, 30), "pending": QColor(160, 160, 160)}
        box = QRectF(picture.left() + 14, picture.top() + 3, 16, 16)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 150) if marks.pick != "rejected" else QColor(230, 230, 230, 200))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QPen(colour[marks.pick], 1.5))
        painter.drawLine(QPointF(box.left() + 5, box.top() + 3), QPointF(box.left() + 5, box.bottom() - 3))
        painter.setBrush(colour[marks.pick])
        flag = QPainterPath(QPointF(box.left() + 5, box.top() + 3))
        flag.lineTo(box.right() - 3, box.top() + 6)
        flag.lineTo(box.left() + 5, box.top() + 9)
        flag.closeSubpath()
        painter.drawPath(flag)
    painter.restore()


# --- the details panel's editor -------------------------------------------------------------------


class MarksEditor(QWidget):
    """Stars, label and pick of the selection: shows the current image's, sets the selection's."""

    mark_chosen = Signal(str, object)  # mark, value (None: unset)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stars = QComboBox()
        self.stars.setToolTip(self.tr("Stars of the selected images (keys 0-5)"))
        self.stars.addItem(self.tr("No stars"), None)
        for count in range(1, 6):
            self.stars.addItem(f"{count} ★", count)  # short: three boxes share the panel's width
        self.stars.addItem(self.tr("Rejected"), -1)
        self.label = QComboBox()
        self.label.setToolTip(self.tr("Colour label of the selected images (keys 6-9: red, yellow, green, blue)"))
        self.label.addItem(self.tr("No label"), None)
        for name in LABELS:
            self.label.addItem(label_name(name), name)
            self.label.setItemData(self.label.count() - 1, LABEL_COLOURS[name], Qt.ItemDataRole.DecorationRole)
        self.pick = QComboBox()
        self.pick.setToolTip(self.tr("Pick flag of the selected images (P picked, X rejected, U unflagged)"))
        self.pick.addItem(self.tr("Unflagged"), None)
        for name in ("picked", "rejected", "pending"):
            self.pick.addItem(pick_name(name), name)
        layout = QHBoxLayout(self)  # one row: the details panel labels it (``DetailsPanel``)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        for mark, box in (("stars", self.stars), ("label", self.label), ("pick", self.pick)):
            layout.addWidget(box, 1)
            box.activated.connect(partial(self._chosen, mark, box))

    def _chosen(self, mark: str, box: QComboBox, index: int) -> None:
        self.mark_chosen.emit(mark, box.itemData(index))

    def show_marks(self, marks: Marks) -> None:
        for box, value in ((self.stars, marks.stars), (self.label, marks.label), (self.pick, marks.pick)):
            box.setCurrentIndex(max(0, box.findData(value)) if value is not None else 0)
