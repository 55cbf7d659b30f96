"""Several taggers in one library: models, per-model scores, tag categories, image ratings.

Revision ID: 0003
Revises: 0002

Every score of the single-model schema is kept: AI rows become rows of the model that tagged the
image (``images.model`` named it by fingerprint), manual and imported rows become the user's rows
(model 0), embeddings move to ``image_models``, and the histogram is rebuilt per model. The
global and per-tag thresholds and the metadata-write records are untouched.
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_OLD_TRIGGERS = ("images_hist_status", "image_tags_hist_update", "image_tags_hist_delete", "image_tags_hist_insert")
_BUCKET = "CAST(MIN({row}.score, 1.0) * 100 AS INTEGER)"
_PRESENT = "COALESCE((SELECT status FROM images WHERE id = {row}.image_id), 'missing') != 'missing'"

# The histogram counts, per (tag, model, 0.01 bucket), the rows with a score >= 0 of present images.
TRIGGERS = [
    f"""
    CREATE TRIGGER image_tags_hist_insert AFTER INSERT ON image_tags
    WHEN NEW.score >= 0 AND {_PRESENT.format(row="NEW")}
    BEGIN
        INSERT INTO tag_histogram (tag_id, model_id, bucket, count)
            VALUES (NEW.tag_id, NEW.model_id, {_BUCKET.format(row="NEW")}, 1)
        ON CONFLICT (tag_id, model_id, bucket) DO UPDATE SET count = count + 1;
    END
    """,
    f"""
    CREATE TRIGGER image_tags_hist_delete AFTER DELETE ON image_tags
    WHEN OLD.score >= 0 AND {_PRESENT.format(row="OLD")}
    BEGIN
        UPDATE tag_histogram SET count = count - 1
            WHERE tag_id = OLD.tag_id AND model_id = OLD.model_id AND bucket = {_BUCKET.format(row="OLD")};
    END
    """,
    f"""
    CREATE TRIGGER image_tags_hist_update AFTER UPDATE OF score, tag_id, model_id ON image_tags
    WHEN {_PRESENT.format(row="NEW")}
    BEGIN
        UPDATE tag_histogram SET count = count - 1
            WHERE OLD.score >= 0 AND tag_id = OLD.tag_id AND model_id = OLD.model_id
              AND bucket = {_BUCKET.format(row="OLD")};
        INSERT INTO tag_histogram (tag_id, model_id, bucket, count)
            SELECT NEW.tag_id, NEW.model_id, {_BUCKET.format(row="NEW")}, 1 WHERE NEW.score >= 0
        ON CONFLICT (tag_id, model_id, bucket) DO UPDATE SET count = count + 1;
    END
    """,
    """
    CREATE TRIGGER images_hist_status AFTER UPDATE OF status ON images
    WHEN (OLD.status = 'missing') != (NEW.status = 'missing')
    BEGIN
        INSERT INTO tag_histogram (tag_id, model_id, bucket, count)
            SELECT tag_id, model_id, CAST(MIN(score, 1.0) * 100 AS INTEGER),
                   CASE WHEN NEW.status = 'missing' THEN -1 ELSE 1 END
            FROM image_tags WHERE image_id = NEW.id AND score >= 0
        ON CONFLICT (tag_id, model_id, bucket) DO UPDATE SET count = count + excluded.count;
    END
    """,
    # "tagged" means every model that tags new files automatically has tagged the image.
    """
    CREATE TRIGGER images_tagged_by_every_auto_model AFTER UPDATE OF status ON images
    WHEN NEW.status = 'tagged' AND EXISTS (
        SELECT 1 FROM models WHERE auto AND NOT EXISTS (
            SELECT 1 FROM image_models WHERE image_id = NEW.id AND model_id = models.id))
    BEGIN
        UPDATE images SET status = 'pending' WHERE id = NEW.id;
    END
    """,
    # New content: every model's tagging of the old content is stale (its scores stay until replaced).
    """
    CREATE TRIGGER images_content_changed AFTER UPDATE OF content_hash ON images
    WHEN OLD.content_hash IS NOT NULL AND OLD.content_hash IS NOT NEW.content_hash
    BEGIN
        DELETE FROM image_models WHERE image_id = NEW.id;
    END
    """,
]

HISTOGRAM_REBUILD = """
    INSERT INTO tag_histogram (tag_id, model_id, bucket, count)
    SELECT it.tag_id, it.model_id, CAST(MIN(it.score, 1.0) * 100 AS INTEGER), COUNT(*)
    FROM image_tags it JOIN images i ON i.id = it.image_id
    WHERE it.score >= 0 AND i.status != 'missing'
    GROUP BY 1, 2, 3
"""


def model_name_and_format(fingerprint: str) -> tuple[str, str]:
    """``images.model`` held ``<folder name>-<12 hex digits>``; the format is guessed from the name
    (the app corrects it when it loads the same weights again)."""
    name = re.sub(r"-[0-9a-f]{12}$", "", fingerprint) or fingerprint
    lowered = name.lower()
    kind = next((k for k in ("camie", "jtp", "wd") if k in lowered), "joytag")
    return name, kind


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in _OLD_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.create_table(
        "models",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("path", sa.Text),
        sa.Column("auto", sa.Boolean, nullable=False),
        sa.Column("searched", sa.Boolean, nullable=False),
        sa.Column("added_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "model_thresholds",
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("category", sa.String(16), primary_key=True),
        sa.Column("threshold", sa.Float, nullable=False),
    )
    op.create_table(
        "image_models",
        sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tagged_at", sa.DateTime, nullable=False),
        sa.Column("rating", sa.SmallInteger),
        sa.Column("embedding", sa.LargeBinary),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_image_models_model", "image_models", ["model_id", "image_id"])

    # One model row per weights that tagged something; the one that tagged most tags new files.
    used = bind.exec_driver_sql(
        "SELECT model, COUNT(*), MIN(tagged_at) FROM images WHERE model IS NOT NULL GROUP BY model ORDER BY 2 DESC"
    ).all()
    taken: set[str] = set()
    for rank, (fingerprint, _count, first) in enumerate(used):
        name, kind = model_name_and_format(fingerprint)
        unique, n = name, 2
        while unique in taken:
            unique, n = f"{name}-{n}", n + 1
        taken.add(unique)
        bind.execute(
            sa.text(
                "INSERT INTO models (name, format, version, fingerprint, path, auto, searched, added_at) "
                "VALUES (:name, :format, '', :fingerprint, NULL, :auto, 1, COALESCE(:first, CURRENT_TIMESTAMP))"
            ),
            {"name": unique, "format": kind, "fingerprint": fingerprint, "auto": rank == 0, "first": first},
        )
    bind.exec_driver_sql(
        "INSERT INTO image_models (image_id, model_id, tagged_at, embedding) "
        "SELECT i.id, m.id, COALESCE(i.tagged_at, i.added_at), i.embedding FROM images i "
        "JOIN models m ON m.fingerprint = i.model WHERE i.status = 'tagged'"
    )

    op.create_table(
        "image_tags_new",
        sa.Column("tag_id", sa.Integer, sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("model_id", sa.SmallInteger, primary_key=True),
        sa.Column("source", sa.SmallInteger, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sqlite_with_rowid=False,
    )
    # The model's opinions (also those a manual edit overrode: they were kept as ai_score) ...
    bind.exec_driver_sql(
        "INSERT INTO image_tags_new (tag_id, image_id, model_id, source, score) "
        "SELECT it.tag_id, it.image_id, m.id, 0, it.ai_score FROM image_tags it "
        "JOIN images i ON i.id = it.image_id JOIN models m ON m.fingerprint = i.model "
        "WHERE it.ai_score IS NOT NULL"
    )
    # ... and the user's word: manual additions and removals, imported keywords.
    bind.exec_driver_sql(
        "INSERT INTO image_tags_new (tag_id, image_id, model_id, source, score) "
        "SELECT tag_id, image_id, 0, source, score FROM image_tags WHERE source != 0"
    )
    op.drop_table("image_tags")
    op.rename_table("image_tags_new", "image_tags")
    op.create_index("ix_image_tags_image", "image_tags", ["image_id"])
    op.create_index("ix_image_tags_tag_score", "image_tags", ["tag_id", "score", "image_id"])
    op.create_index(
        "ix_image_tags_user",
        "image_tags",
        ["tag_id", "score"],
        sqlite_where=sa.text("model_id = 0"),
        postgresql_where=sa.text("model_id = 0"),
    )

    op.add_column("tags", sa.Column("category", sa.String(16), nullable=False, server_default="general"))
    # Tags that only ever came from imported keywords are keywords, not model vocabulary.
    bind.exec_driver_sql(
        "UPDATE tags SET category = 'keyword' WHERE EXISTS (SELECT 1 FROM image_tags WHERE tag_id = tags.id "
        "AND source = 1) AND NOT EXISTS (SELECT 1 FROM image_tags WHERE tag_id = tags.id AND model_id != 0)"
    )
    op.add_column("images", sa.Column("rating", sa.SmallInteger))
    op.add_column("images", sa.Column("rating_manual", sa.Boolean, nullable=False, server_default=sa.false()))
    op.drop_column("images", "embedding")

    op.drop_table("tag_histogram")
    op.create_table(
        "tag_histogram",
        sa.Column("tag_id", sa.Integer, sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("model_id", sa.SmallInteger, primary_key=True),
        sa.Column("bucket", sa.SmallInteger, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sqlite_with_rowid=False,
    )
    op.execute(
        HISTOGRAM_REBUILD.replace(
            "CAST(MIN(it.score, 1.0) * 100 AS INTEGER)", "CAST(trunc(least(it.score, 1.0) * 100) AS INTEGER)"
        )
        if bind.dialect.name != "sqlite"
        else HISTOGRAM_REBUILD
    )
    if bind.dialect.name == "sqlite":  # PostgreSQL's triggers: migration 0006
        for statement in TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("libraries are not downgraded; restore a backup made before upgrading")
