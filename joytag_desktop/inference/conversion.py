"""Converted graphs and their cache: ONNX exports, int8 quantisations, OpenVINO IR.

A route's graph (a PyTorch file's network, or a published ONNX graph) is converted once and kept
beside the model folder, keyed by the weights' fingerprint, or in the user cache folder where the
model folder is not ours to write in.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from joytag_desktop import paths
from joytag_desktop.inference.device import cpu_has_vnni
from joytag_desktop.taggers.contract import OnnxOutputs, TaggerFolder

_ELEMENTWISE = {"Sigmoid", "Clip", "Div", "Mul", "Add", "Sub", "Identity", "Cast", "Flatten", "Reshape", "Squeeze"}
CACHE_FOLDER = ".joytag-desktop-cache"
CACHE_ENV = "JOYTAG_DESKTOP_CONVERTED"  # where converted graphs go, instead of beside the model


def cache_dir(tagger: TaggerFolder) -> Path:
    """``<model>/.joytag-desktop-cache/<fingerprint>`` for a downloaded model; for a folder the user
    pointed at (whose owner may not want our files in it) the data folder's ``converted/<fingerprint>``."""
    key = tagger.fingerprint()
    override = os.environ.get(CACHE_ENV)
    folder = (Path(override).expanduser() if override else paths.data_dir() / "converted") / key
    try:
        if override:
            raise FileNotFoundError  # an explicit cache folder wins
        if tagger.path.resolve().is_relative_to(paths.models_dir().resolve()):
            folder = tagger.path / CACHE_FOLDER / key
    except OSError:
        pass  # the folder chosen above stands
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def has_converted(tagger: TaggerFolder) -> bool:
    """Whether a graph of these weights was converted before: the first load on a CPU converts
    (OpenVINO IR, int8), which takes up to a minute; later loads read the cache."""
    try:
        return any(path.suffix in (".xml", ".onnx") for path in cache_dir(tagger).iterdir())
    except OSError:
        return False


def _publish(build: Any, target: Path) -> Path:
    """Write a converted file (or an IR pair) through a temporary folder, then move it into place,
    so a killed conversion never leaves a half-written graph that looks finished."""
    if target.exists():
        return target
    scratch = Path(tempfile.mkdtemp(prefix=".converting-", dir=target.parent))
    try:
        build(scratch / target.name)
        for produced in scratch.iterdir():
            produced.replace(target.parent / produced.name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def export_onnx(network: torch.nn.Module, tagger: TaggerFolder, sample: torch.Tensor) -> Path:
    """The PyTorch network as an ONNX graph with outputs ``scores`` and ``embedding``."""

    def build(target: Path) -> None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                network,
                (sample,),
                str(target),
                input_names=["input"],
                output_names=["scores", "embedding"],
                dynamic_axes={"input": {0: "batch"}, "scores": {0: "batch"}, "embedding": {0: "batch"}},
                dynamo=False,
            )

    return _publish(build, cache_dir(tagger) / f"exported{tagger.family.graph_key(tagger)}.onnx")


def quantise_int8(graph: Path, tagger: TaggerFolder) -> Path:
    """Dynamic int8: per-channel QInt8 weights on MatMul only (the stem convolutions stay float);
    7-bit weights (``reduce_range``) on CPUs without VNNI, cached apart."""
    seven_bit = not cpu_has_vnni()

    def build(target: Path) -> None:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(
            str(graph),
            str(target),
            per_channel=True,
            reduce_range=seven_bit,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul"],
        )

    return _publish(build, cache_dir(tagger) / f"{graph.stem}-int8{'-7bit' if seven_bit else ''}.onnx")


def embedding_output(model: Any, outputs: OnnxOutputs) -> str | None:
    """The published graph's pooled features (``model``: a loaded ONNX ModelProto): the data input
    of the last Gemm/MatMul before the scores."""
    if outputs.embedding_only:  # the graph's output is the embedding itself
        return None
    producers = {out: node for node in model.graph.node for out in node.output}
    weights = {init.name for init in model.graph.initializer}
    names = [output.name for output in model.graph.output]
    name = names[outputs.position(outputs.scores, names, "the graph")]
    for _ in range(64):
        node = producers.get(name)
        if node is None:
            return None
        if node.op_type in ("Gemm", "MatMul"):
            data = [i for i in node.input if i not in weights]
            return data[0] if data else None
        if node.op_type not in _ELEMENTWISE:
            return None
        data = [i for i in node.input if i in producers]
        if not data:
            return None
        name = data[0]
    return None


def openvino_from_torch(tagger: TaggerFolder, sample: torch.Tensor) -> Any:
    """The PyTorch network as OpenVINO IR (float32 weights), converted once and cached: the
    network is built only when there is no IR yet."""
    import openvino as ov

    target = cache_dir(tagger) / f"openvino{tagger.family.graph_key(tagger)}.xml"
    if not target.exists():
        network = tagger.family.build_network(tagger)

        def build(path: Path) -> None:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                converted = ov.convert_model(network, example_input=sample)
            ov.save_model(converted, str(path), compress_to_fp16=False)

        _publish(build, target)
    return ov.Core().read_model(str(target))


def with_embedding_output(model: Any, embedding: str | None) -> Any:
    """A published graph read by OpenVINO, with its pooled features exposed as a second output."""
    if embedding is not None:
        model.add_outputs([embedding])
    return model


def quantise_openvino_int8(model: Any, tagger: TaggerFolder, route: str, calibration: list[np.ndarray]) -> Any:
    """Static int8 (NNCF post-training quantisation, VNNI int8 matrix products), cached per route.

    ``calibration``: preprocessed photos (each a 1-image batch) whose activation ranges fix the int8
    scales. Transformers get NNCF's transformer scheme (SmoothQuant, softmax/norms left float).
    """
    import openvino as ov

    seven_bit = not cpu_has_vnni()  # NNCF's overflow fix on every layer, not just the first
    key = tagger.family.graph_key(tagger)
    target = cache_dir(tagger) / f"openvino-int8-{route}{key}{'-7bit' if seven_bit else ''}.xml"
    if not target.exists():

        def build(path: Path) -> None:
            import contextlib
            import io
            import logging

            import nncf
            from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, OverflowFix

            logging.getLogger("nncf").setLevel(logging.ERROR)
            overflow = OverflowFix.ENABLE if seven_bit else OverflowFix.FIRST_LAYER
            convolutional = "convnext" in f"{tagger.variant} {tagger.path.name}".lower()
            with contextlib.redirect_stdout(io.StringIO()):  # NNCF's progress bars; stdout is the CLI's data
                quantised = nncf.quantize(
                    model,
                    nncf.Dataset(calibration),
                    model_type=None if convolutional else nncf.ModelType.TRANSFORMER,
                    subset_size=len(calibration),
                    advanced_parameters=AdvancedQuantizationParameters(overflow_fix=overflow),
                )
            ov.save_model(quantised, str(path), compress_to_fp16=False)

        _publish(build, target)
    return ov.Core().read_model(str(target))
