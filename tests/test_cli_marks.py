"""``joytag-desktop stars|label|pick``: set by hand from the command line (without torch), searched,
refused with a one-line reason; and the bulk edit behind them stops between chunks when cancelled."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from helpers.library import write_photo
from joytag_desktop.library import Library
from joytag_desktop.library.edits import EDIT_CHUNK
from joytag_desktop.metadata.marks import Marks

HEAVY = ("torch", "timm", "onnxruntime", "PySide6")
_PROBE = (
    "import atexit, sys\n"
    f"atexit.register(lambda: print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr))\n"
    "from joytag_desktop.cli.main import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


@pytest.fixture
def indexed(tmp_path: Path):
    root = tmp_path / "Pictures"
    photos = [write_photo(root / f"{name}.jpg", color=(i * 40, 90, 20)) for i, name in enumerate("abc")]
    db = tmp_path / "lib.sqlite3"
    with Library(db) as library:
        library.add_root(root)
        library.scan()
    return db, photos, tmp_path / "home"


def cli(db: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JOYTAG_DESKTOP_HOME": str(home), "PYTHONPATH": os.getcwd()}
    env.pop("JOYTAG_DESKTOP_DB", None)
    return subprocess.run(
        [sys.executable, "-c", _PROBE, "--db", str(db), *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_stars_label_pick_from_the_command_line(indexed) -> None:
    db, (a, b, c), home = indexed
    for argv in (
        ("stars", "4", str(a), str(b)),
        ("stars", "reject", str(c)),
        ("label", "Red", str(a)),
        ("pick", "pick", str(b)),
        ("pick", "reject", str(a)),
        ("pick", "none", str(a)),
    ):
        result = cli(db, home, *argv)
        assert result.returncode == 0, result.stderr
        assert result.stderr.rsplit("HEAVY=", 1)[1].strip() == "", f"{argv} imported a heavy module"
    with Library(db) as library:
        ids = [library.image_by_path(p).id for p in (a, b, c)]
        assert [library.marks(ids)[i] for i in ids] == [Marks(4, "red", None), Marks(4, None, "picked"), Marks(-1)]
    found = cli(db, home, "search", "stars:>=4 -pick:picked")
    assert found.stdout.split() == [str(a)]
    assert cli(db, home, "search", "--sort", "-stars", "").stdout.split() == [str(a), str(b), str(c)]


@pytest.mark.parametrize(
    ("argv", "code", "reason"),
    [
        (("stars", "7"), 2, "is not 0-5, reject or none"),
        (("label", "pink"), 2, "unknown colour label 'pink'"),
        (("pick", "maybe"), 2, "unknown pick 'maybe'"),
    ],
)
def test_wrong_values_are_refused_in_one_line(indexed, argv: tuple[str, ...], code: int, reason: str) -> None:
    db, (a, _, _), home = indexed
    result = cli(db, home, *argv, str(a))
    assert result.returncode == code, result.stderr
    assert reason in result.stderr and "Traceback" not in result.stderr
    with Library(db) as library:
        assert library.marks([library.image_by_path(a).id]) == {library.image_by_path(a).id: Marks()}


def test_a_cancelled_bulk_edit_keeps_the_chunks_it_wrote(tmp_path: Path) -> None:
    """As ``tags add``: a chunk at a time, progress after each, Cancel (Ctrl+C) between two."""
    db = tmp_path / "lib.sqlite3"
    with Library(db) as library:
        library.add_root(tmp_path)
    count = EDIT_CHUNK * 2 + 10
    with sqlite3.connect(db) as raw:
        raw.executemany(
            "INSERT INTO images (id, root_id, path, folder, name, ext, size, mtime, status, added_at)"
            " VALUES (?, 1, ?, 'lib', ?, 'jpg', 1, 1.0, 'tagged', '2024-01-01 00:00:00')",
            [(i, f"/lib/{i}.jpg", f"{i}.jpg") for i in range(1, count + 1)],
        )
    cancel = threading.Event()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        cancel.set()

    with Library(db) as library:
        changed = library.set_mark(range(1, count + 1), "stars", 3, progress, cancel)
        assert changed == EDIT_CHUNK and seen == [(EDIT_CHUNK, count)]
        assert library.count("stars:3") == EDIT_CHUNK
        assert library.set_mark(range(1, count + 1), "stars", 3) == count - EDIT_CHUNK  # only those not yet so
