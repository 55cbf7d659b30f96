"""The pending count (``Library.pending_count``: the worker's "Tagging N of M" total and its question
at the end of each pass) on a library of two automatic models, the direct count before issue 33
against the one now (``library.pending``), in the same run, on SQLite and PostgreSQL.

    python benchmarks/bench_pending.py [--images 200000] [--backend sqlite postgresql] [--json]

The library holds rows only (images, and the models' ``image_models`` rows; no scores, so the
count does not depend on how scores are stored), in the states a library passes through: nothing
tagged; 95 % tagged by the first model; all by the first (its pass ended: everything waits for the
second); all by the first and half by the second; 500 left for the second. Each figure is the median
of 5 counts in milliseconds, for each model. PostgreSQL: a throw-away server (tests/helpers/
pg_cluster.py), vacuumed and analysed after each step, as autovacuum would leave it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from joytag_desktop.library import Library
from joytag_desktop.library import pending as pending_module

DIRECT = text(
    "SELECT count(*) FROM images WHERE status = 'pending' AND NOT EXISTS"
    " (SELECT 1 FROM image_models m WHERE m.image_id = images.id AND m.model_id = :model)"
)
RUNS = 5


def states(images: int) -> list[tuple[str, list[tuple[str, dict]]]]:
    """(name, the statements that lead from the previous state to it)."""
    tag = "INSERT INTO image_models (image_id, model_id, tagged_at) SELECT id, :model, added_at FROM images"
    done = "UPDATE images SET status = 'tagged'"
    most, half = images * 95 // 100, images // 2
    return [
        ("none tagged", []),
        ("95 % by the first", [(f"{tag} WHERE id <= :k", {"model": 1, "k": most})]),
        ("all by the first", [(f"{tag} WHERE id > :k", {"model": 1, "k": most})]),
        (
            "all by the first, half by the second",
            [(f"{tag} WHERE id <= :k", {"model": 2, "k": half}), (f"{done} WHERE id <= :k", {"k": half})],
        ),
        (
            "500 left for the second",
            [
                (f"{tag} WHERE id > :k AND id <= :j", {"model": 2, "k": half, "j": images - 500}),
                (f"{done} WHERE id > :k AND id <= :j", {"k": half, "j": images - 500}),
            ],
        ),
    ]


def run(url: str, images: int, backend: str) -> list[dict]:
    Library(url).close()
    engine = create_engine(url)
    now = datetime.now()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO roots (id, path, watched, added_at, online, uid) VALUES (1, '/c', true, :now, true, 'c')"
            ),
            {"now": now},
        )
        for model_id, name in ((1, "first"), (2, "second")):
            connection.execute(
                text(
                    "INSERT INTO models (id, name, format, version, fingerprint, auto, searched, added_at)"
                    " VALUES (:id, :name, 'joytag', '', :fingerprint, true, true, :now)"
                ),
                {"id": model_id, "name": name, "fingerprint": name, "now": now},
            )
        numbers = (
            "SELECT i FROM generate_series(1, :n) i"
            if backend == "postgresql"
            else "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n) SELECT i FROM s"
        )
        connection.execute(
            text(
                "INSERT INTO images (id, root_id, path, folder, name, ext, size, mtime, status, added_at,"
                " rating_manual) SELECT i, 1, '/c/' || i || '.jpg', 'c', i || '.jpg', 'jpg', 1, 1, 'pending', :now,"
                f" false FROM ({numbers}) n"
            ),
            {"now": now, "n": images},
        )
    results = []
    for name, steps in states(images):
        with engine.begin() as connection:
            for statement, values in steps:
                connection.execute(text(statement), values)
        if backend == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
        with Session(engine) as session:
            for model in (1, 2):
                figures: dict = {"backend": backend, "state": name, "model": model}
                for label, count in (
                    ("old", lambda m=model: session.execute(DIRECT, {"model": m}).scalar_one()),
                    ("new", lambda m=model: pending_module.pending_count(session, m)),
                ):
                    count()  # warm
                    timings, answer = [], None
                    for _ in range(RUNS):
                        started = time.perf_counter()
                        answer = count()
                        timings.append((time.perf_counter() - started) * 1000)
                        session.rollback()
                    figures[f"{label}_ms"] = round(sorted(timings)[RUNS // 2], 2)
                    figures[f"{label}_count"] = answer
                figures["way"] = pending_module.cheapest_way(session, model)
                session.rollback()
                if figures["old_count"] != figures["new_count"]:
                    raise SystemExit(f"different answers: {figures}")
                print(
                    f"{backend}, {name}, model {model}: {figures['new_count']:,} pending,"
                    f" old {figures['old_ms']:.1f} ms, new {figures['new_ms']:.1f} ms ({figures['way']})",
                    flush=True,
                )
                results.append(figures)
    engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--images", type=int, default=200_000)
    parser.add_argument("--backend", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"])
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    args = parser.parse_args()
    summary: dict = {"images": args.images, "cpus": os.cpu_count(), "load": os.getloadavg(), "runs": []}
    os.environ.setdefault("JOYTAG_DESKTOP_HOME", tempfile.mkdtemp(prefix="bench-pending-home-"))
    if "sqlite" in args.backend:
        with tempfile.TemporaryDirectory() as folder:
            summary["runs"] += run(f"sqlite:///{folder}/library.sqlite3", args.images, "sqlite")
    if "postgresql" in args.backend:
        from helpers.pg_cluster import Cluster, find_binaries

        binaries = find_binaries()
        if binaries is None:
            print("PostgreSQL skipped: not installed (pip install pgserver, or apt install postgresql)")
        else:
            cluster = Cluster(binaries)
            cluster.start()
            try:
                summary["runs"] += run(cluster.create_database("pending"), args.images, "postgresql")
            finally:
                cluster.destroy()
    summary["load_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
