"""Helpers shared by the benchmarks: a full-size model folder with random weights, synthetic photos."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from joytag_desktop.taggers.joytag.config import ViTConfig
from joytag_desktop.taggers.joytag.network import JoyTagViT

RELEASED_CONFIG = json.loads(
    (Path(__file__).resolve().parents[1] / "tests/fixtures/joytag-format/released-state-dict.json").read_text()
)["config"]


def write_random_full_size_model(folder: Path, seed: int = 0) -> Path:
    """A model folder in the published format, full JoyTag size (ViT-B/16, 448 px), random weights."""
    if (folder / "model.safetensors").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    network = JoyTagViT(ViTConfig.from_dict(RELEASED_CONFIG))
    save_file({k: v.contiguous() for k, v in network.state_dict().items()}, folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps(RELEASED_CONFIG))
    (folder / "top_tags.txt").write_text("\n".join(f"tag_{i}" for i in range(RELEASED_CONFIG["n_tags"])))
    return folder


def write_photos(folder: Path, count: int, size: tuple[int, int], seed: int = 0) -> list[Path]:
    """JPEGs with photo-like content (smooth gradients plus noise), so decoding costs what a photo costs."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    paths = []
    for index in range(count):
        path = folder / f"photo_{index:05d}.jpg"
        if not path.exists():
            phase = rng.uniform(0, 6.28, 3)
            base = np.stack(
                [
                    127 + 100 * np.sin(x / (width / (3 + c)) + phase[c]) * np.cos(y / (height / (2 + c)))
                    for c in range(3)
                ],
                axis=-1,
            )
            noisy = base + rng.normal(0, 12, base.shape)
            Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(path, quality=90)
        paths.append(path)
    return paths


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return f"{cpu}, {torch.get_num_threads()} torch threads{gpu}, torch {torch.__version__}"
