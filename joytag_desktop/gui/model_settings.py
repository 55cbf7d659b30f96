"""Settings → Models: which of the library's models tag new files, which count in searches, and
each model's threshold per tag category (its published defaults, or the library threshold)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDoubleSpinBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from joytag_desktop.categories import THRESHOLD_CATEGORIES
from joytag_desktop.gui.categories import category_label
from joytag_desktop.gui.i18n import number
from joytag_desktop.gui.model_rules_dialog import ModelRulesDialog, RuleValues, apply_model_rules
from joytag_desktop.library.records import ModelInfo

MAX_NAME_WIDTH = 260  # px: a model's name beyond this is cut in the middle (its tooltip has it whole)
MAX_PAGE_WIDTH = 960  # px: the width the Models page asks for at most; beyond, the table scrolls


@dataclass
class ModelChoices:
    """What the page says when saved: auto and searched model names, thresholds (None: library),
    and each model's exclusions and caps."""

    auto: list[str]
    searched: dict[str, bool]
    thresholds: dict[str, dict[str, float | None]]
    rules: dict[str, RuleValues] = field(default_factory=dict)


class ModelsPage(QWidget):
    def __init__(
        self,
        models: list[ModelInfo],
        thresholds: dict[str, dict[str, float]],
        parent: QWidget | None = None,
        rules: dict[str, RuleValues] | None = None,
    ) -> None:
        super().__init__(parent)
        self.models = models
        self.rules = {m.name: (rules or {}).get(m.name, RuleValues()) for m in models}
        self.rule_buttons: dict[str, QPushButton] = {}
        intro = QLabel(
            self.tr(
                "Models that tag new and changed files, and whose scores count in searches. A model "
                "ticked here tags every image it has not tagged yet."
            ),
            wordWrap=True,
        )
        self.table = QTableWidget(len(models), 5 + len(THRESHOLD_CATEGORIES))
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("Model"),
                self.tr("Images"),
                self.tr("Tags new files"),
                self.tr("Counts in searches"),
                self.tr("Never apply, caps"),
                *(category_label(c) for c in THRESHOLD_CATEGORIES),
            ]
        )
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().setVisible(False)
        # A column per category does not fit a dialog: the columns keep their width and the table scrolls sideways,
        # by the pixel (by the column, the last one could not be scrolled fully into view).
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.auto: dict[str, QCheckBox] = {}
        self.searched: dict[str, QCheckBox] = {}
        self.spins: dict[tuple[str, str], QDoubleSpinBox] = {}
        for row, model in enumerate(models):
            name = QTableWidgetItem(model.name)
            name.setFlags(Qt.ItemFlag.ItemIsEnabled)
            name.setToolTip(f"{model.format} {model.version}\n{model.path or ''}".strip())
            self.table.setItem(row, 0, name)
            images = QTableWidgetItem(number(model.images))
            images.setFlags(Qt.ItemFlag.ItemIsEnabled)
            images.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, 1, images)
            self.auto[model.name] = self._checkbox(row, 2, model.auto)
            if not model.path:
                self.auto[model.name].setEnabled(False)
                self.auto[model.name].setToolTip(
                    self.tr("Its folder is unknown: choose it in Tagging → Models… to tag with it")
                )
            self.searched[model.name] = self._checkbox(row, 3, model.searched)
            button = QPushButton()
            button.clicked.connect(partial(self.edit_rules, model.name))
            self.table.setCellWidget(row, 4, button)
            self.rule_buttons[model.name] = button
            self._show_rules(model.name)
            own = thresholds.get(model.name, {})
            for column, category in enumerate(THRESHOLD_CATEGORIES, start=5):
                spin = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.01, decimals=2)
                spin.setSpecialValueText(self.tr("library"))
                spin.setValue(own.get(category, 0.0))
                spin.setToolTip(
                    self.tr(
                        "Lowest {model} score that counts for {category} tags; “library”: the library threshold"
                    ).format(model=model.name, category=category_label(category).lower())
                )
                self.table.setCellWidget(row, column, spin)
                self.spins[(model.name, category)] = spin
        self._size_columns()
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        if not models:
            layout.addWidget(QLabel(self.tr("No model has tagged this library yet.")))

    def _size_columns(self) -> None:
        """Each column as wide as its contents (the spin boxes and check boxes included), the model's
        name at most MAX_NAME_WIDTH (cut in the middle, whole in its tooltip); the user may resize."""
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        self.table.resizeColumnsToContents()
        for column in range(self.table.columnCount()):
            widest = max(
                (
                    widget.sizeHint().width()
                    for row in range(self.table.rowCount())
                    if (widget := self.table.cellWidget(row, column))
                ),
                default=0,
            )
            self.table.setColumnWidth(column, max(self.table.columnWidth(column), widest + 4))
        self.table.setColumnWidth(0, min(self.table.columnWidth(0), MAX_NAME_WIDTH))
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)

    def sizeHint(self) -> QSize:
        """Wide enough for the whole table where the screen allows (the dialog opens at this size)."""
        hint = super().sizeHint()
        frame = 2 * self.table.frameWidth() + self.table.verticalScrollBar().sizeHint().width() + 24
        return QSize(
            max(hint.width(), min(self.table.horizontalHeader().length() + frame, MAX_PAGE_WIDTH)), hint.height()
        )

    def edit_rules(self, name: str) -> None:
        """A model's "Never apply, caps…" button: edit them in a dialog; stored when Settings is saved."""
        dialog = ModelRulesDialog(name, self.rules[name], self)
        self.rules_dialog = dialog
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.rules[name] = dialog.values()
            self._show_rules(name)

    def _show_rules(self, name: str) -> None:
        excluded, caps = self.rules[name].summary()
        button = self.rule_buttons[name]
        if not excluded and not caps:
            button.setText(self.tr("None…"))
        else:
            button.setText(
                self.tr("{tags}, {caps}…").format(
                    tags=self.tr("%n tag(s)", "", excluded), caps=self.tr("%n cap(s)", "", caps)
                )
            )
        button.setToolTip(
            self.tr("Tags {model} never applies, and at most how many tags of a category it gives an image").format(
                model=name
            )
        )

    def _checkbox(self, row: int, column: int, checked: bool) -> QCheckBox:
        box = QCheckBox()
        box.setChecked(checked)
        holder = QWidget()
        inner = QVBoxLayout(holder)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addWidget(box, alignment=Qt.AlignmentFlag.AlignCenter)
        self.table.setCellWidget(row, column, holder)
        return box

    def choices(self) -> ModelChoices:
        return ModelChoices(
            [name for name, box in self.auto.items() if box.isChecked()],
            {name: box.isChecked() for name, box in self.searched.items()},
            {
                model.name: {
                    category: (self.spins[(model.name, category)].value() or None) for category in THRESHOLD_CATEGORIES
                }
                for model in self.models
            },
            dict(self.rules),
        )


def apply_model_choices(library, choices: ModelChoices) -> None:
    """Store what the page says (only what changed, so the queue is not rebuilt for nothing)."""
    current = {m.name: m for m in library.models()}
    if sorted(choices.auto) != sorted(name for name, m in current.items() if m.auto):
        library.set_auto_models(choices.auto)
    for name, searched in choices.searched.items():
        if name in current and current[name].searched != searched:
            library.set_model_searched(name, searched)
    for name, values in choices.rules.items():
        if name in current:
            rules = library.model_rules
            model_id = current[name].id
            before = RuleValues(rules.exclusions(model_id), rules.caps(model_id))
            apply_model_rules(library, model_id, before, values)
    own = library.model_thresholds()
    for name, values in choices.thresholds.items():
        if name not in current:
            continue
        for category, value in values.items():
            before = own.get(name, {}).get(category)
            # The page shows two decimals: a published 0.3456 left alone is not a change to 0.35.
            shown = None if before is None else round(before, 2)
            if shown != (None if value is None else round(value, 2)):
                library.set_model_threshold(name, category, value)
