"""Issue 31: an edit of a file's metadata by another program (a rating, a keyword) keeps its taggings;
only a change of the picture retags it. Real files, real exiftool edits, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib
import io
import shutil
import sqlite3
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from sqlalchemy import create_engine, text

from helpers.library import give_scores, paths_of, write_photo
from helpers.old_schemas import back_to_0007
from joytag_desktop.files import hash_file
from joytag_desktop.library import Library, dialect
from joytag_desktop.library.schema import Status
from joytag_desktop.media.hashing import hash_file_and_picture

pytestmark = pytest.mark.backends  # the same tests on SQLite and on PostgreSQL

VOCAB = ["cat", "dog"]
EXIFTOOL = shutil.which("exiftool") or "exiftool"


def exiftool(path: Path, *args: str) -> None:
    subprocess.run([EXIFTOOL, "-overwrite_original", *args, str(path)], check=True, capture_output=True)


def tagged_library(lib: Library, root: Path, names: list[str]) -> None:
    """Index ``root`` and tag ``names`` with an automatic model (one that must tag every image)."""
    lib.add_model("test-model", auto=True)
    lib.add_root(root)
    lib.scan()
    give_scores(lib, VOCAB, {root / name: {"cat": 0.9} for name in names})
    assert all(lib.image_by_path(root / name).status == Status.TAGGED for name in names)


def taggings(lib: Library) -> int:
    (model,) = lib.models()
    return model.images


def assert_kept(lib: Library, path: Path, before: str, count: int) -> None:
    image = lib.image_by_path(path)
    assert image.content_hash != before, "the file did change"
    assert image.content_hash == hash_file(path)
    assert image.status == Status.TAGGED
    assert taggings(lib) == count
    assert image.id not in [row[0] for row in lib.pending_images(100, model_id=lib.models()[0].id)]
    assert path.name in paths_of(lib, "cat")


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "Pictures"
    write_photo(root / "a.jpg", color=(200, 30, 30), make="Canon", orientation=1)
    write_photo(root / "b.jpg", color=(30, 200, 30))
    write_photo(root / "c.png", color=(30, 30, 200))
    write_photo(root / "d.tif", color=(90, 90, 90))
    return root


EDITS = {
    "keyword": ("-XMP-dc:Subject+=x",),
    "rating": ("-Rating=3",),
    "iptc and comment": ("-IPTC:Keywords+=y", "-Comment=a note"),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_a_metadata_edit_keeps_a_jpeg_tagged_on_rescan(lib: Library, photos: Path, edit: str) -> None:
    tagged_library(lib, photos, ["a.jpg", "b.jpg"])
    before = lib.image_by_path(photos / "a.jpg").content_hash
    exiftool(photos / "a.jpg", *EDITS[edit])
    report = lib.scan()
    assert report.changed == 1
    assert_kept(lib, photos / "a.jpg", before, 2)


def test_a_metadata_edit_keeps_a_jpeg_tagged_through_the_watcher(lib: Library, photos: Path) -> None:
    tagged_library(lib, photos, ["a.jpg", "b.jpg"])
    for edit in EDITS.values():
        before = lib.image_by_path(photos / "b.jpg").content_hash
        exiftool(photos / "b.jpg", *edit)
        report = lib.apply_changes(created=[str(photos / "b.jpg")])
        assert report.changed == 1
        assert_kept(lib, photos / "b.jpg", before, 2)


def test_a_png_metadata_edit_keeps_it_tagged(lib: Library, photos: Path) -> None:
    tagged_library(lib, photos, ["c.png"])
    before = lib.image_by_path(photos / "c.png").content_hash
    exiftool(photos / "c.png", "-XMP-dc:Subject+=x", "-Rating=4")
    lib.scan()
    assert_kept(lib, photos / "c.png", before, 1)


def test_new_pixels_retag(lib: Library, photos: Path) -> None:
    tagged_library(lib, photos, ["a.jpg", "b.jpg", "c.png"])
    pictures = {n: lib.image_by_path(photos / n).picture_hash for n in ("a.jpg", "b.jpg", "c.png")}
    for name in ("a.jpg", "c.png"):  # one pixel changed, re-saved with Pillow (metadata kept)
        with PILImage.open(photos / name) as image:
            exif = image.getexif().tobytes()
            changed = image.convert("RGB")
        changed.putpixel((0, 0), (255, 255, 255))
        changed.save(photos / name, exif=exif)
    with PILImage.open(photos / "b.jpg") as image:  # the same pixels, encoded again
        image.convert("RGB").save(photos / "b.jpg", quality=70)
    lib.apply_changes(created=[str(photos / "b.jpg")])
    lib.scan()
    assert {n: lib.image_by_path(photos / n).status for n in ("a.jpg", "b.jpg", "c.png")} == dict.fromkeys(
        ("a.jpg", "b.jpg", "c.png"), Status.PENDING
    )
    assert taggings(lib) == 0
    for name, picture in pictures.items():  # the new picture is recorded: its next metadata edit keeps it
        assert lib.image_by_path(photos / name).picture_hash not in (None, picture)


def test_a_new_orientation_is_a_new_picture(lib: Library, photos: Path) -> None:
    """The taggers turn the picture upright by its EXIF orientation: a turn by metadata alone retags."""
    tagged_library(lib, photos, ["a.jpg"])
    picture = lib.image_by_path(photos / "a.jpg").picture_hash
    exiftool(photos / "a.jpg", "-Orientation#=6")
    lib.scan()
    image = lib.image_by_path(photos / "a.jpg")
    assert image.status == Status.PENDING and taggings(lib) == 0
    assert image.orientation == 6 and image.picture_hash not in (None, picture)


def test_a_tiff_edit_retags_on_the_safe_side(lib: Library, photos: Path) -> None:
    """No picture hash for TIFF (its metadata lives among the picture's own tags): any change retags."""
    tagged_library(lib, photos, ["d.tif", "a.jpg"])
    assert lib.image_by_path(photos / "d.tif").picture_hash is None
    assert lib.image_by_path(photos / "a.jpg").picture_hash is not None
    exiftool(photos / "d.tif", "-XMP-dc:Subject+=x")
    lib.scan()
    image = lib.image_by_path(photos / "d.tif")
    assert image.status == Status.PENDING and image.picture_hash is None
    assert taggings(lib) == 1  # a.jpg's


def test_our_own_embedded_write_keeps_the_taggings(lib: Library, photos: Path) -> None:
    """export embedded writes keywords into the file and records its new hashes (accept_own_write)."""
    from joytag_desktop.interchange.keyword_export import export_embedded

    tagged_library(lib, photos, ["a.jpg", "b.jpg"])
    picture = lib.image_by_path(photos / "a.jpg").picture_hash
    before = lib.image_by_path(photos / "a.jpg").content_hash
    assert export_embedded(lib, query="name:a.jpg").written == 1
    assert lib.image_by_path(photos / "a.jpg").picture_hash == picture
    assert_kept(lib, photos / "a.jpg", before, 2)
    assert lib.scan().changed == 0
    assert_kept(lib, photos / "a.jpg", before, 2)


def test_our_own_write_without_a_picture_hash_from_before(lib: Library, photos: Path) -> None:
    """An image indexed before 0007 whose file is still the one scanned keeps its taggings through our
    write (the first embedded export after an upgrade must not retag the library); a TIFF (no picture
    hash) loses them and is then pending, on SQLite as on PostgreSQL: never "tagged" with no tagging."""
    from joytag_desktop.interchange.keyword_export import export_embedded

    tagged_library(lib, photos, ["a.jpg", "d.tif"])
    with lib.engine.begin() as connection:
        connection.execute(text("UPDATE images SET picture_hash = NULL WHERE name = :name"), {"name": "a.jpg"})
    before = taggings(lib)
    assert export_embedded(lib).written == 2
    assert lib.image_by_path(photos / "a.jpg").status == Status.TAGGED
    assert lib.image_by_path(photos / "d.tif").status == Status.PENDING
    assert taggings(lib) == before - 1
    assert lib.image_by_path(photos / "a.jpg").picture_hash is not None  # the next edit keeps the tags
    assert lib.scan().changed == 0


def _back_to_0006(url: str, backend: str) -> None:
    """Give a library the schema of revision 0006: no picture hashes, 0006's trigger."""
    engine = create_engine(url if "://" in url else f"sqlite:///{url}")
    with engine.begin() as connection:
        back_to_0007(connection)
        if backend == "postgresql":
            old = next(f for f in dialect.POSTGRESQL_FUNCTIONS if "jtd_images_updated()" in f)
            assert "picture_hash" not in old
            connection.exec_driver_sql(old)
        else:
            revision_0003 = importlib.import_module("joytag_desktop.library.migrations.versions.0003_several_models")
            old = next(t for t in revision_0003.TRIGGERS if "images_content_changed" in t)
            connection.exec_driver_sql("DROP TRIGGER images_content_changed")
            connection.exec_driver_sql(old)
        connection.exec_driver_sql("ALTER TABLE images DROP COLUMN picture_hash")
        connection.execute(text("UPDATE alembic_version SET version_num = :old"), {"old": "0006"})
    engine.dispose()


def _sqlite_shape(path: Path) -> tuple[list, list]:
    with sqlite3.connect(path) as connection:
        columns = [row[1:] for row in connection.execute("PRAGMA table_info(images)")]
        triggers = sorted(connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
    connection.close()
    return columns, triggers


def test_the_made_up_0006_library_has_the_shape_of_a_real_one(tmp_path: Path) -> None:
    """The test above takes a library back to 0006 by hand; alembic's 0006 looks the same."""
    from alembic import command

    from joytag_desktop.library import db

    Library(tmp_path / "back.sqlite3").close()
    _back_to_0006(str(tmp_path / "back.sqlite3"), "sqlite")
    engine = create_engine(f"sqlite:///{tmp_path / 'real.sqlite3'}")
    with engine.begin() as connection:
        command.upgrade(db._alembic_config(connection), "0006")
    engine.dispose()
    assert _sqlite_shape(tmp_path / "back.sqlite3") == _sqlite_shape(tmp_path / "real.sqlite3")


def test_a_library_of_the_previous_schema_keeps_its_tags(db_url: str, backend: str, photos: Path) -> None:
    with Library(db_url) as library:
        tagged_library(library, photos, ["a.jpg", "b.jpg"])
    _back_to_0006(db_url, backend)
    with Library(db_url) as library:  # migrated to 0007
        assert taggings(library) == 2 and library.count_by_status()[Status.TAGGED] == 2
        assert library.image_by_path(photos / "a.jpg").picture_hash is None
        assert library.scan().unchanged == 4
        assert taggings(library) == 2 and paths_of(library, "cat") == ["a.jpg", "b.jpg"]
        # Its first change retags once (the old picture is unknown) and records the picture hash ...
        exiftool(photos / "a.jpg", "-Rating=3")
        library.scan()
        assert library.image_by_path(photos / "a.jpg").status == Status.PENDING
        give_scores(library, VOCAB, {photos / "a.jpg": {"cat": 0.9}})
        # ... from then on a metadata edit keeps it tagged.
        before = library.image_by_path(photos / "a.jpg").content_hash
        exiftool(photos / "a.jpg", "-XMP-dc:Subject+=x")
        library.scan()
        assert_kept(library, photos / "a.jpg", before, 2)


def test_hashes_come_from_one_read_and_match_the_whole_file_hash(photos: Path) -> None:
    for path in sorted(photos.iterdir()):
        content, picture = hash_file_and_picture(path)
        assert content == hash_file(path)
        assert (picture is None) == (path.suffix == ".tif")


def test_webp_and_broken_files(tmp_path: Path) -> None:
    """WebP's EXIF and XMP chunks are left out; a file whose structure breaks off has no picture hash
    (but its content hash, of every byte, as always)."""
    webp = tmp_path / "w.webp"
    PILImage.new("RGB", (40, 30), (5, 100, 200)).save(webp, lossless=True)
    _, picture = hash_file_and_picture(webp)
    exiftool(webp, "-XMP-dc:Subject+=x", "-Rating=2")
    assert hash_file_and_picture(webp)[1] == picture
    exiftool(webp, "-Orientation#=3")
    assert hash_file_and_picture(webp)[1] != picture
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(write_photo(tmp_path / "whole.jpg").read_bytes()[:40])
    assert hash_file_and_picture(broken) == (hash_file(broken), None)


def _jpeg_with_long_orientation(jpeg: bytes, value: int) -> bytes:
    """EXIF Orientation stored as a LONG (seen in the wild; Pillow applies it all the same)."""
    entry = struct.pack("<HHII", 0x0112, 4, 1, value)
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1) + entry + struct.pack("<I", 0)
    segment = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment + jpeg[2:]


def test_every_orientation_and_webp_flag_that_changes_pixels_changes_the_picture_hash(tmp_path: Path) -> None:
    """Found in review: an Orientation stored as LONG, and a WebP whose VP8X alpha flag was cleared,
    kept the picture hash though the image decoded differently."""
    pixels = np.random.default_rng(1).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, "JPEG")
    upright, turned = tmp_path / "o1.jpg", tmp_path / "o6.jpg"
    upright.write_bytes(_jpeg_with_long_orientation(buffer.getvalue(), 1))
    turned.write_bytes(_jpeg_with_long_orientation(buffer.getvalue(), 6))
    assert hash_file_and_picture(upright)[1] != hash_file_and_picture(turned)[1]

    rgba = np.random.default_rng(2).integers(0, 256, (40, 60, 4), dtype=np.uint8)
    rgba[..., 3] = np.where(np.arange(60) < 30, 0, 255)
    buffer = io.BytesIO()
    PILImage.fromarray(rgba, "RGBA").save(buffer, "WEBP", quality=80)
    data = bytearray(buffer.getvalue())
    assert data[12:16] == b"VP8X"
    with_alpha, without = tmp_path / "a.webp", tmp_path / "b.webp"
    with_alpha.write_bytes(bytes(data))
    data[20] &= ~0x10  # the alpha flag
    without.write_bytes(bytes(data))
    assert hash_file_and_picture(with_alpha)[1] != hash_file_and_picture(without)[1]
