"""The tag vocabulary from the tag list: rename, merge into…, delete from all images, alias to…,
implies…, and a tag dragged onto thumbnails. Every change is one undoable step; renames, merges and
deletes touch every image and run as long jobs (progress, Cancel), like the other bulk edits."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMessageBox

from joytag_desktop.gui import undo
from joytag_desktop.gui.context import WindowContext
from joytag_desktop.gui.long_work import Job
from joytag_desktop.library import Library
from joytag_desktop.library.records import TagState
from joytag_desktop.library.renames import ModelTagError
from joytag_desktop.library.vocabulary import Carried

if TYPE_CHECKING:
    from joytag_desktop.gui.vocabulary_window import VocabularyWindow

log = logging.getLogger(__name__)
MESSAGE_MS = 4000


def move_edit(
    library: Library,
    jobs,
    text: str,
    kind: str,
    old: str,
    new: str | None,
    done: Callable[[Any, Job], None],
    failed: Callable[[Exception], None],
) -> undo.BulkCommand:
    """Rename (``kind`` "rename"), merge or delete ``old`` on every image; the undo puts back the
    user's rows of both names on every image the edit covered, and the aliases and implications
    the rename or merge carried to the new name."""
    before: dict[str, dict[int, TagState]] = {}
    carried: list[Carried] = []

    def apply(job: Job) -> int:
        ids = library.renames.affected_images(old)
        before.clear()
        before[old] = library.tag_states(ids, old)
        if new is not None:
            before[new] = library.tag_states(ids, new)
        carried.clear()
        if kind == "delete" or new is None:
            return library.renames.delete(old, job.progress, job.cancel).images
        edit = library.renames.rename if kind == "rename" else library.renames.merge
        report = edit(old, new, job.progress, job.cancel)
        if report.carried is not None:
            carried.append(report.carried)
            for line in report.carried.refused:
                log.warning("not carried to %s: %s", new, line)
        return report.images

    def revert(job: Job) -> int:
        for moved in carried:
            library.vocabulary.uncarry(moved)
        for name in reversed(list(before)):  # the new name first: it may be a new row on each image
            library.restore_tag_states(name, before[name])
        return sum(len(states) for states in before.values())

    return undo.BulkCommand(text, jobs, apply, revert, done, failed)


def relation_edit(
    library: Library,
    writer,
    text: str,
    kind: str,
    left: str,
    right: str,
    done: Callable[[Any], None],
    failed: Callable[[Exception], None],
) -> undo.LibraryCommand:
    """Alias ``left`` to ``right`` (``kind`` "alias") or make ``left`` imply ``right``; the undo
    removes only what this step added."""
    added = [False]

    def apply() -> bool:
        added[0] = False
        if kind == "alias":
            added[0] = library.vocabulary.alias(left, right)
        else:
            added[0] = library.vocabulary.imply(left, right)
        return added[0]

    def revert() -> bool:
        if added[0]:
            if kind == "alias":
                library.vocabulary.unalias(left)
            else:
                library.vocabulary.unimply(left, right)
        return False

    return undo.LibraryCommand(text, writer, apply, revert, done, failed)


class VocabularyController(QObject):
    """Turns the tag list's requests into undoable library edits (dialogs ask for the other name)."""

    changed = Signal()  # the vocabulary or the tags of many images changed: reload counts and results

    def __init__(self, context: WindowContext, selected_ids: Callable[[], list[int]]) -> None:
        super().__init__(context.window)
        self.context, self.library = context, context.library
        self.selected_ids = selected_ids
        self.relations_window: VocabularyWindow | None = None

    def open_window(self) -> None:
        """Edit ▸ Tag aliases and implications…: one window, raised when asked again."""
        from joytag_desktop.gui.vocabulary_window import VocabularyWindow

        if self.relations_window is None:
            self.relations_window = VocabularyWindow(self.context, self.changed.emit)
            self.changed.connect(self.relations_window.reload_if_shown)
        self.relations_window.show()
        self.relations_window.raise_()
        self.relations_window.activateWindow()

    # --- asked from the tag list's menu ---------------------------------------------------------

    def request(self, action: str, tag: str) -> None:
        """The tag list's menu: ask what is needed, then do ``action`` on ``tag``."""
        if action == "delete":
            answer = QMessageBox.question(
                self.context.window,
                self.tr("Delete tag"),
                self.tr("Take “{tag}” off every image? Models' scores stay; Edit ▸ Undo puts it back.").format(tag=tag),
            )
            if answer == QMessageBox.StandardButton.Yes:
                self.delete(tag)
            return
        prompts = {
            "rename": (self.tr("Rename tag"), self.tr("New name for “{tag}” on every image:")),
            "merge": (self.tr("Merge tag"), self.tr("Merge “{tag}” into:")),
            "alias": (self.tr("Alias tag"), self.tr("“{tag}” is another name of:")),
            "imply": (self.tr("Tag implies"), self.tr("Every image with “{tag}” also counts as:")),
        }
        title, label = prompts[action]
        other, ok = QInputDialog.getText(self.context.window, title, label.format(tag=tag), QLineEdit.EchoMode.Normal)
        if ok and other.strip():
            {"rename": self.rename, "merge": self.merge, "alias": self.alias, "imply": self.imply}[action](
                tag, other.strip()
            )

    def rename(self, old: str, new: str) -> None:
        self._move("rename", old, new, self.tr("rename {old} to {new}").format(old=old, new=new))

    def merge(self, old: str, into: str) -> None:
        self._move("merge", old, into, self.tr("merge {old} into {new}").format(old=old, new=into))

    def delete(self, tag: str) -> None:
        self._move("delete", tag, None, self.tr("delete {tag} from every image").format(tag=tag))

    def alias(self, name: str, target: str) -> None:
        self._relate("alias", name, target, self.tr("alias {old} to {new}").format(old=name, new=target))

    def imply(self, child: str, parent: str) -> None:
        self._relate("imply", child, parent, self.tr("{old} implies {new}").format(old=child, new=parent))

    def _move(self, kind: str, old: str, new: str | None, text: str) -> None:
        context = self.context
        context.undo_stack.push(
            move_edit(
                self.library,
                context.jobs,
                text,
                kind,
                old,
                new,
                partial(self._moved, text),
                partial(self._refused, old, text),
            )
        )

    def _refused(self, tag: str, text: str, exc: Exception) -> None:
        """An edit that did not happen leaves no "Undo" for it; a model's own tag is said in the
        window's words, short enough for the status bar (the library's message names the CLI)."""
        stack = self.context.undo_stack
        top = stack.command(stack.index() - 1) if stack.index() > 0 else None
        if top is not None and stack.index() == stack.count() and top.text() == text:
            top.setObsolete(True)
            stack.undo()  # an obsolete command leaves the stack without its undo running
        if not isinstance(exc, ModelTagError):
            self.context.show_error(exc)
            return
        text = self.tr("“{tag}” is a model's own tag: it can only be aliased (Alias to…)").format(tag=tag)
        log.info("%s (%s)", text, exc)
        self.context.status_bar.showMessage(text)

    def _relate(self, kind: str, left: str, right: str, text: str) -> None:
        context = self.context
        context.undo_stack.push(
            relation_edit(
                self.library, context.writer, text, kind, left, right, partial(self._related, text), context.show_error
            )
        )

    def _moved(self, text: str, _: object, job: Job) -> None:
        self._announce(text if not job.cancelled else self.tr("{edit}: stopped part way").format(edit=text))

    def _related(self, text: str, _: object) -> None:
        self._announce(text)

    def _announce(self, text: str) -> None:
        log.info("%s", text)
        self.context.status_bar.showMessage(text, MESSAGE_MS)
        self.changed.emit()

    # --- a tag dropped on the grid --------------------------------------------------------------

    def dropped(self, tag: str, image_id: int) -> None:
        """A tag dragged from the tag list: onto a selected thumbnail (or between them) it goes on
        every selected image; onto another thumbnail, on that image alone."""
        selected = self.selected_ids()
        ids = selected if image_id < 0 or image_id in selected else [image_id]
        if not ids:
            self.context.status_bar.showMessage(self.tr("Drop the tag on a thumbnail or a selection"), MESSAGE_MS)
            return
        context = self.context
        text = self.tr("add {tags} to %Ln image(s)", "", len(ids)).format(tags=tag)
        context.undo_stack.push(
            undo.tag_edit(
                self.library, context.jobs, text, ids, [tag], True, lambda *_: self._announce(text), context.show_error
            )
        )
