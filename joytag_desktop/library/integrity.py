"""Is the library database damaged? ``PRAGMA quick_check``, run where it is worth its cost.

A disk error or a copy taken mid-write can leave pages SQLite calls malformed; the pages a
command does not touch say nothing, so a damaged library was searched, scanned, tagged and
exported as if whole, and every write risked spreading the damage. Checking is not free:
``quick_check`` reads the whole file. Measured (benchmarks/bench_library.py's synthetic library,
two models, 40 scores each): 100,000 images (514 MB) 1.3 s with the file in the page cache, 9.8 s
from a cold disk; 300,000 images (1.5 GB) 3.7 s and 32 s; so some 12 s and 100 s at a million.
``integrity_check`` also compares every index with its table: 15.5 s at 100,000, twelve times
more, for damage (an index out of step with its rows) that a disk error rarely makes alone. So:

- a command that writes to the library checks it before opening it (before any migration), and
  refuses a damaged one with a way out;
- a verdict is remembered (``integrity.json`` in the data folder) with the file's stamp: device,
  inode, size and mtime of the database and of its WAL. An unchanged file is not checked again,
  and a process that found the library sound records the stamp it leaves behind: its own writes
  (SQLite's, which do not damage) cost the next command nothing. Only a change by something else
  (another process, a copy, a restore) brings a check back;
- a command that only reads checks within READ_BUDGET_S (SQLite is interrupted past it), so small
  libraries are checked and large ones rely on the last verdict; a damaged verdict makes it warn
  but still answer, which is how tags are rescued (``export csv``);
- an error SQLite raises on a malformed page while working is remembered as a damaged verdict.

A library on a database server is the server's business: nothing is checked there.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from joytag_desktop import paths
from joytag_desktop.errors import JoyTagError
from joytag_desktop.library.location import database_url, plain_sqlite_file

VERDICTS_FILE = "integrity.json"
READ_BUDGET_S = 0.25  # what a reading command may spend checking (about 20,000 images)
ANNOUNCE_FROM_BYTES = 200 * 1024 * 1024  # checks of bigger files say so first (over a second)
KEPT_VERDICTS = 64
RECOVERY = (
    "keep a copy of it (with its -wal file), then restore a backup or recover it: see "
    '"Backup and recovery" in the README'
)
_DAMAGE_CODES = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB (extended codes keep them in the low byte)
_DAMAGE_MESSAGES = ("database disk image is malformed", "file is not a database")


class LibraryDamagedError(JoyTagError):
    """The library database failed its integrity check: nothing is written to it."""


@dataclass(frozen=True)
class Verdict:
    sound: bool | None  # None: not known (too big for a reader's budget, or it could not be read)
    problem: str = ""


def sqlite_file(path_or_url: str | os.PathLike[str] | None) -> Path | None:
    """The SQLite file behind ``--db`` (None for a server or an in-memory database)."""
    plain = plain_sqlite_file(path_or_url)  # a path: no need to import SQLAlchemy to read it
    if plain is not None:
        return plain
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(database_url(path_or_url))
    except ArgumentError:
        return None  # the opening reports it
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).resolve()


def stamp(path: Path) -> list[int] | None:
    """What changes whenever the file's bytes are rewritten by anyone (None: no file)."""
    try:
        info = path.stat()
    except OSError:
        return None
    values = [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns]
    with contextlib.suppress(OSError):
        wal = Path(f"{path}-wal").stat()
        values += [wal.st_size, wal.st_mtime_ns]
    return values


def is_damage(error: BaseException) -> bool:
    """SQLite's own word that a page is malformed (SQLITE_CORRUPT, SQLITE_NOTADB); not any error that
    says "malformed" (a malformed JSON argument is the statement's fault, not the file's)."""
    original = getattr(error, "orig", None) or error
    if not isinstance(original, sqlite3.DatabaseError):
        return False
    code = getattr(original, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _DAMAGE_CODES
    return any(message in str(original).lower() for message in _DAMAGE_MESSAGES)


def is_sqlite(path: Path) -> bool:
    """Whether the file starts as SQLite does: one that does not is another program's file, which
    the opening refuses as such, not a damaged library."""
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def check(path: Path, budget_s: float | None = None) -> Verdict:
    """``PRAGMA quick_check`` through a read-only connection; past ``budget_s`` it is interrupted
    and the verdict is unknown. A file that cannot be opened at all is unknown too (the opening
    of the library says why), unless SQLite says it is no database."""
    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5, check_same_thread=False)
    except sqlite3.Error as exc:
        return Verdict(False, str(exc)) if is_damage(exc) else Verdict(None, str(exc))
    timer = threading.Timer(budget_s, connection.interrupt) if budget_s is not None else None
    try:
        if timer is not None:
            timer.start()
        rows = [row[0] for row in connection.execute("PRAGMA quick_check(20)")]
    except sqlite3.OperationalError as exc:  # interrupted, locked, unreadable: no verdict
        return Verdict(False, str(exc)) if is_damage(exc) else Verdict(None, str(exc))
    except sqlite3.DatabaseError as exc:  # malformed beyond what quick_check can walk
        return Verdict(False, str(exc))
    finally:
        if timer is not None:
            timer.cancel()
        connection.close()
    if rows == ["ok"]:
        return Verdict(True)
    return Verdict(False, _one_line(rows))


def _one_line(rows: list) -> str:
    """quick_check's findings as one line: the first, and how many more."""
    lines = [line.strip() for row in rows for line in str(row).splitlines()]
    lines = [line for line in lines if line and not line.startswith("***")]
    if not lines:
        return "quick_check found problems"
    more = len(lines) - 1
    return lines[0] + (f", and {more} more problem{'s' if more > 1 else ''}" if more else "")


def _load() -> dict:
    try:
        return json.loads((paths.data_dir() / VERDICTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def remembered(path: Path) -> tuple[Verdict, bool] | None:
    """The last verdict on this file and whether the file is unchanged since; None if never
    checked (or it is another file now: a new inode)."""
    entry = _load().get(str(path))
    now = stamp(path)
    if not isinstance(entry, dict) or now is None or not isinstance(entry.get("stamp"), list):
        return None
    if entry["stamp"][:2] != now[:2]:
        return None
    return Verdict(entry.get("sound"), str(entry.get("problem", ""))), entry["stamp"] == now


def record(path: Path, verdict: Verdict, since: float | None = None) -> None:
    """Remember a verdict with the file's current stamp (best effort: a read-only data folder
    only costs the next command a check). ``since``: when the recording process started; a damaged
    verdict another process recorded after that is not overwritten by this one's "sound"."""
    now = stamp(path)
    if now is None or verdict.sound is None:
        return
    verdicts = _load()
    previous = verdicts.get(str(path))
    if (
        since is not None
        and verdict.sound
        and isinstance(previous, dict)
        and previous.get("sound") is False
        and float(previous.get("at") or 0) >= since
    ):
        return
    verdicts.pop(str(path), None)
    verdicts[str(path)] = {
        "stamp": now, "sound": verdict.sound, "problem": verdict.problem,
        "checked": datetime.now().isoformat(timespec="seconds"), "at": time.time(),
    }  # fmt: skip
    while len(verdicts) > KEPT_VERDICTS:
        verdicts.pop(next(iter(verdicts)))
    target = paths.data_dir() / VERDICTS_FILE
    temporary = target.with_name(f".{VERDICTS_FILE}.{os.getpid()}")
    try:
        temporary.write_text(json.dumps(verdicts, indent=1), encoding="utf-8")
        os.replace(temporary, target)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()


def damaged_message(path: Path, problem: str) -> str:
    return f"the library database {path} is damaged ({problem}); nothing was written to it. To go on, {RECOVERY}"


def warning_message(path: Path, problem: str) -> str:
    return (
        f"the library database {path} is damaged ({problem}): what it answers may be wrong or incomplete, and"
        f" commands that change it refuse it. {RECOVERY[0].upper()}{RECOVERY[1:]}"
    )


def verdict_for(path: Path, writes: bool, announce: Callable[[str], None] | None = None) -> Verdict:
    """The verdict a command acts on: remembered for an unchanged file, else checked (in full
    before writing, within READ_BUDGET_S before reading). A reader also heeds a damaged verdict
    on a file changed since: writes do not mend pages."""
    known = remembered(path)
    if known is not None and (known[1] or (not writes and known[0].sound is False)):
        return known[0]
    if writes and announce is not None and path.stat().st_size >= ANNOUNCE_FROM_BYTES:
        announce(f"checking the library database ({path.stat().st_size / 1e9:.1f} GB) for damage: it changed elsewhere")
    verdict = check(path, None if writes else READ_BUDGET_S)
    record(path, verdict)
    return verdict


@contextlib.contextmanager
def guarded(
    path_or_url: str | os.PathLike[str] | None,
    writes: bool,
    warn: Callable[[str], None],
    announce: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Around a command's use of the library: refuse (LibraryDamagedError) to write to a damaged
    one, warn a reader; afterwards remember the stamp a sound library was left with, or that
    SQLite met a malformed page."""
    path = sqlite_file(path_or_url)
    if path is None:
        yield
        return
    started = time.time()
    if is_sqlite(path):
        verdict = verdict_for(path, writes, announce)
    elif path.is_file() and path.stat().st_size > 0:
        verdict = Verdict(None)  # not SQLite at all: the opening refuses it as another program's file
    else:
        verdict = Verdict(True)  # a library this command creates
    if verdict.sound is False:
        if writes:
            raise LibraryDamagedError(damaged_message(path, verdict.problem))
        warn(warning_message(path, verdict.problem))
    try:
        yield
    except Exception as exc:
        if is_damage(exc):
            record(path, Verdict(False, str(getattr(exc, "orig", None) or exc).splitlines()[0]))
        raise
    if verdict.sound:
        record(path, verdict, since=started)
