"""RedRocket's JTP-1 PILOT / PILOT2: a bare timm ``vit_so400m_patch14_siglip_384`` state dict
(``*.safetensors``) + ``tags.json``; PILOT2 replaces the linear head by a gated one.

There is no config file: width, depth and heads are read from the tensors (see
tests/fixtures/jtp-format/README.md), so the tiny fixtures and the 1.8 GB files load alike.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from joytag_desktop.errors import ModelFolderError
from joytag_desktop.taggers.contract import SAFETENSORS, TaggerFamily, TaggerFolder
from joytag_desktop.taggers.reading import MAX_LABELS_BYTES, load_state, load_strict, read_json, safetensors_shapes
from joytag_desktop.taggers.registry import register_tagger
from joytag_desktop.taggers.vocabulary import Policy, Vocabulary
from joytag_desktop.taggers.wd import timm_tagger

if TYPE_CHECKING:
    import torch
    from PIL import Image

LABELS = "tags.json"
ARCHITECTURE = "vit_so400m_patch14_siglip_384"
IMAGE_SIZE = 384
HEAD_CHANNELS = 72  # so400m: 16 heads of 72 channels; the tiny fixtures keep 72 per head
JTP_POLICY = Policy(default=0.2, strict=True)  # the model card's threshold, ">" as the Spaces do
_BLOCK = re.compile(r"^blocks\.(\d+)\.")


def read_tags(path: Path) -> list[str]:
    """``{"tag": index, …}``; PILOT2 spells tags with spaces, PILOT with underscores: underscores
    for both, so the two models name a tag alike (and a search word is one tag)."""
    raw = read_json(path, MAX_LABELS_BYTES)
    if not isinstance(raw, dict) or not raw:
        raise ModelFolderError(f"{path.name} must map each tag to its output index")
    indices = sorted(raw.values()) if all(isinstance(v, int) and not isinstance(v, bool) for v in raw.values()) else []
    if indices != list(range(len(raw))):
        raise ModelFolderError(f"{path.name}: the indices must be 0…{len(raw) - 1}, each once")
    tags = [""] * len(raw)
    for tag, index in raw.items():
        tags[index] = tag.strip().replace(" ", "_")
    if len(set(tags)) != len(tags):
        raise ModelFolderError(f"{path.name} lists some tags more than once")
    return tags


def dimensions(shapes: dict[str, tuple[int, ...]], weights: Path) -> dict[str, int | bool]:
    """The architecture's free numbers, read from the tensor shapes."""
    try:
        width, _, patch, _ = shapes["patch_embed.proj.weight"]
        depth = len({int(m.group(1)) for name in shapes if (m := _BLOCK.match(name))})
        mlp = shapes["blocks.0.mlp.fc1.weight"][0]
        gated = "head.linear.weight" in shapes
        outputs = shapes["head.linear.weight"][0] // 2 if gated else shapes["head.weight"][0]
    except (KeyError, ValueError, IndexError):
        raise ModelFolderError(
            f"{weights.name} is not a JTP-1 checkpoint of {ARCHITECTURE} (patch_embed, blocks or head missing)"
        ) from None
    if width % HEAD_CHANNELS:
        raise ModelFolderError(f"{weights.name}: width {width} is not a multiple of {HEAD_CHANNELS}")
    return {"width": width, "patch": patch, "depth": depth, "mlp": mlp, "gated": gated, "outputs": outputs}


def gated_head(width: int, tags: int) -> torch.nn.Module:
    """PILOT2's head: one Linear(width, 2N); score = sigmoid(first half) × sigmoid(second half)."""
    import torch

    class GatedHead(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(width, 2 * tags)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            z = self.linear(x).float()
            return torch.sigmoid(z[:, :tags]) * torch.sigmoid(z[:, tags:])

    return GatedHead()


def jtp_network(dims: dict[str, int | bool], tags: int) -> torch.nn.Module:
    """The SigLIP so400m ViT of the reference (``vit_so400m_patch14_siglip_384``) at these dimensions."""
    import timm

    width = int(dims["width"])
    network = timm.create_model(
        ARCHITECTURE,
        pretrained=False,
        num_classes=tags,
        embed_dim=width,
        depth=int(dims["depth"]),
        num_heads=width // HEAD_CHANNELS,
        mlp_ratio=(int(dims["mlp"]) + 0.5) / width,  # timm takes int(width × ratio): land mid-way
    )
    if dims["gated"]:
        network.head = gated_head(width, tags)
    return network


@register_tagger(order=30)
class JtpFamily(TaggerFamily):
    name = "jtp"
    title = "JTP-1"
    needs = f"{LABELS} and one .safetensors file"
    markers = (LABELS,)

    def inspect(self, folder: Path) -> TaggerFolder:
        weights = sorted(folder.glob("*.safetensors"))
        if not (folder / LABELS).is_file():
            raise self.missing(folder, [LABELS])
        if len(weights) != 1:
            if not weights:
                raise self.missing(folder, ["a .safetensors file"])
            raise ModelFolderError(f"{self.title} folder {folder} holds {len(weights)} .safetensors files; keep one")
        tags = read_tags(folder / LABELS)
        dims = dimensions(safetensors_shapes(weights[0]), weights[0])
        if dims["outputs"] != len(tags):
            raise ModelFolderError(
                f"{weights[0].name} has {dims['outputs']} outputs but {LABELS} lists {len(tags)} tags"
            )
        variant = "PILOT2, gated head" if dims["gated"] else "PILOT, linear head"
        if dims["width"] != 1152:
            variant += f", width {dims['width']}"
        return TaggerFolder(
            folder,
            self,
            variant,
            Vocabulary.general_only(tags),
            JTP_POLICY,
            IMAGE_SIZE,
            {SAFETENSORS: weights[0]},
            {"dims": dims},
        )

    def build_network(self, tagger: TaggerFolder) -> torch.nn.Module:
        dims = tagger.details["dims"]
        network = jtp_network(dims, len(tagger.vocabulary))
        weights = tagger.files[SAFETENSORS]
        load_strict(network, load_state(weights), weights)
        head: Any = network.head if dims["gated"] else None  # the gated head module timm's model carries
        return timm_tagger(network, head=head)

    def reference_input(self, tagger: TaggerFolder, route: str, image: Image.Image) -> np.ndarray:
        return fit_on_grey(image, tagger.image_size)


def fit_on_grey(image: Image.Image, size: int) -> np.ndarray:
    """The Space's steps: RGBA, fit inside size² with Lanczos (small images grow), alpha over 50 %
    grey, normalise 0.5/0.5, pad with 0 (grey) to size² (the odd pixel right/bottom); (3, S, S)."""
    from PIL import Image

    rgba = image.convert("RGBA")
    width, height = rgba.size
    scale = min(size / height, size / width)
    if scale != 1.0:
        new_height, new_width = min(round(height * scale), size), min(round(width * scale), size)
        rgba = rgba.resize((new_width, new_height), Image.Resampling.LANCZOS)
    pixels = np.asarray(rgba, dtype=np.uint8).astype(np.float32) / np.float32(255)
    rgb, alpha = pixels[:, :, :3], pixels[:, :, 3:]
    rgb = rgb * alpha + (np.float32(1) - alpha) * np.float32(0.5)
    rgb = (rgb - np.float32(0.5)) / np.float32(0.5)
    height, width = rgb.shape[:2]
    out = np.zeros((size, size, 3), dtype=np.float32)
    top, left = (size - height) // 2, (size - width) // 2
    out[top : top + height, left : left + width] = rgb
    return np.ascontiguousarray(out.transpose(2, 0, 1))
