"""Per model, tags never applied and a cap per category (issue 34): search, counts and export agree,
because what is stored already obeys them; the settings are kept per model."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.library import give_scores, write_photo
from helpers.metadata_readers import EXIFTOOL, exiftool_read, listed
from joytag_desktop.cli.main import main
from joytag_desktop.interchange.keyword_export import export_xmp
from joytag_desktop.library import Library

VOCAB = ["cat", "watermark", "miku", "rin", "len"]
CATEGORIES = ["general", "meta", "character", "character", "character"]
SCORES = {"cat": 0.9, "watermark": 0.8, "miku": 0.7, "rin": 0.95, "len": 0.4}


def _tagged(lib: Library, root: Path) -> Path:
    photo = write_photo(root / "a.jpg")
    write_photo(root / "b.jpg", color=(10, 200, 30))
    lib.add_root(root)
    lib.scan()
    give_scores(lib, VOCAB, {photo: SCORES, root / "b.jpg": {"miku": 0.6}}, categories=CATEGORIES)
    return photo


def _found(lib: Library, query: str) -> list[str]:
    names = []
    for indexed in (True, False):
        lib.search_index.enabled = indexed
        names.append(sorted(Path(i.path).name for i in lib.images(lib.search(query).ids)))
    lib.search_index.enabled = True
    assert names[0] == names[1], query
    return names[0]


@pytest.mark.backends
def test_exclusions_and_caps_apply_to_stored_and_new_results(tmp_path: Path, db_url: str) -> None:
    with Library(db_url) as lib:
        photo = _tagged(lib, tmp_path / "p")
        model = lib.model("test-model").id
        assert _found(lib, "watermark") == ["a.jpg"]
        assert lib.model_rules.set_excluded(model, "watermark", True) == 1  # the stored score goes now
        assert _found(lib, "watermark") == [] and "watermark" not in dict(lib.tag_counts())
        assert lib.model_rules.set_cap(model, "character", 1) == 2  # miku and len go from a.jpg
        assert _found(lib, "rin") == ["a.jpg"] and _found(lib, "miku") == ["b.jpg"]
        assert dict(lib.tag_counts())["miku"] == 1
        give_scores(lib, VOCAB, {photo: SCORES}, categories=CATEGORIES)  # tagged again: the rules hold
        assert _found(lib, "watermark") == [] and _found(lib, "miku") == ["b.jpg"] and _found(lib, "cat") == ["a.jpg"]
        lib.model_rules.set_excluded(model, "watermark", False)
        lib.model_rules.set_cap(model, "character", None)
        give_scores(lib, VOCAB, {photo: SCORES}, categories=CATEGORIES)
        assert _found(lib, "watermark") == ["a.jpg"] and _found(lib, "miku") == ["a.jpg", "b.jpg"]


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool")
def test_export_and_the_cli_follow_a_models_rules(tmp_path: Path, capsys) -> None:
    db = tmp_path / "lib.sqlite3"
    with Library(db) as lib:
        photo = _tagged(lib, tmp_path / "p")
    args = ["--db", str(db), "tags"]
    assert main([*args, "exclude", "test-model", "watermark"]) == 0
    assert main([*args, "cap", "test-model", "character", "1"]) == 0
    capsys.readouterr()
    assert main([*args, "model-rules", "test-model"]) == 0
    assert capsys.readouterr().out == "exclude\twatermark\ncap\tcharacter\t1\n"
    assert main([*args, "cap", "test-model", "character", "many"]) != 0
    assert "a number" in capsys.readouterr().err
    with Library(db) as lib:
        assert export_xmp(lib).written == 2
    subjects = listed(exiftool_read(photo.with_name("a.jpg.xmp"), "-XMP-dc:Subject"), "Subject")
    assert sorted(subjects) == ["cat", "rin"]
