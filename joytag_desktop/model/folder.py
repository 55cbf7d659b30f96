"""Loading and validating a JoyTag model folder (config.json, model.safetensors, top_tags.txt)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from joytag_desktop import paths
from joytag_desktop.errors import ModelFolderError
from joytag_desktop.model.catalogue import HUB_REPO
from joytag_desktop.model.config import ViTConfig
from joytag_desktop.model.formats.base import load_state, read_text, safetensors_shapes, short_list
from joytag_desktop.model.vit import JoyTagViT

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TAGS_FILE = "top_tags.txt"
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE, TAGS_FILE)
# An older head layout carried this many extra rows after the real tags.
_LEGACY_EXTRA_HEAD_ROWS = 9

HOW_TO_GET_A_MODEL = (
    "Download JoyTag with `joytag-desktop models download` (about 366 MB, needs internet), "
    f"or pass --model DIR (or set {paths.MODEL_ENV}) to a folder holding {', '.join(REQUIRED_FILES)} "
    f"from the Hugging Face repository {HUB_REPO}."
)


@dataclass
class ModelFolder:
    """A checked model folder whose network has not been built yet."""

    path: Path
    config: ViTConfig
    tags: list[str]
    tensor_shapes: dict[str, tuple[int, ...]] = field(repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    def fingerprint(self) -> str:
        """Identifies these exact weights (name + digest of the safetensors header and size)."""
        weights = self.path / WEIGHTS_FILE
        with open(weights, "rb") as handle:
            header_length = int.from_bytes(handle.read(8), "little")
            digest = hashlib.sha256(handle.read(min(header_length, 100_000_000)))
        digest.update(str(weights.stat().st_size).encode())
        return f"{self.name}-{digest.hexdigest()[:12]}"


@dataclass
class LoadedModel:
    """A model folder with its network built and weights loaded (float32, eval mode, CPU)."""

    folder: ModelFolder
    network: JoyTagViT

    @property
    def config(self) -> ViTConfig:
        return self.folder.config

    @property
    def tags(self) -> list[str]:
        return self.folder.tags


# Published files are kilobytes (config.json) and ~100 KB (top_tags.txt); these limits are generous.
MAX_CONFIG_BYTES = 1024 * 1024
MAX_TAGS_BYTES = 64 * 1024 * 1024


def _read_text(path: Path, limit: int) -> str:
    return read_text(path, limit)


def read_tags(path: Path) -> list[str]:
    """One tag per line (a byte-order mark and CRLF line ends, as Notepad saves, are fine)."""
    text = _read_text(path, MAX_TAGS_BYTES)
    tags = [line.strip() for line in text.splitlines() if line.strip()]
    if len(set(tags)) != len(tags):
        raise ModelFolderError(f"{path.name} lists some tags more than once")
    return tags


def read_config(path: Path) -> ViTConfig:
    text = _read_text(path, MAX_CONFIG_BYTES)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelFolderError(f"{path.name} is not valid JSON: {exc}") from None
    except RecursionError:
        raise ModelFolderError(f"{path.name} is nested too deeply to be a model configuration") from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise ModelFolderError(f"{path.name} holds a value out of range: {exc}") from None
    return ViTConfig.from_dict(raw)


def expected_shapes(config: ViTConfig) -> dict[str, tuple[int, ...]]:
    """Names and shapes of every tensor the network needs, computed on the meta device (no memory)."""
    with torch.device("meta"):
        network = JoyTagViT(config)
    return {name: tuple(tensor.shape) for name, tensor in network.state_dict().items()}


def _read_header(weights: Path) -> dict[str, tuple[int, ...]]:
    """Tensor shapes from the safetensors header; also proves the file is not truncated."""
    return safetensors_shapes(weights)


def inspect_folder(path: Path | str) -> ModelFolder:
    """Check a folder without loading weights; raise ModelFolderError naming what is wrong."""
    folder = Path(path).expanduser()
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
    return ModelFolder(folder, config, tags, shapes)


def load_model(path: Path | str | ModelFolder) -> LoadedModel:
    """Validate a folder and load its weights strictly from safetensors (never pickle)."""
    folder = path if isinstance(path, ModelFolder) else inspect_folder(path)
    config = folder.config
    state = load_state(folder.path / WEIGHTS_FILE)
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
    return LoadedModel(folder, network)
