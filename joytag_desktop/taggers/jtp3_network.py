"""JTP-3's network: SigLIP2 so400m NaFlex (timm NaFlexVit tensor names) + the Hydra per-tag
attention pool, written out as the published ``siglip2.py`` / ``hydra_pool.py`` compute it.

Not timm's ``NaFlexVit``: the published ``siglip2.py`` uses LayerNorm eps 1e-5 where timm's
(the first release's) uses 1e-6 (1e-4 apart on the fixtures), and timm resizes the position grid
per image in Python, which no ONNX or OpenVINO graph can hold. Here the resize weights come with
the input (``taggers/naflex.py``), so every shape is static. Imported only to build a network.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from joytag_desktop.taggers.naflex import PATCH_VALUES

EPS = 1e-5


@dataclass(frozen=True)
class Jtp3Dims:
    """The free numbers of a JTP-3 file, read from its tensor shapes (heads from elsewhere)."""

    width: int
    depth: int
    heads: int
    mlp: int
    grid: tuple[int, int]
    pool_heads: int
    tags: int
    head_dim: int
    pool_ff: int  # 0: no feed-forward after the first pool attention
    mid_blocks: int
    mid_ff: int
    tied_kv: bool
    outputs: int  # per tag, after the SwiGLU of out_proj (1 in JTP-3)


def rms(x: torch.Tensor) -> torch.Tensor:
    """RMSNorm without weight (``F.rms_norm(x, (E,), eps=1e-5)``), spelled out for ONNX export."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS)


def swiglu(x: torch.Tensor) -> torch.Tensor:
    gate, value = x.chunk(2, -1)
    return F.silu(gate) * value


class Embeds(nn.Module):
    def __init__(self, dims: Jtp3Dims) -> None:
        super().__init__()
        self.proj = nn.Linear(PATCH_VALUES, dims.width)
        self.pos_embed = nn.Parameter(torch.zeros(1, *dims.grid, dims.width))


class Attention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, tokens, width = x.shape
        q, k, v = self.qkv(x).reshape(batch, tokens, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(out.transpose(1, 2).reshape(batch, tokens, width))


class Mlp(nn.Module):
    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, dims: Jtp3Dims) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dims.width, eps=EPS)
        self.attn = Attention(dims.width, dims.heads)
        self.norm2 = nn.LayerNorm(dims.width, eps=EPS)
        self.mlp = Mlp(dims.width, dims.mlp)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), mask)
        return x + self.mlp(self.norm2(x))


class OutProj(nn.Module):
    """Per-tag output weights ``[C, A, 2·out]`` (one matrix per tag), as a module named like the file."""

    def __init__(self, dims: Jtp3Dims) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(dims.tags, dims.pool_heads * dims.head_dim, 2 * dims.outputs))


class MidBlock(nn.Module):
    def __init__(self, dims: Jtp3Dims) -> None:
        super().__init__()
        attn = dims.pool_heads * dims.head_dim
        self.q_proj = nn.Linear(attn, attn, bias=False)
        self.q_cls = nn.Parameter(torch.zeros(dims.tags, attn))
        self.ff_in = nn.Linear(2 * attn, 2 * dims.mid_ff, bias=False)
        self.ff_out = nn.Linear(dims.mid_ff, attn, bias=False)


class HydraPool(nn.Module):
    """One learned (already RMS-normalised) query per tag and pool head over the image's tokens."""

    def __init__(self, dims: Jtp3Dims) -> None:
        super().__init__()
        self.dims = dims
        attn = dims.pool_heads * dims.head_dim
        self.q = nn.Parameter(torch.zeros(dims.pool_heads, dims.tags, dims.head_dim))
        self.kv = nn.Linear(dims.width, attn if dims.tied_kv else 2 * attn, bias=False)
        if dims.pool_ff:
            self.ff_norm = nn.LayerNorm(attn, eps=EPS)
            self.ff_in = nn.Linear(attn, 2 * dims.pool_ff, bias=False)
            self.ff_out = nn.Linear(dims.pool_ff, attn, bias=False)
        self.mid_blocks = nn.ModuleList(MidBlock(dims) for _ in range(dims.mid_blocks))
        self.out_proj = OutProj(dims)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        dims = self.dims
        batch, tokens, _ = x.shape
        heads, head_dim, attn = dims.pool_heads, dims.head_dim, dims.pool_heads * dims.head_dim
        kv = self.kv(x)
        if dims.tied_kv:
            k = v = kv.reshape(batch, tokens, heads, head_dim).transpose(1, 2)
        else:
            k, v = kv.reshape(batch, tokens, 2, heads, head_dim).permute(2, 0, 3, 1, 4)
        k = rms(k)
        q = self.q.unsqueeze(0).expand(batch, -1, -1, -1)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2).reshape(batch, dims.tags, attn)
        if dims.pool_ff:
            y = y + self.ff_out(swiglu(self.ff_in(self.ff_norm(y))))
        for block in self.mid_blocks:
            assert isinstance(block, MidBlock)
            # RMSNorm over head_dim applied to the whole vector: the published code (one pool head)
            query = rms(block.q_proj(y) + block.q_cls).reshape(batch, dims.tags, heads, head_dim).transpose(1, 2)
            seen = F.scaled_dot_product_attention(query, k, v, attn_mask=mask).transpose(1, 2)
            both = F.layer_norm(torch.cat((y, seen.reshape(batch, dims.tags, attn)), -1), (2 * attn,), eps=EPS)
            y = y + block.ff_out(swiglu(block.ff_in(both)))
        out = swiglu(torch.matmul(y.unsqueeze(-2), self.out_proj.weight).squeeze(-2))  # [B, C, out]
        return out.squeeze(-1) if dims.outputs == 1 else out.mean(-1)


class Jtp3Network(nn.Module):
    """``forward(packed)`` → (sigmoid scores ``[B, C]``, image embedding ``[B, D]``: the mean of the
    final-norm features of the real patches)."""

    def __init__(self, dims: Jtp3Dims) -> None:
        super().__init__()
        self.dims = dims
        self.embeds = Embeds(dims)
        self.blocks = nn.ModuleList(Block(dims) for _ in range(dims.depth))
        self.norm = nn.LayerNorm(dims.width, eps=EPS)
        self.attn_pool = HydraPool(dims)

    def forward(self, packed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dims = self.dims
        rows, cols = dims.grid
        patches = packed[..., :PATCH_VALUES]
        row_weights = packed[..., PATCH_VALUES : PATCH_VALUES + rows]
        col_weights = packed[..., PATCH_VALUES + rows : PATCH_VALUES + rows + cols]
        valid = packed[..., -1] > 0.5
        mask = valid[:, None, None, :]  # keys only, as the published code masks
        place = (row_weights.unsqueeze(-1) * col_weights.unsqueeze(-2)).flatten(-2)  # [B, S, rows·cols]
        x = self.embeds.proj(patches) + place @ self.embeds.pos_embed.reshape(rows * cols, dims.width)
        for block in self.blocks:
            x = block(x, mask)
        x = self.norm(x)
        logits = self.attn_pool(x, mask)
        weight = valid.unsqueeze(-1).to(x.dtype)
        embedding = (x * weight).sum(1) / weight.sum(1).clamp_min(1.0)
        return torch.sigmoid(logits.float()), embedding.float()
