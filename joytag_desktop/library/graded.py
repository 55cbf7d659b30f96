"""Every stored score in the search index, coarsely: per (model, tag) the images that have a row,
grouped by a coarse score bucket, and a fine code of each row's score, so that score qualifiers
(``cat:>0.9``, ``cat:0.3..0.7``) and one-off thresholds (``search --threshold``) are answered from
memory instead of SQL.

Why codes and not the scores: two bytes a row instead of four (or eight), and still exact. A row's
code is ``floor(score * 65535)`` (16 bits), computed by the database itself (no double is ever
printed and read back) and clamped; it never decreases as the score grows. Its top 5 bits are the
bucket (1/32 of the scale), its low 11 bits are kept per row. The rows of one (model, tag) are one
bitmap of ``bucket << 27 | image``: the buckets strictly inside a range are whole bitmap slices
(a few roaring operations, whatever their size); only the buckets at the range's ends are read row
by row. A row whose code lies strictly between the codes of the range's ends is surely inside it,
one strictly outside surely not, and only the rows whose code equals an end's (scores within
1/65535 of it: with a model's scores, none or a handful) are *unsure*: the caller reads their
stored scores and compares them exactly (:func:`inside`), as SQL would.

Image ids must stay below 2**27 (134 million); rows of larger ids make the codes *incomplete*, and
the searches that need them go to SQL.
"""

from __future__ import annotations

import array
import hashlib
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from pyroaring import BitMap

from joytag_desktop.library.errors import ScoresIncomplete
from joytag_desktop.library.terms import Range

SCALE = 65535  # statements' ``score_codes`` computes floor(score * SCALE), clamped, in SQL
BUCKET_BITS, IMAGE_BITS, FINE_BITS = 5, 27, 11
IMAGE_LIMIT = 1 << IMAGE_BITS
_MASK = IMAGE_LIMIT - 1
_FINE_MASK = (1 << FINE_BITS) - 1
_BUCKETS = [BitMap(range(b << IMAGE_BITS, (b + 1) << IMAGE_BITS)) for b in range(1 << BUCKET_BITS)]
log = logging.getLogger(__name__)
_TABLE = np.dtype([("model", "<i8"), ("tag", "<i8"), ("rows", "<i8"), ("size", "<i8")])


def code(score: float) -> int:
    """A score's 16-bit code, the same as the database's ``score_codes`` for that double."""
    return min(max(math.floor(score * SCALE), 0), SCALE)


def inside(score: float, bounds: Range) -> bool:
    """Whether ``score`` lies in ``bounds``, compared as SQL's ``in_range`` compares (exactly)."""
    low, high = bounds.low, bounds.high
    if low is not None and (score <= low if bounds.low_strict else score < low):  # type: ignore[operator]
        return False
    return high is None or (score < high if bounds.high_strict else score <= high)  # type: ignore[operator]


def sorted_bitmap(ids: np.ndarray) -> BitMap:
    return BitMap(array.array("I", ids.astype(np.uint32, copy=False).tobytes()))


@dataclass
class Graded:
    """One (model, tag): ``bucket << 27 | image`` of each row, and the low bits of each row's code,
    in the bitmap's order (by bucket, then image)."""

    keys: BitMap
    fine: np.ndarray  # uint16, aligned with ``keys``

    @classmethod
    def of(cls, ids: np.ndarray, codes: np.ndarray) -> Graded:
        """From image ids (below IMAGE_LIMIT) and their codes, in any order."""
        keys = ((codes.astype(np.int64) >> FINE_BITS) << IMAGE_BITS) | ids.astype(np.int64)
        order = np.argsort(keys, kind="stable")
        return cls(sorted_bitmap(keys[order]), (codes[order] & _FINE_MASK).astype(np.uint16))

    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        """(image ids, codes) of every row."""
        keys = np.frombuffer(self.keys.to_array(), dtype=np.uint32)
        return (keys & _MASK).astype(np.int64), ((keys >> IMAGE_BITS).astype(np.int64) << FINE_BITS) | self.fine

    def split(self, bounds: Range) -> tuple[BitMap, BitMap]:
        """(surely inside, unsure) for a range whose low end is given (scores are at least 0)."""
        assert bounds.low is not None
        low = code(float(bounds.low))  # type: ignore[arg-type]
        high = code(float(bounds.high)) if bounds.high is not None else None  # type: ignore[arg-type]
        first, last = low >> FINE_BITS, (high >> FINE_BITS) if high is not None else len(_BUCKETS) - 1
        sure = [self._bucket(b) for b in range(first + 1, last if high is not None else last + 1)]
        unsure: list[BitMap] = []
        for bucket in sorted({first, last} if high is not None else {first}):
            ids, fine = self._bucket_rows(bucket)
            if not len(ids):
                continue
            codes = (bucket << FINE_BITS) | fine.astype(np.int64)
            inner = codes > low
            if high is not None:
                inner &= codes < high
            edge = (codes == low) | ((codes == high) if high is not None else False)
            sure.append(sorted_bitmap(np.compress(inner, ids)))
            if edge.any():
                unsure.append(sorted_bitmap(np.compress(edge, ids)))
        found = [part for part in sure if part]
        return (BitMap.union(*found) if found else BitMap()), (BitMap.union(*unsure) if unsure else BitMap())

    def replace(self, changed: BitMap, new: list[tuple[int, int]]) -> None:
        """Drop the rows of ``changed`` images and add ``new`` (image, code) rows, in place: a few
        rank look-ups and one move of the codes, instead of sorting every row again."""
        images = np.frombuffer(changed.to_array(), dtype=np.uint32)
        buckets = np.arange(len(_BUCKETS), dtype=np.uint32) << IMAGE_BITS
        old = self.keys & sorted_bitmap(np.sort((buckets[:, None] | images[None, :]).ravel()))  # any bucket
        if old:
            gone = [self.keys.rank(key) - 1 for key in old]
            self.fine = np.delete(self.fine, gone)
            self.keys.difference_update(old)
        if new:
            keys = sorted(((c >> FINE_BITS) << IMAGE_BITS | i, c & _FINE_MASK) for i, c in new)
            places = [self.keys.rank(key) for key, _ in keys]  # rows before each, in the array as it is
            self.fine = np.insert(self.fine, places, np.array([f for _, f in keys], dtype=np.uint16))
            self.keys.update(key for key, _ in keys)

    def _bucket(self, bucket: int) -> BitMap:
        part = self.keys & _BUCKETS[bucket]
        return part.shift(-(bucket << IMAGE_BITS)) if part and bucket else part

    def _bucket_rows(self, bucket: int) -> tuple[np.ndarray, np.ndarray]:
        start = self.keys.rank((bucket << IMAGE_BITS) - 1) if bucket else 0
        ids = np.frombuffer((self.keys & _BUCKETS[bucket]).to_array(), dtype=np.uint32) & _MASK
        return ids, self.fine[start : start + len(ids)]


class ScoreCodes:
    """The codes of every (model, tag) of a library. Saved ones are read from the file only when first
    needed (a cold start that never asks for a score range never reads them: they are most of the
    file), and each (model, tag) is unpacked when first asked for; changes replayed meanwhile wait."""

    def __init__(self) -> None:
        self._rows: dict[tuple[int, int], Graded] = {}
        self._packed: dict[tuple[int, int], tuple[int, memoryview]] = {}  # saved, not yet unpacked
        self.complete = True  # False: some rows could not be kept (image ids past IMAGE_LIMIT)
        self.damaged = False  # the saved codes could not be read: SQL answers until they are read again
        self._source: tuple[Callable[[], tuple[bytes, bytes]], str] | None = None  # (reader, checksum)
        # Per tag, the changes replayed and not yet applied: (images changed, their rows now, models).
        self._waiting: dict[int, tuple[BitMap, dict[int, dict[int, float]], set[int]]] = {}

    @classmethod
    def saved(cls, reader: Callable[[], tuple[bytes, bytes]], checksum: str, complete: bool) -> ScoreCodes:
        """The codes of a saved index: ``reader`` gives (table, data) when they are first needed."""
        codes = cls()
        codes._source, codes.complete = (reader, checksum), complete
        return codes

    def _read(self) -> None:
        """Read the saved codes (once), then apply every change replayed since."""
        if self._source is not None:
            self._load()
        for tag_id in list(self._waiting):
            self._settle(tag_id)

    def _settle(self, tag_id: int) -> None:
        """Apply the changes of one tag replayed since its codes were last needed (most searches never
        need them: replays only note what changed, and a search by score settles its own tags)."""
        waiting = self._waiting.pop(tag_id, None)
        if waiting is None:
            return
        changed, rows, models = waiting
        found = {(image_id, model_id): score for image_id, scores in rows.items() for model_id, score in scores.items()}
        self._apply(tag_id, changed, found, models)

    def _load(self) -> None:
        assert self._source is not None
        (reader, checksum), self._source = self._source, None
        try:
            table, data = reader()
            if hashlib.blake2b(table + data, digest_size=16).hexdigest() != checksum:
                raise ValueError("checksum mismatch")
            self._packed = ScoreCodes.unpack(memoryview(table), memoryview(data), self.complete)._packed
        except (OSError, ValueError) as exc:
            log.warning("search index: saved score codes not read (%s); searches by score use SQL", exc)
            self.damaged, self.complete = True, False
            self._waiting.clear()

    def get(self, model_id: int, tag_id: int) -> Graded | None:
        if self._source is not None:
            self._load()
        if tag_id in self._waiting:
            self._settle(tag_id)
        key = (model_id, tag_id)
        found = self._rows.get(key)
        if found is None and key in self._packed:
            rows, blob = self._packed.pop(key)
            cut = len(blob) - 2 * rows
            keys = BitMap.deserialize(blob[:cut])  # pyright: ignore[reportArgumentType]
            found = Graded(keys, np.frombuffer(blob[cut:], dtype="<u2").copy())
            self._rows[key] = found
        return found

    def keys(self) -> Iterator[tuple[int, int]]:
        self._read()
        yield from self._rows
        yield from self._packed

    def row_count(self) -> int:
        self._read()
        return sum(len(g.fine) for g in self._rows.values()) + sum(rows for rows, _ in self._packed.values())

    def memory_bytes(self) -> int:
        """What they take in memory now (nothing while a saved index's codes were not read)."""
        unpacked = sum(len(g.keys.serialize()) + g.fine.nbytes for g in self._rows.values())
        return unpacked + sum(len(blob) for _, blob in self._packed.values())

    # --- building and following changes -------------------------------------------------------

    def put_rows(self, rows: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]) -> None:
        """Every stored row of the (model, tag)s of ``rows`` (ids and codes: ``library.score_pass``)."""
        for key, (ids, codes) in rows.items():
            self._put(key, ids.astype(np.int64), codes.astype(np.int64))

    def update(self, tag_id: int, changed: BitMap, found: dict[tuple[int, int], float], models: Iterable[int]) -> None:
        """Replace the rows of ``changed`` images for one tag by ``found`` ((image, model) -> score),
        when the tag's codes are next needed."""
        waiting = self._waiting.get(tag_id)
        if waiting is None:
            waiting = self._waiting[tag_id] = (BitMap(), {}, set())
        all_changed, rows, all_models = waiting
        all_changed.update(changed)
        all_models.update(models)
        for image_id in changed:
            rows[image_id] = {}
        for (image_id, model_id), score in found.items():
            rows.setdefault(image_id, {})[model_id] = score

    def _apply(self, tag_id: int, changed: BitMap, found: dict[tuple[int, int], float], models: Iterable[int]) -> None:
        by_model: dict[int, list[tuple[int, int]]] = {}
        for (image_id, model_id), score in found.items():
            by_model.setdefault(model_id, []).append((image_id, code(score)))
        changed_ids = np.frombuffer(changed.to_array(), dtype=np.uint32).astype(np.int64)
        for model_id in set(models) | set(by_model):
            current = self.get(model_id, tag_id)
            new = by_model.get(model_id, [])
            if current is None and not new:
                continue
            small = current is not None and len(changed) + len(new) < len(current.fine) // 64
            if current is not None and small and changed.max() < IMAGE_LIMIT:
                current.replace(changed, new)  # a few rows of a big tag: in place
                continue
            ids, codes = current.rows() if current is not None else (np.zeros(0, np.int64), np.zeros(0, np.int64))
            keep = ~np.isin(ids, changed_ids)
            ids = np.concatenate([ids[keep], np.array([i for i, _ in new], dtype=np.int64)])
            codes = np.concatenate([codes[keep], np.array([c for _, c in new], dtype=np.int64)])
            self._put((model_id, tag_id), ids, codes)

    def _put(self, key: tuple[int, int], ids: np.ndarray, codes: np.ndarray) -> None:
        self._packed.pop(key, None)
        kept = ids < IMAGE_LIMIT
        if not kept.all():
            self.complete = False
            ids, codes = ids[kept], codes[kept]
        if len(ids):
            self._rows[key] = Graded.of(ids, codes)
        else:
            self._rows.pop(key, None)

    # --- saving -------------------------------------------------------------------------------

    def pack(self) -> tuple[bytes, bytes]:
        """(table, data): one row per (model, tag) and their bytes, one after another."""
        self._read()
        keys = sorted(self.keys())
        table = np.zeros(len(keys), dtype=_TABLE)
        parts: list[bytes] = []
        for row, key in enumerate(keys):
            if key in self._packed:
                rows, blob = self._packed[key]
                data = bytes(blob)
            else:
                graded = self._rows[key]
                rows, data = len(graded.fine), graded.keys.serialize() + graded.fine.astype("<u2").tobytes()
            table[row] = (key[0], key[1], rows, len(data))
            parts.append(data)
        return table.tobytes(), b"".join(parts)

    @classmethod
    def unpack(cls, table: memoryview, data: memoryview, complete: bool) -> ScoreCodes:
        """The saved codes, kept packed until first asked for. Raises ValueError when they do not add up."""
        codes = cls()
        codes.complete = complete
        offset = 0
        for model_id, tag_id, count, size in np.frombuffer(table, dtype=_TABLE).tolist():
            if size < 2 * count:
                raise ValueError("score codes: an entry smaller than its codes")
            codes._packed[model_id, tag_id] = (count, data[offset : offset + size])
            offset += size
        if offset != len(data):
            raise ValueError("score codes: the data does not match the table")
        return codes


def scored(
    codes: ScoreCodes, tag_ids: Sequence[int], models: Sequence[int], bounds: Range
) -> tuple[dict[int, BitMap], dict[int, BitMap]]:
    """Per tag, the images with a score of one of ``models`` surely in ``bounds``, and those to check.
    Raises ScoresIncomplete where rows are missing."""
    if codes._source is not None:
        codes._load()
    if not codes.complete:
        raise ScoresIncomplete("image ids past the score codes' limit")
    sure: dict[int, BitMap] = {}
    unsure: dict[int, BitMap] = {}
    for tag_id in tag_ids:
        parts: list[BitMap] = []
        doubtful: list[BitMap] = []
        for model_id in models:
            graded = codes.get(model_id, tag_id)
            if graded is None:
                continue
            inner, edge = graded.split(bounds)
            parts.append(inner)
            if edge:
                doubtful.append(edge)
        sure[tag_id] = BitMap.union(*parts) if parts else BitMap()
        if doubtful:
            unsure[tag_id] = BitMap.union(*doubtful)
    return sure, unsure


Reader = Callable[[list[int], BitMap], list[tuple[int, int, int, float]]]  # (tags, images) -> rows


def exact(
    codes: ScoreCodes, tag_ids: Sequence[int], models: Sequence[int], bounds: Range, read: Reader
) -> dict[int, BitMap]:
    """Per tag, the images with a score of ``models`` in ``bounds``, exactly: the unsure rows settled
    by their stored scores (``read``: (image, tag, model, score) of tags on images, one call)."""
    found, unsure = scored(codes, tag_ids, models, bounds)
    if unsure:
        rows = read(list(unsure), BitMap.union(*unsure.values()))
        for image_id, tag_id, model_id, value in rows:
            if model_id in models and image_id in unsure.get(tag_id, ()) and inside(value, bounds):
                found[tag_id].add(image_id)
    return found


def move_thresholds(
    codes: ScoreCodes,
    scores: dict[tuple[int, int], BitMap],
    tag_ids: Iterable[int],
    models: Sequence[int],
    thresholds: Callable[[int, int], tuple[float, float]],
    read: Reader,
) -> None:
    """Bring each model's postings of ``tag_ids`` (images at its threshold) from the old threshold to
    the new (``thresholds``: (model, tag) -> (old, new)) by the band of scores between them: a moved
    slider re-reads only that band, not the library."""
    bands: dict[tuple[int, float, float], list[int]] = {}
    for tag_id in tag_ids:
        for model_id in models:
            before, after = thresholds(model_id, tag_id)
            if before != after:
                bands.setdefault((model_id, before, after), []).append(tag_id)
    for (model_id, before, after), tags in bands.items():
        band = exact(codes, tags, [model_id], Range(min(before, after), max(before, after), high_strict=True), read)
        for tag_id in tags:
            members = scores.get((model_id, tag_id), BitMap())
            members = members | band[tag_id] if after < before else members - band[tag_id]
            if members:
                scores[model_id, tag_id] = members
            else:
                scores.pop((model_id, tag_id), None)
