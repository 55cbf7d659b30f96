"""The store's own thread: inference goes on while a commit is slow, batches that queued up are
stored together, and a failure of the writer reaches the tagging thread and the listener."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from helpers.fixture_files import FORMAT_DIR, IMAGES_DIR
from joytag_desktop.inference import TaggingEngine
from joytag_desktop.library import Library
from joytag_desktop.worker import writer
from joytag_desktop.worker.tagging import tag_pending
from joytag_desktop.worker.worker import TaggingWorker, WorkerSettings
from joytag_desktop.worker.writer import StoreError


def _photos(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    data = (IMAGES_DIR / "rocket.jpg").read_bytes()
    for index in range(count):
        (folder / f"{index:03d}.jpg").write_bytes(data + index.to_bytes(4, "little"))


@pytest.fixture(scope="module")
def engine() -> TaggingEngine:
    return TaggingEngine(
        FORMAT_DIR / "tiny-released-shape", device="cpu", batch_size=4, precision="float32", preprocessing="reference"
    )


def _wait_for(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.parametrize("budget", [3600.0, 0.0])
def test_inference_goes_on_while_a_store_is_slow(
    tmp_path: Path, engine: TaggingEngine, monkeypatch: pytest.MonkeyPatch, budget: float
) -> None:
    # A transaction takes what queued up only within its time budget (none: one batch each).
    monkeypatch.setattr(writer, "MERGE_SECONDS", budget)
    _photos(tmp_path / "photos", 40)
    with Library(tmp_path / "lib.db") as lib:
        lib.add_root(tmp_path / "photos")
        lib.scan()
        model = lib.add_model("tiny")
        gate = threading.Event()
        calls: list[int] = []
        store = lib.store_results

        def slow_store(results, *args, **kwargs):  # the first commit blocks until the test lets it go
            calls.append(len(results))
            if len(calls) == 1:
                assert gate.wait(60), "the test never released the store"
            return store(results, *args, **kwargs)

        lib.store_results = slow_store  # type: ignore[method-assign]
        seen: list[int] = []

        def progress(state) -> None:
            seen.append(state.done)
            if state.done >= 16 and not gate.is_set():
                # Three batches of four past the one being stored: inference did not wait for it.
                assert lib.count("status:tagged") == 0, "nothing is committed while the store is held"
                gate.set()

        result: list = []
        runner = threading.Thread(
            target=lambda: result.append(tag_pending(lib, engine, model, progress, commit_every=4, queued_batches=3))
        )
        runner.start()
        runner.join(120)
        assert not runner.is_alive()
        assert gate.is_set(), f"inference stopped while the store was held (reached {max(seen, default=0)})"
        assert result[0].tagged == 40
        assert lib.count("status:tagged") == 40
        assert sum(calls) == 40
        if budget:
            assert len(calls) < 10, f"batches that queued up go into one transaction ({calls})"
            assert max(calls) > 4
        else:
            assert calls == [4] * 10, "without time to spare each batch is a transaction of its own"


def test_a_full_queue_holds_inference_back(tmp_path: Path, engine: TaggingEngine) -> None:
    _photos(tmp_path / "photos", 40)
    with Library(tmp_path / "lib.db") as lib:
        lib.add_root(tmp_path / "photos")
        lib.scan()
        model = lib.add_model("tiny")
        gate = threading.Event()
        store = lib.store_results

        def held_store(results, *args, **kwargs):
            gate.wait(60)
            return store(results, *args, **kwargs)

        lib.store_results = held_store  # type: ignore[method-assign]
        seen: list[int] = []
        runner = threading.Thread(
            target=lambda: tag_pending(
                lib, engine, model, lambda s: seen.append(s.done), commit_every=4, queued_batches=2
            )
        )
        runner.start()
        time.sleep(3.0)
        # One batch in the store, two queued, one being filled (plus the engine's batch in flight).
        reached = max(seen, default=0)
        gate.set()
        runner.join(120)
        assert 12 <= reached <= 24, f"back-pressure: inference ran {reached} images ahead of a held store"
        assert lib.count("status:tagged") == 40


def test_a_store_failure_raises_in_the_tagging_thread_and_leaves_images_pending(
    tmp_path: Path, engine: TaggingEngine
) -> None:
    _photos(tmp_path / "photos", 20)
    with Library(tmp_path / "lib.db") as lib:
        lib.add_root(tmp_path / "photos")
        lib.scan()
        model = lib.add_model("tiny")

        def broken_store(*args, **kwargs):
            raise RuntimeError("disk full\nsecond line")

        lib.store_results = broken_store  # type: ignore[method-assign]
        with pytest.raises(StoreError, match=r"^storing results failed: disk full$"):
            tag_pending(lib, engine, model, commit_every=4)
        assert lib.count("status:tagged") == 0
        assert lib.pending_count(model.id) == 20
        del lib.store_results
        assert tag_pending(lib, engine, model, commit_every=4).tagged == 20, "the claims were given back"


@pytest.mark.slow
def test_a_writer_error_reaches_the_listener_as_one_line(tmp_path: Path) -> None:
    _photos(tmp_path / "photos", 8)
    library = Library(tmp_path / "lib.sqlite3")
    library.add_root(tmp_path / "photos")
    library.scan()
    errors: list[str] = []

    class Listener:
        def worker_state(self, state, detail):
            pass

        def worker_progress(self, progress):
            pass

        def worker_error(self, message):
            errors.append(message)

        def worker_finished(self, report):
            pass

    def broken_store(*args, **kwargs):
        raise RuntimeError("no space left on device\nwhile writing the WAL")

    library.store_results = broken_store  # type: ignore[method-assign]
    worker = TaggingWorker(library, WorkerSettings(FORMAT_DIR / "tiny-learned-pos", "cpu", 2), Listener())
    worker.start()
    try:
        assert _wait_for(lambda: bool(errors), timeout=60)
        assert errors[0] == "storing results failed: no space left on device"
        assert library.count("status:tagged") == 0
    finally:
        worker.stop()
        library.close()
