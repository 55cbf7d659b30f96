"""A model's own threshold per tag (JTP-3's published calibration), below the user's choices.

Revision ID: 0010
Revises: 0009

``model_tag_thresholds``: per (model, tag) the threshold the model's authors published for that tag
(above 1: the tag is never output by the model's rule). A new table only: no existing row changes.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_tag_thresholds",
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tag_id", sa.Integer, sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("threshold", sa.Float, nullable=False),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    raise NotImplementedError("libraries are not downgraded; restore a backup made before upgrading")
