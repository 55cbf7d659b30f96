"""Per model: tags never to apply (an exclusion list, as wd14-tagger users keep) and a cap per
category (as monbooru: at most N character tags per image, the highest scores kept).

Why applied when results are stored rather than when they are read: the stored rows are what every
reader sees (the posting lists, SQL, the histogram behind the counts, exports), so search, counts
and export agree by construction; a cap depends on an image's other tags, which no per-row threshold
can express. Keeping the N highest stored scores then filtering by a threshold leaves the N highest
of those above it, the same as capping after the threshold. A new exclusion or a lower cap also
trims the rows already stored; lifting one takes effect as images are tagged again (``tag --retag``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select

from joytag_desktop.categories import CATEGORIES
from joytag_desktop.library import dialect, score_rows
from joytag_desktop.library.database import Database
from joytag_desktop.library.errors import LibraryError
from joytag_desktop.library.schema import ImageTag, ModelCap, ModelExclusion, Tag
from joytag_desktop.library.tags import Tags, check_tag_name

if TYPE_CHECKING:
    import numpy as np


FORGET_CHUNK = 5_000  # images per transaction when an exclusion removes stored rows


class ModelRules:
    """Exclusions and caps, per model, kept in the library and applied to every batch stored."""

    def __init__(self, database: Database, tags: Tags) -> None:
        self.database = database
        self.tags = tags

    def exclusions(self, model_id: int) -> list[str]:
        statement = select(Tag.name).join(ModelExclusion, ModelExclusion.tag_id == Tag.id)
        with self.database.engine.connect() as connection:
            return list(
                connection.execute(statement.where(ModelExclusion.model_id == model_id).order_by(Tag.name)).scalars()
            )

    def caps(self, model_id: int) -> dict[str, int]:
        with self.database.engine.connect() as connection:
            rows = connection.execute(select(ModelCap.category, ModelCap.cap).where(ModelCap.model_id == model_id))
            return {category: int(cap) for category, cap in rows}

    def set_excluded(self, model_id: int, tag: str, excluded: bool) -> int:
        """Exclude ``tag`` from a model (its stored scores go now) or allow it again; returns the
        rows removed.

        The exclusion is committed first (a batch stored from then on leaves the tag out); the rows
        already stored are then found without holding the writer (a model's rows of one tag are
        spread over the whole table) and removed a chunk at a time."""
        (tag_id,) = self.tags.ensure_tags([check_tag_name(tag)])
        with self.database.Session.begin() as session:
            if not excluded:
                session.execute(
                    delete(ModelExclusion).where(ModelExclusion.model_id == model_id, ModelExclusion.tag_id == tag_id)
                )
                return 0
            session.execute(
                dialect.insert(ModelExclusion, self.database.engine.dialect.name).on_conflict_do_nothing(
                    index_elements=["model_id", "tag_id"]
                ),
                [{"model_id": model_id, "tag_id": tag_id}],
            )
        with self.database.engine.connect() as connection:
            scored = list(
                connection.execute(
                    select(ImageTag.image_id).where(ImageTag.model_id == model_id, ImageTag.tag_id == tag_id)
                ).scalars()
            )
        removed = 0
        for start in range(0, len(scored), FORGET_CHUNK):
            with self.database.Session.begin() as session:
                removed += score_rows.forget(session, model_id, scored[start : start + FORGET_CHUNK], tag_id)
        return removed

    def set_cap(self, model_id: int, category: str, cap: int | None) -> int:
        """At most ``cap`` tags of ``category`` per image from this model (None: no cap); the rows
        above the cap already stored go now. Returns the rows removed."""
        if category not in CATEGORIES:
            raise LibraryError(f"unknown category {category!r}: use {', '.join(CATEGORIES)}")
        if cap is not None and cap < 0:
            raise LibraryError("a cap is a number of tags, 0 or more")
        with self.database.Session.begin() as session:
            session.execute(delete(ModelCap).where(ModelCap.model_id == model_id, ModelCap.category == category))
            if cap is None:
                return 0
            session.add(ModelCap(model_id=model_id, category=category, cap=cap))
            session.flush()
            rank = (
                func.row_number()
                .over(partition_by=ImageTag.image_id, order_by=(ImageTag.score.desc(), ImageTag.tag_id))
                .label("rank")
            )
            ranked = (
                select(ImageTag.image_id, ImageTag.tag_id, rank)
                .join(Tag, Tag.id == ImageTag.tag_id)
                .where(ImageTag.model_id == model_id, Tag.category == category)
                .subquery()
            )
            over: dict[int, list[int]] = {}
            for image_id, tag_id in session.execute(
                select(ranked.c.image_id, ranked.c.tag_id).where(ranked.c.rank > cap)
            ):
                over.setdefault(tag_id, []).append(image_id)
            return sum(score_rows.forget(session, model_id, ids, tag_id) for tag_id, ids in over.items())

    def keep(self, model_id: int, tag_ids: np.ndarray, categories: Sequence[str] | None) -> Kept:
        """What a batch of this model keeps: the tag positions allowed, and per capped category
        its positions and cap (read once per batch)."""
        import numpy as np

        allowed = np.ones(len(tag_ids), dtype=bool)
        with self.database.engine.connect() as connection:
            excluded = set(
                connection.execute(select(ModelExclusion.tag_id).where(ModelExclusion.model_id == model_id)).scalars()
            )
        if excluded:
            allowed &= ~np.isin(tag_ids, np.fromiter(excluded, dtype=np.int64))
        caps = self.caps(model_id)
        capped: list[tuple[np.ndarray, int]] = []
        if caps:
            names = np.asarray(list(categories) if categories is not None else ["general"] * len(tag_ids))
            capped = [(np.flatnonzero(names == category), cap) for category, cap in caps.items()]
        return Kept(allowed, capped)


class Kept:
    """One batch's exclusions and caps, applied to each image's scores (``positions``)."""

    def __init__(self, allowed: np.ndarray, capped: list[tuple[np.ndarray, int]]) -> None:
        self.allowed, self.capped = allowed, capped

    def positions(self, scores: np.ndarray, floor: float | np.ndarray) -> np.ndarray:
        """The positions of ``scores`` to store: at or above the floor (one, or one per tag), not
        excluded, within caps."""
        import numpy as np

        chosen = (scores >= floor) & self.allowed
        for positions, cap in self.capped:
            inside = positions[chosen[positions]]
            if len(inside) > cap:
                order = np.argsort(-scores[inside], kind="stable")
                chosen[inside[order[cap:]]] = False
        return np.flatnonzero(chosen)
