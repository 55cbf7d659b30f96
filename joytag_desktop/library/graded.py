"""Every stored score in the search index, coarsely: per (model, tag) the images that have a row and
a 16-bit code of each row's score, so that score qualifiers (``cat:>0.9``, ``cat:0.3..0.7``) and
one-off thresholds (``search --threshold``) are answered from memory instead of SQL.

Why codes and not the scores: two bytes a row instead of four (or eight), and still exact. The code
is ``floor(score * 65535)`` computed by the database itself (so no double is ever printed and read
back), clamped to 0..65535; it never decreases as the score grows. So a row whose code lies strictly
between the codes of a range's ends is surely inside it, one strictly outside surely not, and only
the rows whose code equals an end's code (scores within 1/65535 of it: at random scores, none or a
handful) are *unsure*: the caller reads their stored scores and compares them exactly
(:func:`inside`), as SQL would.

Rows are kept in image id order: the images as one bitmap, the codes as an array aligned with it.
"""

from __future__ import annotations

import array
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from pyroaring import BitMap

from joytag_desktop.library import statements as sql
from joytag_desktop.library.statements import DriverConnection
from joytag_desktop.library.terms import Range

SCALE = 65535  # the codes' top; statements' ``score_codes`` computes the same in SQL
_TABLE = np.dtype([("model", "<i8"), ("tag", "<i8"), ("rows", "<i8"), ("size", "<i8")])


def code(score: float) -> int:
    """A score's code, the same as the database's ``score_codes`` for that double."""
    return min(max(math.floor(score * SCALE), 0), SCALE)


def inside(score: float, bounds: Range) -> bool:
    """Whether ``score`` lies in ``bounds``, compared as SQL's ``in_range`` compares (exactly)."""
    low, high = bounds.low, bounds.high
    if low is not None and (score <= low if bounds.low_strict else score < low):  # type: ignore[operator]
        return False
    return high is None or (score < high if bounds.high_strict else score <= high)  # type: ignore[operator]


def _sorted_bitmap(ids: np.ndarray) -> BitMap:
    return BitMap(array.array("I", ids.astype(np.uint32, copy=False).tobytes()))


@dataclass
class Graded:
    """One (model, tag): the images with a stored score and their codes, in id order."""

    images: BitMap
    codes: np.ndarray  # uint16, aligned with ``images``

    def ids(self) -> np.ndarray:
        return np.frombuffer(self.images.to_array(), dtype=np.uint32)

    def split(self, bounds: Range) -> tuple[BitMap, BitMap]:
        """(surely inside, unsure) for a range whose low end is given (scores are at least 0)."""
        assert bounds.low is not None
        low = code(float(bounds.low))  # type: ignore[arg-type]
        high = code(float(bounds.high)) if bounds.high is not None else None  # type: ignore[arg-type]
        codes = self.codes
        sure = codes > low
        unsure = codes == low
        if high is not None:
            sure &= codes < high
            unsure |= codes == high
        ids = self.ids()
        return _sorted_bitmap(ids[sure]), (_sorted_bitmap(ids[unsure]) if unsure.any() else BitMap())


class ScoreCodes:
    """The codes of every (model, tag) of a library; saved lazily loaded (a cold start that never
    asks for a score range never unpacks them)."""

    def __init__(self) -> None:
        self._rows: dict[tuple[int, int], Graded] = {}
        self._packed: dict[tuple[int, int], tuple[int, memoryview]] = {}  # saved, not yet unpacked

    def get(self, model_id: int, tag_id: int) -> Graded | None:
        key = (model_id, tag_id)
        found = self._rows.get(key)
        if found is None and key in self._packed:
            rows, blob = self._packed.pop(key)
            cut = len(blob) - 2 * rows
            images = BitMap.deserialize(blob[:cut])  # pyright: ignore[reportArgumentType]
            found = Graded(images, np.frombuffer(blob[cut:], dtype="<u2").copy())
            self._rows[key] = found
        return found

    def keys(self) -> Iterator[tuple[int, int]]:
        yield from self._rows
        yield from self._packed

    def row_count(self) -> int:
        return sum(len(g.codes) for g in self._rows.values()) + sum(rows for rows, _ in self._packed.values())

    def memory_bytes(self) -> int:
        unpacked = sum(len(g.images.serialize()) + g.codes.nbytes for g in self._rows.values())
        return unpacked + sum(len(blob) for _, blob in self._packed.values())

    # --- building and following changes -------------------------------------------------------

    def read_tag(self, connection: DriverConnection, tag_id: int) -> None:
        """Every stored row of one tag (every model, the user's rows too), at a build."""
        for model_id, ids_text, codes_text in connection.execute(sql.TAG_SCORE_CODES, (tag_id,)):
            ids = np.fromstring(ids_text, dtype=np.int64, sep=",")
            codes = np.fromstring(codes_text, dtype=np.int64, sep=",")
            order = np.argsort(ids, kind="stable")
            self._rows[model_id, tag_id] = Graded(_sorted_bitmap(ids[order]), codes[order].astype(np.uint16))

    def update(self, tag_id: int, changed: BitMap, found: dict[tuple[int, int], float], models: Iterable[int]) -> None:
        """Replace the rows of ``changed`` images for one tag by ``found`` ((image, model) -> score)."""
        by_model: dict[int, list[tuple[int, int]]] = {}
        for (image_id, model_id), score in found.items():
            by_model.setdefault(model_id, []).append((image_id, code(score)))
        for model_id in set(models) | set(by_model):
            current = self.get(model_id, tag_id)
            new = sorted(by_model.get(model_id, []))
            if current is None and not new:
                continue
            ids = current.ids() if current is not None else np.zeros(0, np.uint32)
            codes = current.codes if current is not None else np.zeros(0, np.uint16)
            if current is not None and current.images.intersect(changed):
                keep = ~np.isin(ids, np.frombuffer(changed.to_array(), dtype=np.uint32), assume_unique=True)
                ids, codes = ids[keep], codes[keep]
            if new:
                ids = np.concatenate([ids, np.array([i for i, _ in new], dtype=np.uint32)])
                codes = np.concatenate([codes, np.array([c for _, c in new], dtype=np.uint16)])
                order = np.argsort(ids, kind="stable")
                ids, codes = ids[order], codes[order]
            if len(ids):
                self._rows[model_id, tag_id] = Graded(_sorted_bitmap(ids), codes)
            else:
                self._drop((model_id, tag_id))

    def _drop(self, key: tuple[int, int]) -> None:
        self._rows.pop(key, None)
        self._packed.pop(key, None)

    # --- saving -------------------------------------------------------------------------------

    def pack(self) -> tuple[bytes, bytes]:
        """(table, data): one row per (model, tag) and their bytes, one after another."""
        keys = sorted(self.keys())
        table = np.zeros(len(keys), dtype=_TABLE)
        parts: list[bytes] = []
        for row, key in enumerate(keys):
            if key in self._packed:
                rows, blob = self._packed[key]
                data = bytes(blob)
            else:
                graded = self._rows[key]
                rows, data = len(graded.codes), graded.images.serialize() + graded.codes.astype("<u2").tobytes()
            table[row] = (key[0], key[1], rows, len(data))
            parts.append(data)
        return table.tobytes(), b"".join(parts)

    @classmethod
    def unpack(cls, table: memoryview, data: memoryview) -> ScoreCodes:
        """The saved codes, kept packed until first asked for. Raises ValueError when they do not add up."""
        codes = cls()
        rows = np.frombuffer(table, dtype=_TABLE)
        offset = 0
        for model_id, tag_id, count, size in rows.tolist():
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
    """Per tag, the images with a score of one of ``models`` surely in ``bounds``, and those to check."""
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
