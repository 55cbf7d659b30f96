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
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from joytag_desktop.errors import JoyTagError

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)


class NotRegularFileError(OSError):
    """A FIFO, socket or device where a file was expected: never read."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(errno.EINVAL, "not a regular file (a FIFO, device or socket), not read", os.fspath(path))


class FileTooLargeError(JoyTagError):
    """A file read whole is over its limit."""


def is_regular(info: os.stat_result) -> bool:
    return stat.S_ISREG(info.st_mode)


@contextlib.contextmanager
def open_regular(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
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
