"""Keyword ownership with files written by other programs (tests/fixtures/metadata/README.md says where
each comes from), read back with exiftool and the exiv2 command line (what digiKam and darktable use).

The rule under test: the app removes from a file only entries it wrote there itself, while they are still
exactly as written; edits made elsewhere are user decisions and are never undone.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from PIL import Image

from helpers.fixture_files import FIXTURES
from helpers.library import give_scores, paths_of, write_photo
from helpers.metadata_readers import (
    EXIFTOOL,
    EXIV2,
    exiftool_read,
    exiv2_lines,
    exiv2_values,
    listed,
    run_exiftool,
    tags_of,
    touch_later,
)
from joytag_desktop.cli.main import main
from joytag_desktop.interchange.captions import CaptionOptions, export_captions
from joytag_desktop.interchange.keyword_export import export_embedded, export_xmp
from joytag_desktop.interchange.keyword_sync import import_found
from joytag_desktop.library import Library
from joytag_desktop.media.imaging import open_image
from joytag_desktop.metadata import keywords as kw
from joytag_desktop.metadata.xmp import read_sidecar

pytestmark = pytest.mark.skipif(
    EXIFTOOL is None or EXIV2 is None, reason="exiftool and exiv2 are needed (.ci/run installs both)"
)
CORPUS = FIXTURES / "metadata"
VOCAB = ["dog", "cat", "outdoors", "flower", "fate/grand_order", "o|o", "sky"]


def index(lib: Library, root: Path, scores: dict[str, dict[str, float]]) -> None:
    lib.add_root(root)
    import_found(lib, lib.scan())
    give_scores(lib, VOCAB, {root / name: value for name, value in scores.items()})


LIGHTROOM_KEYWORDS = {"root|1st|2nd", "root0|next1|next2"}


def test_unrelated_edit_elsewhere_never_deletes_keywords(lib: Library, tmp_path: Path) -> None:
    """Observed 1: a rating change in another program, a scan, a second export: the photo's own
    Lightroom hierarchy and IPTC keywords stay, in the sidecar and in the JPEG."""
    root = tmp_path / "Photos"
    root.mkdir()
    photo = root / "photo.jpg"
    shutil.copy(CORPUS / "lightroom-hierarchy.jpg", photo)
    index(lib, root, {"photo.jpg": {"dog": 0.9, "outdoors": 0.8}})
    assert {"root|1st|2nd", "root0|next1|next2"} <= set(tags_of(lib, photo))
    assert export_xmp(lib).written == 1
    sidecar = root / "photo.jpg.xmp"
    run_exiftool("-XMP-xmp:Rating=3", str(sidecar))  # what a click in Lightroom or digiKam does
    touch_later(sidecar)
    import_found(lib, lib.scan())
    assert export_xmp(lib).errors == []
    hierarchical = set(listed(exiftool_read(sidecar, "-HierarchicalSubject"), "HierarchicalSubject"))
    assert LIGHTROOM_KEYWORDS | {"JoyTag|dog", "JoyTag|outdoors"} <= hierarchical
    assert {"root/1st/2nd", "root0/next1/next2", "JoyTag/dog"} <= set(exiv2_values(sidecar, "Xmp.digiKam.TagsList"))
    assert exiftool_read(sidecar, "-Rating")["Rating"] == 3
    assert export_embedded(lib).errors == []
    embedded = exiftool_read(photo, "-HierarchicalSubject", "-Keywords", "-Subject")
    assert set(listed(embedded, "HierarchicalSubject")) >= LIGHTROOM_KEYWORDS
    assert {"1st", "2nd", "next1", "next2", "root", "root0", "dog"} <= set(listed(embedded, "Keywords"))
    assert {"2nd", "next2", "dog"} <= set(listed(embedded, "Subject"))


def test_tagslist_carries_the_existing_keywords(lib: Library, tmp_path: Path) -> None:
    """Observed 2: digiKam and Immich read TagsList alone when it exists, so it must hold every keyword."""
    root = tmp_path / "Photos"
    photo = write_photo(root / "square.jpg")
    shutil.copy(CORPUS / "photoshop-bluesquare.xmp", root / "square.jpg.xmp")
    index(lib, root, {"square.jpg": {"dog": 0.9}})
    export_xmp(lib)
    tags_list = exiv2_values(root / "square.jpg.xmp", "Xmp.digiKam.TagsList")
    assert {"XMP", "Blue Square", "test file", "Photoshop", ".jpg", "JoyTag/dog"} == set(tags_list)
    hierarchical = exiv2_values(root / "square.jpg.xmp", "Xmp.lr.hierarchicalSubject")
    assert {"XMP", "Blue Square", "JoyTag|dog"} <= set(hierarchical)
    assert set(exiv2_values(root / "square.jpg.xmp", "Xmp.dc.subject")) == {
        "XMP", "Blue Square", "test file", "Photoshop", ".jpg", "dog"
    }  # fmt: skip
    assert photo.exists()


def test_darktable_and_lightroom_edits_are_taken_in(lib: Library, tmp_path: Path) -> None:
    """Observed 3: a removal made in darktable/Lightroom (dc:subject and hierarchicalSubject, TagsList left as
    it was) is not written back, and the TagsList copy follows; an addition there is imported."""
    root = tmp_path / "Photos"
    photo = write_photo(root / "DSC_9034.jpg")
    sidecar = root / "DSC_9034.jpg.xmp"
    shutil.copy(CORPUS / "darktable-DSC_9034.NEF.xmp", sidecar)
    run_exiftool("-XMP-lr:HierarchicalSubject+=Places|Europe|Paris", "-XMP-dc:Subject+=Paris", str(sidecar))
    index(lib, root, {"DSC_9034.jpg": {"dog": 0.9, "cat": 0.8}})
    export_xmp(lib)
    assert {"Places/Europe/Paris", "JoyTag/cat"} <= set(exiv2_values(sidecar, "Xmp.digiKam.TagsList"))
    run_exiftool(
        "-XMP-dc:Subject-=cat",
        "-XMP-lr:HierarchicalSubject-=JoyTag|cat",
        "-XMP-dc:Subject-=Paris",
        "-XMP-lr:HierarchicalSubject-=Places|Europe|Paris",
        "-XMP-dc:Subject+=Rome",
        "-XMP-lr:HierarchicalSubject+=Places|Europe|Rome",
        str(sidecar),
    )
    touch_later(sidecar)
    import_found(lib, lib.scan())
    tags = tags_of(lib, photo)
    assert tags["cat"].source == "manual" and not tags["cat"].present
    assert "Places|Europe|Paris" not in tags or not tags["Places|Europe|Paris"].present
    assert tags["Places|Europe|Rome"].source == "imported"
    export_xmp(lib)
    data = exiftool_read(sidecar, "-Subject", "-HierarchicalSubject", "-TagsList", "-History", "-Rating")
    assert "cat" not in listed(data, "Subject") and "JoyTag|cat" not in listed(data, "HierarchicalSubject")
    assert "JoyTag/cat" not in listed(data, "TagsList") and "Places/Europe/Paris" not in listed(data, "TagsList")
    assert "Places/Europe/Rome" in listed(data, "TagsList")
    assert {"darktable|changed", "darktable|format|nef"} <= set(listed(data, "HierarchicalSubject"))
    assert len(data["History"]) == 14 and data["Rating"] == 1


@pytest.mark.slow
def test_user_keyword_equal_to_a_low_scored_tag_is_kept(lib: Library, tmp_path: Path) -> None:
    """Observed 4: "flower" typed by the user, scored 0.56 by the model, threshold 0.8."""
    root = tmp_path / "Photos"
    photo = write_photo(root / "a.jpg")
    run_exiftool("-XMP-dc:Subject=flower", "-IPTC:Keywords=flower", str(photo))
    shutil.copy(CORPUS / "exiftool-xmp2.xmp", root / "a.jpg.xmp")
    run_exiftool("-XMP-dc:Subject+=flower", str(root / "a.jpg.xmp"))
    index(lib, root, {"a.jpg": {"flower": 0.56, "dog": 0.9}})
    lib.set_threshold(0.8)
    export_xmp(lib)
    export_embedded(lib)
    lib.set_threshold(0.95)  # dog is no longer wanted: only our own copies go
    export_xmp(lib)
    export_embedded(lib)
    assert "flower" in listed(exiftool_read(root / "a.jpg.xmp", "-Subject"), "Subject")
    embedded = exiftool_read(photo, "-Subject", "-Keywords")
    assert "flower" in listed(embedded, "Subject") and "flower" in listed(embedded, "Keywords")
    assert "dog" not in listed(embedded, "Keywords")
    assert {"ExifTool", "XMP", "nodeID", "test"} <= set(
        listed(exiftool_read(root / "a.jpg.xmp", "-Subject"), "Subject")
    )


def test_same_stem_images_never_share_a_sidecar(lib: Library, tmp_path: Path) -> None:
    """Observed 5: photo.jpg + photo.png with --naming xmp; a RAW+JPEG pair with Lightroom's photo.xmp."""
    root = tmp_path / "Photos"
    write_photo(root / "photo.jpg")
    write_photo(root / "photo.png", color=(1, 2, 3))
    shutil.copy(CORPUS / "fujifilm.raf", root / "pair.raf")
    write_photo(root / "pair.jpg", color=(5, 6, 7))
    shutil.copy(CORPUS / "photoshop-bluesquare.xmp", root / "pair.xmp")  # Lightroom's sidecar of the RAW
    index(lib, root, {"photo.jpg": {"dog": 0.9}, "photo.png": {"cat": 0.9}, "pair.jpg": {"sky": 0.9}})
    assert paths_of(lib, '"Blue Square"') == ["pair.raf"], "photo.xmp of a RAW+JPEG pair is the RAW's"
    export_xmp(lib, naming="xmp")
    assert not (root / "photo.xmp").exists()
    assert read_sidecar(root / "photo.jpg.xmp")["subject"] == ["dog"]
    assert read_sidecar(root / "photo.png.xmp")["subject"] == ["cat"]
    assert "sky" not in read_sidecar(root / "pair.xmp")["subject"]
    assert read_sidecar(root / "pair.jpg.xmp")["subject"] == ["sky"]


def test_latin1_iptc_is_read_and_converted_not_corrupted(lib: Library, tmp_path: Path) -> None:
    """Observed 6: undeclared Latin-1 IPTC (older cameras and software)."""
    root = tmp_path / "Photos"
    root.mkdir()
    photo = root / "iptc.jpg"
    shutil.copy(CORPUS / "exiftool-iptc.jpg", photo)
    # The exiftool sample has no CodedCharacterSet; give it Latin-1 text as such software wrote it.
    run_exiftool("-charset", "iptc=latin", "-IPTC:City=München", "-IPTC:Keywords+=Müller", str(photo))
    assert b"M\xfcller" in photo.read_bytes() and "CodedCharacterSet" not in exiftool_read(photo, "-IPTC:all")
    index(lib, root, {"iptc.jpg": {"dog": 0.9}})
    assert "Müller" in tags_of(lib, photo)
    assert export_embedded(lib).errors == []
    data = exiftool_read(photo, "-IPTC:all")
    assert data["City"] == "München" and data["CodedCharacterSet"] == "UTF8"
    assert {"ExifTool", "Test", "IPTC", "Müller", "dog"} <= set(listed(data, "Keywords"))
    assert data["Caption-Abstract"] == "A witty caption"
    assert "München" in exiv2_lines(photo)


def test_embedded_two_way_sync(lib: Library, tmp_path: Path) -> None:
    """Observed 7: our own embedded keywords are not re-imported, a deletion elsewhere stays deleted, and
    files tagged by Lightroom get the new keywords in hierarchicalSubject too."""
    root = tmp_path / "Photos"
    root.mkdir()
    photo = root / "lr.jpg"
    shutil.copy(CORPUS / "lightroom-hierarchy.jpg", photo)
    index(lib, root, {"lr.jpg": {"dog": 0.9, "cat": 0.9}})
    assert export_embedded(lib).written == 1
    report = import_found(lib, lib.scan())
    assert report.changed == 0 and lib.count("status:pending") == 0
    tags = tags_of(lib, photo)
    assert tags["dog"].source == "ai" and tags["cat"].source == "ai", "our own keywords are not imported"
    assert "JoyTag|dog" in listed(exiftool_read(photo, "-HierarchicalSubject"), "HierarchicalSubject")
    run_exiftool("-XMP-dc:Subject-=cat", "-XMP-lr:HierarchicalSubject-=JoyTag|cat", "-IPTC:Keywords-=cat", str(photo))
    import_found(lib, lib.scan())
    assert tags_of(lib, photo)["cat"].source == "manual"
    export_embedded(lib)
    data = exiftool_read(photo, "-Subject", "-Keywords", "-TagsList")
    assert "cat" not in listed(data, "Subject") and "cat" not in listed(data, "Keywords")
    assert "JoyTag/cat" not in listed(data, "TagsList") and "JoyTag/dog" in listed(data, "TagsList")


def test_new_files_get_the_umask_mode_and_existing_keep_theirs(lib: Library, tmp_path: Path) -> None:
    """Observed 8: sidecars and captions readable by other accounts, NAS shares and containers."""
    root = tmp_path / "Photos"
    write_photo(root / "a.jpg")
    write_photo(root / "b.jpg", color=(3, 3, 3))
    index(lib, root, {"a.jpg": {"dog": 0.9}, "b.jpg": {"cat": 0.9}})
    (root / "b.jpg.xmp").write_bytes((CORPUS / "exiftool-xmp.xmp").read_bytes())
    os.chmod(root / "b.jpg.xmp", 0o640)
    old = os.umask(0o022)
    try:
        assert export_xmp(lib).written == 2
        export_captions(lib)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(root / "a.jpg.xmp").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(root / "a.txt").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(root / "b.jpg.xmp").st_mode) == 0o640


def test_tags_with_separators_round_trip(lib: Library, tmp_path: Path) -> None:
    """Observed 9: fate/grand_order in TagsList and o|o in hierarchicalSubject, never treated as deleted."""
    root = tmp_path / "Photos"
    photo = write_photo(root / "a.jpg")
    index(lib, root, {"a.jpg": {"fate/grand_order": 0.9, "o|o": 0.9}})
    export_xmp(lib)
    sidecar = root / "a.jpg.xmp"
    assert "JoyTag/fate\u2215grand_order" in exiv2_values(sidecar, "Xmp.digiKam.TagsList")
    assert "JoyTag|o\u00a6o" in listed(exiftool_read(sidecar, "-HierarchicalSubject"), "HierarchicalSubject")
    touch_later(sidecar)
    import_found(lib, lib.scan())
    tags = tags_of(lib, photo)
    assert tags["fate/grand_order"].source == "ai" and tags["fate/grand_order"].present
    assert tags["o|o"].source == "ai" and tags["o|o"].present
    assert export_xmp(lib).unchanged == 1


def test_hierarchies_are_kept_and_searchable(lib: Library, tmp_path: Path) -> None:
    """Observed 10: Places|Europe|Paris stays a hierarchy; a parent finds its children; two Paris stay two."""
    root = tmp_path / "Photos"
    a = write_photo(root / "a.jpg")
    b = write_photo(root / "b.jpg", color=(1, 1, 1))
    run_exiftool("-XMP-lr:HierarchicalSubject=Places|Europe|Paris", "-XMP-dc:Subject=Paris", str(a))
    run_exiftool("-XMP-digiKam:TagsList=Places/America/Texas/Paris", str(b))
    lib.add_root(root)
    import_found(lib, lib.scan())
    assert "Places|Europe|Paris" in tags_of(lib, a) and "Places|America|Texas|Paris" in tags_of(lib, b)
    assert paths_of(lib, "Places") == ["a.jpg", "b.jpg"]
    assert paths_of(lib, "Paris") == ["a.jpg", "b.jpg"]
    assert paths_of(lib, "Europe") == ["a.jpg"] and paths_of(lib, "Texas") == ["b.jpg"]
    assert paths_of(lib, '"Places|Europe|Paris"') == ["a.jpg"]


def test_smaller_sidecar_and_caption_defects(lib: Library, tmp_path: Path, capsys) -> None:
    """Observed 11: other-case sidecars, UTF-16 sidecars, empty files, read-only images, double paths,
    two images with one caption file."""
    root = tmp_path / "Photos"
    write_photo(root / "IMG_0001.JPG")
    (root / "IMG_0001.XMP").write_bytes((CORPUS / "exiftool-xmp.xmp").read_bytes())
    write_photo(root / "lr4.jpg", color=(2, 2, 2))
    text = (CORPUS / "photoshop-bluesquare.xmp").read_text(encoding="utf-8")
    (root / "lr4.xmp").write_bytes(text.encode("utf-16"))  # Lightroom 4 wrote UTF-16 sidecars
    write_photo(root / "untagged.jpg", color=(4, 4, 4))
    readonly = write_photo(root / "readonly.jpg", color=(5, 5, 5))
    write_photo(root / "pair.jpg", color=(6, 6, 6))
    write_photo(root / "pair.png", color=(7, 7, 7))
    index(
        lib,
        root,
        {
            "IMG_0001.JPG": {"dog": 0.9},
            "lr4.jpg": {"cat": 0.9},
            "readonly.jpg": {"dog": 0.9},
            "pair.jpg": {"dog": 0.9},
            "pair.png": {"cat": 0.9},
        },
    )
    report = export_xmp(lib)
    assert not report.errors, report.errors
    assert not (root / "IMG_0001.JPG.xmp").exists() and "dog" in read_sidecar(root / "IMG_0001.XMP")["subject"]
    assert (root / "lr4.xmp").read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff"), "kept in UTF-16"
    assert {"cat", "Blue Square"} <= set(listed(exiftool_read(root / "lr4.xmp", "-Subject"), "Subject"))
    assert not (root / "untagged.jpg.xmp").exists(), "no empty sidecar"
    export_captions(lib)
    assert not (root / "untagged.txt").exists() and not (root / "pair.txt").exists()
    os.chmod(readonly, 0o444)
    before = readonly.read_bytes()
    db = str(tmp_path / "lib.sqlite3")
    assert main(["--db", db, "export", "embedded", "name:readonly"]) == 1
    err = capsys.readouterr().err
    assert "read-only" in err and err.count(str(readonly)) == 1
    assert readonly.read_bytes() == before


@pytest.mark.slow
def test_raw_files_are_indexed_tagged_from_their_preview_and_never_written(
    lib: Library, tmp_path: Path, tiny_model_dir: Path, capsys
) -> None:
    """Observed 12: RAW files were skipped. The RAF preview comes through LibRaw; the DNG (a stripped exiftool
    sample LibRaw refuses) gets a real preview written by exiftool and is read through exiftool."""
    root = tmp_path / "Raw"
    root.mkdir()
    shutil.copy(CORPUS / "fujifilm.raf", root / "DSCF0001.RAF")
    dng = root / "IMG_0002.dng"
    shutil.copy(CORPUS / "canon.dng", dng)
    preview = tmp_path / "preview.jpg"
    Image.new("RGB", (320, 212), (200, 40, 40)).save(preview, quality=90)
    run_exiftool(f"-PreviewImage<={preview}", str(dng))
    shutil.copy(CORPUS / "nikon.nef", root / "broken.nef")  # placeholder preview only: an error, not a crash
    raw_bytes = {p.name: p.read_bytes() for p in root.iterdir()}
    assert open_image(root / "DSCF0001.RAF").size == (160, 120)
    assert open_image(dng).size == (320, 212)
    lib.add_root(root)
    import_found(lib, lib.scan())
    assert lib.count("ext:raf") == 1 and lib.count("ext:dng") == 1
    assert main(["tag", "--model", str(tiny_model_dir), "--format", "jsonl", str(root)]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_name = {Path(line["path"]).name: line for line in lines}
    assert by_name["DSCF0001.RAF"]["tags"] and by_name["IMG_0002.dng"]["tags"]
    assert "preview" in by_name["broken.nef"]["error"]
    give_scores(lib, VOCAB, {root / "DSCF0001.RAF": {"dog": 0.9}, dng: {"cat": 0.9}})
    assert export_xmp(lib).written == 2
    assert read_sidecar(root / "DSCF0001.RAF.xmp")["subject"] == ["dog"]
    report = export_embedded(lib, query="ext:raf | ext:dng")
    assert report.written == 0 and all("never written" in reason for _, reason in report.errors)
    for name, data in raw_bytes.items():
        assert (root / name).read_bytes() == data, f"{name} was changed"


def test_a_write_cut_short_keeps_ownership(tmp_path: Path) -> None:
    """A kill between the rename and the record of it: the next read adopts the pending state instead of
    reading our own changes as someone else's deletions."""
    record = kw.SyncRecord()
    before = kw.normalise({"subject": ["flower"], "hierarchical": [], "tags_list": []})
    first = kw.read_file(before, record).record
    plan = kw.plan_write(before, first, [kw.Wanted("dog", True)], [])
    first.pending = plan.properties
    after = kw.read_file(plan.properties, first)
    assert after.deleted == [] and after.added == []


def test_captions_are_what_kohya_reads(lib: Library, tmp_path: Path) -> None:
    """Keywords with commas stay one tag, hierarchies give their leaf, darktable's bookkeeping is no caption."""
    root = tmp_path / "Photos"
    photo = write_photo(root / "DSC_9034.jpg")
    shutil.copy(CORPUS / "darktable-DSC_9034.NEF.xmp", root / "DSC_9034.jpg.xmp")
    run_exiftool(
        "-XMP-lr:HierarchicalSubject+=People|Smith, John",
        "-XMP-dc:Subject+=Smith, John",
        str(root / "DSC_9034.jpg.xmp"),
    )
    index(lib, root, {"DSC_9034.jpg": {"dog": 0.9}})
    assert "People|Smith, John" in tags_of(lib, photo)
    export_captions(lib, options=CaptionOptions())
    assert (root / "DSC_9034.txt").read_text() == "Smith John, dog\n"


def test_a_sidecar_beside_a_raw_without_a_usable_preview_is_imported(lib: Library, tmp_path: Path) -> None:
    """exiftool's Nikon.nef (26-byte preview) with a darktable sidecar added later: the rescan took
    the RAW's "embedded keywords" through its preview and failed as a whole. Keywords of a RAW come
    from its sidecar only; the scan goes on."""
    root = tmp_path / "Photos"
    root.mkdir()
    shutil.copy(CORPUS / "nikon.nef", root / "DSC_9034.NEF")
    write_photo(root / "other.jpg")
    lib.add_root(root)
    import_found(lib, lib.scan())
    sidecar = root / "DSC_9034.NEF.xmp"
    shutil.copy(CORPUS / "darktable-DSC_9034.NEF.xmp", sidecar)
    run_exiftool("-XMP-dc:Subject+=Paris", "-XMP-lr:HierarchicalSubject+=Places|Paris", str(sidecar))
    touch_later(sidecar)
    report = import_found(lib, lib.scan())
    assert report.unchanged == 2, report.summary()
    assert paths_of(lib, "Paris") == ["DSC_9034.NEF"]
