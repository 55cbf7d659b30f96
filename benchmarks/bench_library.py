"""Library benchmark: tag search, counts, autocomplete and tagging-store throughput on a synthetic
1,000,000-image library tagged by two models, and scan speed.

    python benchmarks/bench_library.py [--images 1000000] [--models 2] [--tags-per-image 40]
                                       [--scan-files 100000] [--json]

The synthetic library is generated straight into the database (no model, no files): a JoyTag-sized
vocabulary (5,813 general tags) and a WD-sized one (10,861 tags, 4,000 of them shared with JoyTag,
2,700 characters, 4 ratings), each image with 40 stored scores per model whose tag frequencies follow
a Zipf-like curve, as real tags do. Prints medians in milliseconds, the database size per stored
score, store throughput in rows/s and scan throughput in files/s; --json ends with one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
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


@dataclass
class SyntheticModel:
    """A model's vocabulary as ids into the ``tags`` table, with each tag's category."""

    id: int
    name: str
    format: str
    tag_ids: np.ndarray  # the model's output order -> tags.id
    names: list[str]
    categories: list[str]


def synthetic_models(count: int, joytag_vocab: int, wd_vocab: int, shared: int) -> tuple[list[str], list[str], list]:
    """JoyTag-sized (general tags) and WD-sized vocabularies: WD names ``shared`` of JoyTag's tags
    (both use Danbooru names), the rest of its own; its last 2,700 tags are characters and 4 are ratings."""
    names = vocabulary(joytag_vocab)
    categories = ["general"] * joytag_vocab
    models = [SyntheticModel(1, "joytag", "joytag", np.arange(1, joytag_vocab + 1), list(names), list(categories))]
    if count >= 2:
        own = wd_vocab - shared
        wd_names = [f"{n}" for n in names[:shared]] + [f"wd_{WORDS[i % len(WORDS)]}_{i}" for i in range(own - 4)]
        wd_categories = ["general"] * (wd_vocab - 4 - 2700) + ["character"] * 2700
        wd_names += [f"rating:{r}" for r in ("general", "sensitive", "questionable", "explicit")]
        wd_categories += ["rating"] * 4
        new_names = wd_names[shared:]
        names += new_names
        categories += wd_categories[shared:]
        tag_ids = np.concatenate(
            [np.arange(1, shared + 1), np.arange(joytag_vocab + 1, joytag_vocab + len(new_names) + 1)]
        )
        models.append(SyntheticModel(2, "wd", "wd", tag_ids, wd_names, wd_categories))
    return names, categories, models


def generate(db: Path, images: int, per_image: int, models: list, names: list[str], categories: list[str],
             seed: int = 0) -> float:  # fmt: skip
    start = time.perf_counter()
    Library(db).close()  # schema through the real migrations
    connection = sqlite3.connect(db, isolation_level=None)
    connection.execute("PRAGMA journal_mode=OFF")
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA cache_size=-1000000")
    triggers = [row[0] for row in connection.execute("SELECT sql FROM sqlite_master WHERE type='trigger'")]
    for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        connection.execute(f"DROP TRIGGER {name}")
    connection.execute("DROP INDEX ix_image_tags_user")
    # Rows are staged in arrival order, then copied sorted by the primary key (image_id, model_id, tag_id).
    connection.execute("CREATE TEMP TABLE staging (image_id INTEGER, tag_id INTEGER, model_id INTEGER, score REAL)")
    connection.execute("BEGIN")
    connection.execute(
        "INSERT INTO roots (path, watched, added_at, online) VALUES ('/synthetic', 1, ?, 1)",
        (datetime.now().isoformat(" "),),
    )
    connection.executemany(
        "INSERT INTO tags (id, name, category) VALUES (?, ?, ?)",
        ((i, n, c) for i, (n, c) in enumerate(zip(names, categories, strict=True), 1)),
    )
    for model in models:
        connection.execute(
            "INSERT INTO models (id, name, format, version, fingerprint, auto, searched, added_at)"
            " VALUES (?, ?, ?, '', ?, 1, 1, ?)",
            (model.id, model.name, model.format, f"synthetic-{model.name}", datetime.now().isoformat(" ")),
        )
    if len(models) > 1:
        connection.execute("INSERT INTO model_thresholds VALUES (2, 'general', 0.35), (2, 'character', 0.85)")
    rng = np.random.default_rng(seed)
    weights = []
    for model in models:
        w = 1.0 / (np.arange(len(model.tag_ids)) + 8.0) ** 0.9
        weights.append(w / w.sum())
    now = datetime.now().isoformat(" ")
    chunk = 20_000
    for first in range(0, images, chunk):
        ids = np.arange(first + 1, min(images, first + chunk) + 1)
        ratings = rng.choice(4, size=len(ids), p=[0.6, 0.25, 0.1, 0.05]) if len(models) > 1 else [None] * len(ids)
        connection.executemany(
            "INSERT INTO images (id, root_id, path, folder, name, ext, size, mtime, content_hash, width, height,"
            " format, status, added_at, model, rating)"
            " VALUES (?, 1, ?, ?, ?, 'jpg', ?, ?, NULL, ?, ?, 'JPEG', 'tagged', ?, 'joytag', ?)",
            (
                (
                    int(i),
                    f"/synthetic/f{i % 997}/{'Été_' if i % 10 == 0 else 'img_'}{i}.jpg",
                    f"synthetic/f{i % 997}",
                    f"{'Été_' if i % 10 == 0 else 'img_'}{i}.jpg",  # a tenth named beyond ASCII
                    int(100_000 + i % 5_000_000),
                    1.6e9 + int(i) * 60,
                    int(1000 + i % 5000),
                    int(800 + i % 3000),
                    now,
                    None if rating is None else int(rating),
                )
                for i, rating in zip(ids, ratings, strict=True)
            ),
        )
        rows = []
        for model, p in zip(models, weights, strict=True):
            draws = rng.choice(len(model.tag_ids), size=(len(ids), per_image * 2), p=p)
            scores = 0.05 + 0.95 * rng.beta(0.6, 1.6, size=(len(ids), per_image))
            for row, image_id in enumerate(ids):
                tags = list(dict.fromkeys(draws[row].tolist()))[:per_image]
                rows.extend(
                    (int(image_id), int(model.tag_ids[t]), model.id, float(s))
                    for t, s in zip(tags, scores[row], strict=False)
                )
        connection.executemany("INSERT INTO staging (image_id, tag_id, model_id, score) VALUES (?, ?, ?, ?)", rows)
    connection.execute(
        "INSERT INTO image_tags (image_id, model_id, tag_id, source, score)"
        " SELECT image_id, model_id, tag_id, 0, score FROM staging ORDER BY image_id, model_id, tag_id"
    )
    for model in models:
        connection.execute(
            "INSERT INTO image_models (image_id, model_id, tagged_at, rating) SELECT id, ?, added_at,"
            " CASE WHEN ? = 'wd' THEN rating END FROM images",
            (model.id, model.name),
        )
    connection.execute("DROP TABLE staging")
    connection.execute("COMMIT")
    connection.execute("CREATE INDEX ix_image_tags_user ON image_tags (tag_id, score) WHERE model_id = 0")
    for sql in triggers:
        connection.execute(sql)
    connection.execute("ANALYZE")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.close()
    with Library(db) as library:
        library.rebuild_histogram()
    with sqlite3.connect(db) as raw:  # as storing them marks them (library.score_rows)
        raw.execute("UPDATE tags SET scored = 1 WHERE id IN (SELECT tag_id FROM tag_histogram WHERE model_id != 0)")
    raw.close()
    return time.perf_counter() - start


def bench_index(db: Path, query: str, results: dict) -> None:
    """The posting lists' build (no saved index), then a cold start: open the library and answer
    the first query from the saved index."""
    Path(f"{db}-search").unlink(missing_ok=True)
    start = time.perf_counter()
    with Library(db) as library:
        library.search_rows(query, limit=200)
        built = time.perf_counter() - start
        with library.search_index.acquire(library.threshold_rules()) as index:
            assert index is not None, "the search index was not built"
            postings = index.posting_count()
            index_bytes = index.memory_bytes()
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        with Library(db) as library:
            library.search_rows(query, limit=200)
            timings.append((time.perf_counter() - start) * 1000)
            assert library.search_index.builds == 0
    cold = sorted(timings)[1]
    saved = Path(f"{db}-search").stat().st_size
    print(
        f"search index: built in {built:.1f} s ({postings:,} postings); {index_bytes / 1e6:.1f} MB in memory,"
        f" {saved / 1e6:.1f} MB saved; cold start (open, load, first 200 rows) {cold:.0f} ms"
    )
    results.update(
        index_build_s=round(built, 1), postings=postings, index_mb=round(index_bytes / 1e6, 1),
        saved_index_mb=round(saved / 1e6, 1), cold_start_ms=round(cold, 1),
    )  # fmt: skip


def bench_queries(db: Path, names: list[str], models: list, results: dict, images: int, sql_runs: int) -> None:
    span = [datetime.fromtimestamp(1.6e9 + images * 60 * f).date().isoformat() for f in (1 / 3, 2 / 3)]
    queries = {
        "popular: a b -c": f"{names[0]} {names[3]} -{names[10]}",
        "mid: a b -c": f"{names[50]} {names[120]} -{names[7]}",
        "rare: a b -c": f"{names[900]} {names[1500]} -{names[2]}",
        "or + wildcard": f"({names[5]} | {names[6]}) long_*_4?",
        "score qualifier": f"{names[1]}:>0.9 -{names[4]}",
        "score range + below": f"{names[3]}:0.3..0.7 {names[0]}:<0.5",
        "tag + date range": f"{names[2]} date:{span[0]}..{span[1]}",
        "name:": "name:img_12",
        "name: beyond ASCII": "name:ÉTÉ_12",
        "path:": "path:f12/",
        "tag + name:": f"{names[0]} name:_1",
    }
    if len(models) > 1:
        wd = models[1]
        character = next(n for n, c in zip(wd.names, wd.categories, strict=True) if c == "character")
        queries |= {
            "model:wd a b": f"model:wd {names[0]} {names[3]}",
            "category wildcard": "character:wd_cat_*",
            "character + rating": f"{character} rating:<=sensitive",
            "rating + tag": f"rating:general {names[20]}",
        }
    bench_index(db, queries["popular: a b -c"], results)
    with Library(db) as library, Library(db) as sql:
        sql.search_index.enabled = False  # the plain SQL path, side by side
        total = library.count("")
        size = sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if not p.name.endswith("-search"))
        with sqlite3.connect(db) as raw:
            scores = raw.execute("SELECT COUNT(*) FROM image_tags").fetchone()[0]
        print(
            f"library: {total:,} images, {len(models)} model(s), {scores:,} stored scores; database "
            f"{size / 1e9:.2f} GB = {size / scores:.0f} bytes per stored score"
        )
        results.update(db_bytes=size, stored_scores=scores, bytes_per_score=round(size / scores, 1))
        print(f"  {'query':20s} {'hits':>9s}  first 200 by path / by date, count; SQL first 200 (x faster)")
        measured = {}
        for label, query in queries.items():
            hits = library.count(query)
            if sql_runs:
                assert library.search(query, limit=200).ids == sql.search(query, limit=200).ids, label
            by_path = median_ms(lambda q=query: library.search_rows(q, limit=200))
            by_date = median_ms(lambda q=query: library.search_rows(q, limit=200, sort="date"))
            counting = median_ms(lambda q=query: library.count(q))
            plain = (
                median_ms(lambda q=query: sql.search_rows(q, limit=200), runs=sql_runs, warm=False) if sql_runs else 0
            )
            print(
                f"  {label:20s} {hits:9,d}  {by_path:6.2f} / {by_date:6.2f} ms, count {counting:6.2f} ms;"
                + (f" SQL {plain:8.1f} ms ({plain / by_path:,.0f}x)" if sql_runs else "")
                + f"   [{query}]"
            )
            measured[label] = {
                "median_ms": round(by_path, 2), "date_ms": round(by_date, 2), "count_ms": round(counting, 2),
                "hits": hits, "sql_ms": round(plain, 1),
            }  # fmt: skip
        results["queries"] = measured
        first = median_ms(lambda: library.autocomplete("lo", limit=15), runs=1, warm=False)
        completion = {}
        for prefix in ("l", "lo", "long_h", "cat_"):
            completion[prefix] = median_ms(lambda p=prefix: library.autocomplete(p, limit=15))
            print(f"  autocomplete {prefix!r:10s} {completion[prefix]:6.2f} ms", end="")
            if sql_runs:
                uncached = median_ms(
                    lambda p=prefix: library.counts.histogram_totals(None, p, 15, include_unused=True), runs=3
                )
                print(f" (SQL histogram, as before: {uncached:7.1f} ms)", end="")
            print()
        print(f"  first autocomplete (every tag counted): {first:.0f} ms")
        results["autocomplete_ms"] = round(max(completion.values()), 2)
        results["autocomplete_first_ms"] = round(first, 1)
        ms = median_ms(lambda: library.tag_counts(limit=500), runs=7)
        print(f"  tag list (top 500 with counts) {ms:6.1f} ms")
        results["tag_list_ms"] = round(ms, 1)
        query = queries["mid: a b -c"]
        ms = median_ms(lambda: library.result_tag_counts(query), runs=5)
        wide = median_ms(lambda: library.result_tag_counts(queries["popular: a b -c"]), runs=3)
        print(f"  tag counts of the results: mid query {ms:6.1f} ms, popular query {wide:6.1f} ms")
        results["result_tag_counts_ms"] = {"mid": round(ms, 1), "popular": round(wide, 1)}


def bench_one_off_threshold(db: Path, names: list[str], results: dict, sql_runs: int) -> None:
    """A search with a one-off threshold (``search --threshold``), on the index and on SQL: a row of
    ``queries`` like the others."""
    query, threshold = f"{names[0]} {names[3]} -{names[10]}", 0.3
    with Library(db) as library, Library(db) as sql:
        sql.search_index.enabled = False
        hits = library.count(query, threshold)
        if sql_runs:
            assert library.search(query, threshold, limit=200).ids == sql.search(query, threshold, limit=200).ids
        by_path = median_ms(lambda: library.search_rows(query, threshold, limit=200))
        by_date = median_ms(lambda: library.search_rows(query, threshold, sort="date", limit=200))
        counting = median_ms(lambda: library.count(query, threshold))
        plain = (
            median_ms(lambda: sql.search_rows(query, threshold, limit=200), runs=sql_runs, warm=False)
            if sql_runs
            else 0
        )
    print(
        f"  {'one-off threshold':20s} {hits:9,d}  {by_path:6.2f} / {by_date:6.2f} ms, count {counting:6.2f} ms;"
        + (f" SQL {plain:8.1f} ms ({plain / by_path:,.0f}x)" if sql_runs else "")
        + f"   [{query}, --threshold {threshold}]"
    )
    results.setdefault("queries", {})["one-off threshold"] = {
        "median_ms": round(by_path, 2), "date_ms": round(by_date, 2), "count_ms": round(counting, 2),
        "hits": hits, "sql_ms": round(plain, 1),
    }  # fmt: skip


def bench_store(db: Path, models: list, batches: int = 10) -> float:
    """Tagging-store throughput on the big database, the worker's own path: claim the pending images
    (``WorkQueue.claim``, a page of ``CLAIM_EVERY``), store each ``COMMIT_EVERY`` results with
    ``Library.store_results(worker=…)`` (whole score vectors in, the storage floor applied, only what
    the worker still holds, its claims ended in the same transaction), renew the leases after each
    commit, and release what is left at the end. ``batches`` commits are timed."""
    from joytag_desktop.library import ImageResult
    from joytag_desktop.library.work import WorkQueue
    from joytag_desktop.worker.tagging import CLAIM_EVERY, COMMIT_EVERY

    rng = np.random.default_rng(1)
    model = models[-1]
    count = batches * COMMIT_EVERY
    with sqlite3.connect(db) as raw:
        first = raw.execute("SELECT MAX(id) FROM images").fetchone()[0] + 1  # --keep: after the last run's
        raw.executemany(
            "INSERT INTO images (id, root_id, path, folder, name, ext, size, mtime, width, height, format, status,"
            " added_at) VALUES (?, 1, ?, 'new', ?, 'jpg', 1, 1, 10, 10, 'JPEG', 'pending', ?)",
            (
                (i, f"/synthetic/new/{i}.jpg", f"{i}.jpg", datetime.now().isoformat(" "))
                for i in range(first, first + count)
            ),
        )
    stored = images = 0
    with Library(db) as library:
        info = library.model(model.name)
        queue = WorkQueue(library.database)
        start = time.perf_counter()
        claimed: list[int] = []
        while images < count:
            if len(claimed) < COMMIT_EVERY:
                claimed += [image_id for image_id, _, _ in queue.claim(info.id, CLAIM_EVERY)]
            batch, claimed = claimed[:COMMIT_EVERY], claimed[COMMIT_EVERY:]
            if not batch:
                break
            results = []
            for image_id in batch:
                # Like sigmoid outputs: nearly all near 0, about a hundred above the storage floor.
                scores = (rng.random(len(model.names)) * 0.05).astype(np.float32)
                scores[rng.choice(len(model.names), 100, replace=False)] = rng.uniform(0.05, 1.0, 100)
                stored += int((scores >= library.storage_floor).sum())
                results.append(ImageResult(image_id, scores, rng.standard_normal(768).astype(np.float32), None))
            images += library.store_results(results, info, model.names, model.categories, worker=queue.id)
            queue.renew()
        queue.release(info.id)
        seconds = time.perf_counter() - start
        queue.close()
    if images != count:
        raise SystemExit(f"stored {images} of {count} claimed images")
    print(
        f"  store: {count} images x {len(model.names):,} scores ({stored:,} rows above the floor) in {seconds:.2f} s,"
        f" claims and leases included: {stored / seconds:,.0f} rows/s, {count / seconds:,.0f} images/s committed"
    )
    return stored / seconds


def bench_bulk_edit(db: Path, images: int) -> dict:
    """One tag added by hand to min(N/2, 100,000) images, as the window does it (the undo's states
    read first, then the edit a chunk at a time), and the longest a chunk held the writer."""
    count = min(images // 2, 100_000)
    with Library(db) as library:
        ids = library.search("").ids[:count]
        marks = [time.perf_counter()]
        start = marks[0]
        library.tag_states(ids, "bench_bulk_edit")
        marks.append(time.perf_counter())
        library.set_manual_tag(ids, "bench_bulk_edit", True, lambda done, total: marks.append(time.perf_counter()))
        seconds = time.perf_counter() - start
        found = library.count("bench_bulk_edit")
        longest = max(b - a for a, b in itertools.pairwise(marks[1:])) * 1000 if len(marks) > 2 else 0.0
        library.set_manual_tag(ids, "bench_bulk_edit", None)  # leave the database as it was (for --keep)
    if found != count:
        raise SystemExit(f"the bulk edit reached {found} of {count} images")
    print(f"  bulk edit: one tag added to {count:,} images in {seconds:.2f} s, longest write {longest:.0f} ms")
    return {"images": count, "seconds": round(seconds, 2), "longest_write_lock_ms": round(longest, 1)}


def bench_claims(workdir: Path, images: int, runs: int = 7) -> dict:
    """A 64-image ``WorkQueue.claim`` (``CLAIM_EVERY``) for the first of two automatic models on its
    own ``images``-image library: with no image done, and with 95 % of them (the lowest ids, as a pass
    leaves them) done by that model, by a fresh worker each time (the median of ``runs``). Also the
    look from the start a pass ends with (once per pass: it walks every done image)."""
    from joytag_desktop.library.work import WorkQueue
    from joytag_desktop.worker.tagging import CLAIM_EVERY

    db = workdir / f"claims-{images}.sqlite3"
    for stale in workdir.glob(f"{db.name}*"):
        stale.unlink()
    Library(db).close()
    now = datetime.now().isoformat(" ")
    with sqlite3.connect(db) as raw:
        raw.execute(
            "INSERT INTO roots (id, path, watched, added_at, online, uid) VALUES (1, '/c', 1, ?, 1, 'c')", (now,)
        )
        for model_id, name in ((1, "first"), (2, "second")):
            raw.execute(
                "INSERT INTO models (id, name, format, version, fingerprint, auto, searched, added_at)"
                " VALUES (?, ?, 'joytag', '', '', 1, 1, ?)",
                (model_id, name, now),
            )
        raw.executemany(
            "INSERT INTO images (id, root_id, path, folder, name, ext, size, mtime, status, added_at, rating_manual)"
            " VALUES (?, 1, ?, 'c', ?, 'jpg', 1, 1, 'pending', ?, 0)",
            ((i, f"/c/{i}.jpg", f"{i}.jpg", now) for i in range(1, images + 1)),
        )
        raw.commit()
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the load's WAL is not the claims' to write back

    def timed(library: Library, from_start: bool = False) -> float:
        timings = []
        for run in range(runs + 1):  # the first one untimed
            queue = WorkQueue(library.database)
            queue.report()  # registered: the claim alone is timed
            if from_start:
                queue._cursors[1] = 0
            start = time.perf_counter()
            got = queue.claim(1, CLAIM_EVERY)
            if run:
                timings.append((time.perf_counter() - start) * 1000)
            queue.close()
            if len(got) != CLAIM_EVERY:
                raise SystemExit(f"claimed {len(got)} of {CLAIM_EVERY} images")
        return round(sorted(timings)[len(timings) // 2], 2)

    with Library(db) as library:
        none_done = timed(library)
    with sqlite3.connect(db) as raw:
        raw.execute(
            "INSERT INTO image_models (image_id, model_id, tagged_at) SELECT id, 1, added_at FROM images WHERE id <= ?",
            (images * 95 // 100,),
        )
        raw.commit()
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with Library(db) as library:
        most_done, from_start = timed(library), timed(library, from_start=True)
    for stale in workdir.glob(f"{db.name}*"):
        stale.unlink()
    print(
        f"  claim of {CLAIM_EVERY}: {none_done:.2f} ms with none done, {most_done:.2f} ms with 95 % done"
        f" ({from_start:.1f} ms looking from the start, once a pass)"
    )
    return {"none_done": none_done, "most_done": most_done, "most_done_from_start": from_start}


def bench_scan(folder: Path, files: int) -> dict:
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
        first = report.added / elapsed
        start = time.perf_counter()
        report = library.scan()
        elapsed = time.perf_counter() - start
        print(
            f"  rescan      {report.unchanged:,} unchanged in {elapsed:.1f} s: "
            f"{report.unchanged / elapsed:,.0f} files/s"
        )
    return {"files": files, "new_files_per_s": round(first), "rescan_files_per_s": round(report.unchanged / elapsed)}


def _small_jpeg() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 100, 50)).save(buffer, "JPEG")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--tags-per-image", type=int, default=40, help="stored scores per image and model")
    parser.add_argument("--models", type=int, choices=(1, 2), default=2, help="1: JoyTag only; 2: JoyTag and WD")
    parser.add_argument("--vocab", type=int, default=5813, help="JoyTag's vocabulary")
    parser.add_argument("--wd-vocab", type=int, default=10_861, help="the second model's vocabulary")
    parser.add_argument("--shared", type=int, default=4000, help="tags both models name")
    parser.add_argument("--scan-files", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "joytag-bench-library")
    parser.add_argument("--keep", action="store_true", help="reuse an existing synthetic database")
    parser.add_argument("--sql-runs", type=int, default=3, help="timed runs of each query on the SQL path (0: none)")
    parser.add_argument("--store-batches", type=int, default=10, help="timed commits of 32 images (0: none)")
    parser.add_argument(
        "--store-images", type=int, default=4096, help="images through the worker's store path (0: none)"
    )
    parser.add_argument(
        "--store-inference-ms",
        type=float,
        default=0.0,
        help="both store paths again behind an engine this slow per image, with a quarter of --store-images",
    )
    parser.add_argument("--no-bulk-edit", dest="bulk_edit", action="store_false", help="skip the bulk edit")
    parser.add_argument("--no-claims", dest="claims", action="store_false", help="skip the claim timings")
    parser.add_argument("--json", action="store_true", help="end with one JSON object of the figures on stdout")
    args = parser.parse_args()
    print(f"machine: {machine()}, {os.cpu_count()} cores, SQLite {sqlite3.sqlite_version}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    db = args.workdir / f"synthetic-{args.images}-{args.models}.sqlite3"
    names, categories, models = synthetic_models(args.models, args.vocab, args.wd_vocab, args.shared)
    results: dict = {"images": args.images, "models": args.models}
    if not (args.keep and db.exists()):
        for stale in args.workdir.glob(f"{db.name}*"):
            stale.unlink()
        seconds = generate(db, args.images, args.tags_per_image, models, names, categories)
        print(
            f"generated {args.images:,} images x {args.models} model(s) x {args.tags_per_image} scores"
            f" in {seconds:.0f} s"
        )
        results["generate_s"] = round(seconds)
    bench_queries(db, names, models, results, args.images, args.sql_runs)
    bench_one_off_threshold(db, names, results, args.sql_runs)
    if args.bulk_edit:
        results["bulk_edit"] = bench_bulk_edit(db, args.images)
    if args.claims:
        results["claim_ms"] = bench_claims(args.workdir, args.images)
    if args.store_batches:
        results["store_rows_per_s"] = round(bench_store(db, models, args.store_batches))
    if args.store_images:
        from store_path import bench_store_path

        results["store_old"] = bench_store_path(db, models[-1], args.store_images, inline=True)
        results["store"] = bench_store_path(db, models[-1], args.store_images)
        if args.store_inference_ms:
            from store_path import bench_store_overlap

            quarter = max(1, args.store_images // 4)
            results["store_overlap"] = bench_store_overlap(db, models[-1], quarter, args.store_inference_ms)
    if args.scan_files:
        scan_dir = args.workdir / "scan"
        shutil.rmtree(scan_dir, ignore_errors=True)
        (args.workdir / "scan.sqlite3").unlink(missing_ok=True)
        results["scan"] = bench_scan(scan_dir / "library", args.scan_files)
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
