"""Taking a library made at the schema head back to an older revision by hand, for migration tests.

Each revision after 0007 has its undoing here, newest first, so a test that makes a 0007 (or older)
library by hand keeps working when a later revision adds columns or tables."""

from __future__ import annotations

from sqlalchemy.engine import Connection


def _undo_0010(connection: Connection) -> None:
    connection.exec_driver_sql("DROP TABLE model_tag_thresholds")


def _undo_0009(connection: Connection) -> None:
    for table in ("tag_siblings", "tag_parents", "model_exclusions", "model_caps"):
        connection.exec_driver_sql(f"DROP TABLE {table}")


def _undo_0008(connection: Connection) -> None:
    for column in ("stars", "label", "pick"):
        connection.exec_driver_sql(f"ALTER TABLE images DROP COLUMN {column}")
    connection.exec_driver_sql("ALTER TABLE metadata_writes DROP COLUMN marks")


_UNDO = {"0010": _undo_0010, "0009": _undo_0009, "0008": _undo_0008}  # newest first


def back_to_0007(connection: Connection) -> None:
    """Drop what the revisions after 0007 added (the caller sets alembic_version)."""
    for undo in _UNDO.values():
        undo(connection)
