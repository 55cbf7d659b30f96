"""Messages from the core, reworded for the window: they point at buttons and dialogs, never at flags.

The core's errors are written for the command line (``--model DIR``); the GUI shows the same
facts with the control that does the job.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QCoreApplication


def _rules() -> list[tuple[re.Pattern[str], str]]:
    return [
        (
            re.compile(
                r"Download JoyTag with `joytag-desktop models download` \(.*?\), "
                r"or pass --model DIR \(or set [A-Z_]+\) to"
            ),
            QCoreApplication.translate("messages", "Press “Download JoyTag”, or press “Choose model folder…” and pick"),
        ),
        (
            re.compile(r"pass their folder with --model DIR\.?"),
            QCoreApplication.translate(
                "messages", "choose their folder with “Choose model folder…” (or File ▸ Settings… ▸ Model folder)."
            ),
        ),
        (
            re.compile(r"--device cuda was asked for, but (.*?) \(use --device cpu\)"),
            QCoreApplication.translate(
                "messages", "File ▸ Settings… ▸ Device is “cuda”, but \\1 (choose “auto” or “cpu” there)"
            ),
        ),
        (re.compile(r" \(use --overwrite\)"), QCoreApplication.translate("messages", " (left as it is)")),
    ]


def for_window(message: str) -> str:
    """``message`` with command-line advice replaced by the window's controls."""
    for pattern, replacement in _rules():
        message = pattern.sub(replacement, message)
    return message
