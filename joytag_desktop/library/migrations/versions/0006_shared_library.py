"""A library shared by several machines: work claims and the workers' reports.

Revision ID: 0006
Revises: 0005

``claims`` holds which worker tags which image with which model until when (the database
server's clock, seconds since the epoch): a killed worker's claims expire and others take them.
``workers`` is each tagging process's last report, for ``status``. On PostgreSQL this revision
also installs the triggers the SQLite revisions created (``library.dialect``) and widens file
sizes to 64 bits.
"""

import sqlalchemy as sa
from alembic import op

from joytag_desktop.library import dialect

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "claims",
        sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("worker", sa.String(32), nullable=False),
        sa.Column("expires", sa.Float, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_claims_worker", "claims", ["worker"])
    op.create_table(
        "workers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("machine", sa.Text, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("device", sa.Text, nullable=False),
        sa.Column("models", sa.Text, nullable=False),
        sa.Column("started", sa.Float, nullable=False),
        sa.Column("seen", sa.Float, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("done", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("rate", sa.Float, nullable=False),
    )
    if bind.dialect.name == dialect.POSTGRESQL:
        op.alter_column("images", "size", type_=sa.BigInteger)
        for statement in dialect.POSTGRESQL_FUNCTIONS + dialect.POSTGRESQL_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("libraries are not downgraded; restore a backup made before upgrading")
