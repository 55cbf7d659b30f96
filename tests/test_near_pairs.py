"""Near copies by perceptual hash: every pair within the distance, and no other, checked against a
brute-force comparison of all pairs (numpy, a few thousand hashes)."""

from __future__ import annotations

import numpy as np
import pytest

from joytag_desktop.library.duplicates import DEFAULT_DISTANCE, near_pairs
from joytag_desktop.library.hamming import pairs_within, plan


def _random(rng: np.random.Generator, shape: int | tuple[int, ...]) -> np.ndarray:
    return rng.integers(-(2**63), 2**63 - 1, shape, dtype=np.int64, endpoint=True)


def _flip(value: np.int64, rng: np.random.Generator, bits: int) -> np.int64:
    """``value`` with ``bits`` distinct bits flipped."""
    mask = sum(1 << int(b) for b in rng.choice(64, bits, replace=False))
    return (np.array([value]).view(np.uint64) ^ np.uint64(mask)).view(np.int64)[0]


def _apart(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Differing bits of every a against every b (a matrix)."""
    return np.bitwise_count(a.view(np.uint64)[:, None] ^ b.view(np.uint64)[None, :])


def _every_pair(hashes: np.ndarray, distance: int) -> list[tuple[int, int, int]]:
    """The answer by comparing all pairs: pHash and dHash both within the distance, directly, or with
    either image mirrored; bits in the closer orientation."""
    ids, p, d, pm, dm = (hashes[:, k] for k in range(5))
    ones = np.bitwise_count(p.view(np.uint64))
    content = (ones >= 16) & (ones <= 48)  # flat colours (few or most bits set) are never near copies
    direct = np.maximum(_apart(p, p), _apart(d, d))
    mirrored = np.maximum(_apart(pm, p), _apart(dm, d))  # row mirrored against column
    bits = np.minimum(direct, np.minimum(mirrored, mirrored.T))
    close = (bits <= distance) & content[:, None] & content[None, :]
    rows, cols = np.nonzero(np.triu(close, 1))
    return sorted(
        (min(int(ids[r]), int(ids[c])), max(int(ids[r]), int(ids[c])), int(bits[r, c]))
        for r, c in zip(rows, cols, strict=True)
    )


def _library_hashes(
    rng: np.random.Generator, count: int, distance: int
) -> tuple[np.ndarray, dict[tuple, int], list[int]]:
    """Random hashes (ids shuffled, not in row order) with planted near copies: for each of 1 ..
    ``distance`` bits, pairs that far apart directly and pairs that far apart once mirrored; a
    family of 40 copies of one picture (more than any nearest-neighbour list holds); and pairs
    ``distance + 1`` bits apart, which must not be found unless chance brings them closer."""
    hashes = np.column_stack([rng.permutation(count) * 3 + 7, _random(rng, (count, 4))])
    free = iter(rng.permutation(count).tolist())
    planted: dict[tuple, int] = {}

    def pair(bits: int, mirrored: bool, d_bits: int) -> None:
        a, b = next(free), next(free)
        if mirrored:  # b is a's picture flipped: b's own hashes are near a's mirrored ones
            hashes[b, 1], hashes[b, 2] = _flip(hashes[a, 3], rng, bits), _flip(hashes[a, 4], rng, d_bits)
        else:
            hashes[b, 1], hashes[b, 2] = _flip(hashes[a, 1], rng, bits), _flip(hashes[a, 2], rng, d_bits)
        planted[int(min(hashes[a, 0], hashes[b, 0])), int(max(hashes[a, 0], hashes[b, 0]))] = bits

    for bits in range(1, distance + 1):
        for mirrored in (False, True):
            for _ in range(6):
                pair(bits, mirrored, int(rng.integers(0, bits + 1)))  # pHash the farther one
                pair(bits, mirrored, 0)
    for _ in range(6):
        pair(distance + 1, False, 0)
        pair(0, False, distance + 1)  # identical pHash, dHash too far: not a near copy
    family = [next(free) for _ in range(40)]
    for member in family[1:]:
        hashes[member, 1] = _flip(hashes[family[0], 1], rng, 2)
        hashes[member, 2] = _flip(hashes[family[0], 2], rng, 1)
    return hashes, planted, sorted(int(hashes[m, 0]) for m in family)


@pytest.mark.parametrize("distance", [DEFAULT_DISTANCE, 5, 1])
def test_every_planted_copy_within_the_distance_is_found_and_nothing_beyond(distance: int) -> None:
    rng = np.random.default_rng(distance)
    hashes, planted, family = _library_hashes(rng, 3000, distance)
    found = near_pairs(hashes, distance)
    assert found == _every_pair(hashes, distance)
    as_found = {(a, b): bits for a, b, bits in found}
    ones = dict(zip(hashes[:, 0].tolist(), np.bitwise_count(hashes[:, 1].view(np.uint64)).tolist(), strict=True))
    content = {pair for pair in planted if all(16 <= ones[i] <= 48 for i in pair)}  # else a flat colour
    within = {pair: bits for pair, bits in planted.items() if 0 < bits <= distance and pair in content}
    assert any(bits == distance for bits in within.values())
    assert {pair: as_found.get(pair) for pair in within} == within  # each at its own distance
    assert not {pair for pair, bits in planted.items() if bits > distance or bits == 0} & set(as_found)
    together = {(a, b) for a, b, _ in found if a in family and b in family}
    assert len(together) == (40 * 39 // 2 if distance >= 4 else len(together))


def test_multi_index_hashing_is_what_runs_at_scale() -> None:
    """Above a few thousand hashes the pass is the blocked look-up, not the comparison of all pairs,
    and its plan obeys the pigeonhole: the radii leave no pair within the distance unseen."""
    for count in (3_000, 100_000, 1_000_000):
        for distance in (0, 4, DEFAULT_DISTANCE):
            blocks = plan(count, count, distance)
            assert blocks is not None
            assert sum(b.width for b in blocks) == 64
            assert sum(b.radius + 1 for b in blocks) > distance


@pytest.mark.parametrize("distance", [0, 3, 8, 12, 20, 40])
def test_pairs_within_against_all_pairs_on_clustered_hashes(distance: int) -> None:
    """Hashes in tight clusters (many pairs, crowded buckets), both among themselves and queries
    against keys, on the blocked path and on the all-pairs one (large distances)."""
    rng = np.random.default_rng(100 + distance)
    centres = _random(rng, 60)
    keys = np.array([_flip(c, rng, int(rng.integers(0, 16))) for c in rng.choice(centres, 1500)])
    queries = np.array([_flip(c, rng, int(rng.integers(0, 16))) for c in rng.choice(centres, 700)])
    rows, cols = pairs_within(keys, distance)
    want_rows, want_cols = np.nonzero(np.triu(_apart(keys, keys) <= distance, 1))
    assert sorted(zip(rows.tolist(), cols.tolist(), strict=True)) == sorted(
        zip(want_rows.tolist(), want_cols.tolist(), strict=True)
    )
    odd = np.arange(len(queries)) % 2 == 1
    rows, cols = pairs_within(keys, distance, queries, accept=lambda r, c: odd[r])
    want_rows, want_cols = np.nonzero((_apart(queries, keys) <= distance) & odd[:, None])
    assert sorted(zip(rows.tolist(), cols.tolist(), strict=True)) == sorted(
        zip(want_rows.tolist(), want_cols.tolist(), strict=True)
    )
    assert len(want_rows) > 0 or distance == 0


def test_identical_hashes_and_tiny_inputs() -> None:
    rng = np.random.default_rng(5)
    same = np.full(300, _random(rng, 1)[0])
    rows, cols = pairs_within(same, 0)
    assert len(rows) == 300 * 299 // 2 and bool(np.all(rows < cols))
    assert [len(a) for a in pairs_within(same[:1], 12)] == [0, 0]
    assert [len(a) for a in pairs_within(same[:0], 12)] == [0, 0]
    assert near_pairs(np.zeros((0, 5), np.int64)) == []
    one = np.column_stack([[4], _random(rng, (1, 4))])
    assert near_pairs(one) == []
