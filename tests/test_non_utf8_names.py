"""Folder and file names that are not UTF-8 (issue 31): the library stores UTF-8 only, so such a
name is refused or skipped with a reason, never a crash or a half-made database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.library import write_photo
from joytag_desktop.errors import JoyTagError
from joytag_desktop.library import Library

BAD = b"bad\xff"


def cli(*args: str | bytes, home: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(
        [sys.executable, "-m", "joytag_desktop", *args],
        capture_output=True, cwd=cwd, timeout=120, stdin=subprocess.DEVNULL,
        env={**os.environ, "JOYTAG_DESKTOP_HOME": str(home)},
    )  # fmt: skip
    assert b"Traceback" not in result.stderr and b"unexpected error" not in result.stderr, result.stderr
    return result


@pytest.fixture
def bad_folder(tmp_path: Path) -> Path:
    folder = Path(os.fsdecode(os.fsencode(tmp_path) + b"/" + BAD))
    write_photo(folder / "a.jpg")
    return folder


def test_index_refuses_a_folder_whose_path_is_not_utf8_and_creates_no_library(tmp_path: Path, bad_folder: Path) -> None:
    home = tmp_path / "home"
    for argv, cwd in (([os.fsencode(bad_folder)], None), (["."], bad_folder), ([os.fsencode(bad_folder / ".")], None)):
        result = cli("index", *argv, home=home, cwd=cwd)
        assert result.returncode == 2, result.stderr
        last = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1]
        assert "not valid UTF-8" in last and "rename it" in last
        assert not home.exists() or not any(home.rglob("*.sqlite3*")), list(home.rglob("*"))


def test_the_core_refuses_such_a_folder_before_writing(tmp_path: Path, bad_folder: Path) -> None:
    with Library(tmp_path / "lib.sqlite3") as library:
        with pytest.raises(JoyTagError, match="not valid UTF-8"):
            library.add_folder(bad_folder)
        assert library.roots() == []


@pytest.mark.slow
def test_a_library_folder_holding_such_names_skips_them_with_reasons(tmp_path: Path, bad_folder: Path) -> None:
    home = tmp_path / "home"
    good = tmp_path / "good"
    write_photo(good / "kept.jpg")
    shutil.move(bad_folder, good / bad_folder.name)  # a subfolder with a bad name, and an image inside it
    odd_file = Path(os.fsdecode(os.fsencode(good) + b"/caf\xe9.jpg"))
    write_photo(odd_file)
    result = cli("index", str(good), home=home)
    assert result.returncode == 0, result.stderr
    err = result.stderr.decode("utf-8", "replace")
    assert "folder name is not valid UTF-8" in err and "file name is not valid UTF-8" in err
    listed = cli("search", "", home=home)
    assert listed.stdout.decode().splitlines() == [str(good / "kept.jpg")]
    # naming such a folder or file to a command: a one-line refusal
    scan = cli("scan", os.fsencode(good / bad_folder.name), home=home)
    assert scan.returncode == 2 and b"not valid UTF-8" in scan.stderr
    similar = cli("similar", os.fsencode(odd_file), home=home)
    assert similar.returncode == 1 and b"not valid UTF-8" in similar.stderr
    assert len(similar.stderr.strip().splitlines()) == 1


def test_the_watcher_skips_such_names_with_reasons_and_keeps_the_rest(tmp_path: Path) -> None:
    """What ``watch`` and the window apply for live events: a file created or renamed to such a
    name is reported, the other events of the batch still apply, and a rename back finds its row."""
    photos = tmp_path / "photos"
    write_photo(photos / "a.jpg", color=(10, 200, 30))
    with Library(tmp_path / "lib.sqlite3") as library:
        library.add_folder(photos)
        library.scan([photos])
        (original,) = library.images(library.search("").ids)
        library.set_manual_tag([original.id], "cat", True)
        odd = os.fsdecode(os.fsencode(photos) + b"/caf\xe9.jpg")
        shutil.copy(photos / "a.jpg", odd)
        write_photo(photos / "b.jpg", color=(200, 10, 30))
        report = library.apply_changes(created=[odd, str(photos / "b.jpg")])
        assert [(path, "not valid UTF-8" in reason) for path, reason in report.errors] == [(odd, True)]
        indexed = sorted(i.path for i in library.images(library.search("").ids))
        assert indexed == [str(photos / "a.jpg"), str(photos / "b.jpg")]

        os.remove(odd)
        os.rename(photos / "a.jpg", odd)  # renamed to a name the library cannot store
        report = library.apply_changes(moved=[(str(photos / "a.jpg"), odd)])
        assert [path for path, _ in report.errors] == [odd]
        assert library.count("status:missing") == 1
        os.rename(odd, photos / "c.jpg")  # and back to one it can: the same image, tags kept
        library.apply_changes(moved=[(odd, str(photos / "c.jpg"))], deleted=[odd])
        found = library.image_by_path(photos / "c.jpg")
        assert found is not None and found.id == original.id
        assert library.search("cat").ids == [original.id]
