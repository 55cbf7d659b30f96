"""Library benchmark: tag search and autocomplete on a synthetic 1,000,000-image library, and scan speed.

    python benchmarks/bench_library.py [--images 1000000] [--tags-per-image 40] [--scan-files 100000]

The synthetic library is generated straight into the database (no model, no files):
tag frequencies follow a Zipf-like curve over a 5,813-tag vocabulary, as real tags do.
Prints medians in milliseconds, the database size, and scan throughput in files/s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import median_ms

from common import machine
from joytag_desktop.library import Library

WORDS = [
    "long",
    "short",
    "blue",
    "red",
    "black",
    "white",
    "open",
    "looking",
    "hair",
    "eyes",
    "smile",
    "sky",
    "cloud",
    "tree",
    "water",
    "solo",
    "outdoors",
    "indoors",
    "holding",
    "standing",
    "sitting",
    "cat",
    "dog",
]


def vocabulary(size: int) -> list[str]:
    return [f"{WORDS[i % len(WORDS)]}_{WORDS[(i // len(WORDS)) % len(WORDS)]}_{i}" for i in range(size)]


def generate(db: Path, images: int, per_image: int, vocab_size: int, seed: int = 0) -> float:
    start = time.perf_counter()
    Library(db).close()  # schema through the real migrations
    connection = sqlite3.connect(db, isolation_level=None)
    connection.execute("PRAGMA journal_mode=OFF")
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA cache_size=-1000000")
    triggers = [row[0] for row in connection.execute("SELECT sql FROM sqlite_master WHERE type='trigger'")]
    for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        connection.execute(f"DROP TRIGGER {name}")
    connection.execute("DROP INDEX ix_image_tags_tag_score")
    connection.execute("DROP INDEX ix_image_tags_image")
    connection.execute("DROP INDEX ix_image_tags_user")
    # Rows are staged in arrival order, then copied sorted by the primary key (tag_id, image_id).
    connection.execute("CREATE TEMP TABLE staging (image_id INTEGER, tag_id INTEGER, score REAL)")
    connection.execute("BEGIN")
    connection.execute(
        "INSERT INTO roots (path, watched, added_at, online) VALUES ('/synthetic', 1, ?, 1)",
        (datetime.now().isoformat(" "),),
    )
    connection.executemany("INSERT INTO tags (id, name) VALUES (?, ?)", enumerate(vocabulary(vocab_size), 1))
    connection.execute(
        "INSERT INTO models (id, name, format, version, fingerprint, auto, searched, added_at)"
        " VALUES (1, 'synthetic', 'joytag', '', 'synthetic', 1, 1, ?)",
        (datetime.now().isoformat(" "),),
    )
    rng = np.random.default_rng(seed)
    weights = 1.0 / (np.arange(vocab_size) + 8.0) ** 0.9
    weights /= weights.sum()
    now = datetime.now().isoformat(" ")
    chunk = 20_000
    for first in range(0, images, chunk):
        ids = np.arange(first + 1, min(images, first + chunk) + 1)
        connection.executemany(
            "INSERT INTO images (id, root_id, path, folder, name, ext, size, mtime, content_hash, width, height,"
            " format, status, added_at, model) VALUES (?, 1, ?, ?, ?, 'jpg', ?, ?, NULL, ?, ?, 'JPEG', 'tagged', ?,"
            " 'synthetic')",
            (
                (
                    int(i),
                    f"/synthetic/f{i % 997}/img_{i}.jpg",
                    f"synthetic/f{i % 997}",
                    f"img_{i}.jpg",
                    int(100_000 + i % 5_000_000),
                    1.6e9 + int(i) * 60,
                    int(1000 + i % 5000),
                    int(800 + i % 3000),
                    now,
                )
                for i in ids
            ),
        )
        draws = rng.choice(vocab_size, size=(len(ids), per_image * 2), p=weights)
        scores = 0.05 + 0.95 * rng.beta(0.6, 1.6, size=(len(ids), per_image))
        rows = []
        for row, image_id in enumerate(ids):
            tags = list(dict.fromkeys(draws[row].tolist()))[:per_image]
            rows.extend((int(image_id), t + 1, float(s)) for t, s in zip(tags, scores[row], strict=False))
        connection.executemany("INSERT INTO staging (image_id, tag_id, score) VALUES (?, ?, ?)", rows)
    connection.execute(
        "INSERT INTO image_tags (tag_id, image_id, model_id, source, score)"
        " SELECT tag_id, image_id, 1, 0, score FROM staging ORDER BY tag_id, image_id"
    )
    connection.execute("INSERT INTO image_models (image_id, model_id, tagged_at) SELECT id, 1, added_at FROM images")
    connection.execute("DROP TABLE staging")
    connection.execute("COMMIT")
    connection.execute("CREATE INDEX ix_image_tags_tag_score ON image_tags (tag_id, score, image_id)")
    connection.execute("CREATE INDEX ix_image_tags_image ON image_tags (image_id)")
    connection.execute("CREATE INDEX ix_image_tags_user ON image_tags (tag_id, score) WHERE model_id = 0")
    for sql in triggers:
        connection.execute(sql)
    connection.execute("ANALYZE")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.close()
    with Library(db) as library:
        library.rebuild_histogram()
    return time.perf_counter() - start


def bench_queries(db: Path, vocab_size: int) -> None:
    names = vocabulary(vocab_size)
    with Library(db) as library:
        total = library.count("")
        print(f"library: {total:,} images, database {db.stat().st_size / 1e9:.2f} GB")
        queries = {
            "popular: a b -c": f"{names[0]} {names[3]} -{names[10]}",
            "mid: a b -c": f"{names[50]} {names[120]} -{names[7]}",
            "rare: a b -c": f"{names[900]} {names[1500]} -{names[2]}",
            "or + wildcard": f"({names[5]} | {names[6]}) long_*_4?",
            "score qualifier": f"{names[1]}:>0.9 -{names[4]}",
        }
        for label, query in queries.items():
            hits = len(library.search(query).ids)
            first_page = median_ms(lambda q=query: library.search(q, limit=200))
            all_ids = median_ms(lambda q=query: library.search(q), runs=7)
            print(
                f"  {label:16s} {hits:8,d} hits: first 200 {first_page:7.1f} ms, all ids {all_ids:7.1f} ms   [{query}]"
            )
        for prefix in ("l", "lo", "long_h", "cat_"):
            ms = median_ms(lambda p=prefix: library.autocomplete(p, limit=15))
            uncached = median_ms(lambda p=prefix: library._tag_totals(0.4, p, 15, include_unused=True), runs=7)
            print(f"  autocomplete {prefix!r:10s} {ms:6.2f} ms (while the library changes: {uncached:6.2f} ms)")
        ms = median_ms(lambda: library.tag_counts(threshold=0.4, limit=500), runs=7)
        print(f"  tag list (top 500 with counts) {ms:6.1f} ms")


def bench_scan(folder: Path, files: int) -> None:
    source = Path(__file__).resolve().parents[1] / "tests/fixtures/joytag-format/images/rocket.jpg"
    data = source.read_bytes()[:4096] if False else _small_jpeg()
    made = time.perf_counter()
    for index in range(files):
        sub = folder / f"d{index // 1000:03d}"
        if index % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{index:06d}.jpg").write_bytes(data + index.to_bytes(4, "little"))
    print(f"scan: wrote {files:,} small JPEGs in {time.perf_counter() - made:.1f} s")
    db = folder.parent / "scan.sqlite3"
    with Library(db) as library:
        library.add_root(folder)
        start = time.perf_counter()
        report = library.scan()
        elapsed = time.perf_counter() - start
        print(f"  first scan  {report.added:,} new in {elapsed:.1f} s: {report.added / elapsed:,.0f} files/s")
        start = time.perf_counter()
        report = library.scan()
        elapsed = time.perf_counter() - start
        print(
            f"  rescan      {report.unchanged:,} unchanged in {elapsed:.1f} s: "
            f"{report.unchanged / elapsed:,.0f} files/s"
        )


def _small_jpeg() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 100, 50)).save(buffer, "JPEG")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--tags-per-image", type=int, default=40)
    parser.add_argument("--vocab", type=int, default=5813)
    parser.add_argument("--scan-files", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "joytag-bench-library")
    parser.add_argument("--keep", action="store_true", help="reuse an existing synthetic database")
    args = parser.parse_args()
    print(f"machine: {machine()}, {os.cpu_count()} cores, SQLite {sqlite3.sqlite_version}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    db = args.workdir / f"synthetic-{args.images}.sqlite3"
    if not (args.keep and db.exists()):
        for stale in args.workdir.glob(f"synthetic-{args.images}.sqlite3*"):
            stale.unlink()
        seconds = generate(db, args.images, args.tags_per_image, args.vocab)
        print(f"generated {args.images:,} images x {args.tags_per_image} tags in {seconds:.0f} s")
    bench_queries(db, args.vocab)
    if args.scan_files:
        scan_dir = args.workdir / "scan"
        shutil.rmtree(scan_dir, ignore_errors=True)
        (args.workdir / "scan.sqlite3").unlink(missing_ok=True)
        bench_scan(scan_dir / "library", args.scan_files)


if __name__ == "__main__":
    main()
