"""Reading a model folder's files safely: small text and JSON files under a size limit, safetensors
headers and weights (never pickle), each failure a ModelFolderError that names the file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from joytag_desktop.errors import ModelFolderError
from joytag_desktop.files import NOT_REGULAR, FileTooLargeError, read_limited_text

if TYPE_CHECKING:
    import torch

# Published small files are kilobytes (configs) to 8 MB (camie v2's metadata); these limits are generous.
MAX_CONFIG_BYTES = 1024 * 1024
MAX_LABELS_BYTES = 64 * 1024 * 1024


def read_text(path: Path, limit: int = MAX_CONFIG_BYTES) -> str:
    """A small text file of a model folder; FIFOs, devices and oversized files are refused."""
    try:
        return read_limited_text(path, limit, path.name)
    except FileTooLargeError as exc:
        raise ModelFolderError(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise ModelFolderError(f"{path.name} is not UTF-8 text: {exc}") from None
    except OSError as exc:
        raise ModelFolderError(f"{path.name}: {exc.strerror or exc}") from None


def read_json(path: Path, limit: int = MAX_CONFIG_BYTES) -> Any:
    text = read_text(path, limit)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelFolderError(f"{path.name} is not valid JSON: {exc}") from None
    except RecursionError:
        raise ModelFolderError(f"{path.name} is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise ModelFolderError(f"{path.name} holds a value out of range: {exc}") from None


def csv_header(path: Path) -> list[str]:
    """The first line of a CSV file, its cells stripped; empty when it cannot be read. For telling
    apart layouts that share a file name (WD's and PixAI's ``selected_tags.csv``)."""
    if not path.is_file():  # nor a FIFO, which would block
        return []
    try:
        with open(path, "rb") as handle:
            first = handle.read(4096).split(b"\n", 1)[0]
    except OSError:
        return []
    return [cell.strip() for cell in first.decode("utf-8", "replace").lstrip("\ufeff").split(",")]


def check_regular(path: Path) -> None:
    """Refuse a FIFO, device or socket named as a weights file: the safetensors reader would block on it."""
    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)
    except OSError as exc:
        raise ModelFolderError(f"{path.name}: {exc.strerror or exc}") from None
    if not regular:
        raise ModelFolderError(f"{path.name} is {NOT_REGULAR}")


def safetensors_shapes(weights: Path) -> dict[str, tuple[int, ...]]:
    """Tensor shapes from a safetensors header; also proves the file is not truncated."""
    from safetensors import SafetensorError, safe_open

    check_regular(weights)
    try:
        with safe_open(str(weights), framework="numpy") as handle:
            return {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFolderError(f"{weights.name} is corrupt or truncated: {exc}") from None


def short_list(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def load_state(weights: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a safetensors file, float32, in private memory (never pickle), finite."""
    from safetensors import SafetensorError, safe_open

    check_regular(weights)
    state: dict[str, torch.Tensor] = {}
    try:
        with safe_open(str(weights), framework="pt", device="cpu") as handle:
            for name in handle.keys():
                tensor = handle.get_tensor(name)
                # safetensors hands out views of a memory map; copy them into private memory
                # so that a model file replaced while the app runs cannot crash it (SIGBUS).
                state[name] = (tensor.float() if tensor.is_floating_point() else tensor).clone()
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelFolderError(f"{weights.name} could not be read: {exc}") from None
    broken = [name for name, tensor in state.items() if tensor.is_floating_point() and not tensor.isfinite().all()]
    if broken:
        # NaN weights would make every image "tagged with nothing" (NaN > threshold is false).
        raise ModelFolderError(
            f"{weights.name} holds NaN or infinite values (in {short_list(broken)}); the file is damaged. "
            "Download the model again."
        )
    return state


def load_strict(network: torch.nn.Module, state: dict[str, torch.Tensor], weights: Path) -> None:
    """Load every tensor by name, none missing, none extra, shapes equal; say which ones differ."""
    wanted = network.state_dict()
    missing = sorted(set(wanted) - set(state))
    extra = sorted(set(state) - set(wanted))
    wrong = [name for name in wanted if name in state and tuple(state[name].shape) != tuple(wanted[name].shape)]
    problems = []
    if missing:
        problems.append(f"missing tensors {short_list(missing)}")
    if extra:
        problems.append(f"unexpected tensors {short_list(extra)}")
    if wrong:
        first = wrong[0]
        problems.append(
            f"tensor {first} has shape {list(state[first].shape)}, expected {list(wanted[first].shape)}"
            + (f" (and {len(wrong) - 1} more differ)" if len(wrong) > 1 else "")
        )
    if problems:
        raise ModelFolderError(f"{weights.name} does not fit the network: {'; '.join(problems)}")
    network.load_state_dict(state, strict=True, assign=True)
    network.eval()


def is_timm_config(path: Path) -> bool:
    """A timm hub ``config.json`` (names an ``architecture``), not JoyTag's own (``"class": "ViT"``)."""
    try:
        raw = read_json(path)
    except ModelFolderError:
        return False
    return isinstance(raw, dict) and "architecture" in raw


def is_siglip_config(path: Path) -> bool:
    """A SigLIP ``config.json``: transformers' (``model_type`` siglip/siglip2) or open_clip's as
    Immich ships it (``vision_cfg`` + ``text_cfg``); an embedding model, not a tagger's config."""
    if not path.is_file():
        return False
    try:
        raw = read_json(path)
    except ModelFolderError:
        return False
    if not isinstance(raw, dict):
        return False
    return str(raw.get("model_type", "")).startswith("siglip") or ("vision_cfg" in raw and "text_cfg" in raw)


def hwc_to_chw(pixels: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))
