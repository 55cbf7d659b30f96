"""The slideshow: the viewer's pictures one after another on a timer, in the order of the results
or shuffled, from the image the user was on; Space pauses, the arrows step, Escape leaves.

The timer restarts after each step, so a picture the user stepped to gets its whole interval.
"""

from __future__ import annotations

import random
from functools import partial

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

INTERVALS_S = (2, 3, 5, 8, 15)
ORDERS = ("results", "random")


class Slideshow(QObject):
    """Which row comes next and when; ``row_wanted`` asks the viewer to show it."""

    row_wanted = Signal(int)
    state_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.timeout.connect(lambda: self.step(1))
        self.order: list[int] = []
        self.position = 0
        self.running = False
        self.paused = False

    def start(self, count: int, first_row: int, interval_ms: int, order: str = "results") -> None:
        """Show ``count`` rows from ``first_row``: in order (wrapping round), or shuffled with the
        first row first."""
        if count <= 0:
            return
        rows = list(range(count))
        if order == "random":
            rest = [row for row in rows if row != first_row]
            random.shuffle(rest)
            self.order, self.position = [first_row, *rest], 0
        else:
            self.order, self.position = rows, max(0, min(count - 1, first_row))
        self.running, self.paused = True, False
        self.timer.setInterval(max(1, interval_ms))
        self.timer.start()
        self.state_changed.emit()

    def stop(self) -> None:
        self.timer.stop()
        self.running = self.paused = False
        self.state_changed.emit()

    def toggle_pause(self) -> None:
        if not self.running:
            return
        self.paused = not self.paused
        if self.paused:
            self.timer.stop()
        else:
            self.timer.start()
        self.state_changed.emit()

    def step(self, delta: int) -> None:
        """The next (or previous) picture in the show's order, wrapping round."""
        if not self.running or not self.order:
            return
        self.position = (self.position + delta) % len(self.order)
        self.row_wanted.emit(self.order[self.position])
        if not self.paused:
            self.timer.start()  # the picture stepped to gets its whole interval


class SlideshowMenu(QObject):
    """The interval and order choices under View ▸ Slideshow; ``changed(interval_s, order)``."""

    changed = Signal(int, str)

    def __init__(self, menu: QMenu, interval_s: int, order: str) -> None:
        super().__init__(menu)
        self.interval_s, self.order = interval_s, order if order in ORDERS else "results"
        self.intervals = QActionGroup(self)
        for seconds in INTERVALS_S:
            action = QAction(self.tr("Every %n second(s)", "", seconds), self, checkable=True)
            action.setChecked(seconds == interval_s)
            action.triggered.connect(partial(self._interval, seconds))
            self.intervals.addAction(action)
            menu.addAction(action)
        menu.addSeparator()
        self.shuffled = QAction(self.tr("Random order"), self, checkable=True)
        self.shuffled.setChecked(self.order == "random")
        self.shuffled.toggled.connect(self._shuffled)
        menu.addAction(self.shuffled)

    def _interval(self, seconds: int) -> None:
        self.interval_s = seconds
        self.changed.emit(self.interval_s, self.order)

    def _shuffled(self, on: bool) -> None:
        self.order = "random" if on else "results"
        self.changed.emit(self.interval_s, self.order)
