"""Undoable library edits: tag additions and removals, resets to the model, thresholds.

Each command records, in the writer thread and just before it changes anything, exactly how
things stood (``Library.tag_states``), so undo puts back manual, imported and model rows as
they were. All edits run on one writer thread, in order: an undo never overtakes its edit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QUndoCommand

from joytag_desktop.gui.background import Background
from joytag_desktop.library import Library
from joytag_desktop.library.records import TagState


class LibraryCommand(QUndoCommand):
    """Runs ``apply``/``revert`` on the writer; ``done(result)`` runs on the GUI thread afterwards."""

    def __init__(
        self,
        text: str,
        writer: Background,
        apply: Callable[[], Any],
        revert: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[Exception], None],
    ) -> None:
        super().__init__(text)
        self._writer, self._apply, self._revert, self._done, self._failed = writer, apply, revert, done, failed

    def redo(self) -> None:
        self._writer.submit(self._apply, self._done, self._failed)

    def undo(self) -> None:
        self._writer.submit(self._revert, self._done, self._failed)


def tag_edit(
    library: Library,
    writer: Background,
    text: str,
    image_ids: list[int],
    names: list[str],
    present: bool | None,
    done: Callable[[Any], None],
    failed: Callable[[Exception], None],
) -> LibraryCommand:
    """Add (True), remove (False) or reset to the model (None) ``names`` on ``image_ids``."""
    before: dict[str, dict[int, TagState]] = {}

    def apply() -> int:
        changed = 0
        for name in names:
            before[name] = library.tag_states(image_ids, name)
            changed += library.set_manual_tag(image_ids, name, present)
        return changed

    def revert() -> int:
        for name, states in before.items():
            library.restore_tag_states(name, states)
        return len(before)

    return LibraryCommand(text, writer, apply, revert, done, failed)


def global_threshold(
    library: Library,
    writer: Background,
    text: str,
    old: float,
    new: float,
    done: Callable[[Any], None],
    failed: Callable[[Exception], None],
) -> LibraryCommand:
    def apply() -> float:
        library.set_threshold(new)
        return new

    def revert() -> float:
        library.set_threshold(old)
        return old

    return LibraryCommand(text, writer, apply, revert, done, failed)


def tag_threshold(
    library: Library,
    writer: Background,
    text: str,
    tag: str,
    new: float | None,
    done: Callable[[Any], None],
    failed: Callable[[Exception], None],
) -> LibraryCommand:
    """Give ``tag`` its own threshold (None: back to the global one)."""
    before: list[float | None] = []

    def apply() -> None:
        before[:] = [library.tag_thresholds().get(tag)]
        library.set_tag_threshold(tag, new)

    def revert() -> None:
        library.set_tag_threshold(tag, before[0] if before else None)

    return LibraryCommand(text, writer, apply, revert, done, failed)


def rating_edit(
    library: Library,
    writer: Background,
    text: str,
    image_ids: list[int],
    rating: str | None,
    done: Callable[[Any], None],
    failed: Callable[[Exception], None],
) -> LibraryCommand:
    """Set the rating of ``image_ids`` by hand (None: the models' rating again)."""
    before: dict[int, str | None] = {}

    def apply() -> int:
        before.update(library.manual_ratings(image_ids))
        return library.set_rating(image_ids, rating)

    def revert() -> int:
        library.restore_manual_ratings(before)
        return len(before)

    return LibraryCommand(text, writer, apply, revert, done, failed)
