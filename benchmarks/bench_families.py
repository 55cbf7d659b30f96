"""Images/s of every new tagger family beside JoyTag's, in one run: JTP-3, PixAI, SigLIP2.

    python benchmarks/bench_families.py [--rounds 3] [--configs float32 auto] [--workdir DIR] [--json] [--toy]

The full-size networks are the random-weight files the families' own benchmarks build (and keep under
``--workdir``): JoyTag ViT-B/16 448 (``common.py``), JTP-3 so400m NaFlex at ``--seqlen`` 1024
(``bench_jtp3.py``), PixAI's EVA02-Large/14 448 ONNX export (``bench_pixai.py``, 1.3 GB, minutes to
export), SigLIP2 B/16 224 and SO400M/16 384 (``bench_siglip2.py``). ``float32``: PyTorch float32
for the families that run on PyTorch, ONNX Runtime float32 for PixAI (published as ONNX only), and
JoyTag on ONNX Runtime too so that PixAI has a partner on its own runtime; ``auto``: the runtime and
precision the app picks on this CPU (OpenVINO converts each network once: allow 10 GB of memory per
large network). Model only (the preprocessed input is made once), batch 1, one photo; the median of
the rounds, the models taking turns within each round so that a noisy neighbour slows them alike.
``--toy``: the tiny fixtures, one round, for the test that keeps this script working.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench_jtp3 import write_jtp3
from bench_pixai import write_pixai
from bench_siglip2 import write_siglip2

from common import machine, write_random_full_size_model
from joytag_desktop.inference.engine import TaggingEngine
from joytag_desktop.taggers import recognise

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "tests/fixtures/wd-format/images/coffee.png"
FIXTURES = ROOT / "tests/fixtures"
TOY = {
    "joytag": FIXTURES / "joytag-format/tiny-released-shape",
    "jtp3": FIXTURES / "jtp3-format/jtp-3-hydra-tiny-b",
    "pixai": FIXTURES / "pixai-format/pixai-tiny-a",
    "siglip2-base": FIXTURES / "siglip2-format/siglip2-tiny-a",
}
# (model, config) -> (runtime, precision); ``float32`` is each family's own float32 route.
FLOAT32 = {"pixai": ("onnxruntime", "float32")}
EXTRA_FLOAT32 = [("joytag", "onnxruntime", "float32")]  # PixAI's partner on its runtime


def full_size(workdir: Path, seqlen: int) -> dict[str, Path]:
    return {
        "joytag": write_random_full_size_model(workdir / "model-full-size"),
        "jtp3": write_jtp3(workdir / "jtp3-full-size"),
        "pixai": write_pixai(workdir / "pixai-v0.9-full-size"),
        "siglip2-base": write_siglip2(workdir / "siglip2-base", "base"),
        "siglip2-so400m": write_siglip2(workdir / "siglip2-so400m", "so400m"),
    }


def plans(models: dict[str, Path], configs: list[str]) -> list[tuple[str, str, str, str]]:
    """(model, label, runtime, precision) for every model and configuration asked for."""
    made = []
    for config in configs:
        for model in models:
            if config == "auto":
                made.append((model, "auto", "auto", "auto"))
            else:
                runtime, precision = FLOAT32.get(model, ("torch", "float32"))
                made.append((model, f"{runtime} float32", runtime, precision))
        if config == "float32":
            made += [(model, f"{run} {precision}", run, precision) for model, run, precision in EXTRA_FLOAT32]
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--configs", nargs="+", choices=("float32", "auto"), default=["float32"])
    parser.add_argument("--seqlen", type=int, default=1024, help="JTP-3's patch budget")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "joytag-bench")
    parser.add_argument("--json", action="store_true", help="end with one JSON object of all figures")
    parser.add_argument("--toy", action="store_true", help="the tiny fixture models, one round")
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)
    models = TOY if args.toy else full_size(args.workdir, args.seqlen)
    rounds = 1 if args.toy else args.rounds
    engines: dict[str, TaggingEngine] = {}
    for model, label, runtime, precision in plans(models, args.configs):
        start = time.perf_counter()
        tagger = recognise(models[model])
        if model == "jtp3":
            tagger.family.apply_options(tagger, {"seqlen": args.seqlen})
        try:
            engine = TaggingEngine(tagger, device="cpu", runtime=runtime, precision=precision, batch_size=1,
                                   preprocessing="reference")  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - report it and measure the others
            print(f"  {model} {label}: cannot run ({type(exc).__name__}: {exc})", flush=True)
            continue
        engines[f"{model} {label}"] = engine
        print(f"  {model} {label}: {engine.describe()} (set up in {time.perf_counter() - start:.0f} s)", flush=True)
    inputs = {key: engine.preprocess(PHOTO)[None] for key, engine in engines.items()}
    for key, engine in engines.items():
        engine.predict(inputs[key])  # first call: allocation, graph optimisation
    timings: dict[str, list[float]] = {key: [] for key in engines}
    for _ in range(rounds):
        for key, engine in engines.items():
            start = time.perf_counter()
            engine.predict(inputs[key])
            timings[key].append(time.perf_counter() - start)
    results = {}
    for key, engine in engines.items():
        speed = 1 / statistics.median(timings[key])
        results[key] = {"images_per_s": round(speed, 3), "runs": engine.describe()}
        print(f"  {key:36s} {speed:8.3f} images/s   ({engine.describe()})", flush=True)
    if args.json:
        print(json.dumps({"machine": machine(), "rounds": rounds, "seqlen": args.seqlen, "results": results}))


if __name__ == "__main__":
    main()
