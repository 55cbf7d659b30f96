"""One library on a PostgreSQL server, several tagging workers: claims, leases, faults, status.

Real processes (``joytag-desktop autotag``) against a real server started by the tests; one is
SIGKILLed and the server is restarted mid-run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from helpers.library import write_photo
from joytag_desktop.library import Library
from joytag_desktop.library.work import WorkQueue, claims_in_force, worker_statuses

MODEL = Path(__file__).parent / "fixtures" / "joytag-format" / "tiny-learned-pos"


def _photos(folder: Path, count: int) -> None:
    for i in range(count):
        colour = ((i * 37) % 256, (i * 91) % 256, (i * 53) % 256)
        write_photo(folder / f"{i // 100:02d}" / f"img{i:04d}.jpg", size=(40 + i % 23, 30 + i % 17), color=colour)


def _cli(*arguments: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "joytag_desktop", *arguments],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _run(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "joytag_desktop", *arguments], capture_output=True, text=True, timeout=300
    )


def _holds_claims(library: Library, machine: str) -> bool:
    with library.engine.connect() as connection:
        return bool(
            connection.execute(
                text("SELECT count(*) FROM claims c JOIN workers w ON w.id = c.worker WHERE w.machine = :m"),
                {"m": machine},
            ).scalar_one()
        )


def _until(condition, what: str, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


@pytest.mark.slow
def test_claims_are_exclusive_and_expire(postgres, tmp_path: Path) -> None:
    """Two queues never hold the same image; a lease that runs out lets the other take it; a
    result stored by a worker that lost its claim is dropped."""
    url = postgres.create_database()
    _photos(tmp_path / "photos", 30)
    with Library(url) as library:
        library.add_root(tmp_path / "photos")
        library.scan()
        model = library.add_model("m", auto=True)
        first, second = WorkQueue(library.database, lease=1.0), WorkQueue(library.database, lease=60.0)
        a = [row[0] for row in first.claim(model.id, 20)]
        b = [row[0] for row in second.claim(model.id, 20)]
        assert len(a) == 20 and len(b) == 10 and not set(a) & set(b)
        assert second.claim(model.id, 5) == []  # everything is held
        time.sleep(1.5)  # the first worker's lease runs out
        taken = [row[0] for row in second.claim(model.id, 50)]
        assert sorted(taken) == sorted(a)
        assert claims_in_force(library.database) == 30
        import numpy as np

        from joytag_desktop.library.records import ImageResult

        late = [ImageResult(a[0], np.array([0.9], dtype=np.float32), None, None, None, None)]
        assert library.store_results(late, model, ["cat"], ["general"], worker=first.id) == 0
        assert library.store_results(late, model, ["cat"], ["general"], worker=second.id) == 1
        first.close()
        second.close()
        assert claims_in_force(library.database) == 0
        states = {w.id: w.state for w in worker_statuses(library.database)}
        assert states == {first.id: "stopped", second.id: "stopped"}


@pytest.mark.slow
def test_three_workers_one_killed_server_restarted(postgres, tmp_path: Path) -> None:
    """Three autotag processes share 300 images; one is SIGKILLed, the server restarts under the
    others. Every image ends tagged exactly once, hand edits made meanwhile stay, and searches
    give what a single machine's library gives."""
    url = postgres.create_database()
    photos = tmp_path / "photos"
    _photos(photos, 300)
    assert _run("--db", url, "index", str(photos), "--no-watch").returncode == 0
    reference = str(tmp_path / "single.sqlite3")
    assert _run("--db", reference, "index", str(photos), "--no-watch").returncode == 0

    watcher = Library(url, create=False)  # this process's posting lists must follow the others
    assert len(watcher.search("").ids) == 300  # builds its posting lists
    manual = sorted(str(p) for p in photos.rglob("img00[0-4]*.jpg"))[:10]
    ids = [watcher.image_by_path(p).id for p in manual]
    watcher.set_manual_tag(ids[:5], "holiday", True)

    def start(n: int) -> subprocess.Popen:
        return _cli("--db", url, "autotag", "--model", str(MODEL), "--device", "cpu", "--lease", "3",
                    env={"JOYTAG_DESKTOP_MACHINE": f"machine-{n}"})  # fmt: skip

    # machine-0 is frozen the moment it holds claims, so it surely dies in the middle of its work
    # however fast or slow this machine starts the others.
    workers = [start(0)]
    try:
        _until(lambda: _holds_claims(watcher, "machine-0"), "machine-0 claims images")
        workers[0].send_signal(signal.SIGSTOP)
        workers += [start(1), start(2)]
        _until(lambda: watcher.count_by_status()["tagged"] >= 40, "the others tagged some")
        # A frozen worker's claims run out (3 s) and the others take them; then it dies.
        workers[0].send_signal(signal.SIGKILL)
        watcher.set_manual_tag(ids[5:], "holiday", True)  # edits while the others tag
        postgres.restart()  # every connection is cut
        outputs = [w.communicate(timeout=300) for w in workers[1:]]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    for worker, (_out, err) in zip(workers[1:], outputs, strict=True):
        assert worker.returncode == 0, err
        assert "Traceback" not in err

    with Library(url, create=False) as library:
        assert library.count_by_status() == {"pending": 0, "tagged": 300, "error": 0, "missing": 0}
        with library.engine.connect() as connection:
            # Each tagging stored appends one (kind 2) row: exactly one per image and model.
            stored = connection.execute(
                text("SELECT image_id, count(*) FROM search_changes WHERE kind = 2 GROUP BY image_id")
            ).all()
            assert len(stored) == 300 and {count for _, count in stored} == {1}
            assert connection.execute(text("SELECT count(*) FROM claims")).scalar_one() == 0
        assert len(library.search("holiday").ids) == 10
        machines = {w.machine: w.state for w in worker_statuses(library.database)}
        assert machines["machine-1"] == machines["machine-2"] == "stopped"
        assert machines["machine-0"] in ("tagging", "gone")  # killed: no goodbye

    assert _run("--db", reference, "autotag", "--model", str(MODEL), "--device", "cpu").returncode == 0
    with Library(reference, create=False) as single, Library(url, create=False) as shared:
        names = [name for name, _count in single.tag_counts(limit=12)]
        assert names
        for query in [*names[:8], f"{names[0]} -{names[1]}", f"{names[2]} OR {names[3]}", "rating:general"]:
            expected = sorted(row[1] for row in single.search_rows(query, limit=400)[0])
            assert sorted(row[1] for row in shared.search_rows(query, limit=400)[0]) == expected, query
            # The process that was open all along follows the other machines' changes.
            assert sorted(row[1] for row in watcher.search_rows(query, limit=400)[0]) == expected, query
    watcher.close()


@pytest.mark.slow
def test_status_command_lists_workers(postgres, tmp_path: Path) -> None:
    url = postgres.create_database()
    _photos(tmp_path / "photos", 5)
    assert _run("--db", url, "index", str(tmp_path / "photos")).returncode == 0
    done = _run("--db", url, "autotag", "--model", str(MODEL), "--device", "cpu")
    assert done.returncode == 0, done.stderr
    shown = _run("--db", url, "status", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    summary = json.loads(shown.stdout)
    assert summary["images"]["tagged"] == 5 and summary["claims"] == 0
    (worker,) = summary["workers"]
    assert worker["state"] == "stopped" and worker["done"] == 5 and worker["models"] == ["tiny-learned-pos"]
    plain = _run("--db", url, "status")
    assert "5 image(s): 0 pending, 5 tagged" in plain.stdout and "stopped, 5 tagged" in plain.stdout


@pytest.mark.slow
def test_one_store_two_mount_points(postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Machine alpha added /…/a/photos; machine beta has the same store at /…/b/shots. Beta reads,
    scans and tags in its own paths; its unmounted drive is offline for beta only."""
    import shutil

    url = postgres.create_database()
    here = tmp_path / "a" / "photos"
    _photos(here, 120)
    monkeypatch.setenv("JOYTAG_DESKTOP_MACHINE", "alpha")
    with Library(url) as alpha:
        alpha.add_root(here)
        alpha.scan()
        first = alpha.image_by_path(here / "00" / "img0001.jpg")
        alpha.set_manual_tag([first.id], "holiday", True)
    there = tmp_path / "b" / "shots"
    shutil.copytree(here, there, copy_function=shutil.copy2)  # the same store, mounted elsewhere

    monkeypatch.setenv("JOYTAG_DESKTOP_MACHINE", "beta")
    with Library(url) as beta:
        with pytest.raises(Exception, match="not a folder"):
            beta.map_root(str(here), tmp_path / "nowhere")
        (root,) = beta.roots()
        mapped = beta.map_root(root.uid, there)
        assert mapped.path == str(there)
        assert [r.path for r in beta.roots()] == [str(there)]
        report = beta.scan()
        assert (report.added, report.missing) == (0, 0)
        assert beta.count_by_status()["missing"] == 0
        assert beta.image(first.id).path == str(there / "00" / "img0001.jpg")
        assert beta.search_rows("holiday")[0][0][1] == str(there / "00" / "img0001.jpg")
        assert beta.image_by_path(there / "01" / "img0100.jpg") is not None
        assert dict(beta.folder_counts())[str(there / "01")] == 20
        assert len(beta.search("folder:photos/01").ids) == 20  # folder names as the store has them
    tagged = subprocess.run(
        [sys.executable, "-m", "joytag_desktop", "--db", url, "autotag", "--model", str(MODEL), "--device", "cpu"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "JOYTAG_DESKTOP_MACHINE": "beta"},
    )  # fmt: skip
    assert tagged.returncode == 0, tagged.stderr
    assert "0 failed" in tagged.stderr

    there.rename(tmp_path / "b" / "unplugged")  # beta's drive goes away
    there.mkdir()  # an empty mount point stays
    with Library(url) as beta:
        assert beta.scan().offline
        assert [r.online for r in beta.roots()] == [False]
    monkeypatch.setenv("JOYTAG_DESKTOP_MACHINE", "alpha")
    with Library(url) as alpha:
        assert alpha.count_by_status() == {"pending": 0, "tagged": 120, "error": 0, "missing": 0}
        assert [(r.path, r.online) for r in alpha.roots()] == [(str(here), True)]
        assert alpha.search_rows("holiday")[0][0][1] == str(here / "00" / "img0001.jpg")
        assert alpha.scan().missing == 0


def test_mount_map_translates_both_ways_and_across_systems() -> None:
    from joytag_desktop.library.mounts import Mount, MountMap, folder_for

    posix = MountMap([Mount("/mnt/nas/photos", "/Volumes/photos")])
    assert posix.to_local("/mnt/nas/photos/2024/a.jpg") == "/Volumes/photos/2024/a.jpg"
    assert posix.to_stored("/Volumes/photos/2024/a.jpg") == "/mnt/nas/photos/2024/a.jpg"
    assert posix.to_local("/mnt/nas/photosX/a.jpg") == "/mnt/nas/photosX/a.jpg"  # not under the root
    assert posix.to_stored("/Volumes/photos") == "/mnt/nas/photos"
    windows = MountMap([Mount("/mnt/nas/photos", "P:\\photos")])
    assert windows.to_local("/mnt/nas/photos/2024/a.jpg") == "P:\\photos\\2024\\a.jpg"
    assert windows.to_stored("P:\\photos\\2024\\a.jpg") == "/mnt/nas/photos/2024/a.jpg"
    assert folder_for("/mnt/nas/photos", "/mnt/nas/photos/2024") == "photos/2024"
    assert not MountMap([Mount("/same", "/same")])


def test_similar_images_use_pgvector_on_the_server(postgres, tmp_path: Path) -> None:
    """On a server with pgvector the embeddings are rows of image_vectors (stored with the tagging,
    dropped with it), the model has an HNSW index the query uses, and more-like-this answers as
    exact cosine search does."""
    import numpy as np

    from joytag_desktop.library.records import ImageResult

    if not postgres.has_pgvector():
        pytest.skip("this PostgreSQL has no pgvector")
    url = postgres.create_database()
    _photos(tmp_path / "photos", 300)
    rng = np.random.default_rng(7)
    with Library(url) as library:
        library.add_root(tmp_path / "photos")
        library.scan()
        model = library.add_model("m", auto=True)
        ids = sorted(library.search("").ids)
        themes = rng.normal(size=(12, 64))
        vectors = {i: themes[n % 12] + 0.3 * rng.normal(size=64) for n, i in enumerate(ids)}
        # A library tagged before pgvector: half the embeddings exist only in image_models.
        with library.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS image_vectors"))
        library.similarity._server = None
        from joytag_desktop.library import pgvectors

        real_available = pgvectors.ServerVectors.available
        pgvectors.ServerVectors.available = property(lambda self: False)
        try:
            library.store_results(
                [ImageResult(i, np.array([0.5], np.float32), vectors[i].astype(np.float32), None, None, None)
                 for i in ids[:150]], model, ["cat"], ["general"])  # fmt: skip
        finally:
            pgvectors.ServerVectors.available = real_available
        library.store_results(
            [ImageResult(i, np.array([0.5], np.float32), vectors[i].astype(np.float32), None, None, None)
             for i in ids[150:]], model, ["cat"], ["general"])  # fmt: skip
        assert library.similarity.server_vectors() is not None
        for source in ids[:5] + ids[200:205]:
            found = library.similar(source, limit=10)
            matrix = np.stack([vectors[i].astype(np.float16).astype(np.float32) for i in ids])
            query = vectors[source].astype(np.float16).astype(np.float32)
            cosines = matrix @ query / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query))
            exact = [ids[k] for k in np.argsort(-cosines) if ids[k] != source][:10]
            assert [m.image_id for m in found] == exact
        with library.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM image_vectors")).scalar_one() == 300
            definition = connection.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
                {"name": f"ix_image_vectors_model_{model.id}"},
            ).scalar_one()
        assert "USING hnsw" in definition and "vector(64)" in definition and f"model_id = {model.id}" in definition
        library.retag(ids[:10])  # a tagging dropped: its vector goes with it
        library.forget_images(ids[10:20])
        with library.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM image_vectors")).scalar_one() == 280


def test_status_bar_shows_the_other_workers(qtbot, tmp_path: Path) -> None:
    """The window's status bar names the workers of other processes and machines, not its own."""
    from sqlalchemy import update

    from joytag_desktop.gui.app import gui_settings
    from joytag_desktop.gui.main_window import MainWindow
    from joytag_desktop.library.schema import WorkerRow

    library = Library(tmp_path / "lib.sqlite3")
    window = MainWindow(library, gui_settings(), start_worker=False)
    qtbot.addWidget(window)
    window.show()
    label = window.other_workers
    own = WorkQueue(library.database, device="CPU")
    own.report("tagging")  # this process's own worker is not "another"
    label.refresh()
    qtbot.wait(300)
    assert label.isHidden()
    other = WorkQueue(library.database, device="CUDA (NVIDIA H200)")
    other.models = ["joytag"]
    other.done, other.rate = 1234, 41.5
    other.report("tagging")
    with library.Session.begin() as session:  # as if it ran on the GPU box
        session.execute(update(WorkerRow).where(WorkerRow.id == other.id).values(machine="gpu-box", host="gpu-box"))
    label.refresh()
    qtbot.waitUntil(label.isVisible, timeout=5000)
    assert label.text() == "1 other worker tagging, 41.5 images/s"
    assert "gpu-box" in label.toolTip() and "1,234 tagged" in label.toolTip() and "H200" in label.toolTip()
    other.close()
    label.refresh()
    qtbot.waitUntil(label.isHidden, timeout=5000)
    own.close()
    window.close()
    library.close()


def test_window_locates_a_root_mounted_elsewhere(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a computer where the shared folder is at another path, the folder panel shows it
    offline with a hint; Locate on this computer… maps it and the grid shows the local files."""
    import shutil

    from joytag_desktop.gui.app import gui_settings
    from joytag_desktop.gui.main_window import MainWindow

    here, there = tmp_path / "a" / "photos", tmp_path / "b" / "shots"
    _photos(here, 12)
    db = tmp_path / "lib.sqlite3"
    monkeypatch.setenv("JOYTAG_DESKTOP_MACHINE", "alpha")
    with Library(db) as alpha:
        alpha.add_root(here)
        alpha.scan()
    shutil.copytree(here, there, copy_function=shutil.copy2)
    shutil.rmtree(here)  # on beta the path where alpha has it does not exist
    monkeypatch.setenv("JOYTAG_DESKTOP_MACHINE", "beta")
    library = Library(db)
    library.scan()  # beta finds the root offline
    window = MainWindow(library, gui_settings(), start_worker=False)
    qtbot.addWidget(window)
    window.show()
    tree = window.folders.tree
    qtbot.waitUntil(lambda: tree.topLevelItemCount() == 2, timeout=5000)
    item = tree.topLevelItem(1)
    assert "(offline)" in item.text(0) and "Locate on this computer" in item.toolTip(0)
    window.library_folders.locate(str(here), str(there))
    qtbot.waitUntil(lambda: tree.topLevelItemCount() == 2 and tree.topLevelItem(1).toolTip(0).startswith(str(there)),
                    timeout=10_000)  # fmt: skip
    assert "(offline)" not in tree.topLevelItem(1).text(0)

    # The grid showed the 12 rows at alpha's paths before: wait for the refresh that follows the scan.
    def shown_from_there() -> bool:
        rows = window.grid_model.rows
        return len(rows) == 12 and all(row[1].startswith(str(there)) for row in rows)

    qtbot.waitUntil(shown_from_there, timeout=10_000)
    first = window.grid_model.rows[0][0]  # its thumbnail failed while offline: read again from there
    qtbot.waitUntil(lambda: window.grid_model.has_thumbnail(first), timeout=10_000)
    assert library.count_by_status()["missing"] == 0
    window.close()
    library.close()


@pytest.mark.slow
def test_a_folder_mounted_again_shows_online_after_the_start_up_scan(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path
) -> None:
    """A share that was unmounted at the last scan and is back when the window opens: the start-up
    scan finds it, and the folder panel says so (not "offline" until something else reloads it)."""
    from joytag_desktop.gui.app import gui_settings
    from joytag_desktop.gui.main_window import MainWindow

    photos = tmp_path / "share" / "photos"
    _photos(photos, 4)
    monkeypatch.setenv("JOYTAG_DESKTOP_MACHINE", "laptop")
    library = Library(tmp_path / "lib.sqlite3")
    library.add_root(photos)
    library.scan()
    photos.rename(tmp_path / "share" / "away")  # unmounted
    library.scan()
    assert [root.online for root in library.roots()] == [False]
    (tmp_path / "share" / "away").rename(photos)  # mounted again before the window opens
    settings = gui_settings()
    settings.model = str(tiny_model_dir)
    settings.device = "cpu"
    window = MainWindow(library, settings)
    qtbot.addWidget(window)
    window.show()
    tree = window.folders.tree
    qtbot.waitUntil(lambda: [root.online for root in library.roots()] == [True], timeout=20_000)
    qtbot.waitUntil(
        lambda: tree.topLevelItemCount() == 2 and "(offline)" not in tree.topLevelItem(1).text(0), timeout=10_000
    )
    window.close()
    library.close()


@pytest.mark.slow
def test_a_watching_worker_is_one_worker_idle_between_bursts(postgres, tmp_path: Path) -> None:
    """`watch` and the window keep one place in the queue for their whole life: listed as soon as
    they start, idle between new files (not a new worker per burst, not "stopped"), stopped when
    they end."""
    from joytag_desktop.worker.worker import TaggingWorker, WorkerSettings

    url = postgres.create_database()
    photos = tmp_path / "photos"
    _photos(photos, 6)
    library = Library(url)
    worker = TaggingWorker(library, WorkerSettings(MODEL, "cpu", 2, lease=30))
    worker.start()
    try:
        # Nothing to tag yet, no model loaded: already one idle worker, its device not known.
        assert _wait(lambda: [(w.state, w.device) for w in worker_statuses(library.database)] == [("idle", "")], 15)
        library.add_root(photos)
        library.scan()
        worker.wake()
        assert _wait(lambda: library.count_by_status()["tagged"] == 6, 60) and worker.wait_idle(60)
        assert _wait(lambda: [w.state for w in worker_statuses(library.database)] == ["idle"], 15)
        (first,) = worker_statuses(library.database)
        assert first.done == 6 and first.models == ["tiny-learned-pos"] and first.device == worker.device_name
        write_photo(photos / "later" / "new.jpg", size=(50, 40), color=(10, 200, 30))
        library.scan()
        worker.wake()
        assert worker.wait_idle(60) and library.count_by_status()["tagged"] == 7
        assert _wait(
            lambda: [(w.id, w.state, w.done) for w in worker_statuses(library.database)] == [(first.id, "idle", 7)], 15
        )
        worker.pause()
        assert _wait(lambda: [w.state for w in worker_statuses(library.database)] == ["paused"], 15)
    finally:
        worker.stop()
    assert [(w.id, w.state) for w in worker_statuses(library.database)] == [(first.id, "stopped")]
    library.close()


def _wait(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()
