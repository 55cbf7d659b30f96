"""PixAI tagger v0.9 (pixai-labs) as deepghs exports it to ONNX (``deepghs/pixai-tagger-v0.9-onnx``):
``model.onnx`` + ``selected_tags.csv`` (each character with its copyrights) + ``categories.json`` +
``preprocess.json`` (+ ``thresholds.csv``); see tests/fixtures/pixai-format/README.md.

The original repository publishes the weights as a pickle (``model_v0.9.pth``, with
``tags_v0.9_13k.json`` and ``char_ip_map.json``): that layout is recognised and refused, pointing
at the ONNX export, and the pickle is never opened.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from joytag_desktop.categories import CHARACTER, COPYRIGHT, GENERAL, MODEL_CATEGORIES
from joytag_desktop.errors import ModelFolderError
from joytag_desktop.taggers.contract import ONNX, OnnxOutputs, TaggerFamily, TaggerFolder
from joytag_desktop.taggers.reading import MAX_LABELS_BYTES, csv_header, hwc_to_chw, read_json, read_text
from joytag_desktop.taggers.registry import register_tagger
from joytag_desktop.taggers.vocabulary import Policy, Vocabulary

if TYPE_CHECKING:
    from PIL import Image

GRAPH, LABELS, CATEGORIES, PREPROCESS = "model.onnx", "selected_tags.csv", "categories.json", "preprocess.json"
THRESHOLDS = "thresholds.csv"  # optional: the model card's thresholds where it is absent
ONNX_EXPORT = "deepghs/pixai-tagger-v0.9-onnx"
ORIGINAL = ("model_v*.pth", "tags_v*.json", "char_ip_map.json")  # pixai-labs' own layout: refused
# The model card's recommendation; thresholds.csv, where present, says otherwise per category.
DEFAULT_THRESHOLDS = {GENERAL: 0.30, CHARACTER: 0.75}
# imgutils reads the outputs by name: prediction = sigmoid(logits); embedding = the head's input.
OUTPUTS = OnnxOutputs(scores="prediction", embedding="embedding")
# Danbooru's numbers, for a category that categories.json does not name.
DANBOORU = {0: GENERAL, 1: "artist", 3: COPYRIGHT, 4: CHARACTER, 5: "meta"}
_RESAMPLING = {"nearest": 0, "bilinear": 2, "bicubic": 3, "lanczos": 1}  # PIL's Image.Resampling values


@dataclass(frozen=True)
class Preprocess:
    """``preprocess.json``'s stages: resize to (width, height), to 0..1, normalise per channel."""

    size: tuple[int, int]
    resample: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


def read_preprocess(path: Path) -> Preprocess:
    """The stages torchvision runs (``Resize`` of a PIL image is Pillow's resize, antialiased
    whatever ``antialias`` says; ``ToTensor``; ``Normalize``); other stages are refused."""
    raw = read_json(path)
    stages = raw.get("stages") if isinstance(raw, dict) else None
    if not isinstance(stages, list) or [s.get("type") if isinstance(s, dict) else None for s in stages] != [
        "resize",
        "to_tensor",
        "normalize",
    ]:
        raise ModelFolderError(f"{path.name}: expected the stages resize, to_tensor, normalize (PixAI's)")
    resize, _, normalize = stages
    size, interpolation = resize.get("size"), resize.get("interpolation", "bilinear")
    if isinstance(size, int) and not isinstance(size, bool):
        raise ModelFolderError(f"{path.name}: a resize of the shorter side ({size}) is not PixAI's")
    if not (isinstance(size, list) and len(size) == 2 and all(_side(v) for v in size)) or resize.get("max_size"):
        raise ModelFolderError(f"{path.name}: resize needs a size [height, width] of 16…4096 pixels")
    if interpolation not in _RESAMPLING:
        raise ModelFolderError(f"{path.name}: unknown interpolation {str(interpolation)[:20]!r}")
    mean, std = normalize.get("mean"), normalize.get("std")
    if not (_triple(mean) and _triple(std) and all(s > 0 for s in std)):
        raise ModelFolderError(f"{path.name}: normalize needs three means and three positive stds")
    return Preprocess((size[1], size[0]), _RESAMPLING[interpolation], tuple(mean), tuple(std))  # type: ignore[arg-type]


def _side(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 16 <= value <= 4096


def _triple(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 3 and all(_number(v) for v in value)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_categories(path: Path) -> dict[int, str]:
    """``[{"category": 0, "name": "general"}, …]`` → number to our category name."""
    raw = read_json(path)
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise ModelFolderError(f'{path.name} must list {{"category": N, "name": …}} objects')
    table: dict[int, str] = {}
    for row in raw:
        number, name = row.get("category"), row.get("name")
        if not isinstance(number, int) or isinstance(number, bool) or not isinstance(name, str):
            raise ModelFolderError(f'{path.name}: each entry needs a number "category" and a "name"')
        table[number] = name if name in MODEL_CATEGORIES else DANBOORU.get(number, GENERAL)
    return table


def read_labels(path: Path, categories: dict[int, str]) -> Vocabulary:
    """``id,tag_id,name,category,count,ips`` in output order; each character's ``ips`` (a JSON list
    of copyright tags) become derived tags, scored as the best of the characters bringing them.

    A copyright spelt like one of the model's own tags is that tag (a library tag is one name)."""
    rows = list(csv.DictReader(io.StringIO(read_text(path, MAX_LABELS_BYTES))))
    header = csv_header(path)
    if not {"name", "category", "ips"} <= set(header):
        raise ModelFolderError(f"{path.name} does not have PixAI's columns id,tag_id,name,category,count,ips")
    names: list[str] = []
    kinds: list[str] = []
    brings: dict[str, list[int]] = {}
    for number, row in enumerate(rows, start=2):
        name = (row.get("name") or "").strip()
        try:
            category = int(row.get("category") or "")
        except ValueError:
            category = None
        if not name or category is None:
            raise ModelFolderError(f"{path.name} line {number}: expected a name and a category number")
        try:
            ips = json.loads(row.get("ips") or "[]")
        except (json.JSONDecodeError, RecursionError):
            raise ModelFolderError(f"{path.name} line {number}: ips is not a JSON list") from None
        if not isinstance(ips, list) or not all(isinstance(ip, str) and ip.strip() for ip in ips):
            raise ModelFolderError(f"{path.name} line {number}: ips must be a JSON list of tag names")
        for ip in ips:
            brings.setdefault(ip.strip(), []).append(len(names))
        names.append(name)
        kinds.append(categories.get(category, DANBOORU.get(category, GENERAL)))
    if not names:
        raise ModelFolderError(f"{path.name} lists no tags")
    if len(set(names)) != len(names):
        raise ModelFolderError(f"{path.name} lists some tags more than once")
    own = set(names)
    copyrights = sorted(ip for ip in brings if ip not in own)
    return Vocabulary(
        (*names, *copyrights),
        (*kinds, *[COPYRIGHT] * len(copyrights)),
        tuple(tuple(brings[ip]) for ip in copyrights),
    )


def read_thresholds(path: Path, categories: dict[int, str]) -> dict[str, float]:
    """``category,name,threshold`` rows, by our category name; the model card's where absent."""
    found = dict(DEFAULT_THRESHOLDS)
    if not path.is_file():
        return found
    for number, row in enumerate(csv.DictReader(io.StringIO(read_text(path))), start=2):
        try:
            category, value = int(row.get("category") or ""), float(row.get("threshold") or "")
        except ValueError:
            raise ModelFolderError(f"{path.name} line {number}: expected category,name,threshold numbers") from None
        if not 0 <= value <= 1:
            raise ModelFolderError(f"{path.name} line {number}: a threshold is between 0 and 1")
        name = categories.get(category) or DANBOORU.get(category)
        if name is not None:  # a category the model has no tags of is no threshold of its own
            found[name] = value
    return found


def on_white(image: Image.Image) -> Image.Image:
    """The handler's steps: palette images through RGBA; RGBA, LA and RGB with a transparent
    colour pasted on white through their alpha; anything else to RGB."""
    from PIL import Image

    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA") or (image.mode == "RGB" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.split()[3])
        return background
    return image.convert("RGB")


def reference_pixels(image: Image.Image, steps: Preprocess) -> np.ndarray:
    """(3, H, W) float32: on white, stretched to the size (no crop, no pad), /255, normalised."""
    resized = on_white(image).resize(steps.size, steps.resample)
    pixels = np.asarray(resized, dtype=np.float32) / np.float32(255)
    pixels = (pixels - np.asarray(steps.mean, np.float32)) / np.asarray(steps.std, np.float32)
    return hwc_to_chw(pixels)


def refuse_original(folder: Path) -> ModelFolderError:
    return ModelFolderError(
        f"{folder} holds PixAI's original weights (model_v0.9.pth, a pickle this app never opens): "
        f"use the ONNX export {ONNX_EXPORT} instead (`joytag-desktop models download pixai-v0.9`)"
    )


@register_tagger(order=15)  # before WD: both publish a selected_tags.csv
class PixaiFamily(TaggerFamily):
    name = "pixai"
    title = "PixAI tagger"
    needs = f"{GRAPH} + {LABELS} + {CATEGORIES} + {PREPROCESS} (+ {THRESHOLDS}), as {ONNX_EXPORT} publishes them"
    markers = (PREPROCESS, CATEGORIES, *ORIGINAL)

    def claims(self, folder: Path) -> bool:
        return super().claims(folder) or "ips" in csv_header(folder / LABELS)

    def inspect(self, folder: Path) -> TaggerFolder:
        required = (GRAPH, LABELS, CATEGORIES, PREPROCESS)
        missing = [name for name in required if not (folder / name).is_file()]
        if missing and any(any(folder.glob(marker)) for marker in ORIGINAL):
            raise refuse_original(folder)
        if missing:
            raise self.missing(folder, missing)
        categories = read_categories(folder / CATEGORIES)
        vocabulary = read_labels(folder / LABELS, categories)
        thresholds = read_thresholds(folder / THRESHOLDS, categories)
        thresholds.setdefault(COPYRIGHT, thresholds[CHARACTER])  # a copyright comes with its character
        # ">=", as imgutils compares; in a library the copyright threshold follows the character one
        policy = Policy(default=thresholds[GENERAL], thresholds=thresholds, follows={COPYRIGHT: CHARACTER})
        steps = read_preprocess(folder / PREPROCESS)
        if steps.size[0] != steps.size[1]:
            raise ModelFolderError(f"{PREPROCESS}: the input must be square, not {steps.size[0]}x{steps.size[1]}")
        return TaggerFolder(
            folder, self, "v0.9, ONNX", vocabulary, policy, steps.size[0], {ONNX: folder / GRAPH}, {"steps": steps}
        )

    def onnx_outputs(self, tagger: TaggerFolder) -> OnnxOutputs:
        return OUTPUTS

    def reference_input(self, tagger: TaggerFolder, route: str, image: Image.Image) -> np.ndarray:
        steps: Preprocess = tagger.details["steps"]
        if steps.size[0] != tagger.image_size:  # the graph's own input size wins
            steps = Preprocess((tagger.image_size, tagger.image_size), steps.resample, steps.mean, steps.std)
        return reference_pixels(image, steps)
