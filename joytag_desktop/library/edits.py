"""The user's word on images: tags added or removed by hand, ratings set by hand, keywords imported
from other programs, and the states an undo puts back."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, exists, func, insert, select, update

from joytag_desktop.categories import RATINGS
from joytag_desktop.library.database import IN_CHUNK, Database, rowcount
from joytag_desktop.library.errors import LibraryError
from joytag_desktop.library.records import TagState
from joytag_desktop.library.schema import (
    PRESENT_SCORE,
    REMOVED_SCORE,
    USER,
    Image,
    ImageModel,
    ImageTag,
    Source,
    Tag,
)
from joytag_desktop.library.tags import Tags, check_tag_name


class Edits:
    """Manual and imported tags, manual ratings: they override every tagger and survive retagging."""

    def __init__(self, database: Database, tags: Tags) -> None:
        self.database = database
        self.tags = tags

    def set_rating(self, image_ids: Iterable[int], rating: str | None) -> int:
        """Set images' rating by hand (it then wins over the models'); None: back to the models' rating."""
        if rating is not None and rating not in RATINGS:
            raise LibraryError(f"unknown rating {rating!r}: use {', '.join(RATINGS)}")
        ids = list(dict.fromkeys(image_ids))
        best = select(func.max(ImageModel.rating)).where(ImageModel.image_id == Image.id).scalar_subquery()
        changed = 0
        with self.database.Session.begin() as session:
            for start in range(0, len(ids), IN_CHUNK):
                chunk = ids[start : start + IN_CHUNK]
                values = (
                    {"rating": best, "rating_manual": False}
                    if rating is None
                    else {"rating": RATINGS.index(rating), "rating_manual": True}
                )
                changed += rowcount(session.execute(update(Image).where(Image.id.in_(chunk)).values(**values)))
        return changed

    def manual_ratings(self, image_ids: Iterable[int]) -> dict[int, str | None]:
        """The rating the user set on each image (None: the models decide), to undo a rating edit."""
        ids = list(dict.fromkeys(image_ids))
        found: dict[int, str | None] = dict.fromkeys(ids)
        with self.database.Session() as session:
            for start in range(0, len(ids), IN_CHUNK):
                rows = session.execute(
                    select(Image.id, Image.rating).where(
                        Image.id.in_(ids[start : start + IN_CHUNK]), Image.rating_manual.is_(True)
                    )
                )
                found.update({image_id: RATINGS[rating] for image_id, rating in rows if rating is not None})
        return found

    def restore_manual_ratings(self, states: dict[int, str | None]) -> None:
        """Put back what ``manual_ratings`` recorded."""
        by_rating: dict[str | None, list[int]] = {}
        for image_id, rating in states.items():
            by_rating.setdefault(rating, []).append(image_id)
        for rating, ids in by_rating.items():
            self.set_rating(ids, rating)

    def set_manual_tag(self, image_ids: Iterable[int], tag: str, present: bool | None) -> int:
        """Add (True) or remove (False) ``tag`` by hand on images, or drop the manual override (None).

        A manual edit overrides every model and survives retagging. Returns how many images changed.
        """
        tag = check_tag_name(tag)
        (tag_id,) = self.tags.ensure_tags([tag])
        ids = list(dict.fromkeys(image_ids))
        changed = 0
        with self.database.Session.begin() as session:
            existing = {
                row.image_id: row
                for row in session.execute(
                    select(ImageTag.image_id, ImageTag.source, ImageTag.score).where(
                        ImageTag.image_id.in_(ids), ImageTag.tag_id == tag_id, ImageTag.model_id == USER
                    )
                )
            }
            where = (ImageTag.tag_id == tag_id, ImageTag.model_id == USER)
            for image_id in ids:
                row = existing.get(image_id)
                if present is None:
                    if row is None or row.source != Source.MANUAL:
                        continue
                    session.execute(delete(ImageTag).where(ImageTag.image_id == image_id, *where))
                    changed += 1
                    continue
                score = PRESENT_SCORE if present else REMOVED_SCORE
                if row is None:
                    session.execute(
                        insert(ImageTag).values(
                            image_id=image_id, tag_id=tag_id, model_id=USER, source=Source.MANUAL, score=score
                        )
                    )
                elif (row.source, row.score) != (Source.MANUAL, score):
                    session.execute(
                        update(ImageTag)
                        .where(ImageTag.image_id == image_id, *where)
                        .values(source=Source.MANUAL, score=score)
                    )
                changed += 1
        return changed

    def set_imported_tags(self, image_id: int, names: Iterable[str]) -> bool:
        """Make ``names`` the image's imported keywords (from sidecars or embedded metadata).

        Keywords no longer there lose their imported row (the models' scores decide again); a
        manual edit of the same tag wins over an import. New tags from keywords are ``keyword``s.
        Returns whether the image's tags changed.
        """
        wanted = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
        tag_ids = dict(zip(wanted, self.tags.ensure_tags(wanted), strict=True))
        with self.database.Session.begin() as session:
            if tag_ids:
                session.execute(
                    update(Tag)
                    .where(
                        Tag.id.in_(list(tag_ids.values())),
                        Tag.category == "general",
                        ~exists().where(ImageTag.tag_id == Tag.id, ImageTag.model_id != USER),
                    )
                    .values(category="keyword")
                )
                self.tags.forget_categories()
            rows = dict(
                session.execute(
                    select(ImageTag.tag_id, ImageTag.source).where(
                        ImageTag.image_id == image_id, ImageTag.model_id == USER
                    )
                ).all()
            )
            keep = set(tag_ids.values())
            gone = [t for t, source in rows.items() if source == Source.IMPORTED and t not in keep]
            if gone:
                session.execute(
                    delete(ImageTag).where(
                        ImageTag.image_id == image_id, ImageTag.model_id == USER, ImageTag.tag_id.in_(gone)
                    )
                )
            new = [t for t in keep if t not in rows]
            if new:
                session.execute(
                    insert(ImageTag),
                    [
                        {"image_id": image_id, "tag_id": t, "model_id": USER, "source": Source.IMPORTED,
                         "score": PRESENT_SCORE}
                        for t in new
                    ],
                )  # fmt: skip
            return bool(gone or new)

    def tag_states(self, image_ids: Iterable[int], tag: str) -> dict[int, TagState]:
        """How the user's word on ``tag`` stands on each image now, so an edit can be undone exactly."""
        ids = list(dict.fromkeys(image_ids))
        tag_id = self.tags.tag_id(tag)
        states: dict[int, TagState] = dict.fromkeys(ids)
        if tag_id is None:
            return states
        with self.database.Session() as session:
            for start in range(0, len(ids), 20_000):
                rows = session.execute(
                    select(ImageTag.image_id, ImageTag.source, ImageTag.score).where(
                        ImageTag.tag_id == tag_id,
                        ImageTag.model_id == USER,
                        ImageTag.image_id.in_(ids[start : start + 20_000]),
                    )
                )
                for image_id, source, score in rows:
                    states[image_id] = (source, score)
        return states

    def restore_tag_states(self, tag: str, states: dict[int, TagState]) -> None:
        """Put the user's word on ``tag`` back as ``tag_states`` found it (the undo of a tag edit)."""
        (tag_id,) = self.tags.ensure_tags([tag])
        ids = list(states)
        with self.database.Session.begin() as session:
            for start in range(0, len(ids), 20_000):
                session.execute(
                    delete(ImageTag).where(
                        ImageTag.tag_id == tag_id,
                        ImageTag.model_id == USER,
                        ImageTag.image_id.in_(ids[start : start + 20_000]),
                    )
                )
            rows = [
                {"image_id": image_id, "tag_id": tag_id, "model_id": USER, "source": s[0], "score": s[1]}
                for image_id, s in states.items()
                if s is not None
            ]
            if rows:
                session.execute(insert(ImageTag), rows)
