"""CPU speed of the PixAI tagger v0.9 (EVA02-Large/14, 448 px, 13,461 tags) beside JoyTag's, in one run.

    python benchmarks/bench_pixai.py [--rounds 2] [--workdir DIR] [--json] [--toy]

PixAI runs only as deepghs' ONNX export, so its full-size graph is rebuilt here with random weights:
timm ``eva02_large_patch14_448`` without classifier (the encoder tests/fixtures/pixai-format/released
lists) + ``Linear(1024, 13461)``, exported as deepghs' wrapper is (outputs ``embedding``, ``logits``,
``prediction``), in the ONNX layout with a 13,461-row selected_tags.csv (built once under --workdir,
1.3 GB). JoyTag is common.py's full-size random model. Each runs as the app runs it on this CPU
(runtime and precision ``auto``), and both on onnxruntime float32 (the four engines hold about
11.5 GB; with OpenVINO float32 ones beside them the run was killed for memory); batch 1 and
batch 4 on the fixture photos, configurations interleaved within every round so a noisy neighbour
slows them alike. ``--toy``: the tiny fixtures, one round (for the test that keeps
this script working; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from common import machine, write_random_full_size_model
from joytag_desktop.inference.engine import TaggingEngine
from joytag_desktop.media.imaging import open_image

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests/fixtures/pixai-format/pixai-tiny-a"
TOY_JOYTAG = ROOT / "tests/fixtures/joytag-format/tiny-released-shape"
PHOTOS = sorted((ROOT / "tests/fixtures/pixai-format/images").glob("*.png"))[:4]
TAGS, GENERAL_TAGS = 13461, 12000  # the head's rows (released listing); the split is made up
CONFIGS = [  # (model, label, runtime, precision)
    ("pixai", "auto (the app's choice)", "auto", "auto"),
    ("pixai", "onnxruntime float32", "onnxruntime", "float32"),
    ("joytag", "auto (the app's choice)", "auto", "auto"),
    ("joytag", "onnxruntime float32", "onnxruntime", "float32"),
]


def write_pixai(folder: Path) -> Path:
    """The full-size PixAI ONNX layout with random weights (kept: the export takes minutes)."""
    import timm

    if (folder / "model.onnx").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    encoder = timm.create_model("eva02_large_patch14_448", pretrained=False, num_classes=0).eval()
    head = torch.nn.Linear(1024, TAGS).eval()  # EVA02-Large's width: its pooled features

    class Wrapped(torch.nn.Module):  # deepghs' wrapper: (features, logits, sigmoid(logits))
        def __init__(self) -> None:
            super().__init__()
            self.enc, self.head = encoder, head

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            features = self.enc(x)
            logits = self.head(features)
            return features, logits, torch.sigmoid(logits)

    partial = folder / "model.onnx.partial"
    with torch.no_grad():
        torch.onnx.export(
            Wrapped().eval().requires_grad_(False), (torch.zeros(1, 3, 448, 448),), str(partial),
            dynamo=False, opset_version=14,
            input_names=["input"], output_names=["embedding", "logits", "prediction"],
            dynamic_axes={name: {0: "batch_size"} for name in ("input", "embedding", "logits", "prediction")},
        )  # fmt: skip
    for name in ("categories.json", "preprocess.json", "thresholds.csv"):
        shutil.copy(FIXTURE / name, folder / name)
    with open(folder / "selected_tags.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "tag_id", "name", "category", "count", "ips"])
        for i in range(TAGS):
            character = i >= GENERAL_TAGS
            ips = json.dumps([f"series_{i % 500}"]) if character else "[]"
            writer.writerow([i, i, f"tag_{i}", 4 if character else 0, 0, ips])
    partial.replace(folder / "model.onnx")
    return folder


def engines(workdir: Path, toy: bool) -> dict[tuple[str, str], TaggingEngine]:
    folders = {
        "pixai": FIXTURE if toy else write_pixai(workdir / "pixai-v0.9-full-size"),
        "joytag": TOY_JOYTAG if toy else write_random_full_size_model(workdir / "model-full-size"),
    }
    made = {}
    for model, label, runtime, precision in CONFIGS:
        try:
            made[model, label] = TaggingEngine(
                folders[model], device="cpu", runtime=runtime, precision=precision, batch_size=4
            )
        except Exception as exc:  # noqa: BLE001 - report and carry on with the others
            print(f"  {model} {label}: cannot run ({type(exc).__name__}: {exc})", flush=True)
    return made


def inputs(engine: TaggingEngine) -> torch.Tensor:
    tagger = engine.tagger
    return torch.stack(
        [torch.from_numpy(tagger.family.reference_input(tagger, engine.route, open_image(p, flatten=False)))
         for p in PHOTOS]
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "joytag-bench")
    parser.add_argument("--json", action="store_true", help="end with one JSON object of all figures")
    parser.add_argument("--toy", action="store_true", help="the tiny fixture models, one round")
    args = parser.parse_args()
    rounds = 1 if args.toy else args.rounds
    print(f"machine: {machine()}", flush=True)
    made = engines(args.workdir, args.toy)
    batches = {key: inputs(engine) for key, engine in made.items()}
    for key, engine in made.items():
        engine.predict(batches[key][:1])  # first call: allocation, graph optimisation
    timings: dict[tuple[str, str, int], list[float]] = {(*key, b): [] for key in made for b in (1, 4)}
    for _ in range(rounds):
        for key, engine in made.items():
            for batch in (1, 4):
                start = time.perf_counter()
                engine.predict(batches[key][:batch])
                timings[(*key, batch)].append(time.perf_counter() - start)
    results: dict[str, dict[str, dict[str, object]]] = {}
    for (model, label), engine in made.items():
        speeds = {b: b / statistics.median(timings[model, label, b]) for b in (1, 4)}
        results.setdefault(model, {})[label] = {
            "runs": engine.describe(),
            "batch1_images_per_s": round(speeds[1], 3),
            "batch4_images_per_s": round(speeds[4], 3),
        }
        print(f"  {model:6s} {label:24s} batch 1 {speeds[1]:6.3f}/s   batch 4 {speeds[4]:6.3f}/s   "
              f"({engine.describe()})", flush=True)  # fmt: skip
    if args.json:
        print(json.dumps({"machine": machine(), "rounds": rounds, "models": results}))


if __name__ == "__main__":
    main()
