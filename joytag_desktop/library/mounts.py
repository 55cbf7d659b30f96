"""One photo store, many mount points: each machine's own path for a library root.

The database keeps every path as the machine that added the root saw it (the *stored* path:
``/mnt/nas/photos/2024/a.jpg``). A machine that mounts the same store elsewhere
(``/Volumes/photos``, ``P:\\photos``) records its own path for the root (``root_mounts``), and
this process then reads and writes paths in its own terms: :class:`StoredPath` columns translate
on the way in and out (comparisons and ranges included), so the scanner, the watcher, the worker,
the GUI and the exports only ever see local paths. Separators follow each side (a Windows
machine's ``P:\\photos\\2024`` is ``/mnt/nas/photos/2024`` in the database).

The translation hangs on the engine's dialect object (one per engine), so two libraries open in
one process never share it.
"""

from __future__ import annotations

import ntpath
import os
import posixpath
import socket
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, text
from sqlalchemy.types import TypeDecorator

ATTRIBUTE = "joytag_mounts"
MACHINE_ENV = "JOYTAG_DESKTOP_MACHINE"


def machine_name() -> str:
    """This machine's name in a library (``$JOYTAG_DESKTOP_MACHINE``, else the host name)."""
    return os.environ.get(MACHINE_ENV) or socket.gethostname() or "this machine"


def _flavour(path: str):
    """Windows paths (a drive letter or a UNC share) use ntpath, others posixpath."""
    if path.startswith("\\\\") or (len(path) >= 2 and path[1] == ":" and path[0].isalpha()):
        return ntpath
    return posixpath


@dataclass(frozen=True)
class Mount:
    stored: str  # the root as the database has it
    local: str  # the same root on this machine

    def convert(self, path: str, source: str, target: str) -> str | None:
        """``path`` under ``source`` rewritten under ``target`` (None when it is not under it)."""
        source_flavour, target_flavour = _flavour(source), _flavour(target)
        if path == source:
            return target
        prefix = source.rstrip(source_flavour.sep) + source_flavour.sep
        if not path.startswith(prefix):
            return None
        rest = path[len(prefix) :]
        if source_flavour is not target_flavour:
            rest = rest.replace(source_flavour.sep, target_flavour.sep)
        return target.rstrip(target_flavour.sep) + target_flavour.sep + rest


class MountMap:
    """This machine's roots that are mounted somewhere else than where they were added."""

    def __init__(self, mounts: list[Mount]) -> None:
        # Longest first: a root's mount wins over a shorter one that happens to prefix it.
        self.mounts = sorted((m for m in mounts if m.stored != m.local), key=lambda m: -len(m.stored))

    def __bool__(self) -> bool:
        return bool(self.mounts)

    def to_local(self, stored: str) -> str:
        for mount in self.mounts:
            found = mount.convert(stored, mount.stored, mount.local)
            if found is not None:
                return found
        return stored

    def to_stored(self, local: str) -> str:
        for mount in sorted(self.mounts, key=lambda m: -len(m.local)):
            found = mount.convert(local, mount.local, mount.stored)
            if found is not None:
                return found
        return local


def install(engine: Any, mounts: MountMap) -> None:
    """Make ``mounts`` this engine's translation (an empty map: none)."""
    setattr(engine.dialect, ATTRIBUTE, mounts if mounts else None)


def of(dialect: Any) -> MountMap | None:
    return getattr(dialect, ATTRIBUTE, None)


def folder_for(stored_root: str, stored_directory: str) -> str:
    """The ``folder`` column of files in a directory: from the root's own name down, in the
    stored root's separators (the same whichever machine scanned it)."""
    flavour = _flavour(stored_root)
    return flavour.relpath(stored_directory, flavour.dirname(stored_root))


class StoredPath(TypeDecorator):
    """A path column: stored as the database has it, read and compared as this machine sees it."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        mounts = of(dialect)
        return mounts.to_stored(value) if value is not None and mounts else value

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        mounts = of(dialect)
        return mounts.to_local(value) if value is not None and mounts else value


def set_online(connection: Any, root_id: int, local_path: str, online: bool) -> None:
    """Whether the root is mounted on this machine (its own row: another machine's view stays)."""
    connection.execute(
        text(
            "INSERT INTO root_mounts (root_id, machine, path, online) VALUES (:root, :machine, :path, :online)"
            " ON CONFLICT (root_id, machine) DO UPDATE SET online = excluded.online"
        ),
        {"root": root_id, "machine": machine_name(), "path": local_path, "online": online},
    )


def folder_of(mounts: MountMap | None, root: str, directory: str) -> str:
    """The ``folder`` column of the files in local ``directory`` of the root at local ``root``."""
    if not mounts:
        return os.path.relpath(directory, os.path.dirname(root))
    return folder_for(mounts.to_stored(root), mounts.to_stored(directory))


def directory_of(mounts: MountMap | None, root: str, folder: str) -> str:
    """The local directory of a ``folder`` column value of the root at local ``root``."""
    if not mounts:
        return os.path.join(os.path.dirname(root), folder)
    stored_root = mounts.to_stored(root)
    flavour = _flavour(stored_root)
    return mounts.to_local(flavour.join(flavour.dirname(stored_root), folder))
