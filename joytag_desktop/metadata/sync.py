"""Keeping the library and other tools in step: importing keywords, exporting tags.

The ownership rule (see ``keywords``): the app removes from a file only entries it wrote there
itself, and only while they are still exactly as written. Every read and every write of a file
leaves a record (``metadata_writes``: what the app owns there, what the file held, what was
imported from it). A keyword another program deleted becomes a manual removal, so it is never
written back; one another program added overrides an earlier manual removal.

Import: keywords found in sidecars (either naming), embedded XMP, IPTC or XPKeywords become tags
with source ``imported``, hierarchies kept (``Places|Europe|Paris``).

Export: XMP sidecars, embedded keywords, caption files for training, CSV and JSON.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TextIO

from joytag_desktop.categories import RATINGS
from joytag_desktop.errors import JoyTagError
from joytag_desktop.files import remove_stale_temporaries
from joytag_desktop.hashing import hash_file_and_picture
from joytag_desktop.imaging import is_image_path
from joytag_desktop.library.library import Library, TagView
from joytag_desktop.library.scanner import KeywordSource
from joytag_desktop.library.thresholds import round_score
from joytag_desktop.metadata.embedded import (
    IPTC_WRITABLE,
    check_writable,
    read_embedded,
    read_with_exiftool,
    write_embedded,
)
from joytag_desktop.metadata.keywords import (
    DEFAULT_PARENT,
    FOLLOWED,
    HIERARCHY,
    Properties,
    SyncRecord,
    Wanted,
    WritePlan,
    empty_properties,
    is_bookkeeping,
    plan_write,
    read_file,
)
from joytag_desktop.metadata.xmp import (
    MAX_SIDECAR_BYTES,
    SidecarError,
    atomic_write,
    read_limited,
    read_packet_properties,
    read_sidecar,
    sidecar_for,
    update_packet,
)

log = logging.getLogger(__name__)
MAX_CAPTION_BYTES = 1024 * 1024


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


@dataclass(frozen=True)
class KeywordChoice:
    """Which tags go into files, and how they are filed: ``categories`` keeps only tags of these
    categories (None: all; imported keywords are category ``keyword``); ``by_category`` files the
    app's keywords as ``JoyTag|character|hatsune_miku`` rather than ``JoyTag|hatsune_miku``."""

    categories: frozenset[str] | None = None
    by_category: bool = False

    def keeps(self, category: str) -> bool:
        return self.categories is None or category in self.categories


@dataclass
class CaptionOptions:
    threshold: float | None = None
    categories: frozenset[str] | None = None  # only tags of these categories (e.g. no ratings)
    spaces: bool = True  # underscores to spaces
    escape_parentheses: bool = False  # "saber_(fate)" -> "saber \\(fate\\)" for prompt parsers that need it
    exclude: set[str] = field(default_factory=set)
    prefix: list[str] = field(default_factory=list)  # e.g. a trigger word, always first
    overwrite: bool = False  # replace caption files the app did not write


def present_tags(
    library: Library, image_id: int, threshold: float | None = None, categories: frozenset[str] | None = None
) -> list[str]:
    """Tags that count for an image, best score first (manual and imported ones included),
    of ``categories`` only when given."""
    return [
        view.name
        for view in library.image_tags(image_id, threshold)
        if view.present and (categories is None or view.category in categories)
    ]


# --- sync records -----------------------------------------------------------------------------


def load_record(library: Library, image_id: int, target: str, parent: str = DEFAULT_PARENT) -> SyncRecord | None:
    row = library.metadata_record(image_id, target)
    if row is None:
        return None
    try:
        data = json.loads(row.keywords)
    except ValueError:
        return None
    return SyncRecord.from_json(data, parent)


def save_record(
    library: Library, image_id: int, target: str, path: str, record: SyncRecord, mtime: float | None = None
) -> None:
    library.record_metadata_write(image_id, target, path, record.to_json(), mtime)


def _apply_read(
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
    save_record(library, image_id, target, path, result.record, _mtime(path))
    return result.imported, result.record, edits


def _mtime(path: str | Path) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def _stored_imports(library: Library, image_id: int, target: str) -> list[str] | None:
    record = load_record(library, image_id, target)
    return None if record is None else record.imported


def _refresh_imports(library: Library, image_id: int, image_path: str, fresh: dict[str, list[str]]) -> bool:
    """Imported tags = what every file of the image holds (sidecar and embedded together); a flat
    keyword that is the leaf of a hierarchical one of the same image (IPTC ``Marie Curie`` beside
    the sidecar's ``People|Marie Curie``) is that keyword, not a second one. Returns whether the
    image's tags changed."""
    names: list[str] = []
    for target in ("embedded", "xmp"):
        if target in fresh:
            names += fresh[target]
            continue
        stored = _stored_imports(library, image_id, target)
        if stored is None and target == "embedded":
            embedded = read_embedded(Path(image_path))
            stored = _apply_read(library, image_id, "embedded", image_path, embedded)[0] if embedded else []
        names += stored or []
    leaves = {name.rsplit(HIERARCHY, 1)[-1] for name in names if HIERARCHY in name}
    return library.set_imported_tags(image_id, [n for n in names if HIERARCHY in n or n not in leaves])


# --- import -----------------------------------------------------------------------------------


def import_keywords(library: Library, sources: Iterable[KeywordSource]) -> int:
    """Apply keyword changes found by a scan or the watcher; returns how many images' tags changed."""
    changed = 0
    for source in sources:
        image = library.image_by_path(source.path)
        if image is None:
            continue
        fresh: dict[str, list[str]] = {}
        edits = 0
        if source.sidecar is not None:
            try:
                props = read_sidecar(Path(source.sidecar))
            except SidecarError as exc:
                log.warning("%s", exc)
                continue  # a broken sidecar changes nothing
            fresh["xmp"], _, edits = _apply_read(library, image.id, "xmp", source.sidecar, props)
        elif source.sidecar_gone:
            fresh["xmp"], _, edits = _apply_read(library, image.id, "xmp", "", None)
        if source.embedded is not None or source.file_changed:
            fresh["embedded"], _, more = _apply_read(
                library, image.id, "embedded", image.path, source.embedded or empty_properties()
            )
            edits += more
        if _refresh_imports(library, image.id, image.path, fresh) or edits:
            changed += 1
        library.set_sidecar_mtime(image.id, source.sidecar_mtime)
    return changed


# --- export -------------------------------------------------------------------------------------


def _images(library: Library, image_ids: list[int] | None, query: str, threshold: float | None) -> list:
    """The chosen images, or those matching ``query``, fetched in pages."""
    ids = image_ids if image_ids is not None else library.search(query, threshold=threshold).ids
    images = []
    for start in range(0, len(ids), 500):
        images += library.images(ids[start : start + 500])
    return images


def _wanted(
    library: Library, image_id: int, threshold: float | None, choice: KeywordChoice
) -> tuple[list[Wanted], list[str]]:
    """The tags to have in the files (own: AI or manual) and the tags the user removed."""
    views = _one_rating(library, image_id, library.image_tags(image_id, threshold))
    # The model's tags go under the parent whatever their punctuation: the parent marks model output, so
    # a file read without the library (lost, or another computer's) tells it from the user's keywords.
    # Tags added by hand are the user's keywords: top level, or along their path ("Places|Paris").
    wanted = [
        Wanted(
            v.name,
            v.source == "ai",
            v.category if choice.by_category else None,
        )
        for v in views
        if v.present and choice.keeps(v.category)
    ]
    removed = [v.name for v in views if v.source == "manual" and v.score < 0]
    return wanted, removed


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


class _Folders:
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


def _sync_file(
    library: Library,
    image,  # noqa: ANN001 - an Image row
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
        imported, record, _ = _apply_read(library, image.id, target, str(path), current, parent)
        _refresh_imports(library, image.id, image.path, {target: imported})
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
    mtime = _mtime(path)
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
    image_ids: list[int] | None = None,
    choice: KeywordChoice = KeywordChoice(),
) -> ExportReport:
    """Merge the library's tags into XMP sidecars (created only for images that have tags)."""
    report = ExportReport()
    folders = _Folders()
    images = _images(library, image_ids, query, threshold)
    for index, image in enumerate(images, start=1):
        image_path = Path(image.path)
        if _gone(image_path, report):
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
            if data is None and not any(plan.properties.values()):
                report.skipped += 1  # nothing to say: no empty sidecar
            elif not plan.changed:
                report.unchanged += 1
            elif dry_run:
                report.planned.append((str(target), plan.keywords))
            else:
                content = update_packet(data, plan.properties, plan.changed, str(target))
                mtime = _commit_write(
                    library, image.id, "xmp", target, record, plan, partial(atomic_write, target, content)
                )
                folders.add(target)
                library.set_sidecar_mtime(image.id, mtime)
                report.written += 1
        except (JoyTagError, OSError) as exc:
            report.errors.append((str(target), _reason(exc, target)))
        if progress is not None:
            progress(index, len(images))
    return report


GONE = "the image is not there (moved or deleted since the last scan); rescan first"


def _gone(image: Path, report: ExportReport) -> bool:
    """An image whose file moved or went since the last scan gets no sidecar or caption at its old
    place (it would be an orphan, or take the name of a file another program keeps there)."""
    if os.path.lexists(image):
        return False
    report.skipped += 1
    report.errors.append((str(image), GONE))
    return True


def _reason(exc: BaseException, path: str | Path) -> str:
    """The error text without the path (the report line names it already)."""
    text = str(exc.strerror if isinstance(exc, OSError) and exc.strerror else exc)
    prefix = f"{path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def export_embedded(
    library: Library,
    query: str = "",
    threshold: float | None = None,
    keep_backup: bool = False,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    image_ids: list[int] | None = None,
    parent: str = DEFAULT_PARENT,
    choice: KeywordChoice = KeywordChoice(),
) -> ExportReport:
    """Write keywords into the image files themselves (opt-in; pixels are never touched)."""
    report = ExportReport()
    images = _images(library, image_ids, query, threshold)
    for index, image in enumerate(images, start=1):
        path = Path(image.path)
        try:
            check_writable(path)
            current = read_with_exiftool(path)
            properties: tuple[str, ...] = ("subject", "hierarchical", "tags_list", *FOLLOWED)
            if path.suffix.lower() in IPTC_WRITABLE:
                properties += ("iptc",)
            plan, record = _sync_file(library, image, "embedded", path, current, threshold, parent, properties, choice)
            if not plan.changed:
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
                    partial(write_embedded, path, plan.properties, plan.changed, keep_backup),
                )
                library.accept_own_write(image.id, image.path, before)
                report.written += 1
        except (JoyTagError, OSError) as exc:
            report.errors.append((image.path, _reason(exc, path)))
        if progress is not None:
            progress(index, len(images))
    return report


def caption_words(tags: list[str], options: CaptionOptions) -> list[str]:
    """Caption words: hierarchical keywords by their leaf, other programs' bookkeeping left out."""
    words: list[str] = []
    for tag in [*options.prefix, *tags]:
        if tag in options.exclude or is_bookkeeping(tag):
            continue
        words.append(tag.rsplit(HIERARCHY, 1)[-1])
    return list(dict.fromkeys(words))


def caption_text(tags: list[str], options: CaptionOptions) -> str:
    """Comma-separated, as kohya-ss sd-scripts reads without extra flags. A keyword's own commas
    would split it in two there, so they become spaces."""
    out = []
    for word in caption_words(tags, options):
        if options.spaces and not re.fullmatch(r"[\W_]+", word):  # keep emoticons such as ^_^ as they are
            word = word.replace("_", " ")
        word = " ".join(word.replace(",", " ").split())
        if options.escape_parentheses:
            word = word.replace("(", "\\(").replace(")", "\\)")
        if word:
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
    folders = _Folders()
    for index, image in enumerate(images, start=1):
        target = Path(image.path).with_suffix(".txt")
        if _gone(Path(image.path), report):
            if progress is not None:
                progress(index, len(images))
            continue
        try:
            stem = target.stem.lower()
            siblings = [n for n in folders.names(target.parent) if is_image_path(n) and Path(n).stem.lower() == stem]
            if len(siblings) > 1:  # a.jpg and a.png: a training script would give both the one a.txt
                report.skipped += 1
                report.errors.append((image.path, f"shares the caption file {target.name} with another image; skipped"))
                continue
            text = caption_text(present_tags(library, image.id, options.threshold, options.categories), options)
            previous = library.metadata_record(image.id, "caption")
            if target.exists():
                current = read_limited(target, MAX_CAPTION_BYTES, "caption file").decode("utf-8", errors="replace")
                ours = previous is not None and previous.file_mtime == target.stat().st_mtime
                if not ours and not options.overwrite:
                    report.skipped += 1
                    report.errors.append((str(target), "a caption written by someone else exists (use --overwrite)"))
                    continue
                if current.strip() == text:
                    report.unchanged += 1
                    continue
            elif not text:
                report.skipped += 1  # no tags (or tagging failed): no empty caption file
                continue
            if dry_run:
                report.planned.append((str(target), [text]))
                continue
            atomic_write(target, (text + "\n").encode("utf-8"))
            library.record_metadata_write(image.id, "caption", str(target), [text], target.stat().st_mtime)
            report.written += 1
        except (JoyTagError, OSError) as exc:
            report.errors.append((str(target), _reason(exc, target)))
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
                            round_score(view.score),
                            "" if view.ai_score is None else round_score(view.ai_score),
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
                "tags": {v.name: round_score(v.score) for v in views if v.present},
                "sources": {v.name: v.source for v in views if v.present and v.source != "ai"},
                **(
                    {"scores": {v.name: round_score(v.ai_score) for v in views if v.ai_score is not None}}
                    if all_scores
                    else {}
                ),
            }
        )
    json.dump(records, out, ensure_ascii=False, indent=1)
    out.write("\n")
    return len(images)
