"""The thumbnail cache: names that hold across runs, a new thumbnail for a changed file, and a cap
kept without walking the cache for every thumbnail."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from joytag_desktop.media import thumbnails
from joytag_desktop.media.thumbnails import thumbnail_for, thumbnails_dir

ROOT = Path(__file__).resolve().parents[1]

# Made in one process, asked for in another that cannot decode images: only a cache hit answers.
ASK_AGAIN = """
import sys
from joytag_desktop.media import thumbnails
def refuse(*args, **kwargs):
    raise SystemExit("decoded the image again: the thumbnail was not found")
if sys.argv[1] == "again":
    thumbnails.open_image = refuse
content_hash = sys.argv[3] or None
print(thumbnails.thumbnail_for(sys.argv[2], content_hash))
"""


def write_image(path: Path, seed: int = 0, size: int = 96) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path, quality=95)
    return path


def cache_bytes() -> int:
    return sum(p.stat().st_size for p in thumbnails_dir().rglob("*.jpg"))


@pytest.fixture(autouse=True)
def fresh_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test is a run of its own: its cache has not been looked at yet."""
    monkeypatch.setattr(thumbnails, "_estimated_bytes", None)


@pytest.mark.parametrize("content_hash", ["", "ab12cd34ef56"])
def test_a_thumbnail_made_in_one_run_is_found_by_the_next(tmp_path: Path, content_hash: str) -> None:
    image = write_image(tmp_path / "photo.jpg")

    def ask(mode: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", ASK_AGAIN, mode, str(image), content_hash],
            capture_output=True, text=True, cwd=ROOT, timeout=120, env={**os.environ, "PYTHONHASHSEED": "random"},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    made = ask("make")
    before = os.stat(made).st_mtime_ns
    assert ask("again") == made
    assert os.stat(made).st_mtime_ns == before, "a hit reads the thumbnail, it does not write it again"


def test_a_changed_file_gets_a_new_thumbnail(tmp_path: Path) -> None:
    image = write_image(tmp_path / "photo.jpg", seed=1)
    first = thumbnail_for(image, None)
    assert thumbnail_for(image, None) == first
    Image.new("RGB", (96, 96), (250, 0, 0)).save(image)
    os.utime(image, ns=(time.time_ns(), os.stat(image).st_mtime_ns + 1_000_000_000))
    second = thumbnail_for(image, None)
    assert second != first
    with Image.open(second) as shown:
        assert shown.getpixel((10, 10))[0] > 200, "the new thumbnail shows the new picture"


def test_the_cache_stays_under_its_cap_and_keeps_what_was_used_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(thumbnails, "CACHE_LIMIT_BYTES", 150_000)
    images = [write_image(tmp_path / f"p{index}.jpg", seed=index, size=160) for index in range(40)]
    made = [thumbnail_for(path, None, 128) for path in images[:4]]
    one_thumbnail = made[0].stat().st_size
    assert 5_000 < one_thumbnail < 30_000, one_thumbnail  # so 40 of them are well over the cap
    # Used long ago, except the second, used again now: the least recently used go first.
    for path in made:
        os.utime(path, (time.time() - 86_400, time.time() - 86_400))
    assert thumbnail_for(images[1], None, 128) == made[1]
    first_eviction_seen = False
    for path in images[4:]:
        thumbnail_for(path, None, 128)
        assert cache_bytes() <= thumbnails.CACHE_LIMIT_BYTES
        if not first_eviction_seen and not made[0].exists():
            first_eviction_seen = True
            assert made[1].exists(), "the thumbnail used again stays while older ones go"
    assert first_eviction_seen
    assert thumbnail_for(images[-1], None, 128).exists()


def test_eviction_is_not_a_walk_per_thumbnail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    walks = []
    evict = thumbnails.evict
    monkeypatch.setattr(thumbnails, "evict", lambda *args: walks.append(1) or evict(*args))
    monkeypatch.setattr(thumbnails, "CACHE_LIMIT_BYTES", 200_000)
    for index in range(30):
        thumbnail_for(write_image(tmp_path / f"p{index}.jpg", seed=index, size=160), None, 128)
    assert cache_bytes() <= 200_000
    # One look at the start of the run, then one each time a tenth of the cap was written past it.
    assert 2 <= len(walks) <= 1 + (30 * 30_000) // 20_000, len(walks)
    assert len(walks) < 30


def test_a_half_written_thumbnail_left_by_a_stopped_run_goes(tmp_path: Path) -> None:
    left = thumbnails_dir() / "ab" / "tmp123.part"
    left.parent.mkdir(parents=True)
    left.write_bytes(b"x" * 100)
    os.utime(left, (time.time() - 7200, time.time() - 7200))
    fresh = thumbnails_dir() / "ab" / "tmp456.part"  # another window writing it now
    fresh.write_bytes(b"x")
    thumbnail_for(write_image(tmp_path / "p.jpg"), None)
    assert not left.exists() and fresh.exists()
