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
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pyroaring import BitMap
from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import aliased, sessionmaker
from sqlalchemy.sql import Select

from joytag_desktop.errors import JoyTagError
from joytag_desktop.files import NOT_UTF8, valid_text
from joytag_desktop.hashing import hash_file_and_picture
from joytag_desktop.library import db, dialect, mounts, work
from joytag_desktop.library.query import SORTS, Node, field_terms, parse, tag_terms
from joytag_desktop.library.schema import (
    PRESENT_SCORE,
    RATINGS,
    REMOVED_SCORE,
    USER,
    Claim,
    Image,
    ImageModel,
    ImageTag,
    MetadataWrite,
    Model,
    ModelThreshold,
    Root,
    RootMount,
    Setting,
    Source,
    Status,
    Tag,
    TagHistogram,
    TagThreshold,
)
from joytag_desktop.library.search import TagResolver, build_select, glob_to_like, in_folder, json_ids
from joytag_desktop.library.search_index import SearchIndex
from joytag_desktop.library.similar import LIKE_LIMIT, Match, Similarity, SimilarityError
from joytag_desktop.library.thresholds import (
    DEFAULT_STORAGE_FLOOR,
    DEFAULT_THRESHOLD,
    PRESETS,
    ThresholdRules,
    check_threshold,
)

log = logging.getLogger(__name__)
if TYPE_CHECKING:  # numpy and the scanner (Pillow, exifread) load when needed: a search needs neither
    import numpy as np

    from joytag_desktop.library.scanner import ScanProgress, ScanReport
    from joytag_desktop.taggers.contract import TaggerFolder

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
    score: float  # what decides: 1.0 / -1.0 for the user's addition / removal, else the best model score
    source: str  # ai, manual or imported
    ai_score: float | None  # the best searched model's score (None: no model scored it above the floor)
    threshold: float  # the threshold in force for the best model
    overridden: bool = False  # the tag has its own threshold
    category: str = "general"
    scores: dict[str, float] = field(default_factory=dict)  # model name -> score (every model)
    thresholds: dict[str, float] = field(default_factory=dict)  # searched model name -> threshold in force
    fixed: set[str] = field(default_factory=set)  # models whose threshold does not follow the library's

    @property
    def present(self) -> bool:
        if self.source != "ai":
            return self.score > 0
        return any(self.scores[m] >= t for m, t in self.thresholds.items() if m in self.scores)

    def present_at(self, global_threshold: float) -> bool:
        """Whether it counts if the library threshold were ``global_threshold`` (for live sliders)."""
        if self.source != "ai":
            return self.score > 0
        return any(
            self.scores[m] >= (t if m in self.fixed else global_threshold)
            for m, t in self.thresholds.items()
            if m in self.scores
        )


@dataclass
class ModelInfo:
    """A model of the library (``models`` row) as the CLI and GUI list it."""

    id: int
    name: str
    format: str
    version: str
    fingerprint: str
    path: str | None
    auto: bool
    searched: bool
    images: int = 0  # images it has tagged (their current content)


@dataclass
class SelectionTag:
    """One tag across a selection of images: how many of them have it (for tri-state editing)."""

    name: str
    count: int  # images of the selection where the tag counts at the threshold
    best_score: float  # the highest effective score among them (1.0 when added by hand)
    manual: int  # images where a manual edit decides it
    threshold: float
    overridden: bool
    category: str = "general"


# How the user's word on one tag of one image stood, to put it back exactly (undo): (source, score),
# or None where the user had said nothing (the models' scores are never touched by edits).
TagState = tuple[int, float] | None


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


@dataclass
class _QueryContext:
    """What every search reads from the library's settings (see ``Library._query_context``)."""

    models: list[tuple[int, str, bool]]  # id, name, searched
    searched: list[int]
    rules: ThresholdRules
    find_tags: Callable[[str, bool, str | None], list[int]]
    read_names: Callable[[], list[tuple[int, str]]]
    found: dict[tuple[str, bool, str | None], list[int]] = field(default_factory=dict)
    _names: list[tuple[int, str]] | None = None

    @property
    def tag_names(self) -> list[tuple[int, str]]:
        """(id, name) of every tag, by name; read on first use."""
        if self._names is None:
            self._names = self.read_names()
        return self._names

    def lookup(self, name: str, exact: bool, category: str | None) -> list[int]:
        key = (name, exact, category)
        if key not in self.found:
            self.found[key] = self.find_tags(name, exact, category)
        return self.found[key]


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
        self._categories: dict[int, str] | None = None
        # Scans and watcher changes read, then write: one at a time within this process.
        self._index_lock = threading.RLock()
        self._completion_cache: tuple[tuple[int, float], list[str], list[int]] | None = None
        self._last_version: int | None = None
        self._version_lock = threading.Lock()
        self._version_connection: sqlite3.Connection | None = None
        database = self.engine.url.database
        if self.engine.url.get_backend_name() == "sqlite" and database and database != ":memory:":
            self._version_connection = sqlite3.connect(database, check_same_thread=False)
        self._load_mounts()
        # Posting lists answer tag searches and counts; SQL answers what they cannot (see fast_search).
        self.search_index = SearchIndex(self.engine, self.get_setting, self.set_setting)
        # Vector indexes for more-like-this, like: terms and duplicates (built on first use).
        self.similarity = Similarity(self)
        self._names_cache: tuple[tuple, list[str], list[int]] | None = None
        self._context_cache: tuple[int, _QueryContext] | None = None
        self._stored_batches = 0

    def close(self) -> None:
        self.similarity.close()
        self.search_index.close()
        with self._version_lock:
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
        """The library threshold: general tags of every model follow it (their published general
        thresholds give way), and every category a model has no threshold of its own for."""
        value = check_threshold(value)
        with self.Session.begin() as session:
            session.merge(Setting(key="threshold", value=repr(value)))
            session.execute(delete(ModelThreshold).where(ModelThreshold.category == "general"))

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

    def threshold_rules(self, threshold: float | None = None) -> ThresholdRules:
        """The rules in force (``threshold``: a one-off threshold for every model, as ``--threshold``)."""
        per_model: dict[int, dict[str, float]] = {}
        with self.Session() as session:
            for model_id, category, value in session.execute(
                select(ModelThreshold.model_id, ModelThreshold.category, ModelThreshold.threshold)
            ):
                per_model.setdefault(model_id, {})[category] = value
        override = None if threshold is None else check_threshold(threshold)
        return ThresholdRules(self.threshold, override, self._threshold_overrides(), per_model)

    def model_thresholds(self) -> dict[str, dict[str, float]]:
        """Per model name, its own per-category thresholds (the rest follow the library threshold)."""
        with self.Session() as session:
            rows = session.execute(
                select(Model.name, ModelThreshold.category, ModelThreshold.threshold).join(
                    Model, Model.id == ModelThreshold.model_id
                )
            ).all()
        found: dict[str, dict[str, float]] = {}
        for name, category, value in rows:
            found.setdefault(name, {})[category] = value
        return found

    def set_model_threshold(self, model: str, category: str, value: float | None) -> None:
        """A model's threshold for one category; None: follow the library threshold."""
        info = self.model(model)
        with self.Session.begin() as session:
            session.execute(
                delete(ModelThreshold).where(ModelThreshold.model_id == info.id, ModelThreshold.category == category)
            )
            if value is not None:
                session.add(ModelThreshold(model_id=info.id, category=category, threshold=check_threshold(value)))

    # --- models ---------------------------------------------------------------------------

    def models(self) -> list[ModelInfo]:
        """Every model of the library, in the order they were added, with how many images each tagged."""
        with self.Session() as session:
            counts = dict(
                session.execute(select(ImageModel.model_id, func.count()).group_by(ImageModel.model_id)).all()
            )
            rows = session.scalars(select(Model).order_by(Model.id)).all()
        return [
            ModelInfo(m.id, m.name, m.format, m.version, m.fingerprint, m.path, m.auto, m.searched, counts.get(m.id, 0))
            for m in rows
        ]

    def model(self, name: str) -> ModelInfo:
        found = next((m for m in self.models() if m.name == name), None)
        if found is None:
            known = ", ".join(m.name for m in self.models()) or "none yet"
            raise LibraryError(f"no model named {name!r} in this library (it has: {known})")
        return found

    def register_model(self, tagger: TaggerFolder) -> ModelInfo:
        """The library's row for a loaded tagger, added on first use (with the model's published
        per-category thresholds). The same weights are found by fingerprint wherever they are; new
        weights in a known folder replace that model's, and its images are queued to be tagged again."""
        fingerprint = tagger.fingerprint()
        path = str(tagger.path)
        try:
            model_id = self._register_model(tagger, fingerprint, path)
        except (IntegrityError, OperationalError):  # another process registered it at the same moment
            model_id = self._register_model(tagger, fingerprint, path)
        self._requeue()
        return next(m for m in self.models() if m.id == model_id)

    def _register_model(self, tagger: TaggerFolder, fingerprint: str, path: str) -> int:
        with self.Session.begin() as session:
            dialect.serialize(session, dialect.MODEL_REGISTRATION_LOCK)  # workers starting together
            found = session.scalar(select(Model).where(Model.fingerprint == fingerprint))
            if found is None:
                found = session.scalar(select(Model).where(Model.path == path))
                if found is not None:  # new weights where the model was: its taggings are stale
                    session.execute(delete(ImageModel).where(ImageModel.model_id == found.id))
            if found is None:
                taken = set(session.scalars(select(Model.name)))
                name, n = tagger.path.name, 2
                while name in taken:
                    name, n = f"{tagger.path.name}-{n}", n + 1
                found = Model(
                    name=name,
                    format=tagger.family.name,
                    version=tagger.variant,
                    fingerprint=fingerprint,
                    path=path,
                    auto=False,
                    searched=True,
                    added_at=_now(),
                )
                session.add(found)
                session.flush()
                default, per_category = tagger.policy.thresholds_for(None)
                if self.get_setting("threshold") is None:  # the user has not chosen a general threshold
                    per_category = {"general": default} | per_category
                for category, value in per_category.items():
                    if category != "general" or value != DEFAULT_THRESHOLD:
                        session.add(ModelThreshold(model_id=found.id, category=category, threshold=value))
            found.format, found.version, found.fingerprint, found.path = (
                tagger.family.name,
                tagger.variant,
                fingerprint,
                path,
            )
            return found.id

    def add_model(
        self, name: str, format: str = "joytag", thresholds: dict[str, float] | None = None, auto: bool = False
    ) -> ModelInfo:
        """A model row without loading a tagger (benchmarks and tests that store chosen scores)."""
        with self.Session.begin() as session:
            model = Model(name=name, format=format, version="", fingerprint=name, auto=auto, searched=True,
                          added_at=_now())  # fmt: skip
            session.add(model)
            session.flush()
            for category, value in (thresholds or {}).items():
                session.add(ModelThreshold(model_id=model.id, category=category, threshold=value))
        self._requeue()
        return self.model(name)

    def add_auto_models(self, names: Sequence[str]) -> None:
        """Add models to those that tag new and changed files."""
        current = [m.name for m in self.models() if m.auto]
        self.set_auto_models(list(dict.fromkeys([*current, *names])))

    def set_auto_models(self, names: Sequence[str]) -> None:
        """The models that tag new and changed files; images one of them has not tagged are queued."""
        ids = [self.model(name).id for name in names]
        with self.Session.begin() as session:
            session.execute(update(Model).values(auto=Model.id.in_(ids) if ids else False))
        self._requeue()

    def set_model_searched(self, name: str, searched: bool) -> None:
        """Whether a model's scores count in searches and counts (its scores stay stored)."""
        model_id = self.model(name).id
        with self.Session.begin() as session:
            session.execute(update(Model).where(Model.id == model_id).values(searched=searched))

    def _requeue(self) -> None:
        """Keep "tagged" meaning "tagged by every automatic model": images one of them lacks are
        pending, and pending images they all have tagged are tagged."""
        lacking = exists().where(
            Model.auto, ~exists().where(ImageModel.image_id == Image.id, ImageModel.model_id == Model.id)
        )
        with self.Session.begin() as session:
            session.execute(update(Image).where(Image.status == Status.TAGGED, lacking).values(status=Status.PENDING))
            session.execute(
                update(Image)
                .where(
                    Image.status == Status.PENDING,
                    exists().where(Model.auto),
                    ~lacking,
                )
                .values(status=Status.TAGGED)
            )

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
        if not valid_text(text):
            raise LibraryError(f"{text}: {NOT_UTF8}")
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
        """The library's folders as this machine sees them: its own path and whether it is
        mounted here (another machine's unmounted drive is not offline here)."""
        with self.Session() as session:
            roots = list(session.scalars(select(Root).order_by(Root.path)))
            here = dict(
                session.execute(
                    select(RootMount.root_id, RootMount.online).where(RootMount.machine == mounts.machine_name())
                ).all()
            )
        for root in roots:
            root.online = here.get(root.id, True)
        return roots

    # --- one photo store, many mount points -----------------------------------------------

    def _load_mounts(self) -> None:
        """Install this machine's paths of the roots mounted elsewhere than where they were added."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT r.path, m.path FROM root_mounts m JOIN roots r ON r.id = m.root_id"
                    " WHERE m.machine = :machine"
                ),
                {"machine": mounts.machine_name()},
            ).all()
        mounts.install(self.engine, mounts.MountMap([mounts.Mount(stored, local) for stored, local in rows]))

    def map_root(self, root: str, local: str | os.PathLike[str]) -> Root:
        """Tell the library where this machine finds a root: ``root`` is the root as listed (its
        path where it was added, or its id), ``local`` the folder here (``/Volumes/photos``)."""
        folder = Path(local).expanduser()
        if not folder.is_dir():
            raise LibraryError(f"{folder} is not a folder on this machine")
        local_text = str(folder.resolve())
        with self.engine.connect() as connection:  # the stored paths, untranslated
            rows = connection.execute(text("SELECT id, path, uid FROM roots")).all()
        current = mounts.of(self.engine.dialect)
        names = {root, current.to_stored(root)} if current else {root}  # also as this machine shows it now
        found = [row for row in rows if row.path in names or row.uid == root]
        if not found:
            known = ", ".join(row.path for row in rows) or "none"
            raise LibraryError(f"no library folder {root!r} (the library has: {known})")
        root_id = found[0].id
        with self.engine.begin() as connection:
            connection.execute(
                dialect.insert(RootMount, self.engine.dialect.name)
                .values(root_id=root_id, machine=mounts.machine_name(), path=local_text, online=True)
                .on_conflict_do_update(index_elements=["root_id", "machine"], set_={"path": local_text, "online": True})
            )
        self._load_mounts()
        with self.Session() as session:
            return session.get(Root, root_id)

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

            report.keywords = import_keywords(self, report.keyword_sources)

    def forget_images(self, image_ids: Sequence[int]) -> int:
        """Delete these images' rows (and their tags): their files went to the trash."""
        ids = list(image_ids)
        removed = 0
        with self.Session.begin() as session:
            for start in range(0, len(ids), _IN_CHUNK):
                removed += session.execute(delete(Image).where(Image.id.in_(ids[start : start + _IN_CHUNK]))).rowcount
        return removed

    def purge_missing(self) -> int:
        """Delete images marked missing (and their tags). Returns how many were removed."""
        with self.Session.begin() as session:
            return session.execute(delete(Image).where(Image.status == Status.MISSING)).rowcount

    # --- tags -----------------------------------------------------------------------------

    def ensure_tags(self, names: Sequence[str], categories: Sequence[str] | None = None) -> list[int]:
        """Ids of these tags, creating the ones the library does not know yet.

        ``categories`` (a model's, one per name): new tags get theirs, and a tag known only as
        general or as an imported keyword takes a model's more specific category."""
        if categories is not None:
            self._set_categories(names, categories)
        with self._tag_lock:
            unknown = [name for name in names if name not in self._tag_ids]
            if unknown:
                unknown = list(dict.fromkeys(unknown))
                with self.Session.begin() as session:
                    session.execute(
                        dialect.insert(Tag, self.engine.dialect.name).on_conflict_do_nothing(index_elements=["name"]),
                        [{"name": name, "category": "general"} for name in unknown],
                    )
                    for start in range(0, len(unknown), _IN_CHUNK):  # SQLite binds at most 32,766 variables
                        chunk = unknown[start : start + _IN_CHUNK]
                        self._tag_ids.update(session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(chunk))).all())
            return [self._tag_ids[name] for name in names]

    def _set_categories(self, names: Sequence[str], categories: Sequence[str]) -> None:
        specific = {n: c for n, c in zip(names, categories, strict=True) if c != "general"}
        if not specific:
            return
        with self._tag_lock, self.Session.begin() as session:
            session.execute(
                dialect.insert(Tag, self.engine.dialect.name).on_conflict_do_nothing(index_elements=["name"]),
                [{"name": name, "category": category} for name, category in specific.items()],
            )
            session.connection().execute(
                update(Tag)
                .where(Tag.name == bindparam("n"), or_(Tag.category == "general", Tag.category == "keyword"))
                .values(category=bindparam("c")),
                [{"n": name, "c": category} for name, category in specific.items()],
            )
            self._categories = None

    def category_of(self, tag_id: int) -> str:
        """A tag's category (cached; tags only gain categories when a model brings them)."""
        with self._tag_lock:
            cached = self._categories
        if cached is None or tag_id not in cached:
            with self.Session() as session:
                cached = {row.id: row.category for row in session.execute(select(Tag.id, Tag.category))}
            with self._tag_lock:
                self._categories = cached
        return cached.get(tag_id, "general")

    def tag_categories(self, names: Iterable[str]) -> dict[str, str]:
        """The category of each named tag (for the GUI's grouped tag lists)."""
        wanted = list(dict.fromkeys(names))
        found: dict[str, str] = {}
        with self.Session() as session:
            for start in range(0, len(wanted), 20_000):
                chunk = wanted[start : start + 20_000]
                found.update(
                    (name, category)
                    for name, category in session.execute(select(Tag.name, Tag.category).where(Tag.name.in_(chunk)))
                )
        return found

    def tag_id(self, name: str) -> int | None:
        if name in self._tag_ids:
            return self._tag_ids[name]
        with self.Session() as session:
            tag_id = session.scalar(select(Tag.id).where(Tag.name == name))
        if tag_id is not None:
            self._tag_ids[name] = tag_id
        return tag_id

    def _lookup_tags(self, name: str, exact: bool, category: str | None = None) -> list[int]:
        if category is not None:
            return [t for t in self._lookup_tags(name, exact) if self.category_of(t) == category]
        with self.Session() as session:
            if not exact and ("*" in name or "?" in name):
                if name == "*":
                    return list(session.scalars(select(Tag.id)))
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

    def pending_images(
        self, limit: int, after_id: int = 0, model_id: int | None = None
    ) -> list[tuple[int, str, str | None]]:
        """The work queue: (id, path, content hash) of pending images in id order (with ``model_id``:
        those that model has not tagged yet)."""
        not_done = (
            []
            if model_id is None
            else [~exists().where(ImageModel.image_id == Image.id, ImageModel.model_id == model_id)]
        )
        with self.Session() as session:
            rows = session.execute(
                select(Image.id, Image.path, Image.content_hash)
                .where(Image.status == Status.PENDING, Image.id > after_id, *not_done)
                .order_by(Image.id)
                .limit(limit)
            )
            return [(row.id, row.path, row.content_hash) for row in rows]

    def pending_count(self, model_id: int) -> int:
        """Pending images that ``model_id`` has not tagged yet."""
        with self.Session() as session:
            return session.scalar(
                select(func.count()).where(
                    Image.status == Status.PENDING,
                    ~exists().where(ImageModel.image_id == Image.id, ImageModel.model_id == model_id),
                )
            )

    def count_by_status(self) -> dict[str, int]:
        with self.Session() as session:
            rows = session.execute(select(Image.status, func.count()).group_by(Image.status)).all()
            return {status: 0 for status in Status.ALL} | dict(rows)

    def store_results(
        self,
        results: Sequence[ImageResult],
        model: ModelInfo,
        tags: Sequence[str],
        categories: Sequence[str] | None = None,
        worker: str | None = None,
    ) -> int:
        """Write one batch of one model's results in one transaction; returns how many were stored.

        Only this model's rows are replaced: other models' scores and the user's manual and imported
        tags stay. A result for an image that went missing, was forgotten, or whose content changed
        since it was claimed is dropped (the image stays pending and is tagged again). ``categories``
        (one per tag) give the rating: the rating tag this model scores highest. With ``worker``
        (a ``WorkQueue``'s id) only the images it still holds a claim on are stored, and those
        claims end in the same transaction.
        """
        import numpy as np

        tag_ids = np.asarray(self.ensure_tags(tags, categories), dtype=np.int64)
        rating_index = [
            (i, RATINGS.index(name.removeprefix("rating:")))
            for i, (name, category) in enumerate(zip(tags, categories or [], strict=False))
            if category == "rating" and name.removeprefix("rating:") in RATINGS
        ]
        floor = self.storage_floor
        now = _now()
        server = self.similarity.server_vectors()  # before the transaction: it may create its table
        with self.Session.begin() as session:
            current = dict(
                session.execute(
                    select(Image.id, Image.content_hash).where(
                        Image.id.in_([r.image_id for r in results]), Image.status != Status.MISSING
                    )
                ).all()
            )
            results = list({r.image_id: r for r in results}.values())  # one result per image
            if worker is not None:
                held = work.held_by(self, worker, model.id, [r.image_id for r in results], session)
                results = [r for r in results if r.image_id in held]
                session.execute(
                    delete(Claim).where(
                        Claim.worker == worker, Claim.model_id == model.id, Claim.image_id.in_(list(held))
                    )
                )
            results = [
                r
                for r in results
                if r.image_id in current and (r.content_hash is None or r.content_hash == current[r.image_id])
            ]
            ok = [r for r in results if r.error is None and r.scores is not None]
            ok_ids = [r.image_id for r in ok]
            session.execute(delete(ImageTag).where(ImageTag.image_id.in_(ok_ids), ImageTag.model_id == model.id))
            session.execute(delete(ImageModel).where(ImageModel.image_id.in_(ok_ids), ImageModel.model_id == model.id))
            new_rows: list[dict] = []
            for result in ok:
                scores = result.scores
                assert scores is not None
                for index in np.flatnonzero(scores >= floor):
                    new_rows.append(
                        {
                            "image_id": result.image_id,
                            "tag_id": int(tag_ids[index]),
                            "model_id": model.id,
                            "source": Source.AI,
                            "score": float(scores[index]),
                        }
                    )
                rating = max(rating_index, key=lambda r: scores[r[0]])[1] if rating_index else None
                session.add(
                    ImageModel(
                        image_id=result.image_id,
                        model_id=model.id,
                        tagged_at=now,
                        rating=rating,
                        embedding=None if result.embedding is None else result.embedding.astype("<f2").tobytes(),
                    )
                )
            session.flush()
            if new_rows:
                session.execute(insert(ImageTag), new_rows)
            if server is not None:  # pgvector: the server's index gets the embeddings in this transaction
                server.store(
                    session.connection(),
                    [(r.image_id, model.id, r.embedding) for r in ok if r.embedding is not None and len(r.embedding)],
                )
            if ok_ids:
                session.execute(
                    update(Image)
                    .where(Image.id.in_(ok_ids))
                    .values(status=Status.TAGGED, error=None, model=model.name, tagged_at=now)
                )
                # The rating: the highest any model gives, unless the user set one.
                best = select(func.max(ImageModel.rating)).where(ImageModel.image_id == Image.id).scalar_subquery()
                session.execute(
                    update(Image).where(Image.id.in_(ok_ids), Image.rating_manual.is_(False)).values(rating=best)
                )
            for result in results:
                if result.error is not None:
                    moved = [] if result.path is None else [Image.path == result.path]
                    session.execute(
                        update(Image)
                        .where(Image.id == result.image_id, *moved)
                        .values(status=Status.ERROR, error=result.error)
                    )
        self._stored_batches += 1
        if self._stored_batches % 100 == 0:  # a library tagged for days and never searched
            self.search_index.trim_log()
        return len(results)

    def set_rating(self, image_ids: Iterable[int], rating: str | None) -> int:
        """Set images' rating by hand (it then wins over the models'); None: back to the models' rating."""
        if rating is not None and rating not in RATINGS:
            raise LibraryError(f"unknown rating {rating!r}: use {', '.join(RATINGS)}")
        ids = list(dict.fromkeys(image_ids))
        best = select(func.max(ImageModel.rating)).where(ImageModel.image_id == Image.id).scalar_subquery()
        changed = 0
        with self.Session.begin() as session:
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = ids[start : start + _IN_CHUNK]
                values = (
                    {"rating": best, "rating_manual": False}
                    if rating is None
                    else {"rating": RATINGS.index(rating), "rating_manual": True}
                )
                changed += session.execute(update(Image).where(Image.id.in_(chunk)).values(**values)).rowcount
        return changed

    def manual_ratings(self, image_ids: Iterable[int]) -> dict[int, str | None]:
        """The rating the user set on each image (None: the models decide), to undo a rating edit."""
        ids = list(dict.fromkeys(image_ids))
        found: dict[int, str | None] = dict.fromkeys(ids)
        with self.Session() as session:
            for start in range(0, len(ids), _IN_CHUNK):
                rows = session.execute(
                    select(Image.id, Image.rating).where(
                        Image.id.in_(ids[start : start + _IN_CHUNK]), Image.rating_manual.is_(True)
                    )
                )
                found.update({image_id: RATINGS[rating] for image_id, rating in rows if rating is not None})
        return found

    def restore_manual_ratings(self, states: dict[int, str | None]) -> None:
        """Put back what ``manual_ratings`` recorded."""
        by_rating: dict[str | None, list[int]] = {}
        for image_id, rating in states.items():
            by_rating.setdefault(rating, []).append(image_id)
        for rating, ids in by_rating.items():
            self.set_rating(ids, rating)

    def set_manual_tag(self, image_ids: Iterable[int], tag: str, present: bool | None) -> int:
        """Add (True) or remove (False) ``tag`` by hand on images, or drop the manual override (None).

        A manual edit overrides every model and survives retagging. Returns how many images changed.
        """
        tag = check_tag_name(tag)
        (tag_id,) = self.ensure_tags([tag])
        ids = list(dict.fromkeys(image_ids))
        changed = 0
        with self.Session.begin() as session:
            existing = {
                row.image_id: row
                for row in session.execute(
                    select(ImageTag.image_id, ImageTag.source, ImageTag.score).where(
                        ImageTag.image_id.in_(ids), ImageTag.tag_id == tag_id, ImageTag.model_id == USER
                    )
                )
            }
            where = (ImageTag.tag_id == tag_id, ImageTag.model_id == USER)
            for image_id in ids:
                row = existing.get(image_id)
                if present is None:
                    if row is None or row.source != Source.MANUAL:
                        continue
                    session.execute(delete(ImageTag).where(ImageTag.image_id == image_id, *where))
                    changed += 1
                    continue
                score = PRESENT_SCORE if present else REMOVED_SCORE
                if row is None:
                    session.execute(
                        insert(ImageTag).values(
                            image_id=image_id, tag_id=tag_id, model_id=USER, source=Source.MANUAL, score=score
                        )
                    )
                elif (row.source, row.score) != (Source.MANUAL, score):
                    session.execute(
                        update(ImageTag)
                        .where(ImageTag.image_id == image_id, *where)
                        .values(source=Source.MANUAL, score=score)
                    )
                changed += 1
        return changed

    def set_imported_tags(self, image_id: int, names: Iterable[str]) -> bool:
        """Make ``names`` the image's imported keywords (from sidecars or embedded metadata).

        Keywords no longer there lose their imported row (the models' scores decide again); a
        manual edit of the same tag wins over an import. New tags from keywords are ``keyword``s.
        Returns whether the image's tags changed.
        """
        wanted = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
        tag_ids = dict(zip(wanted, self.ensure_tags(wanted), strict=True))
        with self.Session.begin() as session:
            if tag_ids:
                session.execute(
                    update(Tag)
                    .where(
                        Tag.id.in_(list(tag_ids.values())),
                        Tag.category == "general",
                        ~exists().where(ImageTag.tag_id == Tag.id, ImageTag.model_id != USER),
                    )
                    .values(category="keyword")
                )
                self._categories = None
            rows = dict(
                session.execute(
                    select(ImageTag.tag_id, ImageTag.source).where(
                        ImageTag.image_id == image_id, ImageTag.model_id == USER
                    )
                ).all()
            )
            keep = set(tag_ids.values())
            gone = [t for t, source in rows.items() if source == Source.IMPORTED and t not in keep]
            if gone:
                session.execute(
                    delete(ImageTag).where(
                        ImageTag.image_id == image_id, ImageTag.model_id == USER, ImageTag.tag_id.in_(gone)
                    )
                )
            new = [t for t in keep if t not in rows]
            if new:
                session.execute(
                    insert(ImageTag),
                    [
                        {"image_id": image_id, "tag_id": t, "model_id": USER, "source": Source.IMPORTED,
                         "score": PRESENT_SCORE}
                        for t in new
                    ],
                )  # fmt: skip
            return bool(gone or new)

    def accept_own_write(self, image_id: int, path: str, before: tuple[str, str | None] | None = None) -> None:
        """After the app wrote metadata into an image file, record its new size, mtime and hashes, so
        the next scan sees no change; the picture hash stays equal, so the taggings stay.

        ``before``: the file's (content hash, picture hash) read just before the write. For an image
        indexed before 0007 (no picture hash stored) whose file was still the one scanned, that picture
        hash is recorded first, so the taggings stay too (else the first embedded export after an
        upgrade would retag the library). Without any (a format without one) the taggings go;
        ``status`` is named so the same statement makes such an image pending on SQLite too (its
        trigger runs on a named status; PostgreSQL's on every update), never "tagged" by no model.
        """
        stat = os.stat(path)
        content_hash, picture_hash = hash_file_and_picture(path)
        with self.Session.begin() as session:
            if before is not None and before[1] is not None:
                session.execute(
                    update(Image)
                    .where(Image.id == image_id, Image.picture_hash.is_(None), Image.content_hash == before[0])
                    .values(picture_hash=before[1])
                )
            session.execute(
                update(Image)
                .where(Image.id == image_id)
                .values(
                    size=stat.st_size,
                    mtime=stat.st_mtime,
                    content_hash=content_hash,
                    picture_hash=picture_hash,
                    status=Image.status,
                )
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
        """Every stored tag of an image, best first: each model's score, the user's word, and
        whether it counts under the threshold rules (``threshold``: a one-off one for every model)."""
        rules = self.threshold_rules(threshold)
        with self.Session() as session:
            models = {m.id: m for m in session.scalars(select(Model))}
            rows = session.execute(
                select(Tag.id, Tag.name, Tag.category, ImageTag.model_id, ImageTag.source, ImageTag.score)
                .join(Tag, Tag.id == ImageTag.tag_id)
                .where(ImageTag.image_id == image_id)
            ).all()
        views: dict[int, TagView] = {}
        for row in rows:
            view = views.get(row.id)
            if view is None:
                view = views[row.id] = TagView(
                    row.name, 0.0, "ai", None, rules.threshold(-1, row.id, row.category), rules.overridden(row.id),
                    row.category,
                )  # fmt: skip
            if row.model_id == USER:
                view.source, view.score = Source.NAMES[row.source], row.score
                continue
            model = models.get(row.model_id)
            if model is None:
                continue
            view.scores[model.name] = row.score
            if not model.searched:
                continue
            limit = rules.threshold(model.id, row.id, row.category)
            view.thresholds[model.name] = limit
            if (
                rules.overridden(row.id)
                or rules.override is not None
                or row.category in rules.per_model.get(model.id, {})
            ):
                view.fixed.add(model.name)
            if view.ai_score is None or row.score - limit > view.ai_score - view.threshold:
                view.ai_score, view.threshold = row.score, limit
        for view in views.values():
            if view.source == "ai":
                view.score = view.ai_score if view.ai_score is not None else 0.0
        return sorted(views.values(), key=lambda v: (-v.score, v.name))

    def embedding(self, image_id: int, model: str) -> bytes | None:
        """The pooled embedding (float16 little-endian) ``model`` computed for the image's content."""
        with self.Session() as session:
            return session.scalar(
                select(ImageModel.embedding)
                .join(Model, Model.id == ImageModel.model_id)
                .where(ImageModel.image_id == image_id, Model.name == model)
            )

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
        return node, self._resolver(node, threshold)

    def _resolver(self, node: Node | None, threshold: float | None) -> TagResolver:
        """Tag lookups, threshold rules and the models that judge tag terms: the searched ones, or
        those the query's ``model:`` terms name."""
        context = self._query_context()
        by_name = {name: model_id for model_id, name, _ in context.models}
        named = [by_name[t.text] for t in field_terms(node, "model") if t.text in by_name] if node else []
        judging = list(dict.fromkeys(named)) or context.searched
        rules = context.rules
        if threshold is not None:
            rules = ThresholdRules(rules.base, check_threshold(threshold), rules.per_tag, rules.per_model)
        resolver = TagResolver(context.lookup, self.category_of, rules, judging, by_name, self._estimate)
        for term in field_terms(node, "like") if node else []:
            text = term.text or ""
            if text in resolver.similar:
                continue
            version = self._data_version()
            known = self.similarity.recall(text, version)
            if known is not None:
                resolver.similar[text] = list(known)
                continue
            try:
                matches = self.similarity.nearest(text, LIKE_LIMIT)
                self.similarity.remember(text, version, {m.image_id: m.similarity for m in matches})
                resolver.similar[text] = [m.image_id for m in matches]
            except (SimilarityError, LibraryError) as exc:
                resolver.warnings.append(f"like:{text}: {exc}")
                resolver.similar[text] = []
        return resolver

    def _query_context(self) -> _QueryContext:
        """Models, threshold rules and tag look-ups for searches, read again only after a commit
        (``PRAGMA data_version``): a query then costs its own work, not ten reads of settings."""
        version = self._data_version()
        cached = self._context_cache
        if version is not None and cached is not None and cached[0] == version:
            return cached[1]
        with self.Session() as session:
            models = [
                tuple(row) for row in session.execute(select(Model.id, Model.name, Model.searched).order_by(Model.id))
            ]
        context = _QueryContext(
            models, [m[0] for m in models if m[2]], self.threshold_rules(), self._lookup_tags, self._tag_names
        )
        self._context_cache = (version, context) if version is not None else None
        return context

    def _tag_names(self) -> list[tuple[int, str]]:
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(select(Tag.id, Tag.name).order_by(Tag.name))]

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
        found = self._fast_search(query, threshold, sort, limit, offset)
        if found is not None:
            return SearchResult(*found)
        statement, warnings = self._search_statement(query, threshold, sort, limit, offset, (Image.id,))
        with self.engine.connect() as connection:
            ids = list(connection.execute(statement).scalars())
        return SearchResult(ids, warnings)

    def _fast_search(
        self, query: str | Node, threshold: float | None, sort: str, limit: int | None, offset: int,
        folder: str | None = None,
    ) -> tuple[list[int], list[str]] | None:  # fmt: skip
        """The ids in order from the posting lists, or None where SQL answers (a one-off threshold,
        a sort by name, size or score)."""
        if sort.lstrip("-") not in SORTS:
            raise ValueError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)} (prefix - to reverse)")
        if sort.lstrip("-") not in ("path", "date", "added", "similarity"):
            return None
        node, resolver = self._compile(query, threshold)
        with self.search_index.acquire(resolver.rules) as index:
            if index is None:
                return None
            extra = self._folder_condition(folder) if folder else None
            hits = self._evaluator(index, resolver).matches(node, extra)
            wanted = len(hits) if limit is None else offset + limit
            if sort.lstrip("-") == "similarity":
                # The like: term's order; images outside it (an or) after, by path.
                ranked = [i for i in resolver.similarity_order if i in hits]
                others = hits - BitMap(ranked)
                if sort.startswith("-"):
                    ordered = (ranked + index.ordered(others, "path", len(others)))[::-1]
                else:
                    ordered = ranked + index.ordered(others, "path", max(0, wanted - len(ranked)))
                return ordered[offset:wanted], resolver.warnings
            return index.ordered(hits, sort, wanted)[offset:], resolver.warnings

    def _evaluator(self, index, resolver: TagResolver):  # noqa: ANN001, ANN202 - PostingIndex, Evaluator
        from joytag_desktop.library.fast_search import Evaluator  # numpy: only when searching

        return Evaluator(index, resolver, self._sql_ids, self._sql_rows)

    def _sql_rows(self, statement: Select) -> list[tuple]:
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(statement)]

    def _sql_ids(self, condition: ColumnElement[bool], candidates: BitMap | None) -> BitMap:
        """The images meeting an SQL condition (among ``candidates``, bound as one JSON text)."""
        statement = select(Image.id).where(condition)
        if candidates is not None:
            listed = dialect.listed_ids(json_ids(candidates), "ids")
            statement = statement.where(Image.id.in_(listed))
        with self.engine.connect() as connection:
            return BitMap(connection.execute(statement).scalars())

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
                score_ids += resolver.lookup(term.name, term.exact, term.category)
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
        found = self._fast_search(query, threshold, sort, limit, 0, folder)
        if found is not None:
            ids, warnings = found
            return self._grid_rows(ids), warnings
        statement, warnings = self._search_statement(query, threshold, sort, limit, 0, columns, folder)
        with self.engine.connect() as connection:
            rows = [tuple(row) for row in connection.execute(statement)]
        return rows, warnings

    def _grid_rows(self, ids: list[int]) -> list[tuple[int, str, str | None, str]]:
        """(id, path, content hash, status) of the images ``ids``, in that order: one statement with
        the ids bound as one JSON text, on the driver's connection (a page costs a millisecond)."""
        with dialect.raw_connection(self.engine) as connection:
            if len(ids) > 100_000:  # a big share of the library: one pass over the table beats index probes
                wanted = BitMap(ids)
                rows = connection.execute("SELECT id, path, content_hash, status FROM images")
                found = {row[0]: row for row in rows if row[0] in wanted}
            else:
                found = {
                    row[0]: row
                    for row in connection.execute(
                        "SELECT id, path, content_hash, status FROM images"
                        " WHERE id IN (SELECT value FROM json_each(?))",
                        (json_ids(ids),),
                    )
                }
        local = mounts.of(self.engine.dialect)  # the driver's rows hold stored paths
        if local:
            return [(i, local.to_local(found[i][1]), *found[i][2:]) for i in ids if i in found]
        return [found[i] for i in ids if i in found]

    def retag(self, image_ids: Iterable[int], model_ids: Sequence[int] | None = None) -> int:
        """Queue images for tagging again by these models (default: every model); their scores stay
        until the new ones replace them, and manual edits are kept. Returns how many were queued."""
        ids = list(image_ids)
        queued = 0
        models = [] if model_ids is None else [ImageModel.model_id.in_(list(model_ids))]
        with self.Session.begin() as session:
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = ids[start : start + _IN_CHUNK]
                session.execute(delete(ImageModel).where(ImageModel.image_id.in_(chunk), *models))
                queued += session.execute(
                    update(Image)
                    .where(Image.id.in_(chunk), Image.status.in_([Status.TAGGED, Status.ERROR, Status.PENDING]))
                    .values(status=Status.PENDING, error=None)
                ).rowcount
        return queued

    def matching(self, query: str | Node, ids: Collection[int], threshold: float | None = None) -> set[int]:
        """Which of ``ids`` the query matches (missing files left out unless asked for)."""
        if not ids:
            return set()
        node, resolver = self._compile(query, threshold)
        with self.search_index.acquire(resolver.rules) as index:
            if index is not None:
                return set(self._evaluator(index, resolver).matches(node) & BitMap(ids))
        listed = dialect.listed_ids(json_ids(ids), "ids")
        statement = build_select(node, resolver).order_by(None).where(Image.id.in_(listed))
        with self.engine.connect() as connection:
            return set(connection.execute(statement).scalars())

    def like_similarities(self, query: str | Node) -> dict[int, float]:
        """Per image, its similarity to the query's first ``like:`` image (as the last search of
        that term found it), for showing beside the results."""
        node = parse(query) if isinstance(query, str) else query
        terms = field_terms(node, "like")
        if not terms:
            return {}
        self._resolver(node, None)  # resolves the term, or recalls it when nothing changed since
        return self.similarity.latest(terms[0].text or "")

    def similar(
        self,
        source: int | str | os.PathLike[str],
        limit: int = 50,
        model: str | None = None,
        query: str | None = None,
        threshold: float | None = None,
    ) -> list[Match]:
        """The images most like ``source`` (an image id, a library file, or any image file when an
        embedder is set), best first; ``query`` keeps only the images it matches. Raises
        SimilarityError, LibraryError (unknown model) or QueryError."""
        allowed = None
        if query is not None and query.strip():
            node = parse(query)  # a malformed query fails before any work

            def allowed(ids: Collection[int]) -> set[int]:
                return self.matching(node, ids, threshold)

        return self.similarity.nearest(source if isinstance(source, int) else Path(source), limit, model, allowed)

    def count(self, query: str | Node, threshold: float | None = None) -> int:
        node, resolver = self._compile(query, threshold)
        with self.search_index.acquire(resolver.rules) as index:
            if index is not None:
                return len(self._evaluator(index, resolver).matches(node))
        inner = build_select(node, resolver).order_by(None).subquery()
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(inner)).scalar_one()

    def _data_version(self) -> int | None:
        """Changes whenever any other connection (this process's pool included) commits; None: unknown."""
        with self._version_lock:  # close() may run on another thread
            if self._version_connection is None:
                return None
            return self._version_connection.execute("PRAGMA data_version").fetchone()[0]

    def autocomplete(self, prefix: str, limit: int = 15, threshold: float | None = None) -> list[tuple[str, int]]:
        """Tags starting with ``prefix`` and how many images have them at the threshold, most used first.

        Counts for the whole vocabulary are cached until the database changes, so typing stays
        instant; while the data is changing (tagging in progress) each call asks the histogram.
        """
        base = self.threshold if threshold is None else check_threshold(threshold)
        prefix = prefix.lstrip("-")
        indexed = self._indexed_totals(threshold)
        if indexed is not None:
            names, counts = indexed[0], indexed[1]
            start = bisect.bisect_left(names, prefix)
            end = bisect.bisect_left(names, prefix + "\U0010ffff", lo=start)
            matches = sorted(range(start, end), key=lambda i: (-counts[i], names[i]))[:limit]
            return [(names[i], counts[i]) for i in matches]
        version = self._data_version()
        cached = self._completion_cache
        if version is not None and cached is not None and cached[0] == (version, base):
            names, counts = cached[1], cached[2]
            start = bisect.bisect_left(names, prefix)
            end = bisect.bisect_left(names, prefix + "\U0010ffff", lo=start)
            matches = sorted(range(start, end), key=lambda i: (-counts[i], names[i]))[:limit]
            return [(names[i], counts[i]) for i in matches]
        if version is not None and self._last_version == version:
            totals = dict(self._tag_totals(threshold, ""))
            with self.Session() as session:
                names = list(session.scalars(select(Tag.name).order_by(Tag.name)))
            self._completion_cache = ((version, base), names, [totals.get(n, 0) for n in names])
            return self.autocomplete(prefix, limit, threshold)
        self._last_version = version
        return self._tag_totals(threshold, prefix, limit, include_unused=True)

    def _indexed_totals(self, threshold: float | None) -> tuple[list[str], list[int]] | None:
        """Every tag name (sorted) and its exact count from the posting lists; None where SQL
        answers. The names come from the query context (read once per commit)."""
        context = self._query_context()
        resolver = self._resolver(None, threshold)
        rules, searched = resolver.rules, resolver.models
        with self.search_index.acquire(rules) as index:
            if index is None:
                return None
            totals = self.search_index.tag_totals(index, searched)
            # The context and totals objects themselves (not their ids): a new one means new names or counts.
            key = (context, totals, index.stamp, tuple(searched), json.dumps(rules.key()))
            cached = self._names_cache
            if cached is not None and cached[0][0] is context and cached[0][1] is totals and cached[0][2:] == key[2:]:
                return cached[1], cached[2]
            names = [name for _, name in context.tag_names]
            counts = [totals.get(tag_id, 0) for tag_id, _ in context.tag_names]
            self._names_cache = (key, names, counts)
            return names, counts

    def _tag_totals(
        self, threshold: float | None, prefix: str, limit: int | None = None, include_unused: bool = False
    ) -> list[tuple[str, int]]:
        """Tag counts from the histogram: the largest count among the searched models at their
        thresholds, plus the user's additions, less the user's removals. Exact with one model and
        no hand edits of model tags; an estimate otherwise (an image two models both tag counts once
        in the larger count only)."""
        rules = self.threshold_rules(threshold)
        searched = [m.id for m in self.models() if m.searched]
        limit_bucket = func.cast(func.round(self._threshold_sql(rules, TagHistogram.model_id) * 100), Integer)
        statement = (
            select(TagHistogram.tag_id, TagHistogram.model_id, func.sum(TagHistogram.count))
            .join(Tag, Tag.id == TagHistogram.tag_id)
            .join(TagThreshold, TagThreshold.tag_id == TagHistogram.tag_id, isouter=True)
            .where(
                TagHistogram.model_id.in_([USER, *searched]),
                TagHistogram.count != 0,
                TagHistogram.bucket >= case((TagHistogram.model_id == USER, 0), else_=limit_bucket),
            )
            .group_by(TagHistogram.tag_id, TagHistogram.model_id, Tag.id, TagThreshold.tag_id)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(statement).all()
            names = dict(connection.execute(select(Tag.id, Tag.name)).all())
        per_model: dict[tuple[int, int], int] = {}
        user: dict[int, int] = {}
        for tag_id, model_id, count in rows:
            if model_id == USER:
                user[tag_id] = int(count)
            else:
                per_model[tag_id, model_id] = int(count)
        best: dict[int, int] = dict(user)
        for (tag_id, _model), count in per_model.items():
            best[tag_id] = max(best.get(tag_id, 0), count + user.get(tag_id, 0))
        removals = self._removal_counts()
        totals = {names[t]: max(0, n - removals.get(t, 0)) for t, n in best.items() if t in names}
        if include_unused:
            for name in names.values():
                totals.setdefault(name, 0)
        found = [(n, c) for n, c in totals.items() if (c > 0 or include_unused) and n.startswith(prefix)]
        found.sort(key=lambda item: (-item[1], item[0]))
        return found[:limit] if limit else found

    @staticmethod
    def _threshold_sql(rules: ThresholdRules, model_column: ColumnElement) -> ColumnElement:
        """The threshold rules as SQL over a row's model and its tag (needs ``tags`` and a left join
        of ``tag_thresholds``): tag override, one-off threshold, model's category, library's."""
        per_model = [
            (and_(model_column == model_id, Tag.category == category), value)
            for model_id, table in rules.per_model.items()
            for category, value in table.items()
        ]
        fallback = case(*per_model, else_=rules.base) if per_model else literal(rules.base)
        if rules.override is not None:
            fallback = literal(rules.override)
        return func.coalesce(TagThreshold.threshold, fallback)

    def _removal_counts(self) -> dict[int, int]:
        """Per tag, present images where the user removed it by hand."""
        with self.engine.connect() as connection:
            return dict(
                connection.execute(
                    select(ImageTag.tag_id, func.count())
                    .join(Image, Image.id == ImageTag.image_id)
                    # a literal 0, so SQLite can use the partial index of the user's rows
                    .where(ImageTag.model_id == literal_column("0"), ImageTag.score < 0, Image.status != Status.MISSING)
                    .group_by(ImageTag.tag_id)
                ).all()
            )

    def tag_counts(
        self,
        threshold: float | None = None,
        contains: str = "",
        limit: int | None = None,
        categories: Collection[str] | None = None,
    ) -> list[tuple[str, int]]:
        """Every tag in use with its image count at the threshold (for the GUI's tag list), optionally
        only the tags of some categories (``tags list --category character``)."""
        filtered = bool(contains) or bool(categories)
        indexed = self._indexed_totals(threshold)
        if indexed is not None:
            rows = sorted(((n, c) for n, c in zip(indexed[0], indexed[1], strict=True) if c > 0),
                          key=lambda item: (-item[1], item[0]))  # fmt: skip
            if not filtered and limit is not None:
                rows = rows[:limit]
        else:
            rows = self._tag_totals(threshold, "", None if filtered else limit)
        if contains:
            needle = contains.lower()
            rows = [row for row in rows if needle in row[0].lower()]
        if categories:
            wanted = set(categories)
            of = self.tag_categories(name for name, _ in rows)
            rows = [row for row in rows if of.get(row[0], "general") in wanted]
        return rows[:limit] if filtered else rows

    def _counting(self, resolver: TagResolver) -> ColumnElement[bool]:
        """SQL: an ``image_tags`` row makes its tag present (needs ``tags`` and ``tag_thresholds`` joined)."""
        removal = aliased(ImageTag)
        not_removed = ~exists().where(
            removal.tag_id == ImageTag.tag_id,
            removal.image_id == ImageTag.image_id,
            removal.model_id == USER,
            removal.score < 0,
        )
        threshold = self._threshold_sql(resolver.rules, ImageTag.model_id)
        by_model = and_(ImageTag.model_id.in_(resolver.models), ImageTag.score >= threshold)
        return and_(or_(and_(ImageTag.model_id == USER, ImageTag.score > 0), by_model), not_removed)

    def result_tag_counts(
        self, query: str | Node, threshold: float | None = None, folder: str | None = None, limit: int = 2000
    ) -> list[tuple[str, int]]:
        """Tags of the images a search finds, with how many of them have each (like Hydrus' tag list)."""
        node, resolver = self._compile(query, threshold)
        with self.search_index.acquire(resolver.rules) as index:
            if index is not None:
                extra = self._folder_condition(folder) if folder else None
                hits = self._evaluator(index, resolver).matches(node, extra)
                from joytag_desktop.library.search_index import result_counts

                counts = result_counts(index, hits, resolver.models)
            else:
                counts = None
        if counts is not None:
            names = dict(self._query_context().tag_names)
            rows = sorted(((names[t], c) for t, c in counts.items() if t in names), key=lambda r: (-r[1], r[0]))
            return rows[:limit]
        statement, _ = self._search_statement(query, threshold, "added", None, 0, (Image.id,), folder)
        found = statement.order_by(None).subquery()
        node = parse(query) if isinstance(query, str) else query
        resolver = self._resolver(node, threshold)
        total = func.count(func.distinct(ImageTag.image_id)).label("n")
        counted = (
            select(Tag.name, total)
            .select_from(ImageTag)
            .join(found, found.c.id == ImageTag.image_id)
            .join(Tag, Tag.id == ImageTag.tag_id)
            .join(TagThreshold, TagThreshold.tag_id == ImageTag.tag_id, isouter=True)
            .where(self._counting(resolver))
            .group_by(ImageTag.tag_id, Tag.id, TagThreshold.tag_id)
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
                return in_folder(root.id, mounts.folder_of(mounts.of(self.engine.dialect), root.path, folder))
        return Image.id < 0

    def folder_counts(self) -> list[tuple[str, int]]:
        """Every folder holding images (missing ones left out), as an absolute path, and how many
        images it holds directly."""
        statement = (
            select(Root.path, Image.folder, func.count())
            .join(Root, Root.id == Image.root_id)
            .where(Image.status != Status.MISSING)
            .group_by(Image.root_id, Root.path, Image.folder)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(statement).all()
        local = mounts.of(self.engine.dialect)
        return sorted((mounts.directory_of(local, root, folder), int(count)) for root, folder, count in rows)

    def selection_tags(self, image_ids: Sequence[int], threshold: float | None = None) -> list[SelectionTag]:
        """The union of the tags of ``image_ids``, with how many of them have each, most shared first.

        Counted by SQLite per chunk of ids (a 100,000-image selection never becomes millions of
        Python rows), under the threshold rules of every searched model.
        """
        resolver = self._resolver(None, threshold)
        ids = list(dict.fromkeys(image_ids))
        limit = self._threshold_sql(resolver.rules, ImageTag.model_id)
        found: dict[str, SelectionTag] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(ids), 20_000):
                statement = (
                    select(
                        Tag.name,
                        func.count(func.distinct(ImageTag.image_id)),
                        func.max(ImageTag.score),
                        func.sum(case((ImageTag.source == Source.MANUAL, 1), else_=0)),
                        func.min(limit),
                        TagThreshold.threshold.is_not(None),
                        Tag.category,
                    )
                    .select_from(ImageTag)
                    .join(Tag, Tag.id == ImageTag.tag_id)
                    .join(TagThreshold, TagThreshold.tag_id == ImageTag.tag_id, isouter=True)
                    .where(ImageTag.image_id.in_(ids[start : start + 20_000]), self._counting(resolver))
                    .group_by(ImageTag.tag_id, Tag.id, TagThreshold.tag_id)
                )
                for name, count, best, manual, threshold_in_force, overridden, category in connection.execute(
                    statement
                ):
                    entry = found.setdefault(
                        name, SelectionTag(name, 0, 0.0, 0, threshold_in_force, overridden, category)
                    )
                    entry.count += count
                    entry.best_score = max(entry.best_score, best)
                    entry.manual += manual
        return sorted(found.values(), key=lambda e: (-e.count, -e.best_score, e.name))

    def tag_states(self, image_ids: Iterable[int], tag: str) -> dict[int, TagState]:
        """How the user's word on ``tag`` stands on each image now, so an edit can be undone exactly."""
        ids = list(dict.fromkeys(image_ids))
        tag_id = self.tag_id(tag)
        states: dict[int, TagState] = dict.fromkeys(ids)
        if tag_id is None:
            return states
        with self.Session() as session:
            for start in range(0, len(ids), 20_000):
                rows = session.execute(
                    select(ImageTag.image_id, ImageTag.source, ImageTag.score).where(
                        ImageTag.tag_id == tag_id,
                        ImageTag.model_id == USER,
                        ImageTag.image_id.in_(ids[start : start + 20_000]),
                    )
                )
                for image_id, source, score in rows:
                    states[image_id] = (source, score)
        return states

    def restore_tag_states(self, tag: str, states: dict[int, TagState]) -> None:
        """Put the user's word on ``tag`` back as ``tag_states`` found it (the undo of a tag edit)."""
        (tag_id,) = self.ensure_tags([tag])
        ids = list(states)
        with self.Session.begin() as session:
            for start in range(0, len(ids), 20_000):
                session.execute(
                    delete(ImageTag).where(
                        ImageTag.tag_id == tag_id,
                        ImageTag.model_id == USER,
                        ImageTag.image_id.in_(ids[start : start + 20_000]),
                    )
                )
            rows = [
                {"image_id": image_id, "tag_id": tag_id, "model_id": USER, "source": s[0], "score": s[1]}
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
                select(ImageTag.tag_id, ImageTag.model_id, bucket.label("bucket"), func.count().label("count"))
                .join(Image, Image.id == ImageTag.image_id)
                .where(ImageTag.score >= 0, Image.status != Status.MISSING)
                .group_by(ImageTag.tag_id, ImageTag.model_id, bucket)
            )
            connection.execute(insert(TagHistogram).from_select(["tag_id", "model_id", "bucket", "count"], counted))
