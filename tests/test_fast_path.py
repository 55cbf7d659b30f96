"""The fast path agrees with the reference path: preprocessing, bf16 scores, and the device-agnostic
tensor pipeline that the CUDA path runs (exercised here on the CPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers.fixture_files import FORMAT_DIR, IMAGES_DIR, SAMPLE_IMAGES
from joytag_desktop.inference.decode import EncodedJpeg, decode_jpegs, pad_resize_normalise, read_for_fast_path
from joytag_desktop.inference.device import cpu_has_fast_bf16, resolve_precision
from joytag_desktop.inference.engine import TaggingEngine
from joytag_desktop.media.imaging import open_image
from joytag_desktop.taggers.joytag import inspect_folder
from joytag_desktop.taggers.joytag.preprocess import reference_tensor


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The sample images plus large JPEGs (where reduced-size decoding kicks in), one rotated by EXIF."""
    folder = tmp_path_factory.mktemp("photos")
    paths = [IMAGES_DIR / name for name in SAMPLE_IMAGES]
    astronaut = Image.open(IMAGES_DIR / "astronaut.png").convert("RGB")
    large = folder / "large.jpg"
    astronaut.resize((4000, 3000), Image.Resampling.BICUBIC).save(large, quality=92)
    rotated = folder / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.open(IMAGES_DIR / "chelsea.png").convert("RGB").resize((2400, 1600)).save(
        rotated, quality=90, exif=exif.tobytes()
    )
    return [*paths, large, rotated]


@pytest.mark.parametrize("size", [224, 448])
def test_fast_preprocessing_is_close_to_reference(photos: list[Path], size: int) -> None:
    for path in photos:
        reference = reference_tensor(open_image(path), size)
        item = read_for_fast_path(path, size, device_decode=False)
        assert isinstance(item, torch.Tensor) and item.dtype == torch.uint8
        fast = pad_resize_normalise(item, size)
        assert fast.shape == reference.shape
        assert float((fast - reference).abs().mean()) < 0.02, path.name


def test_device_decode_path_matches_on_cpu(photos: list[Path]) -> None:
    """The CUDA path's code (batched JPEG decode + tensor resize), run on the CPU device."""
    device = torch.device("cpu")
    jpegs = [p for p in photos if p.suffix == ".jpg"]
    items = [read_for_fast_path(p, 448, device_decode=True) for p in jpegs]
    assert all(isinstance(item, EncodedJpeg) for item in items)
    decoded = decode_jpegs(items, device)  # type: ignore[arg-type]
    for path, image in zip(jpegs, decoded, strict=True):
        assert isinstance(image, torch.Tensor)
        reference = reference_tensor(open_image(path), 448)
        assert float((pad_resize_normalise(image, 448) - reference).abs().mean()) < 0.02, path.name
    rotated = decoded[[p.name for p in jpegs].index("rotated.jpg")]
    assert tuple(rotated.shape[1:]) == (2400, 1600), "EXIF orientation is applied on the device too"


def test_broken_jpeg_in_a_device_batch_only_fails_itself(tmp_path: Path) -> None:
    good = tmp_path / "good.jpg"
    Image.new("RGB", (64, 48), (10, 200, 30)).save(good)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(good.read_bytes()[:40] + b"\x00" * 200)
    items = [read_for_fast_path(good, 224, True), read_for_fast_path(good, 224, True)]
    items.insert(1, EncodedJpeg(torch.frombuffer(bytearray(bad.read_bytes()), dtype=torch.uint8)))
    out = decode_jpegs(items, torch.device("cpu"))  # type: ignore[arg-type]
    assert isinstance(out[0], torch.Tensor) and isinstance(out[2], torch.Tensor)
    assert isinstance(out[1], str) and "cannot decode" in out[1]


@pytest.mark.parametrize("model_name", ["tiny-released-shape", "tiny-learned-pos"])
@pytest.mark.slow
def test_fast_engine_scores_agree_with_reference(photos: list[Path], model_name: str) -> None:
    model = inspect_folder(FORMAT_DIR / model_name)
    reference = TaggingEngine(model, device="cpu", precision="float32", preprocessing="reference")
    expected = {r.path: r.scores for r in reference.tag_paths(photos)}
    fast32 = TaggingEngine(model, device="cpu", precision="float32", preprocessing="fast")
    for result in fast32.tag_paths(photos):
        assert result.ok
        assert np.abs(result.scores - expected[result.path]).max() < 0.02, result.path.name
    bf16 = TaggingEngine(model, device="cpu", precision="bfloat16", preprocessing="fast")
    assert bf16.dtype == torch.bfloat16
    for result in bf16.tag_paths(photos):
        assert result.ok
        # bf16 keeps 8 bits of mantissa: scores move by a few thousandths to hundredths, no more.
        assert np.abs(result.scores - expected[result.path]).max() < 0.05, result.path.name


def test_precision_auto() -> None:
    assert resolve_precision("auto", torch.device("cpu")) == (torch.bfloat16 if cpu_has_fast_bf16() else torch.float32)
    assert resolve_precision("float32", torch.device("cpu")) == torch.float32


def test_fast_engine_reports_bad_files_like_the_reference(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("nope")
    engine = TaggingEngine(inspect_folder(FORMAT_DIR / "tiny-learned-pos"), device="cpu")
    errors = {
        r.path.name: r.error
        for r in engine.tag_paths([tmp_path / "empty.jpg", tmp_path / "text.jpg", tmp_path / "missing.jpg"])
    }
    assert errors == {
        "empty.jpg": "empty file (0 bytes)",
        "text.jpg": "not a recognised image format",
        "missing.jpg": "file not found",
    }
