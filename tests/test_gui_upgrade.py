"""Opening a library whose schema is to be upgraded: the window is not up yet and a big library's
upgrade takes minutes, so a dialog says what is happening while it runs on a thread."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PySide6.QtWidgets import QProgressDialog
from sqlalchemy import create_engine, text
from test_score_rows import VOCAB, _photos, _random_scores, _rows

from helpers.library import give_scores, paths_of
from helpers.old_schemas import back_to
from joytag_desktop.gui import app
from joytag_desktop.library import Library
from joytag_desktop.library.db import SCHEMA_HEAD, upgrade_pending


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The labels of the progress dialogs shown."""
    labels: list[str] = []
    original = QProgressDialog.show

    def show(dialog: QProgressDialog) -> None:
        labels.append(dialog.labelText())
        original(dialog)

    monkeypatch.setattr(QProgressDialog, "show", show)
    return labels


def test_an_older_library_is_upgraded_behind_a_notice_with_every_row_kept(qtbot, tmp_path: Path, shown) -> None:
    db = tmp_path / "lib.sqlite3"
    paths = _photos(tmp_path / "Photos", 6)
    with Library(db) as library:
        library.add_root(tmp_path / "Photos")
        library.scan()
        give_scores(library, VOCAB, _random_scores(random.Random(2), paths))
        before = sorted(paths_of(library, "tag1 -tag2"))
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as connection:
        back_to(connection, "0010")
        connection.execute(text("UPDATE alembic_version SET version_num = '0010'"))
    engine.dispose()
    rows = _rows(str(db))
    assert upgrade_pending(db)
    library = app.open_library(str(db))
    try:
        assert len(shown) == 1 and "Upgrading the library" in shown[0]
        assert not upgrade_pending(db) and _rows(str(db)) == rows
        assert sorted(paths_of(library, "tag1 -tag2")) == before
    finally:
        library.close()
    again = app.open_library(str(db))  # current now: opened at once, nothing shown
    again.close()
    assert len(shown) == 1
    with create_engine(f"sqlite:///{db}").connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_HEAD


def test_a_failing_upgrade_reaches_the_caller_as_its_error(qtbot, tmp_path: Path, shown, monkeypatch) -> None:
    """An error on the upgrade's thread is raised where the library is opened (one line there)."""
    from joytag_desktop.library import db as db_module

    path = tmp_path / "lib.sqlite3"
    Library(path).close()
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0010'"))  # claims 0010: 0011 fails
    engine.dispose()

    with pytest.raises(db_module.LibraryOpenError, match="cannot open the library database"):
        app.open_library(str(path))
    assert len(shown) == 1
