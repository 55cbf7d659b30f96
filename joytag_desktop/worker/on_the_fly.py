"""Tagging and embedding a file that is not in the library (search by an image from elsewhere).

The library's model is loaded from the folder it was last loaded from (or the folder the user
named), once per model; the file's tags are kept so the CLI and the GUI can show what the model
saw. Loading a network takes seconds, converting it on first use up to a minute: ``announce`` tells
the user what is being waited on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from joytag_desktop.library.similar import SimilarityError

if TYPE_CHECKING:
    from joytag_desktop.inference.engine import TaggingEngine
    from joytag_desktop.library.records import ModelInfo

SHOWN_TAGS = 20


class OnTheFly:
    """An embedder for ``Similarity.embedder``: (file, model) -> the file's embedding."""

    def __init__(
        self,
        device: str = "auto",
        threshold: float = 0.4,
        folders: dict[str, Path] | None = None,
        announce: Callable[[str], None] | None = None,
        options: Callable[[int], dict[str, int]] | None = None,
    ) -> None:
        """``options``: a model id -> the tagger options the library keeps for it (JTP-3's seqlen),
        so an outside file is embedded as the library's images were."""
        self.options = options
        self.device = device
        self.threshold = threshold
        self.folders = dict(folders or {})  # model name -> the folder to load it from instead of its own
        self.announce = announce
        self.tags: dict[Path, list[tuple[str, float]]] = {}  # per file: the tags it was given, best first
        self._engines: dict[int, TaggingEngine] = {}
        self._lock = threading.Lock()

    def _engine(self, model: ModelInfo) -> TaggingEngine:
        from joytag_desktop.inference.engine import TaggingEngine

        engine = self._engines.get(model.id)
        if engine is None:
            folder = self.folders.get(model.name) or (Path(model.path) if model.path else None)
            if folder is None or not folder.is_dir():
                raise SimilarityError(
                    f"model {model.name} is not on this computer any more ({model.path}): load it again to"
                    " compare files from outside the library"
                )
            if self.announce is not None:
                self.announce(f"loading model {model.name} from {folder} (its first use converts it: up to a minute)")
            from joytag_desktop.taggers import open_tagger

            tagger = open_tagger(folder)
            kept = self.options(model.id) if self.options is not None else {}
            tagger.family.apply_options(tagger, {k: v for k, v in kept.items() if k in tagger.family.option_names})
            engine = TaggingEngine(tagger, device=self.device, batch_size=1, decode_workers=1)
            self._engines[model.id] = engine
        return engine

    def __call__(self, path: Path, model: ModelInfo) -> np.ndarray:
        with self._lock:  # one network per model, one image at a time
            engine = self._engine(model)
            result = next(iter(engine.tag_paths([path])))
        if not result.ok or result.scores is None or result.embedding is None:
            raise SimilarityError(f"{path}: {result.error or 'the model computed no embedding'}")
        order = np.argsort(-result.scores)
        self.tags[path] = [
            (engine.tags[i], float(result.scores[i])) for i in order[:SHOWN_TAGS] if result.scores[i] >= self.threshold
        ]
        return result.embedding
