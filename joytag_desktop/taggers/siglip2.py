"""SigLIP2, an embedding model (no tags): images and text in one space, for search in words.

Two published layouts (see tests/fixtures/siglip2-format/README.md):

* transformers (``google/siglip2-*-patch16-224/384``, ``SiglipModel``): ``config.json``,
  ``model.safetensors``, ``preprocessor_config.json``, ``tokenizer.json``. Images: alpha composited
  on white, resized to size×size with the file's resample, ×1/255, (x−mean)/std. Text: the
  tokenizer's own normaliser plus lowercasing, padded on the **left** to 64, no EOS added.
* Immich (``immich-app/ViT-*-SigLIP2*``): open_clip ``config.json``, ``visual/model.onnx`` +
  ``visual/preprocess_cfg.json``, ``textual/model.onnx`` + ``textual/tokenizer.json`` +
  ``textual/tokenizer_config.json``. Images: alpha dropped, squashed to size×size with the config's
  interpolation. Text: Immich's ``clean_text`` (canonicalize: ASCII punctuation out, lowercase),
  the tokenizer's EOS, padded on the **right** to the context length.

The family registers as a tagger with an empty vocabulary: the worker embeds a library's images
with it as with any tagger, and its rows carry only embeddings. The text side (tokenizer and text
tower) is read only when words are encoded (``inference/text_encoder.py``).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from joytag_desktop.errors import ModelFolderError
from joytag_desktop.taggers.contract import ONNX, SAFETENSORS, OnnxOutputs, TaggerFamily, TaggerFolder
from joytag_desktop.taggers.reading import is_siglip_config, read_json, safetensors_shapes
from joytag_desktop.taggers.registry import register_tagger
from joytag_desktop.taggers.vocabulary import Policy, Vocabulary

if TYPE_CHECKING:
    import torch
    from PIL import Image

TRANSFORMERS, IMMICH = "transformers", "immich"
HF_FILES = ("config.json", "model.safetensors", "preprocessor_config.json", "tokenizer.json")
IMMICH_FILES = (
    "config.json",
    "visual/model.onnx",
    "visual/preprocess_cfg.json",
    "textual/model.onnx",
    "textual/tokenizer.json",
    "textual/tokenizer_config.json",
)
PICKLES = ("pytorch_model.bin", "open_clip_pytorch_model.bin", "open_clip_model.safetensors")
CONTEXT = 64  # SigLIP2's training text length (big_vision#157)
NO_THRESHOLD = 0.4  # no tags to threshold: the library default, so no per-model row is written
_RESAMPLE = {"nearest": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3, "box": 4, "hamming": 5}
_PUNCTUATION = str.maketrans("", "", string.punctuation)


@dataclass(frozen=True)
class ImageCfg:
    size: int
    resample: int  # Pillow's resampling filter number
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    white_alpha: bool  # transformers composites alpha on white; Immich drops it
    rescale: float = 1 / 255


@dataclass(frozen=True)
class TextCfg:
    tokenizer: Path
    context: int
    left_padding: bool  # transformers' Siglip2Tokenizer; Immich pads on the right
    pad_token: str
    canonicalize: bool  # Immich's clean_text: ASCII punctuation out, lowercase
    lowercase: bool  # transformers' Siglip2Tokenizer lowercases whatever its tokenizer.json says
    clean: bool  # Immich cleans the text (whitespace collapsed) before tokenizing; transformers does not
    weights: Path  # model.safetensors (its text_model.*) or textual/model.onnx


def _triple(value: Any, what: str, path: Path) -> tuple[float, float, float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value] * 3
    if not isinstance(value, list) or len(value) != 3 or not all(isinstance(v, (int, float)) for v in value):
        raise ModelFolderError(f"{path.name}: {what} must be three numbers")
    return float(value[0]), float(value[1]), float(value[2])


def _side(value: Any, path: Path) -> int:
    if isinstance(value, dict):
        value = value.get("height", value.get("shortest_edge"))
    if isinstance(value, list) and value:
        value = value[0]
    if not isinstance(value, int) or isinstance(value, bool) or not 32 <= value <= 4096:
        raise ModelFolderError(f"{path.name}: size {str(value)[:30]!r} is not a usable input side")
    return value


def _missing(folder: Path, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if not (folder / name).is_file()]


@register_tagger(order=15)
class Siglip2Family(TaggerFamily):
    name = "siglip2"
    title = "SigLIP2"
    needs = f"{', '.join(HF_FILES)} (transformers), or {', '.join(IMMICH_FILES)} (Immich's ONNX export)"
    markers = ("visual/model.onnx", "textual/model.onnx", "visual/preprocess_cfg.json")
    embeds_text: ClassVar[bool] = True

    def claims(self, folder: Path) -> bool:
        return super().claims(folder) or is_siglip_config(folder / "config.json")

    def inspect(self, folder: Path) -> TaggerFolder:
        immich = any((folder / marker).exists() for marker in self.markers)
        if immich:
            return self._inspect_immich(folder)
        return self._inspect_transformers(folder)

    def _inspect_transformers(self, folder: Path) -> TaggerFolder:
        missing = _missing(folder, HF_FILES)
        if "model.safetensors" in missing and any((folder / name).exists() for name in PICKLES):
            raise ModelFolderError(
                f"{self.title} folder {folder} has only PyTorch pickle weights, which are never loaded "
                "(they can run code): download its model.safetensors"
            )
        if missing:
            raise self.missing(folder, missing)
        config = read_json(folder / "config.json")
        if not isinstance(config, dict) or not is_siglip_config(folder / "config.json"):
            raise ModelFolderError(f"{folder / 'config.json'} is not a SigLIP config (model_type siglip)")
        if config.get("model_type") == "siglip2":
            raise ModelFolderError(
                f"{folder} holds a NaFlex SigLIP2 (Siglip2Model, variable patches), which is not supported: "
                "use a fixed-resolution one (google/siglip2-base-patch16-224, -so400m-patch16-384) or Immich's export"
            )
        shapes = safetensors_shapes(folder / "model.safetensors")
        if not any(n.startswith("text_model.") for n in shapes) or not any(
            n.startswith("vision_model.") for n in shapes
        ):
            raise ModelFolderError(f"{folder / 'model.safetensors'} lacks the text or the vision tower")
        processor_path = folder / "preprocessor_config.json"
        processor = read_json(processor_path)
        if not isinstance(processor, dict):
            raise ModelFolderError(f"{processor_path.name} must hold a JSON object")
        resample = processor.get("resample", 3)
        if not isinstance(resample, int) or resample not in _RESAMPLE.values():
            raise ModelFolderError(f"{processor_path.name}: resample {str(resample)[:20]!r} is not a Pillow filter")
        image = ImageCfg(
            _side(processor.get("size", (config.get("vision_config") or {}).get("image_size", 224)), processor_path),
            resample,
            _triple(processor.get("image_mean", 0.5), "image_mean", processor_path),
            _triple(processor.get("image_std", 0.5), "image_std", processor_path),
            white_alpha=True,
            rescale=float(processor.get("rescale_factor", 1 / 255)),
        )
        text_config = config.get("text_config") or {}
        text = TextCfg(
            folder / "tokenizer.json",
            int(text_config.get("max_position_embeddings", CONTEXT)),
            left_padding=True,
            pad_token="<pad>",
            canonicalize=False,
            lowercase=True,
            clean=False,
            weights=folder / "model.safetensors",
        )
        vision = config.get("vision_config") or {}
        variant = f"{TRANSFORMERS}, width {vision.get('hidden_size', '?')}, patch {vision.get('patch_size', '?')}"
        return self._folder(folder, variant, image, text, {SAFETENSORS: folder / "model.safetensors"}, config)

    def _inspect_immich(self, folder: Path) -> TaggerFolder:
        missing = _missing(folder, IMMICH_FILES)
        if missing:
            raise self.missing(folder, missing)
        config = read_json(folder / "config.json")
        text_config = config.get("text_cfg") if isinstance(config, dict) else None
        if not isinstance(text_config, dict):
            raise ModelFolderError(f"{folder / 'config.json'} has no text_cfg (an open_clip model config)")
        preprocess_path = folder / "visual" / "preprocess_cfg.json"
        preprocess = read_json(preprocess_path)
        if not isinstance(preprocess, dict):
            raise ModelFolderError(f"{preprocess_path.name} must hold a JSON object")
        mode = str(preprocess.get("resize_mode", "shortest"))
        if mode != "squash":
            raise ModelFolderError(f"{preprocess_path.name}: resize_mode {mode[:20]!r} is not SigLIP's squash")
        interpolation = str(preprocess.get("interpolation", "bicubic")).lower()
        if interpolation not in _RESAMPLE:
            raise ModelFolderError(f"{preprocess_path.name}: interpolation {interpolation[:20]!r} is unknown")
        image = ImageCfg(
            _side(preprocess.get("size", 224), preprocess_path),
            _RESAMPLE[interpolation],
            _triple(preprocess.get("mean", 0.5), "mean", preprocess_path),
            _triple(preprocess.get("std", 0.5), "std", preprocess_path),
            white_alpha=False,
        )
        tokenizer_config = read_json(folder / "textual" / "tokenizer_config.json")
        pad = tokenizer_config.get("pad_token", "<pad>") if isinstance(tokenizer_config, dict) else "<pad>"
        pad = pad.get("content", "<pad>") if isinstance(pad, dict) else str(pad)
        kwargs = text_config.get("tokenizer_kwargs") or {}
        text = TextCfg(
            folder / "textual" / "tokenizer.json",
            int(text_config.get("context_length", CONTEXT)),
            left_padding=False,
            pad_token=pad,
            canonicalize=isinstance(kwargs, dict) and kwargs.get("clean") == "canonicalize",
            lowercase=False,
            clean=True,
            weights=folder / "textual" / "model.onnx",
        )
        variant = f"{IMMICH} ONNX, embedding {config.get('embed_dim', '?')}"
        return self._folder(folder, variant, image, text, {ONNX: folder / "visual" / "model.onnx"}, config)

    def _folder(
        self, folder: Path, variant: str, image: ImageCfg, text: TextCfg, files: dict[str, Path], config: dict
    ) -> TaggerFolder:
        return TaggerFolder(
            folder, self, variant, Vocabulary((), ()), Policy(default=NO_THRESHOLD), image.size, files,
            {"image": image, "text": text, "config": config},
        )  # fmt: skip

    def describe(self, tagger: TaggerFolder) -> str:
        return f"{self.title} ({tagger.variant}): embeds images and text for search in words, {tagger.image_size} px"

    # --- images -------------------------------------------------------------------------------

    def build_network(self, tagger: TaggerFolder) -> torch.nn.Module:
        from joytag_desktop.taggers.siglip2_network import build_image_embedder

        if SAFETENSORS not in tagger.files:
            raise ModelFolderError(f"{tagger.name} has no PyTorch weights (it is Immich's ONNX export)")
        return build_image_embedder(tagger.details["config"], tagger.files[SAFETENSORS])

    def onnx_outputs(self, tagger: TaggerFolder) -> OnnxOutputs:
        return OnnxOutputs(embedding_only=True)

    def reference_input(self, tagger: TaggerFolder, route: str, image: Image.Image) -> np.ndarray:
        return preprocess(image, tagger.details["image"])

    # --- text ---------------------------------------------------------------------------------

    def text_ids(self, tagger: TaggerFolder, texts: list[str]) -> np.ndarray:
        """Token ids (B, context) as the layout's reference pipeline makes them."""
        return tokenize(tagger.details["text"], texts)

    def build_text_network(self, tagger: TaggerFolder) -> torch.nn.Module:
        from joytag_desktop.taggers.siglip2_network import build_text_tower

        return build_text_tower(tagger.details["config"], tagger.details["text"].weights)

    def text_graph(self, tagger: TaggerFolder) -> Path | None:
        weights = tagger.details["text"].weights
        return weights if weights.suffix == ".onnx" else None


def preprocess(image: Image.Image, cfg: ImageCfg) -> np.ndarray:
    """One decoded image to the vision tower's (3, S, S) float32 input."""
    from PIL import Image

    if image.mode != "RGB":
        if cfg.white_alpha:  # transformers' convert_rgb
            rgba = image.convert("RGBA")
            image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255)), rgba).convert("RGB")
        else:  # Immich's convert("RGB"): alpha dropped
            image = image.convert("RGB")
    image = image.resize((cfg.size, cfg.size), resample=cfg.resample)
    pixels = np.asarray(image, dtype=np.float32)
    if cfg.white_alpha:
        pixels = pixels * np.float32(cfg.rescale)
        pixels = (pixels - np.asarray(cfg.mean, np.float32)) / np.asarray(cfg.std, np.float32)
    else:
        std, mean = np.asarray(cfg.std, np.float32), np.asarray(cfg.mean, np.float32)
        pixels = pixels / np.float32(255.0)
        pixels = pixels * (np.float32(1.0) / std) - mean / std
    return np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32)


def clean_text(text: str, canonicalize: bool) -> str:
    """Immich's clean_text: whitespace collapsed; with canonicalize, ASCII punctuation out and lower case."""
    text = " ".join(text.split())
    return text.translate(_PUNCTUATION).lower() if canonicalize else text


_TOKENIZERS: dict[tuple, Any] = {}


def _tokenizer(cfg: TextCfg) -> Any:
    """The folder's tokenizer.json through Hugging Face ``tokenizers``, padded and truncated as the layout is."""
    from tokenizers import Tokenizer, normalizers

    stat = cfg.tokenizer.stat()
    key = (str(cfg.tokenizer), stat.st_mtime_ns, stat.st_size, cfg)
    found = _TOKENIZERS.get(key)
    if found is not None:
        return found
    try:
        tokenizer = Tokenizer.from_file(str(cfg.tokenizer))
    except Exception as exc:  # noqa: BLE001 - tokenizers raises its own exception type
        raise ModelFolderError(f"{cfg.tokenizer.name} cannot be read: {str(exc)[:200]}") from None
    if cfg.lowercase and "Lowercase" not in repr(tokenizer.normalizer):
        current = tokenizer.normalizer
        tokenizer.normalizer = normalizers.Sequence([normalizers.Lowercase(), *([current] if current else [])])
    pad_id = tokenizer.token_to_id(cfg.pad_token)
    if pad_id is None:
        raise ModelFolderError(f"{cfg.tokenizer.name} has no {cfg.pad_token} token")
    tokenizer.enable_padding(
        direction="left" if cfg.left_padding else "right", pad_id=pad_id, pad_token=cfg.pad_token, length=cfg.context
    )
    tokenizer.enable_truncation(max_length=cfg.context)
    _TOKENIZERS.clear()
    _TOKENIZERS[key] = tokenizer
    return tokenizer


def tokenize(cfg: TextCfg, texts: list[str]) -> np.ndarray:
    """(B, context) int64 token ids."""
    tokenizer = _tokenizer(cfg)
    cleaned = [clean_text(text, cfg.canonicalize) for text in texts] if cfg.clean else list(texts)
    return np.asarray([encoding.ids for encoding in tokenizer.encode_batch(cleaned)], dtype=np.int64)
