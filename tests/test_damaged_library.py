"""A library whose pages a disk error damaged (issue 31): commands that write refuse it, commands
that read say so, and the check's cost is paid only when the file changed elsewhere."""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.library import write_photo
from joytag_desktop import failures
from joytag_desktop.library import Library, integrity

MODEL = Path(__file__).parent / "fixtures" / "joytag-format" / "tiny-released-shape"


def _library(tmp_path: Path, count: int = 40) -> tuple[Path, Path]:
    photos = tmp_path / "photos"
    for n in range(count):
        write_photo(photos / f"p{n:03d}.jpg", color=(n * 5 % 256, 40, 90))
    db = tmp_path / "library.sqlite3"
    with Library(db) as library:
        library.add_folder(photos)
        library.scan([photos])
        library.set_manual_tag(library.search("").ids, "cat", True)  # tags worth rescuing
    return db, photos


def _damage(db: Path, index: str) -> None:
    """Overwrite one B-tree page with noise, as a failing disk sector would."""
    with sqlite3.connect(db) as connection:
        (page,) = connection.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (index,)).fetchone()
        (size,) = connection.execute("PRAGMA page_size").fetchone()
    noise = random.Random(page).randbytes(size)
    with open(db, "r+b") as handle:
        handle.seek((page - 1) * size)
        handle.write(noise)
    assert integrity.check(db).sound is False  # really damaged (quick_check finds it, or cannot even walk it)


def _digest(db: Path) -> str:
    return hashlib.sha256(db.read_bytes()).hexdigest()


def cli(db: Path, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "joytag_desktop", "--db", str(db), *args],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        env={**os.environ, "JOYTAG_DESKTOP_HOME": str(home)},
    )  # fmt: skip
    assert "Traceback" not in result.stderr and "unexpected error" not in result.stderr, result.stderr
    return result


@pytest.mark.slow
def test_a_damaged_library_is_refused_by_writers_and_named_by_readers(tmp_path: Path) -> None:
    db, photos = _library(tmp_path)
    _damage(db, "ix_images_content_hash")  # an index a plain search never reads
    before = _digest(db)
    home = tmp_path / "home"

    for argv in (["scan"], ["autotag", "--model", str(MODEL)], ["export", "xmp"], ["tags", "add", "dog",
                 str(photos / "p001.jpg")], ["index", str(photos)]):  # fmt: skip
        result = cli(db, *argv, home=home)
        assert result.returncode == 2, (argv, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "is damaged" in lines[0] and "nothing was written" in lines[0], lines
        assert '"Backup and recovery" in the README' in lines[0]
        assert _digest(db) == before, argv  # not a byte written
    assert not list(photos.glob("*.xmp"))

    search = cli(db, "search", home=home)
    assert search.returncode == 0
    assert search.stdout.splitlines() == sorted(str(p) for p in photos.iterdir())  # what it can still answer
    assert "warning: the library database" in search.stderr and "is damaged" in search.stderr
    rescue = cli(db, "export", "csv", "-o", str(tmp_path / "tags.csv"), home=home)
    assert rescue.returncode == 0 and "is damaged" in rescue.stderr
    assert len((tmp_path / "tags.csv").read_text().splitlines()) == len(list(photos.iterdir())) + 1
    # a reader finds it too on its own, in a data folder that never checked this file
    fresh = cli(db, "search", home=tmp_path / "other-home")
    assert "is damaged" in fresh.stderr


def test_a_malformed_page_met_while_reading_is_one_line_and_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _ = _library(tmp_path)
    _damage(db, "images")
    home = tmp_path / "home"
    result = cli(db, "search", "--sort", "size", home=home)
    assert result.returncode != 0
    assert "damaged" in result.stderr.strip().splitlines()[-1]
    # a library too big for a reader's check: the damage is met while working, and remembered
    monkeypatch.setenv("JOYTAG_DESKTOP_HOME", str(tmp_path / "other-home"))
    monkeypatch.setattr(integrity, "check", lambda path, budget_s=None: integrity.Verdict(None, "interrupted"))
    warned: list[str] = []
    with (
        pytest.raises(Exception) as caught,
        integrity.guarded(db, False, warned.append),
        Library(db) as library,
    ):
        library.search("", sort="size")
    assert integrity.is_damage(caught.value) and warned == []
    assert "library database is damaged" in failures.describe(caught.value)
    assert integrity.remembered(db)[0].sound is False


def test_the_check_runs_only_when_the_file_changed_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cost rule: a command's own writes are recorded as sound; another writer's are checked."""
    db, photos = _library(tmp_path)
    home = tmp_path / "home"
    monkeypatch.setenv("JOYTAG_DESKTOP_HOME", str(home))
    for argv in (["scan"], ["tags", "add", "dog", str(photos / "p002.jpg")], ["search", "cat"]):
        assert cli(db, *argv, home=home).returncode == 0
        assert integrity.remembered(db) == (integrity.Verdict(True), True), argv  # nothing left to check

    checks: list[Path] = []
    real_check = integrity.check
    monkeypatch.setattr(integrity, "check", lambda path, budget_s=None: checks.append(path) or real_check(path))
    noted: list[str] = []
    with integrity.guarded(db, True, noted.append), Library(db) as library:
        library.set_setting("probe", "1")
    assert checks == [] and noted == []
    with sqlite3.connect(db) as other:  # another program writes: the next writer checks once
        other.execute("UPDATE settings SET value = '2' WHERE key = 'probe'")
    with integrity.guarded(db, True, noted.append), Library(db):
        pass
    with integrity.guarded(db, True, noted.append), Library(db):
        pass
    assert checks == [db] and noted == []


def test_the_window_refuses_a_damaged_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qapp) -> None:
    from PySide6.QtWidgets import QApplication, QMessageBox

    from joytag_desktop.gui.app import run_gui

    monkeypatch.setattr(QApplication, "exec", lambda *args: 0)  # a window that opened closes at once

    db, _ = _library(tmp_path)
    _damage(db, "ix_images_content_hash")
    before = _digest(db)
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append(text))
    assert run_gui(str(db)) == 2
    assert len(shown) == 1 and "is damaged" in shown[0] and "Backup and recovery" in shown[0]
    assert _digest(db) == before


def test_only_sqlites_own_damage_codes_call_a_library_damaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found in review: any error saying "malformed" (a malformed JSON argument) marked a healthy
    library damaged; and a long writer's "sound" at exit overwrote a damage another command found."""
    connection = sqlite3.connect(":memory:")
    with pytest.raises(sqlite3.OperationalError) as statement_error:
        connection.execute("SELECT value FROM json_each('not json')").fetchall()
    assert "malformed" in str(statement_error.value) and not integrity.is_damage(statement_error.value)

    monkeypatch.setenv("JOYTAG_DESKTOP_HOME", str(tmp_path / "home"))
    db = tmp_path / "lib.sqlite3"
    with Library(db):
        pass
    with integrity.guarded(db, True, lambda text: None), Library(db) as library:  # a long `watch`, the window
        library.set_setting("probe", "1")
        integrity.record(db, integrity.Verdict(False, "database disk image is malformed"))  # found meanwhile
    verdict, _ = integrity.remembered(db)
    assert verdict.sound is False
