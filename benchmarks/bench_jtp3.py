"""JTP-3 Hydra's speed beside JoyTag's, in one run on this machine (model only, batch 1).

    python benchmarks/bench_jtp3.py [--rounds 3] [--seqlen 1024 256] [--json] [--toy]

Full-size networks with random weights in the published layouts, built once under --workdir:
JoyTag (ViT-B/16, 448 px, 784 tokens) and JTP-3 (SigLIP2 so400m/16 NaFlex, 27 blocks of 1152, at
most ``seqlen`` patches; the Hydra head with 7,504 tags at the sizes of the published loader: 32
pool heads of 64, feed-forward 6144, no mid block). Each model runs in the engine's default
configuration for this CPU and in float32 PyTorch (``--configs``); the configurations take turns within every
round, each timing one photo of the fixtures (preprocessed by its family's reference steps,
whose time is reported apart). ``--toy``: the tiny fixture models, one round (figures mean nothing).
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

from common import machine, write_random_full_size_model
from joytag_desktop.inference.engine import TaggingEngine
from joytag_desktop.taggers import recognise

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "tests/fixtures/wd-format/images/coffee.png"
TOY = {"joytag": ROOT / "tests/fixtures/joytag-format/tiny-released-shape",
       "jtp3": ROOT / "tests/fixtures/jtp3-format/jtp-3-hydra-tiny-b"}  # fmt: skip
TAGS, POOL_HEADS, HEAD_DIM, FF = 7504, 32, 64, 6144
CONFIGS = {"default": ("auto", "auto"), "torch float32": ("torch", "float32"), "torch bfloat16": ("torch", "bfloat16"),
           "onnxruntime float32": ("onnxruntime", "float32")}  # fmt: skip


def write_jtp3(folder: Path) -> Path:
    """A random JTP-3 checkpoint of the real file's shapes, bfloat16 as published, with its metadata."""
    from joytag_desktop.taggers.jtp3_network import Jtp3Dims, Jtp3Network

    weights = folder / "models" / "jtp-3-hydra.safetensors"
    if weights.exists():
        return folder
    (folder / "models").mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    dims = Jtp3Dims(1152, 27, 16, 4304, (16, 16), POOL_HEADS, TAGS, HEAD_DIM, FF, 0, 0, False, 1)
    torch.manual_seed(0)
    network = Jtp3Network(dims)
    with torch.no_grad():
        for name, parameter in network.named_parameters():
            if parameter.dim() > 1 and not name.endswith(("proj.weight", "qkv.weight", "fc1.weight", "fc2.weight")):
                parameter.normal_(0, 0.02)  # the parameters nn.Linear leaves at zero
    labels = [f"tag_{i}" for i in range(TAGS)]
    metadata = {
        "modelspec.architecture": "naflexvit_so400m_patch16_siglip+rr_hydra",
        "classifier.labels": "\n".join(labels),
    }
    save_file({k: v.to(torch.bfloat16).contiguous() for k, v in network.state_dict().items()}, weights, metadata)
    with open(folder / "data" / "jtp-3-hydra-tags.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tag", "category", "implications"])
        writer.writerows([label, i % 9 if i % 9 in (0, 1, 3, 4, 5, 7, 8) else 0, ""] for i, label in enumerate(labels))
    return folder


def engines(folder: Path, name: str, seqlens: list[int], configs: list[str]) -> dict[str, TaggingEngine]:
    """(label → engine): each configuration, per sequence length for JTP-3."""
    made: dict[str, TaggingEngine] = {}
    networks: dict[str, TaggingEngine] = {}  # PyTorch runs any sequence length: one network per configuration
    for seqlen in seqlens if name == "jtp3" else [0]:
        suffix = f" seqlen {seqlen}" if seqlen else ""
        for label in configs:
            runtime, precision = CONFIGS[label]
            start = time.perf_counter()
            tagger = recognise(folder)
            if seqlen:
                tagger.family.apply_options(tagger, {"seqlen": seqlen})
            if runtime == "torch" and label in networks:
                engine = copy.copy(networks[label])  # the same network, this sequence length's inputs
                engine.tagger = tagger
            else:
                engine = TaggingEngine(tagger, device="cpu", precision=precision, runtime=runtime, batch_size=1,
                                       preprocessing="reference")  # fmt: skip
                networks[label] = engine
            print(f"  {name}{suffix} {label}: {engine.describe()} (set up in {time.perf_counter() - start:.0f} s)",
                  flush=True)  # fmt: skip
            made[f"{name}{suffix} {label}"] = engine
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seqlen", type=int, nargs="+", default=[1024])
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "joytag-bench")
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=["default", "torch float32"],
                        help="default: the engine's choice for this CPU (OpenVINO converts the 2 GB network once: "
                        "allow 8 GB of memory)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="end with one JSON object of all figures")
    parser.add_argument("--toy", action="store_true", help="the tiny fixture models, one round")
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)
    folders = TOY if args.toy else {"joytag": write_random_full_size_model(args.workdir / "model-full-size"),
                                    "jtp3": write_jtp3(args.workdir / "jtp3-full-size")}  # fmt: skip
    rounds = 1 if args.toy else args.rounds
    made: dict[str, TaggingEngine] = {}
    for name, folder in folders.items():
        made |= engines(folder, name, args.seqlen, args.configs)
    batches, preprocess = {}, {}
    for label, engine in made.items():
        start = time.perf_counter()
        batches[label] = engine.preprocess(PHOTO)[None]  # decoding and the family's reference steps
        preprocess[label] = time.perf_counter() - start
        engine.predict(batches[label])  # warm-up
    timings: dict[str, list[float]] = {label: [] for label in made}
    for _ in range(rounds):
        for label, engine in made.items():
            start = time.perf_counter()
            engine.predict(batches[label])
            timings[label].append(time.perf_counter() - start)
    rows = {}
    for label in made:
        speed = 1 / statistics.median(timings[label])
        rows[label] = {"images_per_s": round(speed, 3), "preprocess_ms": round(preprocess[label] * 1000, 1),
                       "runtime": made[label].describe()}  # fmt: skip
        print(f"  {label:32s} {speed:7.3f} images/s   (preprocessing {preprocess[label] * 1000:6.1f} ms)", flush=True)
    if args.json:
        print(json.dumps({"machine": machine(), "rounds": rounds, "results": rows}))


if __name__ == "__main__":
    main()
