"""One run on a GPU machine that tells what works there and how fast: made for a machine that has
never run this code, with no network and nothing installed beyond torch, torchvision, timm,
onnxruntime, pillow, numpy and safetensors.

    python benchmarks/gpu_check.py [--model DIR] [--device auto|cuda|cpu] [--images 256] [--quick]

It builds JoyTag's real network at full size (ViT-B/16, 448 px, 5,813 tags, 91.5 M parameters)
with random weights (or loads ``--model DIR``, a real model folder), makes 12 MP JPEGs on the fly,
and measures, in this order, each step on its own so that one failure never hides the rest:

- ``model_only_images_per_s``: the engine's default runtime and precision on a batch already on the device;
- ``end_to_end_images_per_s``: ``TaggingEngine.tag_paths`` on the JPEGs (read, GPU decoding with
  ``torchvision.io.decode_jpeg(device='cuda')`` where the engine uses it, pad, resize, network, scores);
- ``with_store_images_per_s``: the same JPEGs indexed into a temporary SQLite library and tagged by
  the app's ``TaggingWorker`` (claims, leases, the real store path); needs SQLAlchemy and the other
  library packages: without them the step is skipped with a note (docs/gpu-check.md says how to carry them);
- ``reference_loop_images_per_s``: the published JoyTag script's loop: one image at a time, Pillow
  at full resolution, the reference preprocessing, a batch of one.

Progress goes to stderr; stdout gets one JSON object, also when steps failed (``failed`` maps each to
its one-line error) or the time ran out (``--budget-s``, default 420 s; a watchdog prints what was
measured so far if a step hangs). ``device``, ``runtime`` and ``precision`` say what actually ran;
``cuda_not_used`` says why CUDA was not used when it was wanted. ``--device cpu --quick`` runs a toy
network on a few small JPEGs (tests/test_benchmarks.py); ``--bare`` hides the packages a GPU machine
lacks, to prove the check runs there.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIXTURES = ROOT / "tests" / "fixtures" / "joytag-format"
# The project's packages beyond torch, torchvision, timm, onnxruntime, pillow, numpy and safetensors
# (and what those bring): a GPU machine may have none of them.
EXTRA_PACKAGES = (
    "sqlalchemy", "alembic", "pyroaring", "usearch", "imagehash", "send2trash", "psycopg", "watchdog",
    "exifread", "rawpy", "defusedxml", "platformdirs", "pillow_heif", "onnx", "openvino", "nncf", "PySide6",
)  # fmt: skip
# What indexing and the worker's store path import (the run's ``extra_packages_used`` on a machine with all).
LIBRARY_PACKAGES = ("sqlalchemy", "alembic", "pyroaring", "exifread", "defusedxml")


MAIN_KEYS = (
    "device",
    "model_only_images_per_s",
    "end_to_end_images_per_s",
    "with_store_images_per_s",
    "reference_loop_images_per_s",
)


def hide_extra_packages() -> None:
    """``--bare``: the packages a GPU machine lacks look absent, as there (``import`` fails and
    ``importlib.util.find_spec`` answers None)."""
    for name in EXTRA_PACKAGES:
        sys.modules[name] = None  # type: ignore[assignment]


def one_line(exc: BaseException) -> str:
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {text}"[:300]


def say(text: str) -> None:
    print(f"[gpu_check {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


class Check:
    """The JSON being filled in, step by step; each step's failure is recorded, never raised."""

    def __init__(self, budget_s: float) -> None:
        self.started = time.perf_counter()
        self.budget_s = budget_s
        self.out: dict[str, Any] = dict.fromkeys(MAIN_KEYS) | {
            "failed": {},
            "skipped": {},
            "step_seconds": {},
        }
        self.current = "start"
        self.lock = threading.Lock()
        self.printed = False

    def left(self) -> float:
        return self.budget_s - (time.perf_counter() - self.started)

    def step(self, name: str, action: Callable[[], Any], needs_s: float = 0.0) -> Any:
        """Run ``action``; on an exception record its one line under ``failed`` and return None."""
        if self.left() < needs_s:
            self.out["skipped"][name] = f"time budget: {max(0.0, self.left()):.0f} s left of {self.budget_s:.0f}"
            say(f"{name}: skipped ({self.out['skipped'][name]})")
            return None
        self.current = name
        say(f"{name} …")
        begun = time.perf_counter()
        try:
            return action()
        except Exception as exc:  # noqa: BLE001 - the point is to carry on and report
            self.out["failed"][name] = one_line(exc)
            say(f"{name}: FAILED: {one_line(exc)}")
            return None
        finally:
            self.out["step_seconds"][name] = round(time.perf_counter() - begun, 2)
            # Should the process die outright (a crash in a CUDA library), stderr keeps the figures so far.
            say("so far: " + json.dumps({key: self.out.get(key) for key in MAIN_KEYS} | {"failed": self.out["failed"]}))

    def skip(self, name: str, why: str) -> None:
        self.out["skipped"][name] = why
        say(f"{name}: skipped ({why})")

    def print(self, timed_out: bool = False) -> None:
        with self.lock:
            if self.printed:
                return
            self.printed = True
            if timed_out:
                self.out["failed"][self.current] = f"timed out: still running after {self.budget_s + 60:.0f} s"
            self.out["total_seconds"] = round(time.perf_counter() - self.started, 1)
            # What of the project's other packages the run needed: what must travel to a GPU machine.
            self.out["extra_packages_used"] = sorted(name for name in EXTRA_PACKAGES if sys.modules.get(name))
            print(json.dumps(self.out), flush=True)


# --- the model ---------------------------------------------------------------------------------------


def write_random_model(folder: Path, config: dict, seed: int = 0) -> Path:
    """A model folder in the published format (config.json, model.safetensors, top_tags.txt), random weights."""
    import torch
    from safetensors.torch import save_file

    from joytag_desktop.taggers.joytag.config import ViTConfig
    from joytag_desktop.taggers.joytag.network import JoyTagViT

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    network = JoyTagViT(ViTConfig.from_dict(config))
    save_file({k: v.contiguous() for k, v in network.state_dict().items()}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "top_tags.txt").write_text("\n".join(f"tag_{i}" for i in range(config["n_tags"])))
    return folder


def model_config(quick: bool) -> dict:
    """The released config (full size), or the tiny fixture's (``--quick``)."""
    if quick:
        return json.loads((FIXTURES / "tiny-released-shape" / "config.json").read_text())
    return json.loads((FIXTURES / "released-state-dict.json").read_text())["config"]


# --- the steps ---------------------------------------------------------------------------------------


def environment(check: Check, device_asked: str) -> Any:
    """What this machine is, and the device the check will use (CUDA wanted but not usable: said why)."""
    import torch

    from joytag_desktop.inference.device import choose_device, cuda_state, describe_device

    device, missed = choose_device(device_asked)
    state = cuda_state()
    out = check.out
    out["device_asked"] = device_asked
    out["device"] = describe_device(device)
    if missed:
        out["cuda_not_used"] = missed
        say(f"NOTE: {missed}")
    gpu: dict[str, Any] = {"available": state.available, "reason": state.reason or None}
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        gpu |= {
            "name": properties.name,
            "capability": f"{properties.major}.{properties.minor}",
            "memory_gib": round(properties.total_memory / 2**30, 1),
            "bf16": torch.cuda.is_bf16_supported(),
            "cudnn": torch.backends.cudnn.version(),
        }
    out["cuda"] = gpu
    out["versions"] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
    }
    for name in ("torchvision", "timm", "onnxruntime", "PIL", "numpy", "safetensors"):
        try:
            module = __import__(name)
            out["versions"][name] = getattr(module, "__version__", "?")
        except ImportError as exc:
            out["versions"][name] = f"missing: {one_line(exc)}"
    with contextlib.suppress(Exception):
        import onnxruntime

        out["onnxruntime_providers"] = onnxruntime.get_available_providers()
    from joytag_desktop.inference.device import has_module

    out["missing_packages"] = [name for name in EXTRA_PACKAGES if not has_module(name)]
    out["cpu"] = next(
        (line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")), platform.machine()
    )
    out["cpu_cores"] = os.cpu_count()
    return device


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def photos_for(folder: Path, count: int, size: tuple[int, int]) -> list[Path]:
    from joytag_desktop.inference.measure import synthetic_photos

    return synthetic_photos(folder, count, size)


def model_only(engine: Any, batch_size: int | None, seconds: float) -> float:
    from joytag_desktop.inference.measure import model_only

    return model_only(engine, batch_size, seconds)


def load_engine(check: Check, folder: Path, device: Any, batch_size: int | None) -> Any:
    from joytag_desktop.inference.engine import TaggingEngine

    begun = time.perf_counter()
    engine = TaggingEngine(folder, device=str(device), batch_size=batch_size)
    if engine.device.type == "cuda":
        import torch

        torch.cuda.synchronize()
    network = getattr(engine.runner, "network", None)
    check.out |= {
        "runtime": engine.runtime,
        "precision": engine.runner.precision,
        "batch_size": engine.batch_size,
        "engine": engine.describe(),
        "gpu_decoding": engine.device_decode,
        "model_load_s": round(time.perf_counter() - begun, 2),
    }
    if network is not None:
        check.out["parameters_m"] = round(sum(p.numel() for p in network.parameters()) / 1e6, 2)
    return engine


def float32_and_parity(check: Check, engine: Any, folder: Path) -> None:
    """The same network in float32 on the same device (what the default precision gains), and the
    default's scores against float32 on the CPU for the same inputs (what it costs)."""
    import numpy as np
    import torch

    from joytag_desktop.inference.runners import TorchRunner

    tagger = engine.tagger
    size = engine.image_size
    batch = torch.randn(4, 3, size, size, generator=torch.Generator().manual_seed(1))
    cpu = TorchRunner(tagger.family.build_network(tagger), torch.device("cpu"), torch.float32)
    reference, _ = cpu.predict(batch)
    scores, _ = engine.predict(batch)
    check.out["max_score_diff_vs_cpu_float32"] = round(float(np.abs(scores - reference).max()), 5)
    if engine.device.type == "cuda" and engine.runtime == "torch":
        del cpu
        fp32 = TorchRunner(tagger.family.build_network(tagger), engine.device, torch.float32)
        check.out["model_only_float32_images_per_s"] = round(
            model_only(_RunnerEngine(fp32, engine), engine.batch_size, 5.0), 1
        )
        del fp32
        torch.cuda.empty_cache()


class _RunnerEngine:
    """Just enough of an engine for ``model_only`` around another runner."""

    def __init__(self, runner: Any, engine: Any) -> None:
        self.runner, self.device, self.image_size = runner, engine.device, engine.image_size

    def predict(self, batch: Any) -> Any:
        return self.runner.predict(batch)


def batch_sizes(check: Check, engine: Any) -> None:
    """Model-only images/s at other batch sizes (a GPU may want bigger batches than the default)."""
    figures = {}
    for size in (16, 128, 256):
        try:
            figures[str(size)] = round(model_only(engine, size, 2.0), 1)
        except Exception as exc:  # noqa: BLE001 - e.g. out of memory: say so and stop growing
            figures[str(size)] = one_line(exc)
            break
    check.out["model_only_by_batch"] = figures


def end_to_end(check: Check, engine: Any, photos: list[Path]) -> float:
    from joytag_desktop.inference.measure import decoding, end_to_end

    run = end_to_end(engine, photos)
    check.out["end_to_end"] = {
        "images": run.images,
        "failed": run.failed,
        "decoding": decoding(engine),
        "first_error": run.first_error,
    }
    if run.failed == run.images:
        raise RuntimeError(f"every image failed: {run.first_error}")
    return run.images_per_s


def gpu_decoding(engine: Any, photos: list[Path]) -> float:
    """nvJPEG alone: images/s of ``decode_jpeg(device='cuda')`` on a batch of the JPEGs already in memory."""
    import torch

    from joytag_desktop.inference.decode import EncodedJpeg, decode_jpegs

    items = [EncodedJpeg(torch.frombuffer(bytearray(p.read_bytes()), dtype=torch.uint8)) for p in photos]
    items = items[: engine.batch_size]
    decoded = decode_jpegs(items, engine.device)  # warm-up
    failed = [d for d in decoded if isinstance(d, str)]
    if failed:
        raise RuntimeError(failed[0])
    torch.cuda.synchronize()
    timings = []
    for _ in range(3):
        begun = time.perf_counter()
        decode_jpegs(items, engine.device)
        torch.cuda.synchronize()
        timings.append(time.perf_counter() - begun)
    return len(items) / statistics.median(timings)


def with_store(check: Check, folder: Path, device: Any, batch_size: int, photo_dir: Path, work: Path) -> float:
    """The app's TaggingWorker on a temporary SQLite library holding the photos (indexed first)."""
    import torch

    from joytag_desktop.library import Library
    from joytag_desktop.worker.worker import TaggingWorker, WorkerSettings

    threads = torch.get_num_threads()
    finished = threading.Event()
    reports: list[Any] = []
    errors: list[str] = []

    class Listener:
        def worker_state(self, state: Any, detail: str) -> None:
            pass

        def worker_progress(self, progress: Any) -> None:
            pass

        def worker_error(self, message: str) -> None:
            errors.append(message)
            finished.set()

        def worker_finished(self, report: Any) -> None:
            reports.append(report)
            finished.set()

    library = Library(work / "library.sqlite3")
    try:
        begun = time.perf_counter()
        library.add_folder(photo_dir, watched=False)
        report = library.scan()
        check.out["with_store_index"] = {
            "images": report.added,
            "seconds": round(time.perf_counter() - begun, 2),
        }
        worker = TaggingWorker(library, WorkerSettings(str(folder), str(device), batch_size), Listener())
        worker.start()
        try:
            if not finished.wait(max(10.0, check.left())):
                raise TimeoutError("the worker did not finish within the time budget")
        finally:
            worker.stop()
        if errors:
            raise RuntimeError(errors[0])
        done = reports[0]
        counts = library.count_by_status()
        check.out["with_store"] = {
            "tagged": done.tagged,
            "failed": done.failed,
            "seconds": round(done.seconds, 2),
            "library_counts": counts,
            "worker_device": worker.device_name,
        }
        if not done.tagged:
            raise RuntimeError(f"the worker tagged nothing ({done.failed} failed)")
        return done.tagged / done.seconds
    finally:
        library.close()
        torch.set_num_threads(threads)  # the worker's CPU setting must not bend the next step


def reference_loop(check: Check, engine: Any, photos: list[Path], seconds: float) -> float:
    """The published script's loop: Pillow at full resolution, reference preprocessing, batch of one."""
    from PIL import Image

    from joytag_desktop.taggers.joytag.preprocess import reference_tensor

    def one(path: Path) -> None:
        with Image.open(path) as image:
            engine.predict(reference_tensor(image.convert("RGB"), engine.image_size)[None])

    one(photos[0])  # warm-up
    done, begun = 0, time.perf_counter()
    for path in photos:
        one(path)
        done += 1
        if time.perf_counter() - begun > seconds and done >= 3:
            break
    elapsed = time.perf_counter() - begun
    check.out["reference_loop"] = {"images": done, "batch_size": 1, "runner": engine.runner.describe()}
    return done / elapsed


# --- the run -----------------------------------------------------------------------------------------


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", type=Path, help="a real model folder (default: full-size JoyTag, random weights)")
    parser.add_argument("--device", default="auto", help="auto (default), cuda or cpu")
    parser.add_argument("--images", type=int, help="JPEGs for the end-to-end runs (default 256; --quick 8)")
    parser.add_argument("--photo-size", help="WxH of the JPEGs (default 4000x3000, 12 MP; --quick 800x600)")
    parser.add_argument("--batch-size", type=int, help="images per batch (default: the engine's, 64 on CUDA)")
    parser.add_argument("--budget-s", type=float, default=420.0, help="stop starting steps after this (default 420)")
    parser.add_argument("--workdir", type=Path, help="where the temporary folder goes")
    parser.add_argument("--deps", type=Path, help="a folder of extra packages to import from (default ./gpu-deps)")
    parser.add_argument("--quick", action="store_true", help="a toy network on a few small JPEGs (a smoke test)")
    parser.add_argument("--bare", action="store_true", help="hide the packages a GPU machine lacks (tests)")
    return parser.parse_args()


def main() -> int:
    args = parse()
    faulthandler.enable()  # a crash inside a native library still says where, on stderr
    if args.bare:
        hide_extra_packages()
    deps = args.deps or ROOT / "gpu-deps"
    if deps.is_dir():
        sys.path.append(str(deps))  # after the machine's own packages: torch stays the machine's
    sys.path.insert(0, str(ROOT))
    count = args.images or (8 if args.quick else 256)
    width, height = map(int, (args.photo_size or ("800x600" if args.quick else "4000x3000")).lower().split("x"))
    check = Check(args.budget_s)
    check.out |= {"quick": args.quick, "photos": f"{count} JPEGs of {width}x{height}"}
    watchdog = threading.Timer(args.budget_s + 60, lambda: (check.print(timed_out=True), os._exit(3)))
    watchdog.daemon = True
    watchdog.start()
    with tempfile.TemporaryDirectory(prefix="gpu-check-", dir=args.workdir) as temporary:
        work = Path(temporary)
        # The app's data folder (converted models, thumbnails) stays in the temporary folder.
        os.environ.setdefault("JOYTAG_DESKTOP_HOME", str(work / "home"))
        device = check.step("environment", lambda: environment(check, args.device))
        if device is None:
            check.print()
            return 0
        folder = args.model
        if folder is None:
            folder = check.step("random_model", lambda: write_random_model(work / "model", model_config(args.quick)))
            check.out["model"] = "JoyTag architecture, random weights, " + ("toy size" if args.quick else "full size")
        else:
            check.out["model"] = str(folder)
        engine = folder and check.step("model_load", lambda: load_engine(check, folder, device, args.batch_size))
        photo_dir = work / "photos"
        photos = check.step("photos", lambda: photos_for(photo_dir, count, (width, height)))
        if photos:
            sizes = [p.stat().st_size for p in photos]
            check.out["photo_mb"] = round(statistics.mean(sizes) / 1e6, 2)
        if engine is not None:
            rate = check.step("model_only", lambda: model_only(engine, None, 3.0 if args.quick else 10.0))
            check.out["model_only_images_per_s"] = rate and round(rate, 1)
            check.step("float32_and_parity", lambda: float32_and_parity(check, engine, folder), needs_s=30)
            if engine.device.type == "cuda":
                check.step("batch_sizes", lambda: batch_sizes(check, engine), needs_s=30)
            if photos and engine.device_decode:
                rate = check.step("gpu_decoding", lambda: gpu_decoding(engine, photos), needs_s=20)
                check.out["gpu_decoding_images_per_s"] = rate and round(rate, 1)
            if photos:
                rate = check.step("end_to_end", lambda: end_to_end(check, engine, photos), needs_s=20)
                check.out["end_to_end_images_per_s"] = rate and round(rate, 1)
        if photos and folder is not None:
            missing = [name for name in LIBRARY_PACKAGES if name in check.out.get("missing_packages", [])]
            if missing:
                check.skip(
                    "with_store",
                    f"needs {', '.join(missing)}: carry them in ./gpu-deps (docs/gpu-check.md), or pip install them",
                )
            else:
                batch = engine.batch_size if engine is not None else 4
                rate = check.step(
                    "with_store", lambda: with_store(check, folder, device, batch, photo_dir, work), needs_s=40
                )
                check.out["with_store_images_per_s"] = rate and round(rate, 1)
        if engine is not None and photos:
            seconds = 5.0 if args.quick else 20.0
            rate = check.step("reference_loop", lambda: reference_loop(check, engine, photos, seconds))
            check.out["reference_loop_images_per_s"] = rate and round(rate, 2)
            if rate and check.out["end_to_end_images_per_s"]:
                check.out["end_to_end_vs_reference"] = round(check.out["end_to_end_images_per_s"] / rate, 1)
        watchdog.cancel()
        check.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
