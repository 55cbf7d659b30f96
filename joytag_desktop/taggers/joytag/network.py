"""The JoyTag vision transformer, written from the published format.

Module and parameter names mirror the released ``model.safetensors`` exactly, so the
file loads with ``strict=True``: see tests/fixtures/joytag-format/README.md.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from joytag_desktop.errors import ModelFolderError
from joytag_desktop.taggers.joytag.config import StemLayer, ViTConfig


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of a (B, C, H, W) map, applied channels-last."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=1e-5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def _stem_module(layer: StemLayer, in_channels: int) -> tuple[nn.Module, int]:
    if layer.kind == "conv":
        conv = nn.Conv2d(in_channels, layer.channels, layer.kernel, layer.stride, layer.padding, bias=True)
        return conv, layer.channels
    if layer.kind == "ln":
        return ChannelLayerNorm(in_channels), in_channels
    if layer.kind == "bn":
        return nn.BatchNorm2d(in_channels, eps=1e-5), in_channels
    if layer.kind == "relu":
        return nn.ReLU(), in_channels
    return nn.GELU(approximate="none"), in_channels


class CNNStem(nn.Module):
    """A convolutional stem; its layers are numbered ``conv.0``, ``conv.1``… as in the release."""

    def __init__(self, layers: list[StemLayer], d_model: int) -> None:
        super().__init__()
        modules: list[nn.Module] = []
        channels = 3
        for layer in layers:
            module, channels = _stem_module(layer, channels)
            modules.append(module)
        if channels != d_model:
            raise ModelFolderError(f"config.json: cnn_stem ends with {channels} channels but d_model is {d_model}")
        self.conv = nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class LearnedPositions(nn.Module):
    """A learned position table, saved with its ``position_ids`` buffer."""

    position_ids: torch.Tensor

    def __init__(self, num_tokens: int, d_model: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_tokens, d_model)
        self.register_buffer("position_ids", torch.arange(num_tokens, dtype=torch.long), persistent=True)

    def forward(self, tokens: torch.Tensor, height: int, width: int) -> torch.Tensor:
        if height * width != self.position_ids.shape[0]:
            raise ValueError(f"learned positions cover {self.position_ids.shape[0]} tokens, got {height}x{width}")
        return tokens + self.embedding(self.position_ids)


def sine_positions(height: int, width: int, depth: int, device: torch.device | None = None) -> torch.Tensor:
    """The fixed 2-D sine table: for row y, column x: [sin xω, cos xω, sin yω, cos yω]."""
    quarter = depth // 4
    rows, cols = torch.meshgrid(torch.arange(height, device=device), torch.arange(width, device=device), indexing="ij")
    omega = 1.0 / (10000 ** (torch.arange(quarter, device=device, dtype=torch.float32) / (quarter - 1)))
    x = cols.flatten().float()[:, None] * omega[None, :]
    y = rows.flatten().float()[:, None] * omega[None, :]
    return torch.cat([x.sin(), x.cos(), y.sin(), y.cos()], dim=1)


class SinePositions(nn.Module):
    """Adds the sine table; nothing is saved. The table is cached per grid and device."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.d_model = d_model
        self._cache: dict[tuple[int, int, torch.device], torch.Tensor] = {}

    def forward(self, tokens: torch.Tensor, height: int, width: int) -> torch.Tensor:
        key = (height, width, tokens.device)
        table = self._cache.get(key)
        if table is None:
            table = sine_positions(height, width, self.d_model, tokens.device)
            self._cache[key] = table
        return tokens + table.to(tokens.dtype)


class LayerScale(nn.Module):
    """A per-channel scale on a residual branch (``skip_init*.skip``)."""

    def __init__(self, channels: int, init: float) -> None:
        super().__init__()
        self.skip = nn.Parameter(torch.full((channels,), init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.skip


class MLP(nn.Module):
    def __init__(self, d_model: int, mlp_dim: int) -> None:
        super().__init__()
        self.linear1 = nn.Linear(d_model, mlp_dim)
        self.linear2 = nn.Linear(mlp_dim, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(F.gelu(self.linear1(x)))


class Block(nn.Module):
    """A pre-norm transformer block with layer-scaled residuals."""

    def __init__(self, d_model: int, num_heads: int, mlp_dim: int, layerscale_init: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.norm1 = nn.LayerNorm(d_model, eps=1e-5)
        self.qkv_proj = nn.Linear(d_model, d_model * 3)
        self.out_proj = nn.Linear(d_model, d_model)
        self.skip_init1 = LayerScale(d_model, layerscale_init)
        self.norm2 = nn.LayerNorm(d_model, eps=1e-5)
        self.mlp = MLP(d_model, mlp_dim)
        self.skip_init2 = LayerScale(d_model, layerscale_init)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, width = x.shape
        q, k, v = self.qkv_proj(x).chunk(3, dim=-1)
        heads = [t.view(batch, tokens, self.num_heads, width // self.num_heads).transpose(1, 2) for t in (q, k, v)]
        out = F.scaled_dot_product_attention(*heads)
        return self.out_proj(out.transpose(1, 2).reshape(batch, tokens, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.skip_init1(self.attention(self.norm1(x)))
        return x + self.skip_init2(self.mlp(self.norm2(x)))


class JoyTagViT(nn.Module):
    """JoyTag's ViT. ``forward`` returns logits; ``forward_with_embedding`` also the pooled features."""

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        self.config = config
        if config.cnn_stem:
            self.patch_embeddings: nn.Module = CNNStem(config.stem_layers, config.d_model)
        else:
            # The plain patchifier is saved as ``patch_embeddings.weight/bias``.
            self.patch_embeddings = nn.Conv2d(3, config.d_model, config.patch_size, config.patch_size, bias=True)
        if config.use_sine:
            self.pos_embedding: nn.Module = SinePositions(config.d_model)
        else:
            self.pos_embedding = LearnedPositions(config.num_tokens, config.d_model)
        self.blocks = nn.ModuleList(
            Block(config.d_model, config.num_heads, config.mlp_dim, config.layerscale_init)
            for _ in range(config.num_blocks)
        )
        self.norm = nn.LayerNorm(config.d_model, eps=1e-5)
        self.head = nn.Linear(config.d_model, config.n_tags)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Normalised token features (B, tokens, d_model)."""
        feature_map = self.patch_embeddings(images)
        _, _, height, width = feature_map.shape
        tokens = feature_map.flatten(2).transpose(1, 2)
        tokens = self.pos_embedding(tokens, height, width)
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens)

    def forward_with_embedding(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, n_tags) and the embedding (B, d_model): the mean of the normalised tokens."""
        tokens = self.features(images)
        embedding = tokens.mean(dim=1)
        if self.config.head_mean_after:
            logits = self.head(tokens).mean(dim=1)
        else:
            logits = self.head(embedding)
        return logits, embedding

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_with_embedding(images)[0]
