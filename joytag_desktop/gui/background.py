"""Running I/O off the GUI thread and getting the answer back on it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, SignalInstance

from joytag_desktop import failures

log = logging.getLogger(__name__)


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(object)


class _Task(QRunnable):
    def __init__(self, function: Callable[[], Any]) -> None:
        super().__init__()
        self.function = function
        self.signals = _Signals()

    def run(self) -> None:
        try:
            result = self.function()
        except Exception as exc:
            log.debug("background task failed", exc_info=True)
            emit_if_alive(self.signals.failed, failures.as_user_error(exc))
        else:
            emit_if_alive(self.signals.done, result)


def emit_if_alive(signal: SignalInstance, *args: Any) -> None:
    """Emit from a worker thread unless the receiving side is already gone (the window closed
    while the work ran): nobody is left to hear the answer, and that is not an error."""
    try:
        signal.emit(*args)
    except RuntimeError:
        log.debug("answer dropped: its window is gone", exc_info=True)


class Background(QObject):
    """A thread pool for database queries, thumbnails and file actions.

    ``submit(fn, on_done, on_error)`` runs ``fn()`` in the pool; the callbacks run on the GUI
    thread. Each task's signals are kept referenced until its answer is delivered.
    """

    def __init__(self, threads: int = 4, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._live: dict[int, _Signals] = {}
        self._next_token = 0
        self._closed = False

    def submit(
        self,
        function: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        task = _Task(function)  # the pool deletes it once run (it holding a task forever would leak)
        self._next_token += 1
        token = self._next_token
        self._live[token] = task.signals  # kept until its answer is delivered on the GUI thread

        # The callbacks name the signals by token, never hold them: an object held by a lambda that
        # its own signal holds (a Qt connection, invisible to Python's collector) is never freed.
        def finish(result: Any, callback: Callable | None) -> None:
            self._live.pop(token, None)
            if callback is not None and not self._closed:
                callback(result)

        task.signals.done.connect(lambda result: finish(result, on_done))
        task.signals.failed.connect(lambda exc: finish(exc, on_error or (lambda e: log.error("%s", e))))
        self.pool.start(task)

    def busy(self) -> bool:
        """Whether a task is queued or running, or its answer not yet delivered."""
        return bool(self._live)

    def wait(self, msecs: int = 30_000) -> bool:
        return self.pool.waitForDone(msecs)

    def shutdown(self, msecs: int = 30_000, drop_queued: bool = True) -> bool:
        """Finish running tasks (and queued ones unless ``drop_queued``: the writer's edits are never
        dropped) and drop their callbacks: the widgets they would update are going away."""
        self._closed = True
        if drop_queued:
            self.pool.clear()
        return self.pool.waitForDone(msecs)
