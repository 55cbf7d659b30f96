"""Initial library schema: roots, images, tags, scores, thresholds, histogram triggers, settings.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_BUCKET_NEW = "CAST(MIN(NEW.score, 1.0) * 100 AS INTEGER)"
_BUCKET_OLD = "CAST(MIN(OLD.score, 1.0) * 100 AS INTEGER)"
_PRESENT = "COALESCE((SELECT status FROM images WHERE id = {row}.image_id), 'missing') != 'missing'"

HISTOGRAM_TRIGGERS = [
    f"""
    CREATE TRIGGER image_tags_hist_insert AFTER INSERT ON image_tags
    WHEN NEW.score >= 0 AND {_PRESENT.format(row="NEW")}
    BEGIN
        INSERT INTO tag_histogram (tag_id, bucket, count) VALUES (NEW.tag_id, {_BUCKET_NEW}, 1)
        ON CONFLICT (tag_id, bucket) DO UPDATE SET count = count + 1;
    END
    """,
    f"""
    CREATE TRIGGER image_tags_hist_delete AFTER DELETE ON image_tags
    WHEN OLD.score >= 0 AND {_PRESENT.format(row="OLD")}
    BEGIN
        UPDATE tag_histogram SET count = count - 1 WHERE tag_id = OLD.tag_id AND bucket = {_BUCKET_OLD};
    END
    """,
    f"""
    CREATE TRIGGER image_tags_hist_update AFTER UPDATE OF score, tag_id ON image_tags
    WHEN {_PRESENT.format(row="NEW")}
    BEGIN
        UPDATE tag_histogram SET count = count - 1
            WHERE OLD.score >= 0 AND tag_id = OLD.tag_id AND bucket = {_BUCKET_OLD};
        INSERT INTO tag_histogram (tag_id, bucket, count)
            SELECT NEW.tag_id, {_BUCKET_NEW}, 1 WHERE NEW.score >= 0
        ON CONFLICT (tag_id, bucket) DO UPDATE SET count = count + 1;
    END
    """,
    """
    CREATE TRIGGER images_hist_status AFTER UPDATE OF status ON images
    WHEN (OLD.status = 'missing') != (NEW.status = 'missing')
    BEGIN
        INSERT INTO tag_histogram (tag_id, bucket, count)
            SELECT tag_id, CAST(MIN(score, 1.0) * 100 AS INTEGER),
                   CASE WHEN NEW.status = 'missing' THEN -1 ELSE 1 END
            FROM image_tags WHERE image_id = NEW.id AND score >= 0
        ON CONFLICT (tag_id, bucket) DO UPDATE SET count = count + excluded.count;
    END
    """,
]


def upgrade() -> None:
    op.create_table(
        "roots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("path", sa.Text, nullable=False, unique=True),
        sa.Column("watched", sa.Boolean, nullable=False),
        sa.Column("added_at", sa.DateTime, nullable=False),
        sa.Column("last_scan_at", sa.DateTime),
        sa.Column("online", sa.Boolean, nullable=False),
    )
    op.create_table(
        "images",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("root_id", sa.Integer, sa.ForeignKey("roots.id", ondelete="CASCADE"), nullable=False),
        sa.Column("path", sa.Text, nullable=False, unique=True),
        sa.Column("folder", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("ext", sa.String(16), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("mtime", sa.Float, nullable=False),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("width", sa.Integer),
        sa.Column("height", sa.Integer),
        sa.Column("format", sa.String(16)),
        sa.Column("taken_at", sa.DateTime),
        sa.Column("camera_make", sa.Text),
        sa.Column("camera_model", sa.Text),
        sa.Column("orientation", sa.SmallInteger),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("model", sa.Text),
        sa.Column("tagged_at", sa.DateTime),
        sa.Column("embedding", sa.LargeBinary),
        sa.Column("added_at", sa.DateTime, nullable=False),
        sa.Column("sidecar_mtime", sa.Float),
    )
    op.create_index("ix_images_root_folder", "images", ["root_id", "folder"])
    op.create_index("ix_images_content_hash", "images", ["content_hash"])
    op.create_index("ix_images_status", "images", ["status"])
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
    )
    op.create_table(
        "image_tags",
        sa.Column("tag_id", sa.Integer, sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("source", sa.SmallInteger, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("ai_score", sa.Float),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_image_tags_image", "image_tags", ["image_id"])
    op.create_index("ix_image_tags_tag_score", "image_tags", ["tag_id", "score", "image_id"])
    op.create_table(
        "tag_thresholds",
        sa.Column("tag_id", sa.Integer, sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("threshold", sa.Float, nullable=False),
    )
    op.create_table(
        "tag_histogram",
        sa.Column("tag_id", sa.Integer, sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("bucket", sa.SmallInteger, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":  # PostgreSQL's triggers: migration 0006
        for statement in HISTOGRAM_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    for name in ("images_hist_status", "image_tags_hist_update", "image_tags_hist_delete", "image_tags_hist_insert"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for table in ("settings", "tag_histogram", "tag_thresholds", "image_tags", "tags", "images", "roots"):
        op.drop_table(table)
