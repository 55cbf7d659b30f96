"""How many tags each image shows, for the sort by tag count.

From the posting lists (``library.postings``): every tag's present images (the user's additions,
each searched model's scores at its threshold, less the hand removals: what a tag search matches
and the details panel lists) add one to their images' totals. The totals are kept per index and
searched models and brought up to date tag by tag (``tags_changed`` stamps), so a sort after an
edit recounts the tags that changed, not the library. SQL's answer (``library.search``) is the same
count, per image, for the searches the posting lists do not answer.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from pyroaring import BitMap

from joytag_desktop.library.postings import PostingIndex

_LOCK = threading.Lock()
_ATTRIBUTE = "_tag_totals"  # kept on the index itself: it goes when the index does


class _Totals:
    """The totals of one index for one set of models and rules, and what each tag added."""

    def __init__(self, models: tuple[int, ...], rules: object) -> None:
        self.models, self.rules = models, rules
        self.counts = np.zeros(0, dtype=np.int32)
        self.members: dict[int, tuple[int, BitMap]] = {}  # tag -> (its stamp, the images it added to)

    def follow(self, index: PostingIndex) -> np.ndarray:
        tags = index.tag_ids()
        size = max((index.universe.max() + 1) if index.universe else 0, len(self.counts))
        if size > len(self.counts):
            self.counts = np.concatenate([self.counts, np.zeros(size - len(self.counts), dtype=np.int32)])
        for tag_id in set(self.members) - tags:
            _, members = self.members.pop(tag_id)
            self._add(members, -1)
        for tag_id in tags:
            stamp = index.tags_changed.get(tag_id, 0)
            known = self.members.get(tag_id)
            if known is not None and known[0] == stamp:
                continue
            members = index.present([tag_id], list(self.models))
            if known is not None:
                self._add(known[1], -1)
            self._add(members, 1)
            self.members[tag_id] = (stamp, members)
        return self.counts

    def _add(self, members: BitMap, step: int) -> None:
        if members:
            self.counts[np.frombuffer(members.to_array(), dtype=np.uint32)] += step


def tag_totals(index: PostingIndex, models: Sequence[int]) -> np.ndarray:
    """Per image id, how many tags it shows (an array as long as the largest id + 1)."""
    with _LOCK:
        kept = getattr(index, _ATTRIBUTE, None)
        if not isinstance(kept, _Totals) or kept.models != tuple(models) or kept.rules is not index.rules:
            kept = _Totals(tuple(models), index.rules)
            setattr(index, _ATTRIBUTE, kept)
        return kept.follow(index)


def ordered_by_totals(hits: BitMap, totals: np.ndarray, descending: bool, count: int) -> list[int]:
    """The first ``count`` of ``hits`` by (tag count, id), as SQL's ``ORDER BY count, id`` has them."""
    if count <= 0 or not hits:
        return []
    ids = np.frombuffer(hits.to_array(), dtype=np.uint32).astype(np.int64)
    inside = ids < len(totals)
    values = np.zeros(len(ids), dtype=np.int64)
    values[inside] = totals[ids[inside]]
    if descending:
        values = -values
    order = np.lexsort((ids, values)) if count >= len(ids) else _smallest(values, ids, count)
    return ids[order][:count].tolist()


def _smallest(values: np.ndarray, ids: np.ndarray, count: int) -> np.ndarray:
    """Positions of the ``count`` smallest (value, id) pairs, in order: a partition first."""
    last = np.partition(values, count - 1)[count - 1]
    keep = np.flatnonzero(values <= last)
    return keep[np.lexsort((ids[keep], values[keep]))]
