"""Opening files a user's folder may hold, safely.

A name says nothing about what a path is: ``x.jpg`` can be a FIFO (opening it blocks forever) and
``y.png`` a link to ``/dev/zero`` (reading it never ends). Everything the app reads goes through
here: the path is opened without blocking, checked with ``fstat`` on the opened descriptor (so a
file swapped between a check and the open cannot slip through), and whole-file reads are capped.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from joytag_desktop.errors import JoyTagError

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)


NOT_REGULAR = "not a regular file (a FIFO, device or socket), not read"
NOT_UTF8 = "the path is not valid UTF-8 (a name written in another encoding); rename it to index it"


def valid_text(path: str) -> bool:
    """Whether a path can be stored in the library: Python gives a name's undecodable bytes as
    surrogates, which neither SQLite nor PostgreSQL accept."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class NotRegularFileError(OSError):
    """A FIFO, socket or device where a file was expected: never read."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(errno.EINVAL, NOT_REGULAR, os.fspath(path))


class FileTooLargeError(JoyTagError):
    """A file read whole is over its limit."""


def is_regular(info: os.stat_result) -> bool:
    return stat.S_ISREG(info.st_mode)


@contextlib.contextmanager
def open_regular(path: str | os.PathLike[str]) -> Iterator[io.BufferedReader]:
    """Open a regular file for reading; raise NotRegularFileError for anything else (without blocking)."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        if not is_regular(os.fstat(fd)):
            raise NotRegularFileError(path)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle


def read_limited(path: str | os.PathLike[str], limit: int, what: str = "file") -> bytes:
    """A regular file's bytes; FileTooLargeError past ``limit`` (checked on the open file and while reading)."""
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise FileTooLargeError(f"{os.fspath(path)}: {what} too large ({size:,} bytes; the limit is {limit:,})")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLargeError(f"{os.fspath(path)}: {what} too large (over {limit:,} bytes)")
    return data


def read_limited_text(path: Path, limit: int, what: str = "file") -> str:
    """UTF-8 text (a byte-order mark from Notepad is dropped; CRLF is left for ``splitlines``)."""
    return read_limited(path, limit, what).decode("utf-8-sig")


def hash_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a regular file's bytes: identifies content across moves and renames."""
    with open_regular(path) as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


# --- temporary files beside the files they replace ----------------------------------------------

# Short on purpose: a file name of 250 bytes must still get its sidecar written through a temporary.
TEMPORARY_PREFIX = ".jt-"
STALE_AFTER_SECONDS = 60.0  # an atomic write takes milliseconds; a kill leaves its temporary behind
_TEMPORARY_NAME = re.compile(r"^\.jt(?:-(\d+)-)?[a-z0-9_]{8}\.[A-Za-z0-9]{1,5}$")


def temporary_beside(path: Path, suffix: str = ".tmp") -> tuple[int, str]:
    """``mkstemp`` in the target's folder, named so a later run knows it as ours and whose it was."""
    return tempfile.mkstemp(dir=path.parent, prefix=f"{TEMPORARY_PREFIX}{os.getpid()}-", suffix=suffix)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def remove_stale_temporaries(folder: Path, names: Iterable[str]) -> int:
    """Delete temporaries a killed write left in ``folder`` (ours by name, over a minute old, their
    process gone). Returns how many went."""
    removed = 0
    now = time.time()
    for name in names:
        match = _TEMPORARY_NAME.match(name)
        if match is None:
            continue
        pid = int(match.group(1)) if match.group(1) else None
        if pid is not None and (pid == os.getpid() or _process_alive(pid)):
            continue
        path = folder / name
        with contextlib.suppress(OSError):
            info = os.lstat(path)
            if is_regular(info) and now - info.st_mtime > STALE_AFTER_SECONDS:
                path.unlink()
                removed += 1
    return removed


def umask() -> int:
    """The process umask, read without changing it where the system tells (Linux /proc)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    current = os.umask(0o022)
    os.umask(current)
    return current


@contextlib.contextmanager
def atomic_text_output(path: Path) -> Iterator[TextIO]:
    """Write a text file (an export) all or nothing: a full disk or a kill leaves the old file as it
    was. A FIFO or device given on purpose (``--output /dev/stdout``) is written directly."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    if info is not None and not is_regular(info):
        with open(path, "w", encoding="utf-8", newline="") as direct:
            yield direct
        return
    mode = stat.S_IMODE(info.st_mode) if info is not None else 0o666 & ~umask()
    handle, temporary = temporary_beside(path)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
