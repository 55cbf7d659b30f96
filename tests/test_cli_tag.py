"""The headless ``tag`` and ``models`` commands, end to end in a real subprocess and in-process."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers.fixture_files import IMAGES_DIR, expected_cases
from helpers.images import mixed_folder
from joytag_desktop.cli.main import main


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "joytag_desktop", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.slow
def test_jsonl_on_mixed_folder_reports_each_file_and_exits_1(tmp_path: Path, tiny_model_dir: Path) -> None:
    expected = mixed_folder(tmp_path / "photos")
    proc = run_cli("tag", "--model", str(tiny_model_dir), "--format", "jsonl", str(tmp_path / "photos"))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    by_name = {Path(r["path"]).name: r for r in records}
    assert set(by_name) == set(expected), "hidden folders and non-image extensions are skipped"
    for name, error in expected.items():
        record = by_name[name]
        if error is None:
            assert record["error"] is None and record["tags"], name
            scores = list(record["tags"].values())
            assert scores == sorted(scores, reverse=True)
            assert all(s >= 0.4 for s in scores)
        else:
            assert record["tags"] == {} and error in record["error"], (name, record)
            assert name in proc.stderr
    assert "4 of 8 image(s) could not be tagged" in proc.stderr


def test_jsonl_scores_are_full_precision_and_match_reference(tiny_model_dir: Path, capsys) -> None:
    code = main(
        [
            "tag",
            "--model",
            str(tiny_model_dir),
            "--format",
            "jsonl",
            "--threshold",
            "0",
            "--precision",
            "float32",
            "--preprocess",
            "reference",
            str(IMAGES_DIR / "rocket.jpg"),
        ]
    )
    assert code == 0
    record = json.loads(capsys.readouterr().out)
    tags = (tiny_model_dir / "top_tags.txt").read_text().splitlines()
    assert len(record["tags"]) == len(tags), "--threshold 0 lists every tag"
    logits = np.array(expected_cases("tiny-released-shape")["rocket.jpg"]["logits"])
    reference = dict(zip(tags, 1 / (1 + np.exp(-logits)), strict=True))
    for tag, score in record["tags"].items():
        assert abs(score - reference[tag]) < 1e-4
    assert any(len(repr(s)) > 8 for s in record["tags"].values()), "scores are not rounded"


def test_csv_and_text_formats(tmp_path: Path, tiny_model_dir: Path, capsys) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"")
    code = main(
        [
            "tag",
            "--model",
            str(tiny_model_dir),
            "--format",
            "csv",
            "--threshold",
            "0.7",
            str(IMAGES_DIR / "logo.png"),
            str(bad),
        ]
    )
    assert code == 1
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["path"] for r in rows} == {str(IMAGES_DIR / "logo.png"), str(bad)}
    assert all(float(r["score"]) >= 0.7 for r in rows if r["tag"])
    assert [r["error"] for r in rows if r["path"] == str(bad)] == ["empty file (0 bytes)"]

    code = main(["tag", "--model", str(tiny_model_dir), str(IMAGES_DIR / "logo.png")])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith(f"{IMAGES_DIR / 'logo.png'}: ") and "(0." in out


def test_missing_model_gives_one_clear_message_and_exit_2() -> None:
    proc = run_cli("tag", str(IMAGES_DIR / "rocket.jpg"))
    assert proc.returncode == 2
    assert "No tagger model is installed" in proc.stderr
    assert "joytag-desktop models download" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_broken_model_folder_exit_2(model_copy: Path, capsys) -> None:
    (model_copy / "config.json").write_text("{")
    assert main(["tag", "--model", str(model_copy), str(IMAGES_DIR / "rocket.jpg")]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_model_from_environment_variable(monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path, capsys) -> None:
    monkeypatch.setenv("JOYTAG_DESKTOP_MODEL", str(tiny_model_dir))
    assert main(["tag", str(IMAGES_DIR / "rocket.jpg")]) == 0
    assert "rocket.jpg" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["tag"],
        ["tag", "--threshold", "2", "x.jpg"],
        ["tag", "--format", "xml", "x"],
        ["tag", "--batch-size", "0", "x"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2


def test_cuda_without_gpu_is_a_clear_error(tiny_model_dir: Path, capsys) -> None:
    pytest.importorskip("torch")
    import torch

    from joytag_desktop.inference.device import cuda_state

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main(["tag", "--model", str(tiny_model_dir), "--device", "cuda", str(IMAGES_DIR / "rocket.jpg")]) == 2
    err = capsys.readouterr().err
    assert "no CUDA GPU" in err and f": {cuda_state().reason} (use --device cpu)" in err, err


def test_results_go_to_stdout_and_no_bar_is_drawn_into_a_pipe(tmp_path: Path, tiny_model_dir: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for index in range(8):
        (folder / f"{index}.jpg").write_bytes((IMAGES_DIR / "rocket.jpg").read_bytes())
    proc = run_cli("tag", "--model", str(tiny_model_dir), "--format", "jsonl", str(folder))
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 8
    assert "\r" not in proc.stderr and "Tagging" not in proc.stderr, "no progress frames in a log file"


def test_models_list_and_download_without_network(tiny_model_dir: Path, isolated_home: Path, capsys) -> None:
    from joytag_desktop.taggers.catalogue import CATALOGUE

    assert main(["models", "list"]) == 0
    listing = capsys.readouterr().out
    assert listing.count("not installed") == len(CATALOGUE)
    assert all(item.name in listing and item.repo in listing for item in CATALOGUE)
    assert "GPL-3.0" in listing and "e6tag" in listing
    installed = isolated_home / "models" / "joytag"
    installed.parent.mkdir(exist_ok=True)
    installed.mkdir()
    for name in ("config.json", "model.safetensors", "top_tags.txt"):
        (installed / name).write_bytes((tiny_model_dir / name).read_bytes())
    broken = isolated_home / "models" / "broken"
    broken.mkdir()
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "96 tags, 448 px" in out and "broken: BROKEN" in out
    # The installed default model is found without --model.
    assert main(["tag", "--format", "jsonl", str(IMAGES_DIR / "logo.png")]) == 0
    capsys.readouterr()

    proc = run_cli("models", "download", env={"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:9"})
    assert proc.returncode == 2
    assert "no network connection" in proc.stderr and "Traceback" not in proc.stderr


def test_version() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("joytag-desktop 0.")
