"""Look-alike pairs by embedding (issue 33): the throwaway graph that replaced the quadratic flat pass
finds what comparing all against all finds, and stops when asked to."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from joytag_desktop.library.look_alikes import matrix_pairs

EXACT, GRAPH = 10**9, 0  # exact_up_to: always all against all; always through a graph


def _planted(count: int, copies: int, dim: int = 64, seed: int = 5) -> tuple[np.ndarray, np.ndarray, set]:
    """Random float16 embeddings (ids from 1000, shuffled) with ``copies`` planted look-alikes (cosine ~0.99)."""
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((count, dim)).astype(np.float32)
    rows = rng.permutation(count)
    planted = set()
    keys = 1000 + rng.permutation(count).astype(np.int64)
    for n in range(copies):
        a, b = int(rows[2 * n]), int(rows[2 * n + 1])
        matrix[b] = matrix[a] + rng.standard_normal(dim).astype(np.float32) * 0.1
        planted.add((min(keys[a], keys[b]), max(keys[a], keys[b])))
    return keys, matrix.astype(np.float16), planted


@pytest.mark.parametrize("exact_up_to", [EXACT, GRAPH], ids=["all against all", "throwaway graph"])
def test_planted_look_alikes_are_found_and_nothing_else(exact_up_to: int) -> None:
    keys, matrix, planted = _planted(3000, 40)
    matrix[7] = 0  # a zero vector is like nothing
    steps: list[tuple[str, int, int]] = []
    found = matrix_pairs(keys, matrix, 0.97, lambda *step: steps.append(step), exact_up_to=exact_up_to)
    assert {(a, b) for a, b, _ in found} == {p for p in planted if keys[7] not in p}
    with np.errstate(invalid="ignore"):
        unit = matrix.astype(np.float32) / np.linalg.norm(matrix.astype(np.float32), axis=1, keepdims=True)
    row = {int(k): n for n, k in enumerate(keys)}
    for a, b, value in found:  # the cosine shown is the exact one
        assert value == pytest.approx(float(unit[row[a]] @ unit[row[b]]), abs=1e-5)
    assert steps and steps[-1][1] == steps[-1][2] and {stage for stage, _, _ in steps} == {"comparing"}


def test_both_ways_find_the_same_pairs_in_clusters() -> None:
    """Tight clusters: many images each above the similarity with many others."""
    rng = np.random.default_rng(8)
    centres = rng.standard_normal((150, 96)).astype(np.float32)
    matrix = centres[rng.integers(0, len(centres), 6000)] + rng.standard_normal((6000, 96)).astype(np.float32) * 0.02
    keys = np.arange(6000, dtype=np.int64)

    def groups(pairs: list[tuple[int, int, float]]) -> set[frozenset[int]]:
        parent = list(range(len(keys)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for a, b, _ in pairs:
            parent[find(a)] = find(b)
        members: dict[int, set[int]] = {}
        for i in range(len(keys)):
            members.setdefault(find(i), set()).add(i)
        return {frozenset(m) for m in members.values() if len(m) > 1}

    exact = matrix_pairs(keys, matrix.astype(np.float16), 0.99, exact_up_to=EXACT)
    graph = matrix_pairs(keys, matrix.astype(np.float16), 0.99, exact_up_to=GRAPH)
    assert len(groups(exact)) == 150
    assert groups(graph) == groups(exact)


@pytest.mark.parametrize("exact_up_to", [EXACT, GRAPH], ids=["all against all", "throwaway graph"])
def test_a_cancelled_pass_stops_at_once(exact_up_to: int) -> None:
    keys, matrix, _ = _planted(3000, 40)
    cancel = threading.Event()
    cancel.set()
    steps: list[tuple[str, int, int]] = []
    assert matrix_pairs(keys, matrix, 0.97, lambda *s: steps.append(s), cancel, exact_up_to) == []
    assert steps == []
