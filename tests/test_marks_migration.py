"""Revision 0008 on a library of revision 0007 (SQLite and PostgreSQL): every row stays, the marks
start unset, and the next scan reads them from the files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from helpers.fixture_files import FIXTURES
from helpers.library import give_scores, paths_of
from helpers.metadata_readers import run_exiftool
from helpers.old_schemas import back_to_0007
from joytag_desktop.interchange.keyword_export import export_xmp
from joytag_desktop.interchange.keyword_sync import import_found
from joytag_desktop.library import Library
from joytag_desktop.metadata.marks import Marks

pytestmark = pytest.mark.backends  # the same tests on SQLite and on PostgreSQL


def _back_to_0007(url: str) -> None:
    """Give a library the schema of revision 0007: no marks, no marks snapshot (nor what later
    revisions added)."""
    engine = create_engine(url if "://" in url else f"sqlite:///{url}")
    with engine.begin() as connection:
        back_to_0007(connection)
        connection.execute(text("UPDATE alembic_version SET version_num = :old"), {"old": "0007"})
    engine.dispose()


def test_a_0007_library_keeps_its_rows_and_reads_marks_on_the_next_scan(db_url: str, tmp_path: Path) -> None:
    root = tmp_path / "Photos"
    root.mkdir()
    shutil.copy(FIXTURES / "metadata" / "digikam-berlin.jpg", root / "berlin.jpg")
    with Library(db_url) as library:
        library.add_root(root)
        library.scan()  # no keyword import yet: the marks are not read
        give_scores(library, ["cat"], {root / "berlin.jpg": {"cat": 0.9}})
        library.set_manual_tag([library.image_by_path(root / "berlin.jpg").id], "mine", True)
        assert export_xmp(library).written == 1
    # Before the upgrade, Lightroom rated the sidecar and the scan read it (for keywords): its time is known.
    sidecar = root / "berlin.jpg.xmp"
    run_exiftool("-XMP-xmp:Rating=2", "-XMP-xmp:Label=Green", str(sidecar))
    with Library(db_url) as library:
        library.scan()
    _back_to_0007(db_url)
    with Library(db_url) as library:  # migrated to 0008
        image = library.image_by_path(root / "berlin.jpg")
        assert image is not None and library.marks([image.id])[image.id] == Marks()
        assert paths_of(library, "cat mine") == ["berlin.jpg"]
        assert library.metadata_record(image.id, "xmp") is not None  # the keyword record is kept
        assert library.marking.snapshot(image.id, "xmp") is None
        import_found(library, library.scan())  # the sidecar is read again, the image was not changed
        assert library.marks([image.id])[image.id] == Marks(2, "green", None)
        (root / "berlin.jpg").touch()  # the image's own, once it is read again (digiKam's fields there)
        import_found(library, library.scan())
        assert library.marks([image.id])[image.id] == Marks(2, "green", "picked")
        assert paths_of(library, "stars:2 label:green pick:picked cat") == ["berlin.jpg"]
