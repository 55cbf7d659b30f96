"""A hash of the picture alone: an edit of a file's metadata by another program keeps its taggings.

Revision ID: 0007
Revises: 0006

``images.picture_hash`` is the hash of a file's bytes without its metadata (``joytag_desktop.media.hashing``).
The trigger that drops an image's taggings when its ``content_hash`` changes now keeps them when the
old and the new picture hash are both known and equal. Images indexed before this revision have none
(NULL): the first change of such a file retags it once, as before, and records its picture hash.
"""

import sqlalchemy as sa
from alembic import op

from joytag_desktop.library import dialect

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# 0003's images_content_changed, with the picture condition (SQLite's IS NOT compares NULLs too).
SQLITE_TRIGGER = """
    CREATE TRIGGER images_content_changed AFTER UPDATE OF content_hash ON images
    WHEN OLD.content_hash IS NOT NULL AND OLD.content_hash IS NOT NEW.content_hash
        AND (OLD.picture_hash IS NULL OR OLD.picture_hash IS NOT NEW.picture_hash)
    BEGIN
        DELETE FROM image_models WHERE image_id = NEW.id;
    END
"""


def upgrade() -> None:
    op.add_column("images", sa.Column("picture_hash", sa.String(64)))
    if op.get_bind().dialect.name == dialect.POSTGRESQL:
        op.execute(dialect.IMAGES_UPDATED)  # CREATE OR REPLACE: the images_updated trigger calls it
    else:
        op.execute("DROP TRIGGER IF EXISTS images_content_changed")
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    raise NotImplementedError("libraries are not downgraded; restore a backup made before upgrading")
