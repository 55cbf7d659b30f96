"""Opening the database: pragmas, URLs, migrations, and refusing a newer schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from joytag_desktop.cli.main import main
from joytag_desktop.library import Library
from joytag_desktop.library.db import DatabaseVersionError, LibraryOpenError, database_url


def test_default_database_lives_in_the_data_directory(isolated_home: Path) -> None:
    with Library() as library:
        assert library.url == f"sqlite:///{isolated_home / 'library.sqlite3'}"
    assert (isolated_home / "library.sqlite3").is_file()


def test_pragmas_and_schema(tmp_path: Path) -> None:
    with Library(tmp_path / "lib.db") as library, library.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        tables = {r[0] for r in connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"roots", "images", "tags", "image_tags", "tag_thresholds", "settings", "alembic_version"} <= tables


def test_environment_and_url_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOYTAG_DESKTOP_DB", str(tmp_path / "env.db"))
    assert database_url() == f"sqlite:///{tmp_path / 'env.db'}"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"
    with Library(f"sqlite:///{tmp_path / 'url.db'}"):
        pass
    assert (tmp_path / "url.db").exists()


def test_reopening_keeps_data(tmp_path: Path) -> None:
    with Library(tmp_path / "lib.db") as library:
        library.set_threshold(0.55)
    with Library(tmp_path / "lib.db") as library:
        assert library.threshold == 0.55


def test_newer_schema_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "lib.db"
    Library(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    before = path.read_bytes()
    with pytest.raises(DatabaseVersionError, match="newer version"):
        Library(path)
    assert path.read_bytes() == before


def test_not_a_database(tmp_path: Path, capsys) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database " * 100)
    with pytest.raises(LibraryOpenError, match="is not a SQLite database"):
        Library(path)
    assert path.read_text().startswith("these are my notes")
    assert main(["--db", str(path), "scan"]) == 2
    assert "is not a SQLite database" in capsys.readouterr().err


def test_the_schema_head_constant_follows_the_migrations(tmp_path: Path) -> None:
    """Opening a current library skips alembic by comparing with SCHEMA_HEAD: it must be the head."""
    from alembic.script import ScriptDirectory

    from joytag_desktop.library import db

    script = ScriptDirectory.from_config(db._alembic_config(None))
    assert script.get_current_head() == db.SCHEMA_HEAD
    Library(tmp_path / "lib.sqlite3").close()
    with sqlite3.connect(tmp_path / "lib.sqlite3") as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [(db.SCHEMA_HEAD,)]
    connection.close()
