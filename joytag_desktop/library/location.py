"""Where the library database is (``--db``, ``$JOYTAG_DESKTOP_DB``, the data folder) and the schema
revision this version of the app writes, without SQLAlchemy: the quick search path
(``library.quick_search``) and the integrity check need both before, or instead of, an engine.
"""

from __future__ import annotations

import os
from pathlib import Path

from joytag_desktop import paths

DB_ENV = "JOYTAG_DESKTOP_DB"
DEFAULT_DB_NAME = "library.sqlite3"
# The newest migration. Opening a library that is already at it skips importing alembic (a tenth
# of a second of every command's start); a test keeps this equal to the migrations' head.
SCHEMA_HEAD = "0011"
_SQLITE = "sqlite:///"


def database_url(path_or_url: str | os.PathLike[str] | None = None) -> str:
    """``--db`` value, else ``$JOYTAG_DESKTOP_DB``, else the data directory's SQLite file."""
    value = path_or_url or os.environ.get(DB_ENV)
    if not value:
        return f"{_SQLITE}{paths.data_dir() / DEFAULT_DB_NAME}"
    text = os.fspath(value)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    return f"{_SQLITE}{path}"


def plain_sqlite_file(path_or_url: str | os.PathLike[str] | None) -> Path | None:
    """The SQLite file behind ``--db`` where that is plain to see (a path, or a ``sqlite:///`` URL
    without options or escapes); None for anything else (a server, ``:memory:``, a URL that only
    SQLAlchemy reads exactly)."""
    url = database_url(path_or_url)
    if not url.startswith(_SQLITE):
        return None
    database = url[len(_SQLITE) :]
    if not database or database == ":memory:" or any(c in database for c in "?#%"):
        return None
    return Path(database).resolve()
