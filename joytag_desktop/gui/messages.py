"""Messages from the core, reworded for the window: in the window's language, pointing at buttons
and dialogs, never at flags.

The core writes English for the command line (``--model DIR``) and knows nothing of Qt. The
messages the window shows most (no model, a model folder it cannot use, a failed tagging run, a
full disk, a read-only or damaged database, the device the worker runs on, scan and export
reports) are recognised here and said again in translatable words; any other message keeps the
core's English with its command-line advice replaced by the window's controls.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QObject

if TYPE_CHECKING:
    from joytag_desktop.interchange.exporting import ExportReport
    from joytag_desktop.library.scanner import ScanReport


def _known() -> list[tuple[re.Pattern[str], str]]:
    """Whole core messages -> the window's words; ``{name}`` takes the pattern's group of that name."""
    return [
        (
            re.compile(r"No tagger model is installed\..*", re.S),
            QCoreApplication.translate(
                "messages",
                "No tagger model is installed. Press “Download JoyTag”, or press “Choose model folder…” and pick "
                "a model folder as published on the Hugging Face Hub.",
            ),
        ),
        (
            re.compile(r"no model tags new files: .*"),
            QCoreApplication.translate(
                "messages", "No model tags new files: choose one in Tagging ▸ Models… or File ▸ Settings… ▸ Models."
            ),
        ),
        (
            re.compile(r"model folder (?P<folder>.+) does not exist"),
            QCoreApplication.translate(
                "messages", "The model folder {folder} does not exist: choose one with Tagging ▸ Models…"
            ),
        ),
        (
            re.compile(r"model path (?P<folder>.+) is not a folder"),
            QCoreApplication.translate(
                "messages", "The model path {folder} is not a folder: choose one with Tagging ▸ Models…"
            ),
        ),
        (
            re.compile(r"model folder (?P<folder>.+?) holds no tagger this app knows\..*", re.S),
            QCoreApplication.translate(
                "messages",
                "The model folder {folder} holds no tagger this app knows: choose a folder as published on the "
                "Hugging Face Hub (Tagging ▸ Models…).",
            ),
        ),
        (
            re.compile(r"--device cuda was asked for, but PyTorch sees no CUDA GPU here.*"),
            QCoreApplication.translate(
                "messages",
                "File ▸ Settings… ▸ Device is “cuda”, but PyTorch sees no CUDA GPU here "
                "(choose “auto” or “cpu” there).",
            ),
        ),
        (
            re.compile(r"tagging failed: (?P<error>.+)", re.S),
            QCoreApplication.translate("messages", "Tagging failed: {error} (details in View ▸ Log)"),
        ),
        (
            re.compile(r"after tagging: (?P<error>.+)", re.S),
            QCoreApplication.translate("messages", "The metadata could not be written after tagging: {error}"),
        ),
        (
            re.compile(r"unexpected error: (?P<error>.+?) \(details in (?P<log>[^()]+)\)$", re.S),
            QCoreApplication.translate("messages", "Unexpected error: {error} (details in {log})"),
        ),
        (
            re.compile(r"unexpected error: (?P<error>.+)", re.S),
            QCoreApplication.translate("messages", "Unexpected error: {error}"),
        ),
        (
            re.compile(r"the disk holding the library database is full; .*"),
            QCoreApplication.translate(
                "messages", "The disk holding the library database is full; nothing was changed: free some space."
            ),
        ),
        (
            re.compile(r"the library database is read-only .*", re.S),
            QCoreApplication.translate(
                "messages",
                "The library database is read-only: check the permissions of the file and its folder, or choose "
                "a library you can write in File ▸ Settings… ▸ Database; nothing was changed.",
            ),
        ),
        (
            re.compile(r"the library database cannot be opened \(its folder is missing or not writable\)"),
            QCoreApplication.translate(
                "messages", "The library database cannot be opened: its folder is missing or not writable."
            ),
        ),
        (
            re.compile(r"the disk reported an I/O error while writing the library database.*"),
            QCoreApplication.translate(
                "messages", "The disk reported an I/O error while writing the library database; nothing was changed."
            ),
        ),
        (
            re.compile(r"the library database is damaged .*", re.S),
            QCoreApplication.translate(
                "messages",
                "The library database is damaged: keep a copy of it (with its -wal file), then restore a backup "
                "or recover it (see “Backup and recovery” in the README).",
            ),
        ),
        (
            re.compile(r"(?P<where>.*?)the disk is full; nothing was lost.*"),
            QCoreApplication.translate("messages", "{where}the disk is full; nothing was lost: free some space."),
        ),
        (
            re.compile(r"not enough memory for this operation"),
            QCoreApplication.translate("messages", "Not enough memory for this operation."),
        ),
    ]


def _command_line_rules() -> list[tuple[re.Pattern[str], str]]:
    """Command-line advice inside messages not known as a whole, replaced by the window's controls."""
    return [
        (
            re.compile(
                r"Download JoyTag with `joytag-desktop models download` \(.*?\), "
                r"or pass --model DIR \(or set [A-Z_]+\) to"
            ),
            QCoreApplication.translate("messages", "Press “Download JoyTag”, or press “Choose model folder…” and pick"),
        ),
        (
            re.compile(r"pass --model DIR \(or set [A-Z_]+\) to"),
            QCoreApplication.translate("messages", "press “Choose model folder…” and pick"),
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
    """``message`` from the core in the window's words: a known one translated whole, any other one
    with its command-line advice replaced by the window's controls."""
    message = message.strip()
    for pattern, text in _known():
        found = pattern.fullmatch(message)
        if found:
            return text.format(**found.groupdict(default=""))
    for pattern, replacement in _command_line_rules():
        message = pattern.sub(replacement, message)
    return message


def one_line(message: str) -> str:
    """The first line of a message for the status bar (a traceback's or a long report's rest is in the log)."""
    lines = [line for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    if lines[0].startswith("Traceback (most recent call last)"):
        # The exception's own line is the last one that is not indented.
        last = next((line for line in reversed(lines) if not line.startswith((" ", "\t"))), lines[-1])
        return last.strip()
    return lines[0].strip() + (" …" if len(lines) > 1 else "")


# --- what the worker runs on, and the reports ------------------------------------------------------

_DEVICE_PARTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"CPU \((?P<n>\d+) threads?\)"), "cpu"),
    (re.compile(r"batch (?P<n>\d+)"), "batch"),
    (re.compile(r"fast preprocessing"), "fast"),
    (re.compile(r"reference preprocessing"), "reference"),
]


# The worker's note after its device when CUDA was wanted but is not in use (inference.device).
_CUDA_NOTES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"CUDA was asked for but is not available: (?P<reason>.+)", re.S), "missing"),
    (re.compile(r"an NVIDIA GPU is here but CUDA is not available: (?P<reason>.+)", re.S), "idle"),
]
NOTE_SEPARATOR = " — "


class Reports(QObject):
    """The worker's device and the core's reports in the window's words (a QObject: Qt's plural
    forms are collected from ``self.tr`` calls)."""

    def device(self, detail: str) -> str:
        detail, _, note = detail.partition(NOTE_SEPARATOR)
        words = self._device_parts(detail)
        return words + NOTE_SEPARATOR + self.cuda_note(note)[0] if note else words

    def cuda_note(self, note: str) -> tuple[str, str]:
        """The worker's "CUDA … is not available: reason" as the label's words and a tooltip saying what to do."""
        for pattern, kind in _CUDA_NOTES:
            found = pattern.fullmatch(note.strip())
            if found is None:
                continue
            reason = found["reason"]
            if kind == "missing":
                return (
                    self.tr("CUDA was asked for but is not available: {reason}").format(reason=reason),
                    self.tr(
                        "File ▸ Settings… ▸ Device asks for “cuda”, but tagging runs on the CPU: {reason}. "
                        "Install NVIDIA's driver and PyTorch's CUDA build to use the GPU, or choose “auto” or "
                        "“cpu” there."
                    ).format(reason=reason),
                )
            return (
                self.tr("an NVIDIA GPU is here but CUDA is not available: {reason}").format(reason=reason),
                self.tr(
                    "This computer shows an NVIDIA GPU, but tagging runs on the CPU: {reason}. Install NVIDIA's "
                    "driver and PyTorch's CUDA build to use the GPU, or choose “cpu” in File ▸ Settings… ▸ Device."
                ).format(reason=reason),
            )
        return note, ""

    def _device_parts(self, detail: str) -> str:
        parts = []
        for part in detail.split(", "):
            for pattern, kind in _DEVICE_PARTS:
                found = pattern.fullmatch(part)
                if found is None:
                    continue
                n = int(found.groupdict().get("n") or 0)
                if kind == "cpu":
                    part = self.tr("CPU (%Ln thread(s))", "", n)
                elif kind == "batch":
                    part = self.tr("batch %Ln", "", n)
                elif kind == "fast":
                    part = self.tr("fast preprocessing")
                else:
                    part = self.tr("reference preprocessing")
                break
            parts.append(part)
        return self.tr(", ").join(parts)

    def scan(self, report: ScanReport) -> str:
        parts = [
            self.tr("%Ln new", "", report.added),
            self.tr("%Ln changed", "", report.changed),
            self.tr("%Ln moved", "", report.moved),
            self.tr("%Ln missing", "", report.missing),
            self.tr("%Ln unchanged", "", report.unchanged),
        ]
        if report.restored:
            parts.append(self.tr("%Ln back", "", report.restored))
        if report.keywords:
            parts.append(self.tr("keywords changed on %Ln image(s)", "", report.keywords))
        if report.errors:
            parts.append(self.tr("%Ln unreadable", "", len(report.errors)))
        if report.offline:
            parts.append(self.tr("%Ln folder(s) offline", "", len(report.offline)))
        if report.cancelled:
            parts.append(self.tr("cancelled"))
        return self.tr(", ").join(parts)

    def export(self, report: ExportReport) -> str:
        parts = [
            self.tr("%Ln written", "", report.written),
            self.tr("%Ln unchanged", "", report.unchanged),
            self.tr("%Ln skipped", "", report.skipped),
        ]
        if report.errors:
            parts.append(self.tr("%Ln failed", "", len(report.errors)))
        text = self.tr(", ").join(parts)
        if report.cancelled:
            text += " " + self.tr("(cancelled: the other files were left as they were)")
        return text


def device_text(detail: str) -> str:
    """The worker's "CPU (4 threads), float32, batch 4, fast preprocessing" in the window's words,
    with its note when CUDA was wanted but is not in use."""
    return Reports().device(detail)


def device_tooltip(detail: str) -> str:
    """What to do when the worker's device text says CUDA is not in use ("" otherwise)."""
    _, _, note = detail.partition(NOTE_SEPARATOR)
    return Reports().cuda_note(note)[1] if note else ""


def scan_summary(report: ScanReport) -> str:
    """A scan's outcome (the core's ``ScanReport.summary``) with the window's numbers and words."""
    return Reports().scan(report)


def export_summary(report: ExportReport) -> str:
    """An export's outcome (the core's ``ExportReport.summary``) with the window's numbers and words."""
    return Reports().export(report)


# --- the library's words for an image --------------------------------------------------------------


def status_name(status: str) -> str:
    """An image's tagging status ("tagged", "pending"…: the library's and the search's word) in the
    window's language; one the window does not know stays as it is."""
    names = {
        "tagged": QCoreApplication.translate("messages", "tagged", "image status"),
        "pending": QCoreApplication.translate("messages", "waiting to be tagged", "image status"),
        "error": QCoreApplication.translate("messages", "could not be tagged", "image status"),
        "missing": QCoreApplication.translate("messages", "missing", "image status"),
    }
    return names.get(status, status)
