"""Makers of real image files, good and bad, for tests."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from PIL import Image

from helpers.fixture_files import IMAGES_DIR


def save_jpeg(
    path: Path, size: tuple[int, int] = (64, 48), color=(200, 30, 30), orientation: int | None = None
) -> Path:
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(path, "JPEG", exif=exif.tobytes() if orientation else b"")
    return path


def truncated_copy(source: Path, target: Path, keep: float = 0.5) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * keep)])
    return target


def png_bomb(path: Path, width: int = 40_000, height: int = 40_000) -> Path:
    """A tiny PNG whose header claims a huge image (decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + b"\x00" * 3 * 16
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row)) + chunk(b"IEND", b"")
    )
    return path


def mixed_folder(root: Path) -> dict[str, str | None]:
    """A folder of good and bad files; maps each file name to None (good) or the expected error fragment."""
    root.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str | None] = {}
    for name in ("rocket.jpg", "logo.png", "camera.png"):
        (root / name).write_bytes((IMAGES_DIR / name).read_bytes())
        expected[name] = None
    sub = root / "nested dir ü"
    sub.mkdir()
    save_jpeg(sub / "photo #1.jpg")
    expected["photo #1.jpg"] = None
    (root / "empty.jpg").write_bytes(b"")
    expected["empty.jpg"] = "empty file"
    truncated_copy(IMAGES_DIR / "rocket.jpg", root / "truncated.jpg", keep=0.3)
    expected["truncated.jpg"] = "truncated"
    (root / "notes.png").write_text("this is not an image")
    expected["notes.png"] = "not a recognised image format"
    png_bomb(root / "bomb.png")
    expected["bomb.png"] = "too large"
    (root / "readme.txt").write_text("ignored: not an image extension")
    hidden = root / ".thumbnails"
    hidden.mkdir()
    save_jpeg(hidden / "hidden.jpg")
    return expected
