"""Measuring an engine where it runs: images/s of the network alone and end to end on generated
photos. Used by ``joytag-desktop benchmark`` and ``benchmarks/gpu_check.py``, so the figure a user
sees is the one a GPU check reports.
"""

from __future__ import annotations

import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from joytag_desktop.inference.engine import TaggingEngine


def synchronise(device: torch.device) -> None:
    """Wait for the GPU's queued work, so a time measured covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def model_only(engine: TaggingEngine, batch_size: int | None = None, seconds: float = 5.0, least: int = 3) -> float:
    """Images/s of the network alone, on a batch already on its device (after two warm-up batches):
    the median of at least ``least`` timed batches, more while ``seconds`` last."""
    size = batch_size or engine.batch_size
    shape = engine.tagger.family.sample_input(engine.tagger).shape  # (3, S, S); JTP-3: (tokens, values)
    batch = torch.randn(size, *shape, device=engine.device)
    for _ in range(2):
        engine.predict(batch)
    synchronise(engine.device)
    timings: list[float] = []
    ends = time.perf_counter() + seconds
    while len(timings) < least or (time.perf_counter() < ends and len(timings) < 200):
        begun = time.perf_counter()
        engine.predict(batch)  # its numpy results wait for the device
        timings.append(time.perf_counter() - begun)
    return size / statistics.median(timings)


@dataclass
class EndToEnd:
    """One pass of ``tag_paths`` over files: how many, how long, the first failure."""

    images: int
    failed: int
    seconds: float
    first_error: str | None

    @property
    def images_per_s(self) -> float:
        return (self.images - self.failed) / self.seconds if self.seconds else 0.0


def end_to_end(engine: TaggingEngine, paths: list[Path], warm_up: bool = True) -> EndToEnd:
    """Read, decode (on the GPU where the engine does), preprocess, run and score every file."""
    if warm_up:
        list(engine.tag_paths(paths[: engine.batch_size]))
        synchronise(engine.device)
    begun = time.perf_counter()
    results = list(engine.tag_paths(paths))
    seconds = time.perf_counter() - begun
    failed = [r for r in results if not r.ok]
    return EndToEnd(len(results), len(failed), seconds, failed[0].error if failed else None)


def decoding(engine: TaggingEngine) -> str:
    """How the engine decodes JPEGs, in words."""
    if engine.device_decode:
        return "on the GPU by nvJPEG (torchvision)"
    return f"on the CPU by Pillow, at reduced size, in {engine.decode_workers} threads"


def synthetic_photos(folder: Path, count: int, size: tuple[int, int] = (4000, 3000)) -> list[Path]:
    """``count`` different photo-like JPEGs (smooth colour fields and sensor-like noise, quality 90;
    a 12 MP one is about 3 MB, as a camera's), encoded in parallel threads."""
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    y, x = np.mgrid[0 : max(1, height // 8), 0 : max(1, width // 8)].astype(np.float32)
    small = np.stack(
        [127 + 100 * np.sin(x / (width / (24 + 8 * c)) + c) * np.cos(y / (height / (16 + 8 * c))) for c in range(3)], -1
    )
    base = np.asarray(Image.fromarray(small.clip(0, 255).astype(np.uint8)).resize(size, Image.Resampling.BILINEAR))
    tile = np.random.default_rng(0).normal(0, 8, (256, 256, 3)).astype(np.int16)
    noise = np.tile(tile, (height // 256 + 1, width // 256 + 1, 1))[:height, :width]
    photo = (base.astype(np.int16) + noise).clip(0, 255).astype(np.uint8)
    del noise

    def one(index: int) -> Path:
        path = folder / f"photo_{index:05d}.jpg"
        shifted = np.roll(photo, ((index * 104729) % height, (index * 7919) % width), axis=(0, 1))
        shifted[:32, :32] = (index * 37 % 256, index * 91 % 256, index * 53 % 256)  # no two alike
        Image.fromarray(shifted).save(path, quality=90)
        return path

    with ThreadPoolExecutor(min(16, os.cpu_count() or 1)) as pool:
        return list(pool.map(one, range(count)))
