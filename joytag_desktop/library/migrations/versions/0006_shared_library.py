"""A library shared by several machines: work claims, workers, root identities and mount points.

Revision ID: 0006
Revises: 0005

``claims`` holds which worker tags which image with which model until when (the database
server's clock, seconds since the epoch): a killed worker's claims expire and others take them.
``workers`` is each tagging process's last report, for ``status``. A root gets an id of its own
(``uid``) and each machine its own path for it (``root_mounts``), so the same photo store mounted
at /mnt/nas/photos here and /Volumes/photos there is one root. On PostgreSQL this revision also
installs the triggers the SQLite revisions created (``library.dialect``), widens file sizes to
64 bits and makes paths and names compare byte by byte.
"""

import uuid

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
    op.add_column("roots", sa.Column("uid", sa.String(32)))
    for (root_id,) in bind.exec_driver_sql("SELECT id FROM roots").all():
        bind.execute(sa.text("UPDATE roots SET uid = :uid WHERE id = :id"), {"uid": uuid.uuid4().hex, "id": root_id})
    op.create_index("ix_roots_uid", "roots", ["uid"], unique=True)
    op.create_table(
        "root_mounts",
        sa.Column("root_id", sa.Integer, sa.ForeignKey("roots.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("machine", sa.String(64), primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("online", sa.Boolean, nullable=False),
        sqlite_with_rowid=False,
    )
    if bind.dialect.name == dialect.POSTGRESQL:
        op.alter_column("images", "size", type_=sa.BigInteger)
        # Paths and names compare byte by byte, as on SQLite: path ranges (a folder's files) and
        # prefix searches must not follow a server's language collation.
        for table, column in (("images", "path"), ("images", "folder"), ("images", "name"), ("roots", "path"),
                              ("tags", "name"), ("metadata_writes", "path")):  # fmt: skip
            op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} TYPE TEXT COLLATE "C"')
        for statement in dialect.POSTGRESQL_FUNCTIONS + dialect.POSTGRESQL_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("libraries are not downgraded; restore a backup made before upgrading")
