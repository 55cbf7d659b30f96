"""``joytag-desktop benchmark``: what ran (device, runtime, precision) and how fast, and one plain
line when CUDA was wanted but is not used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from joytag_desktop.cli.main import main

SMALL = ["--images", "3", "--photo-size", "320x240", "--seconds", "0.2"]


def test_json_names_what_ran_and_measures_both_ways(tiny_model_dir: Path, capsys) -> None:
    assert main(["benchmark", "--model", str(tiny_model_dir), "--device", "cpu", "--json", *SMALL]) == 0
    captured = capsys.readouterr()
    figures = json.loads(captured.out)
    assert figures["device"].startswith("CPU (") and figures["device_asked"] == "cpu"
    assert figures["cuda_not_used"] is None and "CUDA" not in captured.err
    assert figures["runtime"] in ("torch", "openvino", "onnxruntime")
    assert figures["precision"] in ("float32", "bfloat16", "float16")
    assert figures["model_only_images_per_s"] > 0 and figures["end_to_end_images_per_s"] > 0
    assert figures["images"] == 3 and figures["failed"] == 0 and figures["photo_size"] == "320x240"
    assert str(tiny_model_dir) in figures["model"]


def test_text_and_precision_asked_for(tiny_model_dir: Path, capsys) -> None:
    argv = ["benchmark", "--model", str(tiny_model_dir), "--device", "cpu", "--precision", "float32"]
    assert main([*argv, "--runtime", "torch", *SMALL]) == 0
    out = capsys.readouterr().out
    assert "runtime:    torch, float32, batch 4" in out
    assert "model only:" in out and "images/s" in out
    assert "end to end:" in out and "3 JPEGs of 320x240 decoded on the CPU" in out


def test_cuda_asked_for_without_a_gpu_says_so_in_one_line_and_in_the_json(tiny_model_dir: Path, capsys) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    assert main(["benchmark", "--model", str(tiny_model_dir), "--device", "cuda", "--json", *SMALL]) == 0
    captured = capsys.readouterr()
    warning = [line for line in captured.err.splitlines() if "CUDA" in line]
    assert len(warning) == 1, captured.err
    assert warning[0].startswith("joytag-desktop: warning: CUDA was asked for but is not available: ")
    assert warning[0].endswith("; measuring on the CPU")
    figures = json.loads(captured.out)
    assert figures["device_asked"] == "cuda" and figures["device"].startswith("CPU (")
    assert figures["cuda_not_used"].startswith("CUDA was asked for but is not available: ")
    assert figures["end_to_end_images_per_s"] > 0


def test_auto_on_a_machine_showing_an_unusable_gpu_says_so(tiny_model_dir: Path, capsys, monkeypatch) -> None:
    """``auto`` where the system shows an NVIDIA GPU that PyTorch cannot use (a CPU-only build, a
    driver too old): the GPU would sit idle, so that is said too."""
    import torch

    from joytag_desktop.inference import device

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    monkeypatch.setattr(device, "_nvidia_present", lambda: True)
    monkeypatch.setattr(torch.version, "cuda", None)
    assert main(["benchmark", "--model", str(tiny_model_dir), "--json", *SMALL]) == 0
    captured = capsys.readouterr()
    assert "an NVIDIA GPU is here but CUDA is not available: this PyTorch" in captured.err
    assert "CPU-only build" in json.loads(captured.out)["cuda_not_used"]


def test_the_reason_cuda_is_not_used_is_the_one_a_user_can_act_on(monkeypatch) -> None:
    import torch

    from joytag_desktop.inference import device

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    monkeypatch.setattr(device, "_nvidia_present", lambda: False)
    assert device.choose_device("cpu") == (torch.device("cpu"), "")
    assert device.choose_device("auto") == (torch.device("cpu"), "")  # no GPU to leave idle: nothing to say
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert device.cuda_state().reason == "CUDA_VISIBLE_DEVICES hides every GPU"
    assert (
        device.choose_device("cuda")[1]
        == "CUDA was asked for but is not available: CUDA_VISIBLE_DEVICES hides every GPU"
    )
    monkeypatch.setattr(torch.version, "cuda", None)
    assert "is a CPU-only build" in device.cuda_state().reason
