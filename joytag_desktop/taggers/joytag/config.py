"""The ``config.json`` of a JoyTag model folder, parsed and checked (torch-free)."""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

from joytag_desktop.errors import ModelFolderError

# Fields that shape the network at inference.
_SHAPE_FIELDS = {
    "n_tags",
    "image_size",
    "num_blocks",
    "patch_size",
    "d_model",
    "mlp_dim",
    "num_heads",
    "use_sine",
    "cnn_stem",
    "head_mean_after",
    "layerscale_init",
}
# Fields used only in training: accepted, ignored.
_TRAINING_FIELDS = {"stochdepth_rate", "loss_type", "patch_dropout"}
_REQUIRED = ("n_tags", "image_size", "num_blocks", "patch_size", "d_model", "mlp_dim", "num_heads")
# Sane upper bounds, checked before anything is built: the largest published ViTs (ViT-22B: 48
# blocks, d_model 6,144, mlp 24,576) and taggers (camie: 70,527 tags) sit well inside them.
# ``num_blocks: 10**7`` once built for minutes; ``image_size: 3,200,000`` failed every image.
LIMITS = {
    "n_tags": 1_000_000,
    "image_size": 4096,
    "num_blocks": 256,
    "patch_size": 512,
    "d_model": 16_384,
    "mlp_dim": 65_536,
    "num_heads": 256,
}
MAX_TOKENS = 65_536
MAX_STEM_LAYERS = 64


@dataclass(frozen=True)
class StemLayer:
    """One layer of a CNN stem: ``conv``, ``ln``, ``bn``, ``relu`` or ``gelu``."""

    kind: str
    channels: int = 0
    kernel: int = 3
    stride: int = 2
    padding: int = 1


@dataclass(frozen=True)
class ViTConfig:
    """Constructor fields of the JoyTag ViT."""

    n_tags: int
    image_size: int
    num_blocks: int
    patch_size: int
    d_model: int
    mlp_dim: int
    num_heads: int
    use_sine: bool = True
    cnn_stem: str | None = None
    head_mean_after: bool = False
    layerscale_init: float = 1e-4
    ignored: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def grid_size(self) -> int:
        return self.image_size // self.patch_size

    @property
    def num_tokens(self) -> int:
        return self.grid_size**2

    @property
    def stem_layers(self) -> list[StemLayer]:
        return parse_stem(self.cnn_stem) if self.cnn_stem else []

    @classmethod
    def from_dict(cls, raw: Any) -> ViTConfig:
        """Build from the JSON object; raise ModelFolderError with the reason when it is unusable."""
        if not isinstance(raw, dict):
            raise ModelFolderError("config.json must hold a JSON object")
        model_class = raw.get("class")
        if model_class != "ViT":
            raise ModelFolderError(f"config.json: unsupported model class {model_class!r} (only 'ViT' is known)")
        missing = [name for name in _REQUIRED if name not in raw]
        if missing:
            raise ModelFolderError(f"config.json is missing required field(s): {', '.join(missing)}")
        unknown = sorted(set(raw) - _SHAPE_FIELDS - _TRAINING_FIELDS - {"class"})
        if unknown:
            warnings.warn(f"config.json: ignoring unknown field(s): {', '.join(unknown)}", stacklevel=2)

        def positive_int(name: str) -> int:
            value = raw[name]
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ModelFolderError(f"config.json: {name} must be a positive integer, got {str(value)[:40]!r}")
            if value > LIMITS[name]:
                raise ModelFolderError(
                    f"config.json: {name} is {str(value)[:40]}, beyond any real model (the limit is {LIMITS[name]:,})"
                )
            return value

        ints = {name: positive_int(name) for name in _REQUIRED}
        if ints["image_size"] % ints["patch_size"]:
            raise ModelFolderError("config.json: image_size must be a multiple of patch_size")
        if (ints["image_size"] // ints["patch_size"]) ** 2 > MAX_TOKENS:
            raise ModelFolderError(f"config.json: image_size / patch_size gives over {MAX_TOKENS:,} tokens")
        if ints["d_model"] % ints["num_heads"]:
            raise ModelFolderError("config.json: d_model must be a multiple of num_heads")
        use_sine = raw.get("use_sine", True)
        if not isinstance(use_sine, bool):
            raise ModelFolderError("config.json: use_sine must be true or false")
        if use_sine and ints["d_model"] % 4:
            raise ModelFolderError("config.json: sine positions need d_model divisible by 4")
        head_mean_after = raw.get("head_mean_after") or False
        if not isinstance(head_mean_after, bool):
            raise ModelFolderError("config.json: head_mean_after must be true or false")
        stem = raw.get("cnn_stem") or None
        if stem is not None:
            if not isinstance(stem, str):
                raise ModelFolderError("config.json: cnn_stem must be a string")
            parse_stem(stem)
        layerscale = raw.get("layerscale_init", 1e-4)
        if not isinstance(layerscale, (int, float)) or isinstance(layerscale, bool) or not _finite(layerscale):
            raise ModelFolderError("config.json: layerscale_init must be a finite number")
        return cls(
            **ints,
            use_sine=use_sine,
            cnn_stem=stem,
            head_mean_after=head_mean_after,
            layerscale_init=float(layerscale),
            ignored={k: raw[k] for k in raw if k in _TRAINING_FIELDS or k in unknown},
        )


def _finite(value: float) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


_CONV_OPTION = re.compile(r"^([cksp])=(\d{1,9})$")


def parse_stem(spec: str) -> list[StemLayer]:
    """Parse a ``cnn_stem`` string such as ``conv:c=64;ln;relu;conv:c=768,s=1,k=1,p=0``."""
    layers: list[StemLayer] = []
    if spec.count(";") >= MAX_STEM_LAYERS:
        raise ModelFolderError(f"config.json: cnn_stem has more than {MAX_STEM_LAYERS} layers")
    for index, item in enumerate(part.strip() for part in spec.split(";")):
        name, _, options = item.partition(":")
        if name in ("ln", "bn", "relu", "gelu") and not options:
            layers.append(StemLayer(kind=name))
            continue
        if name != "conv":
            raise ModelFolderError(f"config.json: cnn_stem layer {index} {item!r} is not conv, ln, bn, relu or gelu")
        values = {"k": 3, "s": 2, "p": 1}
        for option in filter(None, (o.strip() for o in options.split(","))):
            match = _CONV_OPTION.match(option)
            if not match:
                raise ModelFolderError(f"config.json: cnn_stem layer {index} has a bad option {option!r}")
            values[match.group(1)] = int(match.group(2))
        if values.get("c", 0) <= 0 or values["k"] <= 0 or values["s"] <= 0:
            raise ModelFolderError(f"config.json: cnn_stem conv layer {index} needs c>0, k>0 and s>0")
        if values["c"] > LIMITS["d_model"] or max(values["k"], values["s"], values["p"]) > LIMITS["patch_size"]:
            raise ModelFolderError(f"config.json: cnn_stem conv layer {index} is beyond any real model")
        layers.append(StemLayer("conv", values["c"], values["k"], values["s"], values["p"]))
    if not any(layer.kind == "conv" for layer in layers):
        raise ModelFolderError("config.json: cnn_stem has no conv layer")
    return layers
