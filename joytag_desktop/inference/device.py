"""Where and how precisely a network runs: the device, the precision, what this CPU computes fast.

Also the one place that asks whether an optional runtime is installed.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from joytag_desktop.errors import JoyTagError

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "float32", "bfloat16", "float16", "int8")


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a broken or blocked install counts as missing
        return False


def resolve_device(requested: str = "auto") -> torch.device:
    """``auto`` is CUDA when a GPU is usable, else the CPU; ``cuda`` without a GPU is an error."""
    if requested not in DEVICES and not requested.startswith("cuda:"):
        raise JoyTagError(f"unknown device {requested!r}: use auto, cpu or cuda")
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        why = cuda_state().reason
        raise JoyTagError(f"--device cuda was asked for, but PyTorch sees no CUDA GPU here: {why} (use --device cpu)")
    return torch.device(requested)


@dataclass(frozen=True)
class CudaState:
    """Whether CUDA can be used here, and if not why, in words a user can act on."""

    available: bool
    reason: str = ""  # why not ("" when available)
    gpu_present: bool = False  # an NVIDIA driver or GPU is visible to the system, usable or not


def _nvidia_present() -> bool:
    """An NVIDIA GPU or driver the system shows, whatever PyTorch makes of it."""
    if Path("/proc/driver/nvidia/version").exists() or any(Path("/dev").glob("nvidia[0-9]*")):
        return True
    if sys.platform == "win32":
        import shutil

        return shutil.which("nvidia-smi") is not None
    return False


def _first_sentence(text: str) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    sentence = line.split(". ")[0].rstrip(".")
    return sentence[:1].lower() + sentence[1:] if sentence[:2] != sentence[:2].upper() else sentence


def cuda_state() -> CudaState:
    """Can CUDA run here? If not, the first reason a user would want to know (a CPU-only PyTorch
    build, GPUs hidden by CUDA_VISIBLE_DEVICES, a missing or too old driver)."""
    if torch.cuda.is_available():
        return CudaState(True, "", True)
    present = _nvidia_present()
    hidden = os.environ.get("CUDA_VISIBLE_DEVICES")
    if torch.version.cuda is None:
        reason = f"this PyTorch ({torch.__version__}) is a CPU-only build: install its CUDA build"
    elif hidden is not None and hidden.strip() in ("", "-1"):
        reason = "CUDA_VISIBLE_DEVICES hides every GPU"
    else:
        try:
            torch.cuda.init()
            reason = "PyTorch sees no CUDA GPU"
        except Exception as exc:  # noqa: BLE001 - torch's own words for what is wrong are the reason
            reason = _first_sentence(str(exc)) or "PyTorch sees no CUDA GPU"
    return CudaState(False, reason, present)


def choose_device(requested: str = "auto") -> tuple[torch.device, str]:
    """The device to run on, and where CUDA was wanted but cannot be used the plain sentence
    saying so ("" otherwise): never an error, so a worker runs on the CPU and says why.

    CUDA is wanted when asked for by name, or with ``auto`` on a machine that shows an NVIDIA GPU
    (a GPU left idle by a CPU-only PyTorch is what users of taggers complain of most)."""
    if requested not in DEVICES and not requested.startswith("cuda:"):
        raise JoyTagError(f"unknown device {requested!r}: use auto, cpu or cuda")
    if requested == "cpu":
        return torch.device("cpu"), ""
    state = cuda_state()
    if state.available:
        return torch.device("cuda" if requested == "auto" else requested), ""
    if requested == "auto":
        if not state.gpu_present:
            return torch.device("cpu"), ""
        return torch.device("cpu"), f"{GPU_IDLE}: {state.reason}"
    return torch.device("cpu"), f"{CUDA_MISSING}: {state.reason}"


# The openings of ``choose_device``'s sentences (the window recognises them to translate them).
CUDA_MISSING = "CUDA was asked for but is not available"
GPU_IDLE = "an NVIDIA GPU is here but CUDA is not available"


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX), as oneDNN reports it."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def cpu_has_vnni() -> bool:
    """Whether this CPU has VNNI int8 dot products (AVX512-VNNI or AVX-VNNI).

    Without them, int8 kernels multiply uint8 activations by int8 weights with AVX2's
    ``vpmaddubsw``, whose 16-bit sums saturate: full 8-bit weights then lose whole terms
    (score errors of 0.1-0.2 measured on an AVX2-only EPYC), so quantisers keep weights to 7 bits.
    """
    try:
        capabilities = torch.cpu.get_capabilities()
    except (AttributeError, RuntimeError):
        return False
    return bool(capabilities.get("avx512_vnni") or capabilities.get("avx_vnni"))


def resolve_precision(requested: str, device: torch.device) -> torch.dtype:
    """auto: bf16 on CUDA (fp16 on GPUs without bf16), bf16 on CPUs with native bf16, else float32."""
    if requested not in PRECISIONS:
        raise JoyTagError(f"unknown precision {requested!r}: use {', '.join(PRECISIONS)}")
    if requested == "int8":
        raise JoyTagError("int8 runs on openvino or onnxruntime, not torch")
    if requested == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if cpu_has_fast_bf16() else torch.float32
    return getattr(torch, requested)


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'' if threads == 1 else 's'})"


def default_batch_size(device: torch.device) -> int:
    return 64 if device.type == "cuda" else 4
