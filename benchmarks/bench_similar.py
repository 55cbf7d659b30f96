"""Similar-image benchmark: top-50 queries on the vector index, its recall against exact search, its
build, memory and load; and duplicate grouping of a 100,000-image library.

    python benchmarks/bench_similar.py [--images 1000000] [--dim 768 1152] [--queries 200]
                                       [--ef 158 256 512] [--cache DIR] [--duplicates 100000]
                                       [--pairs 10000 50000] [--near 10000 100000] [--json]

Embeddings are random but structured, in the model's real width (768 for JoyTag, 1152 for JTP's
SigLIP): "themed" by default (a low-dimensional continuum around themes, as a library looks to a
tagger), or "islands" (far-apart clusters of 50: a worst case for graph indexes); see clustered().
Queries are library images (what "more like this" asks), answered through ``VectorIndex.nearest``
as the app asks (150 + 8 candidates), then re-scored exactly from the float16 embeddings (the app
re-scores from SQLite; timed apart), for several search depths (ef) side by side. Recall: the share
of the exact top-50 (brute force, float32) that the answer holds. The build takes minutes at a
million: ``--cache`` keeps the index for the next run.

The duplicate part stores a library of ``--duplicates`` images (SQLite rows,
embeddings, perceptual hashes) with planted exact copies, re-encodes (hashes a few bits apart) and
look-alikes, builds the model's index (timed apart: the app keeps it as images are tagged), then
times ``find_duplicates`` with all three kinds and checks that every planted group is found.

``--pairs``: look-alike pairs of a library whose vector index is still a flat matrix (up to
``vectors.FLAT_UP_TO``), the old way (every image's top 16 from the flat matrix: quadratic) and
the new one (``look_alikes.matrix_pairs``) side by side, on the same embeddings with planted look-alikes.

``--near``: near copies by perceptual hash among that many random hashes with 1 % planted copies 8-10
bits apart (pHash and dHash), the old way (a usearch Hamming graph, each image's 16 nearest by its
own and its mirrored pHash) and the new one (``duplicates.near_pairs``: exact multi-index hashing)
side by side: seconds, planted copies found, pairs found.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import machine
from joytag_desktop.library import Library, vectors
from joytag_desktop.library.vectors import GraphStore, VectorIndex, cosine

TOP = 50


LATENT = 48  # the intrinsic dimension of the "themed" embeddings


def clustered(count: int, dim: int, seed: int, data: str = "themed") -> np.ndarray:
    """Random embeddings with structure. "themed" (what a photo or art library looks like to a
    tagger): images near ``count / 200`` themes on a 48-dimensional manifold, mapped non-linearly
    into the model's width, plus a little noise; neighbours form a continuum. "islands" (a worst
    case for any graph index): ``count / 50`` far-apart clusters of about 50 images each, nothing
    in between, so a top-50 needs a whole island plus the nearest stranger."""
    rng = np.random.default_rng(seed)
    out = np.empty((count, dim), np.float16)
    if data == "islands":
        centres = rng.standard_normal((max(count // 50, 1), dim), dtype=np.float32)
    else:
        themes = rng.standard_normal((max(count // 200, 1), LATENT), dtype=np.float32)
        projection = rng.standard_normal((LATENT, dim), dtype=np.float32) / np.sqrt(LATENT)
    for start in range(0, count, 100_000):
        n = min(100_000, count - start)
        if data == "islands":
            block = centres[rng.integers(0, len(centres), n)] + rng.standard_normal((n, dim), dtype=np.float32) * 0.8
        else:
            latent = themes[rng.integers(0, len(themes), n)] + rng.standard_normal((n, LATENT), dtype=np.float32) * 0.7
            block = np.tanh(latent @ projection) + rng.standard_normal((n, dim), dtype=np.float32) * 0.05
        out[start : start + n] = block
    return out


def exact_top(data: np.ndarray, query_ids: np.ndarray) -> list[set[int]]:
    """The exact top-50 (float32 cosine, the query itself left out) of each query, in one pass."""
    queries = data[query_ids].astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    best = np.zeros((len(query_ids), 0), np.int64)
    scores = np.zeros((len(query_ids), 0), np.float32)
    for start in range(0, len(data), 100_000):
        block = data[start : start + 100_000].astype(np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        sims = queries @ block.T
        inside = (query_ids >= start) & (query_ids < start + len(block))
        sims[np.flatnonzero(inside), query_ids[inside] - start] = -2.0
        top = np.argpartition(-sims, TOP, axis=1)[:, :TOP]
        best = np.concatenate([best, top + start], axis=1)
        scores = np.concatenate([scores, np.take_along_axis(sims, top, axis=1)], axis=1)
    order = np.argsort(-scores, axis=1)[:, :TOP]
    return [set(row.tolist()) for row in np.take_along_axis(best, order, axis=1)]


def vector_index(images: int, dim: int, queries: int, efs: list[int], cache: Path | None, kind: str) -> dict:
    print(f"{images:,} embeddings of width {dim} ({kind})", flush=True)
    data = clustered(images, dim, 0, kind)
    identity = {"library": "bench"}
    name = f"{images}-{dim}-m{vectors.CONNECTIVITY}-a{vectors.EXPANSION_ADD}"
    name += "" if kind == "islands" else f"-{kind}"
    folder = cache / name if cache else None
    index = VectorIndex.load(folder, 1, lambda stamp: identity) if folder else None
    build_s = None
    if index is None:
        index = VectorIndex(1, dim, 0, GraphStore(dim))  # what the app uses above FLAT_UP_TO
        started = time.perf_counter()
        for start in range(0, images, 50_000):
            index.store.add(np.arange(start, min(start + 50_000, images), dtype=np.int64), data[start : start + 50_000])
            if start and start % 200_000 == 0:
                print(f"  built {start:,} in {time.perf_counter() - started:.0f} s", flush=True)
        build_s = time.perf_counter() - started
        print(f"build {build_s:.1f} s ({images / build_s:,.0f} vectors/s)", flush=True)
    assert isinstance(index.store, GraphStore)
    memory_mb = index.store.graph.memory_usage / 1e6
    with tempfile.TemporaryDirectory() as scratch:
        target = folder or Path(scratch)
        target.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        index.save(target, identity)
        save_s = time.perf_counter() - started
        started = time.perf_counter()
        loaded = VectorIndex.load(target, 1, lambda stamp: identity)
        load_s = time.perf_counter() - started
        assert loaded is not None and len(loaded) == images
        file_mb = sum(p.stat().st_size for p in target.iterdir()) / 1e6
        del loaded
    print(f"index memory {memory_mb:,.0f} MB; saved {file_mb:,.0f} MB in {save_s:.1f} s, loaded (CRC checked) in "
          f"{load_s:.1f} s", flush=True)  # fmt: skip
    chosen = np.random.default_rng(1).choice(images, queries, replace=False)
    started = time.perf_counter()
    exact = exact_top(data, chosen)
    print(f"exact top-{TOP} of {queries} queries by brute force: {time.perf_counter() - started:.0f} s", flush=True)
    asked = TOP * 3 + 8  # what Similarity.nearest_to asks the index for, before exact re-scoring
    runs = []
    for ef in efs:
        vectors.EXPANSION_SEARCH = ef
        times, rescore_times, recalls, graph_recalls = [], [], [], []
        for query_id, truth in zip(chosen.tolist(), exact, strict=True):
            vector = data[query_id].astype(np.float32)
            started = time.perf_counter()
            found = [i for i in index.nearest(vector, asked) if i != query_id]
            times.append(time.perf_counter() - started)
            started = time.perf_counter()
            similarities = cosine(data[found].astype(np.float32), vector)
            best = [found[k] for k in np.argsort(-similarities, kind="stable")[:TOP]]
            rescore_times.append(time.perf_counter() - started)
            recalls.append(len(truth & set(best)) / TOP)
            graph_recalls.append(len(truth & set(found[:TOP])) / TOP)
        run = {
            "ef": max(ef, asked), "median_ms": round(float(np.median(times)) * 1e3, 3),
            "p95_ms": round(float(np.percentile(times, 95)) * 1e3, 3),
            "rescore_median_ms": round(float(np.median(rescore_times)) * 1e3, 3),
            "recall_at_50": round(float(np.mean(recalls)), 4), "recall_min": round(float(np.min(recalls)), 2),
            "graph_order_recall_at_50": round(float(np.mean(graph_recalls)), 4),
        }  # fmt: skip
        runs.append(run)
        print(
            f"ef {run['ef']}: top-{TOP} median {run['median_ms']} ms, p95 {run['p95_ms']} ms (+ exact re-scoring "
            f"{run['rescore_median_ms']} ms); recall@{TOP} {run['recall_at_50']} (worst query {run['recall_min']}; "
            f"the graph's own order {run['graph_order_recall_at_50']})",
            flush=True,
        )
    return {
        "data": kind, "images": images, "dim": dim, "top": TOP, "queries": queries, "asked": asked, "runs": runs,
        "build_s": None if build_s is None else round(build_s, 1), "index_memory_mb": round(memory_mb),
        "file_mb": round(file_mb), "save_s": round(save_s, 1), "load_s": round(load_s, 1),
        "process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }  # fmt: skip


def duplicates(images: int, dim: int) -> dict:
    """A library with planted groups: 1 % exact copies, 2 % re-encodes (pHash/dHash 0-6 bits off),
    1 % look-alikes (embedding cosine ~0.99); everything else random."""
    from joytag_desktop.library.duplicates import find_duplicates

    rng = np.random.default_rng(2)
    folder = Path(tempfile.mkdtemp(prefix="joytag-dups-"))
    db = folder / "library.sqlite3"
    with Library(db) as library:
        library.add_root(folder)
        model = library.add_model("bench")
    hashes = rng.integers(-(2**63), 2**63 - 1, (images, 4), dtype=np.int64)
    embeddings = clustered(images, dim, 3)
    content = [f"{i:064x}" for i in range(images)]
    planted: list[set[int]] = []
    ids = rng.permutation(images)
    cursor = 0

    def take(n: int) -> list[int]:
        nonlocal cursor
        chosen = ids[cursor : cursor + n].tolist()
        cursor += n
        return chosen

    for _ in range(images // 200):  # exact pairs
        a, b = take(2)
        content[b] = content[a]
        hashes[b] = hashes[a]
        embeddings[b] = embeddings[a]
        planted.append({a, b})
    for _ in range(images // 100):  # re-encodes: a few bits off in both hashes
        a, b = take(2)
        for column in range(4):
            flips = rng.choice(64, rng.integers(0, 7), replace=False)
            mask = np.uint64(sum(1 << int(f) for f in flips))
            hashes[b, column] = (hashes[a, column].view(np.uint64) ^ mask).view(np.int64)
        planted.append({a, b})
    for _ in range(images // 200):  # look-alikes by embedding only
        a, b = take(2)
        embeddings[b] = embeddings[a] + rng.standard_normal(dim).astype(np.float16) * 0.05
        planted.append({a, b})
    started = time.perf_counter()
    with sqlite3.connect(db) as raw:
        raw.executemany(
            "INSERT INTO images (id, root_id, path, folder, name, ext, size, mtime, width, height, format, status,"
            " added_at, content_hash) VALUES (?, 1, ?, 'f', ?, 'jpg', 1000, 1.6e9, 640, 480, 'JPEG', 'tagged',"
            " '2026-01-01 00:00:00', ?)",
            ((i + 1, f"{folder}/img{i:07d}.jpg", f"img{i:07d}.jpg", content[i]) for i in range(images)),
        )
        raw.executemany(
            "INSERT INTO image_hashes VALUES (?, ?, ?, ?, ?, ?)",
            ((i + 1, content[i], *map(int, hashes[i])) for i in range(images)),
        )
        raw.executemany(
            "INSERT INTO image_models (image_id, model_id, tagged_at, embedding) VALUES (?, ?, '2026-01-01', ?)",
            ((i + 1, model.id, embeddings[i].astype("<f2").tobytes()) for i in range(images)),
        )
    store_s = time.perf_counter() - started
    with Library(db) as library:
        started = time.perf_counter()
        with library.similarity.held(model.id):
            pass
        index_s = time.perf_counter() - started
        print(f"{images:,}-image library stored in {store_s:.0f} s; vector index built in {index_s:.1f} s", flush=True)
        started = time.perf_counter()
        groups = find_duplicates(library, ("exact", "near", "similar"), similarity=0.97)
        group_s = time.perf_counter() - started
    found = [{image.id - 1 for image in group.images} for group in groups]
    missed = [p for p in planted if not any(p <= g for g in found)]
    result = {
        "images": images, "dim": dim, "group_s": round(group_s, 1), "groups": len(groups),
        "planted": len(planted), "planted_missed": len(missed), "index_build_s": round(index_s, 1),
    }  # fmt: skip
    print(
        f"duplicate grouping (exact + near + similar): {group_s:.1f} s, {len(groups):,} groups, "
        f"{len(planted) - len(missed):,} of {len(planted):,} planted groups found",
        flush=True,
    )
    for path in folder.rglob("*"):
        if path.is_file():
            path.unlink()
    return result


def flat_pairs(sizes: list[int], dim: int, similarity: float = 0.97) -> list[dict]:
    """Seconds for the look-alike pairs of ``sizes`` images, old quadratic pass against the new."""
    from joytag_desktop.library.look_alikes import matrix_pairs
    from joytag_desktop.library.vectors import FlatStore

    results = []
    for images in sizes:
        rng = np.random.default_rng(4)
        embeddings = clustered(images, dim, 5)
        rows = rng.permutation(images)
        for n in range(images // 100):  # 1 % look-alikes (cosine ~0.99)
            embeddings[rows[2 * n + 1]] = embeddings[rows[2 * n]] + rng.standard_normal(dim).astype(np.float16) * 0.05
        keys = np.arange(1, images + 1, dtype=np.int64)
        store = FlatStore(dim)
        store.add(keys, embeddings)
        started = time.perf_counter()
        old: set[tuple[int, int]] = set()
        for start in range(0, images, 4096):  # the old similar_pairs on a flat index
            found, distances = store.search(embeddings[start : start + 4096].astype(np.float32), 16)
            for row, image_id in enumerate(keys[start : start + 4096].tolist()):
                for key, distance in zip(found[row].tolist(), distances[row].tolist(), strict=True):
                    if key != image_id and 1.0 - distance >= similarity:
                        old.add((min(image_id, key), max(image_id, key)))
        old_s = time.perf_counter() - started
        started = time.perf_counter()
        new = {(a, b) for a, b, _ in matrix_pairs(keys, embeddings, similarity)}
        new_s = time.perf_counter() - started
        result = {
            "images": images, "dim": dim, "old_flat_pass_s": round(old_s, 2), "new_s": round(new_s, 2),
            "old_pairs": len(old), "new_pairs": len(new),
            "new_finds_of_old": round(len(old & new) / max(len(old), 1), 4),
        }  # fmt: skip
        print(
            f"look-alike pairs of {images:,} images (flat index): old quadratic pass {old_s:.1f} s, new {new_s:.1f} s; "
            f"{len(new):,} pairs, {len(old & new):,} of the old pass's {len(old):,}",
            flush=True,
        )
        results.append(result)
    return results


def old_near_pairs(hashes: np.ndarray, distance: int) -> set[tuple[int, int]]:
    """The near-copy pass before issue 33's fix: approximate, each image's 16 nearest in a graph."""
    from usearch.index import Index

    from joytag_desktop.library.duplicates import informative

    hashes = hashes[informative(hashes)]
    ids, phash, dhash, phash_m, dhash_m = (np.ascontiguousarray(hashes[:, k]) for k in range(5))

    def bits(values: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(values).view(np.uint8).reshape(-1, 8)

    def apart(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.bitwise_count(a.view(np.uint64) ^ b.view(np.uint64))

    graph = Index(ndim=64, metric="hamming", dtype="b1", connectivity=16, expansion_add=64, expansion_search=64)
    graph.add(np.arange(len(ids), dtype=np.uint64), bits(phash), threads=os.cpu_count() or 1)
    pairs: set[tuple[int, int]] = set()
    count = min(16, len(ids))
    for query_p, query_d in ((phash, dhash), (phash_m, dhash_m)):
        found = graph.search(bits(query_p), count, threads=os.cpu_count() or 1)
        rows = np.repeat(np.arange(len(ids)), count)
        columns = found.keys.reshape(-1).astype(np.int64)
        valid = (columns >= 0) & (columns < len(ids)) & (columns != rows)
        rows, columns = rows[valid], columns[valid]
        close = np.maximum(apart(query_p[rows], phash[columns]), apart(query_d[rows], dhash[columns])) <= distance
        for a, b in zip(ids[rows[close]].tolist(), ids[columns[close]].tolist(), strict=True):
            pairs.add((min(a, b), max(a, b)))
    return pairs


def near_copies(sizes: list[int], distance: int = 12) -> list[dict]:
    """Seconds and planted near copies found at each size, the old graph pass against the exact one."""
    from joytag_desktop.library.duplicates import near_pairs

    results = []
    for images in sizes:
        rng = np.random.default_rng(6)
        hashes = np.column_stack(
            [np.arange(1, images + 1), rng.integers(-(2**63), 2**63 - 1, (images, 4), dtype=np.int64)]
        )
        rows = rng.permutation(images)
        planted = set()
        for n in range(images // 100):  # 1 % re-encodes, 8-10 bits off in pHash and dHash
            a, b = rows[2 * n], rows[2 * n + 1]
            for column in (1, 2):
                mask = sum(1 << int(f) for f in rng.choice(64, int(rng.integers(8, 11)), replace=False))
                hashes[b, column] = (hashes[a, column : column + 1].view(np.uint64) ^ np.uint64(mask)).view(np.int64)[0]
            planted.add((int(min(a, b)) + 1, int(max(a, b)) + 1))
        started = time.perf_counter()
        old = old_near_pairs(hashes, distance)
        old_s = time.perf_counter() - started
        started = time.perf_counter()
        new = {(a, b) for a, b, _ in near_pairs(hashes, distance)}
        new_s = time.perf_counter() - started
        result = {
            "images": images, "distance": distance, "old_s": round(old_s, 2), "new_s": round(new_s, 2),
            "planted": len(planted), "old_planted_found": len(planted & old), "new_planted_found": len(planted & new),
            "old_pairs": len(old), "new_pairs": len(new), "old_pairs_not_new": len(old - new),
        }  # fmt: skip
        print(
            f"near copies among {images:,} hashes: old graph {old_s:.1f} s ({len(planted & old):,} of "
            f"{len(planted):,} planted, {len(old):,} pairs), exact {new_s:.1f} s ({len(planted & new):,} planted, "
            f"{len(new):,} pairs)",
            flush=True,
        )
        results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, nargs="+", default=[768])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef", type=int, nargs="+", default=[158, 256, 512], help="search depths to compare")
    parser.add_argument("--data", choices=("themed", "islands"), default="themed", help="see clustered()")
    parser.add_argument("--cache", type=Path, help="keep built indexes here and reuse them (the build is minutes)")
    parser.add_argument("--duplicates", type=int, default=100_000, help="images in the duplicate test (0: skip)")
    parser.add_argument("--pairs", type=int, nargs="*", default=[], help="look-alike pairs old and new at these sizes")
    parser.add_argument(
        "--near", type=int, nargs="*", default=[], help="near copies (hashes) old and new at these sizes"
    )
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    args = parser.parse_args()
    print(machine(), flush=True)
    summary: dict = {"machine": machine(), "cpus": os.cpu_count(), "similar": [], "duplicates": None}
    for dim in args.dim:
        if args.images:
            summary["similar"].append(vector_index(args.images, dim, args.queries, args.ef, args.cache, args.data))
    if args.pairs:
        summary["flat_pairs"] = flat_pairs(args.pairs, args.dim[0])
    if args.near:
        summary["near_copies"] = near_copies(args.near)
    if args.duplicates:
        summary["duplicates"] = duplicates(args.duplicates, args.dim[0])
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
