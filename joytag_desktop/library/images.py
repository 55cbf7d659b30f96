"""Reading images back: rows by id or path, and the embeddings the taggers computed."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select, update

from joytag_desktop.library.database import Database
from joytag_desktop.library.schema import Image, ImageModel, Model


class Images:
    """Image rows and embeddings, read in short sessions."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def embedding(self, image_id: int, model: str) -> bytes | None:
        """The pooled embedding (float16 little-endian) ``model`` computed for the image's content."""
        with self.database.Session() as session:
            return session.scalar(
                select(ImageModel.embedding)
                .join(Model, Model.id == ImageModel.model_id)
                .where(ImageModel.image_id == image_id, Model.name == model)
            )

    def image(self, image_id: int) -> Image | None:
        with self.database.Session() as session:
            return session.get(Image, image_id)

    def images(self, ids: Sequence[int]) -> list[Image]:
        """Images by id, in the order given."""
        with self.database.Session() as session:
            found = {img.id: img for img in session.scalars(select(Image).where(Image.id.in_(list(ids))))}
        return [found[i] for i in ids if i in found]

    def image_by_path(self, path: str | os.PathLike[str]) -> Image | None:
        with self.database.Session() as session:
            return session.scalar(select(Image).where(Image.path == str(Path(path).resolve())))

    def set_orientation(self, image_id: int, orientation: int) -> None:
        """Store the flag of a rotation kept in the sidecar (the file's bytes, and so its scan
        facts, are unchanged)."""
        with self.database.Session.begin() as session:
            session.execute(update(Image).where(Image.id == image_id).values(orientation=orientation))
