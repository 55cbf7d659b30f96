"""Posting lists in memory beside SQLite: which images have which tag, as roaring bitmaps.

Why: at a million images a frequent tag's rows lie on a hundred thousand pages, so SQL needs
seconds for an and/not query and as long again to count it; intersecting bitmaps takes
microseconds, the count is free, and only the rows shown are fetched. SQLite stays the truth.

What is kept, per library and threshold rules (``ThresholdRules`` without a one-off override):
per (model, tag) the images whose score reaches that model's threshold for the tag; per tag the
user's additions and removals; images by status, by rating and by the models that tagged them;
each image's date key; the images in path and date order (a base order from the last full
sort, plus the images placed since, kept apart and merged when read); and every stored score, as
codes (``library.graded``: score qualifiers and one-off thresholds).

It stays exact by replaying ``search_changes`` (rows written by triggers, so edits made by other
processes are seen too) and is saved beside the database with the change stamp it reflects;
a saved file that does not match the database (stamp, rules, checksum, image count) is rebuilt,
never trusted.
"""

from __future__ import annotations

import array
import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pyroaring import BitMap

from joytag_desktop.categories import RATINGS
from joytag_desktop.library import posting_file, score_pass
from joytag_desktop.library import statements as sql
from joytag_desktop.library.codes import KIND_IMAGE, KIND_MODEL, KIND_PATH, KIND_SCORE, USER, Status
from joytag_desktop.library.errors import ScoresIncomplete
from joytag_desktop.library.graded import ScoreCodes, move_thresholds
from joytag_desktop.library.statements import DriverConnection, json_ids
from joytag_desktop.library.thresholds import ThresholdRules

log = logging.getLogger(__name__)

# Replaying more changes than this (or than a tenth of the postings) costs more than a rebuild.
MAX_REPLAY = 2_000_000


class StaleIndex(Exception):
    """The index cannot be brought up to date by replaying changes: rebuild it."""


def _ids(text: str | None) -> np.ndarray:
    """The ids of a ``group_concat`` (parsed in C: a frequent tag has a hundred thousand)."""
    if not text:
        return np.empty(0, dtype=np.uint32)
    return np.fromstring(text, dtype=np.int64, sep=",").astype(np.uint32)


def bitmap(ids: np.ndarray | Iterable[int]) -> BitMap:
    if isinstance(ids, np.ndarray):
        return BitMap(array.array("I", np.sort(ids.astype(np.uint32, copy=False)).tobytes()))
    return BitMap(ids)


def _grow(values: np.ndarray, size: int, fill: float) -> np.ndarray:
    if size <= len(values):
        return values
    grown = np.full(max(size, len(values) * 2, 1024), fill, dtype=values.dtype)
    grown[: len(values)] = values
    return grown


@dataclass
class PostingIndex:
    stamp: int  # the last search_changes row reflected
    rules: ThresholdRules
    categories: dict[int, str]
    scores: dict[tuple[int, int], BitMap] = field(default_factory=dict)  # (model, tag) -> images at threshold
    added: dict[int, BitMap] = field(default_factory=dict)
    removed: dict[int, BitMap] = field(default_factory=dict)
    status: dict[str, BitMap] = field(default_factory=dict)
    ratings: list[BitMap] = field(default_factory=list)
    tagged_by: dict[int, BitMap] = field(default_factory=dict)
    months: dict[int, BitMap] = field(default_factory=dict)  # images by the month of their date (date: terms)
    date_key: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    date_pos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    by_date: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    path_rank: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    by_path: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    path_delta: BitMap = field(default_factory=BitMap)  # placed since the base path order
    date_delta: BitMap = field(default_factory=BitMap)
    changes_since_save: int = 0
    tags_changed: dict[int, int] = field(default_factory=dict)  # tag -> stamp of its last change
    images_changed: int = 0  # stamp of the last change of any image's status
    # Every stored score of every (model, tag), coarsely (score qualifiers, one-off thresholds).
    graded: ScoreCodes = field(default_factory=ScoreCodes)
    _universe: BitMap | None = None

    # --- reading ------------------------------------------------------------------------------

    @property
    def universe(self) -> BitMap:
        """Every image in the library (missing ones too)."""
        if self._universe is None:
            self._universe = BitMap.union(*self.status.values()) if self.status else BitMap()
        return self._universe

    @property
    def missing(self) -> BitMap:
        return self.status.get(Status.MISSING, BitMap())

    def threshold(self, model_id: int, tag_id: int) -> float:
        return self.rules.threshold(model_id, tag_id, self.categories.get(tag_id, "general"))

    def present(self, tag_ids: Sequence[int], models: Sequence[int]) -> BitMap:
        """Images where any of ``tag_ids`` is present: added by the user, or a model's score at its
        threshold and not removed by hand (a removal overrides every model)."""
        plain: list[BitMap] = []
        edited: list[BitMap] = []
        for tag_id in tag_ids:
            parts = [self.scores[m, tag_id] for m in models if (m, tag_id) in self.scores]
            if tag_id in self.added:
                parts.append(self.added[tag_id])
            if tag_id in self.removed and parts:
                edited.append(BitMap.union(*parts) - self.removed[tag_id])
            else:
                plain.extend(parts)
        everything = plain + edited
        return BitMap.union(*everything) if everything else BitMap()

    def dated(self, low: int | None, high: int | None, candidates: BitMap) -> BitMap:
        """Candidates whose date key lies in [low, high] (either end open): whole months from the month
        bitmaps, the months at the ends checked against each image's date key."""
        if low is not None and high is not None and low > high:
            return BitMap()
        months = self.months
        first = int(month_of(np.array([low]))[0]) if low is not None else None
        last = int(month_of(np.array([high]))[0]) if high is not None else None
        whole = [
            members
            for month, members in months.items()
            if (first is None or month > first) and (last is None or month < last)
        ]
        ends = [months[m] for m in {first, last} if m is not None and m in months]
        found = BitMap.union(*whole) & candidates if whole else BitMap()
        edge = BitMap.union(*ends) & candidates if ends else BitMap()
        if edge:
            ids = np.frombuffer(edge.to_array(), dtype=np.uint32).astype(np.int64)
            keys = self.date_key[ids]
            inside = np.ones(len(ids), dtype=bool)
            if low is not None:
                inside &= keys >= low
            if high is not None:
                inside &= keys <= high
            found |= bitmap(ids[inside])
        return found

    def tag_ids(self) -> set[int]:
        return {tag for _, tag in self.scores} | set(self.added)

    def posting_count(self) -> int:
        return sum(len(b) for b in self.scores.values())

    def memory_bytes(self) -> int:
        """Bitmaps as serialized (close to their size in memory) plus the per-image arrays."""
        bitmaps = [*self.scores.values(), *self.added.values(), *self.removed.values(), *self.status.values(),
                   *self.ratings, *self.tagged_by.values(), *self.months.values(), self.path_delta,
                   self.date_delta]  # fmt: skip
        arrays = (self.date_key, self.date_pos, self.by_date, self.path_rank, self.by_path)
        return sum(len(b.serialize()) for b in bitmaps) + sum(a.nbytes for a in arrays) + self.graded.memory_bytes()

    # --- building -----------------------------------------------------------------------------

    @classmethod
    def build(cls, connection: DriverConnection, rules: ThresholdRules) -> PostingIndex:
        """Read everything in one read transaction (a consistent snapshot and its stamp)."""
        started = time.perf_counter()
        connection.begin_snapshot()
        try:
            stamp = latest_change(connection)
            categories = dict(connection.execute(sql.TAG_CATEGORIES))
            index = cls(stamp, rules, categories)
            index._read_images(connection)
            rows = score_pass.read_rows(connection)  # every stored score, in one pass
            index.graded.put_rows(rows)
            index.scores = score_pass.postings(
                rows, model_ids(connection), index.threshold, score_pass.reader(connection)
            )
            del rows
            for tag_id, text, positive in connection.execute(sql.USER_POSTINGS):
                (index.added if positive else index.removed)[tag_id] = bitmap(_ids(text))
            for model_id, text in connection.execute(sql.TAGGED_BY):
                index.tagged_by[model_id] = bitmap(_ids(text))
        finally:
            connection.rollback()
        log.info("search index built in %.1f s: %d postings", time.perf_counter() - started, index.posting_count())
        return index

    def _read_images(self, connection: DriverConnection) -> None:
        rows = connection.execute(sql.IMAGES_FOR_INDEX).fetchall()
        size = (max((r[0] for r in rows), default=0)) + 1
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        ratings = np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows))
        keys = np.fromiter((r[3] for r in rows), dtype=np.int64, count=len(rows))
        statuses = np.array([r[1] for r in rows], dtype=object)
        for status in Status.ALL:
            self.status[status] = bitmap(ids[statuses == status])
        self.ratings = [bitmap(ids[ratings == level]) for level in range(len(RATINGS))]
        self.date_key = np.zeros(size, np.int64)
        self.date_key[ids] = keys
        if len(ids):
            months = month_of(keys)
            order = np.argsort(months, kind="stable")
            bounds = np.flatnonzero(np.diff(months[order])) + 1
            for group in np.split(order, bounds):
                self.months[int(months[group[0]])] = bitmap(ids[group])
        self._sort_dates(ids)
        by_path = np.array([r[0] for r in connection.execute(sql.IDS_BY_PATH)], dtype=np.int32)
        self._set_path_order(by_path, size)

    def _sort_dates(self, ids: np.ndarray) -> None:
        order = ids[np.lexsort((ids, self.date_key[ids]))] if len(ids) else ids
        self.by_date = order.astype(np.int32)
        self.date_pos = np.full(len(self.date_key), -1, np.int32)
        self.date_pos[self.by_date] = np.arange(len(self.by_date), dtype=np.int32)
        self.date_delta = BitMap()

    def _set_path_order(self, by_path: np.ndarray, size: int) -> None:
        self.by_path = by_path
        self.path_rank = np.full(max(size, len(self.date_key)), np.nan)
        self.path_rank[by_path] = np.arange(len(by_path), dtype=np.float64)
        self.path_delta = BitMap()

    def read_scores(self, connection: DriverConnection) -> None:
        """Every stored score's code again, from the database (the saved ones could not be read):
        read after the stamp, they are only newer, and replaying a change reads its rows again."""
        self.graded = ScoreCodes()
        self.graded.put_rows(score_pass.read_rows(connection))

    # --- following changes --------------------------------------------------------------------

    def follow_rules(self, connection: DriverConnection, rules: ThresholdRules) -> bool:
        """Take new threshold rules: re-read the tags whose own threshold changed; when the library's
        or a model's thresholds changed, move every other tag by the band between its thresholds
        (from the score codes); False when the codes cannot (rebuild instead)."""
        old, new = self.rules.key(), rules.key()
        if old == new:
            return True
        moved = old["base"] != new["base"] or any(old[k] != new[k] for k in ("per_model", "per_model_tag"))
        if moved and not self.graded.complete:
            return False
        changed = {t for t, _ in old["per_tag"]} ^ {t for t, _ in new["per_tag"]}
        changed |= {t for t, v in old["per_tag"] if rules.per_tag.get(t) != v}
        models = model_ids(connection)
        tags = set(self.categories) - changed if moved else set()
        try:
            move_thresholds(self.graded, self.scores, tags, models, lambda m, t: (self.threshold(m, t),
                            rules.threshold(m, t, self.categories[t])), score_pass.reader(connection))  # fmt: skip
        except ScoresIncomplete:  # the saved codes could not be read: this index is dropped
            return False
        self.tags_changed.update(dict.fromkeys(tags, self.stamp))
        self.rules = rules
        score_pass.reread(self.scores, self.graded, connection, changed, models, self.threshold)
        self.tags_changed.update(dict.fromkeys(changed, self.stamp))
        self.changes_since_save += len(changed) + len(tags)
        return True

    def catch_up(self, connection: DriverConnection) -> int:
        """Replay the changes after ``stamp``; returns how many. Raises StaleIndex when that is
        not possible (the log was pruned past the stamp, the database went back) or not worth it."""
        latest = latest_change(connection)
        if latest == self.stamp:
            return 0
        pending = latest - self.stamp
        if latest < self.stamp or pending > MAX_REPLAY:
            raise StaleIndex(f"{pending} changes to replay")
        rows = connection.execute(sql.CHANGES_BETWEEN, (self.stamp, latest)).fetchall()
        if len(rows) != pending:
            raise StaleIndex("the change log was pruned past this index's stamp")
        scores: dict[int, set[int]] = defaultdict(set)
        images: set[int] = set()
        moved: set[int] = set()
        tagged: dict[int, set[int]] = defaultdict(set)
        categories: set[int] = set()
        for kind, image_id, ref in rows:
            if kind == KIND_SCORE:
                scores[ref].add(image_id)
            elif kind == KIND_IMAGE:
                images.add(image_id)
            elif kind == KIND_MODEL:
                tagged[ref].add(image_id)
            elif kind == KIND_PATH:
                moved.add(image_id)
            else:
                categories.add(ref)
        models = model_ids(connection)
        if images or moved:
            self._update_images(connection, images | moved, moved)
            self.images_changed = latest
        for model_id, ids in tagged.items():
            self._update_tagged(connection, model_id, ids)
        for tag_id in categories:
            row = connection.execute(sql.TAG_CATEGORY, (tag_id,)).fetchone()
            if row is not None:
                self.categories[tag_id] = row[0]
        score_pass.reread(self.scores, self.graded, connection, categories, models, self.threshold)
        for tag_id, ids in scores.items():
            # A category change re-read the models' postings of the tag, not the user's rows: an import
            # that makes a new tag a ``keyword`` logs both in one batch, so the scores replay here too.
            self._update_scores(connection, tag_id, ids, models)
        for tag_id in (*scores, *categories):
            self.tags_changed[tag_id] = latest
        self.stamp = latest
        self.changes_since_save += pending
        return pending

    def _update_scores(self, connection: DriverConnection, tag_id: int, ids: set[int], models: Sequence[int]) -> None:
        if tag_id not in self.categories:
            row = connection.execute(sql.TAG_CATEGORY, (tag_id,)).fetchone()
            self.categories[tag_id] = row[0] if row else "general"
        found: dict[tuple[int, int], float] = {}
        for image_id, model_id, score in connection.execute(sql.SCORES_LISTED, (tag_id, json_ids(ids))):
            found[image_id, model_id] = score
        changed = BitMap(ids)
        for model_id in models:
            threshold = self.threshold(model_id, tag_id)
            passing = [i for i in ids if found.get((i, model_id), -1.0) >= threshold]
            self._set_members(self.scores, (model_id, tag_id), changed, passing)
        self._set_members(self.added, tag_id, changed, [i for i in ids if found.get((i, USER), 0.0) > 0])
        self._set_members(self.removed, tag_id, changed, [i for i in ids if found.get((i, USER), 0.0) < 0])
        self.graded.update(tag_id, changed, found, [USER, *models])

    @staticmethod
    def _set_members(bitmaps: dict, key: object, changed: BitMap, members: list[int]) -> None:
        current = bitmaps.get(key)
        if current is None:
            if members:
                bitmaps[key] = BitMap(members)
            return
        current.difference_update(changed)
        current.update(members)
        if not current:
            del bitmaps[key]

    def _update_tagged(self, connection: DriverConnection, model_id: int, ids: set[int]) -> None:
        rows = connection.execute(sql.TAGGED_BY_LISTED, (model_id, json_ids(ids)))
        self._set_members(self.tagged_by, model_id, BitMap(ids), [row[0] for row in rows])

    def _update_images(self, connection: DriverConnection, ids: set[int], moved: set[int]) -> None:
        """Status, rating and date of changed images; ``moved`` ones (new or renamed) get a new place
        in path order; deleted ones lose their places (SQLite may give their id to a new image)."""
        changed = BitMap(ids)
        self._universe = None
        for members in (*self.status.values(), *self.ratings):
            members.difference_update(changed)
        rows = connection.execute(sql.IMAGES_LISTED_BY_PATH, (json_ids(ids),)).fetchall()
        size = max([r[0] for r in rows], default=0) + 1
        self.date_key = _grow(self.date_key, size, 0)
        self.date_pos = _grow(self.date_pos, size, -1)
        self.path_rank = _grow(self.path_rank, size, math.nan)
        for gone in changed - BitMap(r[0] for r in rows):
            if gone < len(self.path_rank):
                self.path_rank[gone] = math.nan
                self.date_pos[gone] = -1
                self._discard_month(gone)
            self.path_delta.discard(gone)
            self.date_delta.discard(gone)
        for image_id, status, rating, key, _path in rows:
            self.status.setdefault(status, BitMap()).add(image_id)
            if rating is not None and 0 <= rating < len(self.ratings):
                self.ratings[rating].add(image_id)
            if self.date_key[image_id] != key or self.date_pos[image_id] < 0:
                self._discard_month(image_id)
                self.months.setdefault(int(month_of(np.array([key]))[0]), BitMap()).add(image_id)
                self.date_key[image_id] = key
                self.date_pos[image_id] = -1
                self.date_delta.add(image_id)
        placed = [(r[0], r[4]) for r in rows if r[0] in moved or math.isnan(self.path_rank[r[0]])]
        if placed:
            self._place_paths(connection, placed)
        if len(self.date_delta) > max(10_000, len(self.by_date) // 20):
            self._sort_dates(np.array(sorted(self.universe), dtype=np.int64))

    def _discard_month(self, image_id: int) -> None:
        month = int(month_of(self.date_key[image_id : image_id + 1])[0])
        if month in self.months:
            self.months[month].discard(image_id)

    def _place_paths(self, connection: DriverConnection, rows: list[tuple[int, str]]) -> None:
        """Give new and moved images a rank between their neighbours in path order (rows sorted by path).

        The neighbours are the nearest images, below and above, that keep their rank; the images of
        one gap share it evenly. Many placements, or a gap too narrow for floats, re-sort the base."""
        for image_id, _ in rows:
            self.path_rank[image_id] = math.nan
        if len(rows) + len(self.path_delta) > max(10_000, len(self.by_path) // 20):
            self._resort_paths(connection)
            return
        groups: list[tuple[float, float, list[int]]] = []
        high_path: str | None = None
        for image_id, path in rows:
            if groups and high_path is not None and path < high_path:
                groups[-1][2].append(image_id)
                continue
            low = self._ranked_neighbour(connection, path, below=True)
            high = self._ranked_neighbour(connection, path, below=False)
            high_path = high[1] if high else None
            low_rank = self.path_rank[low[0]] if low else -1.0
            high_rank = self.path_rank[high[0]] if high else len(self.by_path) + len(self.path_delta) + 1.0
            groups.append((low_rank, high_rank, [image_id]))
            if high_path is None:
                high_path = "\U0010ffff" * 4
        for low_rank, high_rank, ids in groups:
            step = (high_rank - low_rank) / (len(ids) + 1)
            if step <= abs(high_rank) * 1e-12 or step <= 0:
                self._resort_paths(connection)
                return
            for offset, image_id in enumerate(ids, 1):
                self.path_rank[image_id] = low_rank + step * offset
                self.path_delta.add(image_id)

    def _ranked_neighbour(self, connection: DriverConnection, path: str, below: bool) -> tuple[int, str] | None:
        for image_id, other in connection.execute(sql.PATHS_BELOW if below else sql.PATHS_ABOVE, (path,)):
            if image_id < len(self.path_rank) and not math.isnan(self.path_rank[image_id]):
                return image_id, other
        return None

    def _resort_paths(self, connection: DriverConnection) -> None:
        by_path = np.array([r[0] for r in connection.execute(sql.IDS_BY_PATH)], dtype=np.int32)
        self._set_path_order(by_path, len(self.date_key))

    # --- ordering -----------------------------------------------------------------------------

    def ordered(self, hits: BitMap, sort: str, count: int) -> list[int]:
        """The first ``count`` of ``hits`` in ``sort`` order (path, date, added; ``-`` reverses),
        ties by id as SQL's ``ORDER BY key, id`` has them."""
        descending = sort.startswith("-")
        key = sort.lstrip("-")
        if count <= 0 or not hits:
            return []
        if key == "added":
            return list(hits[-count:])[::-1] if descending else list(hits[:count])
        total = len(self.by_path if key == "path" else self.by_date)
        if len(hits) * 8 < total or len(hits) <= count:
            ids = np.frombuffer(hits.to_array(), dtype=np.uint32).astype(np.int64)
            return self._sort_all(ids, key, descending, count)
        return self._walk(hits, key, descending, count)

    def _sort_all(self, ids: np.ndarray, key: str, descending: bool, count: int | None = None) -> list[int]:
        """The first ``count`` of ``ids`` by (key, id): a partition keeps the ``count`` smallest keys
        (and every tie of the last one), then only those are sorted."""
        values = (self.path_rank if key == "path" else self.date_key)[ids]
        if descending:
            values = -values
        if count is not None and count < len(ids):
            last = np.partition(values, count - 1)[count - 1]
            keep = values <= last
            ids, values = ids[keep], values[keep]
        return ids[np.lexsort((ids, values))][:count].tolist()

    def _walk(self, hits: BitMap, key: str, descending: bool, count: int) -> list[int]:
        """Walk the base order (skipping images placed since, which are merged at the end) until
        ``count`` hits; with dates the walk goes on through ties of the last key, so that the
        final sort by (date, id) is exact in both directions."""
        if key == "path":
            base, positions, delta = self.by_path, self.path_rank, self.path_delta
        else:
            base, positions, delta = self.by_date, self.date_pos, self.date_delta
        found: list[int] = []
        chunk = 4096
        first, last = 0, len(base)
        if len(hits) * 4 < len(base):  # hits bunched in one stretch (a date range): start there
            ids = np.frombuffer(hits.to_array(), dtype=np.uint32)
            places = positions[ids]
            places = places[(places >= 0) & (places == places)]  # placed since the base: merged below
            if len(places):
                first, last = int(places.min()), int(places.max()) + 1
        starts = range(last - chunk, first - chunk, -chunk) if descending else range(first, last, chunk)
        for start in starts:
            low = max(start, first)
            ids = base[low : min(start + chunk, last)]
            ids = ids[positions[ids] == np.arange(low, low + len(ids))]
            # Which of the chunk are hits, in one go: intersect, then mark them in walk order.
            inside = np.frombuffer((hits & bitmap(ids)).to_array(), dtype=np.uint32)
            if not len(inside):
                continue
            candidates = ids[np.isin(ids, inside, assume_unique=True)].tolist()
            if descending:
                candidates.reverse()
            if len(found) + len(candidates) <= count:
                found.extend(candidates)
                continue
            done = False
            for image_id in candidates:
                if len(found) >= count and (key == "path" or self.date_key[image_id] != self.date_key[found[-1]]):
                    done = True
                    break
                found.append(image_id)
            if done:
                break
        extra = list(delta & hits)
        ids = np.array(found + extra, dtype=np.int64)
        return self._sort_all(ids, key, descending, count)

    # --- saving (library.posting_file) ---------------------------------------------------------

    def save(self, path: Path, identity: dict) -> None:
        """Write atomically (a temporary file renamed over the old one)."""
        posting_file.save(self, path, identity)

    @classmethod
    def load(cls, path: Path, identity_at: Callable[[int], dict]) -> PostingIndex | None:
        """The saved index (with the rules it was made for), or None when it is missing, damaged or
        made for another database."""
        return posting_file.load(cls, path, identity_at)


def month_of(keys: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of date keys (milliseconds)."""
    return keys.astype("datetime64[ms]").astype("datetime64[M]").astype(np.int64)


def model_ids(connection: DriverConnection) -> list[int]:
    return [row[0] for row in connection.execute(sql.MODEL_IDS)]


def latest_change(connection: DriverConnection) -> int:
    """The newest change ever logged (AUTOINCREMENT's counter: it survives pruning)."""
    row = connection.execute(sql.LATEST_CHANGE).fetchone()
    return int(row[0]) if row else 0


def identity(connection: DriverConnection, library_id: str, stamp: int) -> dict:
    """What ties a saved index to one database besides its stamp: the library's id, and the change
    logged at the stamp (a restored backup that made as many changes since would match the stamp,
    not that change), and the schema revision (a migration may rewrite tags without logging them).
    The row at the stamp is kept when the log is pruned."""
    row = connection.execute(sql.CHANGE_AT, (stamp,)).fetchone()
    revision = connection.execute(sql.SCHEMA_REVISION).fetchone()
    return {"library": library_id, "at_stamp": list(row) if row else None, "schema": revision[0] if revision else None}
