"""The user's word on images: tags added or removed by hand, ratings set by hand, keywords imported
from other programs, and the states an undo puts back."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from joytag_desktop.categories import RATINGS
from joytag_desktop.library import score_rows
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

Progress = Callable[[int, int], None]
# Images per transaction of a bulk edit: about 50-150 ms of writing each on a laptop, so tagging and
# other writers wait that long at most, and search shows the edit growing as it lands.
EDIT_CHUNK = 1_000


class Edits:
    """Manual and imported tags, manual ratings: they override every tagger and survive retagging."""

    def __init__(self, database: Database, tags: Tags) -> None:
        self.database = database
        self.tags = tags

    def set_rating(
        self,
        image_ids: Iterable[int],
        rating: str | None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> int:
        """Set images' rating by hand (it then wins over the models'); None: back to the models' rating.

        Written a chunk at a time (see ``EDIT_CHUNK``); a cancelled edit keeps the chunks it wrote."""
        if rating is not None and rating not in RATINGS:
            raise LibraryError(f"unknown rating {rating!r}: use {', '.join(RATINGS)}")
        best = select(func.max(ImageModel.rating)).where(ImageModel.image_id == Image.id).scalar_subquery()
        values = (
            {"rating": best, "rating_manual": False}
            if rating is None
            else {"rating": RATINGS.index(rating), "rating_manual": True}
        )
        changed = 0
        for chunk in self._chunks(list(dict.fromkeys(image_ids)), progress, cancel):
            with self.database.Session.begin() as session:
                changed += rowcount(session.execute(update(Image).where(Image.id.in_(chunk)).values(**values)))
        return changed

    @staticmethod
    def _chunks(ids: list[int], progress: Progress | None, cancel: threading.Event | None) -> Iterator[list[int]]:
        """``ids`` a chunk at a time, each reported once written; stops early when ``cancel`` is set."""
        for start in range(0, len(ids), EDIT_CHUNK):
            if cancel is not None and cancel.is_set():
                return
            yield ids[start : start + EDIT_CHUNK]
            if progress is not None:
                progress(min(start + EDIT_CHUNK, len(ids)), len(ids))

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
        """Put back what ``manual_ratings`` recorded (a chunk at a time, as the edit was written)."""
        by_rating: dict[str | None, list[int]] = {}
        for image_id, rating in states.items():
            by_rating.setdefault(rating, []).append(image_id)
        for rating, ids in by_rating.items():
            self.set_rating(ids, rating)

    def set_manual_tag(
        self,
        image_ids: Iterable[int],
        tag: str,
        present: bool | None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> int:
        """Add (True) or remove (False) ``tag`` by hand on images, or drop the manual override (None).

        A manual edit overrides every model and survives retagging. Written a chunk at a time, each in
        its own short transaction, so tagging and other writers never wait long and search sees each
        chunk as it lands; ``progress(done, total)`` follows the chunks and ``cancel`` stops between
        them (what was written stays: the undo puts it back). Returns how many images changed.
        """
        tag = check_tag_name(tag)
        (tag_id,) = self.tags.ensure_tags([tag])
        changed = 0
        for chunk in self._chunks(list(dict.fromkeys(image_ids)), progress, cancel):
            with self.database.Session.begin() as session:
                changed += _set_manual_chunk(session, chunk, tag_id, present)
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
                        Tag.scored.is_(False),  # not a model's tag
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
        """Put the user's word on ``tag`` back as ``tag_states`` found it (the undo of a tag edit),
        a chunk at a time as the edit itself was written."""
        (tag_id,) = self.tags.ensure_tags([tag])
        for chunk in self._chunks(list(states), None, None):
            with self.database.Session.begin() as session:
                session.execute(
                    delete(ImageTag).where(
                        ImageTag.tag_id == tag_id, ImageTag.model_id == USER, ImageTag.image_id.in_(chunk)
                    )
                )
                rows = [
                    {"image_id": image_id, "tag_id": tag_id, "model_id": USER, "source": state[0], "score": state[1]}
                    for image_id in chunk
                    if (state := states[image_id]) is not None
                ]
                if rows:
                    session.execute(insert(ImageTag), rows)


def _set_manual_chunk(session: Session, ids: list[int], tag_id: int, present: bool | None) -> int:
    """One chunk of ``set_manual_tag``: three set-wise statements at most, whatever its size."""
    where = (ImageTag.tag_id == tag_id, ImageTag.model_id == USER)
    existing = {
        image_id: (source, score)
        for image_id, source, score in session.execute(
            select(ImageTag.image_id, ImageTag.source, ImageTag.score).where(ImageTag.image_id.in_(ids), *where)
        )
    }
    if present is None:
        manual = [image_id for image_id in ids if existing.get(image_id, (None,))[0] == Source.MANUAL]
        if manual:
            session.execute(delete(ImageTag).where(ImageTag.image_id.in_(manual), *where))
        return len(manual)
    score = PRESENT_SCORE if present else REMOVED_SCORE
    new = [image_id for image_id in ids if image_id not in existing]
    differing = [image_id for image_id, state in existing.items() if state != (Source.MANUAL, score)]
    if new:
        score_rows.insert_rows(session, [(i, USER, tag_id, Source.MANUAL, score) for i in new])
    if differing:
        session.execute(
            update(ImageTag).where(ImageTag.image_id.in_(differing), *where).values(source=Source.MANUAL, score=score)
        )
    return len(ids)
