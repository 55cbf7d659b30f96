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
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from usearch.index import Index

from joytag_desktop.library.postings import KIND_IMAGE, KIND_MODEL, MAX_REPLAY, StaleIndex, latest_change
from joytag_desktop.library.search import json_ids

log = logging.getLogger(__name__)

FORMAT = 1
CONNECTIVITY = 16  # graph edges per node (HNSW's M)
EXPANSION_ADD = 64  # search depth while inserting (efConstruction): recall 0.99+ at half the build time of 128
EXPANSION_SEARCH = 128  # search depth of a query (ef), raised to the number of results asked for
ADD_BATCH = 20_000
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


class VectorIndex:
    """One model's embeddings as an HNSW graph keyed by image id, at change ``stamp``."""

    def __init__(self, model_id: int, ndim: int, stamp: int, graph: Index | None = None) -> None:
        self.model_id = model_id
        self.ndim = ndim
        self.stamp = stamp
        self.graph = graph if graph is not None else _new_graph(ndim)
        self.changes_since_save = 0

    def __len__(self) -> int:
        return len(self.graph)

    @classmethod
    def build(cls, connection: sqlite3.Connection, model_id: int, threads: int = 0) -> VectorIndex:
        """Every stored embedding of the model, read in pages (memory stays flat beside the graph)."""
        stamp = latest_change(connection)
        index: VectorIndex | None = None
        after = -1
        while True:
            rows = connection.execute(
                "SELECT image_id, embedding FROM image_models WHERE model_id = ? AND image_id > ?"
                " AND embedding IS NOT NULL ORDER BY image_id LIMIT ?",
                (model_id, after, ADD_BATCH),
            ).fetchall()
            if not rows:
                break
            after = rows[-1][0]
            ids, vectors = _vectors(rows, index.ndim if index else None)
            if index is None and len(ids):
                index = cls(model_id, vectors.shape[1], stamp)
            if index is not None and len(ids):
                index.graph.add(ids, vectors, threads=threads)
        return index if index is not None else cls(model_id, 0, stamp)

    def catch_up(self, connection: sqlite3.Connection) -> int:
        """Replay the changes after ``stamp`` (this model's taggings, deleted images); returns how
        many log rows were read. Raises StaleIndex where replay is impossible or not worth it."""
        latest = latest_change(connection)
        if latest == self.stamp:
            return 0
        pending = latest - self.stamp
        if latest < self.stamp or pending > MAX_REPLAY:
            raise StaleIndex(f"{pending} changes to replay")
        (logged,) = connection.execute(
            "SELECT count(*) FROM search_changes WHERE seq > ? AND seq <= ?", (self.stamp, latest)
        ).fetchone()
        if logged != pending:
            raise StaleIndex("the change log was pruned past this index's stamp")
        touched = {
            image_id
            for kind, image_id, ref in connection.execute(
                "SELECT kind, image_id, ref FROM search_changes WHERE seq > ? AND seq <= ? AND kind IN (?, ?)",
                (self.stamp, latest, KIND_IMAGE, KIND_MODEL),
            )
            if image_id is not None and (kind == KIND_IMAGE or ref == self.model_id)
        }
        if touched:
            self.refresh(connection, touched)
        self.stamp = latest
        self.changes_since_save += pending
        return pending

    def refresh(self, connection: sqlite3.Connection, image_ids: Iterable[int]) -> None:
        """Make the graph hold exactly what SQLite holds for these images (added, replaced, dropped)."""
        wanted = sorted(set(image_ids))
        rows = connection.execute(
            "SELECT image_id, embedding FROM image_models WHERE model_id = ? AND embedding IS NOT NULL"
            " AND image_id IN (SELECT value FROM json_each(?))",
            (self.model_id, json_ids(wanted)),
        ).fetchall()
        present = [i for i in wanted if self.graph.contains(i)]
        if present:
            self.graph.remove(np.array(present, dtype=np.uint64))
        if not rows:
            return
        if not self.ndim:
            first = decode(rows[0][1])
            self.ndim = 0 if first is None else len(first)
            if self.ndim:
                self.graph = _new_graph(self.ndim)
        ids, vectors = _vectors(rows, self.ndim)
        if len(ids):
            self.graph.add(ids, vectors)

    def nearest(self, vector: np.ndarray, count: int, exact: bool = False) -> list[int]:
        """Up to ``count`` image ids, nearest first (approximate unless ``exact``)."""
        if not len(self.graph) or len(vector) != self.ndim or count <= 0:
            return []
        self.graph.expansion_search = max(EXPANSION_SEARCH, count)
        found = self.graph.search(vector.astype(np.float32), min(count, len(self.graph)), exact=exact)
        return [int(key) for key in found.keys]

    # --- saved copies -------------------------------------------------------------------------

    def save(self, folder: Path, identity: dict) -> None:
        """Write the graph to a new file, then the description naming it (both renamed into place)."""
        folder.mkdir(exist_ok=True)
        _remove_stale(folder, self.model_id)
        graph_name = f"model-{self.model_id}-{self.stamp}-{time.time_ns()}.usearch"
        temporary = folder / (graph_name + ".tmp")
        self.graph.save(str(temporary))
        os.replace(temporary, folder / graph_name)
        description = {
            "format": FORMAT, "model": self.model_id, "ndim": self.ndim, "stamp": self.stamp, "identity": identity,
            "graph": graph_name, "size": (folder / graph_name).stat().st_size, "crc32": _crc32(folder / graph_name),
        }  # fmt: skip
        meta = _description(folder, self.model_id)
        previous = _read_description(meta)
        temporary = meta.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(description))
        os.replace(temporary, meta)
        if previous and previous.get("graph") not in (None, graph_name):
            (folder / previous["graph"]).unlink(missing_ok=True)
        self.changes_since_save = 0

    @classmethod
    def load(cls, folder: Path, model_id: int, identity_at: Callable[[int], dict]) -> VectorIndex | None:
        """The saved index, or None when it is missing, damaged or made for another database."""
        description = _read_description(_description(folder, model_id))
        if not description or description.get("format") != FORMAT or description.get("model") != model_id:
            return None
        try:
            stamp, ndim = int(description["stamp"]), int(description["ndim"])
            graph_path = folder / str(description["graph"])
            if (
                Path(description["graph"]).name != description["graph"]
                or description.get("identity") != identity_at(stamp)
                or graph_path.stat().st_size != description.get("size")
                or _crc32(graph_path) != description.get("crc32")
            ):
                return None
            if not ndim:
                return cls(model_id, 0, stamp)
            graph = _new_graph(ndim)
            graph.load(str(graph_path))
            if graph.ndim != ndim:
                return None
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            log.info("saved vector index of model %s not used: %s", model_id, exc)
            return None
        return cls(model_id, ndim, stamp, graph)


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
    named = (_read_description(_description(folder, model_id)) or {}).get("graph")
    for path in folder.glob(f"model-{model_id}-*.usearch*"):
        try:
            if path.name != named and time.time() - path.stat().st_mtime > STALE_FILE_S:
                path.unlink()
        except OSError as exc:
            log.info("could not remove %s: %s", path, exc)
