"""The user's tag vocabulary (issue 34): renames, merges and deletes over every image; aliases and
implications in search (posting lists and SQL alike), counts and export; booru CSV imports."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from helpers.fixture_files import FIXTURES
from helpers.library import give_scores, write_photo
from helpers.metadata_readers import EXIFTOOL, exiftool_read, listed, run_exiftool, touch_later
from joytag_desktop.cli.main import main
from joytag_desktop.interchange import booru
from joytag_desktop.interchange.keyword_export import KeywordChoice, export_xmp
from joytag_desktop.interchange.keyword_sync import import_found
from joytag_desktop.library import Library, LibraryError
from joytag_desktop.library.renames import ModelTagError
from joytag_desktop.library.vocabulary import VocabularyError

VOCAB = FIXTURES / "vocabulary"
QUERIES = ["cat", "kitty", "animal", "-animal", "animal -dog", "felid | dog", "mammal", "kitty animal", "canid"]


def _library(root: Path, db: str) -> tuple[Library, dict[str, int]]:
    for name in "abcdef":
        write_photo(root / f"{name}.jpg", color=(30 * "abcdef".index(name), 90, 40))
    lib = Library(db)
    lib.add_root(root)
    import_found(lib, lib.scan())
    give_scores(
        lib,
        ["cat", "dog", "wolf"],
        {root / "a.jpg": {"cat": 0.9}, root / "b.jpg": {"dog": 0.8}, root / "e.jpg": {"wolf": 0.95, "cat": 0.1}},
    )
    ids = {
        image.name.split(".")[0]: image.id
        for image in (lib.image_by_path(root / f"{n}.jpg") for n in "abcdef")
        if image
    }
    lib.set_manual_tag([ids["c"]], "kitty", True)
    lib.set_manual_tag([ids["d"]], "moggy", True)
    return lib, ids


def _names(lib: Library, query: str, indexed: bool) -> list[str]:
    lib.search_index.enabled = indexed
    try:
        return sorted(Path(image.path).stem for image in lib.images(lib.search(query).ids))
    finally:
        lib.search_index.enabled = True


def _both(lib: Library, query: str) -> list[str]:
    """The posting lists and SQL give the same images; that answer."""
    fast, plain = _names(lib, query, True), _names(lib, query, False)
    assert fast == plain, query
    return fast


@pytest.mark.backends
def test_aliases_and_implications_widen_search_alike_in_sql_and_postings(tmp_path: Path, db_url: str) -> None:
    lib, _ = _library(tmp_path / "p", db_url)
    with lib:
        assert _both(lib, "cat") == ["a"]
        lib.vocabulary.alias("kitty", "cat")
        lib.vocabulary.imply("cat", "felid")
        lib.vocabulary.imply("felid", "animal")  # chains resolve transitively
        lib.vocabulary.imply("dog", "animal")
        assert _both(lib, "cat") == ["a", "c"]
        assert _both(lib, "kitty") == ["a", "c"]  # both names are one tag
        assert _both(lib, "animal") == ["a", "b", "c"]
        assert _both(lib, "-animal") == ["d", "e", "f"]
        assert _both(lib, "animal -dog") == ["a", "c"]
        assert _both(lib, "felid | wolf") == ["a", "c", "e"]
        lib.vocabulary.unimply("dog", "animal")
        assert _both(lib, "animal") == ["a", "c"]
        assert lib.vocabulary.unalias("kitty")
        assert _both(lib, "animal") == ["a"]


@pytest.mark.backends
def test_counts_join_aliases_and_count_children_under_parents(tmp_path: Path, db_url: str) -> None:
    lib, ids = _library(tmp_path / "p", db_url)
    with lib:
        lib.set_manual_tag([ids["a"]], "kitty", True)  # a has cat and kitty: counted once
        lib.vocabulary.alias("kitty", "cat")
        lib.vocabulary.imply("cat", "animal")
        lib.vocabulary.imply("dog", "animal")
        for indexed in (True, False):
            lib.search_index.enabled = indexed
            counts = dict(lib.tag_counts())
            assert counts["cat"] == 2 and counts["animal"] == 3, (indexed, counts)
            assert "kitty" not in counts  # shown as its target
            assert len(lib.tag_counts(limit=3)) == 3 and "kitty" not in dict(lib.tag_counts(limit=3))
        lib.search_index.enabled = True


def test_alias_chains_and_implication_cycles_are_refused_naming_the_tags(tmp_path: Path) -> None:
    lib, _ = _library(tmp_path / "p", str(tmp_path / "lib.sqlite3"))
    with lib:
        lib.vocabulary.alias("kitty", "cat")
        with pytest.raises(VocabularyError, match="alias chain moggy → kitty"):
            lib.vocabulary.alias("moggy", "kitty")
        with pytest.raises(VocabularyError, match="alias chain … → cat → feline"):
            lib.vocabulary.alias("cat", "feline")
        with pytest.raises(VocabularyError, match="itself"):
            lib.vocabulary.alias("cat", "cat")
        lib.vocabulary.imply("cat", "felid")
        lib.vocabulary.imply("felid", "mammal")
        with pytest.raises(VocabularyError, match="cycle: mammal → cat → felid → mammal"):
            lib.vocabulary.imply("mammal", "cat")
        with pytest.raises(VocabularyError, match="cycle"):
            lib.vocabulary.imply("mammal", "kitty")  # kitty is cat
        assert lib.vocabulary.implications() == [("cat", "felid"), ("felid", "mammal")]
        assert lib.vocabulary.aliases() == [("kitty", "cat")]


@pytest.mark.backends
def test_rename_merge_delete_move_the_users_rows_and_refuse_model_tags(tmp_path: Path, db_url: str) -> None:
    lib, _ = _library(tmp_path / "p", db_url)
    with lib:
        with pytest.raises(ModelTagError, match="alias it instead"):
            lib.renames.rename("cat", "feline")
        with pytest.raises(LibraryError, match="merge"):
            lib.renames.rename("kitty", "moggy")  # in use: that is a merge
        seen: list[tuple[int, int]] = []
        report = lib.renames.rename("kitty", "kitten", progress=lambda done, total: seen.append((done, total)))
        assert report.images == 1 and seen == [(1, 1)]
        assert _both(lib, "kitten") == ["c"] and _both(lib, "kitty") == []
        lib.renames.merge("moggy", "kitten")
        assert _both(lib, "kitten") == ["c", "d"] and _both(lib, "moggy") == []
        lib.renames.delete("kitten")
        assert _both(lib, "kitten") == []
        assert "kitten" not in dict(lib.tag_counts())


@pytest.mark.backends
def test_rename_and_merge_carry_the_aliases_and_implications_naming_the_old_tag(tmp_path: Path, db_url: str) -> None:
    lib, ids = _library(tmp_path / "p", db_url)
    with lib:
        vocabulary = lib.vocabulary
        vocabulary.alias("moggy", "kitty")
        vocabulary.imply("kitty", "pet")
        vocabulary.imply("tabby", "kitty")
        before = (vocabulary.aliases(), vocabulary.implications())
        report = lib.renames.rename("kitty", "kitten")
        assert report.carried is not None and report.carried.refused == []
        assert vocabulary.aliases() == [("moggy", "kitten")]
        assert vocabulary.implications() == [("kitten", "pet"), ("tabby", "kitten")]
        assert _both(lib, "pet") == ["c", "d"] and _both(lib, "kitty") == []  # d's moggy is another name of kitten
        vocabulary.uncarry(report.carried)  # what an undo does
        assert (vocabulary.aliases(), vocabulary.implications()) == before
        vocabulary.carry("kitty", "kitten")
        merged = lib.renames.merge("moggy", "kitten")  # moggy → kitten would name kitten twice: it goes
        assert merged.carried is not None and merged.carried.refused == []
        assert vocabulary.aliases() == [] and _both(lib, "kitten") == ["c", "d"] and _both(lib, "pet") == ["c", "d"]
        lib.set_manual_tag([ids["f"]], "mouser", True)
        vocabulary.alias("mouser", "dog")
        vocabulary.alias("tom", "kitten")
        refused = lib.renames.merge("mouser", "kitten").carried  # kitten → dog would chain tom → kitten → dog
        assert refused is not None and len(refused.refused) == 1 and "alias chain" in refused.refused[0]
        assert vocabulary.aliases() == [("tom", "kitten")] and _both(lib, "kitten") == ["c", "d", "f"]
        assert vocabulary.alias_targets(["tom", "kitten", "nothing_such"]) == {"tom": "kitten"}
        assert vocabulary.remove(["tom"], [("kitten", "pet")]) == 2
        assert vocabulary.aliases() == [] and vocabulary.implications() == [("tabby", "kitten")]


def test_a_bulk_rename_is_chunked_and_cancel_keeps_whole_chunks(tmp_path: Path, monkeypatch) -> None:
    from joytag_desktop.library import renames

    lib, ids = _library(tmp_path / "p", str(tmp_path / "lib.sqlite3"))
    with lib:
        monkeypatch.setattr(renames, "EDIT_CHUNK", 2)
        lib.set_manual_tag(list(ids.values()), "grey", True)
        import threading

        cancel = threading.Event()
        steps: list[int] = []

        def progress(done: int, total: int) -> None:
            steps.append(done)
            cancel.set()

        report = lib.renames.rename("grey", "gray", progress, cancel)
        assert report.cancelled and report.images == 2 and steps == [2]
        assert len(_both(lib, "gray")) == 2 and len(_both(lib, "grey")) == 4


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool")
def test_export_writes_renames_aliases_and_hierarchies_and_keeps_other_programs_keywords(tmp_path: Path) -> None:
    """A renamed imported keyword is the user's word (a removal, as a hand removal); a keyword
    another program wrote and the user never touched stays in the sidecar."""
    root = tmp_path / "p"
    photo = write_photo(root / "a.jpg")
    sidecar = root / "a.jpg.xmp"
    run_exiftool("-o", str(sidecar), "-XMP-dc:Subject=kitty_cat", "-XMP-dc:Subject=Holiday", str(photo))
    with Library(tmp_path / "lib.sqlite3") as lib:
        lib.add_root(root)
        import_found(lib, lib.scan())
        give_scores(lib, ["dog"], {photo: {"dog": 0.9}})
        lib.renames.rename("kitty_cat", "kitty")
        lib.vocabulary.alias("kitty", "cat")
        lib.vocabulary.imply("cat", "animal")
        report = export_xmp(lib, choice=KeywordChoice(implied=True))
        assert report.written == 1, report.errors
        data = exiftool_read(sidecar, "-XMP-dc:Subject", "-XMP-lr:HierarchicalSubject")
        subjects, hierarchy = listed(data, "Subject"), listed(data, "HierarchicalSubject")
        assert "kitty_cat" not in subjects and "kitty" not in subjects
        assert "Holiday" in subjects and "cat" in subjects and "dog" in subjects
        assert "animal|cat" in hierarchy and "JoyTag|dog" in hierarchy
        touch_later(sidecar)  # re-read: the old name does not come back, the written ones are ours
        import_found(lib, lib.scan())
        assert _both(lib, "kitty_cat") == [] and _both(lib, "animal") == ["a"] and _both(lib, "Holiday") == ["a"]


def test_a_very_long_or_wide_implication_graph_exports_its_hierarchy_in_bounded_time(tmp_path: Path) -> None:
    """A chain of 1,500 implications (a hand-made list) and a lattice 30 levels deep (each tag
    implying both of the next level's): the export writes a path per tag, not a recursion error,
    and does not walk the 2^30 paths of the lattice."""
    root = tmp_path / "p"
    photo = write_photo(root / "a.jpg")
    chain = [(f"t{n}", f"t{n + 1}") for n in range(1500)]
    lattice = [("l0", "a1"), ("l0", "b1")]
    lattice += [(f"{x}{n}", f"{y}{n + 1}") for n in range(1, 30) for x in "ab" for y in "ab"]
    with Library(tmp_path / "lib.sqlite3") as lib:
        lib.add_root(root)
        import_found(lib, lib.scan())
        image_id = lib.image_by_path(photo).id
        lib.set_manual_tag([image_id], "t0", True)
        lib.set_manual_tag([image_id], "l0", True)
        assert lib.vocabulary.add_implications(chain).added == 1500
        assert lib.vocabulary.add_implications(lattice).added == len(lattice)
        started = time.monotonic()
        report = export_xmp(lib, choice=KeywordChoice(implied=True))
        assert report.errors == [] and report.written == 1
        assert time.monotonic() - started < 30
        hierarchy = listed(exiftool_read(root / "a.jpg.xmp", "-XMP-lr:HierarchicalSubject"), "HierarchicalSubject")
        assert any(path.endswith("|t1|t0") for path in hierarchy)
        assert any(path.endswith("|a1|l0") for path in hierarchy)


def test_booru_exports_load_active_rows_and_report_refusals(tmp_path: Path) -> None:
    lib, _ = _library(tmp_path / "p", str(tmp_path / "lib.sqlite3"))
    with lib:
        aliases = booru.import_aliases(lib, VOCAB / "tag_aliases-2024-05-01.csv")
        assert (aliases.total, aliases.added) == (5, 4)  # deleted, pending and retired rows skipped
        assert len(aliases.refused) == 1 and "alias chain puppy → doggy" in aliases.refused[0]
        implications = booru.import_implications(lib, VOCAB / "tag_implications-2024-05-01.csv")
        assert implications.added == 5 and "cycle: mammal → cat → felid → mammal" in implications.refused[0]
        danbooru = booru.import_aliases(lib, VOCAB / "danbooru_tag_aliases.csv")
        assert danbooru.added == 2
        assert ("blonde", "blonde_hair") in lib.vocabulary.aliases()
        assert _both(lib, "mammal") == ["a", "b", "c", "e"]  # kitty (c) is cat, wolf (e) a canid
        again = booru.import_aliases(lib, VOCAB / "tag_aliases-2024-05-01.csv")
        assert again.added == 0 and again.unchanged == 4
        written = tmp_path / "out.csv"
        booru.write_pairs(written, lib.vocabulary.aliases())
        assert sorted(booru.read_pairs(written)) == sorted(lib.vocabulary.aliases())
        not_booru = tmp_path / "x.csv"
        not_booru.write_text("a,b\n1,2\n")
        with pytest.raises(booru.BooruFileError, match="antecedent_name"):
            list(booru.read_pairs(not_booru))


@pytest.mark.slow
def test_a_fifo_or_device_given_as_a_booru_file_is_refused_in_one_line(tmp_path: Path) -> None:
    """A FIFO would block the import for ever and /dev/zero would fill memory: refused unread."""
    import os
    import subprocess
    import sys

    Library(str(tmp_path / "lib.sqlite3")).close()
    fifo = tmp_path / "tag_aliases.csv"
    os.mkfifo(fifo)
    command = [sys.executable, "-m", "joytag_desktop", "--db", str(tmp_path / "lib.sqlite3"), "tags",
               "import-aliases", str(fifo)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env={**os.environ})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"joytag-desktop: error: cannot read {fifo}: not a regular file (a FIFO, device or socket), not read"
    ]
    with pytest.raises(booru.BooruFileError, match="not a regular file"):
        list(booru.read_pairs(Path(os.devnull)))


def test_a_booru_import_leaves_the_csv_field_limit_of_the_process_as_it_was(tmp_path: Path) -> None:
    """The import's 10,000-character field limit must not stay on for every later CSV read in the
    window's process (a long caption or a model's tag table)."""
    import csv

    before = csv.field_size_limit()
    assert sorted(booru.read_pairs(VOCAB / "danbooru_tag_aliases.csv"))
    assert csv.field_size_limit() == before


def test_ten_thousand_aliases_import_in_seconds(tmp_path: Path) -> None:
    source = tmp_path / "tag_aliases-2024-05-01.csv"
    booru.write_pairs(source, [(f"alias_{n}", f"target_{n % 2500}") for n in range(10_000)])
    with Library(tmp_path / "lib.sqlite3") as lib:
        started = time.perf_counter()
        report = booru.import_aliases(lib, source)
        elapsed = time.perf_counter() - started
        assert report.added == 10_000 and not report.refused
        print(f"10,000 aliases imported in {elapsed:.2f} s")
        assert elapsed < 30
        started = time.perf_counter()
        assert lib.search("target_7").ids == []
        assert time.perf_counter() - started < 2


def test_cli_tags_vocabulary_actions(tmp_path: Path, capsys) -> None:
    lib, _ = _library(tmp_path / "p", str(tmp_path / "lib.sqlite3"))
    lib.close()
    db = ["--db", str(tmp_path / "lib.sqlite3")]
    assert main([*db, "tags", "rename", "moggy", "puss"]) == 0
    assert main([*db, "tags", "alias", "kitty", "cat"]) == 0
    assert main([*db, "tags", "imply", "cat", "animal"]) == 0
    assert main([*db, "tags", "import-implications", str(VOCAB / "tag_implications-2024-05-01.csv")]) == 0
    capsys.readouterr()
    assert main([*db, "tags", "aliases"]) == 0 and capsys.readouterr().out == "kitty\tcat\n"
    assert main([*db, "tags", "implications", "animal"]) == 0
    assert capsys.readouterr().out == "cat\tanimal\n"
    assert main([*db, "search", "animal"]) == 0
    assert sorted(Path(p).stem for p in capsys.readouterr().out.split()) == ["a", "c"]
    assert main([*db, "tags", "rename", "cat", "feline"]) != 0
    assert "alias it instead" in capsys.readouterr().err
    assert main([*db, "tags", "imply", "animal", "kitty"]) != 0
    err = capsys.readouterr().err
    assert "cycle" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main([*db, "tags", "alias", "moggy", "puss"]) == 0
    capsys.readouterr()
    assert main([*db, "tags", "rename", "puss", "pussycat"]) == 0  # the alias naming puss follows
    assert "1 alias(es) and implication(s) now name pussycat" in capsys.readouterr().err
    assert main([*db, "tags", "aliases", "moggy"]) == 0 and capsys.readouterr().out == "moggy\tpussycat\n"
    assert main([*db, "tags", "unalias", "kitty"]) == 0
    assert main([*db, "tags", "unimply", "cat", "animal"]) == 0
    out = tmp_path / "aliases.csv"
    assert main([*db, "tags", "export-aliases", str(out)]) == 0
    assert out.read_text().splitlines()[0] == "id,antecedent_name,consequent_name,created_at,status"


def test_migration_keeps_rows_and_adds_the_tables(tmp_path: Path) -> None:
    """A library of schema 0002 (a fixture made by an older version) opens at the head with its tags."""
    old = FIXTURES / "library-v0002"
    copy = tmp_path / "old"
    shutil.copytree(old, copy)
    database = next(copy.glob("*.sqlite3"))
    with Library(database) as lib:
        assert lib.vocabulary.aliases() == []
        before = len(lib.tag_counts())
        lib.vocabulary.alias("kitty", "cat")
        assert len(lib.tag_counts()) == before
