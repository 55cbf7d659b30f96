"""Safe view's veil: a blur strong enough to hide what a picture shows, keeping its colours and shape.

Apart from ``safe_view`` (which decides what is veiled) so that the grid and the viewer, which
draw the veil, need not know the settings behind it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def veiled_pixmap(pixmap: QPixmap) -> QPixmap:
    """A strong blur that keeps the colours and the shape (down to 12 px and smoothly back up)."""
    small = pixmap.scaled(12, 12, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return small.scaled(pixmap.size(), Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)


def veiled_image(image: QImage) -> QImage:
    small = image.scaled(24, 24, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return small.scaled(image.size(), Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
