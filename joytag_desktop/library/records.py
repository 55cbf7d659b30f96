"""The records the library hands out: plain dataclasses, no database handles, so the GUI, the CLI and
the worker can hold them without reaching back into the library."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from joytag_desktop.library.schema import Root


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
    best_score: float  # the highest effective score among them (1.0 when added by hand; NaN: not read, a big selection)
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
