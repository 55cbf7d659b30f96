"""How many images a model still has to tag (pending, without its row in ``image_models``): the
"Tagging N of M" total, and the worker's question at the end of each pass whether any are left.

Counting them directly walks every pending image and looks each up among the model's rows: most of
that walk is wasted in a library tagged by two models, whose pending images mostly wait for the
*other* one (at the end of the first model's pass, all of them). Three exact ways count the same:

- "pending": past the model's highest tagged id (one index look-up; a pass goes in id order) every
  pending image counts, a count along the status index; only those up to it are looked up;
- "tagged": all pending images, less those among the model's rows (few rows: its pass starting,
  or none at all);
- "not pending": all pending images, less all the model's rows, plus those of images no longer
  pending (few of those: its pass ending, its images pending for the next model).

The way is chosen from the pending images up to the model's highest tagged id and from counts of
the other two sets that stop at a quarter and a half of that (choosing costs less than two index
steps per such image; a look-up costs about ten). Each way is one statement, one snapshot of the
library, and gives the direct count's answer: ``image_models`` rows always belong to an image (a
foreign key, enforced on both databases), and statuses other than pending are named by range
(below and above 'pending'), so one added later is not pending, as for the direct count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

FEW = 2_000  # pending images up to the last tagged one that are looked up without choosing a way

_LAST = "(SELECT coalesce(max(image_id), 0) FROM image_models WHERE model_id = :model)"
_TAGGED = "EXISTS (SELECT 1 FROM image_models m WHERE m.image_id = i.id AND m.model_id = :model)"
# Along the status index (both ranges beside 'pending'), the id only checked ("+": SQLite would
# rather walk the whole table by id).
_NOT_PENDING = "(i.status < 'pending' OR i.status > 'pending') AND +i.id <= {last}"
_PENDING = "(SELECT count(*) FROM images WHERE status = 'pending')"

# Three exact counts of the pending images without a row of the model:
WAYS = {
    # past the model's last tagged image, every pending one; up to it, each looked up among its rows
    "pending": f"(SELECT count(*) FROM images i WHERE i.status = 'pending' AND i.id > {_LAST})"
    f" + (SELECT count(*) FROM images i WHERE i.status = 'pending' AND i.id <= {_LAST} AND NOT {_TAGGED})",
    # pending images, less the model's rows whose image is pending
    "tagged": f"{_PENDING} - (SELECT count(*) FROM image_models m JOIN images i ON i.id = m.image_id"
    " WHERE m.model_id = :model AND i.status = 'pending')",
    # pending images, less all the model's rows, plus those of images no longer pending
    "not pending": f"{_PENDING} - (SELECT count(*) FROM image_models WHERE model_id = :model)"
    f" + (SELECT count(*) FROM images i WHERE {_NOT_PENDING.format(last=_LAST)} AND {_TAGGED})",
}
STATEMENTS = {way: text(f"SELECT {count}") for way, count in WAYS.items()}

_LAST_DONE = text(f"SELECT {_LAST}")
_PENDING_BELOW = text("SELECT count(*) FROM images WHERE status = 'pending' AND id <= :last")
_TAGGINGS = text(
    "SELECT count(*) FROM (SELECT 1 FROM image_models WHERE model_id = :model AND image_id <= :last"
    " LIMIT :limit) AS rows_"
)
_NOT_PENDING_BELOW = text(
    f"SELECT count(*) FROM (SELECT 1 FROM images i WHERE {_NOT_PENDING.format(last=':last')} LIMIT :limit) AS rows_"
)


def pending_count(session: Session, model_id: int) -> int:
    """Pending images that ``model_id`` has not tagged: the direct count's answer, from the way
    that looks up fewest rows."""
    return session.execute(STATEMENTS[cheapest_way(session, model_id)], {"model": model_id}).scalar_one()


def cheapest_way(session: Session, model_id: int) -> str:
    """Which of ``WAYS`` looks up fewest rows, from the pending images up to the model's highest
    tagged id (the only ones the "pending" way looks up)."""
    last = session.execute(_LAST_DONE, {"model": model_id}).scalar_one()
    if not last:  # nothing tagged (a pass starting): the pending images, less no rows
        return "tagged"
    pending = session.execute(_PENDING_BELOW, {"last": last}).scalar_one()
    if pending <= FEW:
        return "pending"
    # Rows of the model belong to images up to its last one: at most pending + others of them.
    # With others at most a quarter of pending that way costs under five steps per pending image.
    quarter = pending // 4
    if session.execute(_NOT_PENDING_BELOW, {"last": last, "limit": quarter + 1}).scalar_one() <= quarter:
        return "not pending"
    half = pending // 2  # rows at most half the pending images: one step and half a look-up each
    tagged = session.execute(_TAGGINGS, {"model": model_id, "last": last, "limit": half + 1}).scalar_one()
    return "tagged" if tagged <= half else "pending"
