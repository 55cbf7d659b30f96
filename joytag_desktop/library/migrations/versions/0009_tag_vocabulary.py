"""The user's tag vocabulary: aliases (siblings) and implications (parents), as Hydrus has them.

Revision ID: 0009
Revises: 0008

``tag_siblings``: a tag that is another name of a target tag (one step, no chains);
``tag_parents``: a child tag that implies a parent tag (chains resolve transitively, no cycles).
``model_exclusions``: tags a model is never to apply; ``model_caps``: at most N tags of a category
per image from a model (the highest scores kept).
New tables only: no existing row changes.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tag_siblings",
        sa.Column("tag_id", sa.Integer, sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("target_id", sa.Integer, sa.ForeignKey("tags.id", ondelete="CASCADE"), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_tag_siblings_target", "tag_siblings", ["target_id"])
    op.create_table(
        "tag_parents",
        sa.Column("child_id", sa.Integer, sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_tag_parents_parent", "tag_parents", ["parent_id"])
    op.create_table(
        "model_exclusions",
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tag_id", sa.Integer, sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "model_caps",
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("category", sa.String(16), primary_key=True),
        sa.Column("cap", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("libraries are not downgraded; restore a backup made before upgrading")
