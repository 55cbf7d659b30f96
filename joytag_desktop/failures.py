"""Turning any failure into one line a user can act on; tracebacks go to a log file, never to them.

Shared by the CLI and the GUI (no Qt here). SQLAlchemy wraps the driver's errors, so the
``orig`` of an exception is looked at as well as the exception itself.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import io
import logging
import sys
import traceback
import warnings
from datetime import datetime
from pathlib import Path

from joytag_desktop import paths

LOG_NAME = "errors.log"
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


# SQLite's words for a machine's failures -> what the user can do about them.
_DATABASE_MESSAGES = (
    ("database or disk is full", "the disk holding the library database is full; nothing was changed: free some space"),
    (
        "readonly database",
        "the library database is read-only (check the permissions of the file and its folder, or pass --db to a "
        "library you can write); nothing was changed",
    ),
    ("unable to open database file", "the library database cannot be opened (its folder is missing or not writable)"),
    ("disk i/o error", "the disk reported an I/O error while writing the library database; nothing was changed"),
    (
        "database disk image is malformed",
        "the library database is damaged (SQLite found a malformed page); keep a copy of it (with its -wal file), "
        'then restore a backup or recover it: see "Backup and recovery" in the README',
    ),
)


def describe(exc: BaseException) -> str:
    """One line saying what went wrong and what to do; never a traceback."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    lowered = text.lower()
    if isinstance(original, OSError):
        where = f"{original.filename}: " if original.filename else ""
        if original.errno in _DISK_FULL:
            return f"{where}the disk is full; nothing was lost: free some space and run the command again"
        if original.errno == errno.EFBIG:
            return f"{where}file too large for the file system (or the file-size limit); nothing was lost"
        if original.errno == errno.EROFS:
            return f"{where}the file system is read-only"
        return f"{where}{original.strerror or text}"
    if _from_database(original):
        for fragment, message in _DATABASE_MESSAGES:
            if fragment in lowered:
                return message
    if _undecodable_name(original):
        return f"a name is not valid UTF-8 (written in another encoding): {NAME_NOT_UTF8}"
    if isinstance(original, RecursionError):
        return "the input is nested too deeply to process"
    if isinstance(original, MemoryError):
        return "not enough memory for this operation"
    return f"{type(original).__name__}: {text}"


NAME_NOT_UTF8 = "the library can neither store nor look it up; rename it"


def _undecodable_name(exc: BaseException) -> bool:
    """A path or word from the command line or a folder whose bytes are not UTF-8 (Python keeps them
    as surrogates) met the database, which takes UTF-8 only: the user's name, not a bug."""
    return isinstance(exc, UnicodeEncodeError) and "surrogates not allowed" in str(exc)


def _from_database(exc: BaseException) -> bool:
    """SQLAlchemy's and the driver's own errors, recognised without importing them."""
    return type(exc).__module__.startswith(("sqlalchemy", "sqlite3"))


def foreseen(exc: BaseException) -> bool:
    """Failures of the machine, not of the code: a full disk, a read-only database, no memory."""
    return isinstance(exc, (OSError, MemoryError, RecursionError)) or _from_database(exc) or _undecodable_name(exc)


def log_path() -> Path:
    return paths.data_dir() / LOG_NAME


def record(exc: BaseException) -> Path | None:
    """Append the full traceback to the error log (for a bug report); the path, if it could be written."""
    try:
        target = log_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "a", encoding="utf-8", errors="backslashreplace") as out:
            out.write(f"--- {datetime.now().isoformat(timespec='seconds')}\n")
            out.write("".join(traceback.format_exception(exc)))
        return target
    except OSError:
        return None


def unexpected(exc: BaseException) -> str:
    """The one line for a failure nobody foresaw: what it was and where the details went."""
    where = record(exc)
    details = f" (details in {where})" if where else ""
    return f"unexpected error: {describe(exc)}{details}"


def as_user_error(exc: Exception) -> Exception:
    """``exc`` if it was written for users (JoyTagError), else a JoyTagError with its one line
    (what the GUI shows); an unforeseen failure's traceback goes to the error log."""
    from joytag_desktop.errors import JoyTagError

    if isinstance(exc, JoyTagError):
        return exc
    return JoyTagError(describe(exc) if foreseen(exc) else unexpected(exc))


# --- output that never crashes on a file name ------------------------------------------------


def _surrogates_or_escape(error: UnicodeError) -> tuple[str | bytes, int]:
    """Encode error handler: a file name's undecodable bytes (surrogate escapes) are written back as
    the original bytes, so ``search | xargs`` still names the file; anything else is backslash-escaped."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    chunk = error.object[error.start : error.end]
    if all(0xDC80 <= ord(char) <= 0xDCFF for char in chunk):
        return bytes(ord(char) - 0xDC00 for char in chunk), error.end
    return codecs.backslashreplace_errors(error)


codecs.register_error("joytag-names", _surrogates_or_escape)


def guard_streams() -> None:
    """stdout/stderr that cannot fail on a file name, whatever their encoding."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="joytag-names")


def one_line_warnings(prefix: str) -> None:
    """Library warnings (Pillow, numpy) as one line each, without the source line Python adds."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        logging.getLogger("joytag_desktop.warnings").debug("%s:%s: %s", filename, lineno, message)
        stream = file or sys.stderr
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.write(f"{prefix}: warning: {category.__name__}: {message}\n")

    warnings.showwarning = show
