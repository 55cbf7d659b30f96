"""Tagging throughput, full-size JoyTag architecture (random weights).

    python benchmarks/bench_tagging.py [--device cpu|cuda|all] [--images N] [--photo-size 4000x3000]

Reports, on each device:
- model only: images/s for float32 and the engine's auto precision (bf16 where supported);
- end to end on a folder of JPEGs (decode + preprocess + model + results): the one-image-at-a-time
  reference loop (Pillow at full resolution, batch of one, autocast) and the engine's fast path;
- how far the fast path's scores are from the reference path's on the fixture images.
Figures depend on the machine, which is printed first.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from common import machine, write_photos, write_random_full_size_model
from joytag_desktop.imaging import open_image
from joytag_desktop.inference.engine import TaggingEngine
from joytag_desktop.taggers.joytag import inspect_folder
from joytag_desktop.taggers.joytag.preprocess import reference_tensor

FIXTURES = Path(__file__).resolve().parents[1] / "tests/fixtures/joytag-format"


def model_only(engine: TaggingEngine, batches: int) -> float:
    size = engine.image_size
    batch = torch.randn(engine.batch_size, 3, size, size)
    engine.predict(batch)  # warm-up
    timings = []
    for _ in range(batches):
        start = time.perf_counter()
        engine.predict(batch)
        if engine.device.type == "cuda":
            torch.cuda.synchronize()
        timings.append(time.perf_counter() - start)
    return engine.batch_size / statistics.median(timings)


def reference_loop(engine: TaggingEngine, photos: list[Path]) -> float:
    """What a simple script does: one image at a time, Pillow at full resolution, autocast."""
    engine.predict(reference_tensor(open_image(photos[0]), engine.image_size)[None])
    start = time.perf_counter()
    for path in photos:
        engine.predict(reference_tensor(open_image(path), engine.image_size)[None])
    return len(photos) / (time.perf_counter() - start)


def end_to_end(engine: TaggingEngine, photos: list[Path]) -> float:
    list(engine.tag_paths(photos[: engine.batch_size]))  # warm-up
    start = time.perf_counter()
    results = list(engine.tag_paths(photos))
    elapsed = time.perf_counter() - start
    failed = [r for r in results if not r.ok]
    if failed:
        raise SystemExit(f"{len(failed)} images failed: {failed[0].error}")
    return len(photos) / elapsed


def agreement(device: str) -> str:
    """Max |score difference| of the fast path (auto precision) against float32 reference, fixture models."""
    images = sorted((FIXTURES / "images").iterdir())
    worst = {}
    for name in ("tiny-released-shape", "tiny-learned-pos"):
        model = inspect_folder(FIXTURES / name)
        reference = {
            r.path: r.scores
            for r in TaggingEngine(model, device="cpu", precision="float32", preprocessing="reference").tag_paths(
                images
            )
        }
        fast = TaggingEngine(model, device=device)
        worst[name] = max(float(np.abs(r.scores - reference[r.path]).max()) for r in fast.tag_paths(images))
        precision = str(fast.dtype).removeprefix("torch.")
    return ", ".join(f"{k}: {v:.4f}" for k, v in worst.items()) + f" ({precision}, fast preprocessing)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda", "all"), default="all")
    parser.add_argument("--images", type=int, default=12, help="photos in the end-to-end folder")
    parser.add_argument("--photo-size", default="4000x3000", help="WxH of the synthetic JPEGs (12 MP)")
    parser.add_argument("--batches", type=int, default=3, help="timed batches for model-only")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "joytag-bench")
    args = parser.parse_args()

    width, height = map(int, args.photo_size.lower().split("x"))
    print(f"machine: {machine()}")
    model_dir = write_random_full_size_model(args.workdir / "model-full-size")
    photos = write_photos(args.workdir / f"photos-{width}x{height}", args.images, (width, height))
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    for device in devices:
        if device == "cuda" and not torch.cuda.is_available():
            print("cuda: not available on this machine, skipped")
            continue
        model = inspect_folder(model_dir)
        fp32 = TaggingEngine(model, device=device, batch_size=args.batch_size, precision="float32")
        auto = TaggingEngine(model, device=device, batch_size=args.batch_size)
        print(f"{device}:")
        print(f"  model only, float32          : {model_only(fp32, args.batches):8.2f} images/s")
        print(
            f"  model only, {str(auto.dtype).removeprefix('torch.'):17s}: {model_only(auto, args.batches):8.2f}"
            " images/s"
        )
        loop = reference_loop(auto, photos)
        fast = end_to_end(auto, photos)
        print(f"  end to end, reference loop   : {loop:8.2f} images/s ({len(photos)} JPEGs of {width}x{height})")
        print(f"  end to end, engine fast path : {fast:8.2f} images/s ({auto.describe()})  = {fast / loop:.1f}x")
        print(f"  score agreement vs float32 reference, max |diff|: {agreement(device)}")


if __name__ == "__main__":
    main()
