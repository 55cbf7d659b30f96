"""Running an embedding model's text tower: words to a vector in its images' space.

A published ONNX text graph (Immich's ``textual/model.onnx``) runs on ONNX Runtime; a PyTorch file's
text tower (transformers' ``model.safetensors``) on PyTorch. Either is loaded on first use only:
commands and windows that never search in words never load it.
"""

from __future__ import annotations

import threading

import numpy as np

from joytag_desktop.errors import ModelFolderError
from joytag_desktop.taggers.contract import TaggerFolder


class TextEncoder:
    """The text tower of one embedding model; ``encode`` is thread-safe."""

    def __init__(self, tagger: TaggerFolder) -> None:
        if not tagger.family.embeds_text:
            raise ModelFolderError(f"{tagger.name} ({tagger.family.title}) has no text encoder")
        self.tagger = tagger
        self._lock = threading.Lock()
        self._session = None
        self._network = None
        graph = tagger.family.text_graph(tagger)
        if graph is not None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.log_severity_level = 3
            try:
                self._session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
            except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
                raise ModelFolderError(f"{graph.name} cannot be loaded by ONNX Runtime: {exc}") from None
            first = self._session.get_inputs()[0]
            self._input = first.name
            self._dtype = np.int64 if "int64" in str(first.type) else np.int32
        else:
            self._network = tagger.family.build_text_network(tagger)

    def encode(self, texts: list[str]) -> np.ndarray:
        """(B, D) float32 embeddings as the model computes them (not normalised)."""
        ids = self.tagger.family.text_ids(self.tagger, texts)
        with self._lock:
            if self._session is not None:
                rows = [
                    np.asarray(self._session.run(None, {self._input: row[None].astype(self._dtype)})[0])[0]
                    for row in ids
                ]  # Immich's graphs take one text at a time
                return np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)
            import torch

            assert self._network is not None
            with torch.inference_mode():
                return self._network(torch.from_numpy(ids)).float().numpy()
