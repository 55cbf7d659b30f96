"""Real watchdog observers on real folders: the library follows the file system, and the worker tags."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.fixture_files import FORMAT_DIR, IMAGES_DIR
from helpers.library import give_scores, paths_of, write_photo
from joytag_desktop.library import Library
from joytag_desktop.library.schema import Status
from joytag_desktop.worker.watcher import FolderWatcher
from joytag_desktop.worker.worker import TaggingWorker, WorkerSettings

SETTLE = 0.3


def wait_for(condition, timeout: float = 20.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


@pytest.fixture
def setup(tmp_path: Path):
    root = tmp_path / "Pictures"
    root.mkdir()
    library = Library(tmp_path / "lib.sqlite3")
    library.add_root(root)
    library.scan()
    watcher = FolderWatcher(library, settle_seconds=SETTLE, poll_seconds=0.05)
    watcher.start()
    yield library, watcher, root
    watcher.stop()
    library.close()


def status_of(library: Library, path: Path) -> str | None:
    image = library.image_by_path(path)
    return image.status if image else None


def test_create_modify_move_delete(setup) -> None:
    library, watcher, root = setup
    photo = write_photo(root / "a.jpg", color=(10, 20, 30))
    assert wait_for(lambda: status_of(library, photo) == Status.PENDING)
    give_scores(library, ["cat"], {photo: {"cat": 0.9}})
    first_hash = library.image_by_path(photo).content_hash

    # Touching the file without changing it does not retag it.
    os.utime(photo, (time.time(), time.time() + 5))
    assert watcher.flush()
    time.sleep(SETTLE * 3)
    assert watcher.flush()
    assert status_of(library, photo) == Status.TAGGED

    # New content is re-hashed and queued again.
    write_photo(photo, color=(200, 20, 30))
    assert wait_for(lambda: library.image_by_path(photo).content_hash != first_hash)
    assert status_of(library, photo) == Status.PENDING

    give_scores(library, ["cat"], {photo: {"cat": 0.8}})

    # A rename into a new folder keeps the row and its tags.
    (root / "sub").mkdir()
    moved = root / "sub" / "renamed.jpg"
    image_id = library.image_by_path(photo).id
    photo.rename(moved)
    assert wait_for(lambda: status_of(library, moved) == Status.TAGGED)
    assert library.image_by_path(moved).id == image_id and library.image_by_path(photo) is None
    assert paths_of(library, "cat") == ["renamed.jpg"]

    # Moving a whole folder keeps everything inside.
    (root / "sub").rename(root / "album")
    assert wait_for(lambda: status_of(library, root / "album" / "renamed.jpg") == Status.TAGGED)
    assert library.image_by_path(root / "album" / "renamed.jpg").id == image_id

    # Deleting marks it missing (not forgotten).
    (root / "album" / "renamed.jpg").unlink()
    assert wait_for(lambda: status_of(library, root / "album" / "renamed.jpg") == Status.MISSING)
    assert paths_of(library, "cat") == []


def test_folder_copied_in_is_indexed_and_deleted_folder_goes_missing(setup, tmp_path: Path) -> None:
    library, _watcher, root = setup
    outside = tmp_path / "card"
    for index in range(5):
        # Distinct content: (0, 0, 0) and (1, 0, 0) encode to the same JPEG, and a copy that appears
        # in the batch where its twin vanishes is rightly taken for a move.
        write_photo(outside / "DCIM" / f"IMG_{index}.jpg", color=(40 * index, 0, 0))
    shutil.copytree(outside, root / "import")
    assert wait_for(lambda: library.count("status:pending") == 5)
    shutil.rmtree(root / "import")
    assert wait_for(lambda: library.count("status:missing") == 5)


def test_burst_of_many_files_is_coalesced(setup) -> None:
    library, watcher, root = setup
    calls: list[int] = []
    watcher.on_change = lambda report: calls.append(report.added)
    source = write_photo(root.parent / "template.jpg")
    data = source.read_bytes()
    for index in range(600):
        (root / f"burst_{index:04d}.jpg").write_bytes(data + index.to_bytes(4, "little"))
    assert wait_for(lambda: library.count("") == 600, timeout=60)
    assert watcher.flush()
    assert sum(calls) == 600
    assert len(calls) < 60, "events are applied in batches, not one by one"


def test_slowly_written_file_is_read_once_complete(setup) -> None:
    library, _watcher, root = setup
    data = (IMAGES_DIR / "rocket.jpg").read_bytes()
    target = root / "slow.jpg"
    with open(target, "wb") as handle:
        for start in range(0, len(data), len(data) // 8):
            handle.write(data[start : start + len(data) // 8])
            handle.flush()
            time.sleep(SETTLE * 0.8)
            assert library.image_by_path(target) is None, "a file still being written is not read"
    assert wait_for(lambda: status_of(library, target) == Status.PENDING)
    image = library.image_by_path(target)
    assert image.size == len(data) and image.error is None and (image.width, image.height) == (640, 427)


def test_hidden_and_non_image_files_are_ignored(setup) -> None:
    library, watcher, root = setup
    write_photo(root / ".partial.jpg")
    (root / "notes.txt").write_text("x")
    write_photo(root / "real.jpg")
    assert wait_for(lambda: library.count("") == 1)
    assert watcher.flush()
    assert paths_of(library, "") == ["real.jpg"]


def test_root_going_offline_marks_nothing_missing(setup, tmp_path: Path) -> None:
    library, watcher, root = setup
    write_photo(root / "a.jpg")
    assert wait_for(lambda: library.count("") == 1)
    root.rename(tmp_path / "unplugged")
    time.sleep(SETTLE * 4)
    assert watcher.flush()
    assert library.count("status:missing") == 0


def test_watch_limit_falls_back_to_rescans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "Huge"
    root.mkdir()
    library = Library(tmp_path / "lib.sqlite3")
    library.add_root(root)
    warnings: list[str] = []
    watcher = FolderWatcher(
        library, settle_seconds=SETTLE, poll_seconds=0.05, rescan_seconds=0.5, on_warning=warnings.append
    )

    def refuse(*args, **kwargs):
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(watcher._observer, "schedule", refuse)
    with watcher:
        assert watcher.state.polled == [str(root)] and watcher.state.watched == []
        write_photo(root / "late.jpg")
        assert wait_for(lambda: library.count("") == 1, timeout=10)
    assert len(warnings) == 1
    assert "max_user_watches" in warnings[0] and "rescanned every" in warnings[0]
    library.close()


@pytest.mark.slow
def test_worker_tags_pauses_resumes_and_cancels(tmp_path: Path) -> None:
    root = tmp_path / "Pictures"
    root.mkdir()
    for index in range(30):
        data = (IMAGES_DIR / "rocket.jpg").read_bytes()
        (root / f"{index:02d}.jpg").write_bytes(data + index.to_bytes(2, "little"))
    library = Library(tmp_path / "lib.sqlite3")
    library.add_root(root)
    library.scan()
    states: list[str] = []

    class Listener:
        def worker_state(self, state: str, detail: str) -> None:
            states.append(state)

        def worker_progress(self, progress) -> None:
            pass

        def worker_error(self, message: str) -> None:
            states.append(f"error:{message}")

        def worker_finished(self, report) -> None:
            pass

    worker = TaggingWorker(library, WorkerSettings(FORMAT_DIR / "tiny-learned-pos", "cpu", 2), Listener())
    worker.pause()
    worker.start()
    time.sleep(1.0)
    assert library.count("status:tagged") == 0, "a paused worker does no work"
    worker.resume()
    assert wait_for(lambda: library.count("status:tagged") >= 4, timeout=30)
    worker.cancel()
    assert wait_for(lambda: worker.state == "cancelled", timeout=10)
    done = library.count("status:tagged")
    worker.wake()  # a watcher event, a new file: a cancel holds until the user resumes
    time.sleep(1.0)
    assert library.count("status:tagged") == done, "cancel stops the run and holds"
    worker.resume()
    assert worker.wait_idle(60)
    assert library.count("status:tagged") == 30
    worker.stop()
    assert states[-1] == "stopped" and "paused" in states and "tagging" in states
    library.close()


@pytest.mark.slow
def test_worker_reports_a_missing_model_and_keeps_running(tmp_path: Path) -> None:
    root = tmp_path / "Pictures"
    write_photo(root / "a.jpg")
    library = Library(tmp_path / "lib.sqlite3")
    library.add_root(root)
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

    worker = TaggingWorker(library, WorkerSettings(None, "cpu"), Listener())
    worker.start()
    assert wait_for(lambda: bool(errors), timeout=20)
    assert "No tagger model is installed" in errors[0]
    worker.reload_model(WorkerSettings(FORMAT_DIR / "tiny-learned-pos", "cpu"))
    assert worker.wait_idle(30)
    assert library.count("status:tagged") == 1
    worker.stop()
    library.close()


@pytest.mark.slow
def test_sigkill_while_watching_then_restart_tags_everything_once(tmp_path: Path, tiny_model_dir: Path) -> None:
    root = tmp_path / "Pictures"
    root.mkdir()
    db = tmp_path / "lib.sqlite3"
    with Library(db) as library:
        library.add_root(root)
    command = [
        sys.executable,
        "-m",
        "joytag_desktop",
        "--db",
        str(db),
        "watch",
        "--model",
        str(tiny_model_dir),
        "--device",
        "cpu",
        "--batch-size",
        "2",
        "--settle",
        "0.3",
    ]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def tagged() -> int:
        with sqlite3.connect(db, timeout=30) as connection:
            return connection.execute("SELECT count(*) FROM images WHERE status='tagged'").fetchone()[0]

    try:
        time.sleep(3)  # start-up
        data = (IMAGES_DIR / "rocket.jpg").read_bytes()
        for index in range(150):
            (root / f"{index:03d}.jpg").write_bytes(data + index.to_bytes(2, "little"))
        assert wait_for(lambda: tagged() >= 30, timeout=120)
        assert first.poll() is None
        os.kill(first.pid, signal.SIGKILL)
    finally:
        first.wait(30)
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        before = dict(connection.execute("SELECT path, tagged_at FROM images WHERE status='tagged'"))
    assert len(before) < 150
    # Ctrl-C as a terminal delivers it: a runner that started us in the background (a shell without
    # job control) leaves SIGINT ignored, and a child inherits that (Python then never raises
    # KeyboardInterrupt); the watch command rightly honours it, so the test restores the default.
    second = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        assert wait_for(lambda: tagged() == 150, timeout=120)
    finally:
        second.send_signal(signal.SIGINT)
        second.wait(30)
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        after = dict(connection.execute("SELECT path, tagged_at FROM images"))
        duplicates = connection.execute(
            "SELECT count(*) FROM (SELECT image_id, tag_id FROM image_tags GROUP BY 1, 2 HAVING count(*) > 1)"
        ).fetchone()[0]
    assert len(after) == 150 and duplicates == 0
    assert all(after[path] == stamp for path, stamp in before.items()), "nothing was tagged twice"
