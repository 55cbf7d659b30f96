"""What every tagger format provides: a checked folder and the pieces the engine runs.

A format module (one per published layout, as timm keeps one module per architecture) subclasses
``TaggerFormat`` and registers it. ``inspect`` reads only the small files and the weights' headers;
``build_network`` (PyTorch files) and ``onnx_graph`` (ONNX files) make the network; ``reference_input``
is the published preprocessing for one image, for the graph the route runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from joytag_desktop.errors import ModelFolderError
from joytag_desktop.files import FileTooLargeError, read_limited_text
from joytag_desktop.model.vocabulary import Policy, Vocabulary

if TYPE_CHECKING:
    import torch
    from PIL import Image

SAFETENSORS, ONNX = "safetensors", "onnx"
ROUTES = (SAFETENSORS, ONNX)

# Published small files are kilobytes (configs) to 8 MB (camie v2's metadata); these limits are generous.
MAX_CONFIG_BYTES = 1024 * 1024
MAX_LABELS_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class FastCfg:
    """The tensor fast path's parameters: pad to a white square, bicubic resize, then normalise."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    bgr: bool = False


@dataclass(frozen=True)
class OnnxOutputs:
    """Where the scores are in a published ONNX graph's outputs, and whether they are logits."""

    scores: int = 0
    sigmoid: bool = False


@dataclass
class TaggerFolder:
    """A checked model folder of a known format whose network has not been built yet."""

    path: Path
    format: TaggerFormat
    variant: str  # what the folder is, in words ("WD v3, vit_base_patch16_224")
    vocabulary: Vocabulary
    policy: Policy
    image_size: int
    files: dict[str, Path]  # route -> the weights file it runs
    details: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def tags(self) -> list[str]:
        return list(self.vocabulary.names)

    @property
    def routes(self) -> list[str]:
        return [route for route in ROUTES if route in self.files]

    def default_route(self) -> str:
        """PyTorch files where there are any (the CUDA fast path, OpenVINO conversion), else ONNX."""
        return self.routes[0]

    def describe(self) -> str:
        return f"{self.format.title} ({self.variant}): {len(self.vocabulary):,} tags, {self.image_size} px"

    def weights_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.files.values())

    def fingerprint(self) -> str:
        """Identifies these exact weights: the folder name + a digest of the main weights file."""
        weights = self.files[self.default_route()]
        digest = hashlib.sha256()
        with open(weights, "rb") as handle:
            if weights.suffix == ".safetensors":
                header_length = int.from_bytes(handle.read(8), "little")
                digest.update(handle.read(min(header_length, 100_000_000)))
            else:  # ONNX has no index: its first and last megabytes name the graph and hold weights
                digest.update(handle.read(1 << 20))
                size = weights.stat().st_size
                if size > 2 << 20:
                    handle.seek(size - (1 << 20))
                    digest.update(handle.read())
        digest.update(str(weights.stat().st_size).encode())
        return f"{self.name}-{digest.hexdigest()[:12]}"


class TaggerFormat:
    """One published folder layout. Subclasses are registered with ``formats.register``."""

    name: ClassVar[str]  # "wd"
    title: ClassVar[str]  # "WD tagger v3"
    needs: ClassVar[str]  # the files, in words, for error messages
    markers: ClassVar[tuple[str, ...]]  # any of these present: the folder is meant to be this format

    def claims(self, folder: Path) -> bool:
        return any(any(folder.glob(marker)) for marker in self.markers)

    def inspect(self, folder: Path) -> TaggerFolder:
        raise NotImplementedError

    def build_network(self, tagger: TaggerFolder) -> torch.nn.Module:
        """The PyTorch network with its weights (float32, eval, CPU); ``forward(x)`` returns
        (scores in 0..1, pooled embedding)."""
        raise ModelFolderError(f"{tagger.format.title} has no PyTorch weights")

    def onnx_outputs(self, tagger: TaggerFolder) -> OnnxOutputs:
        return OnnxOutputs()

    def reference_input(self, tagger: TaggerFolder, route: str, image: Image.Image) -> np.ndarray:
        """The published preprocessing of one decoded image (mode kept): the graph's input, no batch axis."""
        raise NotImplementedError

    def fast_cfg(self, tagger: TaggerFolder, route: str) -> FastCfg | None:
        """Parameters for the tensor fast path, or None where only the reference steps are exact enough."""
        return None

    def missing(self, folder: Path, names: list[str]) -> ModelFolderError:
        return ModelFolderError(f"{self.title} folder {folder} is missing {', '.join(names)} (it needs {self.needs})")


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


def safetensors_shapes(weights: Path) -> dict[str, tuple[int, ...]]:
    """Tensor shapes from a safetensors header; also proves the file is not truncated."""
    from safetensors import SafetensorError, safe_open

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


def hwc_to_chw(pixels: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))
