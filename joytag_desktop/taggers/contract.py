"""What every tagger family provides: a checked folder and the pieces the inference layer runs.

A family module (one per published layout, as timm keeps one module per architecture) subclasses
``TaggerFamily`` and registers itself with ``@register_tagger`` (``taggers/registry.py``).
``inspect`` reads only the small files and the weights' headers; ``build_network`` (PyTorch files)
and ``onnx_outputs`` (ONNX files) describe the network; ``reference_input`` is the published
preprocessing for one image, for the graph the route runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from joytag_desktop.errors import JoyTagError, ModelFolderError
from joytag_desktop.taggers.vocabulary import Policy, Vocabulary

if TYPE_CHECKING:
    import torch
    from PIL import Image

SAFETENSORS, ONNX = "safetensors", "onnx"
ROUTES = (SAFETENSORS, ONNX)


@dataclass(frozen=True)
class FastCfg:
    """The tensor fast path's parameters: pad to a white square, bicubic resize, then normalise."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    bgr: bool = False


@dataclass(frozen=True)
class OnnxOutputs:
    """Where the scores are in a published ONNX graph's outputs (a position, or a name where the
    reference reads them by name), whether they are logits, and where the graph outputs its
    pooled features if it does (else they are found in the graph)."""

    scores: int | str = 0
    sigmoid: bool = False
    embedding_only: bool = False  # an embedding model's graph (SigLIP2): output 0 is the embedding, no scores
    embedding: int | str | None = None

    def position(self, which: int | str, names: list[str], graph: str) -> int:
        """The index among the graph's output ``names`` of ``which``; ModelFolderError if absent."""
        if isinstance(which, int):
            return which
        if which not in names:
            raise ModelFolderError(f"{graph} has no output called {which!r} (it has: {', '.join(names)})")
        return names.index(which)


@dataclass
class TaggerFolder:
    """A checked model folder of a known family whose network has not been built yet."""

    path: Path
    family: TaggerFamily
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
        return self.family.describe(self)

    def weights_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.files.values())

    def fingerprint(self) -> str:
        """Identifies these exact weights: the folder name + a digest of the main weights file."""
        return fingerprint(self.name, self.files[self.default_route()])


class TaggerFamily:
    """One published folder layout; each subclass registers itself with ``@register_tagger``."""

    name: ClassVar[str]  # "wd"
    title: ClassVar[str]  # "WD tagger v3"
    needs: ClassVar[str]  # the files, in words, for error messages
    markers: ClassVar[tuple[str, ...]]  # any of these present: the folder is meant to be this family
    # An embedding model (SigLIP2): no tags, and a text tower whose embeddings share the images' space.
    embeds_text: ClassVar[bool] = False
    option_names: ClassVar[tuple[str, ...]] = ()  # tagger options it takes (JTP-3: seqlen)

    def claims(self, folder: Path) -> bool:
        return any(any(folder.glob(marker)) for marker in self.markers)

    def inspect(self, folder: Path) -> TaggerFolder:
        raise NotImplementedError

    def describe(self, tagger: TaggerFolder) -> str:
        return f"{self.title} ({tagger.variant}): {len(tagger.vocabulary):,} tags, {tagger.image_size} px"

    def build_network(self, tagger: TaggerFolder) -> torch.nn.Module:
        """The PyTorch network with its weights (float32, eval, CPU); ``forward(x)`` returns
        (scores in 0..1, pooled embedding)."""
        raise ModelFolderError(f"{tagger.family.title} has no PyTorch weights")

    def onnx_outputs(self, tagger: TaggerFolder) -> OnnxOutputs:
        return OnnxOutputs()

    def reference_input(self, tagger: TaggerFolder, route: str, image: Image.Image) -> np.ndarray:
        """The published preprocessing of one decoded image (mode kept): the graph's input, no batch axis."""
        raise NotImplementedError

    def apply_options(self, tagger: TaggerFolder, options: dict[str, int]) -> None:
        """Set tagger options (``--seqlen``…) on a checked folder; JoyTagError for one it does not take."""
        unknown = sorted(set(options) - set(self.option_names))
        if unknown:
            raise JoyTagError(f"{self.title} takes no --{unknown[0]} option")

    def sample_input(self, tagger: TaggerFolder) -> np.ndarray:
        """An input of the graph's shape (no batch axis), for export and conversion."""
        return np.zeros((3, tagger.image_size, tagger.image_size), np.float32)

    def graph_key(self, tagger: TaggerFolder) -> str:
        """What besides the weights shapes a converted graph (JTP-3: its sequence length), for its file name."""
        return ""

    def fast_cfg(self, tagger: TaggerFolder, route: str) -> FastCfg | None:
        """Parameters for the tensor fast path, or None where only the reference steps are exact enough."""
        return None

    def text_ids(self, tagger: TaggerFolder, texts: list[str]) -> np.ndarray:
        """Token ids (B, context) of ``texts`` for the text tower (``embeds_text`` families)."""
        raise ModelFolderError(f"{tagger.family.title} has no text encoder")

    def build_text_network(self, tagger: TaggerFolder) -> torch.nn.Module:
        """The text tower (float32, eval, CPU): token ids (B, context) to embeddings (B, D)."""
        raise ModelFolderError(f"{tagger.family.title} has no PyTorch text encoder")

    def text_graph(self, tagger: TaggerFolder) -> Path | None:
        """The published ONNX text graph (token ids to embeddings), where there is one."""
        return None

    def missing(self, folder: Path, names: list[str]) -> ModelFolderError:
        return ModelFolderError(f"{self.title} folder {folder} is missing {', '.join(names)} (it needs {self.needs})")


def fingerprint(name: str, weights: Path) -> str:
    """``name`` + a digest of a weights file: a safetensors header (it lists every tensor's shape and
    offset) or an ONNX graph's first and last megabytes (ONNX has no index), and the file's size."""
    digest = hashlib.sha256()
    with open(weights, "rb") as handle:
        if weights.suffix == ".safetensors":
            header_length = int.from_bytes(handle.read(8), "little")
            digest.update(handle.read(min(header_length, 100_000_000)))
        else:
            digest.update(handle.read(1 << 20))
            size = weights.stat().st_size
            if size > 2 << 20:
                handle.seek(size - (1 << 20))
                digest.update(handle.read())
    digest.update(str(weights.stat().st_size).encode())
    return f"{name}-{digest.hexdigest()[:12]}"
