"""One library's posting lists: loaded, built, kept current and saved, for every thread of a process.

``acquire`` hands out the index brought up to date with the database (by replaying the change
log), or None where SQL must answer: the index turned off, or a one-off threshold
(``--threshold``) for a caller that cannot take one (searches can: ``library.graded``). The index is
saved beside the database (``library.sqlite3-search``) after a build and after many changes, so the
next start loads it in a fraction of a second; the log rows it no longer needs are pruned then.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pyroaring import BitMap
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from joytag_desktop.library import dialect
from joytag_desktop.library import statements as sql
from joytag_desktop.library.statements import DriverConnection
from joytag_desktop.library.thresholds import ThresholdRules

if TYPE_CHECKING:
    from joytag_desktop.library.postings import PostingIndex

log = logging.getLogger(__name__)


def _postings():
    """``library.postings``, imported on first use: commands that never search skip numpy."""
    from joytag_desktop.library import postings

    return postings


SAVE_AFTER_CHANGES = 100_000  # replayed changes that make a save worth its time
PRUNE_AFTER_ROWS = 200_000  # log rows older than the saved stamp that make a prune worth a write
BACKGROUND_ABOVE = 50_000  # images past which the GUI builds on a thread of its own (about 3 s of work)


class SearchIndex:
    """The posting lists of one Library (one per process and database), shared by its threads."""

    def __init__(self, engine: Engine, get_setting, set_setting) -> None:
        self.engine = engine
        self.enabled = True
        base = dialect.local_base(engine)
        self.path = Path(base + "-search") if base else None
        self._get_setting, self._set_setting = get_setting, set_setting
        self._index: PostingIndex | None = None
        self._lock = threading.RLock()
        self._totals: tuple[tuple, int, dict[int, int]] | None = None  # (key, stamp, counts per tag)
        self.builds = 0  # full builds by this process (tests and benchmarks read it)
        # The GUI builds big indexes on a thread of their own and lets SQL answer meanwhile; the
        # command line builds at once (a command that exits would waste a background build).
        self.background = False
        # Replayed changes that make closing save the index (the command line's search: any).
        self.save_on_close_after = SAVE_AFTER_CHANGES // 10
        self._building: threading.Thread | None = None
        self._closed = False

    @contextlib.contextmanager
    def acquire(self, rules: ThresholdRules, one_off: bool = False) -> Iterator[PostingIndex | None]:
        """The current index, held (no other thread changes it) until the block ends. A one-off
        threshold gives None unless the caller applies it itself (``one_off``: the index holds the
        library's own rules)."""
        if not self.enabled or (rules.override is not None and not one_off):
            yield None
            return
        if rules.override is not None:
            rules = dataclasses.replace(rules, override=None)
        with self._lock, self._connection() as connection:
            index = self._current(connection, rules)
            yield index

    def _build_elsewhere(self, connection: DriverConnection, rules: ThresholdRules) -> bool:
        """Start a build on its own thread when it would hold searches up (in the GUI, past
        BACKGROUND_ABOVE images); True while one runs."""
        if self._building is not None and self._building.is_alive():
            return True
        if not self.background:
            return False
        (images,) = connection.execute(sql.IMAGE_COUNT).fetchone()
        if images < BACKGROUND_ABOVE:
            return False

        def build() -> None:
            try:
                with self._connection() as own:
                    index = _postings().PostingIndex.build(own, rules)
                with self._lock:
                    if self._closed:
                        return
                    with self._connection() as own:
                        index.catch_up(own)
                        self._index = index
                        self.builds += 1
                        self._save(own, index)
            except (*dialect.driver_errors(), DBAPIError, _postings().StaleIndex, OSError) as exc:
                log.warning("search index not built: %s", exc)

        self._building = threading.Thread(target=build, name="search-index", daemon=True)
        self._building.start()
        return True

    @contextlib.contextmanager
    def _connection(self) -> Iterator[DriverConnection]:
        with dialect.raw_connection(self.engine) as connection:
            yield connection

    def _current(self, connection: DriverConnection, rules: ThresholdRules) -> PostingIndex | None:
        """This process's index, else the saved one, else a new build (None while one runs on
        its own thread: SQL answers); then the changes since."""
        index = self._index
        if index is not None and not (index.follow_rules(connection, rules) and _caught_up(index, connection)):
            index = None
        if index is None:
            saved = self._load(connection)
            if saved is not None and saved.follow_rules(connection, rules) and _caught_up(saved, connection):
                index = saved
        if index is None and self._build_elsewhere(connection, rules):
            return None
        if index is None:
            index = _postings().PostingIndex.build(connection, rules)
            self.builds += 1
            index.catch_up(connection)
            self._save(connection, index)
        self._index = index
        if index.graded.damaged:  # the saved score codes could not be read (found at a search by score)
            index.read_scores(connection)
            self._save(connection, index)
        if index.changes_since_save >= SAVE_AFTER_CHANGES:
            self._save(connection, index)
        return index

    def library_id(self) -> str | None:
        """The library's id (made on first use), or None when it cannot be written (a full disk:
        a search must still work, only without a saved index)."""
        value = self._get_setting("library_id")
        if value is None:
            value = uuid.uuid4().hex
            try:
                self._set_setting("library_id", value)
            except DBAPIError as exc:
                log.info("search index not saved: %s", exc)
                return None
        return value

    def _load(self, connection: DriverConnection) -> PostingIndex | None:
        library_id = self.library_id() if self.path is not None else None
        if self.path is None or library_id is None:
            return None
        return _postings().PostingIndex.load(
            self.path, lambda stamp: _postings().identity(connection, library_id, stamp)
        )

    def _save(self, connection: DriverConnection, index: PostingIndex) -> None:
        """Save (best effort: a read-only folder or a full disk only costs the next start a build),
        then prune the log rows before the saved stamp (the row at it stays, for ``identity``)."""
        library_id = self.library_id() if self.path is not None else None
        if self.path is None or library_id is None:
            return
        try:
            index.save(self.path, _postings().identity(connection, library_id, index.stamp))
        except OSError as exc:
            log.warning("could not save the search index to %s: %s", self.path, exc)
            return
        try:
            oldest = connection.execute(sql.OLDEST_CHANGE).fetchone()[0]
            # The saved vector indexes (library.similar) replay the same log: keep what they need.
            floor = min(
                [index.stamp] + [int(value) for (value,) in connection.execute(sql.VECTOR_STAMPS) if value.isdigit()]
            )
            if oldest is not None and floor - oldest >= PRUNE_AFTER_ROWS:
                connection.execute(sql.PRUNE_CHANGES, (floor,))
                connection.commit()
        except (*dialect.driver_errors(), DBAPIError) as exc:
            connection.rollback()
            log.info("search change log not pruned: %s", exc)

    def trim_log(self) -> None:
        """Drop change-log rows no index could replay anyway (more than MAX_REPLAY behind): an index
        that far behind is rebuilt, so the log of a library that is tagged and never searched stays
        bounded. Safe at any time: a lagging process sees the gap and reloads or rebuilds."""
        if not self.enabled:
            return
        try:
            with self._connection() as connection:
                connection.execute(sql.TRIM_CHANGES, (_postings().MAX_REPLAY,))
                connection.commit()
        except (*dialect.driver_errors(), DBAPIError) as exc:
            log.info("search change log not trimmed: %s", exc)

    def close(self) -> None:
        """Save what changed since the last save, when it is worth it."""
        with self._lock:
            self._closed = True
            if self._index is not None and self._index.changes_since_save >= self.save_on_close_after:
                with self._connection() as connection:
                    self._save(connection, self._index)
            self._index = None

    def tag_totals(self, index: PostingIndex, models: Sequence[int]) -> dict[int, int]:
        """Per tag, how many images (not missing) have it: exact, with any number of models.
        Cached; after changes of scores only the tags that changed are counted again."""
        key = (json.dumps(index.rules.key()), tuple(models), id(index))
        if self._totals is not None:
            cached_key, stamp, totals = self._totals
            if cached_key == key and index.images_changed <= stamp:
                for tag_id in [t for t, at in index.tags_changed.items() if at > stamp]:
                    totals[tag_id] = self._count(index, tag_id, models)
                self._totals = (key, index.stamp, totals)
                return totals
        totals = {tag_id: self._count(index, tag_id, models) for tag_id in index.tag_ids()}
        self._totals = (key, index.stamp, totals)
        return totals

    @staticmethod
    def _count(index: PostingIndex, tag_id: int, models: Sequence[int]) -> int:
        found = index.present([tag_id], models)
        return len(found) - found.intersection_cardinality(index.missing) if found else 0


def _caught_up(index: PostingIndex, connection: DriverConnection) -> bool:
    try:
        index.catch_up(connection)
    except _postings().StaleIndex as why:
        log.info("search index: %s", why)
        return False
    return True


def result_counts(index: PostingIndex, hits: BitMap, models: Sequence[int]) -> dict[int, int]:
    """Per tag, how many of ``hits`` have it."""
    counts: dict[int, int] = {}
    for tag_id in index.tag_ids():
        parts = [index.scores[m, tag_id] for m in models if (m, tag_id) in index.scores]
        if tag_id in index.added:
            parts.append(index.added[tag_id])
        if not parts:
            continue
        if len(parts) == 1 and tag_id not in index.removed:
            count = hits.intersection_cardinality(parts[0])
        else:
            found = BitMap.union(*(hits & part for part in parts))
            if tag_id in index.removed:
                found -= index.removed[tag_id]
            count = len(found)
        if count:
            counts[tag_id] = count
    return counts
