"""The user's marks on images: stars (-1 rejected to 5), a colour label, a pick (``metadata.marks``).

Set by hand a chunk at a time (as ``library.edits`` sets tags: progress, Cancel, search sees the edit
grow), taken in from files another program changed, and put back by an undo. Also keeps, per image
and file, the mark fields as the last sync left them, which tells another program's change from ours.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable

from sqlalchemy import insert, select, update

from joytag_desktop.library.database import IN_CHUNK, Database, now, rowcount
from joytag_desktop.library.edits import Edits, Progress
from joytag_desktop.library.errors import LibraryError
from joytag_desktop.library.schema import Image, MetadataWrite
from joytag_desktop.metadata.marks import MARKS_NAMES, MarkError, Marks, check_label, check_pick, check_stars

CHECKS = {"stars": check_stars, "label": check_label, "pick": check_pick}
COLUMNS = {"stars": Image.stars, "label": Image.label, "pick": Image.pick}


class Marking:
    """Stars, labels and picks of images, and the files' last-synced mark fields."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @staticmethod
    def check(mark: str, value: object) -> object:
        """The value as stored (label and pick names normalised). Raises LibraryError."""
        if mark not in CHECKS:
            raise LibraryError(f"unknown mark {mark!r}: use {', '.join(MARKS_NAMES)}")
        try:
            return CHECKS[mark](value)  # type: ignore[operator]
        except MarkError as exc:
            raise LibraryError(str(exc)) from None

    def set_mark(
        self,
        image_ids: Iterable[int],
        mark: str,
        value: object,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> int:
        """Set one mark (``stars``, ``label``, ``pick``) of images; None unsets it. Written a chunk at
        a time; a cancelled edit keeps the chunks it wrote. Returns how many images changed."""
        value = self.check(mark, value)
        column = COLUMNS[mark]
        changed = 0
        for chunk in Edits._chunks(list(dict.fromkeys(image_ids)), progress, cancel):
            differs = column.is_not(None) if value is None else (column.is_(None) | (column != value))
            with self.database.Session.begin() as session:
                statement = update(Image).where(Image.id.in_(chunk), differs).values({mark: value})
                changed += rowcount(session.execute(statement))
        return changed

    def marks(self, image_ids: Iterable[int]) -> dict[int, Marks]:
        """Each image's marks (for display, and for an undo to put back)."""
        ids = list(dict.fromkeys(image_ids))
        found: dict[int, Marks] = {}
        with self.database.Session() as session:
            for start in range(0, len(ids), IN_CHUNK):
                rows = session.execute(
                    select(Image.id, Image.stars, Image.label, Image.pick).where(
                        Image.id.in_(ids[start : start + IN_CHUNK])
                    )
                )
                found.update({row.id: Marks(row.stars, row.label, row.pick) for row in rows})
        return found

    def restore_marks(self, states: dict[int, Marks], mark: str | None = None) -> None:
        """Put back what ``marks`` recorded (only ``mark`` when given), grouped by value."""
        for name in (mark,) if mark else MARKS_NAMES:
            by_value: dict[object, list[int]] = {}
            for image_id, marks in states.items():
                by_value.setdefault(marks.get(name), []).append(image_id)
            for value, ids in by_value.items():
                self.set_mark(ids, name, value)

    def take_in(self, image_id: int, changes: dict[str, object]) -> bool:
        """Marks another program changed in a file (``metadata.marks.changes_since``)."""
        values = {mark: self.check(mark, value) for mark, value in changes.items()}
        if not values:
            return False
        with self.database.Session.begin() as session:
            return rowcount(session.execute(update(Image).where(Image.id == image_id).values(values))) > 0

    # --- what each file said when last synced ----------------------------------------------------

    def snapshot(self, image_id: int, target: str) -> dict[str, str] | None:
        """The file's mark fields after the last sync (None: never synced)."""
        with self.database.Session() as session:
            text = session.scalar(
                select(MetadataWrite.marks).where(MetadataWrite.image_id == image_id, MetadataWrite.target == target)
            )
        try:
            data = json.loads(text) if text else None
        except ValueError:
            return None
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else None

    def save_snapshot(self, image_id: int, target: str, path: str, raw: dict[str, str]) -> None:
        """Record the file's mark fields after a sync (the keyword record of the file is kept)."""
        text = json.dumps(raw, ensure_ascii=False, sort_keys=True)
        with self.database.Session.begin() as session:
            done = session.execute(
                update(MetadataWrite)
                .where(MetadataWrite.image_id == image_id, MetadataWrite.target == target)
                .values(marks=text)
            )
            if not rowcount(done):
                session.execute(
                    insert(MetadataWrite).values(
                        image_id=image_id, target=target, path=path, keywords="null", marks=text, written_at=now()
                    )
                )
