"""Stars, colour labels and picks read from and written to the fields other programs use, two-way,
with files those programs wrote (tests/fixtures/metadata/README.md) and their edits reproduced as they
make them; what the app writes is read back with exiftool and exiv2 (digiKam's and darktable's reader).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers.fixture_files import FIXTURES
from helpers.library import write_photo
from helpers.metadata_readers import EXIFTOOL, EXIV2, exiftool_read, exiv2_lines, run_exiftool, touch_later
from joytag_desktop.interchange.keyword_export import export_embedded, export_xmp
from joytag_desktop.interchange.keyword_sync import import_found
from joytag_desktop.library import Library
from joytag_desktop.metadata.marks import Marks

pytestmark = [
    pytest.mark.skipif(
        EXIFTOOL is None or EXIV2 is None, reason="exiftool and exiv2 are needed (.ci/run installs both)"
    ),
    pytest.mark.backends,  # the same tests on SQLite and on PostgreSQL
]
CORPUS = FIXTURES / "metadata"


def scan(lib: Library) -> None:
    import_found(lib, lib.scan())


def marks_of(lib: Library, path: Path) -> Marks:
    image = lib.image_by_path(path)
    assert image is not None
    return lib.marks([image.id])[image.id]


def exiv2_value(path: Path, key: str) -> str | None:
    for line in exiv2_lines(path).splitlines():
        parts = line.split(None, 3)
        if parts and parts[0] == key:
            return parts[3].strip() if len(parts) > 3 else ""
    return None


def folder_with(tmp_path: Path, *files: tuple[str, str]) -> Path:
    root = tmp_path / "Photos"
    root.mkdir()
    for source, name in files:
        shutil.copy(CORPUS / source, root / name)
    return root


def test_digikam_marks_are_read_on_scan_and_its_changes_on_rescan(lib: Library, tmp_path: Path) -> None:
    """digiKam's JPEG: 4 stars (xmp:Rating, MicrosoftPhoto:Rating 75, EXIF Rating and RatingPercent),
    ColorLabel 9 (white), PickLabel 3 (accepted). Then a change as digiKam writes it is read back."""
    root = folder_with(tmp_path, ("digikam-berlin.jpg", "berlin.jpg"))
    photo = root / "berlin.jpg"
    lib.add_root(root)
    scan(lib)
    assert marks_of(lib, photo) == Marks(4, "white", "picked")
    # digiKam: 2 stars, green, rejected (it writes all its fields at once)
    run_exiftool(
        "-XMP-xmp:Rating=2", "-XMP-microsoft:RatingPercent=25", "-EXIF:Rating=2", "-EXIF:RatingPercent=25",
        "-XMP-digiKam:ColorLabel=4", "-XMP-digiKam:PickLabel=1", str(photo),
    )  # fmt: skip
    touch_later(photo)
    scan(lib)
    assert marks_of(lib, photo) == Marks(2, "green", "rejected")
    assert lib.search("stars:2 label:green pick:rejected").ids == [lib.image_by_path(photo).id]


def test_rejected_sidecar_then_lightroom_rating_and_label(lib: Library, tmp_path: Path) -> None:
    """A RAW's sidecar saying Rating -1 (rejected, element form as Exiv2 writes it); then Lightroom
    rates it 4 and labels it Red (it writes xmp:Rating and its colour name in xmp:Label)."""
    root = folder_with(tmp_path, ("nikon.nef", "DSC_0001.NEF"), ("photoprism-rating-rejected.xmp", "DSC_0001.xmp"))
    raw, sidecar = root / "DSC_0001.NEF", root / "DSC_0001.xmp"
    lib.add_root(root)
    scan(lib)
    assert marks_of(lib, raw) == Marks(-1, None, None)
    assert lib.search("stars:-1").ids == [lib.image_by_path(raw).id]
    run_exiftool("-XMP-xmp:Rating=4", "-XMP-xmp:Label=Red", str(sidecar))
    touch_later(sidecar)
    scan(lib)
    assert marks_of(lib, raw) == Marks(4, "red", None)


def test_digikam_sidecar_label_both_ways(lib: Library, tmp_path: Path) -> None:
    """digiKam's sidecar says no colour (ColorLabel 0, xmp:Label NoColor): a label set here is written
    to both fields; digiKam's next change (all its fields at once) is read on rescan."""
    root = tmp_path / "Photos"
    photo = write_photo(root / "aurora.jpg")
    sidecar = root / "aurora.jpg.xmp"
    shutil.copy(CORPUS / "digikam-aurora.jpg.xmp", sidecar)
    lib.add_root(root)
    scan(lib)
    assert marks_of(lib, photo) == Marks(None, None, None)
    lib.set_mark([lib.image_by_path(photo).id], "label", "red")
    assert export_xmp(lib).written == 1
    assert exiftool_read(sidecar, "-n", "-XMP-digiKam:ColorLabel")["ColorLabel"] == 1
    assert exiv2_value(sidecar, "Xmp.xmp.Label") == "Red"
    assert {"Nature", "Aurora"} <= set(exiftool_read(sidecar, "-Subject")["Subject"])  # its keywords stay
    run_exiftool(
        "-XMP-xmp:Rating=3", "-XMP-microsoft:RatingPercent=50", "-XMP-digiKam:ColorLabel=4",
        "-XMP-xmp:Label=Green", "-XMP-digiKam:PickLabel=3", str(sidecar),
    )  # fmt: skip
    touch_later(sidecar)
    scan(lib)
    assert marks_of(lib, photo) == Marks(3, "green", "picked")


def test_darktable_sidecar_colour_labels(lib: Library, tmp_path: Path) -> None:
    """darktable keeps its labels as a list (0 red … 4 purple) beside xmp:Rating."""
    root = folder_with(tmp_path, ("nikon.nef", "DSC_9034.NEF"), ("darktable-DSC_9034.NEF.xmp", "DSC_9034.NEF.xmp"))
    sidecar = root / "DSC_9034.NEF.xmp"
    lib.add_root(root)
    scan(lib)
    assert marks_of(lib, root / "DSC_9034.NEF") == Marks(1, None, None)
    # As darktable writes a label: its rdf:Seq of numbers, here yellow (1) and blue (3).
    text = sidecar.read_text()
    labels = (
        "<darktable:colorlabels>\n    <rdf:Seq>\n     <rdf:li>1</rdf:li>\n     <rdf:li>3</rdf:li>\n"
        "    </rdf:Seq>\n   </darktable:colorlabels>\n   "
    )
    sidecar.write_text(text.replace("<darktable:history>", labels + "<darktable:history>", 1))
    touch_later(sidecar)
    scan(lib)
    assert marks_of(lib, root / "DSC_9034.NEF") == Marks(1, "yellow", None)
    lib.set_mark([lib.image_by_path(root / "DSC_9034.NEF").id], "label", "green")
    assert export_xmp(lib).errors == []
    assert "<rdf:li>2</rdf:li>" in sidecar.read_text()  # darktable's own list kept in step
    assert exiftool_read(sidecar, "-XMP-xmp:Label")["Label"] == "Green"
    assert exiv2_value(sidecar, "Xmp.xmp.Label") == "Green"
    assert "darktable:history" in sidecar.read_text()  # the edit history is untouched


def test_marks_set_here_are_written_and_read_by_exiftool_and_exiv2(lib: Library, tmp_path: Path) -> None:
    root = folder_with(tmp_path, ("digikam-berlin.jpg", "berlin.jpg"))
    photo = root / "berlin.jpg"
    lib.add_root(root)
    scan(lib)
    image_id = lib.image_by_path(photo).id
    lib.set_mark([image_id], "stars", 5)
    lib.set_mark([image_id], "label", "blue")
    lib.set_mark([image_id], "pick", "rejected")
    assert export_xmp(lib).errors == []
    sidecar = root / "berlin.jpg.xmp"
    data = exiftool_read(sidecar, "-XMP-xmp:Rating", "-XMP-xmp:Label", "-XMP-digiKam:PickLabel")
    assert (data["Rating"], data["Label"], data["PickLabel"]) == (5, "Blue", 1)
    assert exiv2_value(sidecar, "Xmp.xmp.Rating") == "5"
    assert exiv2_value(sidecar, "Xmp.digiKam.PickLabel") == "1"
    assert export_embedded(lib).errors == []
    data = exiftool_read(photo, "-G1", "-n", "-Rating", "-RatingPercent", "-ColorLabel", "-PickLabel", "-Label")
    assert data["XMP-xmp:Rating"] == 5 and data["IFD0:Rating"] == 5
    assert data["XMP-microsoft:RatingPercent"] == 99 and data["IFD0:RatingPercent"] == 99
    assert data["XMP-digiKam:ColorLabel"] == 5 and data["XMP-xmp:Label"] == "Blue"
    assert data["XMP-digiKam:PickLabel"] == 1
    assert exiv2_value(photo, "Xmp.digiKam.ColorLabel") == "5"
    assert exiv2_value(photo, "Xmp.MicrosoftPhoto.Rating") == "99"
    scan(lib)  # our own writes read back as what the library says
    assert marks_of(lib, photo) == Marks(5, "blue", "rejected")
    lib.set_mark([image_id], "stars", -1)
    assert export_embedded(lib).errors == []
    data = exiftool_read(photo, "-G1", "-n", "-Rating", "-RatingPercent")
    assert data["XMP-xmp:Rating"] == -1 and "XMP-microsoft:RatingPercent" not in data


def test_a_newer_change_elsewhere_is_never_overwritten(lib: Library, tmp_path: Path) -> None:
    root = folder_with(tmp_path, ("digikam-berlin.jpg", "berlin.jpg"))
    photo = root / "berlin.jpg"
    lib.add_root(root)
    scan(lib)
    image_id = lib.image_by_path(photo).id
    assert export_xmp(lib).errors == []  # the sidecar now says 4 stars, white
    sidecar = root / "berlin.jpg.xmp"
    lib.set_mark([image_id], "stars", 5)  # here
    run_exiftool("-XMP-xmp:Rating=1", str(sidecar))  # and later, elsewhere (not rescanned yet)
    touch_later(sidecar)
    assert export_xmp(lib).errors == []
    assert exiftool_read(sidecar, "-XMP-xmp:Rating")["Rating"] == 1
    assert marks_of(lib, photo).stars == 1
    lib.set_mark([image_id], "label", "red")  # unchanged there: ours is written
    assert export_xmp(lib).written == 1
    assert exiftool_read(sidecar, "-XMP-xmp:Label")["Label"] == "Red"
    assert exiftool_read(sidecar, "-XMP-xmp:Rating")["Rating"] == 1


@pytest.mark.parametrize("rating", ["inf", "1e400", "NaN", "-Infinity"])
def test_a_rating_that_is_no_finite_number_is_ignored_not_a_traceback(
    lib: Library, tmp_path: Path, rating: str
) -> None:
    """A hand-edited or broken sidecar's Rating ("inf", "1e400", "NaN") and Windows' percent read
    as no stars: the scan goes on, and an export leaves the odd text where it is."""
    root = folder_with(tmp_path, ("nikon.nef", "DSC_0001.NEF"), ("photoprism-rating-rejected.xmp", "DSC_0001.xmp"))
    sidecar = root / "DSC_0001.xmp"
    text = sidecar.read_text().replace("<xmp:Rating>-1</xmp:Rating>", f"<xmp:Rating>{rating}</xmp:Rating>")
    sidecar.write_text(
        text.replace(
            'xmlns:xmp="',
            f'MicrosoftPhoto:Rating="{rating}" xmlns:MicrosoftPhoto="http://ns.microsoft.com/photo/1.0/" xmlns:xmp="',
        )
    )
    lib.add_root(root)
    scan(lib)
    assert marks_of(lib, root / "DSC_0001.NEF") == Marks(None, None, None)
    assert export_xmp(lib).errors == []
    assert f"<xmp:Rating>{rating}</xmp:Rating>" in sidecar.read_text()


def test_taking_a_label_off_keeps_a_custom_label_name_the_app_never_read(lib: Library, tmp_path: Path) -> None:
    """Lightroom's custom label sets write their own names in xmp:Label ("Approved"), which this app
    does not read; the red it shows comes from digiKam's ColorLabel. Taking red off here clears
    ColorLabel and leaves "Approved" in place: the app never removes a value it did not write."""
    root = tmp_path / "Photos"
    photo = write_photo(root / "aurora.jpg")
    sidecar = root / "aurora.jpg.xmp"
    shutil.copy(CORPUS / "digikam-aurora.jpg.xmp", sidecar)
    run_exiftool("-XMP-xmp:Label=Approved", "-XMP-digiKam:ColorLabel=1", str(sidecar))
    lib.add_root(root)
    scan(lib)
    assert marks_of(lib, photo).label == "red"
    lib.set_mark([lib.image_by_path(photo).id], "label", None)
    assert export_xmp(lib).errors == []
    assert exiftool_read(sidecar, "-n", "-XMP-digiKam:ColorLabel")["ColorLabel"] == 0
    assert exiv2_value(sidecar, "Xmp.xmp.Label") == "Approved"
    scan(lib)
    assert marks_of(lib, photo).label is None


def test_darktables_other_colour_labels_stay_when_the_shown_one_changes(lib: Library, tmp_path: Path) -> None:
    """darktable keeps several labels at once (here yellow and blue); the app shows the first.
    Changing that one leaves blue, which the user never touched here; "no label" clears them all
    (one left would be read back as the image's label)."""
    root = folder_with(tmp_path, ("nikon.nef", "DSC_9034.NEF"), ("darktable-DSC_9034.NEF.xmp", "DSC_9034.NEF.xmp"))
    sidecar, raw = root / "DSC_9034.NEF.xmp", root / "DSC_9034.NEF"
    labels = (
        "<darktable:colorlabels>\n    <rdf:Seq>\n     <rdf:li>1</rdf:li>\n     <rdf:li>3</rdf:li>\n"
        "    </rdf:Seq>\n   </darktable:colorlabels>\n   "
    )
    sidecar.write_text(sidecar.read_text().replace("<darktable:history>", labels + "<darktable:history>", 1))
    lib.add_root(root)
    scan(lib)
    assert marks_of(lib, raw).label == "yellow"
    image_id = lib.image_by_path(raw).id

    lib.set_mark([image_id], "label", "green")
    assert export_xmp(lib).errors == []
    assert exiv2_value(sidecar, "Xmp.darktable.colorlabels") == "2, 3"  # darktable's reader
    lib.set_mark([image_id], "label", None)
    assert export_xmp(lib).errors == []
    assert exiv2_value(sidecar, "Xmp.darktable.colorlabels") is None
    assert exiftool_read(sidecar, "-XMP-xmp:Label").get("Label") is None
