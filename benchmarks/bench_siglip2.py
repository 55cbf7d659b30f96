"""Images/s of SigLIP2 image embedding beside JoyTag's tagging on this machine, in one run.

    python benchmarks/bench_siglip2.py [--images 8] [--rounds 2] [--arch base so400m] [--workdir DIR]

Full-size vision towers with random weights in transformers' layout (``SiglipModel`` names):
SigLIP2 B/16 at 224 px and SO400M/16 at 384 px, beside JoyTag (ViT-B/16, 448 px). Their text towers
have the real width and depth but a 512-token vocabulary (the 256,000-token embedding table only
costs memory, not compute), which keeps the files small; the time of one query's encoding is
reported too. PyTorch float32, batch 4, reference preprocessing; the models take turns within each
round so a noisy neighbour slows them alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

from common import machine, write_photos, write_random_full_size_model
from joytag_desktop.inference.engine import TaggingEngine
from joytag_desktop.inference.text_encoder import TextEncoder
from joytag_desktop.taggers import recognise
from joytag_desktop.taggers.siglip2_network import TextTower, VisionTower, tower_cfg

ROOT = Path(__file__).resolve().parents[1]
TOKENIZER = ROOT / "tests/fixtures/siglip2-format/siglip2-tiny-a"
SHAPES = {  # vision (width, layers, heads, mlp, size), text (width, layers, heads, mlp)
    "base": ((768, 12, 12, 3072, 224), (768, 12, 12, 3072)),
    "so400m": ((1152, 27, 16, 4304, 384), (1152, 27, 16, 4304)),
}


def write_siglip2(folder: Path, arch: str) -> Path:
    if (folder / "model.safetensors").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    (vw, vl, vh, vm, size), (tw, tl, th, tm) = SHAPES[arch]
    vision = {"hidden_size": vw, "num_hidden_layers": vl, "num_attention_heads": vh, "intermediate_size": vm,
              "image_size": size, "patch_size": 16}  # fmt: skip
    text = {"hidden_size": tw, "num_hidden_layers": tl, "num_attention_heads": th, "intermediate_size": tm,
            "vocab_size": 513, "max_position_embeddings": 64, "projection_size": vw}  # fmt: skip
    torch.manual_seed(0)
    state = {f"vision_model.{k}": v for k, v in VisionTower(tower_cfg(vision), size, 16).state_dict().items()}
    tower = TextTower(tower_cfg(text), 513, 64, vw)
    state |= {f"text_model.{k}": v for k, v in tower.state_dict().items()}
    state |= {"logit_scale": torch.zeros(1), "logit_bias": torch.zeros(1)}
    save_file({k: v.contiguous() for k, v in state.items()}, folder / "model.safetensors")
    config = {"model_type": "siglip", "vision_config": vision, "text_config": text}
    (folder / "config.json").write_text(json.dumps(config))
    processor = json.loads((TOKENIZER / "preprocessor_config.json").read_text())
    processor["size"] = {"height": size, "width": size}
    (folder / "preprocessor_config.json").write_text(json.dumps(processor))
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (folder / name).write_bytes((TOKENIZER / name).read_bytes())
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--arch", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "joytag-bench-siglip2")
    args = parser.parse_args()
    photos = write_photos(args.workdir / "photos", args.images, (1600, 1200))
    folders = {"joytag (ViT-B/16, 448)": write_random_full_size_model(args.workdir / "joytag")}
    for arch in args.arch:
        size = SHAPES[arch][0][4]
        folders[f"siglip2 {arch} ({size})"] = write_siglip2(args.workdir / f"siglip2-{arch}", arch)
    engines = {
        label: TaggingEngine(folder, device="cpu", batch_size=4, precision="float32", runtime="torch",
                             preprocessing="reference")
        for label, folder in folders.items()
    }  # fmt: skip
    times: dict[str, list[float]] = {label: [] for label in engines}
    for engine in engines.values():  # warm-up
        list(engine.tag_paths(photos[:4]))
    for _ in range(args.rounds):
        for label, engine in engines.items():
            started = time.perf_counter()
            results = list(engine.tag_paths(photos))
            times[label].append(time.perf_counter() - started)
            assert all(r.ok for r in results)
    print(f"# {machine()}")
    for label, seconds in times.items():
        print(f"{label:28s} {args.images / statistics.median(seconds):6.2f} images/s (float32, batch 4)")
    for arch in args.arch:
        encoder = TextEncoder(recognise(args.workdir / f"siglip2-{arch}"))
        encoder.encode(["warm up"])
        started = time.perf_counter()
        for query in ("a dog on a beach at sunset", "一只猫", "Regenschirm"):
            encoder.encode([query])
        print(f"siglip2 {arch} text query   {(time.perf_counter() - started) / 3 * 1000:6.0f} ms per query")


if __name__ == "__main__":
    main()
