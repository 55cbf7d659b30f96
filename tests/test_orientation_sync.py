"""An orientation another program changed is picked up by a rescan and by the watcher.

The other programs' writes are made as they make them (see ``interchange.orientation_sync``):
digiKam turns a RAW by ``Xmp.tiff.Orientation`` in its sidecar and a JPEG by
``Exif.Image.Orientation`` plus ``Xmp.tiff.Orientation`` in the file, both through Exiv2 (here the
exiv2 tool); darktable turns a picture by a ``flip`` step in its own history and writes no flag.
Each write is read back with exiftool and exiv2 before the library is asked.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from helpers.metadata_readers import EXIFTOOL, EXIV2, touch_later
from joytag_desktop.interchange.keyword_sync import import_found
from joytag_desktop.library import Library
from joytag_desktop.library.schema import Status
from joytag_desktop.media import thumbnails

FIXTURES = Path(__file__).parent / "fixtures" / "metadata"
pytestmark = pytest.mark.skipif(EXIFTOOL is None or EXIV2 is None, reason="needs exiftool and exiv2")


def exiv2_set(path: Path, *commands: str) -> None:
    """Write as digiKam does, through Exiv2; the file's time moves on as a later save's would."""
    arguments = [item for command in commands for item in ("-M", command)]
    subprocess.run(["exiv2", *arguments, str(path)], check=True, capture_output=True)
    touch_later(path)


def exiftool_flag(path: Path, tag: str) -> int | None:
    out = subprocess.run(["exiftool", "-n", "-s3", f"-{tag}", str(path)], capture_output=True, text=True).stdout
    return int(out) if out.strip() else None


def exiv2_flag(path: Path, key: str) -> int | None:
    out = subprocess.run(["exiv2", "-q", "-Pv", "-K", key, str(path)], capture_output=True, text=True).stdout
    return int(out) if out.strip() else None


def rescan(library: Library):
    return import_found(library, library.scan())


def flag_of(library: Library, image_id: int) -> int:
    """The library's flag (none read shows as 1 does)."""
    image = library.image(image_id)
    assert image is not None
    return image.orientation or 1


def thumbnail_shape(path: Path, content_hash: str) -> str:
    with Image.open(thumbnails.thumbnail_for(path, content_hash)) as image:
        return "tall" if image.height > image.width else "wide"


@pytest.mark.backends
def test_a_raws_flag_digikam_set_in_its_sidecar_is_picked_up_by_a_rescan(lib: Library, tmp_path: Path) -> None:
    folder = tmp_path / "Photos"
    folder.mkdir()
    raw = folder / "DSCF0001.RAF"
    shutil.copy(FIXTURES / "fujifilm.raf", raw)  # its own flag 1; a real 160x120 preview
    sidecar = folder / "DSCF0001.RAF.xmp"
    shutil.copy(FIXTURES / "darktable-DSC_9034.NEF.xmp", sidecar)  # a sidecar with keywords, no flag
    raw_bytes = raw.read_bytes()
    lib.add_folder(folder)
    first = rescan(lib)
    image = lib.image_by_path(raw)
    assert image is not None and image.content_hash and (image.orientation or 1) == 1
    assert first.turned_ids == []
    assert thumbnail_shape(raw, image.content_hash) == "wide"
    keywords = {view.name for view in lib.image_tags(image.id)}
    lib.set_manual_tag([image.id], "mine", True)

    exiv2_set(sidecar, "set Xmp.tiff.Orientation 6")  # digiKam: Rotate right, RAW kept as it is
    assert exiftool_flag(sidecar, "XMP-tiff:Orientation") == exiv2_flag(sidecar, "Xmp.tiff.Orientation") == 6
    report = rescan(lib)
    turned = lib.image(image.id)
    assert turned is not None and turned.orientation == 6
    assert report.turned_ids == [image.id] and report.changed == 0  # the RAW itself is unchanged
    assert turned.content_hash == image.content_hash and raw.read_bytes() == raw_bytes
    assert turned.displayed_size == (image.height, image.width)
    assert turned.status == Status.PENDING, "the taggers see it turned: tagged again"
    assert thumbnail_shape(raw, image.content_hash) == "tall", "the cached thumbnail was dropped"
    assert {view.name for view in lib.image_tags(image.id)} == keywords | {"mine"}
    assert rescan(lib).turned_ids == [], "nothing new: nothing turned again"

    # darktable edits the same sidecar: a flip step in its history (orientation 6 there, as
    # darktable's flip stores a quarter turn right) and a rating; it writes no tiff:Orientation
    # and keeps the one digiKam wrote.
    text = sidecar.read_text(encoding="utf-8")
    flip = "\n      ".join(
        ['darktable:operation="flip"', 'darktable:enabled="1"', 'darktable:modversion="2"', 'darktable:params="']
    )
    assert text.count(flip + 'ffffffff"') == 1  # the automatic step: "the file's own orientation"
    sidecar.write_text(text.replace(flip + 'ffffffff"', flip + '06000000"'), encoding="utf-8")
    exiv2_set(sidecar, "set Xmp.xmp.Rating 3")
    assert exiv2_flag(sidecar, "Xmp.tiff.Orientation") == exiftool_flag(sidecar, "XMP-tiff:Orientation") == 6
    assert rescan(lib).turned_ids == []
    assert flag_of(lib, image.id) == 6

    # digiKam's sidecar taken away: the RAW's own flag again.
    sidecar.unlink()
    report = rescan(lib)
    assert report.turned_ids == [image.id]
    assert flag_of(lib, image.id) == 1
    assert thumbnail_shape(raw, image.content_hash) == "wide"


@pytest.mark.backends
def test_the_watcher_picks_up_a_flag_set_in_a_sidecar(lib: Library, tmp_path: Path) -> None:
    folder = tmp_path / "Photos"
    folder.mkdir()
    raw = folder / "DSC_9034.NEF"
    shutil.copy(FIXTURES / "nikon.nef", raw)
    sidecar = folder / "DSC_9034.NEF.xmp"
    shutil.copy(FIXTURES / "darktable-DSC_9034.NEF.xmp", sidecar)
    lib.add_folder(folder)
    rescan(lib)
    image = lib.image_by_path(raw)
    assert image is not None
    exiv2_set(sidecar, "set Xmp.tiff.Orientation 8")
    report = import_found(lib, lib.apply_changes(created=[str(sidecar)]))  # the watcher's event
    assert report.turned_ids == [image.id]
    assert flag_of(lib, image.id) == 8
    assert b"darktable:history" in sidecar.read_bytes()


@pytest.mark.backends
def test_a_jpeg_digikam_turned_in_its_exif_is_read_again_by_a_rescan(lib: Library, tmp_path: Path) -> None:
    folder = tmp_path / "Photos"
    folder.mkdir()
    jpeg = folder / "canon.jpg"
    shutil.copy(FIXTURES / "canon-eos-300d-rotated.jpg", jpeg)  # stored 150x91, flag 6: shown 91x150
    lib.add_folder(folder)
    rescan(lib)
    image = lib.image_by_path(jpeg)
    assert image is not None and image.content_hash
    assert image.orientation == 6 and image.displayed_size == (91, 150)
    assert thumbnail_shape(jpeg, image.content_hash) == "tall"
    lib.set_manual_tag([image.id], "mine", True)

    # digiKam's Rotate left: Exif.Image.Orientation and Xmp.tiff.Orientation, written in the file.
    exiv2_set(jpeg, "set Exif.Image.Orientation 1", "set Xmp.tiff.Orientation 1")
    assert exiftool_flag(jpeg, "EXIF:Orientation") == exiv2_flag(jpeg, "Exif.Image.Orientation") == 1
    assert exiftool_flag(jpeg, "XMP-tiff:Orientation") == exiv2_flag(jpeg, "Xmp.tiff.Orientation") == 1
    report = rescan(lib)
    turned = lib.image(image.id)
    assert turned is not None and report.changed == 1
    assert turned.orientation == 1 and turned.displayed_size == (150, 91)
    assert (turned.width, turned.height) == (150, 91)  # the stored size, as before
    assert turned.content_hash and turned.content_hash != image.content_hash
    assert thumbnail_shape(jpeg, turned.content_hash) == "wide"
    assert turned.status == Status.PENDING
    assert "mine" in {view.name for view in lib.image_tags(image.id)}
