"""Rotating library images: the flag written (``metadata.orientation``), then the library told.

A rotation in the file changes its bytes and its picture hash (the flag is part of the picture:
the taggers see the picture upright), so the image is read again as a rescan would read it: new
size, hashes and orientation, and tagged again by the models; its scores stay until the new ones
replace them, and hand-made and imported tags are kept. A rotation kept in the sidecar (RAW, GIF,
BMP) leaves the file as it was: the flag is stored and the image queued for tagging the same way,
and its cached thumbnails are dropped (their names follow the unchanged file).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from joytag_desktop.interchange.keyword_sync import import_found
from joytag_desktop.media import thumbnails
from joytag_desktop.metadata.orientation import OrientationError, in_sidecar, rotate

if TYPE_CHECKING:
    from joytag_desktop.library import Library


@dataclass
class RotateReport:
    rotated: list[tuple[str, int, int]] = field(default_factory=list)  # (path, flag before, after)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, one-line reason)
    image_ids: list[int] = field(default_factory=list)  # library images that changed
    same_file_ids: list[int] = field(default_factory=list)  # of those, turned in the sidecar: same content hash


def rotate_images(
    library: Library | None,
    paths: Iterable[str | os.PathLike[str]],
    transform: str,
    progress: Callable[[int], bool] | None = None,
) -> RotateReport:
    """Rotate each file; with a library, update the images it holds. ``progress(done)`` returning
    False stops before the next file. Failures are reported per file, never raised."""
    report = RotateReport()
    for done, name in enumerate(paths):
        if progress is not None and not progress(done):
            break
        path = Path(name).resolve()  # a link's target is rotated, never replaced by a file
        try:
            before, after = rotate(path, transform)
        except OrientationError as exc:
            report.errors.append((str(path), str(exc)))
            continue
        report.rotated.append((str(path), before, after))
        image = library.image_by_path(path) if library is not None else None
        if library is None or image is None:
            continue
        report.image_ids.append(image.id)
        if in_sidecar(path):
            library.set_orientation(image.id, after)
            report.same_file_ids.append(image.id)
            if image.content_hash:
                thumbnails.forget(image.content_hash)
        else:
            import_found(library, library.apply_changes(created=[str(path)]))
    return report
