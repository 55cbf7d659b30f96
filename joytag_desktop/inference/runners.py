"""Running a tagger's network: PyTorch, ONNX Runtime or OpenVINO, each returning (scores, embedding).

The graph a route runs fixes its input convention (a PyTorch file's network, or a published ONNX
graph); the runtime only executes it. ``choose_runtime`` picks one for a route, device and precision.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch

from joytag_desktop.errors import JoyTagError, ModelFolderError
from joytag_desktop.inference.conversion import embedding_output
from joytag_desktop.inference.device import cpu_has_fast_bf16, cpu_has_vnni, has_module
from joytag_desktop.taggers.contract import ONNX, OnnxOutputs

RUNTIMES = ("auto", "torch", "onnxruntime", "openvino")


def _pool(embedding: np.ndarray) -> np.ndarray:
    """A feature map that is not yet (B, D) is averaged over its middle axes."""
    embedding = np.asarray(embedding, dtype=np.float32)
    return embedding if embedding.ndim == 2 else embedding.reshape(embedding.shape[0], -1, embedding.shape[-1]).mean(1)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float32)
    return np.float32(1) / (np.float32(1) + np.exp(-logits))


class Runner:
    """Executes one graph; ``predict`` takes a (B, …) float32 batch, returns float32 scores and embeddings."""

    runtime = "torch"
    precision = "float32"
    device = torch.device("cpu")

    def predict(self, batch: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def describe(self) -> str:
        return f"{self.runtime} {self.precision}"


class TorchRunner(Runner):
    """A PyTorch module returning (scores, embedding). Reduced precisions cast the weights once and
    autocast the rest (1.07–1.21x faster on the CPU than autocasting float32 weights)."""

    runtime = "torch"

    def __init__(
        self, network: torch.nn.Module, device: torch.device, dtype: torch.dtype, cast_weights: bool = True
    ) -> None:
        self.device, self.dtype = device, dtype
        self.precision = str(dtype).removeprefix("torch.")
        self.network = network.to(device=device).eval()
        if dtype != torch.float32 and cast_weights:
            self.network = self.network.to(dtype=dtype)
        if device.type == "cuda":
            self.network = self.network.to(memory_format=torch.channels_last)

    def predict(self, batch: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        if self.device.type == "cuda":
            if batch.device.type == "cpu":
                batch = batch.pin_memory().to(self.device, non_blocking=True)
            if batch.dim() == 4:
                batch = batch.contiguous(memory_format=torch.channels_last)
        autocast = nullcontext() if self.dtype == torch.float32 else torch.autocast(self.device.type, dtype=self.dtype)
        with torch.inference_mode(), autocast:
            scores, embedding = self.network(batch)
        return scores.float().cpu().numpy(), embedding.float().cpu().numpy()


class OnnxRunner(Runner):
    """onnxruntime: the CUDA execution provider when present and asked for, the CPU otherwise."""

    runtime = "onnxruntime"

    def __init__(
        self,
        graph: Path,
        outputs: OnnxOutputs,
        device: torch.device,
        precision: str,
        embedding_is_output: bool = False,
    ) -> None:
        """``embedding_is_output``: the graph already returns its embedding (our own exports); a
        published graph is loaded once, its embedding found and exposed as an extra output."""
        import onnxruntime as ort

        self.precision, self.outputs = precision, outputs
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        options.log_severity_level = 3
        providers = ["CPUExecutionProvider"]
        if device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self.device = device if providers[0] != "CPUExecutionProvider" else torch.device("cpu")
        source: str | bytes = str(graph)
        self.embedding: str | None = "embedding"
        if outputs.embedding_only:
            self.embedding = None
        elif not embedding_is_output and outputs.embedding is None:
            import onnx

            model = onnx.load(str(graph))
            self.embedding = embedding_output(model, outputs)
            if self.embedding is not None:
                model.graph.output.append(onnx.ValueInfoProto(name=self.embedding))
                source = model.SerializeToString()
        try:
            self.session = ort.InferenceSession(source, options, providers=providers)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise ModelFolderError(f"{graph.name} cannot be loaded by ONNX Runtime: {exc}") from None
        inputs = self.session.get_inputs()
        self.input_name, self.input_shape = inputs[0].name, inputs[0].shape
        names = [o.name for o in self.session.get_outputs()]
        self.score_name = names[outputs.position(outputs.scores, names, graph.name)]
        if outputs.embedding is not None:
            self.embedding = names[outputs.position(outputs.embedding, names, graph.name)]

    def predict(self, batch: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        wanted = [self.score_name] + ([self.embedding] if self.embedding else [])
        array = batch.detach().cpu().numpy().astype(np.float32)
        if self.input_shape and self.input_shape[0] == 1 and len(array) > 1:  # a graph exported for batch 1
            parts = [self.session.run(wanted, {self.input_name: array[i : i + 1]}) for i in range(len(array))]
            results = [np.concatenate([np.asarray(part[k]) for part in parts]) for k in range(len(wanted))]
        else:
            results = self.session.run(wanted, {self.input_name: array})
        if self.outputs.embedding_only:
            embedding = _pool(np.asarray(results[0]))
            return np.zeros((len(embedding), 0), np.float32), embedding
        logits = np.asarray(results[0], np.float32)
        scores = _sigmoid(logits) if self.outputs.sigmoid else logits
        embedding = _pool(np.asarray(results[1])) if self.embedding else np.zeros((len(scores), 0), np.float32)
        return scores, embedding


class OpenVinoRunner(Runner):
    """OpenVINO on the CPU, with an inference precision hint (bf16 runs on AVX512-BF16/AMX)."""

    runtime = "openvino"

    def __init__(
        self, model: Any, outputs: OnnxOutputs, embedding: str | None, precision: str, from_torch: bool
    ) -> None:
        """``model``: OpenVINO model whose extra embedding output (a published graph's) is already added."""
        import openvino as ov

        self.precision, self.outputs, self.from_torch = precision, outputs, from_torch
        # int8 graphs carry their own int8 weights; what stays float runs in float32.
        hint = {"bfloat16": "bf16", "float16": "f16"}.get(precision, "f32")
        config = {"INFERENCE_PRECISION_HINT": hint, "INFERENCE_NUM_THREADS": torch.get_num_threads()}
        self.compiled = ov.Core().compile_model(model, "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.embedding = embedding
        # An output has several names once OpenVINO fuses the graph: the one asked for, if it is one.
        wanted = {outputs.scores, outputs.embedding}
        names = [
            next((n for n in sorted(o.get_names()) if n in wanted), min(o.get_names(), default=""))
            for o in self.compiled.outputs
        ]
        self.scores_at = 0 if from_torch else outputs.position(outputs.scores, names, "the graph")
        self.embedding_at = (
            None if outputs.embedding is None else outputs.position(outputs.embedding, names, "the graph")
        )
        self.input_shape = [d.get_length() if d.is_static else None for d in model.inputs[0].get_partial_shape()]

    def predict(self, batch: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        array = batch.detach().cpu().numpy().astype(np.float32)
        outputs = self.compiled.outputs
        if self.input_shape and self.input_shape[0] == 1 and len(array) > 1:  # a graph exported for batch 1
            parts = [self.request.infer([array[i : i + 1]]) for i in range(len(array))]
            results = {out: np.concatenate([np.asarray(part[out]) for part in parts]) for out in outputs}
        else:
            results = self.request.infer([array])
        if self.from_torch:
            return np.asarray(results[outputs[0]], np.float32), np.asarray(results[outputs[1]], np.float32)
        if self.outputs.embedding_only:
            embedding = _pool(results[outputs[0]])
            return np.zeros((len(embedding), 0), np.float32), embedding
        raw = np.asarray(results[outputs[self.scores_at]], np.float32)
        scores = _sigmoid(raw) if self.outputs.sigmoid else raw
        if self.embedding_at is not None:
            return scores, _pool(results[outputs[self.embedding_at]])
        embedding = _pool(results[outputs[-1]]) if self.embedding else np.zeros((len(scores), 0), np.float32)
        return scores, embedding


def choose_runtime(requested: str, route: str, device: torch.device, precision: str) -> str:
    """``auto``: PyTorch files on PyTorch and ONNX graphs on ONNX Runtime, except on CPUs with native
    bf16, where the default (auto precision) and bf16 run on OpenVINO; int8 runs on OpenVINO (NNCF
    static int8) on CPUs with VNNI, else on ONNX Runtime's dynamic int8 (without VNNI OpenVINO's
    int8 was slower than its float32: 0.85x, against ONNX Runtime's 1.54x, full-size JoyTag)."""
    if requested not in RUNTIMES:
        raise JoyTagError(f"unknown runtime {requested!r}: use {', '.join(RUNTIMES)}")
    if precision == "int8":
        if requested not in ("auto", "openvino", "onnxruntime"):
            raise JoyTagError("--precision int8 runs on openvino (static int8) or onnxruntime (dynamic int8)")
        if device.type == "cuda":
            raise JoyTagError("--precision int8 is for the CPU; on a GPU use auto or bfloat16")
        if requested == "auto":
            static = has_module("openvino") and has_module("nncf") and cpu_has_vnni()
            return "openvino" if static else "onnxruntime"
        return requested
    if requested != "auto":
        if requested == "torch" and route == ONNX:
            raise JoyTagError("this folder's ONNX file runs on onnxruntime or openvino, not torch")
        if requested == "openvino" and device.type == "cuda":
            raise JoyTagError("the openvino runtime runs on the CPU here; use --device cpu")
        return requested
    if device.type == "cuda":
        return "torch" if route != ONNX else "onnxruntime"
    if precision in ("auto", "bfloat16") and has_module("openvino") and cpu_has_fast_bf16():
        return "openvino"
    return "torch" if route != ONNX else "onnxruntime"
