"""``joytag-desktop benchmark``: which device, runtime and precision actually run here, and how fast.

Users of other taggers complain above all of a GPU left idle while the tool quietly runs on the
CPU, so a CUDA that was wanted (``--device cuda``, or ``auto`` on a machine that shows an NVIDIA GPU)
and is not usable is said in one line on stderr, and in the JSON, before anything is measured.
torch loads inside the handler only.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from joytag_desktop.cli import arguments
from joytag_desktop.cli.engine_options import add_engine_arguments, load_engine

EXAMPLES = """\
examples:
  joytag-desktop benchmark                         the downloaded JoyTag on the best device here
  joytag-desktop benchmark --device cuda --json    on the GPU (or one line saying why not), as JSON
  joytag-desktop benchmark --model wd-swinv2-v3 --images 64 --photo-size 1920x1080
"""


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        width = height = 0
    if width < 16 or height < 16:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 4000x3000, not {text!r}")
    return width, height


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = arguments.command(
        subparsers,
        "benchmark",
        "measure tagging speed here: the device, runtime and precision that run, and images/s",
        "Load a tagger as `tag` would and measure it: the network alone on random batches, then end to end "
        "(read, decode, preprocess, network) on JPEGs made for the purpose in a temporary folder. Says which "
        "device, runtime and precision actually ran, and says so plainly when CUDA was wanted but is not used.",
        EXAMPLES,
    )
    parser.add_argument(
        "--images",
        type=arguments.positive_int,
        metavar="N",
        help="JPEGs for the end-to-end run (default 16; on a GPU two batches, 128)",
    )
    parser.add_argument(
        "--photo-size", type=_size, default=(4000, 3000), metavar="WxH", help="their size (4000x3000, 12 MP)"
    )
    parser.add_argument(
        "--seconds", type=float, default=5.0, metavar="S", help="time the network alone for about S seconds (5)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    add_engine_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from joytag_desktop.inference import measure
    from joytag_desktop.inference.device import choose_device, describe_device

    asked = args.device
    _, missed = choose_device(asked)
    if missed:
        print(f"joytag-desktop: warning: {missed}; measuring on the CPU", file=sys.stderr, flush=True)
        args.device = "cpu"
    begun = time.perf_counter()
    engine = load_engine(args)
    figures: dict[str, Any] = {
        "device": describe_device(engine.device),
        "device_asked": asked,
        "cuda_not_used": missed or None,
        "runtime": engine.runtime,
        "precision": engine.runner.precision,
        "batch_size": engine.batch_size,
        "preprocessing": engine.preprocessing,
        "decoding": measure.decoding(engine),
        "model": f"{engine.tagger.describe()} ({engine.tagger.path})",
        "load_s": round(time.perf_counter() - begun, 2),
    }
    say = (lambda text: None) if args.json else (lambda text: print(text, flush=True))
    say(f"device:     {figures['device']}" + (f" — {missed}" if missed else ""))
    say(f"runtime:    {engine.runtime}, {engine.runner.precision}, batch {engine.batch_size}")
    say(f"model:      {figures['model']}, loaded in {figures['load_s']:.1f} s")
    rate = measure.model_only(engine, seconds=args.seconds)
    figures["model_only_images_per_s"] = round(rate, 2)
    say(f"model only: {rate:.1f} images/s (random batches of {engine.batch_size} already on the device)")
    width, height = args.photo_size
    count = args.images or (2 * engine.batch_size if engine.device.type == "cuda" else 16)
    with tempfile.TemporaryDirectory(prefix="joytag-benchmark-") as folder:
        photos = measure.synthetic_photos(Path(folder), count, args.photo_size)
        done = measure.end_to_end(engine, photos)
    figures |= {
        "end_to_end_images_per_s": round(done.images_per_s, 2),
        "images": done.images,
        "photo_size": f"{width}x{height}",
        "failed": done.failed,
    }
    say(
        f"end to end: {done.images_per_s:.1f} images/s ({done.images} JPEGs of {width}x{height} decoded "
        f"{figures['decoding']}; {engine.preprocessing} preprocessing)"
    )
    if done.failed:
        print(f"joytag-desktop: error: {done.failed} image(s) failed: {done.first_error}", file=sys.stderr)
    if args.json:
        print(json.dumps(figures, indent=2))
    return 1 if done.failed else 0
