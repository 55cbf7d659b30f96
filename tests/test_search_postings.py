"""The posting lists answer exactly as SQL does: random libraries, random queries, random edits.

Each library is searched three ways on the same SQLite file: with SQL only (the plain semantics),
with the posting lists of a long-lived Library (which follows every change through the change
log), and with a Library opened after the changes (which loads the saved index and replays).
"""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from joytag_desktop.library import ImageResult, Library, posting_file
from joytag_desktop.library.postings import PostingIndex
from joytag_desktop.library.query import quote_tag

GENERAL = [f"{a}_{b}" for a in ("long", "short", "blue", "red") for b in ("hair", "eyes", "sky", "cat", "dress")]
CHARACTERS = ["hatsune_miku", "saber_(fate)", "rem_(re:zero)"]
RATING_TAGS = ["rating:general", "rating:sensitive", "rating:questionable", "rating:explicit"]
WD_VOCAB = GENERAL[:12] + CHARACTERS + RATING_TAGS
WD_CATEGORIES = ["general"] * 12 + ["character"] * 3 + ["rating"] * 4
JOYTAG_VOCAB = GENERAL
SORTS = ("path", "-path", "date", "-date", "added", "-added")


def _insert_images(db: Path, rng: random.Random, first: int, count: int) -> None:
    """Image rows as a scan leaves them (paths in a few folders, EXIF dates or file times, cameras)."""
    with sqlite3.connect(db) as raw:
        for image_id in range(first, first + count):
            folder = rng.choice(["trip", "trip/day1", "cats", "art"])
            taken = None
            if rng.random() < 0.6:
                taken = (datetime(2021, 1, 1) + timedelta(hours=rng.randrange(0, 24 * 900))).isoformat(" ")
            raw.execute(
                "INSERT INTO images (id, root_id, path, folder, name, ext, size, mtime, width, height, format,"
                " status, added_at, taken_at, camera_make, camera_model)"
                " VALUES (?, 1, ?, ?, ?, 'jpg', ?, ?, ?, ?, 'JPEG', ?, ?, ?, ?, ?)",
                (
                    image_id,
                    f"/lib/{folder}/img{rng.randrange(100000):05d}_{image_id}.jpg",
                    f"lib/{folder}",
                    f"img_{image_id}.jpg",
                    rng.randrange(1000, 10**6),
                    1.6e9 + rng.randrange(0, 10**8) if rng.random() < 0.9 else 1.6e9,  # some share a time
                    rng.randrange(100, 5000),
                    rng.randrange(100, 5000),
                    rng.choice(["pending", "tagged", "tagged", "error"]),
                    datetime.now().isoformat(" "),
                    taken,
                    rng.choice([None, "Canon", "NIKON"]),
                    rng.choice([None, "EOS R5", "D750"]),
                ),
            )


def _tag(library: Library, rng: random.Random, ids: list[int], model: str) -> None:
    vocab, categories = (WD_VOCAB, WD_CATEGORIES) if model == "wd" else (JOYTAG_VOCAB, None)
    results = []
    for image_id in ids:
        scores = np.zeros(len(vocab), dtype=np.float32)
        for index in rng.sample(range(len(vocab)), rng.randrange(0, 8)):
            scores[index] = rng.choice([0.3, 0.35, 0.4, 0.5, 0.6, 0.85, 0.9, rng.random()])
        results.append(ImageResult(image_id, scores, None, None))
    library.store_results(results, library.model(model), vocab, categories)


def _random_term(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.45:
        return quote_tag(rng.choice(GENERAL + CHARACTERS + ["no_such_tag"]))
    options = [
        "long_*", "*_hair", "?ed_*", "character:*", "character:*miku*", "category:general",
        "model:wd", "model:joytag", "model:nobody", "rating:general", "rating:<=sensitive", "rating:>general",
        "rating:none", "status:pending", "status:error", "status:missing", "status:tagged",
        "date:2022", "date:2021-03..2022-06", "date:<2022-01-15", "date:>=2023", "date:2021-02-03",
        "camera:canon", "make:nikon", "folder:trip", "ext:jpg", "width:>2000", "size:<300k",
        "long_hair:>0.5", "blue_sky:<0.45", "red_cat:0.3..0.6", "source:manual", "source:ai",
    ]  # fmt: skip
    return rng.choice(options)


def _random_query(rng: random.Random, depth: int = 0) -> str:
    parts = []
    for _ in range(rng.randrange(1, 4)):
        roll = rng.random()
        if roll < 0.15 and depth < 2:
            term = f"({_random_query(rng, depth + 1)} | {_random_query(rng, depth + 1)})"
        else:
            term = _random_term(rng)
        if rng.random() < 0.3:
            term = f"-{term}"
        parts.append(term)
    return " ".join(parts)


def _edit(library: Library, db: Path, rng: random.Random, next_id: list[int]) -> None:
    """One round of what users and the worker do to a library."""
    ids = [row[0] for row in sqlite3.connect(db).execute("SELECT id FROM images")]
    action = rng.randrange(9)
    chosen = rng.sample(ids, min(len(ids), rng.randrange(1, 12)))
    if action == 0:
        _tag(library, rng, chosen, rng.choice(["wd", "joytag"]))
    elif action == 1:
        library.set_manual_tag(
            chosen, rng.choice(GENERAL + CHARACTERS + ["my_keyword"]), rng.choice([True, False, None])
        )
    elif action == 2:
        with sqlite3.connect(db) as raw:  # moves and renames, as the scanner records them
            for image_id in chosen:
                raw.execute("UPDATE images SET path = ? WHERE id = ?", (f"/lib/moved/{rng.random():.8f}.jpg", image_id))
    elif action == 3:
        with sqlite3.connect(db) as raw:
            raw.execute("PRAGMA foreign_keys=ON")
            top = max(ids)
            raw.executemany("DELETE FROM images WHERE id = ?", [(i,) for i in [*chosen[:3], top]])
        _insert_images(db, rng, top, 2)  # SQLite may hand out a deleted id again: here it does
        next_id[0] = max(next_id[0], top + 2)
    elif action == 4:
        with sqlite3.connect(db) as raw:
            raw.executemany(
                "UPDATE images SET status = ? WHERE id = ?",
                [(rng.choice(["missing", "tagged", "pending"]), i) for i in chosen],
            )
    elif action == 5:
        library.set_rating(chosen, rng.choice(["general", "sensitive", "questionable", "explicit", None]))
    elif action == 6:
        choice = rng.randrange(4)
        if choice == 0:
            library.set_threshold(rng.choice([0.35, 0.4, 0.5]))
        elif choice == 1:
            library.set_tag_threshold(rng.choice(GENERAL[:12]), rng.choice([0.3, 0.6, None]))
        elif choice == 2:
            library.set_model_threshold("wd", rng.choice(["general", "character"]), rng.choice([0.3, 0.85, None]))
        else:
            library.set_model_searched("joytag", rng.random() < 0.7)
    elif action == 7:
        _insert_images(db, rng, next_id[0], 5)
        _tag(library, rng, list(range(next_id[0], next_id[0] + 5)), "joytag")
        next_id[0] += 5
    else:
        with sqlite3.connect(db) as raw:
            raw.executemany(
                "UPDATE images SET taken_at = ?, mtime = ? WHERE id = ?",
                [(None if rng.random() < 0.5 else "2022-05-05 10:00:00.000000", 1.65e9, i) for i in chosen],
            )


def _compare(sql: Library, fast: Library, queries: list[str], rng: random.Random) -> None:
    for query in queries:
        sort = rng.choice(SORTS)
        limit = rng.choice([None, 1, 7, 40])
        offset = rng.choice([0, 0, 3]) if limit else 0
        expected = sql.search(query, sort=sort, limit=limit, offset=offset)
        got = fast.search(query, sort=sort, limit=limit, offset=offset)
        assert got.ids == expected.ids, (query, sort, limit, offset)
        assert got.warnings == expected.warnings, query
        assert fast.count(query) == sql.count(query), query
    for name in GENERAL + CHARACTERS + ["my_keyword"]:
        assert fast.count(quote_tag(name)) == sql.count(quote_tag(name)), name
    exact = {name: sql.count(quote_tag(name)) for name in GENERAL + CHARACTERS + RATING_TAGS + ["my_keyword"]}
    assert dict(fast.tag_counts()) == {name: n for name, n in exact.items() if n}
    assert dict(fast.autocomplete("long_", limit=None)) == {n: c for n, c in exact.items() if n.startswith("long_")}
    query = queries[0]
    assert sorted(fast.result_tag_counts(query)) == sorted(sql.result_tag_counts(query)), query


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.slow
def test_posting_lists_answer_like_sql_through_edits(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    db = tmp_path / "library.sqlite3"
    setup = Library(db)
    setup.add_root(tmp_path)
    setup.add_model("joytag")
    setup.add_model("wd", format="wd", thresholds={"general": 0.35, "character": 0.85})
    _insert_images(db, rng, 1, 150)
    _tag(setup, rng, list(range(1, 151)), "joytag")
    _tag(setup, rng, rng.sample(range(1, 151), 100), "wd")
    setup.close()
    sql = Library(db)
    sql.search_index.enabled = False
    fast = Library(db)
    next_id = [151]
    queries = [_random_query(rng) for _ in range(40)]
    _compare(sql, fast, queries, rng)
    assert fast.search_index.builds == 1
    for _round in range(12):
        for _ in range(rng.randrange(1, 4)):
            _edit(fast if rng.random() < 0.5 else sql, db, rng, next_id)
        _compare(sql, fast, [_random_query(rng) for _ in range(15)], rng)
    later = Library(db)  # another process: the saved index and the change log since
    _compare(sql, later, queries, rng)
    for library in (sql, fast, later):
        library.close()


def _small_library(tmp_path: Path, seed: int, images: int) -> tuple[Path, random.Random]:
    """A library of ``images`` image rows tagged by JoyTag's vocabulary (its index built once)."""
    rng = random.Random(seed)
    db = tmp_path / "library.sqlite3"
    with Library(db) as library:
        library.add_root(tmp_path)
        library.add_model("joytag")
        _insert_images(db, rng, 1, images)
        _tag(library, rng, list(range(1, images + 1)), "joytag")
        library.count("")
    return db, rng


def test_a_saved_index_loads_and_replays_instead_of_rebuilding(tmp_path: Path) -> None:
    db, _ = _small_library(tmp_path, 7, 60)
    with Library(db) as library:
        before = set(library.search("long_hair").ids)
        assert library.search_index.builds == 0
    assert Path(f"{db}-search").is_file()
    with Library(db) as library:  # edits by another process after the save
        library.search_index.enabled = False
        library.set_manual_tag([1, 2, 3], "long_hair", True)
        library.set_manual_tag([i for i in before if i > 3][:2], "long_hair", False)
        expected = library.search("long_hair").ids
    assert set(expected) != before
    with Library(db) as library:
        assert library.search("long_hair").ids == expected
        assert library.count("long_hair") == len(expected)
        assert library.search_index.builds == 0  # loaded, then the edits replayed


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "other-library"])
def test_a_damaged_or_foreign_saved_index_is_rebuilt_never_trusted(tmp_path: Path, damage: str) -> None:
    db, _ = _small_library(tmp_path, 3, 40)
    with Library(db) as library:
        expected = library.search("long_hair | blue_sky").ids
    saved = Path(f"{db}-search")
    data = bytearray(saved.read_bytes())
    header, start = posting_file._saved_header(saved)
    assert header is not None
    middle = start + header["payload"] // 2  # the posting lists (the score codes follow them)
    if damage == "truncate":
        saved.write_bytes(data[:middle])
    elif damage == "flip":
        data[middle] ^= 0xFF
        saved.write_bytes(bytes(data))
    elif damage == "garbage":
        saved.write_bytes(b"\x00" * 100)
    else:
        with sqlite3.connect(db) as raw:  # a restored or replaced database: another library's id
            raw.execute("UPDATE settings SET value = 'someone-else' WHERE key = 'library_id'")
    with Library(db) as library:
        assert library.search("long_hair | blue_sky").ids == expected
        assert library.search_index.builds == 1


@pytest.mark.parametrize("damage", ["truncate", "flip", "replaced"])
def test_damaged_saved_score_codes_are_read_again_from_the_database(tmp_path: Path, damage: str) -> None:
    """The score codes, read only when a search first needs them, are checked then: a damaged or
    replaced file costs that search an SQL answer, and the next one reads the codes again."""
    db, _ = _small_library(tmp_path, 4, 40)
    queries = ["long_hair:>0.5", "blue_sky:0.3..0.6 -red_cat:<0.45"]
    with Library(db) as library:
        library.search_index.enabled = False
        expected = [library.search(q).ids for q in queries] + [library.search("long_hair", threshold=0.33).ids]
    saved = Path(f"{db}-search")
    data = bytearray(saved.read_bytes())
    with Library(db) as library:
        assert library.search("long_hair").ids  # loads the posting lists, not the score codes
        if damage == "truncate":
            saved.write_bytes(data[:-5])
        elif damage == "flip":
            data[-5] ^= 0xFF
            saved.write_bytes(bytes(data))
        else:  # another process saved meanwhile
            with Library(db) as other, other.search_index._connection() as connection:
                other.search("long_hair")
                other.search_index._save(connection, other.search_index._index)
        for _ in range(2):
            assert [library.search(q).ids for q in queries] == expected[:2]
            assert library.search("long_hair", threshold=0.33).ids == expected[2]
        index = library.search_index._index
        assert index is not None and not index.graded.damaged and index.graded.complete
        assert library.search_index.builds == 0


def test_the_change_log_is_pruned_and_a_lagging_process_reloads(tmp_path: Path, monkeypatch) -> None:
    from joytag_desktop.library import search_index

    monkeypatch.setattr(search_index, "SAVE_AFTER_CHANGES", 50)
    monkeypatch.setattr(search_index, "PRUNE_AFTER_ROWS", 50)
    rng = random.Random(5)
    db = tmp_path / "library.sqlite3"
    lagging = Library(db)
    lagging.add_root(tmp_path)
    lagging.add_model("joytag")
    _insert_images(db, rng, 1, 30)
    lagging.count("long_hair")  # built at this point
    with Library(db) as busy:
        _tag(busy, rng, list(range(1, 31)), "joytag")  # hundreds of changes: saved, log pruned
        busy.count("long_hair")
        expected = busy.search("long_hair -blue_sky").ids
    with sqlite3.connect(db) as raw:
        oldest = raw.execute("SELECT min(seq) FROM search_changes").fetchone()[0]
    assert oldest > lagging.search_index._index.stamp + 1  # the rows it would replay are gone
    assert lagging.search("long_hair -blue_sky").ids == expected
    lagging.close()


def test_the_index_is_small_and_its_arrays_follow_new_ids(tmp_path: Path) -> None:
    db, rng = _small_library(tmp_path, 11, 20)
    with Library(db) as library:
        library.count("")
        _insert_images(db, rng, 5000, 3)  # ids far beyond the arrays
        _tag(library, rng, [5000, 5001, 5002], "joytag")
        assert set(library.search("", sort="date").ids) >= {5000, 5001, 5002}
        with library.search_index.acquire(library.threshold_rules()) as index:
            assert isinstance(index, PostingIndex)
            assert index.memory_bytes() < 200_000


def test_the_gui_builds_a_big_index_on_its_own_thread_and_sql_answers_meanwhile(tmp_path: Path, monkeypatch) -> None:
    from joytag_desktop.library import search_index

    monkeypatch.setattr(search_index, "BACKGROUND_ABOVE", 10)
    db, _ = _small_library(tmp_path, 13, 40)
    with Library(db) as setup:
        setup.search_index.enabled = False
        expected = setup.search("long_hair -blue_sky", sort="date").ids
    Path(f"{db}-search").unlink(missing_ok=True)
    with Library(db) as library:
        library.search_index.background = True
        assert library.search("long_hair -blue_sky", sort="date").ids == expected  # SQL, while it builds
        library.search_index._building.join(timeout=60)
        assert library.search_index.builds == 1
        library.set_manual_tag([1], "long_hair", True)
        with Library(db) as sql:
            sql.search_index.enabled = False
            assert (
                library.search("long_hair -blue_sky", sort="date").ids
                == sql.search("long_hair -blue_sky", sort="date").ids
            )
        with library.search_index.acquire(library.threshold_rules()) as index:
            assert index is not None and 1 in index.added[library.tag_id("long_hair")]


@pytest.mark.slow
def test_edits_by_other_processes_reach_a_running_index(tmp_path: Path) -> None:
    """The GUI's index follows the command line's edits (and the command line answers alike)."""
    import os
    import subprocess
    import sys

    from helpers.library import give_scores, write_photo

    photos = tmp_path / "photos"
    a, b, c = (write_photo(photos / f"{n}.jpg", color=(i * 70, 20, 0)) for i, n in enumerate("abc"))
    db = tmp_path / "library.sqlite3"
    gui = Library(db)
    gui.add_folder(photos, watched=False)
    gui.scan()
    give_scores(gui, ["cat", "dog"], {a: {"cat": 0.9}, b: {"cat": 0.5, "dog": 0.7}, c: {"dog": 0.45}})
    assert [Path(p).name for p in _paths(gui, "cat")] == ["a.jpg", "b.jpg"]

    def cli(*args: str) -> str:
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
        done = subprocess.run(
            [sys.executable, "-m", "joytag_desktop", "--db", str(db), *args],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    cli("tags", "remove", "cat", str(a))
    cli("tags", "add", "cat", str(c))
    assert [Path(p).name for p in _paths(gui, "cat")] == ["b.jpg", "c.jpg"]
    cli("threshold", "0.6")
    assert [Path(p).name for p in _paths(gui, "cat")] == ["c.jpg"]  # b's 0.5 no longer counts
    assert [Path(p).name for p in _paths(gui, "dog | cat")] == ["b.jpg", "c.jpg"]
    gui.set_manual_tag([gui.image_by_path(b).id], "cat", True)
    assert cli("search", "cat", "--format", "paths").split() == [str(b), str(c)]
    assert dict(gui.tag_counts()) == {"cat": 2, "dog": 1}
    gui.close()


def _paths(library: Library, query: str) -> list[str]:
    return [row[1] for row in library.search_rows(query)[0]]


def test_a_library_tagged_and_never_searched_keeps_a_bounded_change_log(tmp_path: Path, monkeypatch) -> None:
    from joytag_desktop.library import postings

    monkeypatch.setattr(postings, "MAX_REPLAY", 40)
    db, rng = _small_library(tmp_path, 17, 30)
    with Library(db) as watcher, Library(db) as viewer:
        viewer.count("long_hair")  # an index that will fall far behind
        for _ in range(100):  # the worker's batches; every hundredth trims the log
            _tag(watcher, rng, rng.sample(range(1, 31), 3), "joytag")
        with sqlite3.connect(db) as raw:
            assert raw.execute("SELECT count(*) FROM search_changes").fetchone()[0] <= 41
        watcher.search_index.enabled = False
        assert viewer.search("long_hair -blue_sky").ids == watcher.search("long_hair -blue_sky").ids


def test_a_save_cut_short_by_a_kill_leaves_no_lasting_temporary(tmp_path: Path) -> None:
    import os
    import time

    db, _ = _small_library(tmp_path, 19, 10)
    killed = tmp_path / "library.sqlite3-search.4242.tmp"  # what SIGKILL in the middle of a save leaves
    killed.write_bytes(b"half an index")
    recent = tmp_path / "library.sqlite3-search.4343.tmp"  # another process saving right now
    recent.write_bytes(b"being written")
    old = time.time() - 2 * 3600
    os.utime(killed, (old, old))
    Path(f"{db}-search").unlink()
    with Library(db) as library:
        library.count("long_hair")  # builds and saves
    assert not killed.exists() and recent.exists()
