"""What the app knows of each file it syncs with: the records of what it wrote and read there, and
taking in what a file says now (deletions there become manual removals)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from joytag_desktop.library.library import Library
from joytag_desktop.metadata.embedded import read_embedded
from joytag_desktop.metadata.keywords import DEFAULT_PARENT, HIERARCHY, Properties, SyncRecord, read_file


def load_record(library: Library, image_id: int, target: str, parent: str = DEFAULT_PARENT) -> SyncRecord | None:
    row = library.metadata_record(image_id, target)
    if row is None:
        return None
    try:
        data = json.loads(row.keywords)
    except ValueError:
        return None
    if data is None:
        return None  # a row that holds only the file's stars and labels (``interchange.mark_sync``)
    return SyncRecord.from_json(data, parent)


def save_record(
    library: Library, image_id: int, target: str, path: str, record: SyncRecord, mtime: float | None = None
) -> None:
    library.record_metadata_write(image_id, target, path, record.to_json(), mtime)


def apply_read(
    library: Library, image_id: int, target: str, path: str, current: Properties | None, parent: str = DEFAULT_PARENT
) -> tuple[list[str], SyncRecord | None, int]:
    """Take in what a file says (``current``; None: the file is gone). Deletions there become manual
    removals; additions there undo manual removals. Returns the names imported from it, the new
    record and how many of the image's tags that changed."""
    record = load_record(library, image_id, target, parent)
    if current is None:
        if record is not None:
            record.snapshot, record.imported = None, []
            save_record(library, image_id, target, path, record)
        return [], record, 0
    result = read_file(current, record, parent)
    edits = 0
    for name in result.deleted:
        edits += library.set_manual_tag([image_id], name, False)
    if result.added:
        removed_here = {
            v.name
            for v in library.image_tags(image_id)
            if v.source == "manual" and v.score < 0 and v.name in result.added
        }
        for name in removed_here:
            edits += library.set_manual_tag([image_id], name, None)
    save_record(library, image_id, target, path, result.record, file_mtime(path))
    return result.imported, result.record, edits


def file_mtime(path: str | Path) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def stored_imports(library: Library, image_id: int, target: str) -> list[str] | None:
    record = load_record(library, image_id, target)
    return None if record is None else record.imported


def refresh_imports(library: Library, image_id: int, image_path: str, fresh: dict[str, list[str]]) -> bool:
    """Imported tags = what every file of the image holds (sidecar and embedded together); a flat
    keyword that is the leaf of a hierarchical one of the same image (IPTC ``Marie Curie`` beside
    the sidecar's ``People|Marie Curie``) is that keyword, not a second one. Returns whether the
    image's tags changed."""
    names: list[str] = []
    for target in ("embedded", "xmp"):
        if target in fresh:
            names += fresh[target]
            continue
        stored = stored_imports(library, image_id, target)
        if stored is None and target == "embedded":
            embedded = read_embedded(Path(image_path))
            stored = apply_read(library, image_id, "embedded", image_path, embedded)[0] if embedded else []
        names += stored or []
    leaves = {name.rsplit(HIERARCHY, 1)[-1] for name in names if HIERARCHY in name}
    return library.set_imported_tags(image_id, [n for n in names if HIERARCHY in n or n not in leaves])
