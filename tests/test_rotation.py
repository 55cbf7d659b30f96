"""Rotate and flip by the orientation flag: the composition table against Pillow's own
``exif_transpose``, the pixels left as they were (JPEG, PNG, WebP, TIFF through exiftool; RAW, GIF
and BMP through the sidecar), unwritable files refused, and the library following."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from joytag_desktop.library import Library
from joytag_desktop.library.schema import Status
from joytag_desktop.media.imaging import open_image
from joytag_desktop.media.orientation import compose
from joytag_desktop.metadata.orientation import OrientationError, current, rotate
from joytag_desktop.metadata.xmp import read_sidecar

FIXTURES = Path(__file__).parent / "fixtures" / "metadata"
# What the user asks, as Pillow's own steps on the picture as shown (independent of the table's numpy).
PILLOW_STEPS = {
    "90": Image.Transpose.ROTATE_270,
    "180": Image.Transpose.ROTATE_180,
    "270": Image.Transpose.ROTATE_90,
    "flip": Image.Transpose.FLIP_LEFT_RIGHT,
    "flip-vertical": Image.Transpose.FLIP_TOP_BOTTOM,
}
needs_exiftool = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")


def _stored() -> Image.Image:
    """A 5x3 picture whose every pixel differs: no symmetry can hide a wrong turn."""
    return Image.fromarray((np.arange(5 * 3 * 3) * 5 % 256).astype(np.uint8).reshape(3, 5, 3))


def _shown(stored: Image.Image, flag: int) -> np.ndarray:
    flagged = stored.copy()
    flagged.getexif()[0x0112] = flag
    exif = flagged.getexif().tobytes()
    with_exif = Image.frombytes(stored.mode, stored.size, stored.tobytes())
    with_exif.info["exif"] = exif
    return np.asarray(ImageOps.exif_transpose(with_exif))


@pytest.mark.parametrize("flag", range(1, 9))
@pytest.mark.parametrize("transform", list(PILLOW_STEPS))
def test_every_flag_and_transform_composes_as_pillow_shows_it(flag: int, transform: str) -> None:
    stored = _stored()
    wanted = np.asarray(Image.fromarray(_shown(stored, flag)).transpose(PILLOW_STEPS[transform]))
    assert np.array_equal(_shown(stored, compose(flag, transform)), wanted)


def test_no_flag_and_a_broken_flag_count_as_upright() -> None:
    assert compose(None, "90") == compose(1, "90") == compose(0, "90") == 6
    with pytest.raises(ValueError):
        compose(1, "45")


def _stored_pixels(path: Path) -> bytes:
    with Image.open(path) as image:
        image.load()
        return image.tobytes()


def _exiftool_flag(path: Path) -> int:
    out = subprocess.run(["exiftool", "-n", "-s3", "-EXIF:Orientation", str(path)], capture_output=True, text=True)
    return int(out.stdout.strip())


@needs_exiftool
def test_a_rotated_jpeg_decodes_to_the_same_stored_pixels_turned(tmp_path: Path) -> None:
    photo = tmp_path / "canon.jpg"  # Canon EOS 300D, stored 150x91 with Orientation 6 (exiv2's test file)
    shutil.copy(FIXTURES / "canon-eos-300d-rotated.jpg", photo)
    stored, shown = _stored_pixels(photo), np.asarray(open_image(photo))
    others = subprocess.run(["exiftool", "-j", "-Make", "-Model", "-DateTimeOriginal", str(photo)], capture_output=True)
    assert rotate(photo, "90") == (6, 3)
    assert _stored_pixels(photo) == stored  # exiftool changed the flag only
    assert np.array_equal(np.asarray(open_image(photo)), np.rot90(shown, -1))
    assert _exiftool_flag(photo) == 3
    if shutil.which("exiv2"):
        printed = subprocess.run(["exiv2", "-Pkv", "-K", "Exif.Image.Orientation", str(photo)], capture_output=True)
        assert printed.stdout.split()[-1] == b"3"
    after = subprocess.run(["exiftool", "-j", "-Make", "-Model", "-DateTimeOriginal", str(photo)], capture_output=True)
    assert after.stdout.replace(b"canon.jpg", b"") == others.stdout.replace(b"canon.jpg", b"")
    assert rotate(photo, "270") == (3, 6) and _stored_pixels(photo) == stored


@needs_exiftool
@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "TIFF"])
def test_png_webp_and_tiff_get_their_exif_flag(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"picture.{fmt.lower()}"
    _stored().save(path, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    shown = np.asarray(open_image(path))
    assert rotate(path, "90") == (1, 6)
    assert rotate(path, "flip") == (6, 5)
    assert current(path) == 5 and _exiftool_flag(path) == 5
    assert np.array_equal(np.asarray(open_image(path)), np.asarray(ImageOps.exif_transpose(
        _flagged(Image.fromarray(shown), 5))))  # fmt: skip
    if fmt != "TIFF":  # Pillow turns a TIFF as it opens it: its stored pixels are not Pillow's to show
        assert _stored_pixels(path) == _stored().tobytes()


def _flagged(image: Image.Image, flag: int) -> Image.Image:
    copy = Image.frombytes(image.mode, image.size, image.tobytes())
    exif = Image.Exif()
    exif[0x0112] = flag
    copy.info["exif"] = exif.tobytes()
    return copy


@pytest.mark.parametrize("suffix", [".gif", ".bmp"])
def test_formats_without_exif_keep_the_flag_in_the_sidecar(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"picture{suffix}"
    _stored().save(path)
    before = path.read_bytes()
    assert rotate(path, "90") == (1, 6)
    assert path.read_bytes() == before
    assert (tmp_path / f"picture{suffix}.xmp").exists()
    assert current(path) == 6
    assert open_image(path).size == (3, 5)


@needs_exiftool
def test_a_raw_file_is_never_written_and_a_third_party_sidecar_keeps_its_contents(tmp_path: Path) -> None:
    raw = tmp_path / "DSC_9034.NEF"
    shutil.copy(FIXTURES / "nikon.nef", raw)
    sidecar = tmp_path / "DSC_9034.NEF.xmp"  # darktable's, with its history and keywords
    shutil.copy(FIXTURES / "darktable-DSC_9034.NEF.xmp", sidecar)
    keywords, before = read_sidecar(sidecar), raw.read_bytes()
    own = current(raw)
    assert rotate(raw, "180") == (own, compose(own, "180"))
    assert raw.read_bytes() == before
    assert read_sidecar(sidecar) == keywords
    read = subprocess.run(["exiftool", "-n", "-s3", "-XMP-tiff:Orientation", str(sidecar)], capture_output=True)
    assert int(read.stdout) == compose(own, "180") == current(raw)
    assert b"darktable:history" in sidecar.read_bytes()


def test_a_read_only_file_and_a_hostile_sidecar_are_refused_and_left_alone(tmp_path: Path) -> None:
    photo = tmp_path / "locked.jpg"
    shutil.copy(FIXTURES / "canon-eos-300d-rotated.jpg", photo)
    photo.chmod(0o444)
    data = photo.read_bytes()
    with pytest.raises(OrientationError, match="read-only"):
        rotate(photo, "90")
    assert photo.read_bytes() == data
    gif = tmp_path / "bomb.gif"
    _stored().save(gif)
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&a;</x:xmpmeta>'
    )
    (tmp_path / "bomb.gif.xmp").write_bytes(hostile)
    with pytest.raises(OrientationError, match="unsafe"):
        rotate(gif, "90")
    assert (tmp_path / "bomb.gif.xmp").read_bytes() == hostile
    with pytest.raises(OrientationError, match="HEIF"):
        rotate(tmp_path / "x.heic", "90")


@needs_exiftool
@pytest.mark.backends
def test_the_library_follows_a_rotation_and_keeps_hand_made_tags(lib: Library, tmp_path: Path) -> None:
    from joytag_desktop.interchange.rotation import rotate_images

    folder = tmp_path / "Photos"
    folder.mkdir()
    shutil.copy(FIXTURES / "canon-eos-300d-rotated.jpg", folder / "canon.jpg")
    _stored().save(folder / "still.gif")
    library = lib
    library.add_folder(folder)
    library.scan()
    jpeg = library.image_by_path(folder / "canon.jpg")
    gif = library.image_by_path(folder / "still.gif")
    assert jpeg is not None and gif is not None
    assert jpeg.orientation == 6 and jpeg.displayed_size == (91, 150)
    library.set_manual_tag([jpeg.id, gif.id], "mine", True)
    report = rotate_images(library, [folder / "canon.jpg", folder / "still.gif", folder / "gone.jpg"], "90")
    assert [r[1:] for r in report.rotated] == [(6, 3), (1, 6)]
    assert len(report.errors) == 1 and report.errors[0][0].endswith("gone.jpg")
    jpeg, gif = library.image(jpeg.id), library.image(gif.id)
    assert jpeg is not None and gif is not None
    assert jpeg.orientation == 3 and jpeg.displayed_size == (150, 91)
    assert gif.orientation == 6 and gif.displayed_size == (3, 5)
    assert jpeg.status == gif.status == Status.PENDING  # the taggers see it turned: tagged again
    for image in (jpeg, gif):
        assert "mine" in {view.name for view in library.image_tags(image.id)}
    assert library.scan().changed == 0  # the library already holds what the file now says


@needs_exiftool
def test_the_rotate_command_never_imports_torch(tmp_path: Path) -> None:
    photo = tmp_path / "canon.jpg"
    shutil.copy(FIXTURES / "canon-eos-300d-rotated.jpg", photo)
    probe = (
        "import sys; from joytag_desktop.cli.main import main; "
        "rc = main(sys.argv[1:]); print('TORCH', 'torch' in sys.modules); sys.exit(rc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, "--db", str(tmp_path / "no.sqlite3"), "rotate", "flip", str(photo)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent.parent,
    )
    assert done.returncode == 0, done.stderr
    assert "orientation 6 -> 5" in done.stdout and "TORCH False" in done.stdout
    assert _exiftool_flag(photo) == 5


def test_a_raw_preview_is_shown_turned_by_the_sidecar_flag(tmp_path: Path) -> None:
    raw = tmp_path / "DSCF0001.RAF"  # its 160x120 preview comes through LibRaw
    shutil.copy(FIXTURES / "fujifilm.raf", raw)
    before, shown = raw.read_bytes(), np.asarray(open_image(raw))
    own = current(raw)
    assert rotate(raw, "90") == (own, compose(own, "90"))
    assert raw.read_bytes() == before and (tmp_path / "DSCF0001.RAF.xmp").exists()
    assert np.array_equal(np.asarray(open_image(raw)), np.rot90(shown, -1))
    rotate(raw, "flip")
    assert np.array_equal(np.asarray(open_image(raw)), np.fliplr(np.rot90(shown, -1)))
    assert raw.read_bytes() == before


@needs_exiftool
def test_a_scan_stores_the_stored_size_and_the_flag_of_turned_tiff_and_webp(tmp_path: Path) -> None:
    folder = tmp_path / "Photos"
    folder.mkdir()
    for fmt in ("TIFF", "WEBP"):
        path = folder / f"p.{fmt.lower()}"
        _stored().save(path, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
        rotate(path, "270")
    with Library(tmp_path / "lib.sqlite3") as library:
        library.add_folder(folder)
        library.scan()
        for name in ("p.tiff", "p.webp"):
            image = library.image_by_path(folder / name)
            assert image is not None
            assert (image.width, image.height, image.orientation) == (5, 3, 8)
            assert image.displayed_size == (3, 5) == open_image(folder / name).size


def test_a_jpegs_sidecar_flag_does_not_override_its_own(tmp_path: Path) -> None:
    """digiKam also writes tiff:Orientation into a JPEG's sidecar; the file's own flag is what turns it."""
    from joytag_desktop.library.scanner import read_facts

    photo = tmp_path / "canon.jpg"
    shutil.copy(FIXTURES / "canon-eos-300d-rotated.jpg", photo)
    (tmp_path / "canon.jpg.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="1"/></rdf:RDF></x:xmpmeta>'
    )
    info = photo.stat()
    assert current(photo) == 6
    assert read_facts(str(photo), info.st_size, info.st_mtime).exif["orientation"] == 6
    assert open_image(photo).size == (91, 150)
