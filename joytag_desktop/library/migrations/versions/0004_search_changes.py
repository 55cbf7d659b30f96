"""A change log for the in-memory search index (posting lists).

Revision ID: 0004
Revises: 0003

Every change that can alter a search result appends a row: a score row of an image and tag, an
image row (status, path, date, rating; inserted or deleted), a model's tagging of an image, a
tag's category. Each process's posting lists replay the rows after the stamp they reflect, so
they follow edits made by any process on the same database. ``AUTOINCREMENT`` keeps sequence
numbers from ever going back, also after the log is pruned.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# kind: 0 a score row (ref: the tag), 1 an image row, 2 a model's tagging (ref: the model), 3 a tag's
# category (ref: the tag), 4 an image's path (a new image or a move: its place in path order)
_LOG = "INSERT INTO search_changes (kind, image_id, ref) VALUES"

TRIGGERS = [
    f"CREATE TRIGGER search_log_tag_insert AFTER INSERT ON image_tags BEGIN {_LOG} (0, NEW.image_id, NEW.tag_id); END",
    f"CREATE TRIGGER search_log_tag_delete AFTER DELETE ON image_tags BEGIN {_LOG} (0, OLD.image_id, OLD.tag_id); END",
    f"""CREATE TRIGGER search_log_tag_update AFTER UPDATE ON image_tags BEGIN
        {_LOG} (0, OLD.image_id, OLD.tag_id);
        {_LOG} (0, NEW.image_id, NEW.tag_id);
    END""",
    f"""CREATE TRIGGER search_log_image_insert AFTER INSERT ON images BEGIN
        {_LOG} (1, NEW.id, NULL);
        {_LOG} (4, NEW.id, NULL);
    END""",
    f"CREATE TRIGGER search_log_image_delete AFTER DELETE ON images BEGIN {_LOG} (1, OLD.id, NULL); END",
    f"""CREATE TRIGGER search_log_image_update AFTER UPDATE OF status, rating, taken_at, mtime ON images
    BEGIN {_LOG} (1, NEW.id, NULL); END""",
    f"""CREATE TRIGGER search_log_image_move AFTER UPDATE OF path ON images
    BEGIN {_LOG} (4, NEW.id, NULL); END""",
    f"""CREATE TRIGGER search_log_model_insert AFTER INSERT ON image_models
    BEGIN {_LOG} (2, NEW.image_id, NEW.model_id); END""",
    f"""CREATE TRIGGER search_log_model_delete AFTER DELETE ON image_models
    BEGIN {_LOG} (2, OLD.image_id, OLD.model_id); END""",
    f"""CREATE TRIGGER search_log_category AFTER UPDATE OF category ON tags
    BEGIN {_LOG} (3, NULL, NEW.id); END""",
]
TRIGGER_NAMES = [sql.split()[2] for sql in TRIGGERS]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":  # PostgreSQL: a sequence; its triggers come in 0006
        op.execute(
            "CREATE TABLE search_changes (seq BIGSERIAL PRIMARY KEY, kind SMALLINT NOT NULL,"
            " image_id INTEGER, ref INTEGER)"
        )
        return
    op.execute(
        "CREATE TABLE search_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind SMALLINT NOT NULL,"
        " image_id INTEGER, ref INTEGER)"
    )
    for sql in TRIGGERS:
        op.execute(sql)


def downgrade() -> None:
    for name in TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("search_changes")
