"""Look-alikes: pairs of images whose embeddings by a model are nearly the same (``duplicates``
groups them), found without comparing every image with every other.

Each image's nearest neighbours are candidates, each confirmed exactly. A library whose vector
index is still a flat matrix (``vectors.FLAT_UP_TO``) is compared from that matrix: all against all
while that costs a tenth of a second (``EXACT_UP_TO``), else through a throwaway HNSW graph
(8-bit, shallow, over a random projection: seconds at 50,000 where the flat pass took minutes). A
bigger library asks its own graph, or the server's index.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from joytag_desktop.library.similar import Similarity

NEIGHBOURS = 16  # candidates per image and query (copies beyond that still join through each other)
GROUPING_DEPTH = 48  # the vector graph's search depth when grouping look-alikes
EXACT_UP_TO = 2_000  # embeddings grouped all against all (exact, ~0.1 s); a throwaway graph above
GRAPH_BATCH = 4096  # rows added to (or searched in) the throwaway graph between two looks at cancel
PROJECTED = 128  # the throwaway graph's width: wider embeddings are projected (close pairs stay close)
# Candidates the graph finds farther than CANDIDATE_SLACK x (1 - similarity) + CANDIDATE_MARGIN (its
# cosine distance) are not worth confirming: the projection stretches a close pair's distance by
# about 12 % (one standard deviation) and the 8 bits add about 0.005.
CANDIDATE_SLACK = 1.5
CANDIDATE_MARGIN = 0.02
GRAPH_LINKS = 16  # the throwaway graph's connectivity (HNSW's M)
DEFAULT_SIMILARITY = 0.95

Progress = Callable[[str, int, int], None]  # (stage, done, total)


class PairSource(Protocol):
    """What finding look-alikes asks of a library (``duplicates.DuplicateSource`` is one)."""

    similarity: Similarity


def similar_pairs(
    library: PairSource,
    model_id: int,
    similarity: float = DEFAULT_SIMILARITY,
    ids: Iterable[int] | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> list[tuple[int, int, float]]:
    """(id, id, cosine) pairs of images whose embeddings by the model are at least ``similarity``
    alike: each image's nearest neighbours (``NEIGHBOURS``), every pair confirmed exactly.

    A library still small enough for a flat index (``vectors.FLAT_UP_TO``) is compared from its
    matrix: all against all up to ``EXACT_UP_TO`` images (exact), else through a throwaway graph,
    never with the quadratic pass. A big library asks its own graph (or the server's index)."""
    from joytag_desktop.library.vectors import FlatStore

    wanted = set(ids) if ids is not None else None
    with library.similarity.held(model_id) as index:
        if index is None:
            from joytag_desktop.library.similar import SimilarityError

            raise SimilarityError("the similarity index is still being built: try again in a few minutes")
        if len(index) < 2:
            return []
        store = index.store
        if not isinstance(store, FlatStore):
            return _pairs_from_index(library, index, model_id, similarity, wanted, progress, cancel)
        keys, matrix = store.ids, store.matrix  # replaced, never changed in place: safe past the lock
    if wanted is not None:
        chosen = np.isin(keys, np.fromiter(wanted, np.int64, len(wanted)))
        keys, matrix = keys[chosen], matrix[chosen]
    return matrix_pairs(keys, matrix, similarity, progress, cancel)


def matrix_pairs(
    keys: np.ndarray,
    matrix: np.ndarray,
    similarity: float,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    exact_up_to: int | None = None,
) -> list[tuple[int, int, float]]:
    """``similar_pairs`` of the embeddings ``matrix`` (one row per key in ``keys``): all against all
    up to ``exact_up_to`` rows (default EXACT_UP_TO), through a throwaway HNSW graph above."""
    unit = matrix.astype(np.float32)
    norms = np.linalg.norm(unit, axis=1)
    keys, unit = keys[norms > 0], unit[norms > 0] / norms[norms > 0, None]  # a zero vector is like nothing
    if len(keys) < 2:
        return []
    limit = EXACT_UP_TO if exact_up_to is None else exact_up_to
    finder = _all_against_all if len(keys) <= limit else _through_graph
    rows, columns = finder(unit, similarity, progress, cancel)
    cosines = np.empty(len(rows), np.float32)
    for start in range(0, len(rows), 16_384):  # a pair's rows gathered a slice at a time: memory stays small
        part = slice(start, start + 16_384)
        cosines[part] = np.einsum("ij,ij->i", unit[rows[part]], unit[columns[part]])
    close = cosines >= similarity
    pairs: dict[tuple[int, int], float] = {}
    found = zip(keys[rows[close]].tolist(), keys[columns[close]].tolist(), cosines[close].tolist(), strict=True)
    for a, b, value in found:
        pair = (min(a, b), max(a, b))
        pairs[pair] = max(pairs.get(pair, -1.0), float(value))
    return [(a, b, value) for (a, b), value in sorted(pairs.items())]


def _all_against_all(
    unit: np.ndarray, similarity: float, progress: Progress | None, cancel: threading.Event | None
) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of each row's NEIGHBOURS nearest other rows at ``similarity`` or above, exactly
    (unit vectors; a tenth of a second at EXACT_UP_TO)."""
    rows: list[np.ndarray] = []
    columns: list[np.ndarray] = []
    for start in range(0, len(unit), 1024):
        if cancel is not None and cancel.is_set():
            break
        row, column = _nearest_exactly(unit, np.arange(start, min(start + 1024, len(unit))), similarity)
        rows.append(row)
        columns.append(column)
        if progress is not None:
            progress("comparing", min(start + 1024, len(unit)), len(unit))
    return _joined(rows), _joined(columns)


def _through_graph(
    unit: np.ndarray, similarity: float, progress: Progress | None, cancel: threading.Event | None
) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) candidates: each row's NEIGHBOURS nearest in an HNSW graph made for this pass,
    those the graph finds close enough to be worth confirming from the float vectors.

    The graph is cheap because only close pairs count: 8-bit, shallow, over a fixed random
    projection to PROJECTED dimensions (distances of close pairs survive it within a few per cent;
    candidates within CANDIDATE_SLACK and CANDIDATE_MARGIN of the similarity are all confirmed)."""
    from usearch.index import Index

    threads = os.cpu_count() or 1
    if unit.shape[1] > PROJECTED:
        projection = np.random.default_rng(0).standard_normal((unit.shape[1], PROJECTED)).astype(np.float32)
        low = unit @ projection
        low /= np.maximum(np.linalg.norm(low, axis=1, keepdims=True), 1e-12)
    else:
        low = unit
    graph = Index(
        ndim=low.shape[1], metric="cos", dtype="i8", connectivity=GRAPH_LINKS, expansion_add=32,
        expansion_search=GROUPING_DEPTH,
    )  # fmt: skip
    total = 2 * len(low)  # adding, then searching: one step each per image
    for start in range(0, len(low), GRAPH_BATCH):
        if cancel is not None and cancel.is_set():
            return _joined([]), _joined([])
        block = low[start : start + GRAPH_BATCH]
        graph.add(np.arange(start, start + len(block), dtype=np.uint64), block, threads=threads)
        if progress is not None:
            progress("comparing", start + len(block), total)
    count = min(NEIGHBOURS + 1, len(low))  # itself is usually among them
    farthest = CANDIDATE_SLACK * (1 - similarity) + CANDIDATE_MARGIN  # in the graph's cosine distance
    rows: list[np.ndarray] = []
    columns: list[np.ndarray] = []
    for start in range(0, len(low), GRAPH_BATCH):
        if cancel is not None and cancel.is_set():
            break
        block = low[start : start + GRAPH_BATCH]
        found = graph.search(block, count, threads=threads)
        keys = np.asarray(found.keys, dtype=np.int64).reshape(len(block), -1)
        distances = np.asarray(found.distances, dtype=np.float32).reshape(len(block), -1)
        own = np.arange(start, start + len(block))
        row = np.repeat(own, keys.shape[1])
        column = keys.reshape(-1)
        valid = (column >= 0) & (column < len(low)) & (column != row) & (distances.reshape(-1) <= farthest)
        rows.append(row[valid])
        columns.append(column[valid])
        # A search that did not find the image itself (nor an identical one) got lost on the way: an
        # island of look-alikes the graph links to nothing else. Those rows are compared exactly.
        lost = own[~((keys == own[:, None]).any(axis=1) | (distances[:, 0] <= 1e-3))]
        for first in range(0, len(lost), 1024):
            row, column = _nearest_exactly(unit, lost[first : first + 1024], similarity)
            rows.append(row)
            columns.append(column)
        if progress is not None:
            progress("comparing", len(low) + start + len(block), total)
    return _joined(rows), _joined(columns)


def _nearest_exactly(unit: np.ndarray, chosen: np.ndarray, similarity: float) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of the ``chosen`` rows' NEIGHBOURS nearest other rows at ``similarity`` or above."""
    count = min(NEIGHBOURS, len(unit) - 1)
    block = unit[chosen] @ unit.T
    block[np.arange(len(chosen)), chosen] = -np.inf  # not itself
    best = np.argpartition(-block, count - 1, axis=1)[:, :count]
    close = (np.take_along_axis(block, best, axis=1) >= similarity).reshape(-1)
    return np.repeat(chosen, count)[close], best.reshape(-1)[close]


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _pairs_from_index(
    library: PairSource,
    index,
    model_id: int,
    similarity: float,
    wanted: set[int] | None,
    progress: Progress | None,
    cancel: threading.Event | None,
) -> list[tuple[int, int, float]]:
    """Pairs from a library's own graph (or the server's index): each image's nearest
    neighbours, batch by batch, with the embeddings read from the database as queries."""
    from joytag_desktop.library.vectors import decode, embedding_pages

    pairs: dict[tuple[int, int], float] = {}
    total = len(index)
    done = 0
    with library.similarity.connection() as connection:
        for rows in embedding_pages(connection, model_id, 4096):
            if cancel is not None and cancel.is_set():
                break
            done += len(rows)
            batch = [(i, decode(blob)) for i, blob in rows if wanted is None or i in wanted]
            batch = [(i, v) for i, v in batch if v is not None and len(v) == index.ndim]
            if batch:
                # Only close pairs count: a shallow search finds them (a third of the default's time).
                keys, distances = index.store.search(
                    np.stack([v for _, v in batch]), min(NEIGHBOURS, total), depth=GROUPING_DEPTH
                )
                for row, (image_id, _) in enumerate(batch):
                    for key, dist in zip(keys[row].tolist(), distances[row].tolist(), strict=True):
                        cosine = 1.0 - float(dist)
                        if key != image_id and cosine >= similarity and (wanted is None or key in wanted):
                            pair = (min(image_id, key), max(image_id, key))
                            pairs[pair] = max(pairs.get(pair, -1.0), cosine)
            if progress is not None:
                progress("comparing", min(done, total), total)
    return [(a, b, s) for (a, b), s in sorted(pairs.items())]
