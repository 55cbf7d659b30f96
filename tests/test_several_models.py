"""Several taggers in one library: the migration from the single-model release, per-model scores,
categories, thresholds per model and category, ratings, and the model: / category: / rating: terms."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.library import give_scores, paths_of, write_photo
from joytag_desktop.library import Library
from joytag_desktop.library.db import SCHEMA_HEAD

FIXTURE = Path(__file__).parent / "fixtures" / "library-v0002"
# metadata_writes as that release had it (0008 adds the marks snapshot beside these).
WRITES_COLUMNS = "image_id, target, path, keywords, file_mtime, written_at"


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, JOYTAG_DESKTOP_HOME=str(db.parent / "home"))
    return subprocess.run(
        [sys.executable, "-m", "joytag_desktop", "--db", str(db), *args], capture_output=True, text=True, env=env,
        timeout=120,
    )  # fmt: skip


@pytest.mark.slow
def test_a_library_of_the_single_model_release_migrates_with_every_answer_kept(tmp_path: Path) -> None:
    db = tmp_path / "library.sqlite3"
    shutil.copy(FIXTURE / "library.sqlite3", db)
    expected = json.loads((FIXTURE / "expected.json").read_text())
    with sqlite3.connect(db) as raw:
        before = {
            "user": raw.execute("SELECT COUNT(*) FROM image_tags WHERE source != 0").fetchone()[0],
            "ai": raw.execute("SELECT COUNT(*) FROM image_tags WHERE ai_score IS NOT NULL").fetchone()[0],
            "writes": raw.execute(f"SELECT {WRITES_COLUMNS} FROM metadata_writes ORDER BY image_id, target").fetchall(),
            "per_tag": raw.execute("SELECT * FROM tag_thresholds").fetchall(),
        }
    with Library(db) as library:
        (model,) = library.models()
        assert (model.name, model.format, model.auto) == ("tiny-learned-pos", "joytag", True)
        assert model.images == 8  # every tagged image (the missing one too)
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT version_num FROM alembic_version").fetchone()[0] == SCHEMA_HEAD
        assert raw.execute("SELECT COUNT(*) FROM image_tags WHERE model_id = 0").fetchone()[0] == before["user"]
        assert raw.execute("SELECT COUNT(*) FROM image_tags WHERE model_id = 1").fetchone()[0] == before["ai"]
        writes = raw.execute(f"SELECT {WRITES_COLUMNS} FROM metadata_writes ORDER BY image_id, target").fetchall()
        assert writes == before["writes"]
        assert raw.execute("SELECT * FROM tag_thresholds").fetchall() == before["per_tag"]
        assert raw.execute("SELECT COUNT(*) FROM image_models WHERE embedding IS NOT NULL").fetchone()[0] == 8
        keywords = {row[0] for row in raw.execute("SELECT name FROM tags WHERE category = 'keyword'")}
        assert {"IPTC", "root|1st|2nd"} <= keywords and "1girl" not in keywords
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for query, paths in expected["queries"].items():
        args = ["search", "--", query] if query.startswith("-") else ["search", query]
        assert _cli(db, *args).stdout.splitlines() == paths, query
    result = _cli(db, "search", "--format", "jsonl", "status:missing | -status:missing")
    got = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["path"], r["status"], r["tags"], r["manual"]) for r in got] == [
        (r["path"], r["status"], r["tags"], r["manual"]) for r in expected["jsonl"]
    ]
    assert _cli(db, "tags", "list", "--limit", "5000").stdout == expected["tags_list"]
    assert _cli(db, "threshold").stdout.startswith(expected["threshold"].splitlines()[0])


VOCAB = ["1girl", "smile", "hatsune_miku", "rating:general", "rating:explicit", "vocaloid"]
CATEGORIES = ["general", "general", "character", "rating", "rating", "copyright"]


@pytest.fixture
def two_models(tmp_path: Path) -> tuple[Library, Path]:
    root = tmp_path / "photos"
    a, b, c = (write_photo(root / f"{n}.jpg", color=(i * 60, 0, 0)) for i, n in enumerate("abc"))
    library = Library(tmp_path / "library.sqlite3")
    library.add_folder(root, watched=False)
    library.scan()
    library.add_model("joytag")
    library.add_model("wd", format="wd", thresholds={"general": 0.35, "character": 0.85})
    give_scores(library, VOCAB[:2], {a: {"1girl": 0.5}, b: {"1girl": 0.3, "smile": 0.9}}, model="joytag")
    give_scores(
        library, VOCAB,
        {a: {"1girl": 0.2, "rating:general": 0.9, "rating:explicit": 0.1},
         b: {"1girl": 0.36, "hatsune_miku": 0.9, "vocaloid": 0.5, "rating:general": 0.2, "rating:explicit": 0.7},
         c: {"hatsune_miku": 0.8, "rating:general": 0.6, "rating:explicit": 0.3}},
        model="wd", categories=CATEGORIES,
    )  # fmt: skip
    yield library, root
    library.close()


def test_a_tag_is_present_when_any_model_passes_its_own_threshold(two_models) -> None:
    library, _ = two_models
    # a: JoyTag 0.5 >= 0.4; b: JoyTag 0.3 < 0.4 but WD 0.36 >= its general 0.35; c: neither
    assert paths_of(library, "1girl") == ["a.jpg", "b.jpg"]
    assert paths_of(library, "1girl model:joytag") == ["a.jpg"]
    assert paths_of(library, "1girl model:wd") == ["b.jpg"]
    assert paths_of(library, "hatsune_miku") == ["b.jpg"]  # character: 0.85 for WD (0.8 on c does not count)
    assert paths_of(library, "-model:joytag") == ["c.jpg"]
    library.set_model_threshold("wd", "character", 0.75)
    assert paths_of(library, "hatsune_miku") == ["b.jpg", "c.jpg"]
    library.set_model_searched("wd", False)
    assert paths_of(library, "1girl") == ["a.jpg"]


def test_categories_and_ratings_are_searchable(two_models) -> None:
    library, root = two_models
    assert paths_of(library, "character:*") == ["b.jpg"]
    assert paths_of(library, "category:copyright") == ["b.jpg"]
    assert paths_of(library, "copyright:*") == ["b.jpg"]
    assert paths_of(library, "character:1girl") == []
    # the rating: the rating output each image scores highest (WD's); JoyTag has none
    assert paths_of(library, "rating:general") == ["a.jpg", "c.jpg"]
    assert paths_of(library, "rating:>general") == ["b.jpg"]
    assert paths_of(library, "rating:<=sensitive") == ["a.jpg", "c.jpg"]
    b = library.image_by_path(root / "b.jpg")
    library.set_rating([b.id], "sensitive")
    assert paths_of(library, "rating:sensitive") == ["b.jpg"]
    give_scores(library, VOCAB, {root / "b.jpg": {"rating:explicit": 0.9}}, model="wd", categories=CATEGORIES)
    assert paths_of(library, "rating:sensitive") == ["b.jpg"]  # set by hand: the model does not change it
    library.set_rating([b.id], None)
    assert paths_of(library, "rating:explicit") == ["b.jpg"]


def test_retagging_with_one_model_keeps_the_others_and_the_users_word(two_models) -> None:
    library, root = two_models
    a = library.image_by_path(root / "a.jpg")
    library.set_manual_tag([a.id], "smile", True)
    library.set_manual_tag([a.id], "1girl", False)
    assert paths_of(library, "1girl") == ["b.jpg"]  # removed by hand: no model overrides that
    give_scores(library, VOCAB[:2], {root / "a.jpg": {"smile": 0.1}}, model="joytag")
    views = {v.name: v for v in library.image_tags(a.id)}
    assert views["smile"].source == "manual" and views["smile"].present
    assert views["1girl"].source == "manual" and not views["1girl"].present
    assert views["1girl"].scores == {"wd": pytest.approx(0.2)}  # JoyTag's new run dropped its 1girl score
    assert views["rating:general"].scores == {"wd": pytest.approx(0.9)}
    assert paths_of(library, "smile") == ["a.jpg", "b.jpg"]
    library.set_manual_tag([a.id], "1girl", None)
    assert paths_of(library, "1girl") == ["b.jpg"]  # JoyTag no longer says 1girl on a


def test_the_details_show_every_models_score_and_counts_follow_the_rules(two_models) -> None:
    library, root = two_models
    b = library.image_by_path(root / "b.jpg")
    views = {v.name: v for v in library.image_tags(b.id)}
    assert views["1girl"].scores == {"joytag": pytest.approx(0.3), "wd": pytest.approx(0.36)}
    assert views["1girl"].present and views["hatsune_miku"].category == "character"
    assert views["1girl"].thresholds == {"joytag": pytest.approx(0.4), "wd": pytest.approx(0.35)}
    counts = dict(library.tag_counts())
    assert counts["1girl"] == 2 and counts["hatsune_miku"] == 1  # exact: a by JoyTag, b by WD
    assert dict(library.result_tag_counts(""))["1girl"] == 2
    library.set_threshold(0.3)  # the library threshold: general tags of every model follow it
    assert paths_of(library, "1girl") == ["a.jpg", "b.jpg"]
    assert library.model_thresholds() == {"wd": {"character": 0.85}}


@pytest.mark.slow
def test_autotag_with_a_new_model_tags_every_image_it_has_not_tagged(tmp_path: Path) -> None:
    fixtures = Path(__file__).parent / "fixtures"
    joytag, wd = fixtures / "joytag-format/tiny-learned-pos", fixtures / "wd-format/wd-tiny-vit-tagger-v3"
    db = tmp_path / "library.sqlite3"
    photos = tmp_path / "photos"
    for image in sorted((fixtures / "wd-format/images").iterdir())[:3]:
        write_photo(photos / f"{image.stem}.jpg", color=(len(image.stem) * 20, 90, 30))
    assert _cli(db, "index", "--no-watch", str(photos)).returncode == 0
    first = _cli(db, "autotag", "--model", str(joytag), "--precision", "float32")
    assert first.returncode == 0, first.stderr
    second = _cli(db, "autotag", "--model", str(wd), "--precision", "float32")
    assert second.returncode == 0, second.stderr
    assert "Tagged 3 image(s)" in second.stderr
    with Library(db) as library:
        models = {m.name: m for m in library.models()}
        assert models["tiny-learned-pos"].images == 3 and not models["tiny-learned-pos"].auto
        assert models["wd-tiny-vit-tagger-v3"].images == 3 and models["wd-tiny-vit-tagger-v3"].auto
        assert library.count_by_status()["tagged"] == 3
        assert paths_of(library, "model:tiny-learned-pos") == paths_of(library, "model:wd-tiny-vit-tagger-v3")
        assert library.model_thresholds()["wd-tiny-vit-tagger-v3"]["character"] == pytest.approx(0.85)
    both = _cli(db, "autotag", "--model", str(joytag), "--model", str(wd))
    assert both.returncode == 0 and "Nothing to tag" in both.stderr
    write_photo(photos / "new.jpg", color=(1, 2, 3))
    assert _cli(db, "scan").returncode == 0
    again = _cli(db, "autotag", "--precision", "float32")  # the automatic models: both
    assert again.returncode == 0, again.stderr
    with Library(db) as library:
        assert {m.name: m.images for m in library.models()} == {"tiny-learned-pos": 4, "wd-tiny-vit-tagger-v3": 4}


@pytest.mark.slow
def test_the_cli_sets_model_thresholds_ratings_and_automatic_models(two_models) -> None:
    library, root = two_models
    db = Path(library.engine.url.database)
    library.close()
    assert _cli(db, "search", "hatsune_miku").stdout.splitlines() == [str(root / "b.jpg")]
    result = _cli(db, "threshold", "--model", "wd", "--category", "character", "0.75")
    assert result.returncode == 0 and result.stdout == "wd character: 0.75\n"
    assert _cli(db, "search", "hatsune_miku").stdout.splitlines() == [str(root / "b.jpg"), str(root / "c.jpg")]
    assert "model wd: character 0.75, general 0.35" in _cli(db, "threshold").stdout
    result = _cli(db, "threshold", "--model", "wd", "--category", "character", "--clear")
    assert result.stdout == "wd character: 0.4 (the global threshold)\n"
    assert "nope" in _cli(db, "threshold", "--model", "nope", "0.5").stderr
    # tags list by category: WD's character, on b (0.9) and c (0.8) now that characters follow 0.4
    assert _cli(db, "tags", "list", "--category", "character").stdout == "       2  hatsune_miku\n"
    assert "hatsune_miku" not in _cli(db, "tags", "list", "--category", "general,copyright").stdout
    assert _cli(db, "tags", "list", "--category", "people").returncode == 2

    assert _cli(db, "rating", str(root / "a.jpg"), str(root / "b.jpg")).stdout.splitlines() == [
        f"general\t{root / 'a.jpg'}",
        f"explicit\t{root / 'b.jpg'}",
    ]
    result = _cli(db, "rating", "--set", "sensitive", str(root / "b.jpg"))
    assert result.stdout == f"sensitive (set by hand)\t{root / 'b.jpg'}\n"
    assert _cli(db, "search", "rating:sensitive").stdout.splitlines() == [str(root / "b.jpg")]
    assert _cli(db, "rating", "--clear", str(root / "b.jpg")).stdout == f"explicit\t{root / 'b.jpg'}\n"
    assert _cli(db, "rating", "--set", "lewd", str(root / "b.jpg")).returncode == 2
    assert "is not in the library" in _cli(db, "rating", str(root / "zzz.jpg")).stderr

    listing = _cli(db, "models", "library").stdout
    assert "joytag" in listing and "wd" in listing and "thresholds: general 0.35" in listing  # character cleared
    result = _cli(db, "models", "library", "--auto", "wd", "--no-search", "joytag")
    assert result.returncode == 0, result.stderr
    with Library(db) as again:
        state = {m.name: (m.auto, m.searched) for m in again.models()}
    assert state == {"joytag": (False, False), "wd": (True, True)}


@pytest.mark.slow
def test_exports_choose_categories_and_file_keywords_by_category(two_models) -> None:
    library, root = two_models
    db = Path(library.engine.url.database)
    library.close()
    sidecar = root / "b.jpg.xmp"
    result = _cli(db, "export", "xmp", "--by-category", "--skip-categories", "rating")
    assert result.returncode == 0, result.stderr
    read = subprocess.run(
        ["exiv2", "-q", "-P", "v", "-K", "Xmp.lr.hierarchicalSubject", "-K", "Xmp.dc.subject", str(sidecar)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    # b: JoyTag 1girl 0.3 < 0.4 but WD 0.36 passes its 0.35; hatsune_miku 0.9 (character); vocaloid (copyright)
    assert "JoyTag|character|hatsune_miku" in read and "JoyTag|copyright|vocaloid" in read
    assert "JoyTag|general|1girl" in read and "JoyTag|general|smile" in read
    assert "rating" not in read, "ratings left out"
    # Filed flat again: our own entries move, nothing else is touched.
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-XMP-dc:Subject+=Holiday", str(sidecar)], check=True)
    assert _cli(db, "export", "xmp", "--skip-categories", "rating").returncode == 0
    read = subprocess.run(
        ["exiftool", "-s3", "-sep", ";", "-HierarchicalSubject", "-Subject", str(sidecar)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    hierarchy, subject = read.splitlines()
    ours = {"JoyTag|1girl", "JoyTag|smile", "JoyTag|hatsune_miku", "JoyTag|vocaloid"}
    assert set(hierarchy.split(";")) == ours | {"Holiday"}  # copied across properties, as before
    assert "Holiday" in subject.split(";"), "a keyword someone else wrote stays"
    with Library(db) as again:
        assert again.tag_id("JoyTag|character|hatsune_miku") is None, "read back as the tag it is"
    # Captions: only the chosen categories.
    assert _cli(db, "export", "captions", "--categories", "character,copyright").returncode == 0
    assert (root / "b.txt").read_text() == "hatsune miku, vocaloid\n"
    assert _cli(db, "export", "captions", "--categories", "colour").returncode == 2
