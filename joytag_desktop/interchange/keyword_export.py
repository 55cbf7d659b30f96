"""Exporting tags as keywords: XMP sidecars and embedded metadata, merged with what other programs
keep there (the ownership rule in ``joytag_desktop.interchange``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from joytag_desktop.categories import RATINGS
from joytag_desktop.errors import JoyTagError
from joytag_desktop.interchange.exporting import ExportReport, Folders, chosen_images, gone, reason, stopped
from joytag_desktop.interchange.mark_sync import plan_out, record_out, take_in
from joytag_desktop.interchange.sync_state import apply_read, file_mtime, load_record, refresh_imports, save_record
from joytag_desktop.library.library import Library
from joytag_desktop.library.records import TagView
from joytag_desktop.media.hashing import hash_file_and_picture
from joytag_desktop.metadata.embedded import IPTC_WRITABLE, check_writable, read_with_exiftool, write_embedded
from joytag_desktop.metadata.keywords import (
    DEFAULT_PARENT,
    FOLLOWED,
    Properties,
    SyncRecord,
    Wanted,
    WritePlan,
    empty_properties,
    plan_write,
)
from joytag_desktop.metadata.xmp import (
    MAX_SIDECAR_BYTES,
    atomic_write,
    read_limited,
    read_packet_properties,
    sidecar_for,
    update_packet,
)


@dataclass(frozen=True)
class KeywordChoice:
    """Which tags go into files, and how they are filed: ``categories`` keeps only tags of these
    categories (None: all; imported keywords are category ``keyword``); ``by_category`` files the
    app's keywords as ``JoyTag|character|hatsune_miku`` rather than ``JoyTag|hatsune_miku``."""

    categories: frozenset[str] | None = None
    by_category: bool = False
    implied: bool = False  # a tag that implies others as their hierarchy (animal|cat), digiKam/Lightroom style

    def keeps(self, category: str) -> bool:
        return self.categories is None or category in self.categories


def _wanted(
    library: Library, image_id: int, threshold: float | None, choice: KeywordChoice
) -> tuple[list[Wanted], list[str]]:
    """The tags to have in the files (own: AI or manual) and the tags the user removed."""
    views = _one_rating(library, image_id, library.image_tags(image_id, threshold))
    # The model's tags go under the parent whatever their punctuation: the parent marks model output, so
    # a file read without the library (lost, or another computer's) tells it from the user's keywords.
    # Tags added by hand are the user's keywords: top level, or along their path ("Places|Paris").
    # An alias is written as its target (one tag, one keyword); with ``choice.implied`` a tag that
    # implies others goes along their path as the user's hierarchy (``animal|cat``).
    vocabulary = library.vocabulary
    kept = [v for v in views if v.present and choice.keeps(v.category)]
    paths = vocabulary.hierarchies(v.name for v in kept) if choice.implied else {}
    wanted: dict[str, Wanted] = {}
    for v in kept:
        for path in paths.get(v.name, ()):
            wanted.setdefault(path, Wanted(path, False, None))
        if v.name not in paths:
            name = vocabulary.shown_name(v.name)
            wanted.setdefault(name, Wanted(name, v.source == "ai", v.category if choice.by_category else None))
    removed = [v.name for v in views if v.source == "manual" and v.score < 0]
    return list(wanted.values()), removed


def _one_rating(library: Library, image_id: int, views: list[TagView]) -> list[TagView]:
    """The models' rating tags less all but the one the app shows (the image's rating: the user's,
    else the highest any model gives; WD scores all four); the user's own rating tags stay."""
    ratings = [v for v in views if v.category == "rating" and v.source == "ai" and v.present]
    if len(ratings) < 2:
        return views
    image = library.image(image_id)
    shown = RATINGS[image.rating] if image is not None and image.rating is not None else None
    keep = next((v for v in ratings if v.name.rsplit(":", 1)[-1] == shown), None)
    keep = keep or max(ratings, key=lambda v: v.score)
    return [v for v in views if v not in ratings or v is keep]


def _sync_file(
    library: Library,
    image,
    target: str,
    path: Path,
    current: Properties | None,
    threshold: float | None,
    parent: str,
    properties: tuple[str, ...],
    choice: KeywordChoice,
) -> tuple[WritePlan, SyncRecord]:
    """Read what changed in the file since the last sync, then plan the merged keywords."""
    record = None
    if current is not None:
        imported, record, _ = apply_read(library, image.id, target, str(path), current, parent)
        refresh_imports(library, image.id, image.path, {target: imported})
        take_in(library, image.id, target, str(path), current)  # a newer change there wins
    else:
        record = load_record(library, image.id, target, parent)
        if record is not None:
            record.snapshot = None
    record = record or SyncRecord(parent=parent)
    wanted, removed = _wanted(library, image.id, threshold, choice)
    plan = plan_write(current or empty_properties(), record, wanted, removed, parent, properties)
    return plan, record


def _commit_write(
    library: Library,
    image_id: int,
    target: str,
    path: Path,
    record: SyncRecord,
    plan: WritePlan,
    write: Callable[[], None],
) -> float | None:
    """Record the intent (a kill between the rename and the record must not lose ownership), write, then
    record the new state. Returns the file's new mtime."""
    record.pending = plan.properties
    for prop, entries in plan.record.owned.items():
        record.owned[prop] = list(dict.fromkeys([*record.owned[prop], *entries]))
    save_record(library, image_id, target, str(path), record)
    write()
    mtime = file_mtime(path)
    save_record(library, image_id, target, str(path), plan.record, mtime)
    return mtime


def export_xmp(
    library: Library,
    query: str = "",
    threshold: float | None = None,
    naming: str = "jpg.xmp",
    parent: str = DEFAULT_PARENT,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    image_ids: list[int] | None = None,
    choice: KeywordChoice = KeywordChoice(),
) -> ExportReport:
    """Merge the library's tags into XMP sidecars (created only for images that have tags)."""
    report = ExportReport()
    folders = Folders()
    images = chosen_images(library, image_ids, query, threshold)
    for index, image in enumerate(images, start=1):
        if stopped(cancel, report):
            break
        image_path = Path(image.path)
        if gone(image_path, report):
            if progress is not None:
                progress(index, len(images))
            continue
        target = sidecar_for(image_path, naming, folders.names(image_path.parent))
        try:
            data = read_limited(target, MAX_SIDECAR_BYTES, "sidecar") if target.exists() else None
            current = None if data is None else read_packet_properties(data, str(target))
            plan, record = _sync_file(
                library, image, "xmp", target, current, threshold, parent,
                ("subject", "hierarchical", "tags_list", *FOLLOWED), choice,
            )  # fmt: skip
            marks_after, marks = plan_out(library, image.id, current, inside_image=False)
            if data is None and not any(plan.properties.values()) and not marks:
                report.skipped += 1  # nothing to say: no empty sidecar
            elif not plan.changed and not marks:
                report.unchanged += 1
            elif dry_run:
                report.planned.append((str(target), plan.keywords))
            else:
                content = update_packet(data, plan.properties, plan.changed, str(target), marks)
                mtime = _commit_write(
                    library, image.id, "xmp", target, record, plan, partial(atomic_write, target, content)
                )
                record_out(library, image.id, "xmp", str(target), marks_after)
                folders.add(target)
                library.set_sidecar_mtime(image.id, mtime)
                report.written += 1
        except (JoyTagError, OSError) as exc:
            report.errors.append((str(target), reason(exc, target)))
        if progress is not None:
            progress(index, len(images))
    return report


def export_embedded(
    library: Library,
    query: str = "",
    threshold: float | None = None,
    keep_backup: bool = False,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    image_ids: list[int] | None = None,
    parent: str = DEFAULT_PARENT,
    choice: KeywordChoice = KeywordChoice(),
) -> ExportReport:
    """Write keywords into the image files themselves (opt-in; pixels are never touched)."""
    report = ExportReport()
    images = chosen_images(library, image_ids, query, threshold)
    for index, image in enumerate(images, start=1):
        if stopped(cancel, report):
            break
        path = Path(image.path)
        try:
            check_writable(path)
            current = read_with_exiftool(path)
            properties: tuple[str, ...] = ("subject", "hierarchical", "tags_list", *FOLLOWED)
            if path.suffix.lower() in IPTC_WRITABLE:
                properties += ("iptc",)
            plan, record = _sync_file(library, image, "embedded", path, current, threshold, parent, properties, choice)
            marks_after, marks = plan_out(library, image.id, current, inside_image=True)
            if not plan.changed and not marks:
                report.unchanged += 1
            elif dry_run:
                report.planned.append((image.path, plan.keywords))
            else:
                # Indexed before picture hashes: the file as it is now says what its picture was.
                before = hash_file_and_picture(path) if image.picture_hash is None else None
                _commit_write(
                    library,
                    image.id,
                    "embedded",
                    path,
                    record,
                    plan,
                    partial(write_embedded, path, plan.properties, plan.changed, keep_backup, marks),
                )
                record_out(library, image.id, "embedded", image.path, marks_after)
                library.accept_own_write(image.id, image.path, before)
                report.written += 1
        except (JoyTagError, OSError) as exc:
            report.errors.append((image.path, reason(exc, path)))
        if progress is not None:
            progress(index, len(images))
    return report
