"""The library's folders (roots) and where this machine finds them (mounts)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import delete, func, select, text, update

from joytag_desktop.files import NOT_UTF8, valid_text
from joytag_desktop.library import dialect, mounts
from joytag_desktop.library.database import Database, now, rowcount
from joytag_desktop.library.errors import LibraryError
from joytag_desktop.library.records import AddedFolder
from joytag_desktop.library.schema import Image, ImageTag, Root, RootMount, Source, Status


class Roots:
    """Adding, finding, mapping and forgetting library folders."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.load_mounts()

    def add_root(self, path: str | os.PathLike[str], watched: bool = True) -> Root:
        """Add a folder to the library (not scanned yet). Adding a known folder updates ``watched``.

        A folder that holds library folders takes them in: their images (tags, manual edits and
        all) move to the wider folder, which is watched if any of them was. A folder inside a
        library folder is refused here (``add_folder`` rescans it instead)."""
        return self._add_root(path, watched)[0]

    def add_folder(self, path: str | os.PathLike[str], watched: bool = True) -> AddedFolder:
        """What the user's "add this folder" means, for the GUI and ``index`` alike: a new library
        folder (taking in the ones it holds), or a folder already inside one, to rescan."""
        folder = Path(path).expanduser().resolve()
        inside = self.containing_root(folder)
        if inside is not None and inside.path != str(folder):
            return AddedFolder(inside, str(folder), inside=True)
        root, absorbed = self._add_root(folder, watched)
        return AddedFolder(root, root.path, absorbed=absorbed)

    def _add_root(self, path: str | os.PathLike[str], watched: bool) -> tuple[Root, list[str]]:
        folder = Path(path).expanduser().resolve()
        if not folder.is_dir():
            raise LibraryError(f"{folder} is not a folder")
        text = str(folder)
        if not valid_text(text):
            raise LibraryError(f"{text}: {NOT_UTF8}")
        with self.database.Session.begin() as session:
            inner: list[Root] = []
            for other in session.scalars(select(Root)):
                if text.startswith(other.path + os.sep):
                    raise LibraryError(f"{folder} is inside the library folder {other.path}")
                if other.path.startswith(text + os.sep):
                    inner.append(other)
            root = session.scalar(select(Root).where(Root.path == text))
            if root is None:
                root = Root(path=text, watched=watched or any(r.watched for r in inner), added_at=now(), online=True)
                session.add(root)
                session.flush()
            else:
                root.watched = watched
            for other in inner:
                self._absorb(session, other, root)
        return root, [other.path for other in inner]

    @staticmethod
    def _absorb(session, inner: Root, outer: Root) -> None:
        """Move the images of ``inner`` under ``outer`` (a folder that contains it), then drop ``inner``.

        ``Image.folder`` is relative to the root's parent, so it gains the path between the two parents."""
        prefix = os.path.relpath(os.path.dirname(inner.path), os.path.dirname(outer.path))
        session.execute(
            update(Image)
            .where(Image.root_id == inner.id)
            .values(root_id=outer.id, folder=prefix + os.sep + Image.folder)
        )
        session.execute(delete(Root).where(Root.id == inner.id))

    def containing_root(self, path: str | os.PathLike[str]) -> Root | None:
        """The library folder that is ``path`` or holds it, if any."""
        text = str(Path(path).expanduser().resolve())
        for root in self.listed():
            if text == root.path or text.startswith(root.path + os.sep):
                return root
        return None

    def root_contents(self, root: Root) -> tuple[int, int]:
        """(images, manual tag edits) that forgetting ``root`` would lose, for a confirmation."""
        with self.database.engine.connect() as connection:
            images = connection.execute(select(func.count()).where(Image.root_id == root.id)).scalar_one()
            edits = connection.execute(
                select(func.count())
                .select_from(ImageTag)
                .join(Image, Image.id == ImageTag.image_id)
                .where(Image.root_id == root.id, ImageTag.source == Source.MANUAL)
            ).scalar_one()
        return images, edits

    def listed(self) -> list[Root]:
        """The library's folders as this machine sees them: its own path and whether it is
        mounted here (another machine's unmounted drive is not offline here)."""
        with self.database.Session() as session:
            roots = list(session.scalars(select(Root).order_by(Root.path)))
            here = dict(
                session.execute(
                    select(RootMount.root_id, RootMount.online).where(RootMount.machine == mounts.machine_name())
                ).all()
            )
        for root in roots:
            root.online = here.get(root.id, True)
        return roots

    def load_mounts(self) -> None:
        """Install this machine's paths of the roots mounted elsewhere than where they were added."""
        with self.database.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT r.path, m.path FROM root_mounts m JOIN roots r ON r.id = m.root_id"
                    " WHERE m.machine = :machine"
                ),
                {"machine": mounts.machine_name()},
            ).all()
        mounts.install(self.database.engine, mounts.MountMap([mounts.Mount(stored, local) for stored, local in rows]))

    def map_root(self, root: str, local: str | os.PathLike[str]) -> Root:
        """Tell the library where this machine finds a root: ``root`` is the root as listed (its
        path where it was added, or its id), ``local`` the folder here (``/Volumes/photos``)."""
        folder = Path(local).expanduser()
        if not folder.is_dir():
            raise LibraryError(f"{folder} is not a folder on this machine")
        local_text = str(folder.resolve())
        with self.database.engine.connect() as connection:  # the stored paths, untranslated
            rows = connection.execute(text("SELECT id, path, uid FROM roots")).all()
        current = mounts.of(self.database.engine.dialect)
        names = {root, current.to_stored(root)} if current else {root}  # also as this machine shows it now
        found = [row for row in rows if row.path in names or row.uid == root]
        if not found:
            known = ", ".join(row.path for row in rows) or "none"
            raise LibraryError(f"no library folder {root!r} (the library has: {known})")
        root_id = found[0].id
        with self.database.engine.begin() as connection:
            connection.execute(
                dialect.insert(RootMount, self.database.engine.dialect.name)
                .values(root_id=root_id, machine=mounts.machine_name(), path=local_text, online=True)
                .on_conflict_do_update(index_elements=["root_id", "machine"], set_={"path": local_text, "online": True})
            )
        self.load_mounts()
        with self.database.Session() as session:
            mapped = session.get(Root, root_id)
        if mapped is None:  # removed by another connection since it was found above
            raise LibraryError(f"library folder {root!r} was removed meanwhile")
        return mapped

    def find_root(self, path: str | os.PathLike[str]) -> Root:
        text = str(Path(path).expanduser().resolve())
        with self.database.Session() as session:
            root = session.scalar(select(Root).where(Root.path == text))
        if root is None:
            raise LibraryError(f"{text} is not a library folder")
        return root

    def set_watched(self, path: str | os.PathLike[str], watched: bool) -> None:
        root = self.find_root(path)
        with self.database.Session.begin() as session:
            session.execute(update(Root).where(Root.id == root.id).values(watched=watched))

    def remove_root(self, path: str | os.PathLike[str]) -> int:
        """Forget a folder and its images (the files are not touched). Returns how many images were dropped."""
        root = self.find_root(path)
        with self.database.Session.begin() as session:
            # Marking them missing first keeps the tag histogram exact (its triggers see the status change).
            session.execute(update(Image).where(Image.root_id == root.id).values(status=Status.MISSING))
            dropped = rowcount(session.execute(delete(Image).where(Image.root_id == root.id)))
            session.execute(delete(Root).where(Root.id == root.id))
        return dropped
