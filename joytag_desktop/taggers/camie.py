"""Camie Tagger (Camais03): v1 ``model_initial.onnx`` + ``model_initial_metadata.json`` (+
``model/thresholds.json``) and v2 ``camie-tagger-v2.onnx`` + ``camie-tagger-v2-metadata.json``,
run with onnxruntime only (see tests/fixtures/camie-format/README.md). GPL-3.0 weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from joytag_desktop.categories import GENERAL, MODEL_CATEGORIES
from joytag_desktop.errors import ModelFolderError
from joytag_desktop.taggers.contract import ONNX, OnnxOutputs, TaggerFamily, TaggerFolder
from joytag_desktop.taggers.reading import MAX_LABELS_BYTES, read_json
from joytag_desktop.taggers.registry import register_tagger
from joytag_desktop.taggers.vocabulary import Policy, Vocabulary

if TYPE_CHECKING:
    from PIL import Image

PROFILES = ("balanced", "high_precision", "high_recall", "micro_opt", "macro_opt")
FALLBACK_THRESHOLD = 0.5  # no threshold table (v2 publishes none): one fixed threshold for every tag


@dataclass(frozen=True)
class CamieVersion:
    version: str
    graph: str
    metadata: str
    thresholds: str  # relative path of the profile table, optional
    stage: str  # which entry of the table belongs to this graph
    pad: tuple[int, int, int]
    mean: tuple[float, float, float] | None  # None: plain 0..1


V1 = CamieVersion("v1", "model_initial.onnx", "model_initial_metadata.json", "model/thresholds.json", "initial",
                  (0, 0, 0), None)  # fmt: skip
V2 = CamieVersion("v2", "camie-tagger-v2.onnx", "camie-tagger-v2-metadata.json", "thresholds.json", "refined",
                  (124, 116, 104), (0.485, 0.456, 0.406))  # fmt: skip
IMAGENET_STD = (0.229, 0.224, 0.225)


def _vocabulary(metadata: Any, path: Path) -> tuple[Vocabulary, int]:
    """Tags in output order with their categories; and the input side."""
    if not isinstance(metadata, dict):
        raise ModelFolderError(f"{path.name} must hold a JSON object")
    size = 512
    mapping = metadata
    if "dataset_info" in metadata:  # v2
        info = metadata.get("model_info") or {}
        size = info.get("img_size", 512) if isinstance(info, dict) else 512
        mapping = (metadata.get("dataset_info") or {}).get("tag_mapping") or {}
    index = mapping.get("idx_to_tag") if isinstance(mapping, dict) else None
    to_category = mapping.get("tag_to_category") or {} if isinstance(mapping, dict) else {}
    if not isinstance(index, dict) or not index or not isinstance(to_category, dict):
        raise ModelFolderError(f"{path.name} has no idx_to_tag table")
    if not isinstance(size, int) or isinstance(size, bool) or not 32 <= size <= 4096:
        raise ModelFolderError(f"{path.name}: img_size {str(size)[:20]!r} is not a usable input side")
    try:
        order = sorted((int(key), str(tag)) for key, tag in index.items())
    except ValueError:
        raise ModelFolderError(f"{path.name}: idx_to_tag keys must be numbers") from None
    if [i for i, _ in order] != list(range(len(order))):
        raise ModelFolderError(f"{path.name}: idx_to_tag must number the tags 0…{len(order) - 1}")
    names = tuple(tag for _, tag in order)
    categories = tuple(
        str(to_category.get(tag)) if to_category.get(tag) in MODEL_CATEGORIES else GENERAL for tag in names
    )
    if len(set(names)) != len(names):
        raise ModelFolderError(f"{path.name} lists some tags more than once")
    return Vocabulary(names, categories), size


def _policy(table_path: Path, stage: str, categories: list[str]) -> Policy:
    """The profile table: ``overall/<p>`` one threshold for all, ``category/<p>`` one per category."""
    if not table_path.is_file():
        return Policy(default=FALLBACK_THRESHOLD)
    table = read_json(table_path)
    entry = table.get(stage) if isinstance(table, dict) else None
    if not isinstance(entry, dict) or not isinstance(entry.get("overall"), dict):
        raise ModelFolderError(f"{table_path.name} has no '{stage}' entry with overall thresholds")

    def threshold(group: str, profile: str) -> float | None:
        value = ((entry.get(group) or {}).get(profile) or {}).get("threshold")
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    profiles: dict[str, dict[str, float]] = {}
    for profile in PROFILES:
        overall = threshold("overall", profile)
        if overall is None:
            continue
        profiles[f"overall/{profile}"] = {"*": overall}
        per_category = {c: t for c in categories if (t := threshold(c, profile)) is not None}
        profiles[f"category/{profile}"] = {"*": overall, **per_category}
    if not profiles:
        raise ModelFolderError(f"{table_path.name}: the '{stage}' entry has no profile thresholds")
    default = "overall/balanced" if "overall/balanced" in profiles else next(iter(profiles))
    return Policy(default=profiles[default]["*"], profiles=profiles, default_profile=default)


@register_tagger(order=10)
class CamieFamily(TaggerFamily):
    name = "camie"
    title = "camie-tagger"
    needs = f"{V2.graph} + {V2.metadata} (v2), or {V1.graph} + {V1.metadata} (v1)"
    markers = (V1.graph, V1.metadata, V2.graph, V2.metadata)

    def inspect(self, folder: Path) -> TaggerFolder:
        for version in (V2, V1):
            present = [(folder / name).is_file() for name in (version.graph, version.metadata)]
            if all(present):
                break
            if any(present):
                missing = [n for n, p in zip((version.graph, version.metadata), present, strict=True) if not p]
                raise self.missing(folder, missing)
        else:
            raise self.missing(folder, [V2.graph, V2.metadata])
        vocabulary, size = _vocabulary(
            read_json(folder / version.metadata, MAX_LABELS_BYTES), folder / version.metadata
        )
        policy = _policy(folder / version.thresholds, version.stage, vocabulary.present_categories())
        return TaggerFolder(
            folder,
            self,
            version.version,
            vocabulary,
            policy,
            size,
            {ONNX: folder / version.graph},
            {"version": version},
        )

    def onnx_outputs(self, tagger: TaggerFolder) -> OnnxOutputs:
        return OnnxOutputs(scores=1, sigmoid=True)  # refined_logits / refined_predictions, logits

    def reference_input(self, tagger: TaggerFolder, route: str, image: Image.Image) -> np.ndarray:
        return letterbox(image, tagger.image_size, tagger.details["version"])


def letterbox(image: Image.Image, size: int, version: CamieVersion) -> np.ndarray:
    """The app's steps: RGBA and P to RGB (alpha dropped), fit the longer side with Lanczos (the
    shorter truncated with int), paste centred on the version's pad colour; (3, S, S) float32."""
    from PIL import Image

    if image.mode in ("RGBA", "P"):
        image = image.convert("RGB")
    width, height = image.size
    aspect = width / height
    new_size = (size, int(size / aspect)) if aspect > 1 else (int(size * aspect), size)
    resized = image.resize((max(1, new_size[0]), max(1, new_size[1])), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (size, size), version.pad)
    canvas.paste(resized, ((size - resized.size[0]) // 2, (size - resized.size[1]) // 2))
    pixels = np.asarray(canvas, dtype=np.float32) / np.float32(255)
    if version.mean is not None:
        pixels = (pixels - np.asarray(version.mean, np.float32)) / np.asarray(IMAGENET_STD, np.float32)
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))
