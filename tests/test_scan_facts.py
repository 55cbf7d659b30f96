"""A scan reads a JPEG once (issue 33): the facts taken from the hashing walk's frame and metadata
blocks are the ones Pillow and exifread give when they open the file again. Real files, EXIF from
Pillow and from exiftool (both byte orders), XMP, XPKeywords and IPTC (which goes the long way)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image as PILImage

from helpers.fixture_files import IMAGES_DIR
from helpers.library import write_photo
from joytag_desktop.library import scanner
from joytag_desktop.media.exif import read_exif
from joytag_desktop.media.hashing import hash_file_and_parts, hash_file_and_picture
from joytag_desktop.metadata.embedded import read_embedded

EXIFTOOL = shutil.which("exiftool")


def _slow_facts(path: Path) -> dict:
    """What the scan recorded before it read a JPEG once: Pillow, exifread, Pillow again."""
    with PILImage.open(path) as image:
        size, kind = image.size, image.format
    exif = read_exif(path)
    return {
        "hashes": hash_file_and_picture(path),
        "size": size,
        "format": kind,
        "exif": (exif.taken_at, exif.camera_make, exif.camera_model, exif.orientation),
        "keywords": read_embedded(path),
    }


def _scan_facts(path: Path) -> dict:
    facts = scanner.read_facts(str(path), path.stat().st_size, path.stat().st_mtime)
    return {
        "hashes": (facts.content_hash, facts.picture_hash),
        "size": (facts.width, facts.height),
        "format": facts.format,
        "exif": tuple(facts.exif[k] for k in ("taken_at", "camera_make", "camera_model", "orientation")),
        "keywords": facts.keywords,
    }


def _photos(folder: Path) -> list[Path]:
    photos = [shutil.copy(IMAGES_DIR / "rocket.jpg", folder / "rocket.jpg")]
    photos.append(write_photo(folder / "plain.jpg"))
    photos.append(
        write_photo(
            folder / "camera.jpg",
            size=(70, 50),
            make="Canon\x00 ",
            model="Canon EOS R5",
            taken=datetime(2021, 7, 3, 14, 5, 9),
            orientation=6,
        )
    )
    photos.append(write_photo(folder / "turned.jpg", orientation=8, make="NIKON CORPORATION"))
    with PILImage.open(IMAGES_DIR / "chelsea.png") as image:
        image.convert("L").save(folder / "grey.jpg", "JPEG", progressive=True)
    photos.append(folder / "grey.jpg")
    return [Path(p) for p in photos]


def test_a_jpeg_read_once_gives_what_pillow_and_exifread_give(tmp_path: Path) -> None:
    photos = _photos(tmp_path)
    if EXIFTOOL:
        edits = {
            "xmp.jpg": ["-XMP-dc:Subject=Beach", "-XMP-dc:Subject=Sunset", "-XMP-lr:HierarchicalSubject=Places|Nice"],
            "xp.jpg": ["-XPKeywords=dog;cat", "-Make=Fujifilm", "-DateTimeOriginal=2019:01:02 03:04:05"],
            "motorola.jpg": [
                "-ExifByteOrder=Big-endian",
                "-Model=X100",
                "-Orientation#=3",
                "-CreateDate=2018:05:06 07:08:09",
            ],
            "iptc.jpg": ["-IPTC:Keywords=harbour", "-IPTC:Keywords=boat"],
        }
        for name, arguments in edits.items():
            target = write_photo(tmp_path / name, size=(33, 21), color=(10, 200, 30))
            subprocess.run([EXIFTOOL, "-overwrite_original", *arguments, str(target)], check=True, capture_output=True)
            photos.append(target)
    for photo in photos:
        assert _scan_facts(photo) == _slow_facts(photo), photo.name
    facts = {p.name: _scan_facts(p) for p in photos}
    assert facts["camera.jpg"]["exif"] == (datetime(2021, 7, 3, 14, 5, 9), "Canon", "Canon EOS R5", 6)
    if EXIFTOOL:
        assert facts["xmp.jpg"]["keywords"]["subject"] == ["Beach", "Sunset"]
        assert facts["xp.jpg"]["keywords"]["xp"] == ["dog", "cat"]
        assert facts["motorola.jpg"]["exif"][2:] == ("X100", 3)
        assert facts["iptc.jpg"]["keywords"]["iptc"] == ["harbour", "boat"]


@pytest.mark.parametrize("cut", [0, 2, 11, 200, -1])
def test_a_broken_jpeg_is_hashed_as_before(tmp_path: Path, cut: int) -> None:
    """A truncated or empty JPEG: the same hashes whether the walk is in memory or not, and no
    facts taken from a walk that did not reach the first scan."""
    data = (IMAGES_DIR / "rocket.jpg").read_bytes()
    path = tmp_path / "broken.jpg"
    path.write_bytes(data[:cut])
    content, picture, parts = hash_file_and_parts(path)
    assert (content, picture) == hash_file_and_picture(path)
    if cut != -1:
        assert picture is None and parts is None
    else:
        assert picture is not None and parts is not None and parts.width


def test_a_large_file_streams_to_the_same_hashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from joytag_desktop.media import hashing

    photo = _photos(tmp_path)[2]
    in_memory = hash_file_and_parts(photo)
    monkeypatch.setattr(hashing, "_IN_MEMORY", 0)
    assert hash_file_and_parts(photo) == in_memory
