"""Tagging a library's pending images with the engine, committing in batches.

Results are handed to a writer thread (``worker.writer``) a batch at a time and stored a
transaction at a time, so an interruption at any point (Ctrl-C, kill, power loss) loses at most
the few batches not yet committed: those images are still pending (and claimed until the lease
ends) and a later run tags them. Nothing is written twice.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError

from joytag_desktop.library.library import Library
from joytag_desktop.library.records import ImageResult, ModelInfo
from joytag_desktop.library.work import WorkQueue, retrying
from joytag_desktop.library.worker_state import WorkerState
from joytag_desktop.worker.writer import QUEUED_BATCHES, StoreWriter

if TYPE_CHECKING:
    from joytag_desktop.inference.engine import TaggingEngine

COMMIT_EVERY = 32
QUEUE_ERRORS = (DBAPIError, OSError)  # what a lost database server raises
CLAIM_EVERY = 64  # images claimed at once: two commits' worth, so the model never waits for a claim


@dataclass
class TaggingProgress:
    done: int
    failed: int
    total: int  # pending when the run started, plus any that became pending since
    images_per_second: float

    @property
    def seconds_left(self) -> float | None:
        if self.images_per_second <= 0:
            return None
        return max(0, self.total - self.done) / self.images_per_second


@dataclass
class TaggingReport:
    tagged: int = 0
    failed: int = 0
    cancelled: bool = False
    seconds: float = 0.0


def _pending_stream(
    queue: WorkQueue,
    model_id: int,
    claimed: list[tuple[int, str | None]],
    cancel: threading.Event | None,
    page: int = CLAIM_EVERY,
) -> Iterator[Path]:
    """Images pending for one model that no other worker holds, claimed a page at a time;
    ``claimed`` records (id, hash) in order. An image whose lease ran out while it was in flight
    and that this worker claimed again is not tagged twice in one pass."""
    yielded: set[int] = set()
    while cancel is None or not cancel.is_set():
        rows = queue.claim(model_id, page)
        if not rows:
            return
        for image_id, path, content_hash in rows:
            if image_id in yielded:
                continue
            yielded.add(image_id)
            claimed.append((image_id, content_hash))
            yield Path(path)


def tag_pending(
    library: Library,
    engine: TaggingEngine,
    model: ModelInfo,
    progress: Callable[[TaggingProgress], None] | None = None,
    cancel: threading.Event | None = None,
    commit_every: int = COMMIT_EVERY,
    after_commit: Callable[[list[int]], None] | None = None,
    queue: WorkQueue | None = None,
    queued_batches: int = QUEUED_BATCHES,
) -> TaggingReport:
    """Tag every image pending for ``model`` (the library's row of the engine's tagger) that no
    other worker holds; returns counts. Safe to interrupt and rerun.

    ``after_commit`` gets the ids of each committed batch (e.g. to write sidecars right away).
    ``queue`` is the worker's place in the shared queue (one for this call if not given).
    Batches of ``commit_every`` go to a writer thread (``StoreWriter``) with room for
    ``queued_batches``: inference waits for a commit only when that is full; ``after_commit`` and
    the lease renewals run on it.
    """
    own_queue = queue is None
    if queue is None:
        queue = WorkQueue(library.database, device=engine.describe())
    queue.models = sorted(set(queue.models) | {model.name})
    report = TaggingReport()
    total = retrying(lambda: library.pending_count(model.id), "counting pending images")
    started = time.perf_counter()
    claimed: list[tuple[int, str | None]] = []
    batch: list[ImageResult] = []
    # Storing runs on its own thread: inference hands each batch over and goes on.
    writer = StoreWriter(library, queue, after_commit, depth=queued_batches)

    def commit() -> None:
        if batch:
            writer.submit(batch, model, engine.tags, engine.vocabulary.categories, report.tagged, report.failed)
            batch.clear()

    queue.report(WorkerState.TAGGING)
    try:
        while True:
            claimed.clear()
            # A GPU's big batches claim more at once: a claim is a round trip to the server.
            page = max(CLAIM_EVERY, 4 * int(getattr(engine, "batch_size", 1) or 1))
            stream = _pending_stream(queue, model.id, claimed, cancel, page)
            for index, result in enumerate(engine.tag_paths(stream, cancel=cancel)):
                image_id, content_hash = claimed[index]
                # The model's answer, as the tag command's default rule shows it: after its implications.
                scores = None if result.scores is None else engine.policy.inherited(result.scores)
                batch.append(
                    ImageResult(image_id, scores, result.embedding, result.error, content_hash, str(result.path))
                )
                if result.ok:
                    report.tagged += 1
                else:
                    report.failed += 1
                if len(batch) >= commit_every:
                    commit()
                if progress is not None:
                    elapsed = time.perf_counter() - started
                    done = report.tagged + report.failed
                    progress(TaggingProgress(done, report.failed, max(total, done), done / elapsed if elapsed else 0.0))
            commit()
            writer.flush()  # what this pass tagged is stored before the pending images are counted
            # Images still pending are held by other workers: their claims end when they store
            # them, or run out if they died; then this worker takes them.
            if cancel is not None and cancel.is_set():
                break
            if not retrying(lambda: library.pending_count(model.id), "counting pending images"):
                break
            if cancel is not None:
                cancel.wait(min(2.0, queue.lease / 4))
            else:
                time.sleep(min(2.0, queue.lease / 4))
    finally:
        writer.close()  # stores what was handed over (a cancel, an error elsewhere) before the release
        with contextlib.suppress(*QUEUE_ERRORS):  # the server went away: the leases run out instead
            queue.release(model.id)  # what was claimed ahead and not reached (cancelled, failed)
            if own_queue:
                queue.close()
    report.cancelled = bool(cancel is not None and cancel.is_set())
    report.seconds = time.perf_counter() - started
    return report
