"""The SQL that runs on the DB-API connection, as a table: one name, one text per dialect.

Why: the posting lists, the vector indexes and a page of the grid skip SQLAlchemy for speed (a page
costs a millisecond), so nothing compiles their SQL per dialect. Each statement is therefore written
here once, with what differs between SQLite and PostgreSQL (id lists bound as one JSON text, the
lists of ids a group yields, the date key, the newest change) filled in per dialect when the table is
made, and with each driver's placeholders (sqlite3 ``?``, psycopg ``%s``). :class:`DriverConnection`
runs only the statements of this table and refuses any other SQL, so a statement written in SQLite's
words cannot reach PostgreSQL unnoticed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


def json_ids(ids: Iterable[int]) -> str:
    """Ids as one JSON text, bound as a single parameter and read with ``json_each`` (any number
    of them, where ``IN (?, ?, …)`` stops at SQLite's 32,766 variables)."""
    return json.dumps([int(i) for i in ids])


class UnregisteredStatement(TypeError):
    """SQL given to the driver connection that the statement table does not hold."""


@dataclass(frozen=True)
class Statement:
    """One driver-level statement: its SQLite text (``?``) and its PostgreSQL text (``%s``)."""

    name: str
    sqlite: str
    postgresql: str
    placeholders: int


_TABLE: dict[str, Statement] = {}

# What each dialect says differently, by the name a template uses for it.
_FRAGMENTS: dict[str, dict[str, str]] = {
    "sqlite": {
        # The ids of one bound JSON array (any number of ids as one parameter).
        "listed": "SELECT value FROM json_each(?)",
        # The ids of a group as one comma-separated text (parsed in C by the posting lists).
        "image_ids": "group_concat(image_id)",
        "tag_ids": "group_concat(tag_id)",
        "ids": "group_concat(id)",
        # Each score's code for the search index (library.graded: floor(score * 65535), clamped).
        "score_codes": "group_concat(max(0, min(65535, CAST(score * 65535 AS INTEGER))))",
        # The date an image sorts and filters by (EXIF date, else the file's local modification time)
        # as whole milliseconds of its wall-clock time read as UTC; kept in step with fields.image_date.
        "date_key": "CAST(round((julianday(coalesce(strftime('%Y-%m-%d %H:%M:%f', taken_at),"
        " strftime('%Y-%m-%d %H:%M:%f', mtime, 'unixepoch', 'localtime'))) - 2440587.5) * 86400000.0) AS INTEGER)",
        # The newest change ever logged: AUTOINCREMENT's counter survives pruning.
        "latest_change": "SELECT seq FROM sqlite_sequence WHERE name = 'search_changes'",
    },
    "postgresql": {
        "listed": "SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(? AS json))",
        "image_ids": "string_agg(CAST(image_id AS TEXT), ',')",
        "tag_ids": "string_agg(CAST(tag_id AS TEXT), ',' ORDER BY tag_id)",
        "ids": "string_agg(CAST(id AS TEXT), ',')",
        "score_codes": "string_agg(CAST(CAST(GREATEST(0, LEAST(65535, floor(score * 65535))) AS INTEGER) AS TEXT),"
        " ',' ORDER BY tag_id)",
        "date_key": "CAST(round(extract(epoch FROM coalesce(taken_at, CAST(to_timestamp(mtime) AS timestamp)))"
        " * 1000) AS BIGINT)",
        # Committed rows only: on PostgreSQL the sequence runs ahead of what other sessions can see.
        "latest_change": "SELECT coalesce(max(seq), 0) FROM search_changes",
    },
}


def _placeholders(text: str) -> int:
    """The ``?`` of a template (none may stand inside a quoted literal: the table's SQL has none there)."""
    if any("?" in literal for literal in text.split("'")[1::2]):
        raise ValueError(f"a '?' inside a literal: {text!r}")
    return text.count("?")


def _psycopg(text: str) -> str:
    """psycopg's wording of a text with ``?`` placeholders: ``%s``, and ``%`` written ``%%``."""
    return text.replace("%", "%%").replace("?", "%s")


def statement(name: str, template: str) -> Statement:
    """Register the statement ``template`` under ``name``: ``{fragment}`` marks what each dialect says
    its own way (``_FRAGMENTS``), ``?`` a parameter."""
    if name in _TABLE:
        raise ValueError(f"statement {name!r} is registered twice")
    sqlite = template.format(**_FRAGMENTS["sqlite"])
    postgresql = template.format(**_FRAGMENTS["postgresql"])
    count = _placeholders(sqlite)
    if _placeholders(postgresql) != count:
        raise ValueError(f"statement {name!r} has other parameters on PostgreSQL")
    registered = Statement(name, sqlite, _psycopg(postgresql) if count else postgresql, count)
    _TABLE[name] = registered
    return registered


class DriverConnection:
    """A DB-API connection (sqlite3 or psycopg) that runs statements of the table, in its dialect's
    text; anything else raises :class:`UnregisteredStatement`."""

    def __init__(self, connection: Any, postgresql: bool) -> None:
        self.connection = connection
        self.postgresql = postgresql

    def execute(self, statement: Statement, parameters: Sequence = ()) -> Any:
        known = _TABLE.get(statement.name) if isinstance(statement, Statement) else None
        if known is None or known is not statement:
            raise UnregisteredStatement(f"not in the statement table (library.statements): {statement!r}")
        if self.postgresql:
            return self.connection.execute(known.postgresql, tuple(parameters) if known.placeholders else None)
        return self.connection.execute(known.sqlite, parameters)

    def begin_snapshot(self) -> None:
        """A read transaction that sees one consistent snapshot for what follows."""
        if not self.postgresql:
            self.connection.execute("BEGIN")
        elif self.connection.info.transaction_status == 0:  # psycopg opens the transaction itself
            self.connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        else:  # already in one: keep it
            self.connection.execute("SELECT 1")

    def commit(self) -> None:
        self.connection.commit()

    def rollback(self) -> None:
        self.connection.rollback()


# --- posting lists (library.postings) -------------------------------------------------------------

LATEST_CHANGE = statement("latest_change", "{latest_change}")
CHANGES_BETWEEN = statement(
    "changes_between", "SELECT kind, image_id, ref FROM search_changes WHERE seq > ? AND seq <= ?"
)
CHANGE_AT = statement("change_at", "SELECT kind, image_id, ref FROM search_changes WHERE seq = ?")
SCHEMA_REVISION = statement("schema_revision", "SELECT max(version_num) FROM alembic_version")
MODEL_IDS = statement("model_ids", "SELECT id FROM models ORDER BY id")
TAG_CATEGORIES = statement("tag_categories", "SELECT id, category FROM tags")
TAG_CATEGORY = statement("tag_category", "SELECT category FROM tags WHERE id = ?")
USER_POSTINGS = statement(
    "user_postings",
    "SELECT tag_id, {image_ids}, score > 0 FROM image_tags WHERE model_id = 0 GROUP BY tag_id, score > 0",
)
TAGGED_BY = statement("tagged_by", "SELECT model_id, {image_ids} FROM image_models GROUP BY model_id")
TAGGED_BY_LISTED = statement(
    "tagged_by_listed", "SELECT image_id FROM image_models WHERE model_id = ? AND image_id IN ({listed})"
)
SCORES_LISTED = statement(
    "scores_listed", "SELECT image_id, model_id, score FROM image_tags WHERE tag_id = ? AND image_id IN ({listed})"
)
# Every stored row as (image, model, its tags, their scores' codes), in the table's key order (one
# pass: library.score_pass). SQLite's two group_concat see a group's rows in the same order; PostgreSQL's
# string_agg are both ordered by tag.
_SCORE_CODES_BY_IMAGE = "SELECT image_id, model_id, count(*), {tag_ids}, {score_codes} FROM image_tags"
SCORE_CODES_BY_IMAGE = statement("score_codes_by_image", _SCORE_CODES_BY_IMAGE + " GROUP BY image_id, model_id")
SCORE_CODES_BY_IMAGE_OF_TAGS = statement(
    "score_codes_by_image_of_tags",
    _SCORE_CODES_BY_IMAGE + " WHERE tag_id IN ({listed}) GROUP BY image_id, model_id",
)
SCORES_OF_TAGS_LISTED = statement(
    "scores_of_tags_listed",
    "SELECT image_id, tag_id, model_id, score FROM image_tags WHERE tag_id IN ({listed}) AND image_id IN ({listed})",
)
IMAGES_FOR_INDEX = statement("images_for_index", "SELECT id, status, coalesce(rating, -1), {date_key} FROM images")
IMAGES_LISTED_BY_PATH = statement(
    "images_listed_by_path",
    "SELECT id, status, rating, {date_key}, path FROM images WHERE id IN ({listed}) ORDER BY path",
)
IDS_BY_PATH = statement("ids_by_path", "SELECT id FROM images ORDER BY path")
PATHS_BELOW = statement("paths_below", "SELECT id, path FROM images WHERE path < ? ORDER BY path DESC")
PATHS_ABOVE = statement("paths_above", "SELECT id, path FROM images WHERE path > ? ORDER BY path")


# --- the search index's bookkeeping (library.search_index) ----------------------------------------

IMAGE_COUNT = statement("image_count", "SELECT count(*) FROM images")
OLDEST_CHANGE = statement("oldest_change", "SELECT min(seq) FROM search_changes")
VECTOR_STAMPS = statement("vector_stamps", "SELECT value FROM settings WHERE key LIKE 'vector_stamp:%'")
PRUNE_CHANGES = statement("prune_changes", "DELETE FROM search_changes WHERE seq < ?")
TRIM_CHANGES = statement("trim_changes", "DELETE FROM search_changes WHERE seq < ({latest_change}) - ?")

# --- vector indexes (library.vectors, library.similar) --------------------------------------------

EMBEDDING_COUNT = statement(
    "embedding_count", "SELECT count(*) FROM image_models WHERE model_id = ? AND embedding IS NOT NULL"
)
CHANGE_COUNT_BETWEEN = statement(
    "change_count_between", "SELECT count(*) FROM search_changes WHERE seq > ? AND seq <= ?"
)
CHANGES_OF_KINDS_BETWEEN = statement(
    "changes_of_kinds_between",
    "SELECT kind, image_id, ref FROM search_changes WHERE seq > ? AND seq <= ? AND kind IN (?, ?)",
)
EMBEDDINGS_LISTED = statement(
    "embeddings_listed",
    "SELECT image_id, embedding FROM image_models WHERE model_id = ? AND embedding IS NOT NULL"
    " AND image_id IN ({listed})",
)
EMBEDDING_PAGE = statement(
    "embedding_page",
    "SELECT image_id, embedding FROM image_models WHERE model_id = ? AND image_id > ?"
    " AND embedding IS NOT NULL ORDER BY image_id LIMIT ?",
)
MODELS = statement(
    "models", "SELECT id, name, format, version, fingerprint, path, auto, searched FROM models ORDER BY id"
)
HAS_EMBEDDING = statement(
    "has_embedding",
    "SELECT 1 FROM image_models WHERE model_id = ? AND embedding IS NOT NULL AND length(embedding) > 0 LIMIT 1",
)
HAS_EMBEDDING_OF_IMAGE = statement(
    "has_embedding_of_image",
    "SELECT 1 FROM image_models WHERE model_id = ? AND embedding IS NOT NULL AND length(embedding) > 0"
    " AND image_id = ? LIMIT 1",
)
PRESENT_LISTED = statement("present_listed", "SELECT id FROM images WHERE status != 'missing' AND id IN ({listed})")
STORED_EMBEDDINGS_LISTED = statement(
    "stored_embeddings_listed",
    "SELECT image_id, embedding FROM image_models WHERE model_id = ? AND image_id IN ({listed})",
)

# --- duplicates (library.duplicates) --------------------------------------------------------------

_SAME_CONTENT = (
    "SELECT content_hash, {ids} FROM images WHERE status != 'missing'"
    " AND content_hash IS NOT NULL AND content_hash != ''"
)
SAME_CONTENT = statement("same_content", _SAME_CONTENT + " GROUP BY content_hash HAVING count(*) > 1")
SAME_CONTENT_LISTED = statement(
    "same_content_listed", _SAME_CONTENT + " AND id IN ({listed}) GROUP BY content_hash HAVING count(*) > 1"
)

# --- a page of the grid (library.searching.Searching._grid_rows) -------------------------------------

GRID_ROWS = statement("grid_rows", "SELECT id, path, content_hash, status, stars, label, pick FROM images")
GRID_ROWS_LISTED = statement(
    "grid_rows_listed", "SELECT id, path, content_hash, status, stars, label, pick FROM images WHERE id IN ({listed})"
)
