"""Renaming, merging and deleting a tag library-wide: the user's rows (manual and imported) move.

Why rows move rather than the ``tags`` row being renamed: tag ids are cached by name in every
process (``Tags``: tags are only ever added), and a model's scores name its own vocabulary, which
the user cannot rename (an alias does that job: ``library.vocabulary``).

What each image ends up with, and why, so that the next export writes it (see
``joytag_desktop.interchange``): the old tag's manual rows are dropped (the app wrote that keyword, so
the export takes it out of the files); its imported rows become manual removals. An imported keyword
came from another program's file, and the house rule is that the app never removes a keyword it did
not write on its own; renaming or deleting it here is the user's explicit word on that keyword, the
same as removing it by hand from each image, which the export already honours (a manual removal is
taken out of the file) and which keeps a re-read of the file from importing it again. The new
name is added by hand, so the export writes it as the app's own keyword.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, insert, literal_column, select, update

from joytag_desktop.library.database import Database
from joytag_desktop.library.edits import EDIT_CHUNK
from joytag_desktop.library.errors import LibraryError
from joytag_desktop.library.schema import PRESENT_SCORE, REMOVED_SCORE, USER, ImageTag, Source, Tag
from joytag_desktop.library.tags import Tags, check_tag_name
from joytag_desktop.library.vocabulary import Carried, Vocabulary

Progress = Callable[[int, int], None]


class ModelTagError(LibraryError):
    """A model's own tag name: it cannot be renamed, merged away or deleted, only aliased."""


@dataclass
class RenameReport:
    images: int = 0  # images whose user rows changed
    cancelled: bool = False
    carried: Carried | None = None  # the aliases and implications moved to the new name


class Renames:
    """Rename, merge and delete tags over every image, a chunk at a time (``EDIT_CHUNK``)."""

    def __init__(self, database: Database, tags: Tags, vocabulary: Vocabulary | None = None) -> None:
        self.database = database
        self.tags = tags
        self.vocabulary = vocabulary

    def is_model_tag(self, tag_id: int) -> bool:
        """Whether a model has scored this tag on some image (it is part of a model's vocabulary)."""
        with self.database.engine.connect() as connection:
            return bool(connection.execute(select(Tag.scored).where(Tag.id == tag_id)).scalar())

    def affected_images(self, tag: str) -> list[int]:
        """The images where the user's word makes ``tag`` present (added by hand or imported)."""
        tag_id = self.tags.tag_id(tag)
        if tag_id is None:
            return []
        with self.database.engine.connect() as connection:
            return list(
                connection.execute(
                    select(ImageTag.image_id)
                    .where(ImageTag.tag_id == tag_id, ImageTag.model_id == literal_column("0"), ImageTag.score > 0)
                    .order_by(ImageTag.image_id)
                ).scalars()
            )

    def _source(self, name: str, verb: str) -> int:
        name = check_tag_name(name)
        tag_id = self.tags.tag_id(name)
        if tag_id is None:
            raise LibraryError(f"unknown tag {name!r}")
        if self.is_model_tag(tag_id):
            raise ModelTagError(
                f"{name} is a model's own tag and cannot be {verb}: alias it instead (tags alias {name} NEW)"
            )
        return tag_id

    def rename(
        self, old: str, new: str, progress: Progress | None = None, cancel: threading.Event | None = None
    ) -> RenameReport:
        """Give ``old`` the name ``new`` on every image; refused when ``new`` is in use (merge then)."""
        new = check_tag_name(new)
        old_id = self._source(old, "renamed")
        new_id = self.tags.tag_id(new)
        if new_id == old_id:
            raise LibraryError("the new name is the old one")
        if new_id is not None and (self.affected_images(new) or self.is_model_tag(new_id)):
            raise LibraryError(f"{new} is already in use: merge {old} into {new} instead")
        return self._move(old_id, new, progress, cancel, check_tag_name(old))

    def merge(
        self, source: str, into: str, progress: Progress | None = None, cancel: threading.Event | None = None
    ) -> RenameReport:
        """Put ``into`` wherever the user has ``source``, then take ``source`` off every image."""
        into = check_tag_name(into)
        source_id = self._source(source, "merged away")
        if self.tags.tag_id(into) == source_id:
            raise LibraryError("a tag cannot be merged into itself")
        return self._move(source_id, into, progress, cancel, check_tag_name(source))

    def delete(self, tag: str, progress: Progress | None = None, cancel: threading.Event | None = None) -> RenameReport:
        """Take ``tag`` off every image (manual and imported; see the module docstring)."""
        return self._move(self._source(tag, "deleted"), None, progress, cancel)

    def _move(
        self,
        old_id: int,
        new: str | None,
        progress: Progress | None,
        cancel: threading.Event | None,
        old_name: str = "",
    ) -> RenameReport:
        """Move the user's rows, then (a rename or merge run to its end) the aliases and
        implications naming the old tag: a user who renames ``cat`` keeps ``kitty`` meaning it."""
        new_id = self.tags.ensure_tags([new])[0] if new is not None else None
        with self.database.engine.connect() as connection:
            ids = list(
                connection.execute(
                    select(ImageTag.image_id)
                    .where(ImageTag.tag_id == old_id, ImageTag.model_id == literal_column("0"), ImageTag.score > 0)
                    .order_by(ImageTag.image_id)
                ).scalars()
            )
        report = RenameReport()
        for start in range(0, len(ids), EDIT_CHUNK):
            if cancel is not None and cancel.is_set():
                report.cancelled = True
                break
            chunk = ids[start : start + EDIT_CHUNK]
            with self.database.Session.begin() as session:
                _move_chunk(session, chunk, old_id, new_id)
            report.images += len(chunk)
            if progress is not None:
                progress(report.images, len(ids))
        if new is not None and old_name and not report.cancelled and self.vocabulary is not None:
            report.carried = self.vocabulary.carry(old_name, new)
        return report


def _move_chunk(session, ids: list[int], old_id: int, new_id: int | None) -> None:
    """One chunk: the old tag's manual rows dropped, its imported rows turned into manual removals,
    and the new tag added by hand where the user's word does not already make it present."""
    user_old = (ImageTag.tag_id == old_id, ImageTag.model_id == USER, ImageTag.image_id.in_(ids))
    session.execute(delete(ImageTag).where(*user_old, ImageTag.source == Source.MANUAL, ImageTag.score > 0))
    session.execute(
        update(ImageTag)
        .where(*user_old, ImageTag.source == Source.IMPORTED)
        .values(source=Source.MANUAL, score=REMOVED_SCORE)
    )
    if new_id is None:
        return
    existing = dict(
        session.execute(
            select(ImageTag.image_id, ImageTag.score).where(
                ImageTag.tag_id == new_id, ImageTag.model_id == USER, ImageTag.image_id.in_(ids)
            )
        ).all()
    )
    removed = [image_id for image_id, score in existing.items() if score <= 0]
    if removed:
        session.execute(
            update(ImageTag)
            .where(ImageTag.tag_id == new_id, ImageTag.model_id == USER, ImageTag.image_id.in_(removed))
            .values(source=Source.MANUAL, score=PRESENT_SCORE)
        )
    fresh = [image_id for image_id in ids if image_id not in existing]
    if fresh:
        session.execute(
            insert(ImageTag),
            [{"image_id": i, "tag_id": new_id, "model_id": USER, "source": Source.MANUAL, "score": PRESENT_SCORE}
             for i in fresh],
        )  # fmt: skip
