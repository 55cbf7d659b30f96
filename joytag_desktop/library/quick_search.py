"""``search QUERY`` answered from the saved search index with the ``sqlite3`` module alone.

Why: a command-line search spends most of its start importing SQLAlchemy (its core, its ORM and
the schema's mapped classes), which a search the saved posting lists answer does not need. This
path opens the database read-only, checks that the saved index is exactly current (same library,
same schema revision, its stamp the change log's latest, the same threshold rules), and answers
with the library's own parser, tag look-ups (``library.tag_lookup``), aliases and implications
(``library.relations``) and evaluator (``library.fast_search``): the same semantics, no second
evaluator. Anything not plainly that case gives None and the caller takes the full path: another
database than a SQLite file, no saved index or one behind the log (a replay or a rebuild is the
full path's job), another schema revision (a migration), other threshold rules, a term or a sort
that needs SQL, roots mounted elsewhere on this machine, a damaged library, or any error at all.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from joytag_desktop.library import statements as sql
from joytag_desktop.library.location import SCHEMA_HEAD, plain_sqlite_file
from joytag_desktop.library.query import Node, field_terms, parse
from joytag_desktop.library.relations import Relations
from joytag_desktop.library.statements import DriverConnection, json_ids, statement
from joytag_desktop.library.tag_lookup import HIERARCHY_SEPARATOR, find_tags
from joytag_desktop.library.thresholds import DEFAULT_THRESHOLD, ThresholdRules, check_threshold

log = logging.getLogger(__name__)

SORTS = ("path", "date", "added")  # the orders the posting lists keep (others are SQL's)
BUSY_TIMEOUT_S = 30.0  # as the full path waits for a writer's lock

SCHEMA_VERSIONS = statement("quick_schema_versions", "SELECT version_num FROM alembic_version")
SETTING = statement("quick_setting", "SELECT value FROM settings WHERE key = ?")
# Roots this or another machine mounts elsewhere: their stored paths need translating (library.mounts).
MOVED_ROOTS = statement(
    "quick_moved_roots", "SELECT count(*) FROM root_mounts m JOIN roots r ON r.id = m.root_id WHERE m.path != r.path"
)
MODELS = statement("quick_models", "SELECT id, name, searched FROM models ORDER BY id")
TAG_THRESHOLDS = statement("quick_tag_thresholds", "SELECT tag_id, threshold FROM tag_thresholds")
MODEL_THRESHOLDS = statement("quick_model_thresholds", "SELECT model_id, category, threshold FROM model_thresholds")
MODEL_TAG_THRESHOLDS = statement(
    "quick_model_tag_thresholds", "SELECT model_id, tag_id, threshold FROM model_tag_thresholds"
)
# The reads of a tag look-up, as SQLAlchemy words Tags' (library.tags) on SQLite.
TAG_IDS = statement("quick_tag_ids", "SELECT id FROM tags")
TAG_IDS_LIKE = statement("quick_tag_ids_like", "SELECT id FROM tags WHERE name LIKE ? ESCAPE '\\'")
TAG_ID_NAMED = statement("quick_tag_id_named", "SELECT id FROM tags WHERE name = ?")
TAG_IDS_LOWERED = statement("quick_tag_ids_lowered", "SELECT id FROM tags WHERE lower(name) = ?")
HIERARCHICAL_TAGS = statement(
    "quick_hierarchical_tags", "SELECT id, name FROM tags WHERE name LIKE '%' || ? || '%' ESCAPE '/'"
)
CATEGORIES = statement("quick_categories", "SELECT id, category FROM tags")
ALIASES = statement("quick_aliases", "SELECT tag_id, target_id FROM tag_siblings")
IMPLICATIONS = statement("quick_implications", "SELECT child_id, parent_id FROM tag_parents")
PATHS_LISTED = statement("quick_paths_listed", "SELECT id, path FROM images WHERE id IN ({listed})")


class Fallback(Exception):
    """Not the plain case: the full path answers."""


@dataclass
class QuickAnswer:
    paths: list[str]  # the images shown, in order
    warnings: list[str]  # what the full path prints as notes first
    shown: int  # how many ids were found to show (paths of images gone meanwhile left out)
    more: bool  # more images match than shown (the full path then counts them all)
    total: int  # how many images match


def answer(
    database: str | os.PathLike[str] | None,
    query: str,
    threshold: float | None,
    limit: int | None,
    sort: str,
    announce: Callable[[str], None] | None = None,
) -> QuickAnswer | None:
    """The answer of ``search`` for a plain case, or None (take the full path)."""
    path = plain_sqlite_file(database)
    if path is None or sort.lstrip("-") not in SORTS or not path.is_file():
        return None
    saved = Path(f"{path}-search")
    if not saved.is_file():
        return None
    from joytag_desktop.library import integrity

    def damaged(_warning: str) -> None:
        raise Fallback("damaged")  # the full path warns, once

    silenced = logging.root.manager.disable
    logging.disable(logging.WARNING)  # a damaged saved index, say: the full path says so, once
    try:
        node = parse(query)
        _check_plain(node)
        with integrity.guarded(path, False, damaged, announce):
            return _answer(path, saved, node, threshold, limit, sort)
    except Exception as exc:  # noqa: BLE001 - any doubt: the full path answers (and reports what went wrong)
        log.debug("quick search not taken: %r", exc)
        return None
    finally:
        logging.disable(silenced)


def _check_plain(node: Node) -> None:
    from joytag_desktop.library.fast_search import native

    if not native(node) or field_terms(node, "like") or field_terms(node, "text"):
        raise Fallback("a term the posting lists do not answer alone")


def _answer(path: Path, saved: Path, node: Node, threshold: float | None, limit: int | None, sort: str) -> QuickAnswer:
    from joytag_desktop.library.errors import ScoresIncomplete
    from joytag_desktop.library.fast_search import Evaluator
    from joytag_desktop.library.postings import PostingIndex, identity, latest_change
    from joytag_desktop.library.resolver import TagResolver, judging_models

    raw = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    try:
        connection = DriverConnection(raw, False)
        connection.begin_snapshot()
        if [row[0] for row in connection.execute(SCHEMA_VERSIONS)] != [SCHEMA_HEAD]:
            raise Fallback("the schema is not this version's")
        library_id = _setting(connection, "library_id")
        if library_id is None or connection.execute(MOVED_ROOTS).fetchone()[0]:
            raise Fallback("no library id yet, or roots mounted elsewhere")
        index = PostingIndex.load(saved, lambda stamp: identity(connection, library_id, stamp))
        if index is None or index.stamp != latest_change(connection):
            raise Fallback("no current saved index")
        rules = read_rules(connection)
        if rules.key() != index.rules.key():
            raise Fallback("the threshold rules changed since the index was saved")
        if threshold is not None:
            rules = dataclasses.replace(rules, override=check_threshold(threshold))
        by_name, judging = judging_models(node, [(i, n, bool(s)) for i, n, s in connection.execute(MODELS)])
        reads = _Reads(connection)
        resolver = TagResolver(reads.lookup, reads.category_of, rules, judging, by_name)
        evaluator = Evaluator(index, resolver, _needs_sql, _needs_sql, reads.stored_scores)
        try:
            hits = evaluator.matches(node)
        except ScoresIncomplete as exc:
            raise Fallback("score codes incomplete") from exc
        ordered = index.ordered(hits, sort, len(hits) if limit is None else limit + 1)
        ids = ordered if limit is None else ordered[:limit]
        found = dict(connection.execute(PATHS_LISTED, (json_ids(ids),)).fetchall()) if ids else {}
        paths = [found[i] for i in ids if i in found]
        return QuickAnswer(paths, resolver.warnings, len(ids), len(ordered) > len(ids), len(hits))
    finally:
        raw.close()


def _needs_sql(*_arguments: Any) -> NoReturn:
    raise Fallback("a term needs SQL")


def _setting(connection: DriverConnection, key: str) -> str | None:
    row = connection.execute(SETTING, (key,)).fetchone()
    return None if row is None else row[0]


def read_rules(connection: DriverConnection) -> ThresholdRules:
    """The library's threshold rules, as ``Settings.threshold_rules`` reads them (no one-off threshold)."""
    base = float(_setting(connection, "threshold") or str(DEFAULT_THRESHOLD))
    per_model: dict[int, dict[str, float]] = {}
    for model_id, category, value in connection.execute(MODEL_THRESHOLDS):
        per_model.setdefault(model_id, {})[category] = value
    per_model_tag: dict[int, dict[int, float]] = {}
    for model_id, tag_id, value in connection.execute(MODEL_TAG_THRESHOLDS):
        per_model_tag.setdefault(model_id, {})[tag_id] = value
    overrides = dict(connection.execute(TAG_THRESHOLDS).fetchall())
    return ThresholdRules(base, None, overrides, per_model, per_model_tag)


class _Reads:
    """The library's reads for one query, on the read-only connection (``library.tag_lookup``'s
    ``TagReads``, categories, aliases and implications, stored scores)."""

    def __init__(self, connection: DriverConnection) -> None:
        self.connection = connection
        self._categories: dict[int, str] | None = None
        self._relations: tuple[Relations, dict[int, set[int]]] | None = None
        self._found: dict[tuple[str, bool, str | None], list[int]] = {}

    def lookup(self, name: str, exact: bool, category: str | None) -> list[int]:
        """A term's tag ids widened by the aliases and implications (``Searching._find_tags``)."""
        key = (name, exact, category)
        if key not in self._found:
            if self._relations is None:
                relations = Relations.read(dict(self.connection.execute(ALIASES).fetchall()),
                                           self.connection.execute(IMPLICATIONS).fetchall())  # fmt: skip
                self._relations = (relations, relations.children())
            found = find_tags(self, name, exact, category, self.category_of)
            self._found[key] = self._relations[0].expand(found, self._relations[1])
        return self._found[key]

    def category_of(self, tag_id: int) -> str:
        if self._categories is None:
            self._categories = dict(self.connection.execute(CATEGORIES).fetchall())
        return self._categories.get(tag_id, "general")

    def stored_scores(self, tag_ids: list[int], images) -> list[tuple[int, int, int, float]]:
        return self.connection.execute(sql.SCORES_OF_TAGS_LISTED, (json_ids(tag_ids), json_ids(images))).fetchall()

    # TagReads
    def every_id(self) -> list[int]:
        return [row[0] for row in self.connection.execute(TAG_IDS)]

    def like(self, pattern: str) -> list[int]:
        return [row[0] for row in self.connection.execute(TAG_IDS_LIKE, (pattern,))]

    def named(self, name: str) -> int | None:
        row = self.connection.execute(TAG_ID_NAMED, (name,)).fetchone()
        return None if row is None else row[0]

    def lowered(self, name: str) -> list[int]:
        return [row[0] for row in self.connection.execute(TAG_IDS_LOWERED, (name,))]

    def hierarchical(self) -> list[tuple[int, str]]:
        return [(i, n.casefold()) for i, n in self.connection.execute(HIERARCHICAL_TAGS, (HIERARCHY_SEPARATOR,))]
