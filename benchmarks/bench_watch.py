"""Watching: how long a new file takes to become searchable, and a 1,000-file burst.

    python benchmarks/bench_watch.py [--model DIR] [--files 20] [--burst 1000] [--settle 1.0] [--json]

Uses the real watcher and worker in-process, on the CPU by default, with the small fixture
model unless --model names another folder. "Searchable" means what a user sees: a search for one
of the file's tags (``TAG name:FILE``, through the library's search, posting lists included) finds
it. The tag is learnt from a first file, not timed (it also loads the model).
"""

from __future__ import annotations

import argparse
import json
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
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", type=Path, default=FIXTURES / "tiny-released-shape")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--settle", type=float, default=1.0)
    parser.add_argument("--json", action="store_true", help="end with one JSON object of the figures")
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

        def found(path: Path, query: str) -> bool:
            image = library.image_by_path(path)
            return image is not None and image.id in library.search(f"{query} name:{path.name}").ids

        # A first file, untimed: loads the model and shows which tag the model gives this picture.
        first = root / "first.jpg"
        first.write_bytes(data)
        wait(lambda: (image := library.image_by_path(first)) is not None and image.status == "tagged")
        image = library.image_by_path(first)
        assert image is not None
        tag = next(view.name for view in library.image_tags(image.id) if view.present)
        query = f'"{tag}"'
        latencies = []
        for index in range(args.files):
            path = root / f"single_{index:03d}.jpg"
            start = time.monotonic()
            path.write_bytes(data + index.to_bytes(4, "little"))
            wait(lambda p=path: found(p, query))
            latencies.append(time.monotonic() - start)
        print(
            f"appear -> searchable: median {statistics.median(latencies):.2f} s, "
            f"min {min(latencies):.2f} s, max {max(latencies):.2f} s over {args.files} files (search: {query})"
        )
        start = time.monotonic()
        for index in range(args.burst):
            (root / f"burst_{index:05d}.jpg").write_bytes(data + (10_000 + index).to_bytes(4, "little"))
        copied = time.monotonic() - start
        total = 1 + args.files + args.burst
        wait(lambda: library.count("status:pending") + library.count("status:tagged") >= total)
        indexed = time.monotonic() - start
        wait(lambda: library.count(query) >= total)  # every file found by the search for its tag
        done = time.monotonic() - start
        print(
            f"burst of {args.burst}: written in {copied:.1f} s, all indexed after {indexed:.1f} s, "
            f"all found by the search after {done:.1f} s ({args.burst / done:.1f} images/s end to end)"
        )
        figures = {
            "searchable_s": {"median": round(statistics.median(latencies), 2), "min": round(min(latencies), 2),
                             "max": round(max(latencies), 2), "files": args.files},
            "burst": {"files": args.burst, "written_s": round(copied, 1), "indexed_s": round(indexed, 1),
                      "searchable_s": round(done, 1), "images_per_s": round(args.burst / done, 1)},
        }  # fmt: skip
        watcher.stop()
        worker.stop()
        library.close()
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
