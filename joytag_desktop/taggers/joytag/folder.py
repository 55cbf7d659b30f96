"""Checking a JoyTag model folder against its network (tensor names and shapes) and loading its weights.

Needs torch (the expected shapes come from the network built on the meta device): the family
imports this module only when a JoyTag folder is inspected.
"""

from __future__ import annotations

from pathlib import Path

import torch

from joytag_desktop.errors import ModelFolderError
from joytag_desktop.taggers.joytag.config import ViTConfig
from joytag_desktop.taggers.joytag.layout import (
    CONFIG_FILE,
    HOW_TO_GET_A_MODEL,
    REQUIRED_FILES,
    TAGS_FILE,
    WEIGHTS_FILE,
)
from joytag_desktop.taggers.joytag.network import JoyTagViT
from joytag_desktop.taggers.reading import (
    MAX_CONFIG_BYTES,
    load_state,
    read_json,
    read_text,
    safetensors_shapes,
    short_list,
)

# An older head layout carried this many extra rows after the real tags.
_LEGACY_EXTRA_HEAD_ROWS = 9

# top_tags.txt is ~100 KB as published; the limit is generous (config.json's is reading.MAX_CONFIG_BYTES).
MAX_TAGS_BYTES = 64 * 1024 * 1024


def read_tags(path: Path) -> list[str]:
    """One tag per line (a byte-order mark and CRLF line ends, as Notepad saves, are fine)."""
    text = read_text(path, MAX_TAGS_BYTES)
    tags = [line.strip() for line in text.splitlines() if line.strip()]
    if len(set(tags)) != len(tags):
        raise ModelFolderError(f"{path.name} lists some tags more than once")
    return tags


def read_config(path: Path) -> ViTConfig:
    return ViTConfig.from_dict(read_json(path, MAX_CONFIG_BYTES))


def expected_shapes(config: ViTConfig) -> dict[str, tuple[int, ...]]:
    """Names and shapes of every tensor the network needs, computed on the meta device (no memory)."""
    with torch.device("meta"):
        network = JoyTagViT(config)
    return {name: tuple(tensor.shape) for name, tensor in network.state_dict().items()}


def _read_header(weights: Path) -> dict[str, tuple[int, ...]]:
    """Tensor shapes from the safetensors header; also proves the file is not truncated."""
    return safetensors_shapes(weights)


def check_folder(folder: Path) -> tuple[ViTConfig, list[str]]:
    """Check a folder without loading weights: its config and tags; ModelFolderError names what is wrong."""
    if not folder.exists():
        raise ModelFolderError(f"model folder {folder} does not exist")
    if not folder.is_dir():
        raise ModelFolderError(f"model path {folder} is not a folder")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise ModelFolderError(f"model folder {folder} is missing {', '.join(missing)}. {HOW_TO_GET_A_MODEL}")
    config = read_config(folder / CONFIG_FILE)
    tags = read_tags(folder / TAGS_FILE)
    if len(tags) != config.n_tags:
        raise ModelFolderError(f"{TAGS_FILE} lists {len(tags)} tags but config.json says n_tags is {config.n_tags}")
    shapes = _read_header(folder / WEIGHTS_FILE)
    wanted = expected_shapes(config)
    head_rows = shapes.get("head.weight", (0,))[0]
    if head_rows not in (config.n_tags, config.n_tags + _LEGACY_EXTRA_HEAD_ROWS) and "head.weight" in shapes:
        raise ModelFolderError(f"the model's head has {head_rows} outputs but there are {config.n_tags} tags")
    missing_tensors = sorted(set(wanted) - set(shapes))
    extra_tensors = sorted(set(shapes) - set(wanted))
    if missing_tensors or extra_tensors:
        parts = []
        if missing_tensors:
            parts.append(f"missing tensors {short_list(missing_tensors)}")
        if extra_tensors:
            parts.append(f"unexpected tensors {short_list(extra_tensors)}")
        raise ModelFolderError(f"{WEIGHTS_FILE} does not match config.json: {'; '.join(parts)}")
    for name, shape in wanted.items():
        found = shapes[name]
        if name.startswith("head.") and found[0] == config.n_tags + _LEGACY_EXTRA_HEAD_ROWS:
            found = (config.n_tags, *found[1:])
        if found != shape:
            raise ModelFolderError(f"{WEIGHTS_FILE}: tensor {name} has shape {list(found)}, expected {list(shape)}")
    return config, tags


def load_weights(weights: Path, config: ViTConfig) -> JoyTagViT:
    """The network of a checked folder, its weights loaded strictly from safetensors (never pickle):
    float32, eval mode, CPU."""
    state = load_state(weights)
    for name, tensor in state.items():
        if name.startswith("head.") and tensor.shape[0] != config.n_tags:
            state[name] = tensor[: config.n_tags].clone()  # the older head layout's extra rows
    with torch.device("meta"):
        network = JoyTagViT(config)
    try:
        network.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        raise ModelFolderError(f"{WEIGHTS_FILE} does not fit the network: {exc}") from None
    network.eval()
    return network
