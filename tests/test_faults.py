"""Faults at the worst moments: SIGKILL inside a schema migration, during a scan's move pairing and
an export; a full disk; a read-only database; another application's database. Nothing is lost and
every failure is one line."""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.fixture_files import FORMAT_DIR
from joytag_desktop.library import Library
from joytag_desktop.library.db import LibraryOpenError, open_engine

MODEL = FORMAT_DIR / "tiny-released-shape"

# Runs the library's migrations with every alembic operation counted; SIGKILL after the Nth.
_KILL_IN_MIGRATION = r"""
import os, signal, sys
from alembic import command, op
from sqlalchemy import create_engine
target, kill_after, start_at = sys.argv[1], int(sys.argv[2]), sys.argv[3]
calls = 0
def counted(function):
    def wrapper(*args, **kwargs):
        global calls
        result = function(*args, **kwargs)
        calls += 1
        if calls == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    return wrapper
if start_at != "none":  # bring the database to an older revision first, without counting
    from joytag_desktop.library import db
    engine = create_engine(f"sqlite:///{target}")
    with engine.begin() as connection:
        command.upgrade(db._alembic_config(connection), start_at)
    engine.dispose()
for name in dir(op):
    if not name.startswith("_") and callable(getattr(op, name)):
        setattr(op, name, counted(getattr(op, name)))
from joytag_desktop.library.db import open_engine
open_engine(target).dispose()
print("operations", calls)
"""


def schema_of(path: Path) -> list[tuple]:
    connection = sqlite3.connect(path)
    try:
        return sorted(connection.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"))
    finally:
        connection.close()


def run_migration(script: Path, target: Path, kill_after: int, start_at: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), str(target), str(kill_after), start_at],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("start_at", ["none", "0001"])
@pytest.mark.slow
def test_a_kill_inside_any_migration_step_leaves_an_openable_library(tmp_path: Path, start_at: str) -> None:
    script = tmp_path / "migrate.py"
    script.write_text(_KILL_IN_MIGRATION)
    clean = tmp_path / "clean.sqlite3"
    finished = run_migration(script, clean, 0, start_at)
    assert finished.returncode == 0, finished.stderr
    total = int(finished.stdout.split()[-1])
    assert total >= (10 if start_at == "none" else 1)
    for kill_after in range(1, total + 1):
        target = tmp_path / f"killed-{kill_after}.sqlite3"
        killed = run_migration(script, target, kill_after, start_at)
        assert killed.returncode == -signal.SIGKILL, (kill_after, killed.stderr)
        library = Library(target)  # the next start upgrades from where it was before the kill
        library.close()
        assert schema_of(target) == schema_of(clean), kill_after


def _limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_while_creating_a_library_leaves_nothing_half_made(tmp_path: Path) -> None:
    target = tmp_path / "new.sqlite3"
    result = subprocess.run(
        [sys.executable, "-m", "joytag_desktop", "--db", str(target), "roots"],
        capture_output=True, text=True, timeout=60, preexec_fn=_limit_file_size(20_000),
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "full" in result.stderr or "too large" in result.stderr
    Library(target).close()  # with space again, the library is created as if nothing happened
    assert {"roots", "images", "metadata_writes"} <= {row[1] for row in schema_of(target)}


def test_another_applications_database_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    foreign = tmp_path / "places.sqlite"
    connection = sqlite3.connect(foreign)
    connection.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    connection.commit()
    connection.close()
    before = foreign.read_bytes()
    with pytest.raises(LibraryOpenError, match="belongs to another application"):
        open_engine(foreign)
    assert foreign.read_bytes() == before
    assert not Path(f"{foreign}-wal").exists() or Path(f"{foreign}-wal").stat().st_size == 0
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("my notes")
    with pytest.raises(LibraryOpenError, match="not a SQLite database"):
        open_engine(not_sqlite)
    assert not_sqlite.read_text() == "my notes"


# Exports with the write interrupted by SIGKILL: before the rename (a temporary is left) or after it
# (before the library records it).
_KILL_IN_EXPORT = r"""
import os, signal, sys
from pathlib import Path
from joytag_desktop.library import Library
from joytag_desktop.interchange import keyword_export
from joytag_desktop.metadata import xmp
mode = sys.argv[2]
real = xmp.atomic_write
def interrupted(path, data):
    if mode == "before-rename":
        handle, temporary = xmp.files.temporary_beside(path)
        os.write(handle, data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    real(path, data)
    os.kill(os.getpid(), signal.SIGKILL)
keyword_export.atomic_write = interrupted
library = Library(sys.argv[1])
keyword_export.export_xmp(library)
"""

FOREIGN_SIDECAR = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 xmp:Rating="4"><dc:subject><rdf:Bag><rdf:li>Holiday</rdf:li></rdf:Bag></dc:subject></rdf:Description>
</rdf:RDF></x:xmpmeta>
"""


@pytest.mark.parametrize("mode", ["before-rename", "after-rename"])
def test_a_kill_during_export_xmp_never_leaves_a_sidecar_behind_the_library(tmp_path: Path, mode: str) -> None:
    from helpers.library import give_scores, write_photo
    from joytag_desktop.files import STALE_AFTER_SECONDS
    from joytag_desktop.interchange.keyword_export import export_xmp
    from joytag_desktop.metadata.xmp import read_sidecar

    root = tmp_path / "Pictures"
    photo = write_photo(root / "a.jpg")
    (root / "a.jpg.xmp").write_text(FOREIGN_SIDECAR)
    library = Library(tmp_path / "lib.sqlite3")
    library.add_root(root)
    library.scan()
    give_scores(library, ["cat", "dog"], {photo: {"cat": 0.9, "dog": 0.1}})
    library.close()
    script = tmp_path / "export.py"
    script.write_text(_KILL_IN_EXPORT)
    killed = subprocess.run([sys.executable, str(script), str(tmp_path / "lib.sqlite3"), mode], timeout=120)
    assert killed.returncode == -signal.SIGKILL
    leftovers = [p for p in root.iterdir() if p.name.startswith(".jt")]
    assert len(leftovers) == (1 if mode == "before-rename" else 0)
    for leftover in leftovers:  # as if the next export ran a while later
        os.utime(leftover, (leftover.stat().st_atime, leftover.stat().st_mtime - STALE_AFTER_SECONDS - 1))

    library = Library(tmp_path / "lib.sqlite3")
    try:
        again = export_xmp(library)
        assert not again.errors
        subject = read_sidecar(root / "a.jpg.xmp")["subject"]
        assert "cat" in subject and "Holiday" in subject and "dog" not in subject
        assert 'Rating="4"' in (root / "a.jpg.xmp").read_text()
        assert [p.name for p in root.iterdir() if p.name.startswith(".jt")] == []
        assert export_xmp(library).unchanged == 1
    finally:
        library.close()


# A scan killed after new rows were committed but before moves were paired with missing images.
_KILL_IN_SCAN = r"""
import os, signal, sys
from joytag_desktop.library import Library, scanner
def killed(connection, new_ids):
    os.kill(os.getpid(), signal.SIGKILL)
scanner.adopt_moved = killed
Library(sys.argv[1]).scan()
"""


def test_a_kill_between_a_scans_commit_and_move_pairing_keeps_manual_edits(tmp_path: Path) -> None:
    from helpers.library import give_scores, write_photo

    root = tmp_path / "Pictures"
    photos = [write_photo(root / f"p{i}.jpg", color=(i * 40, 30, 200)) for i in range(3)]
    library = Library(tmp_path / "lib.sqlite3")
    library.add_root(root)
    library.scan()
    give_scores(library, ["cat"], {p: {"cat": 0.9} for p in photos})
    library.set_manual_tag([library.image_by_path(photos[0]).id], "my_trip", True)
    library.set_manual_tag([library.image_by_path(photos[1]).id], "cat", False)
    library.close()
    (root / "moved").mkdir()
    for photo in photos:
        photo.rename(root / "moved" / photo.name)

    script = tmp_path / "scan.py"
    script.write_text(_KILL_IN_SCAN)
    killed = subprocess.run([sys.executable, str(script), str(tmp_path / "lib.sqlite3")], timeout=120)
    assert killed.returncode == -signal.SIGKILL

    library = Library(tmp_path / "lib.sqlite3")
    try:
        report = library.scan()
        assert report.moved == 3, report.summary()
        assert library.purge_missing() == 0
        first = library.image_by_path(root / "moved" / "p0.jpg")
        second = library.image_by_path(root / "moved" / "p1.jpg")
        assert "my_trip" in {v.name for v in library.image_tags(first.id) if v.present}
        assert "cat" not in {v.name for v in library.image_tags(second.id) if v.present}
        assert library.count("") == 3
    finally:
        library.close()


@pytest.mark.slow
def test_fault_injection_smoke() -> None:
    """A short run of the random-SIGKILL script (the full run's figures are in docs/user-guide.md).
    Without ``watch``: a watcher killed after it tagged a moved file's new row but before it saw the
    old one vanish can still leave the old row missing (a known gap, see the same section). The script
    runs as it is run by hand (``python tests/fault_injection.py``): no test imports another test file."""
    arguments = ["--files", "60", "--rounds", "8", "--seed", "3", "--actions", "autotag,scan,export"]
    script = Path(__file__).with_name("fault_injection.py")
    result = subprocess.run([sys.executable, str(script), *arguments], capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
