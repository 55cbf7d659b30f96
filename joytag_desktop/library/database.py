"""The library's database handle: engine, sessions and the data version, nothing of the domain.

Every room of the library (settings, tags, roots, results, search, counts), the work queue, the
vector and posting indexes take this handle rather than the ``Library`` facade, so none of them
calls back up into it (beets' ``dbcore`` below its ``Library``)."""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Result
from sqlalchemy.orm import sessionmaker

from joytag_desktop.library import db

IN_CHUNK = 10_000  # values per IN (...) list: SQLite binds at most 32,766 variables


def now() -> datetime:
    """The time stamps the library stores (local time, as the files' own dates)."""
    return datetime.now()


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched. ``Session.execute`` hands back the cursor's
    ``CursorResult`` for such statements, but is typed to return any ``Result``."""
    return cast(CursorResult[Any], result).rowcount


class Database:
    """One open library database. Thread-safe: each call uses its own short transaction."""

    def __init__(self, database: str | os.PathLike[str] | None = None, create: bool = True) -> None:
        self.engine = db.open_engine(database, create=create)
        self.url = str(self.engine.url)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)
        self._version_lock = threading.Lock()
        self._version_connection: sqlite3.Connection | None = None
        path = self.engine.url.database
        if self.engine.url.get_backend_name() == "sqlite" and path and path != ":memory:":
            self._version_connection = sqlite3.connect(path, check_same_thread=False)

    def data_version(self) -> int | None:
        """Changes whenever any other connection (this process's pool included) commits; None: unknown."""
        with self._version_lock:  # close() may run on another thread
            if self._version_connection is None:
                return None
            return self._version_connection.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        with self._version_lock:
            if self._version_connection is not None:
                self._version_connection.close()
                self._version_connection = None
        self.engine.dispose()
