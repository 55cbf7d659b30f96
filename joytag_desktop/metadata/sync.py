"""Keeping the library and other tools in step: importing keywords, exporting tags.

Import: keywords found in sidecars (either naming), embedded XMP, IPTC or XPKeywords become
tags with source ``imported``. A sidecar another program changed after our last write is
re-read first, and keywords we wrote that were deleted there become manual removals, so we
never write them back.

Export: XMP sidecars, embedded keywords, caption files for training, CSV and JSON.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from joytag_desktop.errors import JoyTagError
from joytag_desktop.library.library import Library
from joytag_desktop.library.scanner import KeywordSource
from joytag_desktop.metadata.embedded import write_embedded
from joytag_desktop.metadata.xmp import (
    DEFAULT_PARENT,
    SidecarError,
    atomic_write,
    read_sidecar,
    sidecar_path,
    write_sidecar,
)

log = logging.getLogger(__name__)
TARGETS = ("xmp", "embedded", "captions", "csv", "json")


@dataclass
class ExportReport:
    written: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    planned: list[tuple[str, list[str]]] = field(default_factory=list)  # dry run: (file, keywords)

    def summary(self) -> str:
        text = f"{self.written} written, {self.unchanged} unchanged, {self.skipped} skipped"
        return text + (f", {len(self.errors)} failed" if self.errors else "")


@dataclass
class CaptionOptions:
    threshold: float | None = None
    spaces: bool = True  # underscores to spaces
    escape_parentheses: bool = True  # "saber_(fate)" -> "saber \\(fate\\)" as prompt parsers expect
    exclude: set[str] = field(default_factory=set)
    prefix: list[str] = field(default_factory=list)  # e.g. a trigger word, always first
    overwrite: bool = False  # replace caption files the app did not write


def present_tags(library: Library, image_id: int, threshold: float | None = None) -> list[str]:
    """Tags that count for an image, best score first (manual and imported ones included)."""
    return [view.name for view in library.image_tags(image_id, threshold) if view.present]


def _previous(library: Library, image_id: int, target: str) -> tuple[list[str], float | None]:
    record = library.metadata_record(image_id, target)
    if record is None:
        return [], None
    return json.loads(record.keywords), record.file_mtime


# --- import -----------------------------------------------------------------------------------


def import_keywords(library: Library, sources: Iterable[KeywordSource]) -> int:
    """Apply keyword changes found by a scan or the watcher; returns how many images changed."""
    changed = 0
    for source in sources:
        image = library.image_by_path(source.path)
        if image is None:
            continue
        keywords: list[str] = []
        if source.sidecar is not None:
            try:
                keywords = read_sidecar(Path(source.sidecar)).leaves()
            except SidecarError as exc:
                log.warning("%s", exc)
                continue  # a broken sidecar changes nothing
            previous, written_mtime = _previous(library, image.id, "xmp")
            if previous and written_mtime is not None and source.sidecar_mtime != written_mtime:
                for deleted in set(previous) - set(keywords):  # deleted in another program: stay deleted
                    library.set_manual_tag([image.id], deleted, False)
            ours = set(previous)
            keywords = [k for k in keywords if k not in ours]
        elif source.embedded is not None:
            keywords = source.embedded
        if source.embedded and source.sidecar is not None:
            keywords = list(dict.fromkeys([*keywords, *source.embedded]))
        library.set_imported_tags(image.id, keywords)
        library.set_sidecar_mtime(image.id, source.sidecar_mtime)
        changed += 1
    return changed


# --- export -------------------------------------------------------------------------------------


def _images(library: Library, image_ids: list[int] | None, query: str, threshold: float | None) -> list:
    """The chosen images, or those matching ``query``, fetched in pages."""
    ids = image_ids if image_ids is not None else library.search(query, threshold=threshold).ids
    images = []
    for start in range(0, len(ids), 500):
        images += library.images(ids[start : start + 500])
    return images


def export_xmp(
    library: Library,
    query: str = "",
    threshold: float | None = None,
    naming: str = "jpg.xmp",
    parent: str = DEFAULT_PARENT,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    image_ids: list[int] | None = None,
) -> ExportReport:
    """Write (merge) XMP sidecars for the matching images."""
    report = ExportReport()
    images = _images(library, image_ids, query, threshold)
    for index, image in enumerate(images, start=1):
        target = sidecar_path(Path(image.path), naming)
        try:
            previous, written_mtime = _previous(library, image.id, "xmp")
            if target.exists() and written_mtime is not None and target.stat().st_mtime != written_mtime:
                # Changed by another program since our last write: take its edits in first.
                import_keywords(library, [KeywordSource(image.path, None, str(target), target.stat().st_mtime)])
            views = library.image_tags(image.id, threshold)
            tags = [v.name for v in views if v.present]
            imported = {v.name for v in views if v.present and v.source == "imported"}
            remove = (set(previous) | {v.name for v in views if not v.present}) - set(tags)
            if dry_run:
                report.planned.append((str(target), tags))
                continue
            if target.exists() and tags == previous and not (remove & _current_leaves(target)):
                report.unchanged += 1
                continue
            # Recorded before the write, so a watcher that sees the new file knows these are ours.
            library.record_metadata_write(image.id, "xmp", str(target), tags, None)
            try:
                write_sidecar(target, tags, remove, parent, imported)
            except SidecarError:
                library.record_metadata_write(image.id, "xmp", str(target), previous, written_mtime)
                raise
            mtime = target.stat().st_mtime
            library.record_metadata_write(image.id, "xmp", str(target), tags, mtime)
            library.set_sidecar_mtime(image.id, mtime)
            report.written += 1
        except (JoyTagError, OSError) as exc:
            report.errors.append((str(target), str(exc)))
        if progress is not None:
            progress(index, len(images))
    return report


def _current_leaves(path: Path) -> set[str]:
    try:
        keywords = read_sidecar(path)
    except SidecarError:
        return set()
    return set(keywords.leaves()) | set(keywords.subject)


def export_embedded(
    library: Library,
    query: str = "",
    threshold: float | None = None,
    keep_backup: bool = False,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    image_ids: list[int] | None = None,
) -> ExportReport:
    """Write keywords into the image files themselves (opt-in; pixels are never touched)."""
    report = ExportReport()
    images = _images(library, image_ids, query, threshold)
    for index, image in enumerate(images, start=1):
        views = library.image_tags(image.id, threshold)
        tags = [v.name for v in views if v.present]
        removed = {v.name for v in views if not v.present}
        previous, _ = _previous(library, image.id, "embedded")
        if dry_run:
            report.planned.append((image.path, tags))
            continue
        try:
            write_embedded(Path(image.path), tags, (set(previous) | removed) - set(tags), keep_backup)
            library.accept_own_write(image.id, image.path)
            library.record_metadata_write(image.id, "embedded", image.path, tags, os.stat(image.path).st_mtime)
            report.written += 1
        except (JoyTagError, OSError) as exc:
            report.errors.append((image.path, str(exc)))
        if progress is not None:
            progress(index, len(images))
    return report


def caption_text(tags: list[str], options: CaptionOptions) -> str:
    words = [*options.prefix, *(t for t in tags if t not in options.exclude and t not in options.prefix)]
    out = []
    for word in words:
        if options.spaces and not re.fullmatch(r"[\W_]+", word):  # keep emoticons such as ^_^ as they are
            word = word.replace("_", " ")
        if options.escape_parentheses:
            word = word.replace("(", "\\(").replace(")", "\\)")
        out.append(word)
    return ", ".join(out)


def export_captions(
    library: Library,
    query: str = "",
    options: CaptionOptions | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    image_ids: list[int] | None = None,
) -> ExportReport:
    """``image.txt`` beside each image: comma-separated tags, best first."""
    options = options or CaptionOptions()
    report = ExportReport()
    images = _images(library, image_ids, query, options.threshold)
    for index, image in enumerate(images, start=1):
        target = Path(image.path).with_suffix(".txt")
        text = caption_text(present_tags(library, image.id, options.threshold), options)
        previous = library.metadata_record(image.id, "caption")
        try:
            if target.exists():
                current = target.read_text(encoding="utf-8", errors="replace")
                ours = previous is not None and previous.file_mtime == target.stat().st_mtime
                if not ours and not options.overwrite:
                    report.skipped += 1
                    report.errors.append((str(target), "a caption written by someone else exists (use --overwrite)"))
                    continue
                if current.strip() == text:
                    report.unchanged += 1
                    continue
            if dry_run:
                report.planned.append((str(target), [text]))
                continue
            atomic_write(target, (text + "\n").encode("utf-8"))
            library.record_metadata_write(image.id, "caption", str(target), [text], target.stat().st_mtime)
            report.written += 1
        except (JoyTagError, OSError) as exc:
            report.errors.append((str(target), str(exc)))
        if progress is not None:
            progress(index, len(images))
    return report


def export_table(
    library: Library, out: TextIO, fmt: str, query: str = "", threshold: float | None = None, all_scores: bool = False
) -> int:
    """CSV (path, tag, score, source, present) or JSON (one object per image). Returns images written."""
    images = _images(library, None, query, threshold)
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(["path", "tag", "score", "ai_score", "source", "present"])
        for image in images:
            for view in library.image_tags(image.id, threshold):
                if view.present or all_scores:
                    writer.writerow(
                        [
                            image.path,
                            view.name,
                            repr(view.score),
                            "" if view.ai_score is None else repr(view.ai_score),
                            view.source,
                            int(view.present),
                        ]
                    )
        return len(images)
    records = []
    for image in images:
        views = library.image_tags(image.id, threshold)
        records.append(
            {
                "path": image.path,
                "status": image.status,
                "tags": {v.name: v.score for v in views if v.present},
                "sources": {v.name: v.source for v in views if v.present and v.source != "ai"},
                **({"scores": {v.name: v.ai_score for v in views if v.ai_score is not None}} if all_scores else {}),
            }
        )
    json.dump(records, out, ensure_ascii=False, indent=1)
    out.write("\n")
    return len(images)
