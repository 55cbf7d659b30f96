"""SigLIP's two towers in plain PyTorch, named as transformers' ``SiglipModel`` saves them, so a
published ``model.safetensors`` loads with ``load_state_dict(strict=True)`` (never pickle).

Vision: patches → position embeddings → pre-norm encoder → ``post_layernorm`` → the MAP head
(a learned probe attending over the patches). Text: tokens + positions → encoder →
``final_layer_norm`` → the **last position** → ``head``. Only the tower a command needs is built:
a search in words loads the text tower, the worker the vision tower.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from joytag_desktop.errors import ModelFolderError


@dataclass(frozen=True)
class TowerCfg:
    hidden: int
    intermediate: int
    layers: int
    heads: int
    eps: float = 1e-6


def tower_cfg(config: dict[str, Any]) -> TowerCfg:
    """A ``text_config`` / ``vision_config`` of transformers' config.json (its defaults filled in)."""
    return TowerCfg(
        int(config.get("hidden_size", 768)),
        int(config.get("intermediate_size", 3072)),
        int(config.get("num_hidden_layers", 12)),
        int(config.get("num_attention_heads", 12)),
        float(config.get("layer_norm_eps", 1e-6)),
    )


class Attention(nn.Module):
    def __init__(self, cfg: TowerCfg) -> None:
        super().__init__()
        self.heads = cfg.heads
        self.q_proj = nn.Linear(cfg.hidden, cfg.hidden)
        self.k_proj = nn.Linear(cfg.hidden, cfg.hidden)
        self.v_proj = nn.Linear(cfg.hidden, cfg.hidden)
        self.out_proj = nn.Linear(cfg.hidden, cfg.hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, self.heads, width // self.heads).transpose(1, 2)

        out = F.scaled_dot_product_attention(split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x)))
        return self.out_proj(out.transpose(1, 2).reshape(batch, length, width))


class Mlp(nn.Module):
    def __init__(self, cfg: TowerCfg) -> None:
        super().__init__()
        self.fc1 = nn.Linear(cfg.hidden, cfg.intermediate)
        self.fc2 = nn.Linear(cfg.intermediate, cfg.hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class Layer(nn.Module):
    def __init__(self, cfg: TowerCfg) -> None:
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(cfg.hidden, eps=cfg.eps)
        self.self_attn = Attention(cfg)
        self.layer_norm2 = nn.LayerNorm(cfg.hidden, eps=cfg.eps)
        self.mlp = Mlp(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class Encoder(nn.Module):
    def __init__(self, cfg: TowerCfg) -> None:
        super().__init__()
        self.layers = nn.ModuleList(Layer(cfg) for _ in range(cfg.layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class VisionEmbeddings(nn.Module):
    def __init__(self, cfg: TowerCfg, image_size: int, patch: int) -> None:
        super().__init__()
        self.patch_embedding = nn.Conv2d(3, cfg.hidden, patch, patch)
        self.position_embedding = nn.Embedding((image_size // patch) ** 2, cfg.hidden)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        patches = self.patch_embedding(pixels.to(self.patch_embedding.weight.dtype)).flatten(2).transpose(1, 2)
        return patches + self.position_embedding.weight[None]


class MapHead(nn.Module):
    """Multihead attention pooling: one learned query over every patch."""

    def __init__(self, cfg: TowerCfg) -> None:
        super().__init__()
        self.probe = nn.Parameter(torch.zeros(1, 1, cfg.hidden))
        self.attention = nn.MultiheadAttention(cfg.hidden, cfg.heads, batch_first=True)
        self.layernorm = nn.LayerNorm(cfg.hidden, eps=cfg.eps)
        self.mlp = Mlp(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probe = self.probe.expand(x.shape[0], -1, -1)
        pooled = self.attention(probe, x, x, need_weights=False)[0]
        pooled = pooled + self.mlp(self.layernorm(pooled))
        return pooled[:, 0]


class VisionTower(nn.Module):
    def __init__(self, cfg: TowerCfg, image_size: int, patch: int) -> None:
        super().__init__()
        self.embeddings = VisionEmbeddings(cfg, image_size, patch)
        self.encoder = Encoder(cfg)
        self.post_layernorm = nn.LayerNorm(cfg.hidden, eps=cfg.eps)
        self.head = MapHead(cfg)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.head(self.post_layernorm(self.encoder(self.embeddings(pixels))))


class TextEmbeddings(nn.Module):
    def __init__(self, cfg: TowerCfg, vocab: int, positions: int) -> None:
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, cfg.hidden)
        self.position_embedding = nn.Embedding(positions, cfg.hidden)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.token_embedding(ids) + self.position_embedding.weight[None, : ids.shape[1]]


class TextTower(nn.Module):
    def __init__(self, cfg: TowerCfg, vocab: int, positions: int, projection: int) -> None:
        super().__init__()
        self.embeddings = TextEmbeddings(cfg, vocab, positions)
        self.encoder = Encoder(cfg)
        self.final_layer_norm = nn.LayerNorm(cfg.hidden, eps=cfg.eps)
        self.head = nn.Linear(cfg.hidden, projection)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        hidden = self.final_layer_norm(self.encoder(self.embeddings(ids.long())))
        return self.head(hidden[:, -1])  # the last position, as trained (a pad for short texts)


class ImageEmbedder(nn.Module):
    """The vision tower in the tagger contract: (no scores, the embedding)."""

    def __init__(self, tower: VisionTower) -> None:
        super().__init__()
        self.vision_model = tower

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        embedding = self.vision_model(pixels).float()
        return embedding.new_zeros((embedding.shape[0], 0)), embedding


def _load(module: nn.Module, weights: Path, prefix: str) -> None:
    """The tensors under ``prefix`` of a safetensors file, into ``module`` (every one, exactly)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(weights), framework="pt") as handle:
            state = {name[len(prefix) :]: handle.get_tensor(name) for name in handle.keys() if name.startswith(prefix)}
    except (SafetensorError, OSError) as exc:
        raise ModelFolderError(f"{weights.name} is corrupt or truncated: {exc}") from None
    state = {name: tensor.float() for name, tensor in state.items()}
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelFolderError(f"{weights.name} does not match its config.json: {str(exc)[:400]}") from None


def build_image_embedder(config: dict[str, Any], weights: Path) -> ImageEmbedder:
    vision = config.get("vision_config") or {}
    tower = VisionTower(tower_cfg(vision), int(vision.get("image_size", 224)), int(vision.get("patch_size", 16)))
    _load(tower, weights, "vision_model.")
    return ImageEmbedder(tower).eval()


def build_text_tower(config: dict[str, Any], weights: Path) -> TextTower:
    text = config.get("text_config") or {}
    cfg = tower_cfg(text)
    tower = TextTower(
        cfg,
        int(text.get("vocab_size", 32000)),
        int(text.get("max_position_embeddings", 64)),
        int(text.get("projection_size", cfg.hidden)),
    )
    _load(tower, weights, "text_model.")
    return tower.eval()
