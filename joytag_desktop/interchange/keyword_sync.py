"""Importing the keywords that a scan or the watcher found: the library's scan returns the keyword
sources (``ScanReport.keyword_sources``), and whoever scanned hands the report here."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from joytag_desktop.interchange.mark_sync import take_in
from joytag_desktop.interchange.orientation_sync import follow_sidecars
from joytag_desktop.interchange.sync_state import apply_read, refresh_imports
from joytag_desktop.library.library import Library
from joytag_desktop.library.scanner import KeywordSource, ScanReport
from joytag_desktop.metadata.keywords import empty_properties
from joytag_desktop.metadata.xmp import SidecarError, read_sidecar

log = logging.getLogger(__name__)
Report = TypeVar("Report", bound=ScanReport)


def import_found(library: Library, report: Report) -> Report:
    """Import the keywords ``report`` found (a scan's or the watcher's), counting in
    ``report.keywords`` the images whose tags changed; returns the report."""
    if report.keyword_sources:
        report.keywords = import_keywords(library, report.keyword_sources)
        report.turned_ids = follow_sidecars(library, report.keyword_sources)  # a flag another program set
    return report


def import_keywords(library: Library, sources: Iterable[KeywordSource]) -> int:
    """Apply keyword changes found by a scan or the watcher; returns how many images' tags changed."""
    changed = 0
    for source in sources:
        image = library.image_by_path(source.path)
        if image is None:
            continue
        fresh: dict[str, list[str]] = {}
        edits = 0
        marked = False
        sidecar = None
        if source.sidecar is not None:
            try:
                sidecar = read_sidecar(Path(source.sidecar))
            except SidecarError as exc:
                log.warning("%s", exc)
                continue  # a broken sidecar changes nothing
            fresh["xmp"], _, edits = apply_read(library, image.id, "xmp", source.sidecar, sidecar)
        elif source.sidecar_gone:
            fresh["xmp"], _, edits = apply_read(library, image.id, "xmp", "", None)
        if sidecar is not None and source.sidecar is not None:  # first: where both are new, the sidecar's fill
            marked = take_in(library, image.id, "xmp", source.sidecar, sidecar)
        if source.embedded is not None or source.file_changed:
            embedded = source.embedded or empty_properties()
            fresh["embedded"], _, more = apply_read(library, image.id, "embedded", image.path, embedded)
            edits += more
            marked = take_in(library, image.id, "embedded", image.path, embedded) or marked
        if refresh_imports(library, image.id, image.path, fresh) or edits or marked:
            changed += 1
        library.set_sidecar_mtime(image.id, source.sidecar_mtime)
    return changed
