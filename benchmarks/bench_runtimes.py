"""CPU (or GPU) speed of every tagger architecture through every runtime that can run it, side by side.

    python benchmarks/bench_runtimes.py [--arch joytag wd-vit …] [--rounds 5] [--toy] [--json]

Full-size networks with random weights, in the published layouts, built once under --workdir:
JoyTag (ViT-B/16, 448), WD v3 ViT / SwinV2 / ConvNeXt (448, 10,861 tags), JTP-1 PILOT2 (SigLIP
so400m/14, 384, 9,083 tags, gated head). Each (runtime, precision) runs batch 1 and batch 4; the
configurations take turns within every round (interleaved), so a noisy neighbour slows them alike.
Drift: the largest score difference from float32 PyTorch on the eight fixture photos, through the
same preprocessing. "torch bf16 autocast" is the engine's CPU default before OpenVINO (float32
weights autocast to bf16 on every call); on CPUs without native bf16 the bf16 rows are left out and
float32 PyTorch is the baseline.
camie-tagger is not here: its graphs are published only as ONNX files, which cannot be rebuilt
with random weights; it runs on onnxruntime (or OpenVINO) like the WD ONNX files.
``--toy`` times the tiny JoyTag-format fixture model in the float32 and bf16 configurations, one
round (for the test that keeps this script working; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from common import machine, write_random_full_size_model
from joytag_desktop.inference.device import cpu_has_fast_bf16, cpu_has_vnni
from joytag_desktop.inference.engine import TaggingEngine
from joytag_desktop.inference.runners import TorchRunner
from joytag_desktop.media.imaging import open_image
from joytag_desktop.taggers import recognise

ROOT = Path(__file__).resolve().parents[1]
TOY_MODEL = ROOT / "tests/fixtures/joytag-format/tiny-released-shape"
PHOTOS = sorted((ROOT / "tests/fixtures/wd-format/images").glob("*.*"))
WD_ARGS = {
    "wd-vit": ("vit_base_patch16_224", {"img_size": 448, "class_token": False, "global_pool": "avg",
                                        "fc_norm": False, "act_layer": "gelu_tanh"}),
    "wd-swinv2": ("swinv2_base_window8_256", {"act_layer": "gelu_tanh", "img_size": 448, "window_size": 14}),
    "wd-convnext": ("convnext_base", {"act_layer": "gelu_tanh"}),
}  # fmt: skip
WD_TAGS, JTP_TAGS = 10861, 9083
CONFIGS = [  # (label, runtime, precision)
    ("torch float32", "torch", "float32"),
    ("torch bf16 autocast", "torch-autocast", "bfloat16"),
    ("torch bf16 weights", "torch", "bfloat16"),
    ("onnxruntime float32", "onnxruntime", "float32"),
    ("onnxruntime int8", "onnxruntime", "int8"),
    ("openvino float32", "openvino", "float32"),
    ("openvino bf16", "openvino", "bfloat16"),
    ("openvino int8 (NNCF)", "openvino", "int8"),
]


def write_wd(folder: Path, arch: str) -> Path:
    import timm

    if (folder / "model.safetensors").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    name, args = WD_ARGS[arch]
    torch.manual_seed(0)
    network = timm.create_model(name, pretrained=False, num_classes=WD_TAGS, **args)
    save_file({k: v.contiguous() for k, v in network.state_dict().items()}, folder / "model.safetensors")
    config = {"architecture": name, "num_classes": WD_TAGS, "model_args": args,
              "pretrained_cfg": {"input_size": [3, 448, 448]}}  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    with open(folder / "selected_tags.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tag_id", "name", "category", "count"])
        for i, rating in enumerate(("general", "sensitive", "questionable", "explicit")):
            writer.writerow([9999999 - i, rating, 9, 0])
        for i in range(WD_TAGS - 4):
            writer.writerow([i, f"tag_{i}", 4 if i % 5 == 0 else 0, 0])
    return folder


def write_jtp(folder: Path) -> Path:
    import timm

    from joytag_desktop.taggers.jtp import ARCHITECTURE, gated_head

    weights = folder / "JTP_PILOT2-e3-vit_so400m_patch14_siglip_384.safetensors"
    if weights.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    network = timm.create_model(ARCHITECTURE, pretrained=False, num_classes=JTP_TAGS)
    network.head = gated_head(1152, JTP_TAGS)
    save_file({k: v.contiguous() for k, v in network.state_dict().items()}, weights)
    (folder / "tags.json").write_text(json.dumps({f"tag {i}": i for i in range(JTP_TAGS)}))
    return folder


def model_folder(arch: str, workdir: Path) -> Path:
    if arch == "joytag":
        return write_random_full_size_model(workdir / "model-full-size")
    if arch == "jtp":
        return write_jtp(workdir / "jtp-pilot2-full-size")
    return write_wd(workdir / f"{arch}-full-size", arch)


def make_engine(folder: Path, runtime: str, precision: str, network: torch.nn.Module | None) -> TaggingEngine:
    if runtime == "torch-autocast":
        assert network is not None, "torch-autocast runs the network built for it"
        engine = TaggingEngine(folder, device="cpu", precision="float32", runtime="torch", batch_size=4)
        engine.runner = TorchRunner(network, torch.device("cpu"), torch.bfloat16, cast_weights=False)
        return engine
    return TaggingEngine(folder, device="cpu", precision=precision, runtime=runtime, batch_size=4)


def inputs(engine: TaggingEngine) -> torch.Tensor:
    tagger = engine.tagger
    return torch.stack(
        [torch.from_numpy(tagger.family.reference_input(tagger, engine.route, open_image(p, flatten=False)))
         for p in PHOTOS]
    )  # fmt: skip


def configurations(toy: bool = False) -> tuple[list[tuple[str, str, str]], str]:
    """The configurations worth timing on this CPU, and the baseline the speed-ups are against.

    Without native bf16 (AVX2-only CPUs), bf16 is emulated by PyTorch and OpenVINO runs it in
    float32, so those rows are left out and the baseline is float32 PyTorch, that CPU's old default.
    """
    configs = [c for c in CONFIGS if c[2] != "int8"] if toy else CONFIGS  # int8: a minute of calibration
    if cpu_has_fast_bf16():
        return configs, "torch bf16 autocast"
    return [c for c in configs if c[2] != "bfloat16"], "torch float32"


def run_arch(arch: str, workdir: Path, rounds: int, toy: bool = False) -> dict:
    folder = TOY_MODEL if toy else model_folder(arch, workdir)
    tagger = recognise(folder)
    network = tagger.family.build_network(tagger)
    engines, setup = {}, {}
    configs, baseline = configurations(toy)
    for label, runtime, precision in configs:
        start = time.perf_counter()
        try:
            engines[label] = make_engine(folder, runtime, precision, network)
        except Exception as exc:  # noqa: BLE001 - report and carry on with the others
            print(f"  {label}: cannot run ({type(exc).__name__}: {exc})", flush=True)
            continue
        setup[label] = time.perf_counter() - start
    photos = inputs(next(iter(engines.values())))
    reference = engines["torch float32"].predict(photos)[0]
    drift = {label: float(np.abs(e.predict(photos)[0] - reference).max()) for label, e in engines.items()}
    timings: dict[tuple[str, int], list[float]] = {(label, b): [] for label in engines for b in (1, 4)}
    for _ in range(rounds):
        for label, engine in engines.items():
            for batch in (1, 4):
                start = time.perf_counter()
                engine.predict(photos[:batch])
                timings[label, batch].append(time.perf_counter() - start)
    rows = {}
    base = {b: b / statistics.median(timings[baseline, b]) for b in (1, 4)}
    for label in engines:
        speeds = {b: b / statistics.median(timings[label, b]) for b in (1, 4)}
        rows[label] = {
            "batch1_images_per_s": round(speeds[1], 3),
            "batch4_images_per_s": round(speeds[4], 3),
            "batch1_vs_old_default": round(speeds[1] / base[1], 2),
            "batch4_vs_old_default": round(speeds[4] / base[4], 2),
            "max_drift": float(f"{drift[label]:.2g}"),
            "setup_s": round(setup[label], 1),
        }
        print(
            f"  {label:22s} batch 1 {speeds[1]:6.2f}/s ({speeds[1] / base[1]:4.2f}x)   batch 4 {speeds[4]:6.2f}/s "
            f"({speeds[4] / base[4]:4.2f}x)   drift {drift[label]:.4f}   setup {setup[label]:.0f} s",
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--arch", nargs="+", default=["joytag", "wd-vit", "wd-swinv2", "wd-convnext", "jtp"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "joytag-bench")
    parser.add_argument("--json", action="store_true", help="end with one JSON object of all figures")
    parser.add_argument("--toy", action="store_true", help="the tiny fixture model, float32 and bf16, one round")
    args = parser.parse_args()
    if args.toy:
        args.arch, args.rounds = ["joytag"], 1
    print(f"machine: {machine()}; native bf16: {cpu_has_fast_bf16()}, VNNI: {cpu_has_vnni()}", flush=True)
    results = {}
    for arch in args.arch:
        print(f"{arch}: (images/s; in brackets: vs {configurations()[1]}, the old CPU default here)", flush=True)
        results[arch] = run_arch(arch, args.workdir, args.rounds, args.toy)
    if args.json:
        flags = {"bf16": cpu_has_fast_bf16(), "vnni": cpu_has_vnni()}
        print(json.dumps({"machine": machine(), "cpu": flags, "architectures": results}))


if __name__ == "__main__":
    main()
