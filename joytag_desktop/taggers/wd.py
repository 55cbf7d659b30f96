"""SmilingWolf's WD v3 taggers: ``selected_tags.csv`` with ``model.onnx`` and/or timm's
``config.json`` + ``model.safetensors`` (the same network twice; see tests/fixtures/wd-format/README.md).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from joytag_desktop.categories import CHARACTER, GENERAL, RATING
from joytag_desktop.errors import ModelFolderError
from joytag_desktop.taggers.contract import ONNX, SAFETENSORS, FastCfg, TaggerFamily, TaggerFolder
from joytag_desktop.taggers.reading import (
    MAX_LABELS_BYTES,
    csv_header,
    hwc_to_chw,
    is_timm_config,
    load_state,
    load_strict,
    read_json,
    read_text,
)
from joytag_desktop.taggers.registry import register_tagger
from joytag_desktop.taggers.vocabulary import Policy, Vocabulary

if TYPE_CHECKING:
    import torch
    from PIL import Image

LABELS, CONFIG, WEIGHTS, GRAPH = "selected_tags.csv", "config.json", "model.safetensors", "model.onnx"
# Danbooru's category numbers; v3 files use 0, 4 and 9 only.
DANBOORU_CATEGORIES = {0: GENERAL, 1: "artist", 3: "copyright", 4: CHARACTER, 5: "meta", 9: RATING}
RATING_PREFIX = "rating:"
IMAGE_SIZE = 448  # every v3 model; the ONNX graph's input shape and config.json say so too

# The Space's defaults: general > 0.35, character > 0.85, ratings reported (the best one shown);
# with MCut, characters never below 0.15.
WD_POLICY = Policy(
    default=0.35,
    thresholds={GENERAL: 0.35, CHARACTER: 0.85},
    strict=True,
    top_rating_only=True,
    mcut_categories=(GENERAL, CHARACTER),
    mcut_floor={CHARACTER: 0.15},
)


def read_selected_tags(path: Path) -> Vocabulary:
    """``tag_id,name,category,count``; rating rows become ``rating:<name>`` (bare ``general`` and
    ``explicit`` would read as ordinary tags in a library)."""
    rows = list(csv.reader(io.StringIO(read_text(path, MAX_LABELS_BYTES))))
    if not rows or [cell.strip() for cell in rows[0][:3]] != ["tag_id", "name", "category"]:
        raise ModelFolderError(f"{path.name} does not start with the header tag_id,name,category,count")
    names: list[str] = []
    categories: list[str] = []
    for number, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) < 3 or not row[1]:
            raise ModelFolderError(f"{path.name} line {number}: expected tag_id,name,category,count")
        try:
            category = DANBOORU_CATEGORIES.get(int(row[2]), GENERAL)
        except ValueError:
            raise ModelFolderError(f"{path.name} line {number}: category {row[2][:20]!r} is not a number") from None
        names.append(RATING_PREFIX + row[1] if category == RATING else row[1])
        categories.append(category)
    if not names:
        raise ModelFolderError(f"{path.name} lists no tags")
    if len(set(names)) != len(names):
        raise ModelFolderError(f"{path.name} lists some tags more than once")
    return Vocabulary(tuple(names), tuple(categories))


def read_timm_config(path: Path, tags: int) -> dict[str, Any]:
    raw = read_json(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("architecture"), str):
        raise ModelFolderError(f"{path.name} names no timm architecture")
    if raw.get("num_classes") != tags:
        raise ModelFolderError(f"{path.name} says num_classes is {raw.get('num_classes')!r} but {LABELS} lists {tags}")
    model_args = raw.get("model_args") or {}
    if not isinstance(model_args, dict):
        raise ModelFolderError(f"{path.name}: model_args must be an object")
    return raw


def build_timm(config: dict[str, Any]) -> torch.nn.Module:
    """The timm network a hub ``config.json`` describes, randomly initialised on the CPU."""
    import timm

    try:
        return timm.create_model(
            config["architecture"], pretrained=False, num_classes=config["num_classes"], **config.get("model_args", {})
        )
    except (RuntimeError, TypeError, ValueError, AssertionError) as exc:
        raise ModelFolderError(f"{CONFIG}: timm cannot build {config['architecture']!r}: {exc}") from None


def timm_tagger(network: torch.nn.Module, head: torch.nn.Module | None = None) -> torch.nn.Module:
    """A timm classifier returning (sigmoid scores, pooled embedding): the pooled features are
    what its classifier reads; ``head`` (a module giving scores) replaces that classifier."""
    import torch

    class TimmScores(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net: Any = network  # a timm model: forward_head and the classifier are timm's, not nn.Module's
            self.scores_head: Any = head

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            embedding = self.net.forward_head(self.net.forward_features(x), pre_logits=True)
            if self.scores_head is not None:
                return self.scores_head(embedding).float(), embedding.float()
            logits = self.net.get_classifier()(embedding)
            return torch.sigmoid(logits.float()), embedding.float()

    return TimmScores().eval()


def square_on_white(image: Image.Image, size: int) -> np.ndarray:
    """The Space's steps: alpha over white, pad to a white square, Pillow bicubic to ``size``;
    (size, size, 3) float32 RGB in 0..255."""
    from PIL import Image

    rgba = image.convert("RGBA")
    canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    canvas.alpha_composite(rgba)
    rgb = canvas.convert("RGB")
    side = max(rgb.size)
    square = Image.new("RGB", (side, side), (255, 255, 255))
    square.paste(rgb, ((side - rgb.size[0]) // 2, (side - rgb.size[1]) // 2))
    if side != size:
        square = square.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(square, dtype=np.float32)


@register_tagger(order=20)
class WdFamily(TaggerFamily):
    name = "wd"
    title = "WD tagger v3"
    needs = f"{LABELS} with {GRAPH}, or with {CONFIG} + {WEIGHTS}"
    markers = (LABELS,)

    def claims(self, folder: Path) -> bool:
        if (folder / LABELS).exists():
            return csv_header(folder / LABELS)[:1] != ["id"]  # PixAI's (deepghs) starts id,tag_id,name
        return (folder / CONFIG).is_file() and is_timm_config(folder / CONFIG)

    def inspect(self, folder: Path) -> TaggerFolder:
        if not (folder / LABELS).is_file():
            raise self.missing(folder, [LABELS])
        if not self.claims(folder):
            raise ModelFolderError(f"{folder} is not a WD tagger folder: its {LABELS} is another layout's")
        vocabulary = read_selected_tags(folder / LABELS)
        files: dict[str, Path] = {}
        config: dict[str, Any] | None = None
        has_config, has_weights = (folder / CONFIG).is_file(), (folder / WEIGHTS).is_file()
        if has_config and has_weights:
            config = read_timm_config(folder / CONFIG, len(vocabulary))
            files[SAFETENSORS] = folder / WEIGHTS
        if (folder / GRAPH).is_file():
            files[ONNX] = folder / GRAPH
        if not files:
            missing = [GRAPH] + [name for name, there in ((CONFIG, has_config), (WEIGHTS, has_weights)) if not there]
            raise self.missing(folder, missing)
        image_size = IMAGE_SIZE
        if config is not None:
            input_size = (config.get("pretrained_cfg") or {}).get("input_size") or [3, IMAGE_SIZE, IMAGE_SIZE]
            image_size = int(input_size[-1])
        variant = f"v3, {config['architecture']}" if config else "v3, ONNX"
        return TaggerFolder(folder, self, variant, vocabulary, WD_POLICY, image_size, files, {"config": config})

    def build_network(self, tagger: TaggerFolder) -> torch.nn.Module:
        network = build_timm(tagger.details["config"])
        load_strict(network, load_state(tagger.files[SAFETENSORS]), tagger.files[SAFETENSORS])
        return timm_tagger(network)

    def reference_input(self, tagger: TaggerFolder, route: str, image: Image.Image) -> np.ndarray:
        bgr = square_on_white(image, tagger.image_size)[:, :, ::-1]
        if route == ONNX:
            return np.ascontiguousarray(bgr)  # NHWC, 0..255: the graph normalises
        return hwc_to_chw(bgr / np.float32(127.5) - np.float32(1.0))

    def fast_cfg(self, tagger: TaggerFolder, route: str) -> FastCfg | None:
        return FastCfg((0.5, 0.5, 0.5), (0.5, 0.5, 0.5), bgr=True) if route == SAFETENSORS else None
