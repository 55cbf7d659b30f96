"""Perceptual hashes of images, for near-duplicate search.

Revision ID: 0005
Revises: 0004

One row per image: its pHash and dHash (64 bits each, stored as signed integers) and those of its
mirror image, computed from the content ``content_hash`` names; a row for other content is stale
and computed again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_hashes",
        sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("phash", sa.BigInteger, nullable=False),
        sa.Column("dhash", sa.BigInteger, nullable=False),
        sa.Column("phash_mirror", sa.BigInteger, nullable=False),
        sa.Column("dhash_mirror", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("image_hashes")
