"""Folder and file names that are not UTF-8 (issue 31): the library stores UTF-8 only, so such a
name is refused or skipped with a reason, never a crash or a half-made database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from joytag_desktop.errors import JoyTagError
from joytag_desktop.library import Library
from libhelpers import write_photo

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
