"""Autotagging a library with the small fixture model, including interruptions at any point."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from helpers.fixture_files import IMAGES_DIR, expected_cases
from joytag_desktop.cli.main import main
from joytag_desktop.inference import TaggingEngine
from joytag_desktop.library import Library
from joytag_desktop.library.schema import Status
from joytag_desktop.worker.tagging import tag_pending


def fill(folder: Path, copies: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    samples = sorted(IMAGES_DIR.iterdir())
    for index in range(copies):
        sample = samples[index % len(samples)]
        target = folder / f"{index:04d}_{sample.name}"
        data = sample.read_bytes()
        # A different trailing byte per copy keeps contents (and hashes) distinct.
        target.write_bytes(data + index.to_bytes(4, "little") if sample.suffix == ".jpg" else data)
        paths.append(target)
    return paths


@pytest.fixture(scope="module")
def engine() -> TaggingEngine:
    from helpers.fixture_files import FORMAT_DIR

    return TaggingEngine(
        FORMAT_DIR / "tiny-released-shape",
        device="cpu",
        batch_size=4,
        precision="float32",
        preprocessing="reference",
    )


def test_autotag_stores_scores_embedding_and_model(tmp_path: Path, engine: TaggingEngine) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for sample in IMAGES_DIR.iterdir():
        (folder / sample.name).write_bytes(sample.read_bytes())
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with Library(tmp_path / "lib.db") as lib:
        lib.add_root(folder)
        lib.scan()
        assert lib.count_by_status()[Status.ERROR] == 1, "a file PIL cannot identify is an error at scan time"
        report = tag_pending(lib, engine, lib.add_model("tiny"))
        assert (report.tagged, report.failed) == (6, 0)
        cases = expected_cases("tiny-released-shape")
        for name, case in cases.items():
            image = lib.image_by_path(folder / name)
            assert image.status == Status.TAGGED and image.model == "tiny" and image.tagged_at is not None
            embedding = np.frombuffer(lib.embedding(image.id, "tiny"), dtype="<f2")
            assert np.abs(embedding - np.array(case["embedding"])).max() < 1e-2
            stored = {v.name: v.score for v in lib.image_tags(image.id, threshold=0)}
            expected = 1 / (1 + np.exp(-np.array(case["logits"])))
            above_floor = {engine.tags[i]: s for i, s in enumerate(expected) if s >= lib.storage_floor}
            assert stored.keys() == above_floor.keys()
            for tag, score in above_floor.items():
                assert stored[tag] == pytest.approx(score, abs=1e-4)


def test_file_that_breaks_after_scanning_is_an_error(tmp_path: Path, engine: TaggingEngine) -> None:
    folder = tmp_path / "photos"
    paths = fill(folder, 3)
    with Library(tmp_path / "lib.db") as lib:
        lib.add_root(folder)
        lib.scan()
        paths[0].write_bytes(paths[0].read_bytes()[:200])  # truncated after the scan
        paths[1].unlink()  # deleted before processing
        report = tag_pending(lib, engine, lib.add_model("tiny"))
        assert (report.tagged, report.failed) == (1, 2)
        assert "cannot decode" in lib.image_by_path(paths[0]).error
        assert lib.image_by_path(paths[1]).error == "file not found"


def test_cancel_keeps_what_was_done_and_rerun_finishes(tmp_path: Path, engine: TaggingEngine) -> None:
    folder = tmp_path / "photos"
    fill(folder, 40)
    with Library(tmp_path / "lib.db") as lib:
        lib.add_root(folder)
        lib.scan()
        cancel = threading.Event()

        def stop_after_ten(state) -> None:
            if state.done >= 10:
                cancel.set()

        model = lib.add_model("tiny")
        first = tag_pending(lib, engine, model, progress=stop_after_ten, cancel=cancel, commit_every=4)
        assert first.cancelled and 10 <= first.tagged < 40
        done_before = {img.path: img.tagged_at for img in lib.images(lib.search("status:tagged").ids)}
        assert len(done_before) == first.tagged
        second = tag_pending(lib, engine, model)
        assert first.tagged + second.tagged == 40
        after = {img.path: img.tagged_at for img in lib.images(lib.search("status:tagged").ids)}
        assert len(after) == 40
        assert all(after[path] == stamp for path, stamp in done_before.items()), "nothing is tagged twice"


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_tags_everything_exactly_once(tmp_path: Path, tiny_model_dir: Path) -> None:
    folder = tmp_path / "photos"
    fill(folder, 240)
    db = tmp_path / "lib.db"
    with Library(db) as lib:
        lib.add_root(folder)
        lib.scan()
    command = [
        sys.executable,
        "-m",
        "joytag_desktop",
        "--db",
        str(db),
        "autotag",
        "--model",
        str(tiny_model_dir),
        "--device",
        "cpu",
        "--batch-size",
        "2",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        tagged = 0
        while time.monotonic() < deadline and process.poll() is None:
            with sqlite3.connect(db, timeout=30) as connection:
                tagged = connection.execute("SELECT count(*) FROM images WHERE status='tagged'").fetchone()[0]
            if tagged >= 40:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the run ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(30)
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        before = dict(connection.execute("SELECT path, tagged_at FROM images WHERE status='tagged'"))
    assert 40 <= len(before) < 240
    assert main(["--db", str(db), "autotag", "--model", str(tiny_model_dir), "--device", "cpu"]) == 0
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        after = dict(connection.execute("SELECT path, tagged_at FROM images WHERE status='tagged'"))
        assert connection.execute("SELECT count(*) FROM images WHERE status != 'tagged'").fetchone()[0] == 0
        # Each image has exactly one row per tag (no duplicated writes).
        duplicates = connection.execute(
            "SELECT count(*) FROM (SELECT image_id, tag_id FROM image_tags GROUP BY 1, 2 HAVING count(*) > 1)"
        ).fetchone()[0]
        assert duplicates == 0
    assert len(after) == 240
    assert all(after[path] == stamp for path, stamp in before.items())
    with Library(db) as lib:
        counts_live = lib.tag_counts(threshold=0.3)
        lib.rebuild_histogram()
        assert lib.tag_counts(threshold=0.3) == counts_live, "the histogram stayed exact through the kill"
