"""Watching: how long a new file takes to become searchable, and a 1,000-file burst.

    python benchmarks/bench_watch.py [--model DIR] [--files 20] [--burst 1000] [--settle 1.0]

Uses the real watcher and worker in-process, on the CPU by default, with the small fixture
model unless --model names another folder.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import machine
from joytag_desktop.library import Library
from joytag_desktop.worker.watcher import FolderWatcher
from joytag_desktop.worker.worker import TaggingWorker, WorkerSettings

FIXTURES = Path(__file__).resolve().parents[1] / "tests/fixtures/joytag-format"


def wait(condition, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=FIXTURES / "tiny-released-shape")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--settle", type=float, default=1.0)
    args = parser.parse_args()
    print(f"machine: {machine()}; model {args.model.name}; settle {args.settle} s")
    data = (FIXTURES / "images/rocket.jpg").read_bytes()
    with tempfile.TemporaryDirectory() as work:
        root = Path(work) / "Pictures"
        root.mkdir()
        library = Library(Path(work) / "lib.sqlite3")
        library.add_root(root)
        worker = TaggingWorker(library, WorkerSettings(args.model, args.device))
        watcher = FolderWatcher(library, settle_seconds=args.settle, on_change=lambda _: worker.wake())
        worker.start()
        watcher.start()
        latencies = []
        for index in range(args.files):
            path = root / f"single_{index:03d}.jpg"
            start = time.monotonic()
            path.write_bytes(data + index.to_bytes(4, "little"))

            def searchable(p: Path = path) -> bool:
                image = library.image_by_path(p)
                return image is not None and image.status == "tagged"

            wait(searchable)
            latencies.append(time.monotonic() - start)
        print(
            f"appear -> searchable: median {statistics.median(latencies):.2f} s, "
            f"min {min(latencies):.2f} s, max {max(latencies):.2f} s over {args.files} files"
        )
        start = time.monotonic()
        for index in range(args.burst):
            (root / f"burst_{index:05d}.jpg").write_bytes(data + (10_000 + index).to_bytes(4, "little"))
        copied = time.monotonic() - start
        wait(lambda: library.count("status:pending") + library.count("status:tagged") >= args.files + args.burst)
        indexed = time.monotonic() - start
        wait(lambda: library.count("status:tagged") >= args.files + args.burst)
        done = time.monotonic() - start
        print(
            f"burst of {args.burst}: written in {copied:.1f} s, all indexed after {indexed:.1f} s, "
            f"all tagged after {done:.1f} s ({args.burst / done:.1f} images/s end to end)"
        )
        watcher.stop()
        worker.stop()
        library.close()


if __name__ == "__main__":
    main()
