"""Settings ▸ Models ▸ a model's "Never apply, caps…": the tags this model never applies (as
wd14-tagger users keep an exclusion list) and at most N tags per category (as monbooru does).

The dialog only edits values; the Settings dialog stores them on the writer with the thresholds
(``apply_model_rules``, through ``library.model_rules``), where an exclusion or a lower cap also
removes the model's scores already stored (they come back by tagging again once lifted).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from joytag_desktop.categories import MODEL_CATEGORIES
from joytag_desktop.gui.categories import category_label
from joytag_desktop.library.errors import LibraryError
from joytag_desktop.library.tags import check_tag_name

NO_CAP = -1  # the spin box's lowest value, shown as "no cap" (0 is a cap: none of that category)
MAX_CAP = 9999


@dataclass
class RuleValues:
    """One model's exclusions (tag names) and caps (category → at most this many tags)."""

    excluded: list[str] = field(default_factory=list)
    caps: dict[str, int] = field(default_factory=dict)

    def summary(self) -> tuple[int, int]:
        return len(self.excluded), len(self.caps)


def parse_tags(text: str) -> tuple[list[str], list[str]]:
    """The tag names typed, one a line (commas also separate), and the lines refused as no tag name."""
    names: list[str] = []
    bad: list[str] = []
    for line in text.splitlines():
        for part in line.split(","):
            if not part.strip():
                continue
            try:
                names.append(check_tag_name(part))
            except LibraryError:
                bad.append(part.strip())
    return list(dict.fromkeys(names)), bad


class ModelRulesDialog(QDialog):
    """Edit one model's exclusions and caps."""

    def __init__(self, model: str, values: RuleValues, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("{model}: tags never applied and caps").format(model=model))
        intro = QLabel(
            self.tr(
                "Tags {model} never applies, one a line, and at most how many tags of each category it "
                "gives an image (its highest scores are kept). Its scores already stored for these tags go "
                "when you save; lifting a rule takes effect when images are tagged again."
            ).format(model=model),
            wordWrap=True,
        )
        self.excluded = QPlainTextEdit("\n".join(values.excluded))
        self.excluded.setPlaceholderText(self.tr("watermark\nsignature"))
        self.error = QLabel(wordWrap=True)
        self.error.hide()
        form = QFormLayout()
        self.caps: dict[str, QSpinBox] = {}
        for category in MODEL_CATEGORIES:
            spin = QSpinBox(minimum=NO_CAP, maximum=MAX_CAP)
            spin.setSpecialValueText(self.tr("no cap"))
            spin.setValue(values.caps.get(category, NO_CAP))
            form.addRow(category_label(category), spin)
            self.caps[category] = spin
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(QLabel(self.tr("Never apply:")))
        layout.addWidget(self.excluded, 1)
        layout.addWidget(self.error)
        layout.addWidget(QLabel(self.tr("At most, per image:")))
        layout.addLayout(form)
        layout.addWidget(buttons)

    def values(self) -> RuleValues:
        names, _ = parse_tags(self.excluded.toPlainText())
        caps = {c: spin.value() for c, spin in self.caps.items() if spin.value() != NO_CAP}
        return RuleValues(names, caps)

    def accept(self) -> None:
        """Refuse a line that is no tag name, saying which, before closing."""
        _, bad = parse_tags(self.excluded.toPlainText())
        if bad:
            self.error.setText(self.tr("Not a tag name: {names}").format(names=", ".join(bad[:5])))
            self.error.show()
            return
        super().accept()


def apply_model_rules(library, model_id: int, before: RuleValues, after: RuleValues) -> int:
    """Store what changed of one model's rules (on the writer); returns the stored scores removed."""
    rules = library.model_rules
    removed = 0
    for name in sorted(set(after.excluded) - set(before.excluded)):
        removed += rules.set_excluded(model_id, name, True)
    for name in sorted(set(before.excluded) - set(after.excluded)):
        rules.set_excluded(model_id, name, False)
    for category in sorted(set(before.caps) | set(after.caps)):
        if before.caps.get(category) != after.caps.get(category):
            removed += rules.set_cap(model_id, category, after.caps.get(category))
    return removed
