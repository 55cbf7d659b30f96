"""Similar images on a PostgreSQL server with pgvector: the app's ``ServerIndex`` against exact search.

    python benchmarks/bench_pgvector.py [--images 50000] [--dim 768] [--queries 100] [--json]

Starts a throw-away PostgreSQL server with pgvector (tests/helpers/pg_cluster.py, pgserver's binaries),
writes ``--images`` "themed" embeddings (bench_similar.clustered: what a library looks like to a
tagger) into ``image_vectors`` as the app stores them, builds the model's HNSW index through the app
(``ServerVectors.prepare``), then asks what "more like this" asks (158 candidates, the app's
3 × 50 + 8) for ``--queries`` library images: median and p95 time, and recall of the exact top-50
(float32 brute force) among the candidates. The table is vacuumed and analysed before the queries
(what autovacuum does soon after such a load; its run otherwise lands among the timed queries).
Without PostgreSQL and pgvector it says so and exits with 77 (skipped).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))
SKIPPED = 77  # the exit status of a benchmark that cannot run here (automake's convention)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("JOYTAG_DESKTOP_HOME", tempfile.mkdtemp(prefix="bench-pgvector-home-"))

    from bench_similar import clustered, exact_top
    from sqlalchemy import text

    from helpers.pg_cluster import Cluster, find_binaries
    from joytag_desktop.library import Library
    from joytag_desktop.library.pgvectors import ServerIndex

    binaries = find_binaries()
    cluster = Cluster(binaries) if binaries else None
    if cluster is None or not cluster.has_pgvector():
        print("skipped: needs PostgreSQL with pgvector (pip install pgserver)")
        return SKIPPED
    cluster.start()
    try:
        data = clustered(args.images, args.dim, seed=3)
        url = cluster.create_database()
        with Library(url) as library:
            model = library.add_model("bench", auto=True)
            server = library.similarity.server_vectors()
            assert server is not None
            started = time.perf_counter()
            with library.engine.begin() as connection:
                # Rows as the app keeps them: roots, images, taggings, vectors (no files behind them).
                connection.execute(
                    text(
                        "INSERT INTO roots (path, watched, added_at, online, uid)"
                        " VALUES ('/b', false, now(), true, 'b')"
                    )
                )
                connection.execute(
                    text(
                        "INSERT INTO images (id, root_id, path, folder, name, ext, size, mtime, status, added_at,"
                        " rating_manual) SELECT g, 1, '/b/' || g, 'b', g::text, 'jpg', 1, 0, 'tagged', now(), false"
                        " FROM generate_series(1, :n) g"
                    ),
                    {"n": args.images},
                )
                connection.execute(
                    text(
                        "INSERT INTO image_models (image_id, model_id, tagged_at) SELECT g, :m, now()"
                        " FROM generate_series(1, :n) g"
                    ),
                    {"n": args.images, "m": model.id},
                )
                for start in range(0, args.images, 2000):
                    server.store(
                        connection,
                        [
                            (i + 1, model.id, data[i].astype(np.float32))
                            for i in range(start, min(start + 2000, args.images))
                        ],
                    )
            loaded = time.perf_counter() - started
            started = time.perf_counter()
            width = server.prepare(model.id)
            assert width is not None, "no vectors were stored"
            built = time.perf_counter() - started
            # What autovacuum would do soon after such a load; without it, its run lands among the queries.
            with library.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE image_vectors"))
            index = ServerIndex(server, model.id, width)
            rng = np.random.default_rng(5)
            query_ids = rng.choice(args.images, args.queries, replace=False)
            truth = exact_top(data, query_ids)
            times, recalls = [], []
            for query, expected in zip(query_ids, truth, strict=True):
                vector = data[query].astype(np.float32)
                start = time.perf_counter()
                found = index.nearest(vector, 158)
                times.append(time.perf_counter() - start)
                ids = {i - 1 for i in found} - {int(query)}
                recalls.append(len(ids & expected) / len(expected))
            slowest = sorted(times)[-5:]
            with library.engine.connect() as connection:
                size = connection.execute(text("SELECT pg_total_relation_size('image_vectors')")).scalar_one()
    finally:
        cluster.destroy()
    summary = {
        "images": args.images,
        "dim": args.dim,
        "load_s": round(loaded, 1),
        "hnsw_build_s": round(built, 1),
        "table_and_index_mb": round(size / 2**20),
        "query_ms_median": round(statistics.median(times) * 1000, 2),
        "query_ms_p95": round(sorted(times)[int(len(times) * 0.95)] * 1000, 2),
        "recall_at_50": round(float(np.mean(recalls)), 3),
        "slowest_ms": [round(t * 1000, 1) for t in slowest],
    }
    print(
        f"{args.images:,} x {args.dim}: rows stored in {summary['load_s']} s, "
        f"HNSW built in {summary['hnsw_build_s']} s, "
        f"{summary['table_and_index_mb']} MB; 158 candidates per query: median {summary['query_ms_median']} ms "
        f"(p95 {summary['query_ms_p95']}; slowest {summary['slowest_ms']}), "
        f"recall of the exact top-50 {summary['recall_at_50']}"
    )
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
