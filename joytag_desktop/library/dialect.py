"""Everything that differs between SQLite and PostgreSQL, in one place.

The library's SQL is written once; what PostgreSQL spells differently is said here:

- SQLAlchemy constructs compiled per dialect (id lists bound as one JSON text, their order, the
  date an image sorts by, text folded for caseless matching, "insert unless it exists");
- the driver connection (``raw_connection``), which runs the statements of ``library.statements``
  (written there once per dialect) for the posting lists, vector indexes and pages of the grid;
- the PostgreSQL triggers (PL/pgSQL) equivalent to the SQLite ones of the migrations, and the
  statements that claim work for several tagging workers.

PostgreSQL's change log is appended under a transaction-level advisory lock, so its sequence
numbers become visible in order (a reader that has seen number n has seen every number below):
the posting lists of every process replay it exactly as they do on SQLite.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sqlite3
import unicodedata
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import BigInteger, Integer, SQLColumnExpression, Text, bindparam, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

from joytag_desktop.library.statements import DriverConnection, json_ids  # noqa: F401 - json_ids re-exported

if TYPE_CHECKING:
    from sqlalchemy import Engine, Select

POSTGRESQL = "postgresql"
# Keys of PostgreSQL's advisory locks (any numbers, one per purpose).
CHANGE_LOG_LOCK = 0x4A5444  # "JTD": orders change-log appends
MIGRATION_LOCK = 7401  # one machine migrates, the others wait and find it done
VECTOR_TABLE_LOCK = 7402  # one machine creates pgvector's table and each model's index
MODEL_REGISTRATION_LOCK = 7403  # workers starting together register a model once

# --- SQLAlchemy constructs -----------------------------------------------------------------------


class _JsonIds(FunctionElement):
    """A table of the ids in one bound JSON array: ``json_each`` / ``json_array_elements_text``."""

    inherit_cache = True
    name = "json_ids"


@compiles(_JsonIds, "sqlite")
def _json_ids_sqlite(element, compiler, **kw) -> str:
    return f"json_each({compiler.process(element.clauses, **kw)})"


@compiles(_JsonIds, POSTGRESQL)
def _json_ids_postgresql(element, compiler, **kw) -> str:
    return f"json_array_elements_text(CAST({compiler.process(element.clauses, **kw)} AS json))"


class _IdValue(ColumnElement):
    """The ``value`` column of a :class:`_JsonIds` table, as an integer."""

    inherit_cache = True
    type = Integer()


@compiles(_IdValue, "sqlite")
def _id_value_sqlite(_element, _compiler, **_kw) -> str:
    return "value"


@compiles(_IdValue, POSTGRESQL)
def _id_value_postgresql(_element, _compiler, **_kw) -> str:
    return "CAST(value AS BIGINT)"


def listed_ids(json_text: str, name: str | None = None) -> Select:
    """``SELECT id FROM <the ids of one JSON array>``: any number of ids as one bound parameter
    (where ``IN (?, ?, …)`` stops at SQLite's 32,766 variables)."""
    return select(_IdValue()).select_from(_JsonIds(bindparam(name, json_text)))


class HistogramBucket(FunctionElement):
    """The 0.01 bucket of ``tag_histogram`` a score falls in (scores above 1 in the last one):
    SQLite's CAST truncates, PostgreSQL's rounds, so PostgreSQL truncates first."""

    inherit_cache = True
    type = Integer()
    name = "histogram_bucket"


@compiles(HistogramBucket, "sqlite")
def _bucket_sqlite(element, compiler, **kw) -> str:
    return f"CAST(MIN({compiler.process(element.clauses, **kw)}, 1.0) * 100 AS INTEGER)"


@compiles(HistogramBucket, POSTGRESQL)
def _bucket_postgresql(element, compiler, **kw) -> str:
    return f"CAST(trunc(least({compiler.process(element.clauses, **kw)}, 1.0) * 100) AS SMALLINT)"


class IdRank(ColumnElement):
    """The 0-based place of ``column``'s value in a bound JSON array of ids (NULL if absent)."""

    inherit_cache = True
    type = BigInteger()

    def __init__(self, json_text: str, column: SQLColumnExpression) -> None:
        self.json_param = bindparam(None, json_text)
        self.column = column

    def get_children(self, **_kw: Any) -> tuple:
        return (self.json_param, self.column)

    # What SQLAlchemy's statement cache keys on: without the bound ids, a second ranking reused the
    # first one's ids (a later `like:` sorted by the earlier one's similarities).
    _traverse_internals: ClassVar[list[tuple[str, InternalTraversal]]] = [
        ("json_param", InternalTraversal.dp_clauseelement),
        ("column", InternalTraversal.dp_clauseelement),
    ]


@compiles(IdRank, "sqlite")
def _rank_sqlite(element, compiler, **kw) -> str:
    ids, column = compiler.process(element.json_param, **kw), compiler.process(element.column, **kw)
    return f"(SELECT key FROM json_each({ids}) WHERE value = {column})"


@compiles(IdRank, POSTGRESQL)
def _rank_postgresql(element, compiler, **kw) -> str:
    ids, column = compiler.process(element.json_param, **kw), compiler.process(element.column, **kw)
    return (
        f"(SELECT r.n - 1 FROM json_array_elements_text(CAST({ids} AS json)) WITH ORDINALITY AS r(v, n)"
        f" WHERE CAST(r.v AS BIGINT) = {column})"
    )


class ImageDate(ColumnElement):
    """The EXIF date taken, else the file's modification time (local time), as text that sorts
    and compares: ``YYYY-MM-DD HH:MM:SS.mmm``."""

    inherit_cache = True
    type = Text()

    def __init__(self, taken: SQLColumnExpression, mtime: SQLColumnExpression) -> None:
        self.taken, self.mtime = taken, mtime

    def get_children(self, **_kw: Any) -> tuple:
        return (self.taken, self.mtime)

    _traverse_internals: ClassVar[list[tuple[str, InternalTraversal]]] = [
        ("taken", InternalTraversal.dp_clauseelement),
        ("mtime", InternalTraversal.dp_clauseelement),
    ]


@compiles(ImageDate, "sqlite")
def _date_sqlite(element, compiler, **kw) -> str:
    taken, mtime = compiler.process(element.taken, **kw), compiler.process(element.mtime, **kw)
    return (
        f"coalesce(strftime('%Y-%m-%d %H:%M:%f', {taken}),"
        f" strftime('%Y-%m-%d %H:%M:%f', {mtime}, 'unixepoch', 'localtime'))"
    )


@compiles(ImageDate, POSTGRESQL)
def _date_postgresql(element, compiler, **kw) -> str:
    taken, mtime = compiler.process(element.taken, **kw), compiler.process(element.mtime, **kw)
    return f"to_char(coalesce({taken}, CAST(to_timestamp({mtime}) AS timestamp)), 'YYYY-MM-DD HH24:MI:SS.MS')"


def fold(text: str) -> str:
    """``text`` for caseless matching beyond ASCII: composed (macOS writes decomposed file names),
    case-folded (``Ü`` = ``ü``, ``STRASSE`` = ``straße``, ``Σ`` = ``σ`` = ``ς``), composed again."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


def _fold_or_null(text: str | None) -> str | None:
    return None if text is None else fold(text)


def register_fold(dbapi_connection: sqlite3.Connection) -> None:
    """SQLite's ``lower()`` and ``LIKE`` fold ASCII only: ``joytag_fold`` is ``fold`` on a connection."""
    dbapi_connection.create_function("joytag_fold", 1, _fold_or_null, deterministic=True)


# PostgreSQL has no casefold before version 18: lower() in a Unicode collation, then the foldings
# where casefold differs from lower in names people write (final sigma, long s, micro sign, Greek
# symbol forms, sharp s). A short translate() list keeps the per-row cost low.
_PG_FOLD_FROM = "ςſµϐϑϕϖϰϱϵιͅ"
_PG_FOLD_TO = "".join(fold(c) for c in _PG_FOLD_FROM)
# Collations whose lower() maps all of Unicode, whatever the database's own locale ("C" maps ASCII only).
_PG_FOLD_COLLATIONS = ("und-x-icu", "pg_unicode_fast", "pg_c_utf8", "C.utf8", "C.UTF-8", "en_US.utf8", "en_US.UTF-8")


def choose_fold_collation(engine: Engine) -> None:
    """Pick, once per engine, the PostgreSQL collation ``Folded`` lowers in (the first of
    ``_PG_FOLD_COLLATIONS`` the server has for its encoding; else the database's own)."""
    with engine.connect() as connection:
        utf8 = connection.exec_driver_sql("SHOW server_encoding").scalar() == "UTF8"
        found = set(
            connection.execute(
                text(
                    "SELECT collname FROM pg_collation WHERE collname = ANY(:names)"
                    " AND collencoding IN (-1, pg_char_to_encoding(current_setting('server_encoding')))"
                ),
                {"names": list(_PG_FOLD_COLLATIONS)},
            ).scalars()
        )
    collation = next((name for name in _PG_FOLD_COLLATIONS if name in found), None)
    engine.dialect.joytag_fold = (collation, utf8)  # type: ignore[attr-defined]  # read by _folded_postgresql


class _TextOfColumn(ColumnElement):
    """A text expression made from one column, compiled per database by ``@compiles``."""

    inherit_cache = True
    type = Text()

    def __init__(self, column: SQLColumnExpression) -> None:
        self.column = column

    def get_children(self, **_kw: Any) -> tuple:
        return (self.column,)

    _traverse_internals: ClassVar[list[tuple[str, InternalTraversal]]] = [
        ("column", InternalTraversal.dp_clauseelement),
    ]


class Folded(_TextOfColumn):
    """A text column as ``fold`` reads it, for ``LIKE`` against a folded pattern."""

    inherit_cache = True


@compiles(Folded, "sqlite")
def _folded_sqlite(element, compiler, **kw) -> str:
    # ASCII text (as many bytes as characters) needs no Python call: LIKE folds ASCII itself.
    column = compiler.process(element.column, **kw)
    return f"(CASE WHEN length(CAST({column} AS BLOB)) = length({column}) THEN {column} ELSE joytag_fold({column}) END)"


@compiles(Folded, POSTGRESQL)
def _folded_postgresql(element, compiler, **kw) -> str:
    column = compiler.process(element.column, **kw)
    collation, utf8 = getattr(compiler.dialect, "joytag_fold", (None, True))
    composed = f"normalize({column}, NFC)" if utf8 else column
    lowered = f'lower({composed} COLLATE "{collation}")' if collation else f"lower({composed})"
    folded = f"(replace(translate({lowered}, '{_PG_FOLD_FROM}', '{_PG_FOLD_TO}'), 'ß', 'ss') COLLATE \"C\")"
    # ASCII text (as many bytes as characters) skips normalize() and translate(), the costly parts;
    # "C" lowers ASCII alike in every database (a Turkish one's lower('I') is 'ı').
    ascii_only = f"octet_length({column}) = char_length({column})"
    return f'(CASE WHEN {ascii_only} THEN lower({column} COLLATE "C") ELSE {folded} END)'


class SortText(_TextOfColumn):
    """A text column as a sort key: lower-cased, NULL as "", compared byte by byte on both
    databases (PostgreSQL's locale would skip spaces and punctuation; SQLite compares bytes)."""

    inherit_cache = True


@compiles(SortText, "sqlite")
def _sort_text_sqlite(element, compiler, **kw) -> str:
    return f"lower(coalesce({compiler.process(element.column, **kw)}, ''))"


@compiles(SortText, POSTGRESQL)
def _sort_text_postgresql(element, compiler, **kw) -> str:
    return f"lower(coalesce({compiler.process(element.column, **kw)}, '') COLLATE \"C\")"


def insert(table, dialect_name: str):
    """An INSERT that can say ``on_conflict_do_nothing`` / ``…_do_update`` in the engine's dialect."""
    if dialect_name == POSTGRESQL:
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def insert_new_rows(connection, table, rows: list[dict], unique: str) -> list[int]:
    """Insert ``rows`` (dicts with the same keys) into ``table`` unless a row with the same
    ``unique`` column exists; the ids of those inserted.

    PostgreSQL: the driver's pipelined executemany, one statement parsed once for the whole batch
    (SQLAlchemy's multi-row VALUES makes psycopg parse a 20,000-placeholder query per page: three
    quarters of a scan's insert time); the columns' bind processing (stored paths) is applied here."""
    statement = insert(table, connection.dialect.name).on_conflict_do_nothing(index_elements=[unique])
    if connection.dialect.name != POSTGRESQL:
        return list(connection.execute(statement.returning(table.c.id), rows).scalars())
    names = list(rows[0])
    processors = {
        name: processor
        for name in names
        if (processor := table.c[name].type.bind_processor(connection.dialect)) is not None
    }
    values = [
        {name: processors[name](value) if name in processors else value for name, value in row.items()} for row in rows
    ]
    columns = ", ".join(f'"{name}"' for name in names)
    placeholders = ", ".join(f"%({name})s" for name in names)
    sql = f"INSERT INTO {table.name} ({columns}) VALUES ({placeholders}) ON CONFLICT ({unique}) DO NOTHING RETURNING id"
    if not connection.in_transaction():
        connection.begin()  # the driver's statements belong to the transaction the caller commits
    ids: list[int] = []
    with connection.connection.driver_connection.cursor() as cursor:
        cursor.executemany(sql, values, returning=True)
        while True:
            ids += [row[0] for row in cursor.fetchall()]
            if not cursor.nextset():
                break
    return ids


# --- driver-level SQL ----------------------------------------------------------------------------


@contextlib.contextmanager
def raw_connection(engine: Engine) -> Iterator[DriverConnection]:
    """The DB-API connection of a pooled connection, running the statements of ``library.statements``
    in the engine's dialect; returned to the pool after the block (rolled back if it was left in a
    transaction)."""
    proxy = engine.raw_connection()
    try:
        yield DriverConnection(proxy.driver_connection, engine.dialect.name == POSTGRESQL)
    finally:
        proxy.close()


@functools.cache
def driver_errors() -> tuple[type[BaseException], ...]:
    """The exceptions the DB-API drivers raise (psycopg's only when it is installed)."""
    errors: list[type[BaseException]] = [sqlite3.Error]
    with contextlib.suppress(ImportError):
        import psycopg

        errors.append(psycopg.Error)
    return tuple(errors)


def is_postgresql(engine_or_connection: Any) -> bool:
    return engine_or_connection.dialect.name == POSTGRESQL


def serialize(session_or_connection: Any, key: int) -> None:
    """Make the current transaction the only one holding ``key`` until it ends (PostgreSQL: an
    advisory lock; SQLite serializes writers itself)."""
    bind = session_or_connection
    dialect = bind.get_bind().dialect if hasattr(bind, "get_bind") else bind.dialect
    if dialect.name == POSTGRESQL:
        bind.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


# --- PostgreSQL triggers -------------------------------------------------------------------------
# The same bookkeeping as the SQLite triggers of migrations 0003 and 0004: the per-tag histogram,
# "tagged" meaning every automatic model tagged the image, new content dropping old taggings, and
# the change log the posting lists and vector indexes replay. (PostgreSQL's CAST rounds where
# SQLite's truncates: buckets use trunc().) Before any row of these tables is written, the
# statement takes the change-log lock, so log numbers commit in order and no two writers wait on
# each other's rows while holding it.

_BUCKET = "CAST(trunc(least({row}.score, 1.0) * 100) AS SMALLINT)"
_PRESENT = "coalesce((SELECT status FROM images WHERE id = {row}.image_id), 'missing') <> 'missing'"
_LOG = "INSERT INTO search_changes (kind, image_id, ref) VALUES"


def _function(name: str, body: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n{body}\nRETURN NULL;\nEND\n$$"
    )


def _images_updated(content_changed: str) -> str:
    """``jtd_images_updated``, dropping the taggings when ``content_changed`` holds (the condition
    changed in 0007, so each revision installs its own)."""
    return _function(
        "jtd_images_updated",
        f"""
IF NEW.status IS DISTINCT FROM OLD.status OR NEW.rating IS DISTINCT FROM OLD.rating
   OR NEW.taken_at IS DISTINCT FROM OLD.taken_at OR NEW.mtime IS DISTINCT FROM OLD.mtime THEN
    {_LOG} (1, NEW.id, NULL);
END IF;
IF NEW.path IS DISTINCT FROM OLD.path THEN
    {_LOG} (4, NEW.id, NULL);
END IF;
IF (OLD.status = 'missing') <> (NEW.status = 'missing') THEN
    INSERT INTO tag_histogram (tag_id, model_id, bucket, count)
        SELECT tag_id, model_id, CAST(trunc(least(score, 1.0) * 100) AS SMALLINT),
               CASE WHEN NEW.status = 'missing' THEN -1 ELSE 1 END
        FROM image_tags WHERE image_id = NEW.id AND score >= 0
    ON CONFLICT (tag_id, model_id, bucket) DO UPDATE SET count = tag_histogram.count + excluded.count;
END IF;
IF {content_changed} THEN
    DELETE FROM image_models WHERE image_id = NEW.id;
END IF;
IF NEW.status = 'tagged' AND EXISTS (
        SELECT 1 FROM models WHERE auto AND NOT EXISTS (
            SELECT 1 FROM image_models WHERE image_id = NEW.id AND model_id = models.id)) THEN
    UPDATE images SET status = 'pending' WHERE id = NEW.id;
END IF;""",
    )


# New content: every model's tagging of the old content is stale (migration 0006) ...
_CONTENT_CHANGED_0006 = "OLD.content_hash IS NOT NULL AND OLD.content_hash IS DISTINCT FROM NEW.content_hash"
# ... unless the picture is the same on both sides, only its metadata changed (0007; NULL: unknown).
CONTENT_CHANGED = (
    f"{_CONTENT_CHANGED_0006} AND (OLD.picture_hash IS NULL OR OLD.picture_hash IS DISTINCT FROM NEW.picture_hash)"
)

POSTGRESQL_FUNCTIONS = [
    _function("jtd_take_log_lock", f"PERFORM pg_advisory_xact_lock({CHANGE_LOG_LOCK});"),
    _function(
        "jtd_image_tags_changed",
        f"""
IF TG_OP IN ('DELETE', 'UPDATE') THEN
    {_LOG} (0, OLD.image_id, OLD.tag_id);
    IF OLD.score >= 0 AND {_PRESENT.format(row="OLD")} THEN
        UPDATE tag_histogram SET count = count - 1
            WHERE tag_id = OLD.tag_id AND model_id = OLD.model_id AND bucket = {_BUCKET.format(row="OLD")};
    END IF;
END IF;
IF TG_OP IN ('INSERT', 'UPDATE') THEN
    {_LOG} (0, NEW.image_id, NEW.tag_id);
    IF NEW.score >= 0 AND {_PRESENT.format(row="NEW")} THEN
        INSERT INTO tag_histogram (tag_id, model_id, bucket, count)
            VALUES (NEW.tag_id, NEW.model_id, {_BUCKET.format(row="NEW")}, 1)
        ON CONFLICT (tag_id, model_id, bucket) DO UPDATE SET count = tag_histogram.count + 1;
    END IF;
END IF;""",
    ),
    _function(
        "jtd_images_inserted",
        f"{_LOG} (1, NEW.id, NULL);\n{_LOG} (4, NEW.id, NULL);",
    ),
    _function("jtd_images_deleted", f"{_LOG} (1, OLD.id, NULL);"),
    _images_updated(_CONTENT_CHANGED_0006),  # as 0006 installed it; IMAGES_UPDATED since 0007
    _function(
        "jtd_image_models_changed",
        f"""
IF TG_OP = 'DELETE' THEN
    {_LOG} (2, OLD.image_id, OLD.model_id);
ELSE
    {_LOG} (2, NEW.image_id, NEW.model_id);
END IF;""",
    ),
    _function(
        "jtd_tag_category_changed",
        f"IF NEW.category IS DISTINCT FROM OLD.category THEN {_LOG} (3, NULL, NEW.id); END IF;",
    ),
]

IMAGES_UPDATED = _images_updated(CONTENT_CHANGED)  # migration 0007

POSTGRESQL_TRIGGERS = [
    *(
        f"CREATE TRIGGER a_log_lock BEFORE INSERT OR UPDATE OR DELETE ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION jtd_take_log_lock()"
        for table in ("images", "image_tags", "image_models", "tags")
    ),
    "CREATE TRIGGER image_tags_changed AFTER INSERT OR UPDATE OR DELETE ON image_tags"
    " FOR EACH ROW EXECUTE FUNCTION jtd_image_tags_changed()",
    "CREATE TRIGGER images_inserted AFTER INSERT ON images FOR EACH ROW EXECUTE FUNCTION jtd_images_inserted()",
    "CREATE TRIGGER images_deleted AFTER DELETE ON images FOR EACH ROW EXECUTE FUNCTION jtd_images_deleted()",
    "CREATE TRIGGER images_updated AFTER UPDATE ON images FOR EACH ROW EXECUTE FUNCTION jtd_images_updated()",
    "CREATE TRIGGER image_models_changed AFTER INSERT OR DELETE ON image_models"
    " FOR EACH ROW EXECUTE FUNCTION jtd_image_models_changed()",
    "CREATE TRIGGER tags_category AFTER UPDATE OF category ON tags"
    " FOR EACH ROW EXECUTE FUNCTION jtd_tag_category_changed()",
]


def local_base(engine: Engine) -> str | None:
    """Where this machine keeps files that belong to the library (saved posting lists and vector
    indexes, named ``<base>-search`` / ``<base>-vectors``): beside a SQLite file; for a server's
    library, in this user's data folder, one name per server and database."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        database = url.database
        return database if database and database != ":memory:" else None
    from joytag_desktop import paths

    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{url.host or 'local'}-{url.port or 5432}-{url.database}")
    folder = paths.data_dir() / "servers"
    folder.mkdir(exist_ok=True)
    return str(folder / name)
