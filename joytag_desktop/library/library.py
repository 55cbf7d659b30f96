"""The library: roots, images, tags and scores in one database, and the operations on them.

The GUI, the CLI and the worker all go through this class; it never imports Qt.
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Integer, and_, bindparam, case, delete, func, insert, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import sessionmaker

from joytag_desktop.errors import JoyTagError
from joytag_desktop.files import hash_file
from joytag_desktop.library import db
from joytag_desktop.library.query import Node, parse, tag_terms
from joytag_desktop.library.schema import (
    PRESENT_SCORE,
    REMOVED_SCORE,
    Image,
    ImageTag,
    MetadataWrite,
    Root,
    Setting,
    Source,
    Status,
    Tag,
    TagHistogram,
    TagThreshold,
)
from joytag_desktop.library.search import TagResolver, build_select, glob_to_like, in_folder
from joytag_desktop.library.thresholds import DEFAULT_STORAGE_FLOOR, DEFAULT_THRESHOLD, PRESETS, check_threshold

log = logging.getLogger(__name__)
if TYPE_CHECKING:  # numpy and the scanner (Pillow, exifread) load when needed: a search needs neither
    import numpy as np

    from joytag_desktop.library.scanner import ScanProgress, ScanReport

HIERARCHY_SEPARATOR = "|"  # imported hierarchical keywords are stored as Places|Europe|Paris


MAX_TAG_LENGTH = 1000
_IN_CHUNK = 10_000  # values per IN (...) list


def check_tag_name(name: str) -> str:
    """A tag typed or passed by a user, stripped; refused when it could not be written to XMP,
    captions or a terminal (control characters, bytes that are not UTF-8) or is absurdly long."""
    name = name.strip()
    if not name:
        raise LibraryError("a tag name cannot be empty")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in name):
        raise LibraryError("a tag name must be valid UTF-8 text (it holds undecodable bytes)")
    bad = next((ch for ch in name if not ch.isprintable() and ch != " "), None)
    if bad is not None:
        raise LibraryError(f"a tag name cannot hold control characters (found U+{ord(bad):04X})")
    if len(name) > MAX_TAG_LENGTH:
        raise LibraryError(f"a tag name is limited to {MAX_TAG_LENGTH} characters")
    return name


class LibraryError(JoyTagError):
    """A library operation the user asked for cannot be done (unknown root, unknown tag…)."""


@dataclass
class TagView:
    """One tag of one image as the details panel and ``search --format jsonl`` show it."""

    name: str
    score: float  # effective score: the AI score, 1.0 for manual/imported additions, -1.0 for removals
    source: str
    ai_score: float | None
    threshold: float  # the threshold in force for this tag: its own override, else the global one
    overridden: bool = False

    @property
    def present(self) -> bool:
        return self.score >= self.threshold

    def present_at(self, global_threshold: float) -> bool:
        """Whether it counts if the global threshold were ``global_threshold`` (for live sliders)."""
        return self.score >= (self.threshold if self.overridden else global_threshold)


@dataclass
class SelectionTag:
    """One tag across a selection of images: how many of them have it (for tri-state editing)."""

    name: str
    count: int  # images of the selection where the tag counts at the threshold
    best_score: float  # the highest effective score among them (1.0 when added by hand)
    manual: int  # images where a manual edit decides it
    threshold: float
    overridden: bool


# How one tag stood on one image, to put it back exactly (undo): (source, score, ai_score), or None.
TagState = tuple[int, float, float | None] | None


@dataclass
class ImageResult:
    """Outcome of tagging one library image, as the engine produced it."""

    image_id: int
    scores: np.ndarray | None
    embedding: np.ndarray | None
    error: str | None
    content_hash: str | None = None  # the content that was tagged; a result for changed content is dropped
    path: str | None = None  # the path that was read; an error for a file moved meanwhile is dropped


@dataclass
class AddedFolder:
    """The outcome of ``Library.add_folder``."""

    root: Root
    scan_path: str  # what to scan: the library folder, or the folder inside it
    inside: bool = False  # the folder was already inside a library folder: nothing was added
    absorbed: list[str] = field(default_factory=list)  # library folders it took in


@dataclass
class SearchResult:
    ids: list[int]
    warnings: list[str]


def _now() -> datetime:
    return datetime.now()


class Library:
    """A library database. Thread-safe: each call uses its own short transaction."""

    def __init__(self, database: str | os.PathLike[str] | None = None, create: bool = True) -> None:
        self.engine = db.open_engine(database, create=create)
        self.url = str(self.engine.url)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)
        self._tag_ids: dict[str, int] = {}
        self._tag_lock = threading.Lock()
        self._hierarchy_cache: tuple[int, list[tuple[int, str]]] = (0, [])
        # Scans and watcher changes read, then write: one at a time within this process.
        self._index_lock = threading.RLock()
        self._completion_cache: tuple[tuple[int, float], list[str], list[int]] | None = None
        self._last_version: int | None = None
        self._version_lock = threading.Lock()
        self._version_connection: sqlite3.Connection | None = None
        database = self.engine.url.database
        if self.engine.url.get_backend_name() == "sqlite" and database and database != ":memory:":
            self._version_connection = sqlite3.connect(database, check_same_thread=False)

    def close(self) -> None:
        if self._version_connection is not None:
            self._version_connection.close()
            self._version_connection = None
        self.engine.dispose()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- settings -------------------------------------------------------------------------

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        with self.Session() as session:
            value = session.get(Setting, key)
            return value.value if value is not None else default

    def set_setting(self, key: str, value: str) -> None:
        with self.Session.begin() as session:
            session.merge(Setting(key=key, value=value))

    @property
    def threshold(self) -> float:
        return float(self.get_setting("threshold", str(DEFAULT_THRESHOLD)))

    def set_threshold(self, value: float) -> None:
        self.set_setting("threshold", repr(check_threshold(value)))

    def apply_preset(self, name: str) -> float:
        if name not in PRESETS:
            raise LibraryError(f"unknown preset {name!r}: use {', '.join(PRESETS)}")
        self.set_threshold(PRESETS[name])
        return PRESETS[name]

    @property
    def storage_floor(self) -> float:
        return float(self.get_setting("storage_floor", str(DEFAULT_STORAGE_FLOOR)))

    def set_storage_floor(self, value: float) -> None:
        self.set_setting("storage_floor", repr(check_threshold(value, "storage floor")))

    def tag_thresholds(self) -> dict[str, float]:
        with self.Session() as session:
            rows = session.execute(select(Tag.name, TagThreshold.threshold).join(Tag, Tag.id == TagThreshold.tag_id))
            return dict(rows.all())

    def set_tag_threshold(self, tag: str, value: float | None) -> None:
        """Override the threshold of one tag; None removes the override."""
        tag_id = self.tag_id(tag)
        if tag_id is None:
            raise LibraryError(f"unknown tag {tag!r}")
        with self.Session.begin() as session:
            if value is None:
                session.execute(delete(TagThreshold).where(TagThreshold.tag_id == tag_id))
            else:
                session.merge(TagThreshold(tag_id=tag_id, threshold=check_threshold(value)))

    def _threshold_overrides(self) -> dict[int, float]:
        with self.Session() as session:
            return dict(session.execute(select(TagThreshold.tag_id, TagThreshold.threshold)).all())

    def _threshold_lookup(self, threshold: float | None) -> Callable[[int], float]:
        base = self.threshold if threshold is None else check_threshold(threshold)
        overrides = self._threshold_overrides()
        return lambda tag_id: overrides.get(tag_id, base)

    # --- roots ----------------------------------------------------------------------------

    def add_root(self, path: str | os.PathLike[str], watched: bool = True) -> Root:
        """Add a folder to the library (not scanned yet). Adding a known folder updates ``watched``.

        A folder that holds library folders takes them in: their images (tags, manual edits and
        all) move to the wider folder, which is watched if any of them was. A folder inside a
        library folder is refused here (``add_folder`` rescans it instead)."""
        return self._add_root(path, watched)[0]

    def add_folder(self, path: str | os.PathLike[str], watched: bool = True) -> AddedFolder:
        """What the user's "add this folder" means, for the GUI and ``index`` alike: a new library
        folder (taking in the ones it holds), or a folder already inside one, to rescan."""
        folder = Path(path).expanduser().resolve()
        inside = self.containing_root(folder)
        if inside is not None and inside.path != str(folder):
            return AddedFolder(inside, str(folder), inside=True)
        root, absorbed = self._add_root(folder, watched)
        return AddedFolder(root, root.path, absorbed=absorbed)

    def _add_root(self, path: str | os.PathLike[str], watched: bool) -> tuple[Root, list[str]]:
        folder = Path(path).expanduser().resolve()
        if not folder.is_dir():
            raise LibraryError(f"{folder} is not a folder")
        text = str(folder)
        with self.Session.begin() as session:
            inner: list[Root] = []
            for other in session.scalars(select(Root)):
                if text.startswith(other.path + os.sep):
                    raise LibraryError(f"{folder} is inside the library folder {other.path}")
                if other.path.startswith(text + os.sep):
                    inner.append(other)
            root = session.scalar(select(Root).where(Root.path == text))
            if root is None:
                root = Root(path=text, watched=watched or any(r.watched for r in inner), added_at=_now(), online=True)
                session.add(root)
                session.flush()
            else:
                root.watched = watched
            for other in inner:
                self._absorb(session, other, root)
        return root, [other.path for other in inner]

    @staticmethod
    def _absorb(session, inner: Root, outer: Root) -> None:  # noqa: ANN001 - a Session
        """Move the images of ``inner`` under ``outer`` (a folder that contains it), then drop ``inner``.

        ``Image.folder`` is relative to the root's parent, so it gains the path between the two parents."""
        prefix = os.path.relpath(os.path.dirname(inner.path), os.path.dirname(outer.path))
        session.execute(
            update(Image)
            .where(Image.root_id == inner.id)
            .values(root_id=outer.id, folder=prefix + os.sep + Image.folder)
        )
        session.execute(delete(Root).where(Root.id == inner.id))

    def containing_root(self, path: str | os.PathLike[str]) -> Root | None:
        """The library folder that is ``path`` or holds it, if any."""
        text = str(Path(path).expanduser().resolve())
        for root in self.roots():
            if text == root.path or text.startswith(root.path + os.sep):
                return root
        return None

    def root_contents(self, root: Root) -> tuple[int, int]:
        """(images, manual tag edits) that forgetting ``root`` would lose, for a confirmation."""
        with self.engine.connect() as connection:
            images = connection.execute(select(func.count()).where(Image.root_id == root.id)).scalar_one()
            edits = connection.execute(
                select(func.count())
                .select_from(ImageTag)
                .join(Image, Image.id == ImageTag.image_id)
                .where(Image.root_id == root.id, ImageTag.source == Source.MANUAL)
            ).scalar_one()
        return images, edits

    def roots(self) -> list[Root]:
        with self.Session() as session:
            return list(session.scalars(select(Root).order_by(Root.path)))

    def find_root(self, path: str | os.PathLike[str]) -> Root:
        text = str(Path(path).expanduser().resolve())
        with self.Session() as session:
            root = session.scalar(select(Root).where(Root.path == text))
        if root is None:
            raise LibraryError(f"{text} is not a library folder")
        return root

    def set_watched(self, path: str | os.PathLike[str], watched: bool) -> None:
        root = self.find_root(path)
        with self.Session.begin() as session:
            session.execute(update(Root).where(Root.id == root.id).values(watched=watched))

    def remove_root(self, path: str | os.PathLike[str]) -> int:
        """Forget a folder and its images (the files are not touched). Returns how many images were dropped."""
        root = self.find_root(path)
        with self.Session.begin() as session:
            # Marking them missing first keeps the tag histogram exact (its triggers see the status change).
            session.execute(update(Image).where(Image.root_id == root.id).values(status=Status.MISSING))
            dropped = session.execute(delete(Image).where(Image.root_id == root.id)).rowcount
            session.execute(delete(Root).where(Root.id == root.id))
        return dropped

    # --- scanning -------------------------------------------------------------------------

    def scan(
        self,
        roots: Iterable[str | os.PathLike[str]] | None = None,
        progress: ScanProgress | None = None,
        cancel: threading.Event | None = None,
    ) -> ScanReport:
        """Rescan the given folders (default: every library folder); moves across roots are
        recognised too. A folder inside a library folder rescans that subtree only."""
        targets: list[tuple[Root, str | None]] = []
        if roots is None:
            targets = [(root, None) for root in self.roots()]
        else:
            for path in roots:
                text = str(Path(path).expanduser().resolve())
                root = self.containing_root(text)
                if root is None:
                    raise LibraryError(f"{text} is not in a library folder")
                targets.append((root, None if text == root.path else text))
        from joytag_desktop.library.scanner import ScanReport, adopt_leftover_copies, adopt_moved, scan_root

        report = ScanReport()
        new_ids: list[int] = []
        with self._index_lock, self.engine.connect() as connection:
            for root, subtree in targets:
                root_report, added = scan_root(connection, root, progress, cancel, subtree=subtree)
                report.merge(root_report)
                new_ids += added
                if report.cancelled:
                    break
            moved = adopt_moved(connection, new_ids)
            report.moved = len(moved)
            report.added -= report.moved
            report.missing -= len(report.vanished_ids.intersection(moved))
            if not report.cancelled:
                leftover = adopt_leftover_copies(connection, sorted({root.id for root, _ in targets}))
                report.moved += len(leftover)
                report.missing -= len(report.vanished_ids.intersection(leftover))
        self._import_keywords(report)
        return report

    def apply_changes(
        self,
        created: Sequence[str] = (),
        deleted: Sequence[str] = (),
        moved: Sequence[tuple[str, str]] = (),
    ):  # noqa: ANN201 - returns a ChangeReport
        """Apply watcher events in one transaction: moves first (in order), then deletions, then
        created/modified paths. Returns a ChangeReport."""
        from joytag_desktop.library.changes import ChangeApplier

        with self._index_lock, self.engine.connect() as connection:
            applier = ChangeApplier(connection, self.roots())
            for source, destination in moved:
                applier.moved(source, destination)
            for path in deleted:
                applier.deleted(path)
            for path in created:
                applier.created_or_modified(path)
            report = applier.finish()
        self._import_keywords(report)
        return report

    def _import_keywords(self, report: ScanReport) -> None:
        if report.keyword_sources:
            from joytag_desktop.metadata.sync import import_keywords

            import_keywords(self, report.keyword_sources)

    def purge_missing(self) -> int:
        """Delete images marked missing (and their tags). Returns how many were removed."""
        with self.Session.begin() as session:
            return session.execute(delete(Image).where(Image.status == Status.MISSING)).rowcount

    # --- tags -----------------------------------------------------------------------------

    def ensure_tags(self, names: Sequence[str]) -> list[int]:
        """Ids of these tags, creating the ones the library does not know yet."""
        with self._tag_lock:
            unknown = [name for name in names if name not in self._tag_ids]
            if unknown:
                unknown = list(dict.fromkeys(unknown))
                with self.Session.begin() as session:
                    session.execute(
                        sqlite_insert(Tag).on_conflict_do_nothing(index_elements=["name"]),
                        [{"name": name} for name in unknown],
                    )
                    for start in range(0, len(unknown), _IN_CHUNK):  # SQLite binds at most 32,766 variables
                        chunk = unknown[start : start + _IN_CHUNK]
                        self._tag_ids.update(session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(chunk))).all())
            return [self._tag_ids[name] for name in names]

    def tag_id(self, name: str) -> int | None:
        if name in self._tag_ids:
            return self._tag_ids[name]
        with self.Session() as session:
            tag_id = session.scalar(select(Tag.id).where(Tag.name == name))
        if tag_id is not None:
            self._tag_ids[name] = tag_id
        return tag_id

    def _lookup_tags(self, name: str, exact: bool) -> list[int]:
        with self.Session() as session:
            if not exact and ("*" in name or "?" in name):
                pattern = glob_to_like(name)
                return list(session.scalars(select(Tag.id).where(Tag.name.like(pattern, escape="\\"))))
            found = session.scalar(select(Tag.id).where(Tag.name == name))
            if found is None and exact:
                found = session.scalar(select(Tag.id).where(Tag.name == name.replace(" ", "_")))
            ids = [found] if found is not None else []
            if found is None and not exact:
                ids = list(session.scalars(select(Tag.id).where(func.lower(Tag.name) == name.lower())))
            return ids + self._hierarchy_tags(session, name, ids)

    def _hierarchy_tags(self, session, name: str, found: list[int]) -> list[int]:  # noqa: ANN001
        """Hierarchical keywords (``Places|Europe|Paris``) that ``name`` is a level of: a parent finds
        its children, as in digiKam and Lightroom, and the leaf alone still matches."""
        if not name or HIERARCHY_SEPARATOR in (name[0], name[-1]):
            return []
        level = name.casefold()
        sep = HIERARCHY_SEPARATOR
        return [
            tag_id
            for tag_id, folded in self._hierarchical_names(session)
            if tag_id not in found
            and (folded.startswith(level + sep) or folded.endswith(sep + level) or f"{sep}{level}{sep}" in folded)
        ]

    def _hierarchical_names(self, session) -> list[tuple[int, str]]:  # noqa: ANN001
        """(id, case-folded name) of the tags that are hierarchies. Tags are only ever added, so the
        cache grows by the ids above the last one seen: one primary-key probe per search term instead
        of a scan of a vocabulary that can hold 70,000 model tags."""
        top = session.scalar(select(func.max(Tag.id))) or 0
        with self._tag_lock:
            seen, names = self._hierarchy_cache
            if top == seen:
                return names
            if top < seen:
                seen, names = 0, []
            rows = session.execute(
                select(Tag.id, Tag.name).where(Tag.id > seen, Tag.name.contains(HIERARCHY_SEPARATOR, autoescape=True))
            ).all()
            names = names + [(row.id, row.name.casefold()) for row in rows]
            self._hierarchy_cache = (top, names)
            return names

    # --- tagging results ------------------------------------------------------------------

    def pending_images(self, limit: int, after_id: int = 0) -> list[tuple[int, str, str | None]]:
        """The work queue: (id, path, content hash) of pending images in id order."""
        with self.Session() as session:
            rows = session.execute(
                select(Image.id, Image.path, Image.content_hash)
                .where(Image.status == Status.PENDING, Image.id > after_id)
                .order_by(Image.id)
                .limit(limit)
            )
            return [(row.id, row.path, row.content_hash) for row in rows]

    def count_by_status(self) -> dict[str, int]:
        with self.Session() as session:
            rows = session.execute(select(Image.status, func.count()).group_by(Image.status)).all()
            return {status: 0 for status in Status.ALL} | dict(rows)

    def store_results(self, results: Sequence[ImageResult], model_name: str, tags: Sequence[str]) -> int:
        """Write one batch of engine results in one transaction; returns how many were stored.

        AI rows are replaced; manual and imported rows keep their effective score and only
        get the new ``ai_score``, so hand corrections survive retagging. A result for an image
        that went missing, was forgotten, or whose content changed since it was claimed is
        dropped (the image stays pending and is tagged again).
        """
        import numpy as np

        tag_ids = np.asarray(self.ensure_tags(tags), dtype=np.int64)
        floor = self.storage_floor
        now = _now()
        with self.Session.begin() as session:
            current = dict(
                session.execute(
                    select(Image.id, Image.content_hash).where(
                        Image.id.in_([r.image_id for r in results]), Image.status != Status.MISSING
                    )
                ).all()
            )
            results = [
                r
                for r in results
                if r.image_id in current and (r.content_hash is None or r.content_hash == current[r.image_id])
            ]
            ok = [r for r in results if r.error is None and r.scores is not None]
            ok_ids = [r.image_id for r in ok]
            kept = set(
                session.execute(
                    select(ImageTag.image_id, ImageTag.tag_id).where(
                        ImageTag.image_id.in_(ok_ids), ImageTag.source != Source.AI
                    )
                )
            )
            session.execute(delete(ImageTag).where(ImageTag.image_id.in_(ok_ids), ImageTag.source == Source.AI))
            session.execute(update(ImageTag).where(ImageTag.image_id.in_(ok_ids)).values(ai_score=None))
            new_rows: list[dict] = []
            kept_updates: list[dict] = []
            for result in ok:
                scores = result.scores
                assert scores is not None
                for index in np.flatnonzero(scores >= floor):
                    tag_id = int(tag_ids[index])
                    score = float(scores[index])
                    if (result.image_id, tag_id) in kept:
                        kept_updates.append({"i": result.image_id, "t": tag_id, "s": score})
                    else:
                        new_rows.append(
                            {
                                "image_id": result.image_id,
                                "tag_id": tag_id,
                                "source": Source.AI,
                                "score": score,
                                "ai_score": score,
                            }
                        )
                session.execute(
                    update(Image)
                    .where(Image.id == result.image_id)
                    .values(
                        status=Status.TAGGED,
                        error=None,
                        model=model_name,
                        tagged_at=now,
                        embedding=None if result.embedding is None else result.embedding.astype("<f2").tobytes(),
                    )
                )
            if new_rows:
                session.execute(insert(ImageTag), new_rows)
            if kept_updates:
                session.connection().execute(
                    update(ImageTag)
                    .where(ImageTag.image_id == bindparam("i"), ImageTag.tag_id == bindparam("t"))
                    .values(ai_score=bindparam("s")),
                    kept_updates,
                )
            for result in results:
                if result.error is not None:
                    moved = [] if result.path is None else [Image.path == result.path]
                    session.execute(
                        update(Image)
                        .where(Image.id == result.image_id, *moved)
                        .values(status=Status.ERROR, error=result.error)
                    )
        return len(results)

    def set_manual_tag(self, image_ids: Iterable[int], tag: str, present: bool | None) -> int:
        """Add (True) or remove (False) ``tag`` by hand on images, or drop the manual override (None).

        A manual edit overrides the model and survives retagging. Returns how many images changed.
        """
        tag = check_tag_name(tag)
        (tag_id,) = self.ensure_tags([tag])
        ids = list(dict.fromkeys(image_ids))
        changed = 0
        with self.Session.begin() as session:
            existing = {
                row.image_id: row
                for row in session.execute(
                    select(ImageTag.image_id, ImageTag.source, ImageTag.ai_score).where(
                        ImageTag.image_id.in_(ids), ImageTag.tag_id == tag_id
                    )
                )
            }
            for image_id in ids:
                row = existing.get(image_id)
                if present is None:
                    if row is None or row.source != Source.MANUAL:
                        continue
                    if row.ai_score is None:
                        session.execute(
                            delete(ImageTag).where(ImageTag.image_id == image_id, ImageTag.tag_id == tag_id)
                        )
                    else:
                        session.execute(
                            update(ImageTag)
                            .where(ImageTag.image_id == image_id, ImageTag.tag_id == tag_id)
                            .values(source=Source.AI, score=row.ai_score)
                        )
                    changed += 1
                    continue
                score = PRESENT_SCORE if present else REMOVED_SCORE
                if row is None:
                    session.execute(
                        insert(ImageTag).values(
                            image_id=image_id, tag_id=tag_id, source=Source.MANUAL, score=score, ai_score=None
                        )
                    )
                else:
                    session.execute(
                        update(ImageTag)
                        .where(ImageTag.image_id == image_id, ImageTag.tag_id == tag_id)
                        .values(source=Source.MANUAL, score=score)
                    )
                changed += 1
        return changed

    def set_imported_tags(self, image_id: int, names: Iterable[str]) -> None:
        """Make ``names`` the image's imported keywords (from sidecars or embedded metadata).

        Keywords no longer there lose their imported row (falling back to the model's score);
        a manual edit of the same tag wins over an import.
        """
        wanted = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
        tag_ids = dict(zip(wanted, self.ensure_tags(wanted), strict=True))
        with self.Session.begin() as session:
            rows = {
                row.tag_id: row
                for row in session.execute(
                    select(ImageTag.tag_id, ImageTag.source, ImageTag.ai_score).where(ImageTag.image_id == image_id)
                )
            }
            keep = set(tag_ids.values())
            for tag_id, row in rows.items():
                if row.source == Source.IMPORTED and tag_id not in keep:
                    where = (ImageTag.image_id == image_id, ImageTag.tag_id == tag_id)
                    if row.ai_score is None:
                        session.execute(delete(ImageTag).where(*where))
                    else:
                        session.execute(update(ImageTag).where(*where).values(source=Source.AI, score=row.ai_score))
            for tag_id in keep:
                row = rows.get(tag_id)
                if row is None:
                    session.execute(
                        insert(ImageTag).values(
                            image_id=image_id, tag_id=tag_id, source=Source.IMPORTED, score=PRESENT_SCORE, ai_score=None
                        )
                    )
                elif row.source == Source.AI:
                    session.execute(
                        update(ImageTag)
                        .where(ImageTag.image_id == image_id, ImageTag.tag_id == tag_id)
                        .values(source=Source.IMPORTED, score=PRESENT_SCORE)
                    )

    def accept_own_write(self, image_id: int, path: str) -> None:
        """After the app wrote metadata into an image file, record its new size, mtime and hash, so
        the next scan sees no change (the pixels did not change) and does not retag it."""
        stat = os.stat(path)
        with self.Session.begin() as session:
            session.execute(
                update(Image)
                .where(Image.id == image_id)
                .values(size=stat.st_size, mtime=stat.st_mtime, content_hash=hash_file(path))
            )

    def set_sidecar_mtime(self, image_id: int, mtime: float | None) -> None:
        with self.Session.begin() as session:
            session.execute(update(Image).where(Image.id == image_id).values(sidecar_mtime=mtime))

    def metadata_record(self, image_id: int, target: str) -> MetadataWrite | None:
        with self.Session() as session:
            return session.get(MetadataWrite, (image_id, target))

    def record_metadata_write(
        self, image_id: int, target: str, path: str, keywords: list[str] | dict, file_mtime: float | None
    ) -> None:
        with self.Session.begin() as session:
            session.merge(
                MetadataWrite(
                    image_id=image_id,
                    target=target,
                    path=path,
                    keywords=json.dumps(keywords, ensure_ascii=False),
                    file_mtime=file_mtime,
                    written_at=_now(),
                )
            )

    def image_tags(self, image_id: int, threshold: float | None = None) -> list[TagView]:
        """Every stored tag of an image, best first, with its source and whether it counts at the threshold."""
        base = self.threshold if threshold is None else check_threshold(threshold)
        overrides = self._threshold_overrides()
        with self.Session() as session:
            rows = session.execute(
                select(Tag.id, Tag.name, ImageTag.score, ImageTag.source, ImageTag.ai_score)
                .join(Tag, Tag.id == ImageTag.tag_id)
                .where(ImageTag.image_id == image_id)
                .order_by(ImageTag.score.desc(), Tag.name)
            ).all()
        return [
            TagView(
                row.name,
                row.score,
                Source.NAMES[row.source],
                row.ai_score,
                overrides.get(row.id, base),
                row.id in overrides,
            )
            for row in rows
        ]

    def image(self, image_id: int) -> Image | None:
        with self.Session() as session:
            return session.get(Image, image_id)

    def images(self, ids: Sequence[int]) -> list[Image]:
        """Images by id, in the order given."""
        with self.Session() as session:
            found = {img.id: img for img in session.scalars(select(Image).where(Image.id.in_(list(ids))))}
        return [found[i] for i in ids if i in found]

    def image_by_path(self, path: str | os.PathLike[str]) -> Image | None:
        with self.Session() as session:
            return session.scalar(select(Image).where(Image.path == str(Path(path).resolve())))

    # --- search ---------------------------------------------------------------------------

    def _compile(self, query: str | Node, threshold: float | None) -> tuple[Node, TagResolver]:
        node = parse(query) if isinstance(query, str) else query
        return node, TagResolver(self._lookup_tags, self._threshold_lookup(threshold), self._estimate)

    def _estimate(self, tag_id: int, score: float) -> int:
        """How many images have ``tag_id`` at or above ``score`` (from the histogram, to plan queries)."""
        bucket = round(score * 100)
        with self.engine.connect() as connection:
            return connection.execute(
                select(func.coalesce(func.sum(TagHistogram.count), 0)).where(
                    TagHistogram.tag_id == tag_id, TagHistogram.bucket >= bucket
                )
            ).scalar_one()

    def search(
        self,
        query: str | Node,
        threshold: float | None = None,
        limit: int | None = None,
        offset: int = 0,
        sort: str = "path",
    ) -> SearchResult:
        """Ids of matching images in ``sort`` order. Raises QueryError for a malformed query."""
        statement, warnings = self._search_statement(query, threshold, sort, limit, offset, (Image.id,))
        with self.engine.connect() as connection:
            ids = list(connection.execute(statement).scalars())
        return SearchResult(ids, warnings)

    def _search_statement(
        self,
        query: str | Node,
        threshold: float | None,
        sort: str,
        limit: int | None,
        offset: int,
        columns: tuple,
        folder: str | None = None,
    ):  # noqa: ANN202 - (Select, warnings)
        node, resolver = self._compile(query, threshold)
        score_ids: list[int] = []
        if sort.lstrip("-") == "score":
            for term in tag_terms(node):
                score_ids += resolver.lookup(term.name, term.exact)
        statement = build_select(node, resolver, sort, score_ids, columns=columns)
        if folder:
            statement = statement.where(self._folder_condition(folder))
        if limit is not None:
            statement = statement.limit(limit)
        if offset:
            statement = statement.offset(offset)
        return statement, resolver.warnings

    def search_rows(
        self,
        query: str | Node,
        threshold: float | None = None,
        sort: str = "path",
        limit: int | None = None,
        folder: str | None = None,
    ) -> tuple[list[tuple[int, str, str | None, str]], list[str]]:
        """Like ``search`` but with (id, path, content hash, status) per image, for the GUI's grid.

        ``folder`` keeps images in that folder and below it.
        """
        columns = (Image.id, Image.path, Image.content_hash, Image.status)
        statement, warnings = self._search_statement(query, threshold, sort, limit, 0, columns, folder)
        with self.engine.connect() as connection:
            rows = [tuple(row) for row in connection.execute(statement)]
        return rows, warnings

    def retag(self, image_ids: Iterable[int]) -> int:
        """Queue images for tagging again (manual edits are kept). Returns how many were queued."""
        ids = list(image_ids)
        queued = 0
        with self.Session.begin() as session:
            for start in range(0, len(ids), _IN_CHUNK):
                queued += session.execute(
                    update(Image)
                    .where(
                        Image.id.in_(ids[start : start + _IN_CHUNK]), Image.status.in_([Status.TAGGED, Status.ERROR])
                    )
                    .values(status=Status.PENDING, error=None)
                ).rowcount
        return queued

    def tagged_by_other_models(self, model_name: str) -> list[int]:
        """Tagged images whose scores came from a model other than ``model_name`` (another
        network, or another version of it): what ``autotag --retag`` queues."""
        with self.engine.connect() as connection:
            return list(
                connection.execute(
                    select(Image.id).where(Image.status == Status.TAGGED, Image.model != model_name)
                ).scalars()
            )

    def count(self, query: str | Node, threshold: float | None = None) -> int:
        node, resolver = self._compile(query, threshold)
        inner = build_select(node, resolver).order_by(None).subquery()
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(inner)).scalar_one()

    def _data_version(self) -> int | None:
        """Changes whenever any other connection (this process's pool included) commits; None: unknown."""
        if self._version_connection is None:
            return None
        with self._version_lock:
            return self._version_connection.execute("PRAGMA data_version").fetchone()[0]

    def autocomplete(self, prefix: str, limit: int = 15, threshold: float | None = None) -> list[tuple[str, int]]:
        """Tags starting with ``prefix`` and how many images have them at the threshold, most used first.

        Counts for the whole vocabulary are cached until the database changes, so typing stays
        instant; while the data is changing (tagging in progress) each call asks the histogram.
        """
        base = self.threshold if threshold is None else check_threshold(threshold)
        prefix = prefix.lstrip("-")
        version = self._data_version()
        cached = self._completion_cache
        if version is not None and cached is not None and cached[0] == (version, base):
            names, counts = cached[1], cached[2]
            start = bisect.bisect_left(names, prefix)
            end = bisect.bisect_left(names, prefix + "\U0010ffff", lo=start)
            matches = sorted(range(start, end), key=lambda i: (-counts[i], names[i]))[:limit]
            return [(names[i], counts[i]) for i in matches]
        if version is not None and self._last_version == version:
            totals = dict(self._tag_totals(base, ""))
            with self.Session() as session:
                names = list(session.scalars(select(Tag.name).order_by(Tag.name)))
            self._completion_cache = ((version, base), names, [totals.get(n, 0) for n in names])
            return self.autocomplete(prefix, limit, threshold)
        self._last_version = version
        return self._tag_totals(base, prefix, limit, include_unused=True)

    def _tag_totals(
        self, base: float, prefix: str, limit: int | None = None, include_unused: bool = False
    ) -> list[tuple[str, int]]:
        bucket_floor = func.cast(func.round(func.coalesce(TagThreshold.threshold, base) * 100), Integer)
        total = func.coalesce(func.sum(TagHistogram.count), 0)
        statement = (
            select(Tag.name, total.label("n"))
            .join(TagThreshold, TagThreshold.tag_id == Tag.id, isouter=True)
            .join(
                TagHistogram,
                and_(TagHistogram.tag_id == Tag.id, TagHistogram.bucket >= bucket_floor),
                isouter=include_unused,
            )
            .group_by(Tag.id)
            .order_by(total.desc(), Tag.name)
        )
        if not include_unused:
            statement = statement.having(total > 0)
        if prefix:
            # A range on the unique index instead of LIKE, so punctuation needs no escaping.
            statement = statement.where(Tag.name >= prefix, Tag.name < prefix + "\U0010ffff")
        if limit:
            statement = statement.limit(limit)
        with self.engine.connect() as connection:
            return [(row.name, int(row.n)) for row in connection.execute(statement)]

    def tag_counts(
        self, threshold: float | None = None, contains: str = "", limit: int | None = None
    ) -> list[tuple[str, int]]:
        """Every tag in use with its image count at the threshold (for the GUI's tag list)."""
        base = self.threshold if threshold is None else check_threshold(threshold)
        rows = self._tag_totals(base, "", None if contains else limit)
        if contains:
            needle = contains.lower()
            rows = [row for row in rows if needle in row[0].lower()][:limit]
        return rows

    def result_tag_counts(
        self, query: str | Node, threshold: float | None = None, folder: str | None = None, limit: int = 2000
    ) -> list[tuple[str, int]]:
        """Tags of the images a search finds, with how many of them have each (like Hydrus' tag list)."""
        base = self.threshold if threshold is None else check_threshold(threshold)
        statement, _ = self._search_statement(query, threshold, "added", None, 0, (Image.id,), folder)
        found = statement.order_by(None).subquery()
        per_tag = func.coalesce(TagThreshold.threshold, base)
        total = func.count().label("n")
        counted = (
            select(Tag.name, total)
            .select_from(ImageTag)
            .join(found, found.c.id == ImageTag.image_id)
            .join(Tag, Tag.id == ImageTag.tag_id)
            .join(TagThreshold, TagThreshold.tag_id == ImageTag.tag_id, isouter=True)
            .where(ImageTag.score >= 0, ImageTag.score >= per_tag)
            .group_by(ImageTag.tag_id)
            .order_by(total.desc(), Tag.name)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [(row.name, int(row.n)) for row in connection.execute(counted)]

    def _folder_condition(self, folder: str):  # noqa: ANN202 - a SQL condition
        """Images in the absolute ``folder`` or below it (nothing when no root holds it)."""
        folder = os.path.normpath(folder)
        for root in sorted(self.roots(), key=lambda r: len(r.path), reverse=True):
            if folder == root.path or folder.startswith(root.path.rstrip(os.sep) + os.sep):
                return in_folder(root.id, os.path.relpath(folder, os.path.dirname(root.path)))
        return Image.id < 0

    def folder_counts(self) -> list[tuple[str, int]]:
        """Every folder holding images (missing ones left out), as an absolute path, and how many
        images it holds directly."""
        statement = (
            select(Root.path, Image.folder, func.count())
            .join(Root, Root.id == Image.root_id)
            .where(Image.status != Status.MISSING)
            .group_by(Image.root_id, Image.folder)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(statement).all()
        return sorted((os.path.join(os.path.dirname(root), folder), int(count)) for root, folder, count in rows)

    def selection_tags(self, image_ids: Sequence[int], threshold: float | None = None) -> list[SelectionTag]:
        """The union of the tags of ``image_ids``, with how many of them have each, most shared first.

        Counted by SQLite per chunk of ids (a 100,000-image selection never becomes millions of
        Python rows); a tag's own threshold counts where it has one.
        """
        base = self.threshold if threshold is None else check_threshold(threshold)
        ids = list(dict.fromkeys(image_ids))
        limit = func.coalesce(TagThreshold.threshold, base)
        found: dict[str, SelectionTag] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(ids), 20_000):
                statement = (
                    select(
                        Tag.name,
                        func.count(),
                        func.max(ImageTag.score),
                        func.sum(case((ImageTag.source == Source.MANUAL, 1), else_=0)),
                        limit,
                        TagThreshold.threshold.is_not(None),
                    )
                    .select_from(ImageTag)
                    .join(Tag, Tag.id == ImageTag.tag_id)
                    .join(TagThreshold, TagThreshold.tag_id == ImageTag.tag_id, isouter=True)
                    .where(ImageTag.image_id.in_(ids[start : start + 20_000]), ImageTag.score >= limit)
                    .group_by(ImageTag.tag_id)
                )
                for name, count, best, manual, threshold_in_force, overridden in connection.execute(statement):
                    entry = found.setdefault(name, SelectionTag(name, 0, 0.0, 0, threshold_in_force, overridden))
                    entry.count += count
                    entry.best_score = max(entry.best_score, best)
                    entry.manual += manual
        return sorted(found.values(), key=lambda e: (-e.count, -e.best_score, e.name))

    def tag_states(self, image_ids: Iterable[int], tag: str) -> dict[int, TagState]:
        """How ``tag`` stands on each image now, so an edit can be undone exactly."""
        ids = list(dict.fromkeys(image_ids))
        tag_id = self.tag_id(tag)
        states: dict[int, TagState] = dict.fromkeys(ids)
        if tag_id is None:
            return states
        with self.Session() as session:
            for start in range(0, len(ids), 20_000):
                rows = session.execute(
                    select(ImageTag.image_id, ImageTag.source, ImageTag.score, ImageTag.ai_score).where(
                        ImageTag.tag_id == tag_id, ImageTag.image_id.in_(ids[start : start + 20_000])
                    )
                )
                for image_id, source, score, ai_score in rows:
                    states[image_id] = (source, score, ai_score)
        return states

    def restore_tag_states(self, tag: str, states: dict[int, TagState]) -> None:
        """Put ``tag`` back as ``tag_states`` found it (the undo of a tag edit)."""
        (tag_id,) = self.ensure_tags([tag])
        ids = list(states)
        with self.Session.begin() as session:
            for start in range(0, len(ids), 20_000):
                session.execute(
                    delete(ImageTag).where(
                        ImageTag.tag_id == tag_id, ImageTag.image_id.in_(ids[start : start + 20_000])
                    )
                )
            rows = [
                {"image_id": image_id, "tag_id": tag_id, "source": s[0], "score": s[1], "ai_score": s[2]}
                for image_id, s in states.items()
                if s is not None
            ]
            if rows:
                session.execute(insert(ImageTag), rows)

    def rebuild_histogram(self) -> None:
        """Recompute the tag histogram from scratch (after bulk loads or to repair)."""
        with self.engine.begin() as connection:
            connection.execute(delete(TagHistogram))
            bucket = func.cast(func.min(ImageTag.score, 1.0) * 100, Integer)
            counted = (
                select(ImageTag.tag_id, bucket.label("bucket"), func.count().label("count"))
                .join(Image, Image.id == ImageTag.image_id)
                .where(ImageTag.score >= 0, Image.status != Status.MISSING)
                .group_by(ImageTag.tag_id, bucket)
            )
            connection.execute(insert(TagHistogram).from_select(["tag_id", "bucket", "count"], counted))
