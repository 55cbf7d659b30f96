"""What every export shares: its report, the images it covers, folder listings read once, and the
refusal to write beside an image that is gone."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from joytag_desktop.files import remove_stale_temporaries
from joytag_desktop.library.library import Library
from joytag_desktop.library.schema import Image


@dataclass
class ExportReport:
    written: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    planned: list[tuple[str, list[str]]] = field(default_factory=list)  # dry run: (file, keywords)
    cancelled: bool = False  # stopped between two files; every file it wrote is whole

    def summary(self) -> str:
        text = f"{self.written} written, {self.unchanged} unchanged, {self.skipped} skipped"
        text += f", {len(self.errors)} failed" if self.errors else ""
        return text + (" (cancelled: the other files were left as they were)" if self.cancelled else "")


def stopped(cancel: threading.Event | None, report: ExportReport) -> bool:
    """Whether to stop before the next file (checked between files, never inside a write)."""
    if cancel is not None and cancel.is_set():
        report.cancelled = True
    return report.cancelled


def chosen_images(library: Library, image_ids: list[int] | None, query: str, threshold: float | None) -> ImagePages:
    """The chosen images, or those matching ``query``: counted at once, read a page at a time as
    the export reaches them (100,000 image records take seconds to read, and Cancel must not wait)."""
    ids = image_ids if image_ids is not None else library.search(query, threshold=threshold).ids
    return ImagePages(library, list(ids))


class ImagePages:
    """Images by id, fetched 500 at a time while iterated (an id deleted meanwhile is skipped)."""

    PAGE = 500

    def __init__(self, library: Library, ids: list[int]) -> None:
        self.library, self.ids = library, ids

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[Image]:
        for start in range(0, len(self.ids), self.PAGE):
            yield from self.library.images(self.ids[start : start + self.PAGE])


class Folders:
    """Folder listings, read once per export run (which sidecar is whose depends on the neighbours)."""

    def __init__(self) -> None:
        self._names: dict[Path, list[str]] = {}

    def names(self, folder: Path) -> list[str]:
        if folder not in self._names:
            try:
                self._names[folder] = os.listdir(folder)
            except OSError:
                self._names[folder] = []
            if remove_stale_temporaries(folder, self._names[folder]):  # left by a killed write
                with contextlib.suppress(OSError):
                    self._names[folder] = os.listdir(folder)
        return self._names[folder]

    def add(self, path: Path) -> None:
        names = self.names(path.parent)
        if path.name not in names:
            names.append(path.name)


GONE = "the image is not there (moved or deleted since the last scan); rescan first"


def gone(image: Path, report: ExportReport) -> bool:
    """An image whose file moved or went since the last scan gets no sidecar or caption at its old
    place (it would be an orphan, or take the name of a file another program keeps there)."""
    if os.path.lexists(image):
        return False
    report.skipped += 1
    report.errors.append((str(image), GONE))
    return True


def reason(exc: BaseException, path: str | Path) -> str:
    """The error text without the path (the report line names it already)."""
    text = str(exc.strerror if isinstance(exc, OSError) and exc.strerror else exc)
    prefix = f"{path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text
