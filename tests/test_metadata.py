"""Metadata out and in, checked with the real exiftool: sidecars, embedded keywords, captions, import."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers.library import give_scores, paths_of, write_photo
from joytag_desktop.cli.main import main
from joytag_desktop.interchange.captions import CaptionOptions, export_captions
from joytag_desktop.interchange.keyword_export import export_embedded, export_xmp
from joytag_desktop.interchange.keyword_sync import import_found
from joytag_desktop.interchange.table import export_table
from joytag_desktop.library import Library
from joytag_desktop.metadata.xmp import SidecarError, read_sidecar

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed (.ci/run installs it)")
VOCAB = ["cat", "dog", "outdoors", "indoors", "saber_(fate)", "sky"]


def exiftool(*args: str) -> dict:
    result = subprocess.run([EXIFTOOL, "-j", "-struct", *args], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)[0]


def as_list(value) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def tagged(lib: Library, root: Path, scores: dict[str, dict[str, float]]) -> None:
    lib.add_root(root)
    import_found(lib, lib.scan())
    give_scores(lib, VOCAB, {root / name: value for name, value in scores.items()})


@needs_exiftool
def test_sidecar_keywords_read_back_by_exiftool(lib: Library, tmp_path: Path) -> None:
    root = tmp_path / "Photos"
    photo = write_photo(root / "beach.jpg")
    before = photo.read_bytes()
    tagged(lib, root, {"beach.jpg": {"dog": 0.9, "outdoors": 0.8, "sky": 0.3, "saber_(fate)": 0.5}})
    report = export_xmp(lib)
    assert report.written == 1 and not report.errors
    sidecar = root / "beach.jpg.xmp"
    data = exiftool("-XMP-dc:Subject", "-XMP-lr:HierarchicalSubject", "-XMP-digiKam:TagsList", str(sidecar))
    assert as_list(data.get("Subject")) == ["dog", "outdoors", "saber_(fate)"]
    assert as_list(data.get("HierarchicalSubject")) == ["JoyTag|dog", "JoyTag|outdoors", "JoyTag|saber_(fate)"]
    assert as_list(data.get("TagsList")) == ["JoyTag/dog", "JoyTag/outdoors", "JoyTag/saber_(fate)"]
    assert photo.read_bytes() == before, "writing a sidecar never touches the image"
    assert export_xmp(lib).unchanged == 1


def test_lightroom_naming_and_existing_sidecar_wins(lib: Library, tmp_path: Path) -> None:
    root = tmp_path / "Photos"
    write_photo(root / "a.jpg")
    write_photo(root / "b.jpg")
    tagged(lib, root, {"a.jpg": {"cat": 0.9}, "b.jpg": {"dog": 0.9}})
    (root / "b.jpg.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>'
    )
    (root / "b.xmp").write_text("<not even xml")
    export_xmp(lib, naming="xmp")
    assert (root / "a.xmp").exists() and not (root / "a.jpg.xmp").exists()
    assert read_sidecar(root / "b.jpg.xmp")["subject"] == ["dog"], "photo.jpg.xmp wins when both exist"
    assert (root / "b.xmp").read_text() == "<not even xml"


DARKTABLE_SIDECAR = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:darktable="http://darktable.sf.net/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    xmp:Rating="4"
    xmp:Label="Red"
    darktable:history_end="2">
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:operation="exposure" darktable:enabled="1" darktable:params="0000000000"/>
     <rdf:li darktable:operation="colorbalancergb" darktable:enabled="1" darktable:params="abcdef"/>
    </rdf:Seq>
   </darktable:history>
   <dc:subject>
    <rdf:Bag>
     <rdf:li>Paris</rdf:li>
     <rdf:li>holiday</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <lr:hierarchicalSubject>
    <rdf:Bag>
     <rdf:li>Places|France|Paris</rdf:li>
    </rdf:Bag>
   </lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
"""


@needs_exiftool
def test_sidecar_merge_keeps_everything_else_over_two_rounds(lib: Library, tmp_path: Path) -> None:
    root = tmp_path / "Photos"
    photo = write_photo(root / "IMG_1.jpg")
    (root / "IMG_1.jpg.xmp").write_text(DARKTABLE_SIDECAR, encoding="utf-8")
    tagged(lib, root, {"IMG_1.jpg": {"dog": 0.9, "outdoors": 0.8}})
    image = lib.image_by_path(photo)
    assert {v.name: v.source for v in lib.image_tags(image.id)}["Places|France|Paris"] == "imported"
    assert paths_of(lib, "source:imported Paris") == ["IMG_1.jpg"]

    export_xmp(lib)
    lib.set_manual_tag([image.id], "outdoors", False)
    lib.set_manual_tag([image.id], "my_album", True)
    export_xmp(lib)

    data = exiftool("-XMP:all", str(root / "IMG_1.jpg.xmp"))
    assert data["Rating"] == 4 and data["Label"] == "Red"
    assert data["History_end"] == 2
    history = data["History"]
    assert [entry["Operation"] for entry in history] == ["exposure", "colorbalancergb"]
    assert history[1]["Params"] == "abcdef"
    subject = as_list(data["Subject"])
    assert {"Paris", "holiday", "dog", "my_album"} <= set(subject) and "outdoors" not in subject
    hierarchical = as_list(data["HierarchicalSubject"])
    assert "Places|France|Paris" in hierarchical and "JoyTag|dog" in hierarchical
    assert "JoyTag|outdoors" not in hierarchical and "JoyTag|Paris" not in hierarchical
    assert "my_album" in as_list(data["TagsList"])  # the user's keyword, not under the model's parent


@needs_exiftool
def test_two_way_sync_does_not_resurrect_deleted_keywords(lib: Library, tmp_path: Path) -> None:
    root = tmp_path / "Photos"
    photo = write_photo(root / "a.jpg")
    tagged(lib, root, {"a.jpg": {"dog": 0.9, "cat": 0.8}})
    export_xmp(lib)
    sidecar = root / "a.jpg.xmp"
    # Another program (digiKam, say) removes "cat" and adds "People/Family".
    subprocess.run(
        [
            EXIFTOOL,
            "-overwrite_original",
            "-XMP-dc:Subject-=cat",
            "-XMP-lr:HierarchicalSubject-=JoyTag|cat",
            "-XMP-digiKam:TagsList-=JoyTag/cat",
            "-XMP-dc:Subject+=Family",
            "-XMP-lr:HierarchicalSubject+=People|Family",
            "-XMP-digiKam:TagsList+=People/Family",
            str(sidecar),
        ],
        check=True,
        capture_output=True,
    )
    os.utime(sidecar, (os.stat(sidecar).st_atime, os.stat(sidecar).st_mtime + 10))
    import_found(lib, lib.scan())
    views = {v.name: v for v in lib.image_tags(lib.image_by_path(photo).id)}
    assert not views["cat"].present and views["cat"].source == "manual"
    assert views["People|Family"].source == "imported"
    export_xmp(lib)
    subject = as_list(exiftool("-XMP-dc:Subject", str(sidecar)).get("Subject"))
    assert "cat" not in subject and {"dog", "Family"} <= set(subject)


@pytest.mark.parametrize(
    "hostile",
    [
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">&b;</x:xmpmeta>',
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">&e;</x:xmpmeta>',
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF",
        "plain text, not XML at all",
    ],
)
def test_hostile_or_malformed_sidecars_are_refused_and_left_alone(
    lib: Library, tmp_path: Path, hostile: str, caplog
) -> None:
    root = tmp_path / "Photos"
    write_photo(root / "a.jpg")
    sidecar = root / "a.jpg.xmp"
    sidecar.write_text(hostile)
    tagged(lib, root, {"a.jpg": {"dog": 0.9}})
    assert lib.count("status:tagged") == 1, "the image is indexed and tagged all the same"
    with pytest.raises(SidecarError):
        read_sidecar(sidecar)
    report = export_xmp(lib)
    assert report.written == 0 and len(report.errors) == 1
    assert sidecar.read_text() == hostile


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_folder_is_reported(lib: Library, tmp_path: Path) -> None:  # pragma: no cover - needs non-root
    root = tmp_path / "Photos"
    write_photo(root / "a.jpg")
    tagged(lib, root, {"a.jpg": {"dog": 0.9}})
    root.chmod(0o555)
    try:
        report = export_xmp(lib)
        assert report.written == 0 and "cannot write" in report.errors[0][1]
    finally:
        root.chmod(0o755)


@needs_exiftool
@pytest.mark.parametrize("suffix", [".jpg", ".tif", ".png", ".webp"])
def test_embedded_keywords_keep_pixels_identical(lib: Library, tmp_path: Path, suffix: str) -> None:
    root = tmp_path / "Photos"
    photo = root / f"pic{suffix}"
    photo.parent.mkdir(parents=True)
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(photo)
    pixels = np.asarray(Image.open(photo).convert("RGB")).copy()
    tagged(lib, root, {photo.name: {"dog": 0.9, "saber_(fate)": 0.7}})
    report = export_embedded(lib)
    assert report.written == 1, report.errors
    data = exiftool("-XMP-dc:Subject", "-IPTC:Keywords", str(photo))
    assert as_list(data.get("Subject")) == ["dog", "saber_(fate)"]
    if suffix in (".jpg", ".tif"):
        assert as_list(data.get("Keywords")) == ["dog", "saber_(fate)"]
    assert np.array_equal(np.asarray(Image.open(photo).convert("RGB")), pixels)
    assert not list(root.glob("*_original")), "no backup unless asked for"
    # The library accepts its own write: no retagging because of it.
    assert import_found(lib, lib.scan()).changed == 0
    assert lib.count("status:pending") == 0


@needs_exiftool
def test_embedded_backup_and_merge_with_foreign_keywords(lib: Library, tmp_path: Path) -> None:
    root = tmp_path / "Photos"
    photo = write_photo(root / "a.jpg")
    subprocess.run(
        [EXIFTOOL, "-overwrite_original", "-XMP-dc:Subject=Grandma", "-IPTC:Keywords=Grandma", str(photo)],
        check=True,
        capture_output=True,
    )
    tagged(lib, root, {"a.jpg": {"dog": 0.9}})
    assert paths_of(lib, "Grandma source:imported") == ["a.jpg"]
    report = export_embedded(lib, keep_backup=True)
    assert report.written == 1
    assert (root / "a.jpg_original").exists()
    data = exiftool("-XMP-dc:Subject", "-IPTC:Keywords", str(photo))
    assert as_list(data["Subject"]) == ["Grandma", "dog"] and as_list(data["Keywords"]) == ["Grandma", "dog"]


@needs_exiftool
def test_import_precedence_and_hierarchy_leaves(lib: Library, tmp_path: Path) -> None:
    root = tmp_path / "Photos"
    a = write_photo(root / "a.jpg", color=(1, 1, 1))
    b = write_photo(root / "b.jpg", color=(2, 2, 2))
    c = write_photo(root / "c.jpg", color=(3, 3, 3))
    # a: sidecar with TagsList and a dc:subject keyword TagsList lacks (what darktable and Lightroom leave: both
    # count); b: hierarchical only; c: XPKeywords (Windows) only.
    subprocess.run(
        [
            EXIFTOOL,
            "-o",
            str(root / "a.jpg.xmp"),
            "-XMP-digiKam:TagsList=People/Anna",
            "-XMP-dc:Subject=ignored_subject",
            str(a),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [EXIFTOOL, "-overwrite_original", "-XMP-lr:HierarchicalSubject=Places|Rome", str(b)],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [EXIFTOOL, "-overwrite_original", "-XPKeywords=sunset;beach", str(c)], check=True, capture_output=True
    )
    lib.add_root(root)
    import_found(lib, lib.scan())
    assert paths_of(lib, "Anna") == ["a.jpg"] and paths_of(lib, "People") == ["a.jpg"]
    assert paths_of(lib, "ignored_subject") == ["a.jpg"]
    assert paths_of(lib, "Rome") == ["b.jpg"]
    assert paths_of(lib, "sunset beach source:imported") == ["c.jpg"]


def test_captions_with_options(lib: Library, tmp_path: Path) -> None:
    root = tmp_path / "Dataset"
    write_photo(root / "001.png")
    write_photo(root / "002.png", color=(9, 9, 9))
    tagged(
        lib, root, {"001.png": {"saber_(fate)": 0.9, "outdoors": 0.8, "sky": 0.6, "dog": 0.1}, "002.png": {"cat": 0.9}}
    )
    (root / "002.txt").write_text("a hand-written caption")
    options = CaptionOptions(exclude={"sky"}, prefix=["ohwx"])
    report = export_captions(lib, options=options)
    assert report.written == 1 and report.skipped == 1
    # kohya-ss sd-scripts' default: commas, spaces for underscores, parentheses as they are.
    assert (root / "001.txt").read_text() == "ohwx, saber (fate), outdoors\n"
    assert (root / "002.txt").read_text() == "a hand-written caption"
    escaped = CaptionOptions(exclude={"sky"}, escape_parentheses=True)
    export_captions(lib, options=escaped)
    assert (root / "001.txt").read_text() == "saber \\(fate\\), outdoors\n"
    plain = CaptionOptions(spaces=False, escape_parentheses=False, overwrite=True)
    export_captions(lib, options=plain)
    assert (root / "001.txt").read_text() == "saber_(fate), outdoors, sky\n"
    assert (root / "002.txt").read_text() == "cat\n"


def test_csv_json_export_and_cli(lib: Library, tmp_path: Path, capsys) -> None:
    root = tmp_path / "Photos"
    write_photo(root / "a.jpg")
    tagged(lib, root, {"a.jpg": {"dog": 0.9, "cat": 0.3}})
    out = io.StringIO()
    export_table(lib, out, "csv")
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["tag"], r["source"]) for r in rows] == [("dog", "ai")]
    out = io.StringIO()
    export_table(lib, out, "json", all_scores=True)
    record = json.loads(out.getvalue())[0]
    assert record["tags"] == {"dog": pytest.approx(0.9)} and record["scores"]["cat"] == pytest.approx(0.3)
    db = str(tmp_path / "lib.sqlite3")
    assert main(["--db", db, "export", "xmp", "--dry-run"]) == 0
    assert "a.jpg.xmp: dog" in capsys.readouterr().out
    assert not (root / "a.jpg.xmp").exists()
    assert main(["--db", db, "export", "json", "dog", "-o", str(tmp_path / "tags.json")]) == 0
    assert json.loads((tmp_path / "tags.json").read_text())[0]["tags"]["dog"] == pytest.approx(0.9)
    assert main(["--db", db, "export", "captions", "(dog"]) == 2
