"""Words to an embedding for search (``text:"…"`` terms, ``similar --text``, the window's box).

Set as ``Similarity.text_encoder`` by the command line and the window: the library's embedding
model (SigLIP2) is loaded from the folder it was last loaded from, once, and only when words are
searched; ``announce`` says so, since loading a text tower takes seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from joytag_desktop.errors import JoyTagError
from joytag_desktop.library.similar import SimilarityError

if TYPE_CHECKING:
    from joytag_desktop.inference.text_encoder import TextEncoder
    from joytag_desktop.library.records import ModelInfo


class TextEmbedder:
    """(words, model) -> the words' embedding by that model's text tower."""

    def __init__(self, announce: Callable[[str], None] | None = None) -> None:
        self.announce = announce
        self._encoders: dict[tuple[int, str], TextEncoder] = {}
        self._lock = threading.Lock()

    def _encoder(self, model: ModelInfo) -> TextEncoder:
        key = (model.id, model.fingerprint)
        encoder = self._encoders.get(key)
        if encoder is not None:
            return encoder
        folder = Path(model.path) if model.path else None
        if folder is None or not folder.is_dir():
            raise SimilarityError(
                f"text model {model.name} is not on this computer any more ({model.path}): add it again"
            )
        from joytag_desktop.inference.text_encoder import TextEncoder
        from joytag_desktop.taggers import recognise

        if self.announce is not None:
            self.announce(f"loading the text encoder of {model.name}")
        try:
            encoder = TextEncoder(recognise(folder))
        except JoyTagError as exc:
            raise SimilarityError(f"text model {model.name}: {exc}") from None
        self._encoders = {key: encoder}  # one text tower held at a time (SO400M's is 1.7 GB)
        return encoder

    def __call__(self, text: str, model: ModelInfo) -> np.ndarray:
        with self._lock:
            encoder = self._encoder(model)
        return encoder.encode([text])[0]
