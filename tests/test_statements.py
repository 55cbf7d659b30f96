"""The driver-level statement table: every statement runs on both databases, and the driver
connection refuses SQL that the table does not hold (so none stays SQLite SQL on PostgreSQL)."""

from __future__ import annotations

import pytest

from joytag_desktop.library import Library, dialect, statements
from joytag_desktop.library.statements import Statement, UnregisteredStatement

pytestmark = pytest.mark.backends  # the same tests on SQLite and on PostgreSQL

SQLITE_WORDS = ("json_each", "group_concat", "sqlite_sequence", "julianday", "strftime", "?")


def _table() -> list[Statement]:
    from joytag_desktop.library import quick_search  # noqa: F401 - registers the quick search path's statements

    return list(statements._TABLE.values())


def test_postgresql_texts_say_nothing_in_sqlite_words() -> None:
    for statement in _table():
        assert not [word for word in SQLITE_WORDS if word in statement.postgresql], statement
        assert statement.postgresql.count("%s") == statement.placeholders == statement.sqlite.count("?")


def test_every_statement_runs_on_the_database(lib: Library) -> None:
    """Each statement, with its parameters bound (0 or NULL; ids as an empty JSON list), on an empty library;
    what it writes is rolled back."""
    blank = None if dialect.is_postgresql(lib.engine) else 0  # SQLite refuses LIMIT NULL; PostgreSQL types NULLs
    for statement in _table():
        parameters: list = [blank] * statement.placeholders
        if "json_each(?)" in statement.sqlite:
            parameters[statement.sqlite[: statement.sqlite.index("json_each(?)")].count("?")] = "[]"
        with dialect.raw_connection(lib.engine) as connection:
            try:
                cursor = connection.execute(statement, parameters)
                if statement.sqlite.startswith("SELECT"):
                    cursor.fetchall()
            finally:
                connection.rollback()


def test_the_driver_connection_refuses_unregistered_sql(lib: Library) -> None:
    with dialect.raw_connection(lib.engine) as connection:
        with pytest.raises(UnregisteredStatement):
            connection.execute("SELECT count(*) FROM images")
        with pytest.raises(UnregisteredStatement):
            connection.execute(Statement("made_up", "SELECT 1", "SELECT 1", 0))
        (count,) = connection.execute(statements.IMAGE_COUNT).fetchone()
    assert count == 0


def test_a_statement_is_registered_once() -> None:
    with pytest.raises(ValueError, match="twice"):
        statements.statement("image_count", "SELECT count(*) FROM images")


def test_a_ranking_by_bound_ids_is_not_taken_from_the_statement_cache(lib: Library) -> None:
    """Two rankings by different id lists on one engine: the second must not reuse the first's ids
    (SQLAlchemy caches compiled statements by their elements; the bound ids are one of them)."""
    from sqlalchemy import literal_column, select, text

    values = text("(SELECT 1 AS image_id UNION ALL SELECT 3) AS t")
    with lib.engine.connect() as connection:
        ranks = [
            [
                row[0]
                for row in connection.execute(
                    select(dialect.IdRank(ids, literal_column("image_id"))).select_from(values)
                )
            ]
            for ids in ("[1, 2, 3]", "[3, 2, 1]")
        ]
    assert ranks == [[0, 2], [2, 0]]
