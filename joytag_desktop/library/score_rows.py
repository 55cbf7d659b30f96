"""The models' score rows of ``image_tags``, written with their bookkeeping once per batch.

Why not triggers: a model stores about a hundred scores per image, and a trigger per row (the
change log, the per-tag histogram) made storing cost ~10 CPU ms and ~2 MB of writes per image
(docs/performance.md). Since migration 0011 the table is keyed by (image, model, tag), the
triggers fire for the user's rows only (``model_id`` 0: few, edited by hand), and whoever writes a
model's rows calls :func:`forget` before deleting them and :func:`note` after inserting them, in
the same transaction: two set-wise statements each, over the images of the whole batch. An
image's rows are then a few neighbouring pages instead of a page per score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import column, delete, func, insert, literal, select, table, union_all, update

from joytag_desktop.library import dialect
from joytag_desktop.library.codes import KIND_SCORE
from joytag_desktop.library.dialect import HistogramBucket, json_ids
from joytag_desktop.library.schema import USER, Image, ImageTag, Status, Tag, TagHistogram, TagHistogramChange

# The log of changes the search index replays (migration 0004).
_CHANGES = table("search_changes", column("kind"), column("image_id"), column("ref"))


def _rows_of(model_id: int, image_ids: Sequence[int], tag_id: int | None) -> list[Any]:
    """The conditions picking one model's rows of ``image_ids`` (of one tag, where given)."""
    if model_id == USER:
        raise ValueError("the user's rows keep their own triggers")
    listed = dialect.listed_ids(json_ids(image_ids))
    conditions = [ImageTag.model_id == model_id, ImageTag.image_id.in_(listed)]
    if tag_id is not None:
        conditions.append(ImageTag.tag_id == tag_id)
    return conditions


def _log_and_count(session: Any, conditions: list[Any], sign: int) -> None:
    """Log each row picked as changed, and append what it adds (``sign``) to the histogram of
    present images, one row per (tag, model, bucket). On PostgreSQL the change-log lock comes first,
    as the triggers take it (log numbers must commit in order; see ``library.dialect``)."""
    dialect.serialize(session, dialect.CHANGE_LOG_LOCK)
    session.execute(
        insert(_CHANGES).from_select(
            ["kind", "image_id", "ref"],
            select(literal(KIND_SCORE), ImageTag.image_id, ImageTag.tag_id).where(*conditions),
        )
    )
    bucket = HistogramBucket(ImageTag.score)
    counted = (
        select(ImageTag.tag_id, ImageTag.model_id, bucket, literal(sign) * func.count())
        .join(Image, Image.id == ImageTag.image_id)
        .where(*conditions, ImageTag.score >= 0, Image.status != Status.MISSING)
        .group_by(ImageTag.tag_id, ImageTag.model_id, bucket)
    )
    session.execute(insert(TagHistogramChange).from_select(["tag_id", "model_id", "bucket", "count"], counted))


def forget(session: Any, model_id: int, image_ids: Sequence[int], tag_id: int | None = None) -> int:
    """Delete one model's rows of ``image_ids`` (of one tag, where given), logging and uncounting
    them first; returns how many went."""
    if not image_ids:
        return 0
    conditions = _rows_of(model_id, image_ids, tag_id)
    _log_and_count(session, conditions, -1)
    result = session.execute(delete(ImageTag).where(*conditions))
    return int(result.rowcount or 0)


def insert_rows(session: Any, rows: Sequence[tuple[int, int, int, int, float]]) -> None:
    """Insert (image, model, tag, source, score) rows on the driver's connection, in the session's
    transaction: the ORM's bulk insert spent ~2 CPU ms per image building a hundred parameter dicts."""
    connection = session.connection()
    mark = "%s" if connection.dialect.name == dialect.POSTGRESQL else "?"
    statement = f"INSERT INTO image_tags (image_id, model_id, tag_id, source, score) VALUES ({', '.join([mark] * 5)})"
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.executemany(statement, rows)
    finally:
        cursor.close()


def note(session: Any, model_id: int, image_ids: Sequence[int]) -> None:
    """Log and count one model's rows of ``image_ids``, just inserted, and mark their tags scored."""
    if not image_ids:
        return
    conditions = _rows_of(model_id, image_ids, None)
    _log_and_count(session, conditions, 1)
    session.execute(
        update(Tag)
        .where(Tag.scored.is_(False), Tag.id.in_(select(ImageTag.tag_id).where(*conditions)))
        .values(scored=True)
    )


def histogram_changes(session: Any) -> int:
    """About how many changes wait to be folded into the histogram (from the sequence's ends)."""
    low, high = session.execute(select(func.min(TagHistogramChange.seq), func.max(TagHistogramChange.seq))).one()
    return 0 if low is None else int(high) - int(low) + 1


def fold_histogram(session: Any) -> None:
    """Add the waiting changes into ``tag_histogram`` and drop them: one pass over the histogram's
    pages for many batches. On PostgreSQL under the change-log lock, so no writer holds changes
    not yet visible here (they are written after the writer's first row, which takes the lock)."""
    dialect.serialize(session, dialect.CHANGE_LOG_LOCK)
    last = session.execute(select(func.max(TagHistogramChange.seq))).scalar()
    if last is None:
        return
    mine = TagHistogramChange.seq <= last
    total = func.sum(TagHistogramChange.count)
    summed = (
        select(TagHistogramChange.tag_id, TagHistogramChange.model_id, TagHistogramChange.bucket, total)
        .where(mine)
        .group_by(TagHistogramChange.tag_id, TagHistogramChange.model_id, TagHistogramChange.bucket)
    )
    name = session.get_bind().dialect.name
    upsert = dialect.insert(TagHistogram, name).from_select(["tag_id", "model_id", "bucket", "count"], summed)
    session.execute(
        upsert.on_conflict_do_update(
            index_elements=["tag_id", "model_id", "bucket"],
            set_={"count": TagHistogram.count + upsert.excluded["count"]},
        )
    )
    session.execute(delete(TagHistogramChange).where(mine))


def histogram_rows() -> Any:
    """(tag_id, model_id, bucket, count) of the histogram and of its changes not yet folded (sum them)."""
    columns = ("tag_id", "model_id", "bucket", "count")
    return union_all(
        select(*(getattr(TagHistogram, c) for c in columns)),
        select(*(getattr(TagHistogramChange, c) for c in columns)),
    ).subquery("histogram")
