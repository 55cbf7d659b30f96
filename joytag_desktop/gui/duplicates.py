"""The duplicates window: find groups, see each side by side, choose the copy to keep, tick the
copies to let go and move them to the system trash (never deleted; the library forgets them).

Only byte-identical copies come ticked: the same picture re-encoded and images that look alike are
judgement calls (a burst, a bracketed series, the same photo with another caption), so each card
says how far it is from the kept file and nothing there is ticked until the user ticks it.

Finding (hashing, comparing), thumbnails and the trash all run off the GUI thread; finding shows its
progress and can be cancelled.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from joytag_desktop.gui.background import Background
from joytag_desktop.gui.i18n import number
from joytag_desktop.gui.messages import for_window
from joytag_desktop.library import Library
from joytag_desktop.library.duplicates import (
    DEFAULT_DISTANCE,
    DEFAULT_SIMILARITY,
    DuplicateGroup,
    DuplicateImage,
    Link,
    TrashReport,
    find_duplicates,
    move_to_trash,
)
from joytag_desktop.media.thumbnails import THUMBNAIL_SIZE, thumbnail_for

CARD_WIDTH = 190
SHOWN_GROUPS = 300  # groups laid out at once (a library with thousands shows the first ones; trash, then find again)


class _Progress(QObject):
    changed = Signal(str, int, int)  # stage, done, total; emitted from the finding thread


class _Card(QFrame):
    """One image of a group: its thumbnail and facts, how close it is, keep it or tick it for the trash."""

    def __init__(self, image: DuplicateImage) -> None:
        super().__init__()
        self.image = image
        self.setObjectName("duplicateCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFixedWidth(CARD_WIDTH)
        self.picture = QLabel("…")
        self.picture.setFixedSize(CARD_WIDTH - 14, 150)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.kept = QLabel(self.tr("✔ Kept"))
        self.kept.setStyleSheet("font-weight: bold;")
        self.kept.setToolTip(self.tr("This file stays where it is; the ticked copies of this group go to the trash."))
        self.link = QLabel()
        self.link.setWordWrap(True)
        self.keep = QRadioButton(self.tr("Keep this one"))
        self.keep.setProperty("image_id", image.id)
        self.trash = QCheckBox(self.tr("Move to the trash"))
        self.trash.setProperty("image_id", image.id)


class DuplicatesDialog(QDialog):
    """Find duplicates among the library's images (or the current search results)."""

    finished_search = Signal(int)  # groups found (tests wait for it)
    trashed = Signal(int)  # copies moved to the trash

    def __init__(
        self,
        library: Library,
        background: Background,
        query: str = "",
        on_trashed: Callable[[], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Find duplicates"))
        self.resize(1000, 700)
        self.library, self.background, self.query, self.on_trashed = library, background, query, on_trashed
        self.groups: list[DuplicateGroup] = []
        self.keep_choices: list[QButtonGroup] = []
        self.cards: list[dict[int, _Card]] = []  # per group shown: image id -> its card
        self._cancel: threading.Event | None = None
        self._progress = _Progress(self)
        self._progress.changed.connect(self._show_progress)

        self.exact = QCheckBox(self.tr("Exact copies (the same file content)"))
        self.exact.setChecked(True)
        self.near = QCheckBox(self.tr("The same picture re-encoded, resized, mirrored or slightly cropped"))
        self.near.setChecked(True)
        self.similar = QCheckBox(self.tr("Images that look alike (by the model's embeddings)"))
        self.distance = QSpinBox(minimum=0, maximum=32, value=DEFAULT_DISTANCE)
        self.distance.setToolTip(self.tr("How many of the 64 bits of the perceptual hashes may differ"))
        self.similarity = QDoubleSpinBox(
            minimum=0.5, maximum=1.0, singleStep=0.01, decimals=2, value=DEFAULT_SIMILARITY
        )
        self.keep = QComboBox()
        for key, label in (
            ("best", self.tr("Most pixels, then the oldest")),
            ("largest", self.tr("Largest file")),
            ("oldest", self.tr("Oldest")),
            ("newest", self.tr("Newest")),
            ("shortest-path", self.tr("Shortest path")),
        ):
            self.keep.addItem(label, key)
        self.scope = QCheckBox(self.tr("Only among the current search results"))
        self.scope.setEnabled(bool(query))
        self.find_button = QPushButton(self.tr("Find duplicates"))
        self.find_button.clicked.connect(self.find)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.summary = QLabel(self.tr("Choose what counts as a duplicate, then click Find duplicates."))
        self.summary.setWordWrap(True)
        self.trash_button = QPushButton(self.tr("Move the ticked copies to the trash…"))
        self.trash_button.setEnabled(False)
        self.trash_button.clicked.connect(self.confirm_trash)

        options = QFormLayout()
        options.addRow(self.exact)
        near_row = QHBoxLayout()
        near_row.addWidget(self.near, 1)
        near_row.addWidget(QLabel(self.tr("Bits that may differ")))
        near_row.addWidget(self.distance)
        options.addRow(near_row)
        similar_row = QHBoxLayout()
        similar_row.addWidget(self.similar, 1)
        similar_row.addWidget(QLabel(self.tr("Similarity from")))
        similar_row.addWidget(self.similarity)
        options.addRow(similar_row)
        options.addRow(self.tr("Keep in each group:"), self.keep)
        options.addRow(self.scope)
        buttons = QHBoxLayout()
        buttons.addWidget(self.find_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress, 1)
        self.groups_widget = QWidget()
        self.groups_layout = QVBoxLayout(self.groups_widget)
        self.groups_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.groups_widget)
        bottom = QHBoxLayout()
        bottom.addWidget(self.summary, 1)
        bottom.addWidget(self.trash_button)
        layout = QVBoxLayout(self)
        layout.addLayout(options)
        layout.addLayout(buttons)
        layout.addWidget(scroll, 1)
        layout.addLayout(bottom)

    # --- finding ------------------------------------------------------------------------------

    def kinds(self) -> list[str]:
        return [
            k for k, box in (("exact", self.exact), ("near", self.near), ("similar", self.similar)) if box.isChecked()
        ]

    def find(self) -> None:
        kinds = self.kinds()
        if not kinds:
            self.summary.setText(self.tr("Tick at least one kind of duplicate above."))
            return
        cancel = self._cancel = threading.Event()
        distance, similarity = self.distance.value(), self.similarity.value()
        keep = self.keep.currentData()
        query = self.query if self.scope.isChecked() else None
        signal = self._progress.changed

        def work() -> list[DuplicateGroup]:
            return find_duplicates(
                self.library, kinds, distance, similarity, None, query, keep,
                progress=lambda stage, done, total: signal.emit(stage, done, total), cancel=cancel,
            )  # fmt: skip

        self._busy(True)
        self.summary.setText(self.tr("Looking for duplicates…"))
        self.background.submit(work, lambda groups: self._found(groups, cancel), self._failed)

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    def _busy(self, busy: bool) -> None:
        self.find_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.progress.setVisible(busy)
        self.progress.setRange(0, 0)
        self.trash_button.setEnabled(not busy and bool(self.groups))

    def _show_progress(self, stage: str, done: int, total: int) -> None:
        label = {"hashing": self.tr("Reading images"), "comparing": self.tr("Comparing embeddings")}.get(stage, stage)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{label}: {number(done)} / {number(total)}")

    def _failed(self, exc: Exception) -> None:
        self._busy(False)
        self.summary.setText(for_window(str(exc)))

    def _found(self, groups: list[DuplicateGroup], cancel: threading.Event) -> None:
        self._busy(False)
        if cancel.is_set():
            self.summary.setText(self.tr("Cancelled. Click Find duplicates to start again."))
            return
        self.show_groups(groups)
        self.finished_search.emit(len(groups))

    # --- showing ------------------------------------------------------------------------------

    def show_groups(self, groups: list[DuplicateGroup]) -> None:
        while self.groups_layout.count() > 1:
            item = self.groups_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.groups = groups
        self.keep_choices = []
        self.cards = []
        for position, group in enumerate(groups[:SHOWN_GROUPS], 1):
            self.groups_layout.insertWidget(self.groups_layout.count() - 1, self._group_box(position, group))
        self.trash_button.setEnabled(bool(groups))
        self._update_summary()

    def _group_box(self, number: int, group: DuplicateGroup) -> QGroupBox:
        kind = {
            "exact": self.tr("exact copies"),
            "near": self.tr("the same picture? (judge before ticking)"),
            "similar": self.tr("look alike (similarity from {value:.3f}; judge before ticking)").format(
                value=group.similarity or 0
            ),
        }[group.kind]
        box = QGroupBox(self.tr("Group {number}: {kind}").format(number=number, kind=kind))
        row = QHBoxLayout(box)
        choice = QButtonGroup(box)
        cards: dict[int, _Card] = {}
        for image in group.images:
            card = self._card(image)
            choice.addButton(card.keep)
            card.keep.setChecked(image.id == group.keep)
            # only byte-identical copies of the kept file are ticked for the trash until the user ticks others
            card.trash.setChecked(image.id != group.keep and group.copy_kind(image.id) == "exact")
            card.trash.toggled.connect(lambda *_: self._update_summary())
            cards[image.id] = card
            row.addWidget(card)
        row.addStretch(1)
        self.keep_choices.append(choice)
        self.cards.append(cards)
        self._mark_kept(group, cards, group.keep)
        choice.buttonToggled.connect(lambda button, on: on and self._kept_changed(group, cards, button))
        return box

    def _kept_changed(self, group: DuplicateGroup, cards: dict[int, _Card], button: QRadioButton) -> None:
        """Another file kept: the group's ticks start again from what is byte-identical to it."""
        kept = button.property("image_id")
        for image_id, card in cards.items():
            card.trash.setChecked(image_id != kept and group.copy_kind(image_id, kept) == "exact")
        self._mark_kept(group, cards, kept)
        self._update_summary()

    def _mark_kept(self, group: DuplicateGroup, cards: dict[int, _Card], kept: int) -> None:
        """The kept file is framed, labelled and never ticked; every other card says how close it is."""
        for image_id, card in cards.items():
            is_kept = image_id == kept
            card.kept.setVisible(is_kept)
            if is_kept:
                card.trash.setChecked(False)
            card.trash.setEnabled(not is_kept)
            card.setStyleSheet("QFrame#duplicateCard { border: 2px solid palette(highlight); }" if is_kept else "")
            card.link.setText("" if is_kept else self._link_text(group, image_id, kept))

    def _link_text(self, group: DuplicateGroup, image_id: int, kept: int) -> str:
        found = group.closest(image_id, kept)
        if found is None:
            return ""
        other, link = found
        text = self._distance(link)
        if other == kept:
            return self.tr("{distance} from the kept file").format(distance=text)
        name = Path(next((i.path for i in group.images if i.id == other), "")).name
        return self.tr("{distance} from {name}").format(distance=text, name=name)

    def _distance(self, link: Link) -> str:
        if link.kind == "near":
            return self.tr("{bits} hash bits (of 64)").format(bits=int(link.value or 0))
        if link.kind == "similar":
            return self.tr("similarity {value:.3f}").format(value=link.value or 0)
        return self.tr("the same bytes")

    def _card(self, image: DuplicateImage) -> _Card:
        card = _Card(image)
        layout = QVBoxLayout(card)
        layout.addWidget(card.picture)
        layout.addWidget(card.kept)
        size = f"{image.width} × {image.height}" if image.width and image.height else self.tr("size unknown")
        date = image.date.strftime("%Y-%m-%d %H:%M") if image.date else self.tr("no date")
        details = QLabel(f"{size}\n{image.size / 1e6:.2f} MB  {image.format or ''}\n{date}\n{image.path}")
        details.setWordWrap(True)
        details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        details.setToolTip(image.path)
        layout.addWidget(details)
        layout.addWidget(card.link)
        layout.addWidget(card.keep)
        layout.addWidget(card.trash)
        path, content_hash, picture = image.path, image.content_hash, card.picture

        def load() -> QImage:  # the grid's cached thumbnail
            return QImage(str(thumbnail_for(path, content_hash, THUMBNAIL_SIZE)))

        def show(loaded: QImage) -> None:
            if not loaded.isNull():
                picture.setPixmap(QPixmap.fromImage(loaded).scaled(picture.size(), Qt.AspectRatioMode.KeepAspectRatio))

        self.background.submit(load, show, lambda _exc: picture.setText(self.tr("no preview")))
        return card

    def kept_id(self, index: int) -> int:
        """The image the user keeps in the ``index``-th group shown."""
        checked = self.keep_choices[index].checkedButton()
        return checked.property("image_id") if checked is not None else self.groups[index].keep

    def _ticked(self) -> list[tuple[int, int, list[int]]]:
        """(group index, kept id, ticked copy ids) of each group shown."""
        result = []
        for index, cards in enumerate(self.cards):
            kept = self.kept_id(index)
            result.append((index, kept, [i for i, card in cards.items() if i != kept and card.trash.isChecked()]))
        return result

    def plan(self) -> list[tuple[int, list[int]]]:
        """(kept id, ticked copy ids) of each group shown with something ticked: what ``trash`` takes."""
        return [(kept, ticked) for _, kept, ticked in self._ticked() if ticked]

    def doomed(self) -> list[DuplicateImage]:
        """The copies ticked for the trash, in the groups shown."""
        return [self.cards[index][i].image for index, _, ticked in self._ticked() for i in ticked]

    def _update_summary(self) -> None:
        doomed = self.doomed()
        if not self.groups:
            self.summary.setText(self.tr("No duplicates found."))
            return
        shown = "" if len(self.groups) <= SHOWN_GROUPS else self.tr(" (the first %Ln shown)", "", SHOWN_GROUPS)
        text = self.tr("{groups}{shown}. %Ln copies ({mb} MB) are ticked for the trash.", "", len(doomed)).format(
            groups=self.tr("%Ln group(s)", "", len(self.groups)),
            shown=shown,
            mb=number(sum(i.size for i in doomed) / 1e6, 1),
        )
        if any(group.kind != "exact" for group in self.groups[:SHOWN_GROUPS]):
            text += " " + self.tr("Only exact copies come ticked: judge the other groups and tick what may go.")
        self.summary.setText(text)
        self.trash_button.setEnabled(bool(doomed))

    # --- letting go ---------------------------------------------------------------------------

    def confirm_trash(self) -> None:
        plan = self.plan()
        doomed = self.doomed()
        if not plan:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            self.tr("Move to the trash"),
            self.tr(
                "Move %Ln copies ({mb} MB) to the system trash? They can be restored from there; "
                "the library forgets them. Each is checked again first: one changed since the last scan stays.",
                "",
                len(doomed),
            ).format(mb=number(sum(i.size for i in doomed) / 1e6, 1)),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)  # Enter must not let files go
        if box.exec() == QMessageBox.StandardButton.Yes:
            self.trash(plan)

    def trash(self, plan: list[tuple[int, list[int]]]) -> None:
        """Move each group's ticked copies, checking them (and the kept file) again first."""
        self._busy(True)
        shown = {image.id: image for group in self.groups for image in group.images}
        self.background.submit(lambda: move_to_trash(self.library, plan, shown=shown), self._trashed, self._failed)

    def _trashed(self, report: TrashReport) -> None:
        self._busy(False)
        gone = set(report.moved)
        for index in range(len(self.keep_choices)):  # what stays keeps the user's choice of copy to keep
            self.groups[index].keep = self.kept_id(index)
        groups = []
        for group in self.groups:
            left = [image for image in group.images if image.path not in gone]
            if len(left) > 1:
                ids = {i.id for i in left}
                group.images = left
                group.links = {pair: link for pair, link in group.links.items() if pair[0] in ids and pair[1] in ids}
                if group.keep not in ids:
                    group.keep = left[0].id
                groups.append(group)
        self.show_groups(groups)
        message = self.tr("Moved %Ln copies to the trash.", "", len(report.moved))
        if report.skipped:
            path, reason = report.skipped[0]
            message += " " + self.tr("%Ln left in place (first: {path}: {reason}).", "", len(report.skipped)).format(
                path=path, reason=reason
            )
        if report.failed:
            path, reason = report.failed[0]
            message += " " + self.tr(
                "%Ln could not be moved (first: {path}: {reason}).", "", len(report.failed)
            ).format(path=path, reason=reason)
        self.summary.setText(message)
        self.trashed.emit(len(report.moved))
        if self.on_trashed is not None:
            self.on_trashed()
