"""Decoding real files: formats, orientation, transparency, and every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers.fixture_files import IMAGES_DIR
from helpers.images import png_bomb, save_jpeg, truncated_copy
from joytag_desktop.errors import ImageLoadError
from joytag_desktop.media.imaging import HEIF_SUPPORTED, expand_paths, iter_image_files, open_image


@pytest.mark.parametrize(
    "fmt,suffix",
    [("PNG", ".png"), ("JPEG", ".jpg"), ("WEBP", ".webp"), ("BMP", ".bmp"), ("TIFF", ".tiff"), ("GIF", ".gif")],
)
def test_supported_formats_decode_to_rgb(tmp_path: Path, fmt: str, suffix: str) -> None:
    path = tmp_path / f"image{suffix}"
    Image.new("RGB", (40, 30), (10, 120, 240)).save(path, fmt)
    image = open_image(path)
    assert image.mode == "RGB" and image.size == (40, 30)


@pytest.mark.skipif(not HEIF_SUPPORTED, reason="pillow-heif not available")
def test_heic_decodes(tmp_path: Path) -> None:
    path = tmp_path / "phone.heic"
    try:
        Image.new("RGB", (64, 48), (10, 200, 30)).save(path, "HEIF")
    except (KeyError, OSError) as exc:  # pragma: no cover - wheel without an encoder
        pytest.skip(f"no HEIF encoder: {exc}")
    image = open_image(path)
    assert image.size == (64, 48)
    assert abs(int(np.asarray(image)[20, 20, 1]) - 200) < 12


def test_gif_uses_first_frame(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (20, 20), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    assert np.asarray(open_image(path))[5, 5].tolist() == [255, 0, 0]


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    path = save_jpeg(tmp_path / "rotated.jpg", size=(64, 32), orientation=6)
    assert open_image(path).size == (32, 64)


def test_transparency_is_composited_over_white(tmp_path: Path) -> None:
    path = tmp_path / "clear.png"
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(path)
    assert np.asarray(open_image(path)).min() == 255


def test_palette_transparency_is_composited_over_white(tmp_path: Path) -> None:
    path = tmp_path / "palette.gif"
    image = Image.new("P", (8, 8), 0)
    image.putpalette([0, 0, 0] * 256)
    image.save(path, transparency=0)
    assert np.asarray(open_image(path)).min() == 255


def test_sixteen_bit_greyscale_is_scaled_not_clipped(tmp_path: Path) -> None:
    path = tmp_path / "deep.png"
    Image.fromarray(np.full((8, 8), 32768, dtype=np.uint16)).save(path)
    value = int(np.asarray(open_image(path))[0, 0, 0])
    assert 125 <= value <= 130


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "make,fragment",
    [
        (lambda d: write(d / "empty.jpg", b""), "empty file"),
        (lambda d: truncated_copy(IMAGES_DIR / "rocket.jpg", d / "cut.jpg", 0.3), "truncated"),
        (lambda d: truncated_copy(IMAGES_DIR / "logo.png", d / "cut.png", 0.5), "cannot decode"),
        (lambda d: write(d / "text.jpg", b"hello"), "not a recognised image format"),
        (lambda d: png_bomb(d / "bomb.png"), "too large"),
        (lambda d: d / "missing.jpg", "file not found"),
        (lambda d: d, "is a folder"),
    ],
)
def test_bad_files_raise_readable_errors(tmp_path: Path, make, fragment: str) -> None:
    with pytest.raises(ImageLoadError, match=fragment):
        open_image(make(tmp_path))


def test_folder_walk_skips_hidden_and_non_images_and_survives_link_loops(tmp_path: Path) -> None:
    save_jpeg(tmp_path / "a.jpg")
    (tmp_path / "sub").mkdir()
    save_jpeg(tmp_path / "sub" / "b.JPG")
    (tmp_path / ".cache").mkdir()
    save_jpeg(tmp_path / ".cache" / "c.jpg")
    save_jpeg(tmp_path / ".hidden.jpg")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "sub" / "loop").symlink_to(tmp_path, target_is_directory=True)
    found = [p.relative_to(tmp_path).as_posix() for p in iter_image_files(tmp_path)]
    assert found == ["a.jpg", "sub/b.JPG"]
    explicit = list(expand_paths([tmp_path / "notes.txt", tmp_path / "sub"]))
    assert explicit == [tmp_path / "notes.txt", tmp_path / "sub" / "b.JPG"]
