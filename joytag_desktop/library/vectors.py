"""Nearest images by embedding: one approximate index (usearch's HNSW graph) per model.

Why an index: at a million images a brute-force pass over the embeddings reads 1.5 GB per query;
the graph answers a top-50 in about a millisecond. Embeddings of different models never mix (each
model has its own index and width). SQLite stays the truth: the index holds ids and float16
copies of ``image_models.embedding``, follows ``search_changes`` like the posting lists (a model's
tagging of an image, an image deleted), and its candidates are scored again from SQLite, so the
similarities shown are exact even where the graph is approximate.

Saved beside the database (``library.sqlite3-vectors/model-<id>.json`` naming the graph file it
describes, with its stamp, size and checksum); files are renamed into place, so a kill leaves
either the old pair or the new one. A file that does not match is rebuilt, never trusted.
"""

from __future__ import annotations

import json
import logging
import os
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
from usearch.index import Index

from joytag_desktop.library import statements as sql
from joytag_desktop.library.codes import KIND_IMAGE, KIND_MODEL
from joytag_desktop.library.dialect import json_ids
from joytag_desktop.library.postings import MAX_REPLAY, StaleIndex, latest_change
from joytag_desktop.library.statements import DriverConnection

log = logging.getLogger(__name__)

FORMAT = 2
CONNECTIVITY = 16  # graph edges per node (HNSW's M)
EXPANSION_ADD = 64  # search depth while inserting (efConstruction): recall 0.99+ at half the build time of 128
EXPANSION_SEARCH = 128  # search depth of a query (ef), raised to the number of results asked for
ADD_BATCH = 20_000
FLAT_UP_TO = 50_000  # embeddings searched exhaustively (exact, ~10 ms); a graph above
STALE_FILE_S = 3600  # a graph file no description names, this old, was left by a killed save


def decode(blob: bytes | None) -> np.ndarray | None:
    """A stored embedding (float16 little-endian) as float32; None when absent or empty (a graph
    without an embedding output stores none)."""
    if not blob:
        return None
    return np.frombuffer(blob, dtype="<f2").astype(np.float32)


def cosine(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row of ``matrix`` with ``vector`` (zero vectors score 0)."""
    norms = np.linalg.norm(matrix, axis=1) * float(np.linalg.norm(vector))
    with np.errstate(invalid="ignore", divide="ignore"):
        result = (matrix @ vector) / norms
    return np.nan_to_num(result, nan=0.0, posinf=0.0, neginf=0.0)


def _new_graph(ndim: int) -> Index:
    return Index(
        ndim=ndim, metric="cos", dtype="f16", connectivity=CONNECTIVITY, expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )  # fmt: skip


class FlatStore:
    """Embeddings as one float16 matrix, searched exhaustively: exact, a few milliseconds up to
    FLAT_UP_TO images, and no graph to build (a graph costs about 0.4 ms per image to insert)."""

    kind = "flat"

    def __init__(self, ndim: int) -> None:
        self.ndim = ndim
        self.ids = np.zeros(0, np.int64)
        self.matrix = np.zeros((0, ndim), np.float16)
        self.rows: dict[int, int] = {}
        self._unit: np.ndarray | None = None  # the rows as float32 unit vectors, made on first search

    def __len__(self) -> int:
        return len(self.ids)

    def contains(self, key: int) -> bool:
        return key in self.rows

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        base = len(self.ids)
        self.ids = np.concatenate([self.ids, ids.astype(np.int64)])
        self.matrix = np.concatenate([self.matrix, vectors.astype(np.float16)])
        self.rows.update({int(key): base + n for n, key in enumerate(ids.tolist())})
        self._unit = None

    def remove(self, ids: np.ndarray) -> None:
        gone = [self.rows[int(key)] for key in ids.tolist() if int(key) in self.rows]
        if gone:
            keep = np.ones(len(self.ids), bool)
            keep[gone] = False
            self.ids, self.matrix = self.ids[keep], self.matrix[keep]
            self.rows = {int(key): n for n, key in enumerate(self.ids.tolist())}
            self._unit = None

    def search(self, vectors: np.ndarray, count: int, depth: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(keys, cosine distances) of the ``count`` nearest per row of ``vectors``, nearest first
        (exact: ``depth`` is for the graph's signature)."""
        vectors = np.atleast_2d(vectors).astype(np.float32)
        count = min(count, len(self.ids))
        keys = np.zeros((len(vectors), count), np.int64)
        distances = np.zeros((len(vectors), count), np.float32)
        if not count:
            return keys, distances
        if self._unit is None:
            unit: np.ndarray = self.matrix.astype(np.float32)  # stays an array through the in-place divide
            norms = np.linalg.norm(unit, axis=1)
            norms[norms == 0] = 1.0
            unit /= norms[:, None]
            self._unit = unit
        matrix = self._unit
        query_norms = np.linalg.norm(vectors, axis=1)
        query_norms[query_norms == 0] = 1.0
        vectors = vectors / query_norms[:, None]
        for start in range(0, len(vectors), 256):  # (256 x images) similarities at a time
            block = vectors[start : start + 256] @ matrix.T
            if count < len(self.ids):
                best = np.argpartition(-block, count - 1, axis=1)[:, :count]
            else:
                best = np.tile(np.arange(count), (len(block), 1))
            chosen = np.take_along_axis(block, best, axis=1)
            order = np.argsort(-chosen, axis=1, kind="stable")
            best, chosen = np.take_along_axis(best, order, axis=1), np.take_along_axis(chosen, order, axis=1)
            keys[start : start + 256], distances[start : start + 256] = self.ids[best], 1.0 - chosen
        return keys, distances

    def save(self, path: str) -> None:
        with open(path, "wb") as handle:
            handle.write(self.ids.astype("<i8").tobytes())
            handle.write(self.matrix.astype("<f2").tobytes())

    @classmethod
    def load(cls, path: Path, ndim: int, count: int) -> FlatStore:
        data = path.read_bytes()
        if len(data) != count * 8 + count * ndim * 2:
            raise ValueError("flat vector file of the wrong size")
        store = cls(ndim)
        store.ids = np.frombuffer(data, "<i8", count).astype(np.int64)
        store.matrix = np.frombuffer(data, "<f2", count * ndim, count * 8).reshape(count, ndim).copy()
        store.rows = {int(key): n for n, key in enumerate(store.ids.tolist())}
        return store


class GraphStore:
    """Embeddings in usearch's HNSW graph: approximate, about a millisecond for a top-50 at a million."""

    kind = "graph"

    def __init__(self, ndim: int, graph: Index | None = None) -> None:
        self.ndim = ndim
        self.graph = graph if graph is not None else _new_graph(ndim)

    def __len__(self) -> int:
        return len(self.graph)

    def contains(self, key: int) -> bool:
        return bool(self.graph.contains(key))

    def add(self, ids: np.ndarray, vectors: np.ndarray, threads: int = 0) -> None:
        self.graph.add(ids.astype(np.uint64), vectors, threads=threads)

    def remove(self, ids: np.ndarray) -> None:
        self.graph.remove(ids.astype(np.uint64))

    def search(self, vectors: np.ndarray, count: int, depth: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``depth``: the search depth (ef), default EXPANSION_SEARCH; never below ``count``."""
        vectors = np.atleast_2d(vectors).astype(np.float32)
        count = min(count, len(self.graph))
        self.graph.expansion_search = max(depth or EXPANSION_SEARCH, count)
        found = self.graph.search(vectors, count, threads=os.cpu_count() or 1)
        keys = np.asarray(found.keys, dtype=np.int64).reshape(len(vectors), -1)
        distances = np.asarray(found.distances, dtype=np.float32).reshape(len(vectors), -1)
        return keys, distances

    def save(self, path: str) -> None:
        self.graph.save(path)

    @classmethod
    def load(cls, path: Path, ndim: int, count: int) -> GraphStore:
        graph = _new_graph(ndim)
        graph.load(str(path))
        if graph.ndim != ndim or len(graph) != count:
            raise ValueError("vector graph of the wrong shape")
        return cls(ndim, graph)


Store = FlatStore | GraphStore


class VectorIndex:
    """One model's embeddings keyed by image id, at change ``stamp``: a flat matrix up to FLAT_UP_TO
    images, an HNSW graph above (the store changes kind as the library grows past it)."""

    def __init__(self, model_id: int, ndim: int, stamp: int, store: Store | None = None) -> None:
        self.model_id = model_id
        self.ndim = ndim
        self.stamp = stamp
        self.store: Store = store if store is not None else FlatStore(ndim)
        self.changes_since_save = 0  # images added, replaced or dropped since the last save

    def __len__(self) -> int:
        return len(self.store)

    @classmethod
    def build(cls, connection: DriverConnection, model_id: int) -> VectorIndex:
        """Every stored embedding of the model, read in pages (memory stays flat beside the store)."""
        stamp = latest_change(connection)
        (total,) = connection.execute(sql.EMBEDDING_COUNT, (model_id,)).fetchone()
        index: VectorIndex | None = None
        started = time.perf_counter()
        for rows in embedding_pages(connection, model_id):
            ids, vectors = _vectors(rows, index.ndim if index else None)
            if index is None and len(ids):
                ndim = vectors.shape[1]
                index = cls(model_id, ndim, stamp, GraphStore(ndim) if total > FLAT_UP_TO else FlatStore(ndim))
            if index is not None and len(ids):
                index.store.add(ids, vectors)
        if index is not None and index.store.kind == "graph":
            seconds = time.perf_counter() - started
            log.info("vector index of model %s: %s embeddings in %.1f s", model_id, total, seconds)
        return index if index is not None else cls(model_id, 0, stamp)

    def catch_up(self, connection: DriverConnection) -> int:
        """Replay the changes after ``stamp`` (this model's taggings, deleted images); returns how
        many log rows were read. Raises StaleIndex where replay is impossible or not worth it."""
        latest = latest_change(connection)
        if latest == self.stamp:
            self._check_kind()
            return 0
        pending = latest - self.stamp
        if latest < self.stamp or pending > MAX_REPLAY:
            raise StaleIndex(f"{pending} changes to replay")
        (logged,) = connection.execute(sql.CHANGE_COUNT_BETWEEN, (self.stamp, latest)).fetchone()
        if logged != pending:
            raise StaleIndex("the change log was pruned past this index's stamp")
        touched = {
            image_id
            for kind, image_id, ref in connection.execute(
                sql.CHANGES_OF_KINDS_BETWEEN, (self.stamp, latest, KIND_IMAGE, KIND_MODEL)
            )
            if image_id is not None and (kind == KIND_IMAGE or ref == self.model_id)
        }
        if touched:
            self.refresh(connection, touched)
        self._check_kind()
        self.stamp = latest
        self.changes_since_save += len(touched)
        return pending

    def _check_kind(self) -> None:
        """A flat store grown well past FLAT_UP_TO is rebuilt as a graph (the margin keeps a library
        near the limit from rebuilding back and forth)."""
        if self.store.kind == "flat" and len(self.store) > FLAT_UP_TO * 5 // 4:
            raise StaleIndex(f"{len(self.store)} embeddings: time for a graph")

    def refresh(self, connection: DriverConnection, image_ids: Iterable[int]) -> None:
        """Make the store hold exactly what SQLite holds for these images (added, replaced, dropped)."""
        wanted = sorted(set(image_ids))
        rows = connection.execute(sql.EMBEDDINGS_LISTED, (self.model_id, json_ids(wanted))).fetchall()
        present = [i for i in wanted if self.store.contains(i)]
        if present:
            self.store.remove(np.array(present, dtype=np.int64))
        if not rows:
            return
        if not self.ndim:
            first = decode(rows[0][1])
            self.ndim = 0 if first is None else len(first)
            if self.ndim:
                self.store = FlatStore(self.ndim)
        ids, vectors = _vectors(rows, self.ndim)
        if len(ids):
            self.store.add(ids, vectors)

    def nearest(self, vector: np.ndarray, count: int) -> list[int]:
        """Up to ``count`` image ids, nearest first (exact for a flat store)."""
        if not len(self.store) or len(vector) != self.ndim or count <= 0:
            return []
        keys, _ = self.store.search(vector, count)
        return [int(key) for key in keys[0]]

    # --- saved copies -------------------------------------------------------------------------

    def save(self, folder: Path, identity: dict) -> None:
        """Write the store to a new file, then the description naming it (both renamed into place)."""
        folder.mkdir(exist_ok=True)
        _remove_stale(folder, self.model_id)
        data_name = f"model-{self.model_id}-{self.stamp}-{time.time_ns()}.{self.store.kind}"
        temporary = folder / (data_name + ".tmp")
        self.store.save(str(temporary))
        os.replace(temporary, folder / data_name)
        description = {
            "format": FORMAT, "model": self.model_id, "ndim": self.ndim, "stamp": self.stamp, "identity": identity,
            "kind": self.store.kind, "count": len(self.store), "data": data_name,
            "size": (folder / data_name).stat().st_size, "crc32": _crc32(folder / data_name),
        }  # fmt: skip
        meta = _description(folder, self.model_id)
        previous = _read_description(meta)
        temporary = meta.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(description))
        os.replace(temporary, meta)
        if previous and previous.get("data") not in (None, data_name):
            (folder / str(previous["data"])).unlink(missing_ok=True)
        self.changes_since_save = 0

    @classmethod
    def load(cls, folder: Path, model_id: int, identity_at: Callable[[int], dict]) -> VectorIndex | None:
        """The saved index, or None when it is missing, damaged or made for another database."""
        description = _read_description(_description(folder, model_id))
        if not description or description.get("format") != FORMAT or description.get("model") != model_id:
            return None
        try:
            stamp, ndim, count = int(description["stamp"]), int(description["ndim"]), int(description["count"])
            name = str(description["data"])
            path = folder / name
            if (
                Path(name).name != name
                or description.get("identity") != identity_at(stamp)
                or path.stat().st_size != description.get("size")
                or _crc32(path) != description.get("crc32")
            ):
                return None
            if not ndim:
                return cls(model_id, 0, stamp)
            kind = {"flat": FlatStore, "graph": GraphStore}[description["kind"]]
            store = kind.load(path, ndim, count)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            log.info("saved vector index of model %s not used: %s", model_id, exc)
            return None
        return cls(model_id, ndim, stamp, store)


def embedding_pages(
    connection: DriverConnection, model_id: int, size: int = ADD_BATCH
) -> Iterator[list[tuple[int, bytes]]]:
    """The model's stored embeddings as (image id, blob) rows, ``size`` at a time, by image id."""
    after = -1
    while True:
        rows = connection.execute(sql.EMBEDDING_PAGE, (model_id, after, size)).fetchall()
        if not rows:
            return
        after = rows[-1][0]
        yield rows


def _vectors(rows: list[tuple[int, bytes]], ndim: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(ids, float32 matrix) of the rows whose embedding has the model's width."""
    ids: list[int] = []
    vectors: list[np.ndarray] = []
    for image_id, blob in rows:
        vector = decode(blob)
        if vector is None or (ndim is not None and len(vector) != ndim):
            continue
        ndim = len(vector)
        ids.append(image_id)
        vectors.append(vector)
    if not ids:
        return np.zeros(0, np.uint64), np.zeros((0, ndim or 0), np.float32)
    return np.array(ids, dtype=np.uint64), np.stack(vectors)


def _description(folder: Path, model_id: int) -> Path:
    return folder / f"model-{model_id}.json"


def _read_description(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _crc32(path: Path) -> int:
    checksum = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 24):
            checksum = zlib.crc32(chunk, checksum)
    return checksum


def _remove_stale(folder: Path, model_id: int) -> None:
    """Graph files of this model that no description names, left by a process killed mid-save."""
    named = (_read_description(_description(folder, model_id)) or {}).get("data")
    for path in folder.glob(f"model-{model_id}-*"):
        try:
            if path.name != named and time.time() - path.stat().st_mtime > STALE_FILE_S:
                path.unlink()
        except OSError as exc:
            log.info("could not remove %s: %s", path, exc)
