"""The full-size viewer: next/previous, fit, 1:1, wheel zoom around the cursor, drag to pan.

Pictures are decoded off the GUI thread (``decode_for_viewer``); the window asks for the one it
shows and ignores answers for pictures it has moved past.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from joytag_desktop.gui.i18n import number
from joytag_desktop.gui.marks_view import mark_for_key
from joytag_desktop.gui.panels import resize_within_screen
from joytag_desktop.gui.slideshow import Slideshow
from joytag_desktop.gui.veil import veiled_image

# Pictures larger than this are shown scaled (a 200-megapixel scan would need 600 MB as RGB).
VIEWER_MAX_PIXELS = 60_000_000
MIN_ZOOM, MAX_ZOOM = 0.02, 16.0


def decode_for_viewer(path: str) -> tuple[QImage, tuple[int, int]]:
    """Decode ``path`` upright (EXIF orientation applied); returns the image and its full size.

    Runs in a worker thread: Pillow does the decoding (RAW previews, HEIF, bomb checks).
    """
    from PIL import Image

    from joytag_desktop.media.imaging import open_image

    image = open_image(Path(path))
    full = image.size
    if full[0] * full[1] > VIEWER_MAX_PIXELS:
        scale = (VIEWER_MAX_PIXELS / (full[0] * full[1])) ** 0.5
        image = image.resize((max(1, int(full[0] * scale)), max(1, int(full[1] * scale))), Image.Resampling.LANCZOS)
    data = image.tobytes("raw", "RGB")
    qimage = QImage(data, image.width, image.height, image.width * 3, QImage.Format.Format_RGB888).copy()
    return qimage, full


class ImageCanvas(QWidget):
    """Paints one picture at a zoom factor with an offset; fit mode follows the window size."""

    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(200, 150)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.pixmap = QPixmap()
        self.full_size = (0, 0)
        self.zoom = 1.0  # screen pixels per pixel of the full-size picture
        self.fit = True
        self.offset = QPointF(0, 0)  # top-left of the picture in widget coordinates
        self._drag_from: QPointF | None = None
        self.message = ""
        self.enlarge = False  # fit may scale a small picture up (full screen, slideshows)

    def set_image(self, image: QImage | None, full_size: tuple[int, int] = (0, 0), message: str = "") -> None:
        self.pixmap = QPixmap.fromImage(image) if image is not None else QPixmap()
        self.full_size = full_size if image is not None else (0, 0)
        self.message = message
        self.fit_to_window()

    def fit_zoom(self) -> float:
        width, height = self.full_size
        if not width or not height:
            return 1.0
        fit = min(self.width() / width, self.height() / height)
        return fit if self.enlarge else min(fit, 1.0)

    def fit_to_window(self) -> None:
        self.fit = True
        self._set_zoom(self.fit_zoom(), QPointF(self.width() / 2, self.height() / 2), centre=True)

    def actual_size(self) -> None:
        self.fit = False
        self._set_zoom(1.0, QPointF(self.width() / 2, self.height() / 2))

    def zoom_by(self, factor: float, around: QPointF | None = None) -> None:
        self.fit = False
        self._set_zoom(self.zoom * factor, around or QPointF(self.width() / 2, self.height() / 2))

    def _set_zoom(self, zoom: float, around: QPointF, centre: bool = False) -> None:
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        if centre or self.pixmap.isNull():
            width, height = self.full_size
            self.offset = QPointF((self.width() - width * zoom) / 2, (self.height() - height * zoom) / 2)
        else:  # keep the picture point under ``around`` where it is
            point = (around - self.offset) / self.zoom
            self.offset = around - point * zoom
        self.zoom = zoom
        self._clamp()
        self.update()
        self.zoom_changed.emit(zoom)

    def _clamp(self) -> None:
        """A picture smaller than the window stays centred; a larger one cannot be dragged away."""
        width, height = self.full_size[0] * self.zoom, self.full_size[1] * self.zoom
        x, y = self.offset.x(), self.offset.y()
        x = (self.width() - width) / 2 if width <= self.width() else min(0.0, max(self.width() - width, x))
        y = (self.height() - height) / 2 if height <= self.height() else min(0.0, max(self.height() - height, y))
        self.offset = QPointF(x, y)

    def message_layout(self) -> tuple[QRect, int]:
        """Where the message goes and how: wrapped between words, and anywhere where one word (a
        long path in an error) is wider than the window."""
        area = self.rect().adjusted(16, 16, -16, -16)
        centred = Qt.AlignmentFlag.AlignCenter
        flags = int(centred | Qt.TextFlag.TextWordWrap)
        if self.fontMetrics().boundingRect(area, flags, self.message).width() > area.width():
            flags = int(centred | Qt.TextFlag.TextWrapAnywhere)
        return area, flags

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 26))
        if self.pixmap.isNull():
            painter.setPen(QColor(200, 200, 200))
            area, flags = self.message_layout()
            painter.drawText(area, flags, self.message)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom < 1.0 or self.enlarge)
        target = QRectF(self.offset.x(), self.offset.y(), self.full_size[0] * self.zoom, self.full_size[1] * self.zoom)
        painter.drawPixmap(target, self.pixmap, QRectF(self.pixmap.rect()))

    def resizeEvent(self, event) -> None:
        if self.fit:
            self.fit_to_window()
        else:
            self._clamp()
        super().resizeEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(1.25**steps, event.position())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is not None:
            self.offset += event.position() - self._drag_from
            self._drag_from = event.position()
            self._clamp()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag_from = None
        self.unsetCursor()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.fit:
            self.fit = False
            self._set_zoom(1.0, event.position())
        else:
            self.fit_to_window()


# The viewer's own keys for turning the picture (the window's menu has the same ones for the grid).
ROTATE_KEYS = {
    (Qt.Key.Key_BracketRight, Qt.KeyboardModifier.ControlModifier): "90",
    (Qt.Key.Key_BracketLeft, Qt.KeyboardModifier.ControlModifier): "270",
    (Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier): "flip",
}


class Viewer(QDialog):
    """Shows the grid's images one at a time; ``row_changed`` lets the grid follow;
    ``rotate_requested(transform)`` asks for the picture shown to be turned (``gui.rotation``).
    F11 shows it full screen; a slideshow (``start_slideshow``) runs full screen."""

    row_changed = Signal(int)
    rotate_requested = Signal(str)
    mark_key = Signal(int, str, object)  # Lightroom's keys (``gui.marking``): image id, mark, value

    def __init__(
        self,
        count: Callable[[], int],
        row_info: Callable[[int], tuple[int, str]],
        load: Callable[[int, str], None],
        parent: QWidget | None = None,
        is_veiled: Callable[[int], bool] = lambda _: False,
    ) -> None:
        super().__init__(parent)
        self._count, self._row_info, self._load, self._is_veiled = count, row_info, load, is_veiled
        self._revealed: set[int] = set()  # images shown anyway (V) although Safe view blurs them
        self._picture: tuple[int, QImage, tuple[int, int]] | None = None
        self.setWindowTitle(self.tr("Viewer"))
        resize_within_screen(self, 1100, 800)
        self.canvas = ImageCanvas()
        self.canvas.zoom_changed.connect(self._zoom_shown)
        self.name = QLabel()
        self.name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tags = QLabel(wordWrap=True)
        self.tags.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.zoom_label = QLabel()
        self.marks = QLabel()  # the image's stars, label and pick (``gui.marks_view.marks_text``)
        self.veil_note = QLabel(self.tr("Blurred by View → Safe view: press V to show this image"))
        self.veil_note.setVisible(False)
        buttons = {
            "previous": QPushButton(self.tr("◀ Previous")),
            "next": QPushButton(self.tr("Next ▶")),
            "fit": QPushButton(self.tr("Fit")),
            "actual": QPushButton(self.tr("1:1")),
        }
        buttons["previous"].clicked.connect(lambda: self.step(-1))
        buttons["next"].clicked.connect(lambda: self.step(1))
        buttons["fit"].clicked.connect(self.canvas.fit_to_window)
        buttons["actual"].clicked.connect(self.canvas.actual_size)
        buttons["previous"].setToolTip(self.tr("Previous image (Left, Page Up)"))
        buttons["next"].setToolTip(self.tr("Next image (Right, Page Down, Space)"))
        buttons["fit"].setToolTip(self.tr("Fit to the window (F, double-click)"))
        buttons["actual"].setToolTip(self.tr("Actual size (Z); zoom with the wheel or + and -"))
        for button in buttons.values():
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.buttons = buttons
        bar = QHBoxLayout()
        bar.addWidget(buttons["previous"])
        bar.addWidget(buttons["next"])
        bar.addWidget(self.name, 1)
        bar.addWidget(self.marks)
        bar.addWidget(self.veil_note)
        bar.addWidget(self.zoom_label)
        bar.addWidget(buttons["fit"])
        bar.addWidget(buttons["actual"])
        self.chrome = QWidget()  # the bar and the tags: hidden full screen
        chrome_layout = QVBoxLayout(self.chrome)
        chrome_layout.setContentsMargins(0, 0, 0, 0)
        chrome_layout.addLayout(bar)
        chrome_layout.addWidget(self.tags)
        layout = QVBoxLayout(self)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.chrome)
        self.row = -1
        self.image_id: int | None = None
        self.slideshow = Slideshow(self)
        self.slideshow.row_wanted.connect(self.show_row)
        self._layout_margins = layout.contentsMargins()

    # --- full screen and the slideshow ----------------------------------------------------------

    def set_full_screen(self, on: bool) -> None:
        """The picture alone on the whole screen (F11), or back in its window."""
        self.chrome.setVisible(not on)
        self.canvas.enlarge = on
        if self.canvas.fit:
            self.canvas.fit_to_window()
        margins = self._layout_margins
        layout = self.layout()
        if layout is not None:
            layout.setContentsMargins(0, 0, 0, 0) if on else layout.setContentsMargins(margins)
        if on:
            self.showFullScreen()
        else:
            self.showNormal()
        self.canvas.setFocus()

    def toggle_full_screen(self) -> None:
        self.set_full_screen(not self.isFullScreen())

    def start_slideshow(self, row: int, interval_ms: int, order: str = "results") -> None:
        """From ``row``, full screen: Space pauses, the arrows step, Escape leaves."""
        self.show_row(row)
        self.set_full_screen(True)
        self.slideshow.start(self._count(), self.row, interval_ms, order)

    def stop_slideshow(self) -> None:
        self.slideshow.stop()
        if self.isFullScreen():
            self.set_full_screen(False)

    def _slideshow_key(self, key: int) -> bool:
        """Keys that mean something else while a slideshow runs; whether the key was taken."""
        if key == Qt.Key.Key_Space:
            self.slideshow.toggle_pause()
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_PageDown, Qt.Key.Key_Down):
            self.slideshow.step(1)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_PageUp, Qt.Key.Key_Up, Qt.Key.Key_Backspace):
            self.slideshow.step(-1)
        elif key == Qt.Key.Key_Escape:
            self.stop_slideshow()
        else:
            return False
        return True

    def reject(self) -> None:
        """Escape (or the close button): a full-screen viewer first comes back to its window."""
        if self.slideshow.running or self.isFullScreen():
            self.stop_slideshow()
            return
        super().reject()

    def closeEvent(self, event) -> None:
        self.slideshow.stop()
        if self.isFullScreen():
            self.set_full_screen(False)
        super().closeEvent(event)

    def show_row(self, row: int) -> None:
        total = self._count()
        if not total:
            return
        row = max(0, min(total - 1, row))
        self.row = row
        self.image_id, path = self._row_info(row)
        self.name.setText(f"{Path(path).name}  ({number(row + 1)} / {number(total)})")
        self.name.setToolTip(path)
        self.setWindowTitle(Path(path).name)
        self.tags.setText("")
        self.canvas.set_image(None, message=self.tr("Loading…"))
        self.veil_note.setVisible(False)
        self._load(self.image_id, path)
        self.row_changed.emit(row)

    def step(self, delta: int) -> None:
        if self.row + delta < 0 or self.row + delta >= self._count():
            return
        self.show_row(self.row + delta)

    def picture_loaded(self, image_id: int, image: QImage, full_size: tuple[int, int]) -> None:
        if image_id != self.image_id:
            return
        self._picture = (image_id, image, full_size)
        self._show_picture()

    def refresh_veil(self) -> None:
        self._show_picture()

    def _show_picture(self) -> None:
        if self._picture is None or self._picture[0] != self.image_id:
            return
        image_id, image, full_size = self._picture
        veiled = self._is_veiled(image_id) and image_id not in self._revealed
        self.canvas.set_image(veiled_image(image) if veiled else image, full_size)
        self.veil_note.setVisible(veiled)

    def toggle_reveal(self) -> None:
        """V: show this one image although Safe view blurs it (or blur it again)."""
        if self.image_id is None:
            return
        self._revealed ^= {self.image_id}
        self._show_picture()

    def picture_failed(self, image_id: int, message: str) -> None:
        if image_id == self.image_id:
            self.canvas.set_image(None, message=message)

    def tags_loaded(self, image_id: int, names: list[str]) -> None:
        if image_id == self.image_id:
            self.tags.setText(", ".join(names) if names else self.tr("No tags"))

    def _zoom_shown(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f}%")

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        transform = ROTATE_KEYS.get((Qt.Key(key), modifiers))
        if transform is not None:
            self.rotate_requested.emit(transform)
            return
        if self.slideshow.running and self._slideshow_key(key):
            return
        mark = mark_for_key(key, event.modifiers())
        if key == Qt.Key.Key_F11:
            self.toggle_full_screen()
        elif mark is not None:  # 0-9, P, X, U mark the image shown, as in the grid (1:1 is Z, as Lightroom's)
            if self.image_id is not None and not event.isAutoRepeat():
                self.mark_key.emit(self.image_id, *mark)
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_PageDown, Qt.Key.Key_Space):
            self.step(1)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_PageUp, Qt.Key.Key_Backspace):
            self.step(-1)
        elif key == Qt.Key.Key_Home:
            self.show_row(0)
        elif key == Qt.Key.Key_End:
            self.show_row(self._count() - 1)
        elif key == Qt.Key.Key_V:
            self.toggle_reveal()
        elif key == Qt.Key.Key_F:
            self.canvas.fit_to_window()
        elif key == Qt.Key.Key_Z:
            self.canvas.actual_size()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.canvas.zoom_by(1.25)
        elif key == Qt.Key.Key_Minus:
            self.canvas.zoom_by(0.8)
        else:
            super().keyPressEvent(event)  # Escape closes
