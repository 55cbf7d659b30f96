"""Where and how precisely a network runs: the device, the precision, what this CPU computes fast.

Also the one place that asks whether an optional runtime is installed.
"""

from __future__ import annotations

import importlib.util

import torch

from joytag_desktop.errors import JoyTagError

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "float32", "bfloat16", "float16", "int8")


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def resolve_device(requested: str = "auto") -> torch.device:
    """``auto`` is CUDA when a GPU is usable, else the CPU; ``cuda`` without a GPU is an error."""
    if requested not in DEVICES and not requested.startswith("cuda:"):
        raise JoyTagError(f"unknown device {requested!r}: use auto, cpu or cuda")
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise JoyTagError("--device cuda was asked for, but PyTorch sees no CUDA GPU here (use --device cpu)")
    return torch.device(requested)


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
