"""Stars, colour labels and picks: the user's marks, and what each file last said of them.

Revision ID: 0008
Revises: 0007

``images.stars`` (-1 rejected, 0-5), ``images.label`` and ``images.pick`` start unset (NULL) on every
existing image: the next scan or export reads them from the files (``metadata.marks``).
``metadata_writes.marks`` holds the file's mark fields as the last sync left them (NULL: never
synced, so what the file holds is taken in). Existing rows are kept as they are; only the sidecar
times the scanner keeps are forgotten, so that the next scan reads every sidecar once more and finds
the stars and labels other programs left there before this revision (their keywords read as before).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("images", sa.Column("stars", sa.SmallInteger()))
    op.add_column("images", sa.Column("label", sa.String(8)))
    op.add_column("images", sa.Column("pick", sa.String(8)))
    op.add_column("metadata_writes", sa.Column("marks", sa.Text()))
    op.execute("UPDATE images SET sidecar_mtime = NULL WHERE sidecar_mtime IS NOT NULL")


def downgrade() -> None:
    raise NotImplementedError("libraries are not downgraded; restore a backup made before upgrading")
