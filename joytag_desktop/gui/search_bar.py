"""The search bar: the query line with tag completion, the sort order and its direction.

Completion never rewrites what the user typed: suggestions are shown only for the word under
the cursor as it is now, and Return runs the typed query unless the user moved into the list.
A completed tag ends with a space, ready for the next word; a ``:`` typed right after it takes
that space back, so ``black_hair`` then ``:>0.88`` reads ``black_hair:>0.88``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from PySide6.QtCore import QEvent, QObject, QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QDropEvent, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QLineEdit,
    QToolButton,
    QWidget,
)

from joytag_desktop.gui.i18n import number
from joytag_desktop.library.query import quote_tag
from joytag_desktop.media.imaging import is_image_path

SEARCH_DELAY_MS = 400
NAVIGATION_KEYS = (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown)


def word_at_cursor(text: str, cursor: int) -> str:
    """The tag being typed: the last word before the cursor without a leading - or (."""
    word = text[:cursor].split(" ")[-1]
    return word.lstrip("-(")


def dropped_image(event: QDropEvent) -> str | None:
    """The local image file a drag carries (judged by its name: the GUI thread does no I/O)."""
    mime = event.mimeData()
    urls = [url for url in (mime.urls() if mime is not None else []) if url.isLocalFile()]
    if len(urls) == 1 and is_image_path(urls[0].toLocalFile()):
        return urls[0].toLocalFile()
    return None


def like_term(path: str) -> str:
    """The query term for images like ``path`` (quoted where the path needs it)."""
    return "like:" + quote_tag(path)


class SearchBar(QWidget):
    """Emits ``search_requested(explicit)``: explicit for Return, a completion or a sort change;
    not explicit for the pause after typing (the window keeps its results on a half-typed word)."""

    search_requested = Signal(bool)
    image_dropped = Signal(str)  # an image file dropped on the search field: find images like it

    def __init__(self, complete: Callable[[str, Callable[[list[tuple[str, int]]], None]], None], parent=None) -> None:
        super().__init__(parent)
        self._complete = complete  # (word, callback) -> None; the callback gets (tag, count) rows
        self.line = QLineEdit()
        self.line.setPlaceholderText(
            self.tr(
                "Search: cat outdoors -indoors, cat | dog, *_hair, cat:>0.8, camera:canon, "
                "date:2023-01..2023-06, folder:holidays"
            )
        )
        self.line.setClearButtonEnabled(True)
        self.line.setToolTip(
            self.tr(
                "Tags, fields and dates as in the placeholder. Words that are not tags (a dog on a beach, "
                "一只猫) search by meaning when Return is pressed, with a text model (SigLIP2, Tagging ▸ "
                'Models…); text:"…" does so beside tags, folders and dates.'
            )
        )
        self.completions = QStringListModel(self)
        self.completer = QCompleter(self.completions, self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setWidget(self.line)
        self.completer.activated.connect(self._insert_completion)
        self._popup().installEventFilter(self)
        self.line.installEventFilter(self)  # image files dropped on it
        self._navigated = False  # the user moved into the suggestion list since it opened
        self._completed: tuple[str, int] | None = None  # the text and cursor a completion left
        self.line.textEdited.connect(self._edited)
        self.line.returnPressed.connect(lambda: self.search_requested.emit(True))
        self.timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self.timer.timeout.connect(lambda: self.search_requested.emit(False))

        self.sort_box = QComboBox()
        for key, label in self.sort_labels().items():
            self.sort_box.addItem(label, key)
        self.sort_box.setToolTip(self.tr("Sort order"))
        self.sort_box.activated.connect(lambda _: self.search_requested.emit(True))
        self.direction = QToolButton()
        self.direction.setCheckable(True)
        self.direction.toggled.connect(self._direction_toggled)
        self._direction_toggled(False, emit=False)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.line, 1)
        layout.addWidget(self.sort_box)
        layout.addWidget(self.direction)

    def sort_labels(self) -> dict[str, str]:
        return {
            "path": self.tr("Folder and file name"),
            "name": self.tr("File name"),
            "date": self.tr("Date taken"),
            "added": self.tr("Date added"),
            "size": self.tr("File size"),
            "score": self.tr("Tag score"),
            "similarity": self.tr("Similarity (like: and text: searches)"),
            "camera": self.tr("Camera"),
            "tags": self.tr("Number of tags"),
            "stars": self.tr("Stars"),
        }

    # --- state --------------------------------------------------------------------------------

    def query(self) -> str:
        return self.line.text().strip()

    def set_query(self, text: str) -> None:
        self.hide_suggestions()
        self._completed = None
        self.line.setText(text)

    def sort(self) -> str:
        """The sort key as the library takes it ("-date" for newest first)."""
        key = self.sort_box.currentData() or "path"
        return f"-{key}" if self.direction.isChecked() else key

    def set_sort(self, sort: str) -> None:
        index = self.sort_box.findData(sort.lstrip("-"))
        self.sort_box.setCurrentIndex(max(0, index))
        self.direction.blockSignals(True)
        self.direction.setChecked(sort.startswith("-"))
        self.direction.blockSignals(False)
        self._direction_toggled(sort.startswith("-"), emit=False)

    def _direction_toggled(self, descending: bool, emit: bool = True) -> None:
        self.direction.setText("↓" if descending else "↑")
        self.direction.setToolTip(
            self.tr("Descending (click for ascending)") if descending else self.tr("Ascending (click for descending)")
        )
        if emit:
            self.search_requested.emit(True)

    # --- completion ---------------------------------------------------------------------------

    def _popup(self) -> QAbstractItemView:
        # popup() is typed optional: Qt makes the list once the completer has a widget, given in __init__.
        return cast(QAbstractItemView, self.completer.popup())

    def hide_suggestions(self) -> None:
        self._popup().hide()
        self._navigated = False

    def _edited(self, text: str) -> None:
        text = self._join_qualifier(text)
        self.timer.start()
        self.hide_suggestions()  # what is shown belongs to the previous word
        word = word_at_cursor(text, self.line.cursorPosition())
        if not word or ":" in word:
            return

        def show(rows: list[tuple[str, int]]) -> None:
            if word_at_cursor(self.line.text(), self.line.cursorPosition()) != word or not rows:
                return  # typed on meanwhile: stale suggestions are never shown
            if not self.line.hasFocus():
                return
            self.completions.setStringList([f"{quote_tag(name)}  ({number(count)})" for name, count in rows])
            self._navigated = False
            self.completer.complete()
            self._popup().setCurrentIndex(self.completer.completionModel().index(-1, 0))

        self._complete(word, show)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._popup():
            if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
                key = event.key()
                if key in NAVIGATION_KEYS:
                    self._navigated = True
                elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not self._navigated:
                    # Return without choosing a suggestion runs the query as typed.
                    self.hide_suggestions()
                    self.line.returnPressed.emit()
                    return True
            elif event.type() == QEvent.Type.MouseButtonPress:
                self._navigated = True
        elif (
            watched is self.line
            and event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop)
            and isinstance(event, QDropEvent)  # drag enter and move events are drop events too
        ):
            image = dropped_image(event)
            if image is not None:
                event.acceptProposedAction()
                if event.type() == QEvent.Type.Drop:
                    self.image_dropped.emit(image)
                return True
        return super().eventFilter(watched, event)

    def _insert_completion(self, text: str) -> None:
        tag = text.rsplit("  (", 1)[0]
        full = self.line.text()
        cursor = self.line.cursorPosition()
        before, after = full[:cursor], full[cursor:]
        head, _, word = before.rpartition(" ")
        prefix = word[: len(word) - len(word.lstrip("-("))]
        new_before = (head + " " if head else "") + prefix + tag + " "
        self.line.setText(new_before + after.lstrip())
        self.line.setCursorPosition(len(new_before))
        self._completed = (self.line.text(), len(new_before))
        self._navigated = False
        self.timer.stop()
        self.search_requested.emit(True)

    def _join_qualifier(self, text: str) -> str:
        """``text`` with the space a completion added taken back when what was typed right after it
        starts with ``:`` (a score qualifier belongs to the tag); any other edit keeps the space."""
        completed, self._completed = self._completed, None
        if completed is None:
            return text
        before, cursor = completed
        typed = text[cursor : cursor + len(text) - len(before)]
        if not typed.startswith(":") or text != before[:cursor] + typed + before[cursor:]:
            return text
        joined = before[: cursor - 1] + typed + before[cursor:]
        self.line.setText(joined)
        self.line.setCursorPosition(cursor - 1 + len(typed))
        return joined

    def word_in_progress(self) -> bool:
        """The user is in the middle of a word (no space after it yet)."""
        text = self.line.text()
        cursor = self.line.cursorPosition()
        return bool(word_at_cursor(text, cursor)) and (cursor == len(text) or text[cursor] == " ")
