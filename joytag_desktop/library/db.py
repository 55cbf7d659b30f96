"""Opening the library database: URL resolution, SQLite pragmas, automatic migrations."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError

from joytag_desktop.errors import JoyTagError
from joytag_desktop.library import dialect

# Where the database is and the schema head: in library.location (no SQLAlchemy), named here as always.
from joytag_desktop.library.location import DB_ENV, DEFAULT_DB_NAME, SCHEMA_HEAD, database_url  # noqa: F401

if TYPE_CHECKING:
    from alembic.config import Config

BUSY_TIMEOUT_MS = 30_000
_MIGRATIONS = Path(__file__).with_name("migrations")


class DatabaseVersionError(JoyTagError):
    """The database was written by a newer version of the app."""


class LibraryOpenError(JoyTagError):
    """The database cannot be opened (bad URL, not a database, unwritable)."""


class LibraryMissingError(LibraryOpenError):
    """No library exists at the given place, and the command only reads one."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache
    cursor.execute("PRAGMA temp_store=MEMORY")
    # Checkpoint every ~40 MB of WAL instead of 4 MB: a page that several commits of a bulk edit or
    # of tagging rewrite (the change log's, the histogram's, an index's) is copied back once, and
    # the database file is synced a tenth as often (one tag added to 100,000 of a million images:
    # 7.9 s -> 5.0 s). The WAL file is cut back to 64 MB after a checkpoint.
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.execute("PRAGMA journal_size_limit=67108864")
    cursor.close()
    dialect.register_fold(dbapi_connection)


def _alembic_config(connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def refuse_foreign_sqlite(path: Path) -> None:
    """Refuse, before writing anything, a SQLite file that another application made.

    Read through a read-only connection: pointing ``--db`` at, say, a browser's history must not
    add our tables to it."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    try:
        with open(path, "rb") as handle:
            header = handle.read(16)
    except OSError as exc:
        raise LibraryOpenError(f"cannot read the library database {path}: {exc.strerror or exc}") from None
    if header != b"SQLite format 3\x00":
        raise LibraryOpenError(f"{path} is not a SQLite database; choose another file with --db")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise LibraryOpenError(f"cannot open the library database {path}: {exc}") from None
    if tables and not {"alembic_version", "roots", "images"} <= tables:
        shown = ", ".join(sorted(tables)[:5]) + (" …" if len(tables) > 5 else "")
        raise LibraryOpenError(
            f"{path} belongs to another application (it holds the tables {shown}); it was not changed. "
            "Choose a new file or a JoyTag Desktop library with --db."
        )


def _schema_is_current(engine: Engine) -> bool:
    """Whether the database is already at SCHEMA_HEAD, read without taking the write lock."""
    with engine.connect() as connection:
        try:
            rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        except (DatabaseError, OperationalError):
            connection.rollback()
            return False
    return [row[0] for row in rows] == [SCHEMA_HEAD]


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; refuse a database from a newer app.

    On SQLite the whole upgrade is one transaction (SQLite DDL is transactional; the driver would
    otherwise commit each CREATE on its own), so a kill or a full disk in the middle of a step
    leaves the database exactly as it was before, and the next start simply upgrades again."""
    if _schema_is_current(engine):
        drop_retired_tables(engine)
        return
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(None))
    known = {rev.revision for rev in script.walk_revisions()}
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:  # several machines may start at once: one migrates, the others wait and find it done
            dialect.serialize(connection, dialect.MIGRATION_LOCK)
        current = MigrationContext.configure(connection).get_current_heads()
        unknown = [rev for rev in current if rev not in known]
        if unknown:
            raise DatabaseVersionError(
                f"The library database was created by a newer version of JoyTag Desktop "
                f"(schema revision {', '.join(unknown)}). Upgrade the app; the database was not changed."
            )
        if set(current) != {script.get_current_head()}:
            command.upgrade(_alembic_config(connection), "head")
        connection.commit()
    drop_retired_tables(engine)


# Tables an upgrade left to drop once it committed (a big DROP inside the upgrade's own transaction
# held the whole table in memory): migration 0011's old image_tags.
RETIRED_TABLES = ("image_tags_0010",)


def drop_retired_tables(engine: Engine) -> None:
    """Drop what an upgrade retired, each in a transaction of its own (also where a kill came
    between the upgrade's commit and this: the next start does it)."""
    if engine.dialect.name != "sqlite":
        return
    listed = ", ".join(f"'{name}'" for name in RETIRED_TABLES)
    with engine.connect() as connection:
        found = list(
            connection.exec_driver_sql(
                f"SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ({listed})"
            ).scalars()
        )
    for name in found:
        with engine.connect() as connection:
            # Its bookkeeping on disk: in memory (the connection's temp_store) a 1.2 GB table's drop
            # took 1.2 GB of memory.
            connection.exec_driver_sql("PRAGMA temp_store=FILE")
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                connection.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
                connection.commit()
            finally:
                connection.exec_driver_sql("PRAGMA temp_store=MEMORY")


def _check_sqlite_file(path: Path, create: bool) -> None:
    """Refuse a missing library unless asked to create one; never create folders on a typo.

    Only the default library's folder (the data directory) is made on demand: a ``--db`` path
    whose folder does not exist is almost always a mistyped path."""
    if path.exists():
        refuse_foreign_sqlite(path)
        return
    if not create:
        raise LibraryMissingError(
            f"no library at {path}: check --db (or ${DB_ENV}), or create one with `joytag-desktop index FOLDER`"
        )
    if not path.parent.is_dir():
        raise LibraryOpenError(f"cannot create the library {path}: the folder {path.parent} does not exist")


def first_line(error: BaseException | None) -> str:
    """A driver error's first line (its name when it says nothing): what a one-line message shows."""
    if error is None:
        return "unknown error"
    words = str(error).strip()
    return words.splitlines()[0] if words else type(error).__name__


def _local_time_zone() -> str | None:
    """This machine's IANA time zone name (``$TZ``, else where /etc/localtime points), if known."""
    zone = os.environ.get("TZ", "").lstrip(":")
    if not zone:
        try:
            target = os.readlink("/etc/localtime")
        except OSError:
            return None
        zone = target.split("zoneinfo/", 1)[-1] if "zoneinfo/" in target else ""
    return zone if zone and all(c.isalnum() or c in "/_+-" for c in zone) else None


def _server_connect_args(url) -> dict:
    """Connection options for a database server: a bounded wait to connect, and this machine's
    time zone (dates of files without EXIF are the file's local modification time, as on SQLite)."""
    arguments: dict = {}
    if url.get_backend_name() == "postgresql":
        arguments["connect_timeout"] = 10
        zone = _local_time_zone()
        if zone and "options" not in url.query:
            arguments["options"] = f"-c TimeZone={zone}"
    return arguments


def upgrade_pending(path_or_url: str | os.PathLike[str] | None = None) -> bool:
    """Whether opening this library will migrate its schema first (the window says so meanwhile:
    a big library's upgrade can take minutes). False where that cannot be told (no file yet, a
    server not answering): opening then reports what is wrong."""
    try:
        url = database_url(path_or_url)
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and not (parsed.database and Path(parsed.database).is_file()):
            return False
        engine = create_engine(url, connect_args=_server_connect_args(parsed))
    except (ArgumentError, ImportError, OSError):
        return False
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except (DatabaseError, OperationalError):
        return False
    finally:
        engine.dispose()
    return bool(rows) and [row[0] for row in rows] != [SCHEMA_HEAD]


def open_engine(path_or_url: str | os.PathLike[str] | None = None, create: bool = True) -> Engine:
    """An Engine for the library with pragmas set and the schema migrated.

    With ``create=False`` (commands that only read or edit an existing library) a SQLite file
    that does not exist is an error instead of a new empty library."""
    url = database_url(path_or_url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise LibraryOpenError(f"not a database path or URL: {url!r} ({exc})") from None
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite and parsed.database and parsed.database != ":memory:":
        _check_sqlite_file(Path(parsed.database), create)
    try:
        if is_sqlite:
            engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        else:
            # pre_ping: a connection the server dropped (a restart) is replaced, not handed out.
            engine = create_engine(url, pool_pre_ping=True, connect_args=_server_connect_args(parsed))
    except (ArgumentError, ImportError) as exc:
        raise LibraryOpenError(f"cannot use database {parsed.render_as_string(hide_password=True)}: {exc}") from None
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        migrate(engine)
    except (DatabaseError, OperationalError) as exc:
        engine.dispose()
        shown = parsed.render_as_string(hide_password=True)
        raise LibraryOpenError(f"cannot open the library database {shown}: {first_line(exc.orig)}") from None
    if not is_sqlite:
        dialect.choose_fold_collation(engine)
    return engine
