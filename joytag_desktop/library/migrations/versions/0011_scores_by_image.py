"""Scores stored by image: ``image_tags`` keyed by (image, model, tag), triggers on the user's rows only.

Revision ID: 0011
Revises: 0010

Why: every structure ordered by tag cost about one written page per stored score (a new image's
hundred scores landed on a hundred pages of the tag-first key, a hundred of the (tag, score, image)
index, and a per-row histogram and change-log trigger each): ~10 CPU ms and ~2 MB written per
image. "Which images have tag T" is answered by the search index (posting lists and score codes),
which reads the table once, in key order, when it is built. So:

- the table is rebuilt keyed by (image_id, model_id, tag_id) (SQLite: WITHOUT ROWID, rows copied in
  key order, the old table dropped in a transaction of its own once this one committed;
  PostgreSQL: a new primary key), every row kept as it was;
- the (tag, score, image) index and the image index go (the key starts with the image); the user's
  rows (model 0: few, edited by hand) keep their tag-first partial index;
- the histogram and change-log triggers fire for the user's rows only; a model's rows are logged
  and counted per batch by ``library.score_rows`` in the transaction that writes them;
- what a batch adds to the per-tag histogram is appended to ``tag_histogram_changes`` and folded
  into ``tag_histogram`` now and then (updating it in place cost a page per score too);
- ``tags.scored`` says that a model has stored a score of the tag (asked by tag, where the scores
  are now keyed by image);
- deleting an image logs its model rows and uncounts all its rows first (a trigger per image, not
  per score), so a search index never keeps an image that is gone, and the histogram stays exact
  also for an image deleted while present (before, its rows stayed counted).
"""

import contextlib

import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import OperationalError

from joytag_desktop.library import dialect

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_LOG = "INSERT INTO search_changes (kind, image_id, ref) VALUES"
RETIRED_TABLE = "image_tags_0010"  # SQLite: the old table, dropped after the upgrade commits
_BUCKET = "CAST(MIN({row}.score, 1.0) * 100 AS INTEGER)"
_PRESENT = "COALESCE((SELECT status FROM images WHERE id = {row}.image_id), 'missing') != 'missing'"

# 0003's histogram triggers and 0004's change-log triggers, for the user's rows (model 0) only.
SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER image_tags_hist_insert AFTER INSERT ON image_tags
    WHEN NEW.model_id = 0 AND NEW.score >= 0 AND {_PRESENT.format(row="NEW")}
    BEGIN
        INSERT INTO tag_histogram (tag_id, model_id, bucket, count)
            VALUES (NEW.tag_id, NEW.model_id, {_BUCKET.format(row="NEW")}, 1)
        ON CONFLICT (tag_id, model_id, bucket) DO UPDATE SET count = count + 1;
    END
    """,
    f"""
    CREATE TRIGGER image_tags_hist_delete AFTER DELETE ON image_tags
    WHEN OLD.model_id = 0 AND OLD.score >= 0 AND {_PRESENT.format(row="OLD")}
    BEGIN
        UPDATE tag_histogram SET count = count - 1
            WHERE tag_id = OLD.tag_id AND model_id = OLD.model_id AND bucket = {_BUCKET.format(row="OLD")};
    END
    """,
    f"""
    CREATE TRIGGER image_tags_hist_update AFTER UPDATE OF score, tag_id, model_id ON image_tags
    WHEN (OLD.model_id = 0 OR NEW.model_id = 0) AND {_PRESENT.format(row="NEW")}
    BEGIN
        UPDATE tag_histogram SET count = count - 1
            WHERE OLD.score >= 0 AND tag_id = OLD.tag_id AND model_id = OLD.model_id
              AND bucket = {_BUCKET.format(row="OLD")};
        INSERT INTO tag_histogram (tag_id, model_id, bucket, count)
            SELECT NEW.tag_id, NEW.model_id, {_BUCKET.format(row="NEW")}, 1 WHERE NEW.score >= 0
        ON CONFLICT (tag_id, model_id, bucket) DO UPDATE SET count = count + 1;
    END
    """,
    f"""CREATE TRIGGER search_log_tag_insert AFTER INSERT ON image_tags WHEN NEW.model_id = 0
    BEGIN {_LOG} (0, NEW.image_id, NEW.tag_id); END""",
    f"""CREATE TRIGGER search_log_tag_delete AFTER DELETE ON image_tags WHEN OLD.model_id = 0
    BEGIN {_LOG} (0, OLD.image_id, OLD.tag_id); END""",
    f"""CREATE TRIGGER search_log_tag_update AFTER UPDATE ON image_tags WHEN OLD.model_id = 0 OR NEW.model_id = 0
    BEGIN
        {_LOG} (0, OLD.image_id, OLD.tag_id);
        {_LOG} (0, NEW.image_id, NEW.tag_id);
    END""",
    # Before an image goes (its rows go with it, by the foreign key): its model rows logged, and all
    # its rows uncounted (the user's rows' own triggers, fired by the cascade, find the image gone).
    """
    CREATE TRIGGER image_scores_forgotten BEFORE DELETE ON images
    BEGIN
        INSERT INTO search_changes (kind, image_id, ref)
            SELECT 0, OLD.id, tag_id FROM image_tags WHERE image_id = OLD.id AND model_id != 0;
        INSERT INTO tag_histogram (tag_id, model_id, bucket, count)
            SELECT tag_id, model_id, CAST(MIN(score, 1.0) * 100 AS INTEGER), -1 FROM image_tags
            WHERE image_id = OLD.id AND score >= 0 AND OLD.status != 'missing'
        ON CONFLICT (tag_id, model_id, bucket) DO UPDATE SET count = count + excluded.count;
    END
    """,
]
SQLITE_TRIGGER_NAMES = [statement.split()[2] for statement in SQLITE_TRIGGERS]

# PostgreSQL: 0006's row function stays; its trigger is split so that a model's rows never call it.
POSTGRESQL_STATEMENTS = [
    "DROP TRIGGER IF EXISTS image_tags_changed ON image_tags",
    "CREATE TRIGGER image_tags_added AFTER INSERT ON image_tags FOR EACH ROW WHEN (NEW.model_id = 0)"
    " EXECUTE FUNCTION jtd_image_tags_changed()",
    "CREATE TRIGGER image_tags_updated AFTER UPDATE ON image_tags FOR EACH ROW"
    " WHEN (OLD.model_id = 0 OR NEW.model_id = 0) EXECUTE FUNCTION jtd_image_tags_changed()",
    "CREATE TRIGGER image_tags_removed AFTER DELETE ON image_tags FOR EACH ROW WHEN (OLD.model_id = 0)"
    " EXECUTE FUNCTION jtd_image_tags_changed()",
    """CREATE OR REPLACE FUNCTION jtd_image_scores_forgotten() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO search_changes (kind, image_id, ref)
    SELECT 0, OLD.id, tag_id FROM image_tags WHERE image_id = OLD.id AND model_id <> 0;
IF OLD.status <> 'missing' THEN
    INSERT INTO tag_histogram (tag_id, model_id, bucket, count)
        SELECT tag_id, model_id, CAST(trunc(least(score, 1.0) * 100) AS SMALLINT), -count(*)
        FROM image_tags WHERE image_id = OLD.id AND score >= 0
        GROUP BY 1, 2, 3
    ON CONFLICT (tag_id, model_id, bucket) DO UPDATE SET count = tag_histogram.count + excluded.count;
END IF;
RETURN OLD;
END
$$""",
    "CREATE TRIGGER image_scores_forgotten BEFORE DELETE ON images FOR EACH ROW"
    " EXECUTE FUNCTION jtd_image_scores_forgotten()",
]


def _temp_store(where: str) -> None:
    """Where SQLite sorts; unchanged where this transaction already holds temporary files (a new
    library made from the first revision: its table is empty anyway)."""
    with contextlib.suppress(OperationalError):
        op.get_bind().exec_driver_sql(f"PRAGMA temp_store={where}")


def _sqlite() -> None:
    op.create_table(
        "image_tags_new",
        sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("model_id", sa.SmallInteger, primary_key=True),
        sa.Column("tag_id", sa.Integer, sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("source", sa.SmallInteger, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sqlite_with_rowid=False,
    )
    # Read the old table in its own order and sort on disk: through the image index it was a random
    # look-up per row (minutes at 200,000 images); sorted in memory, gigabytes at a million.
    _temp_store("FILE")
    op.execute(
        "INSERT INTO image_tags_new (image_id, model_id, tag_id, source, score)"
        " SELECT image_id, model_id, tag_id, source, score FROM image_tags ORDER BY +image_id, model_id, tag_id"
    )
    _temp_store("MEMORY")  # the connection's setting (library.db)
    # Other tables' triggers that read image_tags (0003's images_hist_status) would stop the rename.
    readers = (
        op.get_bind()
        .exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name != 'image_tags'"
            " AND sql LIKE '%image_tags%'"
        )
        .all()
    )
    for name, _ in readers:
        op.execute(f"DROP TRIGGER {name}")
    for (name,) in (
        op.get_bind()
        .exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'image_tags'")
        .all()
    ):
        op.execute(f"DROP TRIGGER {name}")
    op.execute("DROP INDEX ix_image_tags_user")  # the user's rows only: small (its name is the new one's)
    # The old table is retired, not dropped: dropping a gigabyte inside the transaction that wrote
    # its copy held it all in memory (1.3 GB at 284,000 images); library.db drops it once committed.
    op.rename_table("image_tags", RETIRED_TABLE)
    op.rename_table("image_tags_new", "image_tags")
    for _, statement in readers:
        op.execute(statement)
    op.create_index("ix_image_tags_user", "image_tags", ["tag_id", "score"], sqlite_where=sa.text("model_id = 0"))
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


def _postgresql() -> None:
    bind = op.get_bind()
    key = bind.exec_driver_sql(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'image_tags'::regclass AND contype = 'p'"
    ).scalar_one()
    op.execute(f'ALTER TABLE image_tags DROP CONSTRAINT "{key}"')
    op.execute("ALTER TABLE image_tags ADD CONSTRAINT image_tags_pkey PRIMARY KEY (image_id, model_id, tag_id)")
    op.execute("DROP INDEX IF EXISTS ix_image_tags_tag_score")
    op.execute("DROP INDEX IF EXISTS ix_image_tags_image")
    for statement in POSTGRESQL_STATEMENTS:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == dialect.POSTGRESQL:
        _postgresql()
    else:
        _sqlite()
    op.create_table(
        "tag_histogram_changes",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("tag_id", sa.Integer, nullable=False),
        sa.Column("model_id", sa.SmallInteger, nullable=False),
        sa.Column("bucket", sa.SmallInteger, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.add_column("tags", sa.Column("scored", sa.Boolean, nullable=False, server_default=sa.false()))
    op.execute("UPDATE tags SET scored = TRUE WHERE id IN (SELECT DISTINCT tag_id FROM image_tags WHERE model_id != 0)")


def downgrade() -> None:
    raise NotImplementedError("libraries are not downgraded; restore a backup made before upgrading")
