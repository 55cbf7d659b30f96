"""The store's own thread: inference hands finished batches over and goes on.

Storing a batch (a transaction, the change log, a checkpoint now and then) costs as much as tagging
it on a fast device; on the tagging thread it left the model idle for that long. The writer takes
batches through a short bounded queue (back-pressure: inference waits only when it is full), stores
whatever has queued up in one bigger transaction, renews the worker's leases after each, and hands
a failure back to the tagging thread, which raises it at its next hand-over. Images of a batch not
yet stored keep their claims, so a killed process loses only those: they are retaken when the
lease runs out.
"""

from __future__ import annotations

import logging
import queue as queues
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from joytag_desktop.errors import JoyTagError
from joytag_desktop.library import db
from joytag_desktop.library.library import Library
from joytag_desktop.library.records import ImageResult, ModelInfo
from joytag_desktop.library.work import WorkQueue, retrying

log = logging.getLogger(__name__)

QUEUED_BATCHES = 3  # batches waiting for the writer before inference waits for it
MERGED_BATCHES = 8  # batches stored together at most, when they have queued up
# A transaction grows only while it is expected to hold the database's writer (an edit in the
# window, another worker) for less than this; the first one of a run is one batch.
MERGE_SECONDS = 0.5


class StoreError(JoyTagError):
    """Storing results failed (after the retries a lost server gets); one line, for the listener."""


@dataclass
class _Batch:
    """One batch of one model's results, or a marker: ``flushed`` (set when the writer reaches it)
    or ``stop``."""

    results: list[ImageResult] = field(default_factory=list)
    model: ModelInfo | None = None
    tags: Sequence[str] = ()
    categories: Sequence[str] | None = None
    tagged: int = 0  # the run's counts once this batch is stored, for the worker's report
    failed: int = 0
    flushed: threading.Event | None = None
    stop: bool = False

    def joins(self, first: _Batch) -> bool:
        """May go into ``first``'s transaction."""
        return self.model is not None and first.model is not None and self.model.id == first.model.id


class StoreWriter:
    """One writer thread for one tagging run (``submit`` batches, ``flush``, ``close``)."""

    def __init__(
        self,
        library: Library,
        queue: WorkQueue,
        after_commit: Callable[[list[int]], None] | None = None,
        depth: int = QUEUED_BATCHES,
    ) -> None:
        self.library = library
        self.queue = queue
        self.after_commit = after_commit
        self.stored = 0  # images stored by this writer
        self.transactions = 0
        self._batches: queues.Queue[_Batch] = queues.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None  # for the tagging thread to raise (once)
        self._failed = False  # nothing more is stored after a failure
        self._seconds_per_image: float | None = None  # what storing took lately (the writer thread's)
        self._started = time.perf_counter()
        self._base = (queue.done, queue.failed)
        self._thread = threading.Thread(target=self._run, name="joytag-store", daemon=True)
        self._thread.start()

    # --- the tagging thread --------------------------------------------------------------------------

    def submit(
        self,
        results: list[ImageResult],
        model: ModelInfo,
        tags: Sequence[str],
        categories: Sequence[str] | None,
        tagged: int,
        failed: int,
    ) -> None:
        """Hand one batch over; waits only while the queue is full. Raises the writer's failure."""
        self._raise()
        self._put(_Batch(list(results), model, tags, categories, tagged, failed))
        self._raise()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything handed over is stored (False: not within ``timeout``). Raises the
        writer's failure."""
        self._raise()
        marker = threading.Event()
        reached = self._put(_Batch(flushed=marker), timeout) and marker.wait(timeout)
        self._raise()
        return reached

    def close(self, timeout: float | None = 30.0) -> None:
        """Store what is queued, then end the thread. A failure not raised yet is logged (this runs
        on the way out, after the run's own error if any)."""
        if self._thread.is_alive() and self._put(_Batch(stop=True), timeout):
            self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("the store's thread did not end in time; its unstored images are retaken later")

    def _put(self, item: _Batch, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._thread.is_alive():
            try:
                self._batches.put(item, timeout=0.2)
                return True
            except queues.Full:
                if deadline is not None and time.monotonic() > deadline:
                    return False
        return False  # the thread has ended: nothing more is taken

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            if isinstance(error, JoyTagError):
                raise error
            raise StoreError(f"storing results failed: {db.first_line(error)}") from error

    # --- the writer thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        held: _Batch | None = None  # taken from the queue but not part of the last group
        while True:
            item = held if held is not None else self._batches.get()
            held = None
            if item.stop:
                return
            if item.flushed is not None:
                item.flushed.set()
                continue
            # What queued up while the last transaction ran goes into one (same model, up to a limit).
            group, images, room = [item], len(item.results), self._room()
            while len(group) < MERGED_BATCHES and images + len(item.results) <= room:
                try:
                    following = self._batches.get_nowait()
                except queues.Empty:
                    break
                if not following.joins(item):
                    held = following
                    break
                group.append(following)
                images += len(following.results)
            self._store(group)

    def _room(self) -> int:
        """How many images one transaction may take, from the time the last ones took per image."""
        if self._seconds_per_image is None:
            return 0
        return int(MERGE_SECONDS / max(self._seconds_per_image, 1e-6))

    def _store(self, group: list[_Batch]) -> None:
        if self._failed:
            return  # failed before: the tagging thread stops; these images keep their claims until released
        try:
            self._store_batches(group)
        except BaseException as exc:  # noqa: BLE001 - handed to the tagging thread, which raises it
            log.warning("storing results failed: %s", exc)
            self._failed = True
            self._error = exc

    def _store_batches(self, group: list[_Batch]) -> None:
        first, last = group[0], group[-1]
        assert first.model is not None
        model = first.model
        results = [r for b in group for r in b.results]
        began = time.perf_counter()
        stored = retrying(
            lambda: self.library.store_results(results, model, first.tags, first.categories, worker=self.queue.id),
            "storing results",
        )
        if results:
            per_image = (time.perf_counter() - began) / len(results)
            last_estimate = self._seconds_per_image
            self._seconds_per_image = per_image if last_estimate is None else 0.5 * (last_estimate + per_image)
        self.stored += stored
        self.transactions += 1
        if self.after_commit is not None:
            self.after_commit([r.image_id for r in results if r.error is None])
        elapsed = time.perf_counter() - self._started
        queue = self.queue
        queue.done, queue.failed = self._base[0] + last.tagged, self._base[1] + last.failed
        queue.rate = (last.tagged + last.failed) / elapsed if elapsed else 0.0
        queue.renew()  # the leases of what is claimed ahead, and the worker's heartbeat
