"""``search`` answered from the saved search index with ``sqlite3`` alone (``library.quick_search``).

Each query runs as a user runs it (a new process) and is compared with the full path (the same
command in this process with the quick path turned off): the same lines on stdout and stderr.
The tag queries must not import SQLAlchemy; where the quick path cannot answer exactly (a term or
a sort that needs SQL, an index behind the change log, no saved index, other threshold rules) it
steps aside and the full path answers, still the same.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from joytag_desktop.cli import main as cli_main
from joytag_desktop.library import Library, quick_search
from joytag_desktop.library.statements import DriverConnection
from tests.test_search_postings import _insert_images, _tag

ROOT = Path(__file__).resolve().parents[1]
_PROBE = (
    "import atexit, sys\n"
    "from joytag_desktop.library import quick_search\n"
    "original, taken = quick_search.answer, []\n"
    "def answer(*a, **k):\n"
    "    found = original(*a, **k)\n"
    "    taken.append(found is not None)\n"
    "    return found\n"
    "quick_search.answer = answer\n"
    "atexit.register(lambda: print(f'\\nPROBE quick={any(taken)} sqlalchemy={\"sqlalchemy\" in sys.modules}',"
    " file=sys.stderr))\n"
    "from joytag_desktop.cli.main import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def _library(folder: Path) -> Path:
    """Two models, hand edits, an alias, an implication and a tag threshold; the index saved."""
    rng = random.Random(11)
    db = folder / "library.sqlite3"
    with Library(db) as library:
        library.add_root(folder)
        library.add_model("joytag")
        library.add_model("wd", thresholds={"general": 0.35, "character": 0.85})
        _insert_images(db, rng, 1, 120)
        _tag(library, rng, list(range(1, 121)), "joytag")
        _tag(library, rng, list(range(1, 121, 2)), "wd")
        library.set_manual_tag([1, 2, 3], "long_hair", True)
        library.set_manual_tag([4, 5], "blue_sky", False)
        library.vocabulary.alias("sky_blue", "blue_sky")
        library.vocabulary.imply("red_cat", "long_eyes")
        library.set_tag_threshold("short_dress", 0.55)
        library.count("")  # builds and saves the search index
    return db


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("quick")
    home = tmp_path_factory.mktemp("home")
    return _library(folder), home


def _latest_change(db: Path) -> int:
    with sqlite3.connect(db) as raw:
        return raw.execute("SELECT seq FROM sqlite_sequence WHERE name = 'search_changes'").fetchone()[0]


def run_quick(db: Path, home: Path, *argv: str) -> tuple[str, str, bool, bool]:
    """stdout, stderr, whether the quick path answered and whether SQLAlchemy was imported."""
    env = {**os.environ, "JOYTAG_DESKTOP_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("JOYTAG_DESKTOP_DB", None)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, "--db", str(db), "search", *argv],
        capture_output=True, text=True, env=env, timeout=120, cwd=ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    stderr, probe = done.stderr.rsplit("\nPROBE ", 1)
    return done.stdout, stderr, "quick=True" in probe, "sqlalchemy=True" in probe


def run_full(db: Path, home: Path, *argv: str, monkeypatch: pytest.MonkeyPatch, capsys) -> tuple[str, str]:
    """The same command on the full path (the quick one turned off), in this process."""
    monkeypatch.setenv("JOYTAG_DESKTOP_HOME", str(home))
    monkeypatch.delenv("JOYTAG_DESKTOP_DB", raising=False)
    monkeypatch.setattr(quick_search, "answer", lambda *a, **k: None)
    capsys.readouterr()
    assert cli_main.main(["--db", str(db), "search", *argv]) == 0
    out, err = capsys.readouterr()
    monkeypatch.undo()
    return out, err


TAG_QUERIES = [
    ["long_hair", "--limit", "5"],
    ["long_hair", "-blue_sky"],
    ["long_*", "--sort", "-path", "--limit", "7"],
    ["*_hair | red_cat", "--sort", "date", "--limit", "9"],
    ["sky_blue", "--sort", "-date"],  # an alias
    ["long_eyes", "--sort", "added", "--limit", "4"],  # implied by red_cat
    ["short_dress", "--sort", "-added"],  # its own threshold
    ["SHORT_HAIR", "no_such_tag"],  # case folded; a warning
    ["long_hair", "--threshold", "0.7"],  # a one-off threshold: from the score codes
    ["red_eyes", "--threshold", "0.31", "--limit", "0"],
    ["--limit", "6"],  # every image
]


@pytest.mark.parametrize("argv", TAG_QUERIES, ids=lambda a: " ".join(a))
def test_tag_queries_answer_as_the_full_path_without_sqlalchemy(library, argv, monkeypatch, capsys) -> None:
    db, home = library
    out, err, quick, sqlalchemy = run_quick(db, home, *argv)
    assert (out, err) == run_full(db, home, *argv, monkeypatch=monkeypatch, capsys=capsys)
    assert quick and not sqlalchemy
    assert out.strip() or "no_such_tag" in argv


@pytest.mark.parametrize(
    ("argv", "quick"),
    [
        # Native fields and score qualifiers: quick, though parsing a field:value loads SQLAlchemy.
        (["model:wd", "long_hair"], True),
        (["long_hair:>0.5"], True),  # settled by the stored scores where a score code sits on 0.5
        (["blue_sky:<0.45", "--limit", "3"], True),
        (["rating:general", "--sort", "-date"], True),
        (["status:tagged", "date:2021", "-red_cat"], True),
        (["folder:trip", "long_hair"], False),  # SQL terms: the full path
        (["stars:0", "blue_sky"], False),
        (["camera:canon"], False),
        (["long_hair", "--sort", "size"], False),  # a sort the index does not keep
        (["long_hair", "--format", "jsonl", "--limit", "2"], False),
    ],
    ids=lambda a: " ".join(a) if isinstance(a, list) else str(a),
)
def test_field_terms_and_sorts(library, argv, quick, monkeypatch, capsys) -> None:
    db, home = library
    out, err, taken, _ = run_quick(db, home, *argv)
    assert (out, err) == run_full(db, home, *argv, monkeypatch=monkeypatch, capsys=capsys)
    assert taken == quick
    assert out.strip()


def test_an_index_behind_the_log_missing_or_made_for_other_rules_is_left_to_the_full_path(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    db = _library(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    argv = ("long_hair", "--limit", "0")
    before, _, quick, _ = run_quick(db, home, *argv)
    assert quick
    with Library(db) as library:  # a change the saved index does not hold (another process's edit)
        library.search_index.enabled = False
        library.set_manual_tag([7, 8, 9], "long_hair", True)
    out, err, quick, sqlalchemy = run_quick(db, home, *argv)
    assert not quick and sqlalchemy
    assert (out, err) == run_full(db, home, *argv, monkeypatch=monkeypatch, capsys=capsys)
    assert set(out.split()) > set(before.split())  # the edit is seen
    assert run_quick(db, home, *argv)[:3] == (out, err, True)  # the full path saved what it replayed
    Path(f"{db}-search").unlink()  # no saved index: the full path builds and saves one
    out, err, quick, _ = run_quick(db, home, *argv)
    assert not quick and (out, err) == run_full(db, home, *argv, monkeypatch=monkeypatch, capsys=capsys)
    assert run_quick(db, home, *argv)[:3] == (out, err, True)  # saved again by then: quick again
    saved = Path(f"{db}-search")
    data = bytearray(saved.read_bytes())
    data[len(data) // 8] ^= 0xFF  # in the posting lists: a damaged file is rebuilt, and said so once
    saved.write_bytes(bytes(data))
    damaged_out, damaged_err, quick, _ = run_quick(db, home, *argv)
    assert not quick and damaged_out == out and damaged_err.count("is damaged") == 1
    assert run_quick(db, home, *argv)[:3] == (out, err, True)
    with Library(db) as library:
        library.set_tag_threshold("long_hair", 0.95)  # rules the saved index was not made for
    out, err, quick, _ = run_quick(db, home, *argv)
    assert not quick and (out, err) == run_full(db, home, *argv, monkeypatch=monkeypatch, capsys=capsys)
    assert len(out.split()) < len(before.split())
    Path(f"{db}-search").unlink()
    run_quick(db, home, *argv)  # saved for these rules
    assert run_quick(db, home, *argv)[2]
    elsewhere = tmp_path / "mounted"
    elsewhere.mkdir()
    stamp = _latest_change(db)
    with Library(db) as library:  # this machine finds the root elsewhere: stored paths need translating
        library.map_root(str(tmp_path), elsewhere)
    assert _latest_change(db) == stamp  # the saved index is still current: the mount alone decides
    out, err, quick, _ = run_quick(db, home, *argv)
    assert not quick and (out, err) == run_full(db, home, *argv, monkeypatch=monkeypatch, capsys=capsys)


def test_tag_look_ups_and_rules_read_as_the_library_reads_them(tmp_path: Path) -> None:
    db = _library(tmp_path)
    names = ["Places|Europe|Paris", "places|Asia", "Ünïcode_Tag", "100%_sure", "a_b", "a?b"]
    with Library(db) as library:
        library.tags.ensure_tags(names, ["keyword"] * len(names))
        library.set_model_threshold("wd", "character", 0.9)
        raw = sqlite3.connect(db)
        try:
            connection = DriverConnection(raw, False)
            reads = quick_search._Reads(connection)
            context = library.searching.query_context()
            terms = [
                ("long_hair", False, None), ("LONG_HAIR", False, None), ("long hair", True, None),
                ("sky_blue", False, None), ("red_cat", False, None), ("long_eyes", False, None),
                ("europe", False, None), ("paris", False, None), ("places", False, "keyword"),
                ("ünïcode_tag", False, None), ("100%_sure", False, None), ("a_b", True, None), ("a?b", True, None),
                ("*", False, None), ("*_hair", False, "general"), ("?ed_*", False, None), ("100%*", False, None),
                ("*miku*", False, "character"), ("no_such_tag", False, None),
            ]  # fmt: skip
            for name, exact, category in terms:
                expected = context.lookup(name, exact, category)
                assert sorted(reads.lookup(name, exact, category)) == sorted(expected), name
            assert context.lookup("paris", False, None)  # the hierarchy is found at all
            assert quick_search.read_rules(connection).key() == library.threshold_rules().key()
        finally:
            raw.close()
