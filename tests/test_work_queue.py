"""Claims late in a pass (issue 33): each worker looks past its own cursor, so a claim costs the same
at the end of a pass as at its start, yet images that become pending behind the cursor (released by
another worker, a lease run out, retagged, a row committed late) are still found before the pass
ends; two workers claiming at once never hold the same image. On SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from joytag_desktop.library import ImageResult, Library
from joytag_desktop.library.records import ModelInfo
from joytag_desktop.library.work import WorkQueue

pytestmark = pytest.mark.backends  # the same tests on SQLite and on PostgreSQL


def _add_images(library: Library, root: Path, ids: list[int]) -> None:
    """Pending images with chosen ids (rows alone: no file is read by a claim)."""
    root.mkdir(parents=True)
    root_id = library.add_root(root).id
    with library.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO images (id, root_id, path, folder, name, ext, size, mtime, status, added_at,"
                " rating_manual) VALUES (:id, :root, :path, 'p', :name, 'jpg', 1, 1, 'pending', :now, false)"
            ),
            [
                {"id": i, "root": root_id, "path": str(root / f"{i}.jpg"), "name": f"{i}.jpg", "now": datetime.now()}
                for i in ids
            ],
        )


def _store(library: Library, model: ModelInfo, queue: WorkQueue, ids: list[int]) -> int:
    """Results for ``ids`` stored as the worker stores them (only what it still holds)."""
    results = [ImageResult(i, np.array([0.9], dtype=np.float32), None, None) for i in ids]
    return library.store_results(results, model, ["cat"], ["general"], worker=queue.id)


def _claim(queue: WorkQueue, model: ModelInfo, limit: int) -> list[int]:
    return [row[0] for row in queue.claim(model.id, limit)]


def test_claim_late_in_a_pass_finds_what_became_pending_behind_it(db_url: str, tmp_path: Path) -> None:
    with Library(db_url) as library:
        _add_images(library, tmp_path / "p", list(range(2, 82, 2)))  # 2, 4, … 80: gaps for rows committed late
        first = library.add_model("first", auto=True)
        library.add_model("second", auto=True)  # so tagged images stay pending for it
        worker = WorkQueue(library.database)
        released, expired = WorkQueue(library.database), WorkQueue(library.database, lease=0.5)
        assert _claim(released, first, 3) == [2, 4, 6]
        assert _claim(expired, first, 3) == [8, 10, 12]
        tagged: list[int] = []
        for _ in range(4):  # the worker's pass, a page at a time, up to image 60
            page = _claim(worker, first, 6)
            assert _store(library, first, worker, page) == len(page)
            tagged += page
        assert tagged == list(range(14, 62, 2))
        # Behind the worker's cursor now: images given back, a lease run out, a retag, a late row.
        released.release()
        library.retag([20, 22], [first.id])
        _add_images(library, tmp_path / "late", [3])
        time.sleep(0.6)
        later = _claim(worker, first, 6)
        assert later == [62, 64, 66, 68, 70, 72]  # on from where it was, not from the start
        rest: list[int] = []
        while page := _claim(worker, first, 6):
            rest += page
        assert sorted(rest) == [2, 3, 4, 6, 8, 10, 12, 20, 22, 74, 76, 78, 80]
        assert _store(library, first, worker, later + rest) == len(later + rest)
        assert library.pending_count(first.id) == 0
        assert _claim(worker, first, 6) == []
        # A new pass: a new image is found, and so is a retagged one far behind it.
        _add_images(library, tmp_path / "new", [81])
        library.retag([14], [first.id])
        assert sorted(_claim(worker, first, 6) + _claim(worker, first, 6)) == [14, 81]
        for queue in (worker, released, expired):
            queue.close()


def test_two_workers_claiming_at_once_never_share_an_image(db_url: str, tmp_path: Path) -> None:
    with Library(db_url) as setup:
        _add_images(setup, tmp_path / "p", list(range(1, 301)))
        first = setup.add_model("first", auto=True)
        setup.add_model("second", auto=True)
    taken: list[list[int]] = [[], []]
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            with Library(db_url, create=False) as library:
                queue = WorkQueue(library.database)
                while page := _claim(queue, first, 7):
                    taken[n] += page
                    assert _store(library, first, queue, page) == len(page)
                queue.close()
        except BaseException as exc:  # noqa: BLE001 - reported by the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert not set(taken[0]) & set(taken[1])
    assert sorted(taken[0] + taken[1]) == list(range(1, 301))
    with Library(db_url, create=False) as library:
        assert library.pending_count(first.id) == 0


def test_a_big_retag_lands_a_chunk_at_a_time_and_stops_when_cancelled(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk is its own transaction (the writer is free between them), reported as it lands;
    Cancel keeps what was queued and leaves the rest as it was."""
    from joytag_desktop.library import results as results_module

    monkeypatch.setattr(results_module, "RETAG_CHUNK", 10)
    with Library(db_url) as library:
        _add_images(library, tmp_path / "p", list(range(1, 36)))
        model = library.add_model("first", auto=True)
        library.store_results(
            [ImageResult(i, np.array([0.9], dtype=np.float32), None, None) for i in range(1, 36)], model, ["cat"]
        )
        cancel = threading.Event()
        seen: list[tuple[int, int, int]] = []

        def progress(done: int, total: int) -> None:
            with library.engine.connect() as connection:  # another connection sees each chunk committed
                pending = connection.execute(text("SELECT count(*) FROM images WHERE status = 'pending'")).scalar_one()
            seen.append((done, total, pending))
            if done >= 20:
                cancel.set()

        assert library.retag(range(1, 36), [model.id], progress, cancel) == 20
        assert seen == [(10, 35, 10), (20, 35, 20)]
        assert library.pending_count(model.id) == 20
        assert library.retag(range(1, 36), [model.id]) == 35  # again: the 15 left and the 20 queued
        assert library.pending_count(model.id) == 35
