"""The worker's real store path, for bench_library.py: ``tag_pending`` with an engine that answers at
once (a GPU that never waits), so what is timed is claims, the writer thread, the store, the
lease renewals and the release. CPU time is the whole process's (every thread); bytes written
are what the process handed to ``write`` (``/proc/self/io`` ``wchar``: the WAL, the checkpoints
into the database file, the change log), per stored image."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from joytag_desktop.inference.engine import TagResult
from joytag_desktop.library import Library
from joytag_desktop.taggers.vocabulary import Policy


@dataclass
class _Vocabulary:
    categories: list[str]


class InstantEngine:
    """What ``tag_pending`` needs of a ``TaggingEngine``: scores like sigmoid outputs (nearly all
    near 0, about a hundred above the storage floor), from a small pool so making them costs
    nothing."""

    def __init__(
        self, names: list[str], categories: list[str], batch_size: int = 64, pool: int = 64, seconds: float = 0.0
    ) -> None:
        self.seconds = seconds  # per image: a device's inference time (it waits, it does not use the CPU)
        rng = np.random.default_rng(2)
        self.tags = names
        self.vocabulary = _Vocabulary(categories)
        self.policy = Policy(default=0.4)  # no implications: the scores are stored as made
        self.batch_size = batch_size
        self._scores = []
        for _ in range(pool):
            scores = (rng.random(len(names)) * 0.05).astype(np.float32)
            scores[rng.choice(len(names), 100, replace=False)] = rng.uniform(0.05, 1.0, 100)
            self._scores.append(scores)
        self._embeddings = [rng.standard_normal(768).astype(np.float32) for _ in range(pool)]

    def describe(self) -> str:
        return "instant (benchmark)"

    def tag_paths(self, paths: Iterable[Path], cancel: threading.Event | None = None) -> Iterator[TagResult]:
        for index, path in enumerate(paths):
            pick = index % len(self._scores)
            if self.seconds:
                time.sleep(self.seconds)
            yield TagResult(path, self._scores[pick], self._embeddings[pick])


def io_written() -> tuple[int, int]:
    """(wchar, write_bytes) of this process so far; (0, 0) where /proc is not there."""
    try:
        fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    except OSError:
        return 0, 0
    return int(fields["wchar"]), int(fields["write_bytes"])


def add_pending(db: Path, count: int) -> None:
    """``count`` new pending images after the last one (as a scan adds them)."""
    with sqlite3.connect(db) as raw:
        first = raw.execute("SELECT MAX(id) FROM images").fetchone()[0] + 1
        raw.executemany(
            "INSERT INTO images (id, root_id, path, folder, name, ext, size, mtime, width, height, format, status,"
            " added_at) VALUES (?, 1, ?, 'new', ?, 'jpg', 1, 1, 10, 10, 'JPEG', 'pending', ?)",
            (
                (i, f"/synthetic/store/{i}.jpg", f"{i}.jpg", datetime.now().isoformat(" "))
                for i in range(first, first + count)
            ),
        )
    with sqlite3.connect(db) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _inline(library: Library, engine: InstantEngine, info, queue) -> int:
    """The path before the writer thread: claim 64, store each 32 on the tagging thread, renew."""
    from joytag_desktop.library import ImageResult
    from joytag_desktop.worker.tagging import CLAIM_EVERY, COMMIT_EVERY

    stored = 0
    while rows := queue.claim(info.id, CLAIM_EVERY):
        for start in range(0, len(rows), COMMIT_EVERY):
            part = rows[start : start + COMMIT_EVERY]
            results = [
                ImageResult(i, r.scores, r.embedding, None, content_hash)
                for (i, _, content_hash), r in zip(part, engine.tag_paths(Path(p) for _, p, _ in part), strict=True)
            ]
            stored += library.store_results(results, info, engine.tags, engine.vocabulary.categories, queue.id)
            queue.renew()
    queue.release(info.id)
    return stored


def bench_store_path(db: Path, model, count: int, inline: bool = False, inference_ms: float = 0.0) -> dict:
    """``count`` new pending images tagged by ``model`` through ``tag_pending`` (``inline``: the
    old path, each batch stored on the tagging thread; ``inference_ms``: the engine takes that
    long per image, as a device would): images/s, CPU ms and bytes written per image."""
    from joytag_desktop.library.work import WorkQueue
    from joytag_desktop.worker.tagging import tag_pending

    add_pending(db, count)
    engine = InstantEngine(model.names, model.categories, seconds=inference_ms / 1000)
    with Library(db) as library:
        info = library.model(model.name)
        library.pending_count(info.id)  # warm: the first query of a process reads the schema
        queue = WorkQueue(library.database)
        written, cpu, start = io_written(), time.process_time(), time.perf_counter()
        if inline:
            tagged = _inline(library, engine, info, queue)
        else:
            tagged = tag_pending(library, engine, info, queue=queue).tagged  # type: ignore[arg-type]
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        after = io_written()
        queue.close()
    if tagged != count:
        raise SystemExit(f"the store path tagged {tagged} of {count} images")
    wchar, disk = after[0] - written[0], after[1] - written[1]
    figures = {
        "images_per_s": round(count / seconds, 1),
        "cpu_ms_per_image": round(cpu * 1000 / count, 3),
        "bytes_written_per_image": round(wchar / count),
        "disk_bytes_written_per_image": round(disk / count),
        "images": count,
        "claims": True,
    }
    path = "old path, stored on the tagging thread" if inline else "writer thread"
    if inference_ms:
        path += f", inference {inference_ms:g} ms per image"
    print(
        f"  store ({path}; claims and leases): {count:,} images in {seconds:.2f} s ="
        f" {figures['images_per_s']:,.0f} images/s, {figures['cpu_ms_per_image']:.2f} CPU ms and"
        f" {wchar / count / 1024:,.1f} KB written per image ({disk / count / 1024:,.1f} KB reached the disk)"
    )
    return figures


def bench_store_overlap(db: Path, model, count: int, inference_ms: float) -> dict:
    """Both paths with an engine that takes ``inference_ms`` per image: the old one adds the store's
    time to inference's, the writer thread overlaps them."""
    old = bench_store_path(db, model, count, inline=True, inference_ms=inference_ms)
    new = bench_store_path(db, model, count, inference_ms=inference_ms)
    return {
        "inference_ms_per_image": inference_ms,
        "images": count,
        "old_images_per_s": old["images_per_s"],
        "images_per_s": new["images_per_s"],
    }
