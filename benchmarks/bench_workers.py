"""Several tagging workers on one PostgreSQL library: images/s with 1, 2, 4 processes, and what a
claim costs.

    python benchmarks/bench_workers.py [--images 600] [--workers 1 2 4] [--claims 200]
                                       [--claim-size 64 256] [--pending 20000] [--json]

Starts a throw-away PostgreSQL server (tests/helpers/pg_cluster.py: pgserver's or Debian's binaries),
makes ``--images`` small JPEGs, and for each worker count indexes them into a new database and
runs that many ``joytag-desktop autotag`` processes (the tiny JoyTag-format test model, on the
CPU) until every image is tagged: the wall time from their start to the last exit (process start
and model load included) and the tagging rate the workers report. Then it times ``WorkQueue.claim``
of one batch (64 images, a CPU worker's claim; 256, a GPU worker's four batches of 64) plus its
release on a library of ``--pending`` (20,000) pending images, alone and with three other threads claiming at the
same time (the claim overhead per batch). Without PostgreSQL it says so and exits with 77 (skipped).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
SKIPPED = 77  # the exit status of a benchmark that cannot run here (automake's convention)
MODEL = HERE.parent / "tests" / "fixtures" / "joytag-format" / "tiny-learned-pos"


def make_images(folder: Path, count: int) -> None:
    from PIL import Image

    for i in range(count):
        target = folder / f"{i // 200:03d}" / f"img{i:05d}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64 + i % 50, 48 + i % 30), ((i * 37) % 256, (i * 91) % 256, (i * 53) % 256)).save(target)


def cli(*arguments: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "joytag_desktop", *arguments],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_workers(cluster, photos: Path, count: int) -> dict:
    from joytag_desktop.library import Library
    from joytag_desktop.library.work import worker_statuses

    url = cluster.create_database()
    subprocess.run([sys.executable, "-m", "joytag_desktop", "--db", url, "index", str(photos), "--no-watch"],
                   check=True, capture_output=True)  # fmt: skip
    started = time.perf_counter()
    processes = [cli("--db", url, "autotag", "--model", str(MODEL), "--device", "cpu") for _ in range(count)]
    for process in processes:
        _, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"a worker failed: {err.strip().splitlines()[-1:]}")
    wall = time.perf_counter() - started
    with Library(url, create=False) as library:
        counts = library.count_by_status()
        workers = worker_statuses(library.database)
    tagged = counts["tagged"]
    return {
        "workers": count,
        "images": tagged,
        "wall_s": round(wall, 2),
        "images_per_s_wall": round(tagged / wall, 1),
        "images_per_s_tagging": round(sum(w.rate for w in workers), 1),
        "per_worker": sorted(w.done for w in workers),
    }


def time_claims(
    cluster, photos: Path, batches: int, claim_sizes: list[int], pending_target: int = 20_000
) -> list[dict]:
    from sqlalchemy import text

    from joytag_desktop.library import Library
    from joytag_desktop.library.work import WorkQueue

    url = cluster.create_database()
    with Library(url) as library:
        library.add_root(photos)
        library.scan()
        model = library.add_model("bench", auto=True)
        with library.engine.begin() as connection:  # ``pending_target`` pending rows (copies of the real ones)
            connection.execute(
                text(
                    "INSERT INTO images (root_id, path, folder, name, ext, size, mtime, status, added_at, "
                    "rating_manual) SELECT root_id, path || '-' || g, folder, name, ext, size, mtime, 'pending', "
                    "added_at, false FROM images, generate_series(1, :copies) g"
                ),
                {"copies": max(1, pending_target // max(1, library.count_by_status()["pending"]))},
            )
        pending = library.count_by_status()["pending"]

        results = []
        for claim_size in claim_sizes:
            sizes: list[int] = []

            def claim_loop(
                queue: WorkQueue, times: list[float], rounds: int, size: int = claim_size, got: list[int] = sizes
            ) -> None:
                for _ in range(rounds):
                    start = time.perf_counter()
                    # Fewer than asked when another claimer took some of the same candidates meanwhile.
                    got.append(len(queue.claim(model.id, size)))
                    queue.release(model.id)
                    times.append(time.perf_counter() - start)

            alone: list[float] = []
            claim_loop(WorkQueue(library.database), alone, batches)
            together: list[list[float]] = [[] for _ in range(4)]
            threads = [
                threading.Thread(target=claim_loop, args=(WorkQueue(library.database), together[n], batches))
                for n in range(4)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            mixed = sorted(t for part in together for t in part)
            alone.sort()
            results.append(
                {
                    "claim_size": claim_size,
                    "pending": pending,
                    "ms_median_alone": round(statistics.median(alone) * 1000, 2),
                    "ms_p95_alone": round(alone[int(len(alone) * 0.95)] * 1000, 2),
                    "ms_median_4_at_once": round(statistics.median(mixed) * 1000, 2),
                    "ms_p95_4_at_once": round(mixed[int(len(mixed) * 0.95)] * 1000, 2),
                    "ms_per_image_alone": round(statistics.median(alone) * 1000 / claim_size, 3),
                    "claimed_per_batch_mean": round(statistics.mean(sizes), 1),
                }
            )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--images", type=int, default=600)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4], help="worker counts (none: claims only)")
    parser.add_argument("--claims", type=int, default=200, help="claim batches timed per thread")
    parser.add_argument("--claim-size", type=int, nargs="*", default=[64, 256], help="images per timed claim")
    parser.add_argument("--pending", type=int, default=20_000, help="pending images while claims are timed")
    parser.add_argument("--json", action="store_true", help="print a JSON summary last")
    args = parser.parse_args()

    from helpers.pg_cluster import Cluster, find_binaries

    binaries = find_binaries()
    if binaries is None:
        print("skipped: PostgreSQL is not installed (pip install pgserver, or apt install postgresql)")
        return SKIPPED
    os.environ.setdefault("JOYTAG_DESKTOP_HOME", tempfile.mkdtemp(prefix="bench-workers-home-"))
    cluster = Cluster(binaries)
    cluster.start()
    summary: dict = {"cpus": os.cpu_count(), "runs": []}
    try:
        with tempfile.TemporaryDirectory() as folder:
            photos = Path(folder) / "photos"
            make_images(photos, args.images)
            for count in args.workers:
                result = run_workers(cluster, photos, count)
                summary["runs"].append(result)
                print(
                    f"{count} worker(s): {result['images']} images in {result['wall_s']} s "
                    f"= {result['images_per_s_wall']} images/s (start-up and model load included); "
                    f"tagging rate {result['images_per_s_tagging']} images/s; per worker {result['per_worker']}"
                )
            summary["claims"] = time_claims(cluster, photos, args.claims, args.claim_size, args.pending)
            for claims in summary["claims"]:
                print(
                    f"claim + release of {claims['claim_size']} images among {claims['pending']} pending: "
                    f"median {claims['ms_median_alone']} ms (p95 {claims['ms_p95_alone']}, "
                    f"{claims['ms_per_image_alone']} ms per image) alone, {claims['ms_median_4_at_once']} ms "
                    f"(p95 {claims['ms_p95_4_at_once']}) with 4 claimers at once; "
                    f"{claims['claimed_per_batch_mean']} images per claim on average"
                )
    finally:
        cluster.destroy()
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
