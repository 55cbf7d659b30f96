"""Every pair of 64-bit hashes within a Hamming distance, exactly, without comparing all with all.

Multi-index hashing (Norouzi, Punjani and Fleet, "Fast Exact Search in Hamming Space with
Multi-Index Hashing", 2014), by the pigeonhole principle: split the 64 bits into blocks and give
block i a radius r_i with sum(r_i + 1) > distance. Two hashes within ``distance`` bits then differ
by at most r_i bits in at least one block i (were every block r_i + 1 or more apart, the whole would
be more than ``distance`` apart). So the candidates are, for each block, the hashes whose block lies
within r_i bits of the query's (every XOR mask of up to r_i bits, looked up in a counting-sort table
of the block's values), and each candidate is verified with a popcount: nothing within the distance
is missed, nothing beyond it is kept.

The split (how many blocks, which radii) is chosen by an estimate of the work (look-ups plus
candidates for random hashes): blocks near log2(n) bits keep both small. When no split beats it (a
large distance on few hashes), all pairs are compared, a chunk at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np

BITS = 64
WIDEST_BLOCK = 16  # bits: a block's table (2**bits entries, 512 KB) stays in the cache
CHUNK = 1 << 20  # look-ups (or compared pairs) per step: bounded memory whatever the size
CANDIDATE_COST = 1.0  # a candidate (expanded, then verified) against one table look-up (~13 ns each)
PAIR_COST = 0.25  # one pair compared in the all-pairs pass (~3.5 ns)

Accept = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (query rows, key rows) -> which to keep


@dataclass(frozen=True)
class Block:
    shift: int  # lowest bit
    width: int  # bits
    radius: int  # differing bits looked for inside the block (-1: block not searched)


def plan(queries: int, keys: int, distance: int) -> list[Block] | None:
    """The cheapest split for ``queries`` looked up among ``keys`` hashes, or None when comparing
    all pairs costs less."""
    best: tuple[float, list[Block]] | None = None
    fewest = -(-BITS // WIDEST_BLOCK)
    for count in range(fewest, max(fewest, min(distance + 1, 16)) + 1):
        widths = [BITS // count + (1 if i < BITS % count else 0) for i in range(count)]
        shifts = [sum(widths[:i]) for i in range(count)]
        radii = [-1] * count

        def cost(width: int, radius: int) -> float:
            looked = sum(comb(width, k) for k in range(radius + 1))
            return queries * looked * (1.0 + CANDIDATE_COST * keys / 2.0**width)

        # Radii in turn to the block whose next bit costs least, until the pigeonhole holds.
        for _ in range(distance + 1):
            step = min(range(count), key=lambda i: cost(widths[i], radii[i] + 1) - cost(widths[i], radii[i]))
            radii[step] += 1
        total = sum(cost(w, r) for w, r in zip(widths, radii, strict=True)) + sum(2.0**w for w in widths)
        if best is None or total < best[0]:
            best = (total, [Block(s, w, r) for s, w, r in zip(shifts, widths, radii, strict=True)])
    assert best is not None
    if best[0] >= PAIR_COST * queries * keys:
        return None
    return best[1]


def _masks(width: int, radius: int) -> np.ndarray:
    """Every ``width``-bit mask with at most ``radius`` bits set."""
    found = [0]
    for k in range(1, radius + 1):
        found += [sum(1 << b for b in bits) for bits in combinations(range(width), k)]
    return np.array(found, dtype=np.int64)


def _block(values: np.ndarray, block: Block) -> np.ndarray:
    return ((values >> np.uint64(block.shift)) & np.uint64((1 << block.width) - 1)).astype(np.int64)


def pairs_within(
    keys: np.ndarray, distance: int, queries: np.ndarray | None = None, accept: Accept | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(query rows, key rows) of every pair within ``distance`` bits that ``accept`` keeps, each once.

    ``keys``, ``queries``: 64-bit hashes (int64 or uint64). Without ``queries`` the keys are paired
    among themselves (query row < key row); with them, every query is paired with every key (also
    the one of its own row: ``accept`` can leave that out)."""
    keys = np.ascontiguousarray(keys).view(np.uint64)
    same = queries is None
    asked = keys if queries is None else np.ascontiguousarray(queries).view(np.uint64)
    found_rows: list[np.ndarray] = []
    found_cols: list[np.ndarray] = []

    def keep(rows: np.ndarray, cols: np.ndarray) -> None:
        """Pairs already within the distance: the caller's own test (each pair is made unique at the end)."""
        if same:  # each pair as (lower row, higher row); a hash is no pair with itself
            chosen = rows != cols
            rows, cols = np.minimum(rows[chosen], cols[chosen]), np.maximum(rows[chosen], cols[chosen])
        if accept is not None and len(rows):
            chosen = accept(rows, cols)
            rows, cols = rows[chosen], cols[chosen]
        found_rows.append(rows)
        found_cols.append(cols)

    blocks = plan(len(asked), len(keys), distance) if len(asked) and len(keys) else []
    if blocks is None:
        step = max(1, CHUNK // len(keys))
        for start in range(0, len(asked), step):
            rows = np.arange(start, min(start + step, len(asked)))
            close = np.bitwise_count(asked[rows, None] ^ keys[None, :]) <= distance
            found, cols = np.nonzero(close)
            keep(rows[found], cols)
    else:
        for block in blocks:
            if block.radius >= 0:
                _search_block(keys, asked, same, distance, block, keep)
    if not found_rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rows, cols = np.concatenate(found_rows), np.concatenate(found_cols)
    # A pair close in several blocks was found by each: once is enough.
    unique = np.unique(rows * len(keys) + cols)
    return unique // len(keys), unique % len(keys)


def _search_block(
    keys: np.ndarray,
    asked: np.ndarray,
    same: bool,
    distance: int,
    block: Block,
    keep: Callable[[np.ndarray, np.ndarray], None],
) -> None:
    """Feed ``keep`` every (query, key) within ``distance`` whose values in ``block`` differ by at
    most its radius. Among the keys themselves (``same``) a pair in two buckets is looked up from
    the lower one only."""
    values = _block(keys, block)
    order = np.argsort(values, kind="stable").astype(np.int64)
    ordered = keys[order]  # the keys in bucket order: candidates are verified from contiguous runs
    counts = np.bincount(values, minlength=1 << block.width).astype(np.int64)
    starts = np.cumsum(counts) - counts
    wanted = _block(asked, block)
    masks = _masks(block.width, block.radius)
    per_query = 1.0 + len(keys) / 2.0**block.width  # look-up plus expected candidates
    queries_at_once = max(1, min(len(wanted), int(CHUNK / per_query)))
    masks_at_once = max(1, int(CHUNK / per_query) // queries_at_once)
    for first in range(0, len(wanted), queries_at_once):
        rows = np.arange(first, min(first + queries_at_once, len(wanted)))
        chunk = wanted[rows]
        for start in range(0, len(masks), masks_at_once):
            looked = chunk[None, :] ^ masks[start : start + masks_at_once, None]
            who = np.broadcast_to(rows, looked.shape)
            if same:
                upwards = looked >= chunk[None, :]
                looked, who = looked[upwards], who[upwards]
            else:
                looked, who = looked.ravel(), who.ravel()
            hits = counts[looked]
            total = int(hits.sum())
            if not total:
                continue
            ends = np.cumsum(hits)
            # Candidate k of look-up q sits at starts[q] + (k - first index of q's run).
            lookup = np.repeat(np.arange(len(hits)), hits)
            positions = np.arange(total) + (starts[looked] - (ends - hits))[lookup]
            close = np.bitwise_count(asked[who[lookup]] ^ ordered[positions]) <= distance
            found = np.flatnonzero(close)
            if len(found):
                keep(who[lookup[found]], order[positions[found]])
