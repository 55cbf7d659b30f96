"""Taking a library made at the schema head back to an older revision by hand, for migration tests.

Each revision after 0007 has its undoing here, newest first, so a test that makes a 0007 (or older)
library by hand keeps working when a later revision adds columns or tables."""

from __future__ import annotations

import importlib

from sqlalchemy.engine import Connection


def _undo_0011(connection: Connection) -> None:
    """Scores keyed by tag again, with 0001/0003's indexes and 0003/0004's (SQLite) or 0006's
    (PostgreSQL) per-row triggers; the histogram's waiting changes folded in."""
    plus = "tag_histogram.count" if connection.dialect.name == "postgresql" else "count"
    connection.exec_driver_sql(
        "INSERT INTO tag_histogram (tag_id, model_id, bucket, count) SELECT tag_id, model_id, bucket, sum(count)"
        " FROM tag_histogram_changes WHERE TRUE GROUP BY tag_id, model_id, bucket"
        f" ON CONFLICT (tag_id, model_id, bucket) DO UPDATE SET count = {plus} + excluded.count"
    )
    connection.exec_driver_sql("DROP TABLE tag_histogram_changes")
    connection.exec_driver_sql("ALTER TABLE tags DROP COLUMN scored")
    if connection.dialect.name == "postgresql":
        for name in ("image_tags_added", "image_tags_updated", "image_tags_removed"):
            connection.exec_driver_sql(f"DROP TRIGGER {name} ON image_tags")
        connection.exec_driver_sql("DROP TRIGGER image_scores_forgotten ON images")
        connection.exec_driver_sql("DROP FUNCTION jtd_image_scores_forgotten()")
        connection.exec_driver_sql("ALTER TABLE image_tags DROP CONSTRAINT image_tags_pkey")
        connection.exec_driver_sql("ALTER TABLE image_tags ADD PRIMARY KEY (tag_id, image_id, model_id)")
        connection.exec_driver_sql(
            "CREATE TRIGGER image_tags_changed AFTER INSERT OR UPDATE OR DELETE ON image_tags"
            " FOR EACH ROW EXECUTE FUNCTION jtd_image_tags_changed()"
        )
    else:
        several = importlib.import_module("joytag_desktop.library.migrations.versions.0003_several_models")
        changes = importlib.import_module("joytag_desktop.library.migrations.versions.0004_search_changes")
        connection.exec_driver_sql("DROP TRIGGER image_scores_forgotten")
        connection.exec_driver_sql(
            "CREATE TABLE image_tags_old (tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,"
            " image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE, model_id SMALLINT NOT NULL,"
            " source SMALLINT NOT NULL, score FLOAT NOT NULL, PRIMARY KEY (tag_id, image_id, model_id))"
            " WITHOUT ROWID"
        )
        connection.exec_driver_sql(
            "INSERT INTO image_tags_old SELECT tag_id, image_id, model_id, source, score FROM image_tags"
        )
        readers = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name != 'image_tags'"
            " AND sql LIKE '%image_tags%'"
        ).all()
        for name, _ in readers:
            connection.exec_driver_sql(f"DROP TRIGGER {name}")
        connection.exec_driver_sql("DROP TABLE image_tags")
        connection.exec_driver_sql("ALTER TABLE image_tags_old RENAME TO image_tags")
        for _, statement in readers:
            connection.exec_driver_sql(statement)
        connection.exec_driver_sql("CREATE INDEX ix_image_tags_user ON image_tags (tag_id, score) WHERE model_id = 0")
        for statement in [t for t in several.TRIGGERS if " ON image_tags" in t]:
            connection.exec_driver_sql(statement)
        for statement in [t for t in changes.TRIGGERS if " ON image_tags" in t]:
            connection.exec_driver_sql(statement)
    connection.exec_driver_sql("CREATE INDEX ix_image_tags_image ON image_tags (image_id)")
    connection.exec_driver_sql("CREATE INDEX ix_image_tags_tag_score ON image_tags (tag_id, score, image_id)")


def _undo_0010(connection: Connection) -> None:
    connection.exec_driver_sql("DROP TABLE model_tag_thresholds")


def _undo_0009(connection: Connection) -> None:
    for table in ("tag_siblings", "tag_parents", "model_exclusions", "model_caps"):
        connection.exec_driver_sql(f"DROP TABLE {table}")


def _undo_0008(connection: Connection) -> None:
    for column in ("stars", "label", "pick"):
        connection.exec_driver_sql(f"ALTER TABLE images DROP COLUMN {column}")
    connection.exec_driver_sql("ALTER TABLE metadata_writes DROP COLUMN marks")


_UNDO = {"0011": _undo_0011, "0010": _undo_0010, "0009": _undo_0009, "0008": _undo_0008}  # newest first


def back_to(connection: Connection, revision: str) -> None:
    """Drop what the revisions after ``revision`` (0007 or later) added (the caller sets alembic_version)."""
    for newer, undo in _UNDO.items():
        if newer > revision:
            undo(connection)


def back_to_0007(connection: Connection) -> None:
    """Drop what the revisions after 0007 added (the caller sets alembic_version)."""
    for undo in _UNDO.values():
        undo(connection)
