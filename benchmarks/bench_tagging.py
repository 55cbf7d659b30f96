"""Tagging throughput, full-size JoyTag architecture (random weights).

    python benchmarks/bench_tagging.py [--device cpu|cuda|all] [--images N] [--photo-size 4000x3000] [--json]

Reports, on each device:
- model only: images/s for float32 PyTorch and for the engine's default (runtime and precision as
  ``TaggingEngine.describe`` names them: OpenVINO bf16 on a CPU with native bf16, PyTorch elsewhere);
- end to end on a folder of JPEGs (decode + preprocess + model + results): the one-image-at-a-time
  reference loop (Pillow at full resolution, batch of one, through the default runtime) and the
  engine's fast path;
- how far the fast path's scores are from the reference path's on the fixture images.
Figures depend on the machine, which is printed first. ``--toy`` runs a tiny fixture model on a few
small photos (for the test that keeps this script working; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from common import machine, write_photos, write_random_full_size_model
from joytag_desktop.inference.engine import TaggingEngine
from joytag_desktop.media.imaging import open_image
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
    """What a simple script does: one image at a time, Pillow at full resolution, the default runtime."""
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


def agreement(device: str) -> dict[str, float | str]:
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
        scores = {r.path: r.scores for r in fast.tag_paths(images)}
        worst[name] = max(float(np.abs(got - reference[path]).max()) for path, got in scores.items() if got is not None)
        if any(got is None for got in scores.values()):
            raise SystemExit(f"{name}: some fixture images could not be tagged on {device}")
        worst["engine"] = fast.runner.describe()
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda", "all"), default="all")
    parser.add_argument("--images", type=int, default=12, help="photos in the end-to-end folder")
    parser.add_argument("--photo-size", default="4000x3000", help="WxH of the synthetic JPEGs (12 MP)")
    parser.add_argument("--batches", type=int, default=3, help="timed batches for model-only")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "joytag-bench")
    parser.add_argument("--toy", action="store_true", help="a tiny fixture model on a few small photos (a smoke run)")
    parser.add_argument("--json", action="store_true", help="end with one JSON object of the figures")
    args = parser.parse_args()
    if args.toy:
        args.images, args.photo_size, args.batches = min(args.images, 4), "320x240", 1

    width, height = map(int, args.photo_size.lower().split("x"))
    print(f"machine: {machine()}")
    if args.toy:
        model_dir = FIXTURES / "tiny-released-shape"
    else:
        model_dir = write_random_full_size_model(args.workdir / "model-full-size")
    photos = write_photos(args.workdir / f"photos-{width}x{height}", args.images, (width, height))
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    figures: dict = {"machine": machine(), "photos": f"{len(photos)} JPEGs of {width}x{height}", "devices": {}}
    for device in devices:
        if device == "cuda" and not torch.cuda.is_available():
            print("cuda: not available on this machine, skipped")
            continue
        model = inspect_folder(model_dir)
        fp32 = TaggingEngine(model, device=device, batch_size=args.batch_size, precision="float32")
        auto = TaggingEngine(model, device=device, batch_size=args.batch_size)
        # The default's own name (runtime and precision): OpenVINO bf16 is not PyTorch's bf16 autocast.
        default = f"default, {auto.runner.describe()}"
        fp32_rate, auto_rate = model_only(fp32, args.batches), model_only(auto, args.batches)
        print(f"{device}:")
        print(f"  model only, {fp32.runner.describe():28s}: {fp32_rate:8.2f} images/s (batch {fp32.batch_size})")
        print(f"  model only, {default:28s}: {auto_rate:8.2f} images/s (batch {auto.batch_size})")
        loop = reference_loop(auto, photos)
        fast = end_to_end(auto, photos)
        print(
            f"  end to end, reference loop   : {loop:8.2f} images/s ({len(photos)} JPEGs of {width}x{height},"
            f" {auto.runner.describe()}, batch 1)"
        )
        print(f"  end to end, engine fast path : {fast:8.2f} images/s ({auto.describe()})  = {fast / loop:.1f}x")
        drift = agreement(device)
        print(
            "  score agreement vs float32 reference, max |diff|: "
            + ", ".join(f"{k}: {v:.4f}" for k, v in drift.items() if isinstance(v, float))
            + f" ({drift['engine']}, fast preprocessing)"
        )
        figures["devices"][device] = {
            "model_only": {fp32.runner.describe(): round(fp32_rate, 2), default: round(auto_rate, 2)},
            "reference_loop": round(loop, 2),
            "fast_path": round(fast, 2),
            "fast_path_config": auto.describe(),
            "max_drift": drift,
        }
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
