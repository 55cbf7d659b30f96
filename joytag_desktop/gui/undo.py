"""Undoable library edits: tag additions and removals, resets to the model, thresholds, marks.

Each command records, in the writer thread and just before it changes anything, exactly how
things stood (``Library.tag_states``), so undo puts back manual, imported and model rows as
they were. All edits run on one writer thread, in order: an undo never overtakes its edit.
Edits of many images run as long jobs (``long_work``): progress in the status bar, and a Cancel
that stops between chunks, keeping what was written (the undo puts that back too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QUndoCommand

from joytag_desktop.gui.background import Background
from joytag_desktop.gui.i18n import number
from joytag_desktop.gui.long_work import Job, LongWork
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


class BulkCommand(QUndoCommand):
    """A library edit of many images: ``apply(job)``/``revert(job)`` run as long jobs; ``done(result, job)``
    runs on the GUI thread afterwards (``job.cancelled`` says whether the user stopped it)."""

    def __init__(
        self,
        text: str,
        jobs: LongWork,
        apply: Callable[[Job], Any],
        revert: Callable[[Job], Any],
        done: Callable[[Any, Job], None],
        failed: Callable[[Exception], None],
    ) -> None:
        super().__init__(text)
        self._jobs, self._apply, self._revert, self._done, self._failed = jobs, apply, revert, done, failed

    def redo(self) -> None:
        self._jobs.submit(self.text(), self._apply, self._applied, self._failed)

    def _applied(self, result: Any, job: Job) -> None:
        if job.cancelled:  # the undo stack names what the edit now is: the part that was written
            self.setText(
                QCoreApplication.translate("undo", "{edit} (stopped after {done} of {total})").format(
                    edit=self.text(), done=number(job.done), total=number(job.total)
                )
            )
        self._done(result, job)

    def undo(self) -> None:
        # An undo runs to its end: half an undo would leave neither the edit nor the state before it.
        title = QCoreApplication.translate("undo", "Undo {edit}").format(edit=self.text())
        self._jobs.submit(title, self._revert, self._done, self._failed, cancellable=False)


def tag_edit(
    library: Library,
    jobs: LongWork,
    text: str,
    image_ids: list[int],
    names: list[str],
    present: bool | None,
    done: Callable[[Any, Job], None],
    failed: Callable[[Exception], None],
) -> BulkCommand:
    """Add (True), remove (False) or reset to the model (None) ``names`` on ``image_ids``."""
    before: dict[str, dict[int, TagState]] = {}
    # What the edit covers: each name on every image, or after a stopped run what that run wrote
    # (chunks land in order), so a redo repeats what the undo took back, no more.
    targets: list[tuple[str, list[int]]] = [(name, image_ids) for name in names]

    def apply(job: Job) -> int:
        before.clear()
        total = sum(len(ids) for _, ids in targets)
        changed = offset = 0
        written: list[tuple[str, list[int]]] = []
        for name, ids in targets:
            if job.cancel.is_set():
                break
            before[name] = library.tag_states(ids, name)
            reached = [0]

            def progress(done: int, _: int, offset: int = offset, reached: list[int] = reached) -> None:
                reached[0] = done
                job.progress(offset + done, total)

            changed += library.set_manual_tag(ids, name, present, progress, job.cancel)
            written.append((name, ids[: reached[0]]))
            offset += len(ids)
        if job.cancelled:
            targets[:] = [(name, ids) for name, ids in written if ids]
        return changed

    def revert(job: Job) -> int:
        total = sum(len(states) for states in before.values())
        done = 0
        for name, states in before.items():
            library.restore_tag_states(name, states)
            done += len(states)
            job.progress(done, total)
        return len(before)

    return BulkCommand(text, jobs, apply, revert, done, failed)


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
    jobs: LongWork,
    text: str,
    image_ids: list[int],
    rating: str | None,
    done: Callable[[Any, Job], None],
    failed: Callable[[Exception], None],
) -> BulkCommand:
    """Set the rating of ``image_ids`` by hand (None: the models' rating again)."""
    before: dict[int, str | None] = {}
    targets = list(image_ids)  # after a stopped run: what it wrote (see ``tag_edit``)

    def apply(job: Job) -> int:
        before.clear()
        before.update(library.manual_ratings(targets))
        reached = [0]

        def progress(done: int, total: int) -> None:
            reached[0] = done
            job.progress(done, total)

        changed = library.set_rating(targets, rating, progress, job.cancel)
        if job.cancelled:
            targets[:] = targets[: reached[0]]
        return changed

    def revert(job: Job) -> int:
        library.restore_manual_ratings(before)
        return len(before)

    return BulkCommand(text, jobs, apply, revert, done, failed)


def mark_edit(
    library: Library,
    jobs: LongWork,
    text: str,
    image_ids: list[int],
    mark: str,
    value: object,
    done: Callable[[Any, Job], None],
    failed: Callable[[Exception], None],
) -> BulkCommand:
    """Set one mark (stars, label, pick) of ``image_ids``; undo puts back each image's own value."""
    before: dict = {}
    targets = list(image_ids)  # after a stopped run: what it wrote (see ``tag_edit``)

    def apply(job: Job) -> int:
        before.clear()
        before.update(library.marks(targets))
        reached = [0]

        def progress(done: int, total: int) -> None:
            reached[0] = done
            job.progress(done, total)

        changed = library.set_mark(targets, mark, value, progress, job.cancel)
        if job.cancelled:
            targets[:] = targets[: reached[0]]
        return changed

    def revert(job: Job) -> int:
        library.restore_marks(before, mark)
        return len(before)

    return BulkCommand(text, jobs, apply, revert, done, failed)
