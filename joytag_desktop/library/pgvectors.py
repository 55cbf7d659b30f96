"""Similar images on PostgreSQL with pgvector: the server keeps the vector index.

With the library on a PostgreSQL server that has the ``vector`` extension, every embedding is
also a row of ``image_vectors`` (written in the transaction that stores the tagging, removed
with it by a cascade), and each model has an HNSW index over its rows (an expression index at
the model's width: ``embedding::vector(768)``). A search is then one query on the server, the
same for every machine, with nothing to build or replay in each process. Without the extension
(``CREATE EXTENSION vector`` needs a superuser or a trusted extension) the library falls back on
the per-process vector index of ``library.vectors``, exactly as on SQLite.

The table and indexes are made on first use rather than by a migration: the extension may be
installed on the server after the library was created.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from joytag_desktop.library import db, dialect

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)

BACKFILL_PAGE = 2_000
MAX_EF_SEARCH = 1_000  # pgvector's limit for hnsw.ef_search

_TABLE = """
CREATE TABLE IF NOT EXISTS image_vectors (
    image_id INTEGER NOT NULL,
    model_id INTEGER NOT NULL,
    embedding vector NOT NULL,
    PRIMARY KEY (model_id, image_id),
    FOREIGN KEY (image_id, model_id) REFERENCES image_models (image_id, model_id) ON DELETE CASCADE
)
"""


def as_text(vector: np.ndarray) -> str:
    """pgvector's text form of a vector, at the float16 precision the library stores."""
    return "[" + ",".join(f"{x:.6g}" for x in np.asarray(vector, dtype=np.float16).astype(np.float32).tolist()) + "]"


class ServerVectors:
    """The pgvector side of one library: whether it is there, and each model's index."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._available: bool | None = None
        self._ready: set[int] = set()
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        """Whether the server has pgvector (the extension created now if this user may)."""
        if self._available is None:
            self._available = dialect.is_postgresql(self.engine) and self._create_table()
        return self._available

    def _create_table(self) -> bool:
        try:
            with self.engine.begin() as connection:
                dialect.serialize(connection, dialect.VECTOR_TABLE_LOCK)  # one machine creates
                connection.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
                connection.execute(text(_TABLE))
        except DBAPIError as exc:
            log.info(
                "pgvector is not available on this server (%s): similar images use a local index",
                db.first_line(exc.orig),
            )
            return False
        return True

    def store(self, connection, rows: Sequence[tuple[int, int, np.ndarray]]) -> None:
        """Add (image id, model id, embedding) rows, in the caller's transaction."""
        if rows:
            connection.execute(
                text(
                    "INSERT INTO image_vectors (image_id, model_id, embedding)"
                    " VALUES (:image, :model, CAST(:v AS vector))"
                    " ON CONFLICT (model_id, image_id) DO UPDATE SET embedding = excluded.embedding"
                ),
                [{"image": i, "model": m, "v": as_text(v)} for i, m, v in rows],
            )

    def prepare(self, model_id: int) -> int | None:
        """Copy the model's embeddings that have no row yet (a library tagged before pgvector was
        installed), and make its HNSW index; returns the model's width (None: no embeddings)."""
        from joytag_desktop.library.vectors import decode

        with self._lock:
            with self.engine.connect() as connection:
                width = connection.execute(
                    text("SELECT vector_dims(embedding) FROM image_vectors WHERE model_id = :m LIMIT 1"),
                    {"m": model_id},
                ).scalar()
            if model_id in self._ready and width is not None:
                return width
            after = 0  # in id order: an embedding that cannot be decoded is passed, not fetched again
            while True:
                with self.engine.begin() as connection:
                    rows = connection.execute(
                        text(
                            "SELECT im.image_id, im.embedding FROM image_models im WHERE im.model_id = :m"
                            " AND im.image_id > :after AND im.embedding IS NOT NULL AND NOT EXISTS (SELECT 1"
                            " FROM image_vectors v WHERE v.model_id = im.model_id AND v.image_id = im.image_id)"
                            " ORDER BY im.image_id LIMIT :n"
                        ),
                        {"m": model_id, "after": after, "n": BACKFILL_PAGE},
                    ).all()
                    found = [(i, model_id, decode(blob)) for i, blob in rows]
                    found = [(i, m, v) for i, m, v in found if v is not None and len(v)]
                    self.store(connection, found)
                    if width is None and found:
                        width = len(found[0][2])
                if len(rows) < BACKFILL_PAGE:
                    break
                after = rows[-1][0]
            if width is None:
                return None
            with self.engine.begin() as connection:
                dialect.serialize(connection, dialect.VECTOR_TABLE_LOCK)
                connection.execute(
                    text(
                        f"CREATE INDEX IF NOT EXISTS ix_image_vectors_model_{int(model_id)} ON image_vectors"
                        f" USING hnsw ((CAST(embedding AS vector({int(width)}))) vector_cosine_ops)"
                        f" WHERE model_id = {int(model_id)}"
                    )
                )
            self._ready.add(model_id)
            return width


class ServerIndex:
    """One model's vectors on the server, answering as ``vectors.VectorIndex`` does."""

    def __init__(self, server: ServerVectors, model_id: int, ndim: int) -> None:
        self.server = server
        self.model_id = model_id
        self.ndim = ndim
        self.store = self  # duplicates ask index.store.search(batch, count, depth)

    def __len__(self) -> int:
        with self.server.engine.connect() as connection:
            return connection.execute(
                text("SELECT count(*) FROM image_vectors WHERE model_id = :m"), {"m": self.model_id}
            ).scalar_one()

    def nearest(self, vector: np.ndarray, count: int) -> list[int]:
        if len(vector) != self.ndim or count <= 0:
            return []
        keys, _ = self.search(vector[np.newaxis, :], count)
        return [int(k) for k in keys[0] if k >= 0]

    def search(self, vectors: np.ndarray, count: int, depth: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, cosine distances) of the ``count`` nearest of each row, -1 / inf where fewer."""
        vectors = np.atleast_2d(vectors)
        keys = np.full((len(vectors), count), -1, dtype=np.int64)
        distances = np.full((len(vectors), count), np.inf, dtype=np.float32)
        width = int(self.ndim)
        statement = text(
            f"SELECT image_id, CAST(embedding AS vector({width})) <=> CAST(:q AS vector({width})) AS d"
            f" FROM image_vectors WHERE model_id = {int(self.model_id)}"
            f" ORDER BY CAST(embedding AS vector({width})) <=> CAST(:q AS vector({width})) LIMIT :n"
        )
        ef = min(MAX_EF_SEARCH, max(40, depth or 0, count))
        with self.server.engine.begin() as connection:
            connection.execute(text(f"SET LOCAL hnsw.ef_search = {int(ef)}"))
            for row, vector in enumerate(vectors):
                found = connection.execute(statement, {"q": as_text(vector), "n": count}).all()
                for column, (image_id, distance) in enumerate(found):
                    keys[row, column], distances[row, column] = image_id, distance
        return keys, distances
