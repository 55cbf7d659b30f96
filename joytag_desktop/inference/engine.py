"""The inference engine: decode in background threads, batch, run the network, stream results."""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from joytag_desktop.errors import ImageLoadError, JoyTagError, ModelFolderError
from joytag_desktop.inference.conversion import (
    embedding_output,
    export_onnx,
    openvino_from_torch,
    quantise_int8,
    quantise_openvino_int8,
    with_embedding_output,
)
from joytag_desktop.inference.decode import EncodedJpeg, decode_jpegs, pad_resize_normalise, read_for_fast_path
from joytag_desktop.inference.device import (
    PRECISIONS,
    cpu_has_fast_bf16,
    default_batch_size,
    describe_device,
    resolve_device,
    resolve_precision,
)
from joytag_desktop.inference.runners import OnnxRunner, OpenVinoRunner, Runner, TorchRunner, choose_runtime
from joytag_desktop.media.imaging import open_image
from joytag_desktop.taggers.contract import ONNX, OnnxOutputs, TaggerFolder
from joytag_desktop.taggers.factory import open_tagger
from joytag_desktop.taggers.vocabulary import Policy, Vocabulary

PREPROCESSING = ("fast", "reference")


@dataclass
class TagResult:
    """The outcome for one image: scores and embedding, or the reason it failed."""

    path: Path
    scores: np.ndarray | None = None  # float32, one sigmoid score per tag
    embedding: np.ndarray | None = None  # float32, the pooled feature vector
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class TaggingEngine:
    """Runs one tagger on one device.

    ``tag_paths`` streams results in input order while a thread pool decodes and
    preprocesses the next images, so the network rarely waits for the disk.
    """

    def __init__(
        self,
        model: TaggerFolder | Path | str,
        device: str = "auto",
        batch_size: int | None = None,
        precision: str = "auto",
        decode_workers: int | None = None,
        preprocessing: str = "fast",
        runtime: str = "auto",
        route: str | None = None,
    ) -> None:
        if preprocessing not in PREPROCESSING:
            raise JoyTagError(f"unknown preprocessing {preprocessing!r}: use fast or reference")
        if precision not in PRECISIONS:
            raise JoyTagError(f"unknown precision {precision!r}: use {', '.join(PRECISIONS)}")
        # A checked folder, or what the factory finds: a folder, a catalogue name or its Hub id.
        self.tagger = model if isinstance(model, TaggerFolder) else open_tagger(model)
        self.route = route or self.tagger.default_route()
        if self.route not in self.tagger.files:
            raise JoyTagError(f"{self.tagger.name} has no {self.route} file (it has: {', '.join(self.tagger.routes)})")
        self.device = resolve_device(device)
        self.runtime = choose_runtime(runtime, self.route, self.device, precision)
        self.preprocessing = preprocessing
        self.batch_size = max(1, batch_size or default_batch_size(self.device))
        self.decode_workers = max(1, decode_workers or min(8, os.cpu_count() or 1))
        self.runner = self._make_runner(precision)
        if self.runner.device.type != self.device.type:
            self.device = self.runner.device  # e.g. onnxruntime without its CUDA provider
        self.dtype = getattr(torch, self.runner.precision, torch.float32)
        self.fast = self.tagger.family.fast_cfg(self.tagger, self.route) if preprocessing == "fast" else None
        # On CUDA the fast path decodes JPEGs on the GPU; elsewhere workers hand over finished tensors.
        self.device_decode = self.fast is not None and self.device.type == "cuda" and self.runtime == "torch"

    def _make_runner(self, precision: str) -> Runner:
        tagger, family = self.tagger, self.tagger.family
        sample = torch.from_numpy(family.sample_input(tagger))[None]
        if self.runtime == "torch":
            return TorchRunner(family.build_network(tagger), self.device, resolve_precision(precision, self.device))
        if self.runtime == "openvino":
            hint = "float32" if precision == "float32" or not cpu_has_fast_bf16() else "bfloat16"
            hint = {"float16": "float16", "int8": "int8"}.get(precision, hint)
            outputs, embedding = OnnxOutputs(), None
            if self.route == ONNX:
                import onnx
                import openvino as ov

                graph = tagger.files[ONNX]
                outputs = family.onnx_outputs(tagger)
                if outputs.embedding is None:  # not among the graph's outputs: find it
                    embedding = embedding_output(onnx.load(str(graph), load_external_data=False), outputs)
                model = with_embedding_output(ov.Core().read_model(str(graph)), embedding)
            else:
                model = openvino_from_torch(tagger, sample)
            if precision == "int8":
                model = quantise_openvino_int8(model, tagger, self.route, self.calibration_batches())
            return OpenVinoRunner(model, outputs, embedding, hint, from_torch=self.route != ONNX)
        # onnxruntime: the published graph, or the PyTorch network exported once
        if self.route == ONNX:
            graph, outputs = tagger.files[ONNX], family.onnx_outputs(tagger)
        else:
            graph = export_onnx(family.build_network(tagger), tagger, sample)
            outputs = OnnxOutputs()
        if precision == "int8":
            graph = quantise_int8(graph, tagger)
        runner = OnnxRunner(
            graph, outputs, self.device, "int8" if precision == "int8" else "float32", self.route != ONNX
        )
        side = runner.input_shape[1] if self.route == ONNX and family.name == "wd" else runner.input_shape[-1]
        if self.route == ONNX and isinstance(side, int) and side != tagger.image_size:
            tagger.image_size = side  # the graph's own input size wins (the reference reads it there)
        return runner

    def calibration_batches(self) -> list[np.ndarray]:
        """The packaged calibration photos through this model's reference preprocessing, one per batch.

        Each photo also goes in shrunk to a thumbnail (so padding fills most of the input) and in
        grey: without them int8 scales fitted to full-frame colour photos clip small and grey images.
        """
        from PIL import Image

        from joytag_desktop.resources import calibration_photos  # pyright: ignore[reportMissingImports] - resources/ is installed under this name

        family, batches = self.tagger.family, []
        for path in calibration_photos():
            photo = open_image(path, flatten=False)
            small = photo.copy()
            small.thumbnail((120, 120), Image.Resampling.LANCZOS)
            for variant in (photo, small, photo.convert("L")):
                batches.append(family.reference_input(self.tagger, self.route, variant)[None])
        return batches

    @property
    def tags(self) -> list[str]:
        return self.tagger.tags

    @property
    def vocabulary(self) -> Vocabulary:
        return self.tagger.vocabulary

    @property
    def policy(self) -> Policy:
        return self.tagger.policy

    @property
    def image_size(self) -> int:
        return self.tagger.image_size

    def describe(self) -> str:
        where = describe_device(self.device)
        runtime = "" if self.runtime == "torch" else f"{self.runtime} "
        return f"{where}, {runtime}{self.runner.precision}, batch {self.batch_size}, {self.preprocessing} preprocessing"

    def preprocess(self, path: Path) -> torch.Tensor:
        """Decode and preprocess one file to the network's input (no batch axis). Raises ImageLoadError."""
        size = self.image_size
        if self.fast is not None:
            item = read_for_fast_path(path, size, device_decode=False)
            assert isinstance(item, torch.Tensor)
            return pad_resize_normalise(item, size, self.fast)
        # Reference steps; "fast" still decodes JPEGs at reduced size (twice the model's input).
        draft = None if self.preprocessing == "reference" else 2 * size
        image = open_image(path, draft_size=draft, flatten=False)
        return torch.from_numpy(self.tagger.family.reference_input(self.tagger, self.route, image))

    def predict(self, batch: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Scores (B, n_tags) in 0..1 and embeddings (B, D) as float32 arrays for a batch of inputs;
        the vocabulary's derived tags (a PixAI character's copyrights) scored after the outputs."""
        scores, embeddings = self.runner.predict(batch)
        vocabulary = self.tagger.vocabulary
        if scores.shape[-1] != vocabulary.outputs:  # a graph that does not belong to its tag list
            raise ModelFolderError(
                f"{self.tagger.name}: the network gives {scores.shape[-1]} scores but its tag list names "
                f"{vocabulary.outputs} tags"
            )
        return vocabulary.with_derived(scores), embeddings

    def _load(self, path: Path) -> torch.Tensor | EncodedJpeg | str:
        """In a decode thread: a finished tensor, work for the device (CUDA fast path), or the error."""
        try:
            if self.device_decode:
                return read_for_fast_path(path, self.image_size, device_decode=True)
            return self.preprocess(path)
        except ImageLoadError as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - one bad file must never stop a run
            return f"unexpected error while decoding: {type(exc).__name__}: {exc}"

    def tag_paths(
        self,
        paths: Iterable[Path],
        cancel: threading.Event | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> Iterator[TagResult]:
        """Tag files, yielding one TagResult per path, in order. Stops early when ``cancel`` is set."""
        window = self.batch_size * 2 + self.decode_workers
        pending: deque[tuple[Path, Future[torch.Tensor | EncodedJpeg | str]]] = deque()
        path_iter = iter(paths)
        with ThreadPoolExecutor(self.decode_workers, thread_name_prefix="joytag-decode") as pool:
            try:
                exhausted = False
                while True:
                    while not exhausted and len(pending) < window:
                        path = next(path_iter, None)
                        if path is None:
                            exhausted = True
                            break
                        pending.append((path, pool.submit(self._load, path)))
                    if not pending or (cancel is not None and cancel.is_set()):
                        return
                    yield from self._next_batch(pending, on_batch)
            finally:
                for _, future in pending:
                    future.cancel()

    def _next_batch(
        self,
        pending: deque[tuple[Path, Future[torch.Tensor | EncodedJpeg | str]]],
        on_batch: Callable[[int], None] | None,
    ) -> Iterator[TagResult]:
        """Take decoded items in order until a batch is full, run it, and yield their results."""
        taken: list[tuple[Path, torch.Tensor | EncodedJpeg | str]] = []
        good = 0
        while pending and good < self.batch_size:
            path, future = pending.popleft()
            item = future.result()
            taken.append((path, item))
            good += not isinstance(item, str)
        if self.device_decode:
            taken = self._finish_on_device(taken)
            good = sum(not isinstance(item, str) for _, item in taken)
        scores: np.ndarray | None = None
        embeddings: np.ndarray | None = None
        failure: str | None = None
        if good:
            try:
                scores, embeddings = self.predict(torch.stack([t for _, t in taken if isinstance(t, torch.Tensor)]))
            except RuntimeError as exc:  # e.g. CUDA out of memory: report and carry on
                failure = f"inference failed: {exc}"
        row = 0
        for path, item in taken:
            if isinstance(item, str):
                yield TagResult(path, error=item)
            elif failure is not None or scores is None or embeddings is None:
                yield TagResult(path, error=failure or "inference failed")
            else:
                yield TagResult(path, scores=scores[row], embedding=embeddings[row])
                row += 1
        if on_batch is not None:
            on_batch(len(taken))

    def _finish_on_device(
        self, taken: list[tuple[Path, torch.Tensor | EncodedJpeg | str]]
    ) -> list[tuple[Path, torch.Tensor | EncodedJpeg | str]]:
        """CUDA fast path: decode the batch's JPEGs together on the GPU, then pad, resize and
        normalise every image there; Pillow-decoded images travel as uint8 (4x less than float)."""
        jpegs = [item for _, item in taken if isinstance(item, EncodedJpeg)]
        decoded = iter(decode_jpegs(jpegs, self.device))
        out: list[tuple[Path, torch.Tensor | EncodedJpeg | str]] = []  # no EncodedJpeg is left in it
        for path, item in taken:
            if isinstance(item, EncodedJpeg):
                item = next(decoded)
            if isinstance(item, torch.Tensor):
                if item.device != self.device:
                    item = item.pin_memory().to(self.device, non_blocking=True)
                item = pad_resize_normalise(item, self.image_size, self.fast)
            out.append((path, item))
        return out
