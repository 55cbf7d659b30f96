"""The threshold presets as the window names them, for every combo box that offers them.

One place decides which preset a threshold is: thresholds are stored as floats and shown with
two decimals, so 0.4 read back as 0.4000000001 (or typed as 0.40) is still "Balanced".
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QLocale
from PySide6.QtWidgets import QComboBox

from joytag_desktop.library.thresholds import PRESETS

DECIMALS = 2  # as the threshold slider and spin boxes show it


def preset_label(key: str) -> str:
    labels = {
        "high-precision": QCoreApplication.translate("presets", "High precision"),
        "balanced": QCoreApplication.translate("presets", "Balanced"),
        "high-recall": QCoreApplication.translate("presets", "High recall"),
    }
    return labels.get(key, key)


def preset_for(value: float) -> str:
    """The preset whose threshold ``value`` is, to the decimals shown, or "" (custom)."""
    for key, threshold in PRESETS.items():
        if round(threshold, DECIMALS) == round(value, DECIMALS):
            return key
    return ""


def fill_presets(combo: QComboBox) -> None:
    """ "Custom" (data "") and each preset as "Balanced (0.4)" (data: its key)."""
    combo.addItem(QCoreApplication.translate("presets", "Custom"), "")
    for key, threshold in PRESETS.items():
        combo.addItem(f"{preset_label(key)} ({QLocale().toString(threshold, 'g', 6)})", key)


def show_preset(combo: QComboBox, value: float) -> None:
    """Select the preset ``value`` is (Custom when none), without emitting ``activated``."""
    combo.setCurrentIndex(max(0, combo.findData(preset_for(value))))
