"""Keywords other programs wrote and keywords we wrote, through each other's hands (issue 31).

Other programs' writes are reproduced as those programs make them, with exiftool, never with our
own writer: digiKam's ``DMetadata`` rebuilds TagsList, LastKeywordXMP, lr:hierarchicalSubject and
mediapro:CatalogSets from its tag paths (read from TagsList) and adds leaves to dc:subject; Windows
Photo Gallery writes XPKeywords, LastKeywordXMP, dc:subject and IPTC. Real files from other
programs are in tests/fixtures/metadata (README there says where each comes from).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from helpers.fixture_files import FIXTURES
from helpers.library import give_scores, write_photo
from helpers.metadata_readers import EXIFTOOL, exiftool_read, exiv2_values, listed, run_exiftool, tags_of, touch_later
from joytag_desktop.cli.main import main
from joytag_desktop.interchange.keyword_export import export_embedded, export_xmp
from joytag_desktop.interchange.keyword_sync import import_found
from joytag_desktop.library import Library
from joytag_desktop.library.schema import Tag
from joytag_desktop.metadata import keywords as kw
from joytag_desktop.metadata.xmp import read_packet_properties, update_packet

pytestmark = pytest.mark.skipif(EXIFTOOL is None or shutil.which("exiv2") is None, reason="exiftool and exiv2")
CORPUS = FIXTURES / "metadata"
VOCAB = ["cat", "dog", "fate/grand_order", "sky"]
LOOK_ALIKES = ("\u2215", "\u00a6")


def _index(lib: Library, root: Path) -> None:
    lib.add_root(root)
    import_found(lib, lib.scan())


def _digikam_write(sidecar: Path, rating: int, drop: str | None = None) -> None:
    """What digiKam writes when a rating (or a tag) changes: its tag paths are what it read from
    TagsList; TagsList and LastKeywordXMP get them with "/", hierarchicalSubject and CatalogSets with
    "/" replaced by "|" (no escaping: digiKam's names cannot hold "/"), dc:subject gets each leaf added."""
    paths = [p for p in listed(exiftool_read(sidecar, "-XMP-digiKam:TagsList"), "TagsList") if p != drop]
    args = [f"-XMP-xmp:Rating={rating}", "-XMP-digiKam:TagsList=", "-XMP-lr:HierarchicalSubject=",
            "-XMP-microsoft:LastKeywordXMP=", "-XMP-mediapro:CatalogSets="]  # fmt: skip
    for path in paths:
        piped = path.replace("/", "|")
        leaf = path.split("/")[-1]
        args += [f"-XMP-digiKam:TagsList={path}", f"-XMP-microsoft:LastKeywordXMP={path}",
                 f"-XMP-lr:HierarchicalSubject={piped}", f"-XMP-mediapro:CatalogSets={piped}",
                 f"-XMP-dc:Subject-={leaf}", f"-XMP-dc:Subject+={leaf}"]  # fmt: skip
    run_exiftool(*args, str(sidecar))
    touch_later(sidecar)


def _no_look_alikes(lib: Library) -> None:
    names = [name for name, _ in lib.autocomplete("", limit=10_000)]
    assert not [n for n in names if any(ch in n for ch in LOOK_ALIKES)], names


# --- the search index follows every write ---------------------------------------------------------


def _index_equals_sql(db: str) -> None:
    """Every tag, every stored name and a few combinations answered by the posting lists (of a
    library opened now, which loads the saved index and replays the log) and by SQL alone."""
    with Library(db) as fresh:
        with fresh.Session() as session:
            names = list(session.scalars(select(Tag.name)))
        queries = [f'"{n}"' for n in names] + ["cat -dog", "cat | Sunset", "-Sunset", "source:imported"]
        for query in queries:
            indexed = fresh.search(query).ids
            fresh.search_index.enabled = False
            plain = fresh.search(query).ids
            fresh.search_index.enabled = True
            assert indexed == plain, query


@pytest.mark.backends
@pytest.mark.slow
def test_every_kind_of_tag_write_reaches_the_search_index(db_url: str, tmp_path: Path) -> None:
    """Observed: a keyword exiftool adds to a sidecar was in the library but not found by `search`,
    `tags list` or `export xmp QUERY` until the index file was deleted, and `scan` said "0 changed"."""
    root = tmp_path / "Photos"
    photos = [write_photo(root / f"p{i}.jpg", color=(i * 40, 10, 10)) for i in range(4)]
    db = db_url
    with Library(db) as lib:
        _index(lib, root)
        give_scores(lib, VOCAB, {photos[0]: {"cat": 0.9}, photos[1]: {"dog": 0.8, "cat": 0.2}})
        assert lib.search("cat").ids  # the index is built and saved before anything else happens
    _index_equals_sql(db)

    # scan import: another program adds a keyword to a new sidecar, `scan` runs in its own process
    subprocess.run([EXIFTOOL, "-q", "-o", str(photos[2]) + ".xmp", "-XMP-dc:Subject+=Sunset", str(photos[2])],
                   check=True)  # fmt: skip
    assert main(["--db", db, "scan"]) == 0
    with Library(db) as lib:
        assert [Path(i.path).name for i in lib.images(lib.search("Sunset").ids)] == ["p2.jpg"]
        assert ("Sunset", 1) in lib.autocomplete("Sun")
    _index_equals_sql(db)

    with Library(db) as lib:
        assert lib.search("Sunset").ids  # an index open all along from here on
        # watch import: the watcher's path, a keyword added to an existing sidecar
        run_exiftool("-XMP-dc:Subject+=Beach", str(photos[2]) + ".xmp")
        touch_later(Path(str(photos[2]) + ".xmp"))
        report = import_found(lib, lib.apply_changes(created=[str(photos[2]) + ".xmp", str(photos[2])]))
        assert report.keywords == 1
        assert lib.search("Beach").ids == lib.search("Sunset").ids
        # embedded keyword in a new file, then a hand edit, a retag, and an imported keyword removed
        shutil.copy(CORPUS / "windows-xpkeywords-hebrew.jpg", root / "windows.jpg")
        assert import_found(lib, lib.scan()).keywords == 1
        lib.set_manual_tag([lib.image_by_path(photos[3]).id], "Sunset", True)
        lib.set_manual_tag([lib.image_by_path(photos[0]).id], "cat", False)
        give_scores(lib, VOCAB, {photos[1]: {"cat": 0.95, "sky": 0.7}})
        run_exiftool("-XMP-dc:Subject-=Sunset", str(photos[2]) + ".xmp")
        touch_later(Path(str(photos[2]) + ".xmp"))
        assert import_found(lib, lib.scan()).keywords == 1
        for query in ("Sunset", "Beach", "cat", "sky", '"עברית (Hebrew)"'):
            indexed = lib.search(query).ids
            lib.search_index.enabled = False
            assert indexed == lib.search(query).ids, query
            lib.search_index.enabled = True
    _index_equals_sql(db)


# --- Windows -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_windows_xpkeywords_survive_both_exports(lib: Library, tmp_path: Path) -> None:
    """Observed: keywords only in XPKeywords (Exiv2's Windows sample) were imported, copied into the
    sidecar, dropped by `export embedded` (which did not read them back) and then deleted from the
    sidecar by the next `export xmp`. XPKeywords is also kept in step, additions and removals."""
    root = tmp_path / "Photos"
    root.mkdir()
    photo = root / "windows.jpg"
    shutil.copy(CORPUS / "windows-xpkeywords-hebrew.jpg", photo)
    _index(lib, root)
    hebrew = "עברית (Hebrew)"
    assert tags_of(lib, photo)[hebrew].source == "imported"
    give_scores(lib, VOCAB, {photo: {"cat": 0.9}})
    sidecar = root / "windows.jpg.xmp"
    assert export_xmp(lib).errors == []
    assert export_embedded(lib).errors == []
    assert set(exiftool_read(photo, "-XPKeywords")["XPKeywords"].split(";")) == {hebrew, "cat"}
    assert export_xmp(lib).errors == []
    import_found(lib, lib.scan())
    assert hebrew in exiv2_values(sidecar, "Xmp.digiKam.TagsList")
    assert tags_of(lib, photo)[hebrew].present
    # removed in the app: gone from every field of the file, XPKeywords included
    lib.set_manual_tag([lib.image_by_path(photo).id], hebrew, False)
    assert export_embedded(lib).errors == []
    embedded = exiftool_read(photo, "-XPKeywords", "-Subject", "-TagsList")
    assert embedded["XPKeywords"] == "cat"
    assert hebrew not in listed(embedded, "Subject") + listed(embedded, "TagsList")


@pytest.mark.slow
def test_photo_gallery_fields_are_kept_in_step(lib: Library, tmp_path: Path) -> None:
    """LastKeywordXMP, CatalogSets, XPKeywords and IPTC as Windows Photo Gallery and digiKam leave
    them: a keyword removed in the app leaves all of them, one added reaches all of them."""
    root = tmp_path / "Photos"
    photo = write_photo(root / "gallery.jpg")
    run_exiftool("-XMP-dc:Subject=Family", "-XMP-dc:Subject=Holiday", "-XMP-microsoft:LastKeywordXMP=Family",
                 "-XMP-microsoft:LastKeywordXMP=Holiday", "-XMP-mediapro:CatalogSets=Family",
                 "-XMP-mediapro:CatalogSets=Holiday", "-EXIF:XPKeywords=Family;Holiday", "-IPTC:Keywords=Family",
                 "-IPTC:Keywords=Holiday", str(photo))  # fmt: skip
    _index(lib, root)
    assert {"Family", "Holiday"} <= set(tags_of(lib, photo))
    give_scores(lib, VOCAB, {photo: {"dog": 0.9}})
    lib.set_manual_tag([lib.image_by_path(photo).id], "Holiday", False)
    assert export_embedded(lib).errors == []
    after = exiftool_read(photo, "-LastKeywordXMP", "-CatalogSets", "-XPKeywords", "-Keywords", "-Subject")
    assert set(listed(after, "LastKeywordXMP")) == {"Family", "JoyTag/dog"}
    assert set(listed(after, "CatalogSets")) == {"Family", "JoyTag|dog"}
    assert set(after["XPKeywords"].split(";")) == {"Family", "dog"}
    assert set(listed(after, "Keywords")) == {"Family", "dog"}
    assert set(listed(after, "Subject")) == {"Family", "dog"}
    import_found(lib, lib.scan())
    assert export_embedded(lib).unchanged == 1


# --- digiKam and look-alike separators ---------------------------------------------------------


@pytest.mark.slow
def test_digikam_round_trips_neither_delete_nor_rename(lib: Library, tmp_path: Path) -> None:
    """Observed: after two digiKam writes `Music|AC/DC` existed only as `Music|AC∕DC`,
    `fate/grand_order` became `fate∕grand_order` in the library and the flat `Pipe|Name` was deleted."""
    root = tmp_path / "Photos"
    photo = write_photo(root / "band.jpg")
    sidecar = root / "band.jpg.xmp"
    subprocess.run([EXIFTOOL, "-q", "-o", str(sidecar), "-XMP-lr:HierarchicalSubject=Music|AC/DC",
                    "-XMP-dc:Subject=AC/DC", "-XMP-dc:Subject=Music", "-XMP-dc:Subject=Pipe|Name", str(photo)],
                   check=True)  # fmt: skip
    _index(lib, root)
    give_scores(lib, VOCAB, {photo: {"fate/grand_order": 0.9, "cat": 0.8}})
    expected = {"Music|AC/DC", "Pipe|Name", "fate/grand_order", "cat"}
    assert expected <= {v.name for v in lib.image_tags(lib.image_by_path(photo).id) if v.present}
    assert export_xmp(lib).errors == []
    for rating in (3, 4):
        _digikam_write(sidecar, rating)
        assert import_found(lib, lib.scan()).errors == []
        assert export_xmp(lib).errors == []
        views = {v.name: v for v in lib.image_tags(lib.image_by_path(photo).id)}
        assert expected <= {name for name, v in views.items() if v.present}, rating
        assert not [v for v in views.values() if v.source == "manual"], "nothing became a removal"
        _no_look_alikes(lib)
        # digiKam reads TagsList: every keyword is one tag there, at its own path
        tags_list = exiv2_values(sidecar, "Xmp.digiKam.TagsList")
        assert {"Music/AC\u2215DC", "Pipe|Name", "JoyTag/fate\u2215grand_order", "JoyTag/cat"} <= set(tags_list)
        assert len(tags_list) == len(set(tags_list))
    # a tag removed in digiKam (TagsList rebuilt without it, dc:subject left as it was) is removed here
    _digikam_write(sidecar, 4, drop="Pipe|Name")
    import_found(lib, lib.scan())
    assert not tags_of(lib, photo)["Pipe|Name"].present
    assert export_xmp(lib).errors == []
    assert "Pipe|Name" not in exiftool_read(sidecar, "-HierarchicalSubject").get("HierarchicalSubject", [])


# --- our own keywords read back without the library --------------------------------------------


def test_own_sidecars_are_model_output_when_the_library_is_lost(tmp_path: Path) -> None:
    """Observed: sidecars exported, the database lost, the folder indexed again: every `JoyTag|tag`
    came back as a permanent user keyword (score 1.0, imported) that no threshold moved. Keywords
    added by hand are written outside the app's parent, so they come back as the user's."""
    root = tmp_path / "Photos"
    photo = write_photo(root / "pet.jpg")
    shutil.copy(CORPUS / "photoshop-bluesquare.xmp", root / "pet.jpg.xmp")  # a user's own keywords too
    with Library(tmp_path / "first.sqlite3") as first:
        _index(first, root)
        give_scores(first, VOCAB, {photo: {"cat": 0.9, "dog": 0.8}})
        first.set_manual_tag([first.image_by_path(photo).id], "my_trip", True)  # the user's own, by hand
        assert export_xmp(first).written == 1
    with Library(tmp_path / "second.sqlite3") as second:  # a new database (or another machine)
        _index(second, root)
        views = tags_of(second, photo)
        assert "cat" not in views and "dog" not in views, "model output is not a user keyword"
        assert views["Blue Square"].source == "imported"
        assert views["my_trip"].source == "imported", "a keyword added by hand is the user's, not the model's"
        give_scores(second, VOCAB, {photo: {"cat": 0.95, "dog": 0.1}})  # the model now says: no dog
        assert not second.search("dog").ids
        assert export_xmp(second).errors == []
        hierarchical = set(listed(exiftool_read(root / "pet.jpg.xmp", "-HierarchicalSubject"), "HierarchicalSubject"))
        assert "JoyTag|cat" in hierarchical and "JoyTag|dog" not in hierarchical
        assert {"Blue Square", "Photoshop", "my_trip"} <= hierarchical


def test_flat_iptc_keyword_is_the_leaf_of_the_sidecar_hierarchy(lib: Library, tmp_path: Path) -> None:
    """Observed: IPTC `Marie Curie` in the JPEG and `People/Marie Curie` in its sidecar were two tags."""
    root = tmp_path / "Photos"
    photo = write_photo(root / "portrait.jpg")
    run_exiftool("-IPTC:Keywords=Marie Curie", "-IPTC:Keywords=Paris", str(photo))
    subprocess.run([EXIFTOOL, "-q", "-o", str(photo) + ".xmp", "-XMP-digiKam:TagsList=People/Marie Curie",
                    "-XMP-dc:Subject=Marie Curie", str(photo)], check=True)  # fmt: skip
    _index(lib, root)
    names = {v.name for v in lib.image_tags(lib.image_by_path(photo).id)}
    assert "People|Marie Curie" in names
    assert "Marie Curie" not in names


# --- IPTC rules -------------------------------------------------------------------------------


@pytest.mark.slow
def test_iptc_digest_is_renewed_and_long_keywords_conform(lib: Library, tmp_path: Path) -> None:
    """Observed: after `export embedded` exiftool said "IPTCDigest is not current" (Adobe programs then
    distrust IPTC), and keywords over IPTC's 64 bytes were written into IPTC whole."""
    root = tmp_path / "Photos"
    root.mkdir()
    photo = root / "lr.jpg"
    shutil.copy(CORPUS / "lightroom-hierarchy.jpg", photo)  # Lightroom's file, with an IPTCDigest
    long_tag = "extremely_detailed_background_with_" + "é" * 20 + "_and_more"
    _index(lib, root)
    give_scores(lib, [*VOCAB, long_tag], {photo: {"cat": 0.9, long_tag: 0.9}})
    assert export_embedded(lib).errors == []
    check = subprocess.run([EXIFTOOL, "-validate", "-warning", "-a", str(photo)], capture_output=True, text=True)
    assert "IPTCDigest is not current" not in check.stdout
    keywords = listed(exiftool_read(photo, "-IPTC:Keywords"), "Keywords")
    assert max(len(k.encode("utf-8")) for k in keywords) <= 64
    assert long_tag in listed(exiftool_read(photo, "-XMP-dc:Subject"), "Subject")
    import_found(lib, lib.scan())
    assert long_tag in tags_of(lib, photo)
    assert not [n for n in tags_of(lib, photo) if n != long_tag and n.startswith("extremely_detailed")]
    assert export_embedded(lib).unchanged == 1


def test_one_rating_keyword_is_written(lib: Library, tmp_path: Path) -> None:
    """Observed: WD's four rating scores gave up to four `rating:*` keywords; the app shows one."""
    root = tmp_path / "Photos"
    photo = write_photo(root / "art.jpg")
    _index(lib, root)
    vocab = ["cat", "rating:general", "rating:sensitive", "rating:questionable", "rating:explicit"]
    categories = ["general", "rating", "rating", "rating", "rating"]
    scores = {"cat": 0.9, "rating:general": 0.5, "rating:sensitive": 0.7, "rating:questionable": 0.45}
    give_scores(lib, vocab, {photo: scores}, model="wd", categories=categories)
    lib.set_threshold(0.4)
    assert export_xmp(lib).errors == []
    subject = set(listed(exiftool_read(root / "art.jpg.xmp", "-Subject"), "Subject"))
    assert subject == {"cat", "rating:sensitive"}


# --- files other programs wrote -----------------------------------------------------------------


@pytest.mark.slow
def test_digikam_jpeg_through_an_embedded_export_and_a_digikam_edit(lib: Library, tmp_path: Path) -> None:
    """A JPEG digiKam wrote (photoprism's sample: TagsList, hierarchicalSubject, dc:subject and IPTC
    all `Berlin`, `Shop`): one tag per keyword, searchable; after `export embedded` digiKam removes
    `Shop` (its write rebuilds every field from its tag paths): the removal is taken in, nothing else is."""
    root = tmp_path / "Photos"
    root.mkdir()
    photo = root / "berlin.jpg"
    shutil.copy(CORPUS / "digikam-berlin.jpg", photo)
    _index(lib, root)
    imported = {name for name, view in tags_of(lib, photo).items() if view.source == "imported"}
    assert imported == {"Berlin", "Shop"}
    assert lib.search("Berlin").ids == lib.search("Shop").ids == [lib.image_by_path(photo).id]
    give_scores(lib, VOCAB, {photo: {"dog": 0.9}})
    assert export_embedded(lib).errors == []
    assert set(exiv2_values(photo, "Xmp.digiKam.TagsList")) == {"Berlin", "Shop", "JoyTag/dog"}
    _digikam_write(photo, 2, drop="Shop")
    run_exiftool("-IPTC:Keywords-=Shop", str(photo))  # digiKam replaces the IPTC keywords it wrote
    touch_later(photo)
    assert import_found(lib, lib.scan()).keywords == 1
    views = tags_of(lib, photo)
    assert views["Berlin"].present and views["dog"].present and not views["Shop"].present
    assert export_embedded(lib).errors == []
    after = exiftool_read(photo, "-TagsList", "-HierarchicalSubject", "-Subject", "-Keywords")
    assert "Shop" not in listed(after, "TagsList") + listed(after, "HierarchicalSubject") + listed(after, "Keywords")
    assert {"Berlin", "dog"} <= set(listed(after, "Subject"))


def test_apple_photos_sidecar_is_searchable_and_kept(lib: Library, tmp_path: Path) -> None:
    """Apple Photos exports `IMG.xmp` with dc:subject as an rdf:Seq, a title, a description and GPS:
    its keywords are searchable at once and stay, and nothing else in the sidecar is lost."""
    root = tmp_path / "Photos"
    photo = write_photo(root / "garden.jpg")
    shutil.copy(CORPUS / "apple-photos.xmp", root / "garden.xmp")
    _index(lib, root)
    assert lib.search('"Schöne Wiese" Krokus').ids == [lib.image_by_path(photo).id]
    give_scores(lib, VOCAB, {photo: {"sky": 0.9}})
    assert export_xmp(lib).written == 1
    after = exiftool_read(root / "garden.xmp", "-Subject", "-Title", "-Description", "-GPSLatitude")
    assert set(listed(after, "Subject")) == {"Krokus", "Blume", "Schöne Wiese", "sky"}
    assert after["Title"] == "Botanischer Garten" and after["Description"] == "Tulpen am See"
    assert "GPSLatitude" in after
    import_found(lib, lib.scan())
    assert export_xmp(lib).unchanged == 1


def test_acdsee_category_tree_is_read_and_kept_in_step(lib: Library, tmp_path: Path) -> None:
    """ACDSee keeps its keywords as an XML tree inside `acdsee:categories` (digiKam reads and writes it
    too): its assigned categories are keywords, the tree follows additions and removals, and the
    user's empty categories stay."""
    root = tmp_path / "Photos"
    photo = write_photo(root / "trip.jpg")
    tree = ('<Categories><Category Assigned="0">Places<Category Assigned="1">Paris</Category></Category>'
            '<Category Assigned="1">Holiday</Category>'
            '<Category Assigned="0">People<Category Assigned="0">Family</Category></Category>'
            '</Categories>')  # fmt: skip
    subprocess.run([EXIFTOOL, "-q", "-o", str(photo) + ".xmp", f"-XMP-acdsee:Categories={tree}",
                    "-XMP-dc:Subject=Paris", "-XMP-dc:Subject=Holiday", str(photo)], check=True)  # fmt: skip
    _index(lib, root)
    assert {"Places|Paris", "Holiday"} <= {n for n, v in tags_of(lib, photo).items() if v.source == "imported"}
    assert "Paris" not in tags_of(lib, photo)
    give_scores(lib, VOCAB, {photo: {"dog": 0.9}})
    lib.set_manual_tag([lib.image_by_path(photo).id], "Holiday", False)
    assert export_xmp(lib).errors == []
    written = exiftool_read(Path(str(photo) + ".xmp"), "-XMP-acdsee:Categories")["Categories"]
    assert '<Category Assigned="1">Paris</Category>' in written and "Holiday" not in written
    assert '<Category Assigned="0">JoyTag<Category Assigned="1">dog</Category></Category>' in written
    assert '<Category Assigned="0">People<Category Assigned="0">Family</Category></Category>' in written  # kept
    import_found(lib, lib.scan())
    assert export_xmp(lib).unchanged == 1


# --- the rules themselves, on keyword properties as files hold them ---------------------------------


def _props(**given: list[str]) -> dict[str, list[str]]:
    return {**kw.empty_properties(), **given}


def test_model_keywords_digikam_copied_stay_model_output(lib: Library, tmp_path: Path) -> None:
    """digiKam copies the app's `JoyTag/cat` into LastKeywordXMP and CatalogSets: those copies are the
    app's output too, so when the model no longer says cat, it leaves every field."""
    root = tmp_path / "Photos"
    photo = write_photo(root / "pet.jpg")
    _index(lib, root)
    give_scores(lib, VOCAB, {photo: {"cat": 0.9, "dog": 0.8}})
    sidecar = Path(str(photo) + ".xmp")
    assert export_xmp(lib).written == 1
    _digikam_write(sidecar, 3)
    import_found(lib, lib.scan())
    assert tags_of(lib, photo)["cat"].source == "ai"
    give_scores(lib, VOCAB, {photo: {"cat": 0.05, "dog": 0.8}})
    assert not lib.search("cat").ids
    assert export_xmp(lib).errors == []
    after = exiftool_read(sidecar, "-TagsList", "-HierarchicalSubject", "-LastKeywordXMP", "-CatalogSets")
    keys = ("TagsList", "HierarchicalSubject", "LastKeywordXMP", "CatalogSets")
    fields = [v for key in keys for v in listed(after, key)]
    assert not [v for v in fields if v.endswith("cat")], fields
    assert {"JoyTag/dog", "JoyTag|dog"} <= set(fields)


@pytest.mark.slow
def test_windows_flat_last_keyword_is_neither_a_new_keyword_nor_a_deletion(lib: Library, tmp_path: Path) -> None:
    """Windows writes LastKeywordXMP flat (its System.Keywords policy): `Paris` there beside Lightroom's
    `Places|Paris` is that keyword, not a new top-level one, and a Windows edit that rewrites the
    app's `Places/Paris` there as `Paris` deletes nothing."""
    root = tmp_path / "Photos"
    photo = write_photo(root / "trip.jpg")
    run_exiftool("-XMP-lr:HierarchicalSubject=Places|Paris", "-XMP-dc:Subject=Paris", "-XMP-dc:Subject=Family",
                 "-XMP-microsoft:LastKeywordXMP=Paris", "-XMP-microsoft:LastKeywordXMP=Family", str(photo))  # fmt: skip
    _index(lib, root)
    assert {n for n, v in tags_of(lib, photo).items() if v.source == "imported"} == {"Places|Paris", "Family"}
    give_scores(lib, VOCAB, {photo: {"dog": 0.9}})
    assert export_embedded(lib).errors == []
    after = exiftool_read(photo, "-HierarchicalSubject", "-TagsList", "-LastKeywordXMP")
    assert "Paris" not in listed(after, "HierarchicalSubject") + listed(after, "TagsList")
    # Windows Explorer edits the keywords: LastKeywordXMP rewritten flat, as the leaves
    run_exiftool("-XMP-microsoft:LastKeywordXMP=", "-XMP-microsoft:LastKeywordXMP=Paris",
                 "-XMP-microsoft:LastKeywordXMP=Family", "-XMP-microsoft:LastKeywordXMP=dog", str(photo))  # fmt: skip
    touch_later(photo)
    import_found(lib, lib.scan())
    views = tags_of(lib, photo)
    assert views["Places|Paris"].present and views["Family"].present and views["dog"].source == "ai"


def test_microsoft_namespace_is_read_under_both_uris() -> None:
    """exiftool writes Microsoft's namespace without the final slash Windows uses; both are read."""
    packet = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              '<rdf:Description rdf:about="" xmlns:MicrosoftPhoto="{uri}"><MicrosoftPhoto:LastKeywordXMP><rdf:Bag>'
              '<rdf:li>Family</rdf:li></rdf:Bag></MicrosoftPhoto:LastKeywordXMP></rdf:Description></rdf:RDF>'
              '</x:xmpmeta>')  # fmt: skip
    for uri in ("http://ns.microsoft.com/photo/1.0/", "http://ns.microsoft.com/photo/1.0"):
        assert read_packet_properties(packet.format(uri=uri))["last_keyword"] == ["Family"]
        written = update_packet(packet.format(uri=uri).encode(), _props(last_keyword=["Family", "dog"]),
                                {"last_keyword"})  # fmt: skip
        assert read_packet_properties(written)["last_keyword"] == ["Family", "dog"]
        assert f'xmlns:MicrosoftPhoto="{uri}"' in written.decode() and "ns0" not in written.decode()


def test_plans_settle_and_leave_what_is_not_keywords() -> None:
    """Entries that are only separators, another program's IPTC keyword over 64 bytes, a custom
    parent read without a record: written once at most, then unchanged, nothing duplicated."""
    long_iptc = "x" * 70
    odd = _props(subject=["sunset"], hierarchical=["|"], tags_list=["/", "Places/Paris"], iptc=[long_iptc])
    assert kw.plan_write(odd, None, [], []).changed == set()
    plan = kw.plan_write(odd, None, [kw.Wanted("dog", True)], [], properties=("subject", "hierarchical",
                         "tags_list", "iptc"))  # fmt: skip
    assert plan.properties["iptc"].count(long_iptc[:64]) == 0 and "|" in plan.properties["hierarchical"]
    current, record = _props(hierarchical=["AI|cat"], subject=["cat"]), None
    for _ in range(3):
        read = kw.read_file(current, record, "AI")
        plan = kw.plan_write(current, read.record, [kw.Wanted("cat", True)], [], "AI")
        current, record = plan.properties, plan.record
    assert current["hierarchical"] == ["AI|cat"] and current["tags_list"] == ["AI/cat"] and not plan.changed


def test_claims_and_upgrades_never_touch_the_users_keywords() -> None:
    """Without a record only the app's leaves are claimed (a user's flat `character` stays the user's);
    a record of the previous version says nothing about the newly read fields, so an old stale copy
    there does not undo the user's removal."""
    file = _props(hierarchical=["JoyTag|character|hatsune_miku"], subject=["hatsune_miku", "character"])
    claimed = kw.claim_own(file)
    assert claimed["subject"] == ["hatsune_miku"] and claimed["hierarchical"] == ["JoyTag|character|hatsune_miku"]
    snapshot = _props(hierarchical=["JoyTag|cat"], tags_list=["JoyTag/cat"], subject=["cat"])
    old = {"v": 2, "parent": "JoyTag", "owned": snapshot, "snapshot": snapshot, "imported": [], "pending": None}
    now = {**snapshot, "last_keyword": ["JoyTag/dog", "JoyTag/cat"]}  # the old version left "dog" there
    read = kw.read_file(now, kw.SyncRecord.from_json(old))
    assert read.added == [] and read.deleted == []


def test_keywords_that_look_like_numbers_keep_their_text(lib: Library, tmp_path: Path) -> None:
    """exiftool's JSON gives `1.50` unquoted: read as a number it became `1.5`, so the file never
    matched what was written (every export rewrote it) and the keyword changed."""
    root = tmp_path / "Photos"
    photo = write_photo(root / "lens.jpg")
    run_exiftool("-XMP-dc:Subject=1.50", "-XMP-dc:Subject=2024", "-IPTC:Keywords=1.50", str(photo))
    _index(lib, root)
    give_scores(lib, VOCAB, {photo: {"dog": 0.9}})
    assert export_embedded(lib).errors == []
    assert {"1.50", "2024", "dog"} == set(exiv2_values(photo, "Xmp.dc.subject"))
    import_found(lib, lib.scan())
    assert {"1.50", "2024"} <= set(tags_of(lib, photo))
    assert export_embedded(lib).unchanged == 1


@pytest.mark.slow
def test_no_sidecar_is_written_where_an_image_no_longer_is(lib: Library, tmp_path: Path) -> None:
    """Found by the fault loop: an image (and its sidecar) moved before a scan saw it; `export xmp`
    wrote a new sidecar at the old place, an orphan that also lost what the moved one held."""
    root = tmp_path / "Photos"
    photo = write_photo(root / "a" / "p.jpg")
    _index(lib, root)
    give_scores(lib, VOCAB, {photo: {"dog": 0.9}})
    (root / "b").mkdir()
    photo.rename(root / "b" / "p.jpg")
    report = export_xmp(lib)
    assert report.written == 0 and report.errors and "rescan" in report.errors[0][1]
    assert not list(root.rglob("*.xmp"))
    import_found(lib, lib.scan())
    assert export_xmp(lib).written == 1 and (root / "b" / "p.jpg.xmp").exists()
