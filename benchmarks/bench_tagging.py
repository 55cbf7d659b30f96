"""Tagging throughput: model-only and end-to-end over a folder, full-size JoyTag, random weights.

    python benchmarks/bench_tagging.py [--device cpu|cuda|all] [--images N] [--photo-size 4000x3000]

Prints images/s; figures depend on the machine, which is printed first.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from common import machine, write_photos, write_random_full_size_model
from joytag_desktop.model.engine import TaggingEngine
from joytag_desktop.model.folder import load_model


def model_only(engine: TaggingEngine, batches: int) -> float:
    size = engine.image_size
    batch = torch.randn(engine.batch_size, 3, size, size)
    engine.predict(batch)  # warm-up
    if engine.device.type == "cuda":
        torch.cuda.synchronize()
    timings = []
    for _ in range(batches):
        start = time.perf_counter()
        engine.predict(batch)
        if engine.device.type == "cuda":
            torch.cuda.synchronize()
        timings.append(time.perf_counter() - start)
    return engine.batch_size / statistics.median(timings)


def end_to_end(engine: TaggingEngine, photos: list[Path]) -> float:
    list(engine.tag_paths(photos[: engine.batch_size]))  # warm-up
    start = time.perf_counter()
    results = list(engine.tag_paths(photos))
    elapsed = time.perf_counter() - start
    failed = [r for r in results if not r.ok]
    if failed:
        raise SystemExit(f"{len(failed)} images failed: {failed[0].error}")
    return len(photos) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda", "all"), default="all")
    parser.add_argument("--images", type=int, default=16, help="photos in the end-to-end folder")
    parser.add_argument("--photo-size", default="1920x1280", help="WxH of the synthetic JPEGs")
    parser.add_argument("--batches", type=int, default=3, help="timed batches for model-only")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--precision", default="auto")
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
        engine = TaggingEngine(
            load_model(model_dir), device=device, batch_size=args.batch_size, precision=args.precision
        )
        print(f"{device}: {engine.describe()}")
        print(f"  model only : {model_only(engine, args.batches):8.2f} images/s")
        print(f"  end to end : {end_to_end(engine, photos):8.2f} images/s ({len(photos)} JPEGs of {width}x{height})")


if __name__ == "__main__":
    main()
