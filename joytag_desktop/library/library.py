"""The library: roots, images, tags and scores in one database, and the operations on them.

The GUI, the CLI and the worker all go through this facade; it never imports Qt. It only wires the
rooms (settings, taggers, roots, scanning, tags, results, edits, searching, counts) over one
``Database`` and keeps the names its callers use; the work is done in the rooms, and none of them
imports this module.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import TYPE_CHECKING

from joytag_desktop.library.counts import Counts
from joytag_desktop.library.database import Database
from joytag_desktop.library.edits import Edits
from joytag_desktop.library.errors import LibraryError
from joytag_desktop.library.images import Images
from joytag_desktop.library.marking import Marking
from joytag_desktop.library.model_rules import ModelRules
from joytag_desktop.library.records import (
    AddedFolder,
    ImageResult,
    ModelInfo,
    SearchResult,
    SelectionTag,
    TagState,
    TagView,
)
from joytag_desktop.library.renames import Renames
from joytag_desktop.library.results import Results
from joytag_desktop.library.roots import Roots
from joytag_desktop.library.scanning import Scanning
from joytag_desktop.library.search_index import SearchIndex
from joytag_desktop.library.searching import GridRow, Searching
from joytag_desktop.library.settings import Settings
from joytag_desktop.library.similar import Match, Similarity
from joytag_desktop.library.taggers import LibraryTaggers
from joytag_desktop.library.tags import Tags
from joytag_desktop.library.vocabulary import Vocabulary

if TYPE_CHECKING:  # the scanner (Pillow, exifread) loads when needed: a search needs neither
    from joytag_desktop.library.changes import ChangeReport
    from joytag_desktop.library.query import Node
    from joytag_desktop.library.scanner import ScanProgress, ScanReport
    from joytag_desktop.library.schema import Image, MetadataWrite, Root
    from joytag_desktop.library.thresholds import ThresholdRules
    from joytag_desktop.metadata.marks import Marks
    from joytag_desktop.taggers.contract import TaggerFolder


class Library:
    """A library database. Thread-safe: each call uses its own short transaction."""

    def __init__(self, database: str | os.PathLike[str] | None = None, create: bool = True) -> None:
        self.database = Database(database, create=create)
        self.engine = self.database.engine
        self.url = self.database.url
        self.Session = self.database.Session
        self.settings = Settings(self.database)
        self.tags = Tags(self.database)
        self.taggers = LibraryTaggers(self.database, self.settings, self.tags)
        self.root_folders = Roots(self.database)  # installs this machine's mount points
        self.scanning = Scanning(self.database, self.root_folders)
        # Posting lists answer tag searches and counts; SQL answers what they cannot (see fast_search).
        self.search_index = SearchIndex(self.engine, self.settings.get, self.settings.set)
        self.image_reads = Images(self.database)
        # Vector indexes for more-like-this, like: terms and duplicates (built on first use).
        self.similarity = Similarity(self.database, self.image_reads, self.settings, self.search_index)
        # Per model: tags never applied and caps per category, applied as results are stored.
        self.model_rules = ModelRules(self.database, self.tags)
        self.results = Results(
            self.database, self.settings, self.tags, self.similarity, self.search_index, self.model_rules
        )
        self.edits = Edits(self.database, self.tags)
        self.marking = Marking(self.database)
        # Aliases and implications, resolved into tag id sets when a query compiles (library.vocabulary).
        self.vocabulary = Vocabulary(self.database, self.tags)
        self.renames = Renames(self.database, self.tags, self.vocabulary)
        self.searching = Searching(
            self.database, self.settings, self.tags, self.root_folders, self.similarity, self.search_index,
            self.vocabulary,
        )  # fmt: skip
        self.counts = Counts(self.database, self.settings, self.tags, self.taggers, self.searching, self.search_index)

    def close(self) -> None:
        self.similarity.close()
        self.search_index.close()
        self.database.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- settings and thresholds (library.settings) ---------------------------------------

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        return self.settings.get(key, default)

    def set_setting(self, key: str, value: str) -> None:
        self.settings.set(key, value)

    @property
    def threshold(self) -> float:
        return self.settings.threshold

    def set_threshold(self, value: float) -> None:
        self.settings.set_threshold(value)

    def apply_preset(self, name: str) -> float:
        return self.settings.apply_preset(name)

    @property
    def storage_floor(self) -> float:
        return self.settings.storage_floor

    def set_storage_floor(self, value: float) -> None:
        self.settings.set_storage_floor(value)

    def tag_thresholds(self) -> dict[str, float]:
        return self.settings.tag_thresholds()

    def set_tag_threshold(self, tag: str, value: float | None) -> None:
        """Override the threshold of one tag; None removes the override."""
        tag_id = self.tags.tag_id(tag)
        if tag_id is None:
            raise LibraryError(f"unknown tag {tag!r}")
        self.settings.set_tag_threshold(tag_id, value)

    def threshold_rules(self, threshold: float | None = None) -> ThresholdRules:
        return self.settings.threshold_rules(threshold)

    def model_thresholds(self) -> dict[str, dict[str, float]]:
        return self.settings.model_thresholds()

    def calibrated_models(self) -> dict[str, int]:
        return self.settings.calibrated_models()

    def set_model_threshold(self, model: str, category: str, value: float | None) -> None:
        """A model's threshold for one category; None: follow the library threshold."""
        self.settings.set_model_threshold(self.model(model).id, category, value)

    # --- taggers registered in the library (library.taggers) ------------------------------

    def models(self) -> list[ModelInfo]:
        return self.taggers.models()

    def model(self, name: str) -> ModelInfo:
        return self.taggers.model(name)

    def register_model(self, tagger: TaggerFolder) -> ModelInfo:
        return self.taggers.register_model(tagger)

    def add_model(
        self, name: str, format: str = "joytag", thresholds: dict[str, float] | None = None, auto: bool = False
    ) -> ModelInfo:
        return self.taggers.add_model(name, format, thresholds, auto)

    def model_options(self, model_id: int) -> dict[str, int]:
        return self.taggers.model_options(model_id)

    def set_model_options(self, model_id: int, options: dict[str, int]) -> None:
        self.taggers.set_model_options(model_id, options)

    def add_auto_models(self, names: Sequence[str]) -> None:
        self.taggers.add_auto_models(names)

    def set_auto_models(self, names: Sequence[str]) -> None:
        self.taggers.set_auto_models(names)

    def set_model_searched(self, name: str, searched: bool) -> None:
        self.taggers.set_model_searched(name, searched)

    # --- roots and mounts (library.roots) -------------------------------------------------

    def add_root(self, path: str | os.PathLike[str], watched: bool = True) -> Root:
        return self.root_folders.add_root(path, watched)

    def add_folder(self, path: str | os.PathLike[str], watched: bool = True) -> AddedFolder:
        return self.root_folders.add_folder(path, watched)

    def containing_root(self, path: str | os.PathLike[str]) -> Root | None:
        return self.root_folders.containing_root(path)

    def root_contents(self, root: Root) -> tuple[int, int]:
        return self.root_folders.root_contents(root)

    def roots(self) -> list[Root]:
        return self.root_folders.listed()

    def map_root(self, root: str, local: str | os.PathLike[str]) -> Root:
        return self.root_folders.map_root(root, local)

    def find_root(self, path: str | os.PathLike[str]) -> Root:
        return self.root_folders.find_root(path)

    def set_watched(self, path: str | os.PathLike[str], watched: bool) -> None:
        self.root_folders.set_watched(path, watched)

    def remove_root(self, path: str | os.PathLike[str]) -> int:
        return self.root_folders.remove_root(path)

    # --- scanning (library.scanning): the reports carry the keyword sources found ---------

    def scan(
        self,
        roots: Iterable[str | os.PathLike[str]] | None = None,
        progress: ScanProgress | None = None,
        cancel: threading.Event | None = None,
    ) -> ScanReport:
        """Rescan folders (see ``Scanning.scan``). Keywords are not imported here: hand the report
        to ``joytag_desktop.interchange.keyword_sync.import_found``."""
        return self.scanning.scan(roots, progress, cancel)

    def apply_changes(
        self,
        created: Sequence[str] = (),
        deleted: Sequence[str] = (),
        moved: Sequence[tuple[str, str]] = (),
    ) -> ChangeReport:
        """Apply watcher events (see ``Scanning.apply_changes``); keywords as for ``scan``."""
        return self.scanning.apply_changes(created, deleted, moved)

    def forget_images(self, image_ids: Sequence[int]) -> int:
        return self.scanning.forget_images(image_ids)

    def purge_missing(self) -> int:
        return self.scanning.purge_missing()

    # --- tags (library.tags) --------------------------------------------------------------

    def ensure_tags(self, names: Sequence[str], categories: Sequence[str] | None = None) -> list[int]:
        return self.tags.ensure_tags(names, categories)

    def category_of(self, tag_id: int) -> str:
        return self.tags.category_of(tag_id)

    def tag_categories(self, names: Iterable[str]) -> dict[str, str]:
        return self.tags.tag_categories(names)

    def tag_id(self, name: str) -> int | None:
        return self.tags.tag_id(name)

    # --- tagging results (library.results, library.images) --------------------------------

    def pending_images(
        self, limit: int, after_id: int = 0, model_id: int | None = None
    ) -> list[tuple[int, str, str | None]]:
        return self.results.pending_images(limit, after_id, model_id)

    def pending_count(self, model_id: int) -> int:
        return self.results.pending_count(model_id)

    def store_results(
        self,
        results: Sequence[ImageResult],
        model: ModelInfo,
        tags: Sequence[str],
        categories: Sequence[str] | None = None,
        worker: str | None = None,
    ) -> int:
        return self.results.store_results(results, model, tags, categories, worker)

    def retag(
        self,
        image_ids: Iterable[int],
        model_ids: Sequence[int] | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> int:
        return self.results.retag(image_ids, model_ids, progress, cancel)

    def accept_own_write(self, image_id: int, path: str, before: tuple[str, str | None] | None = None) -> None:
        self.results.accept_own_write(image_id, path, before)

    def set_sidecar_mtime(self, image_id: int, mtime: float | None) -> None:
        self.results.set_sidecar_mtime(image_id, mtime)

    def metadata_record(self, image_id: int, target: str) -> MetadataWrite | None:
        return self.results.metadata_record(image_id, target)

    def record_metadata_write(
        self, image_id: int, target: str, path: str, keywords: list[str] | dict, file_mtime: float | None
    ) -> None:
        self.results.record_metadata_write(image_id, target, path, keywords, file_mtime)

    def image_tags(self, image_id: int, threshold: float | None = None) -> list[TagView]:
        return self.results.image_tags(image_id, threshold)

    def embedding(self, image_id: int, model: str) -> bytes | None:
        return self.image_reads.embedding(image_id, model)

    def image(self, image_id: int) -> Image | None:
        return self.image_reads.image(image_id)

    def images(self, ids: Sequence[int]) -> list[Image]:
        return self.image_reads.images(ids)

    def image_by_path(self, path: str | os.PathLike[str]) -> Image | None:
        return self.image_reads.image_by_path(path)

    def set_orientation(self, image_id: int, orientation: int) -> None:
        """A rotation kept in the image's sidecar: the flag stored and the image tagged again (the
        taggers see a turned picture differently), as a rotation in the file is on its rescan."""
        self.image_reads.set_orientation(image_id, orientation)
        self.results.retag([image_id])

    # --- the user's edits (library.edits) -------------------------------------------------

    def set_rating(
        self,
        image_ids: Iterable[int],
        rating: str | None,
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> int:
        return self.edits.set_rating(image_ids, rating, progress, cancel)

    def manual_ratings(self, image_ids: Iterable[int]) -> dict[int, str | None]:
        return self.edits.manual_ratings(image_ids)

    def restore_manual_ratings(self, states: dict[int, str | None]) -> None:
        self.edits.restore_manual_ratings(states)

    def set_mark(
        self,
        image_ids: Iterable[int],
        mark: str,
        value: object,
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> int:
        """Set stars (-1..5), a colour label or a pick (``library.marking``); None unsets it."""
        return self.marking.set_mark(image_ids, mark, value, progress, cancel)

    def marks(self, image_ids: Iterable[int]) -> dict[int, Marks]:
        return self.marking.marks(image_ids)

    def restore_marks(self, states: dict[int, Marks], mark: str | None = None) -> None:
        self.marking.restore_marks(states, mark)

    def set_manual_tag(
        self,
        image_ids: Iterable[int],
        tag: str,
        present: bool | None,
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> int:
        return self.edits.set_manual_tag(image_ids, tag, present, progress, cancel)

    def set_imported_tags(self, image_id: int, names: Iterable[str]) -> bool:
        return self.edits.set_imported_tags(image_id, names)

    def tag_states(self, image_ids: Iterable[int], tag: str) -> dict[int, TagState]:
        return self.edits.tag_states(image_ids, tag)

    def restore_tag_states(self, tag: str, states: dict[int, TagState]) -> None:
        self.edits.restore_tag_states(tag, states)

    # --- search (library.searching) -------------------------------------------------------

    def search(
        self,
        query: str | Node,
        threshold: float | None = None,
        limit: int | None = None,
        offset: int = 0,
        sort: str = "path",
    ) -> SearchResult:
        return self.searching.search(query, threshold, limit, offset, sort)

    def search_rows(
        self,
        query: str | Node,
        threshold: float | None = None,
        sort: str = "path",
        limit: int | None = None,
        folder: str | None = None,
    ) -> tuple[list[GridRow], list[str]]:
        """(id, path, content hash, status, stars, label, pick) per image, for the GUI's grid."""
        return self.searching.search_rows(query, threshold, sort, limit, folder)

    def matching(self, query: str | Node, ids: Collection[int], threshold: float | None = None) -> set[int]:
        return self.searching.matching(query, ids, threshold)

    def like_similarities(self, query: str | Node) -> dict[int, float]:
        return self.searching.like_similarities(query)

    def similar(
        self,
        source: int | str | os.PathLike[str],
        limit: int = 50,
        model: str | None = None,
        query: str | None = None,
        threshold: float | None = None,
    ) -> list[Match]:
        return self.searching.similar(source, limit, model, query, threshold)

    def count(self, query: str | Node, threshold: float | None = None, folder: str | None = None) -> int:
        return self.searching.count(query, threshold, folder)

    # --- counts (library.counts) ----------------------------------------------------------

    def has_pending(self) -> bool:
        return self.counts.has_pending()

    def count_by_status(self) -> dict[str, int]:
        return self.counts.count_by_status()

    def autocomplete(
        self, prefix: str, limit: int | None = 15, threshold: float | None = None
    ) -> list[tuple[str, int]]:
        return self.counts.autocomplete(prefix, limit, threshold)

    def tag_counts(
        self,
        threshold: float | None = None,
        contains: str = "",
        limit: int | None = None,
        categories: Collection[str] | None = None,
    ) -> list[tuple[str, int]]:
        return self.counts.tag_counts(threshold, contains, limit, categories)

    def result_tag_counts(
        self, query: str | Node, threshold: float | None = None, folder: str | None = None, limit: int = 2000
    ) -> list[tuple[str, int]]:
        return self.counts.result_tag_counts(query, threshold, folder, limit)

    def folder_counts(self, only: str | Node | None = None) -> list[tuple[str, int]]:
        return self.counts.folder_counts(only)

    def selection_tags(self, image_ids: Sequence[int], threshold: float | None = None) -> list[SelectionTag]:
        return self.counts.selection_tags(image_ids, threshold)

    def rebuild_histogram(self) -> None:
        self.counts.rebuild_histogram()
