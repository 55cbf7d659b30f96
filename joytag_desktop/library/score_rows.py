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

from sqlalchemy import column, delete, func, insert, literal, select, table

from joytag_desktop.library import dialect
from joytag_desktop.library.dialect import HistogramBucket, json_ids
from joytag_desktop.library.schema import USER, Image, ImageTag, Status, TagHistogram

# The log of changes the search index replays (migration 0004; kind 0: a score row of image and tag).
_CHANGES = table("search_changes", column("kind"), column("image_id"), column("ref"))
KIND_SCORE = 0


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
    """Log each row picked as changed, and add ``sign`` per row to the histogram of present images."""
    session.execute(
        insert(_CHANGES).from_select(
            ["kind", "image_id", "ref"],
            select(literal(KIND_SCORE), ImageTag.image_id, ImageTag.tag_id).where(*conditions),
        )
    )
    bucket = HistogramBucket(ImageTag.score)
    counted = (  # one row per key: PostgreSQL's upsert may not touch a row twice in a statement
        select(ImageTag.tag_id, ImageTag.model_id, bucket, literal(sign) * func.count())
        .join(Image, Image.id == ImageTag.image_id)
        .where(*conditions, ImageTag.score >= 0, Image.status != Status.MISSING)
        .group_by(ImageTag.tag_id, ImageTag.model_id, bucket)
    )
    name = session.get_bind().dialect.name
    upsert = dialect.insert(TagHistogram, name).from_select(["tag_id", "model_id", "bucket", "count"], counted)
    session.execute(
        upsert.on_conflict_do_update(
            index_elements=["tag_id", "model_id", "bucket"],
            set_={"count": TagHistogram.count + upsert.excluded["count"]},
        )
    )


def forget(session: Any, model_id: int, image_ids: Sequence[int], tag_id: int | None = None) -> int:
    """Delete one model's rows of ``image_ids`` (of one tag, where given), logging and uncounting
    them first; returns how many went."""
    if not image_ids:
        return 0
    conditions = _rows_of(model_id, image_ids, tag_id)
    _log_and_count(session, conditions, -1)
    result = session.execute(delete(ImageTag).where(*conditions))
    return int(result.rowcount or 0)


def note(session: Any, model_id: int, image_ids: Sequence[int]) -> None:
    """Log and count one model's rows of ``image_ids``, just inserted."""
    if image_ids:
        _log_and_count(session, _rows_of(model_id, image_ids, None), 1)
