"""Two-way sync of stars, colour labels and picks with one file (an XMP sidecar, or the image itself).

Reading (a scan, the watcher, and every export before it writes): the mark fields another program
changed since the last sync (``metadata.marks.changes_since`` against the stored snapshot) are taken
into the library, so a rating changed in digiKam is the library's rating after a rescan. Writing (an
export): the library's marks go into the file only where the file says otherwise, and only after the
read, so a newer change made elsewhere is taken in, never overwritten.
"""

from __future__ import annotations

from joytag_desktop.library.library import Library
from joytag_desktop.metadata.keywords import Properties
from joytag_desktop.metadata.marks import MARKS, Marks, Raw, changed_fields, changes_since, from_entries, plan


def raw_of(properties: Properties | None) -> Raw:
    return from_entries((properties or {}).get(MARKS))


def take_in(library: Library, image_id: int, target: str, path: str, properties: Properties | None) -> bool:
    """Take in the marks another program changed in the file (None: the file is gone, which says
    nothing of marks). A file never synced before only fills the marks the image has none of: what
    it holds is not news of a change, and an image's other file or the user may have said otherwise
    since. Returns whether the image's marks changed."""
    if properties is None:
        return False
    raw = raw_of(properties)
    snapshot = library.marking.snapshot(image_id, target)
    if snapshot is None and not raw:
        return False  # never synced and nothing there: no record to keep
    changes = changes_since(raw, snapshot)
    if snapshot is None and changes:
        have = library.marks([image_id]).get(image_id, Marks())
        changes = {mark: value for mark, value in changes.items() if have.get(mark) is None}
    changed = library.marking.take_in(image_id, changes)
    if raw != snapshot:
        library.marking.save_snapshot(image_id, target, path, raw)
    return changed


def plan_out(library: Library, image_id: int, properties: Properties | None, inside_image: bool) -> tuple[Raw, dict]:
    """The file's mark fields after the library's marks are written (call after ``take_in``), and the
    fields that change (field -> text, None: removed)."""
    raw = raw_of(properties)
    wanted = library.marks([image_id]).get(image_id, Marks())
    after = plan(raw, wanted, inside_image)
    return after, changed_fields(raw, after)


def record_out(library: Library, image_id: int, target: str, path: str, after: Raw) -> None:
    """What the file's mark fields are once written: the snapshot the next read compares with."""
    library.marking.save_snapshot(image_id, target, path, after)
