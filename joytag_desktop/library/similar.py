"""More like this: the images nearest to an image (of the library or not) by a model's embedding.

The vector indexes (``library.vectors``) give candidates; each candidate is scored again from the
embeddings in SQLite, so the similarity shown is exact. A query narrows the results (the index is
asked for more candidates until enough pass). A file that is not in the library is embedded on the
fly by ``embedder``, which the command line and the GUI set (the core never loads a network).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError

from joytag_desktop.errors import JoyTagError
from joytag_desktop.library import dialect
from joytag_desktop.library import statements as sql
from joytag_desktop.library.dialect import json_ids
from joytag_desktop.library.records import ModelInfo
from joytag_desktop.library.statements import DriverConnection

if TYPE_CHECKING:
    import numpy as np

    from joytag_desktop.library.database import Database
    from joytag_desktop.library.images import Images
    from joytag_desktop.library.pgvectors import ServerIndex, ServerVectors
    from joytag_desktop.library.search_index import SearchIndex
    from joytag_desktop.library.settings import Settings
    from joytag_desktop.library.vectors import VectorIndex

log = logging.getLogger(__name__)

LIKE_LIMIT = 200  # how many nearest images a ``like:`` term stands for
SAVE_AFTER_CHANGES = 1_000  # images changed that make a save worth writing the store again (or 5 % of it)
STAMP_SETTING = "vector_stamp:"  # + model id: the change stamp of the saved index (the log keeps rows after it)

# (file, model) -> the file's embedding by that model; set by the CLI and the GUI.
Embedder = Callable[[Path, "ModelInfo"], "np.ndarray"]
# (words, model) -> the words' embedding by that model's text tower; set by the CLI and the GUI.
TextEmbedderFn = Callable[[str, "ModelInfo"], "np.ndarray"]
TEXT_LIMIT = 1_000  # how many nearest images a ``text:`` term stands for (after the query's other filters)
NO_TEXT_MODEL = (
    "no text model in this library: add SigLIP2 to embed its images "
    "(`joytag-desktop models download siglip2-b16-224`, then `joytag-desktop autotag --model siglip2-b16-224`)"
)


class SimilarityError(JoyTagError):
    """No embedding to compare with: an unknown file, a model that computed none."""


class NoTextModel(SimilarityError):
    """Search in words without a text model (SigLIP2) that has embedded the library's images."""

    def __init__(self, message: str = NO_TEXT_MODEL) -> None:
        super().__init__(message)


def embeds_text(format: str) -> bool:
    """Whether a library model of this family has a text tower (its images searchable in words)."""
    from joytag_desktop.taggers.registry import tagger_family

    try:
        return tagger_family(format).embeds_text
    except KeyError:
        return False


@dataclass
class Match:
    image_id: int
    similarity: float  # cosine, -1..1 (1: the same embedding)


def _vectors():
    """``library.vectors``, imported on first use: commands that never compare skip usearch."""
    from joytag_desktop.library import vectors

    return vectors


class Similarity:
    """The vector indexes of one Library (one per model), shared by its threads."""

    def __init__(self, database: Database, images: Images, settings: Settings, search_index: SearchIndex) -> None:
        self.database = database
        self.images = images
        self.settings = settings
        self.search_index = search_index
        base = dialect.local_base(database.engine)
        self.folder = Path(base + "-vectors") if base else None
        self.embedder: Embedder | None = None
        self.text_encoder: TextEmbedderFn | None = None
        self._words: dict[tuple[str, int, str], np.ndarray] = {}  # recent words' embeddings
        self._outside: dict[tuple, np.ndarray] = {}
        # like: terms of recent searches: per term, each image's similarity (shown beside results)
        self._recent: dict[str, tuple[int | None, dict[int, float]]] = {}  # term -> (data version, similarities)
        self._indexes: dict[int, VectorIndex] = {}
        self._server: ServerVectors | None = None  # pgvector, when the library's server has it
        self._lock = threading.RLock()
        self.builds = 0  # full builds by this process (tests read it)
        # The GUI builds graphs on threads of their own and compares exhaustively meanwhile; the
        # command line builds at once.
        self.background = False
        self._building: dict[int, threading.Thread] = {}
        self._closed = False

    # --- choosing the model and the vector ---------------------------------------------------

    def _model(self, name: str | None, image_id: int | None) -> ModelInfo:
        """The named model, else the first searched model with an embedding of the image (or, for
        an outside file, the first searched model that has embedded anything)."""
        with self.connection() as connection:
            models = self._models(connection)
            if name is not None:
                found = next((m for m in models if m.name == name), None)
                if found is None:
                    known = ", ".join(m.name for m in models) or "none yet"
                    raise SimilarityError(f"no model named {name!r} in this library (it has: {known})")
                return found
            for model in sorted(models, key=lambda m: (not m.searched, m.id)):
                if image_id is None:
                    row = connection.execute(sql.HAS_EMBEDDING, (model.id,)).fetchone()
                else:
                    row = connection.execute(sql.HAS_EMBEDDING_OF_IMAGE, (model.id, image_id)).fetchone()
                if row is not None:
                    return model
        raise SimilarityError(
            "no model has an embedding of this image yet: tag it first" if image_id is not None
            else "no model of this library has computed embeddings yet: tag some images first"
        )  # fmt: skip

    @staticmethod
    def _models(connection: DriverConnection) -> list[ModelInfo]:
        """The library's models without their image counts (``Library.models`` counts a million
        rows; a similarity search needs names and folders only)."""
        rows = connection.execute(sql.MODELS).fetchall()
        return [ModelInfo(i, n, f, v, fp, p, bool(a), bool(s)) for i, n, f, v, fp, p, a, s in rows]

    def known_models(self) -> list[ModelInfo]:
        """The library's models, uncounted (names, folders and fingerprints)."""
        with self.connection() as connection:
            return self._models(connection)

    def default_model(self, name: str | None = None) -> ModelInfo:
        """The named model, else the first searched model that has computed embeddings."""
        return self._model(name, None)

    def source(self, source: int | str | Path, model: str | None = None) -> tuple[ModelInfo, np.ndarray, int | None]:
        """(model, embedding, image id or None) of an image id, a library file or any image file."""
        vectors = _vectors()
        image_id: int | None
        if isinstance(source, int):
            image_id = source
        else:
            found = self.images.image_by_path(source)
            image_id = found.id if found is not None else None
        if image_id is not None:
            chosen = self._model(model, image_id)
            vector = vectors.decode(self.images.embedding(image_id, chosen.name))
            if vector is not None:
                return chosen, vector, image_id
            if isinstance(source, int):
                raise SimilarityError(f"model {chosen.name} has no embedding of this image yet: tag it first")
        path = Path(source)  # type: ignore[arg-type]
        if not path.is_file():
            raise SimilarityError(f"{path}: no such image file")
        if self.embedder is None:
            raise SimilarityError(f"{path} is not in the library (and no model is loaded to embed it)")
        chosen = self._model(model, None)
        try:
            stat = path.stat()
        except OSError as exc:
            raise SimilarityError(f"{path}: {exc.strerror or exc}") from None
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, chosen.id)
        embedded = self._outside.get(key)
        if embedded is None:
            embedded = self.embedder(path, chosen)
            self._outside = {key: embedded}  # the last file only: the GUI asks for it page after page
        if embedded is None or not len(embedded):
            raise SimilarityError(f"model {chosen.name} computes no embedding")
        return chosen, embedded.astype("float32"), None

    def text_model(self, name: str | None = None) -> ModelInfo:
        """The named text model, else the first searched model with a text tower that has
        embedded images; NoTextModel when there is none."""
        with self.connection() as connection:
            models = [m for m in self._models(connection) if embeds_text(m.format)]
            if name is not None:
                found = next((m for m in models if m.name == name), None)
                if found is None:
                    known = ", ".join(m.name for m in models) or "none"
                    raise SimilarityError(f"no text model named {name!r} in this library (text models: {known})")
                return found
            for model in sorted(models, key=lambda m: (not m.searched, m.id)):
                if connection.execute(sql.HAS_EMBEDDING, (model.id,)).fetchone() is not None:
                    return model
        if models:
            raise NoTextModel(f"text model {models[0].name} has embedded no image yet: let the worker run first")
        raise NoTextModel()

    def text_vector(self, text: str, model: str | None = None) -> tuple[ModelInfo, np.ndarray]:
        """(model, embedding) of words, by the library's text model (the last few kept)."""
        chosen = self.text_model(model)
        if self.text_encoder is None:
            raise SimilarityError("searching in words needs a text encoder, which this program did not load")
        key = (text, chosen.id, chosen.fingerprint)
        vector = self._words.get(key)
        if vector is None:
            vector = self.text_encoder(text, chosen).astype("float32")
            self._words[key] = vector
            while len(self._words) > 16:
                self._words.pop(next(iter(self._words)))
        return chosen, vector

    def nearest_text(
        self,
        text: str,
        limit: int = 50,
        model: str | None = None,
        allowed: Callable[[Collection[int]], Collection[int]] | None = None,
    ) -> list[Match]:
        """The ``limit`` images nearest to the words, best first (cosine of the embeddings)."""
        chosen, vector = self.text_vector(text, model)
        return self.nearest_to(vector, chosen.id, limit, allowed)

    # --- the nearest images ----------------------------------------------------------------

    def nearest(
        self,
        source: int | str | Path,
        limit: int = 50,
        model: str | None = None,
        allowed: Callable[[Collection[int]], Collection[int]] | None = None,
    ) -> list[Match]:
        """The ``limit`` images most like ``source`` (not itself), best first. ``allowed`` keeps the
        candidates a query accepts; missing files are always left out."""
        chosen, vector, own_id = self.source(source, model)
        return self.nearest_to(vector, chosen.id, limit, allowed, exclude=own_id)

    def nearest_to(
        self,
        vector: np.ndarray,
        model_id: int,
        limit: int,
        allowed: Callable[[Collection[int]], Collection[int]] | None = None,
        exclude: int | None = None,
    ) -> list[Match]:
        with self.held(model_id) as index:
            if index is None:  # a graph is being built beside the GUI: read every embedding meanwhile
                return self._exhaustive(vector, model_id, limit, allowed, exclude)
            total = len(index)
            count = limit * 3 + 8
            kept: list[int] = []
            while True:
                candidates = [i for i in index.nearest(vector, count) if i != exclude]
                kept = self._present(candidates)
                if allowed is not None and kept:
                    passing = set(allowed(kept))
                    kept = [i for i in kept if i in passing]
                if len(kept) >= limit or count >= total:
                    break
                count *= 4
        return self._rescore(vector, model_id, kept)[:limit]

    def _exhaustive(
        self,
        vector: np.ndarray,
        model_id: int,
        limit: int,
        allowed: Callable[[Collection[int]], Collection[int]] | None,
        exclude: int | None,
    ) -> list[Match]:
        """Every stored embedding compared, page by page (seconds at a million; exact)."""
        import numpy as np

        vectors = _vectors()
        best: list[tuple[float, int]] = []
        with self.connection() as connection:
            for rows in vectors.embedding_pages(connection, model_id):
                found = [(i, vectors.decode(blob)) for i, blob in rows if i != exclude]
                found = [(i, v) for i, v in found if v is not None and len(v) == len(vector)]
                if found:
                    similarities = vectors.cosine(np.stack([v for _, v in found]), vector)
                    best += [(float(s), i) for (i, _), s in zip(found, similarities, strict=True)]
                    best = sorted(best, reverse=True)[: max(limit * 20, 1000)]
        ranked = self._present([i for _, i in best])
        if allowed is not None and ranked:
            passing = set(allowed(ranked))
            ranked = [i for i in ranked if i in passing]
        return self._rescore(vector, model_id, ranked[:limit])

    def _present(self, ids: Sequence[int]) -> list[int]:
        """``ids`` (in order) that are in the library and not missing."""
        if not ids:
            return []
        with self.connection() as connection:
            present = {row[0] for row in connection.execute(sql.PRESENT_LISTED, (json_ids(ids),))}
        return [i for i in ids if i in present]

    def _rescore(self, vector: np.ndarray, model_id: int, ids: Sequence[int]) -> list[Match]:
        """Exact cosine similarities from the stored embeddings, best first."""
        import numpy as np

        if not ids:
            return []
        vectors = _vectors()
        with self.connection() as connection:
            rows = connection.execute(sql.STORED_EMBEDDINGS_LISTED, (model_id, json_ids(ids))).fetchall()
        found = [(image_id, vectors.decode(blob)) for image_id, blob in rows]
        found = [(i, v) for i, v in found if v is not None and len(v) == len(vector)]
        if not found:
            return []
        similarities = vectors.cosine(np.stack([v for _, v in found]), vector)
        matches = [Match(i, float(s)) for (i, _), s in zip(found, similarities, strict=True)]
        return sorted(matches, key=lambda m: (-m.similarity, m.image_id))

    def remember(self, term: str, version: int | None, similarities: dict[int, float]) -> None:
        """Keep a like: term's similarities, best first (the last few terms only), as of the
        database's ``version`` (``PRAGMA data_version``)."""
        self._recent.pop(term, None)
        self._recent[term] = (version, similarities)
        while len(self._recent) > 8:
            self._recent.pop(next(iter(self._recent)))

    def recall(self, term: str, version: int | None) -> dict[int, float] | None:
        """A like: term's similarities when nothing was committed since (the GUI asks for the same
        term for the first page, the whole list and the tag counts)."""
        known, similarities = self._recent.get(term, (None, None))
        return similarities if version is not None and known == version else None

    def latest(self, term: str) -> dict[int, float]:
        """A like: term's similarities as its last resolution found them (empty if never)."""
        return dict(self._recent.get(term, (None, {}))[1])

    # --- the indexes --------------------------------------------------------------------------

    def server_vectors(self) -> ServerVectors | None:
        """The server's vector index (pgvector) when the library is on a PostgreSQL server that
        has it; None otherwise (SQLite, or no extension: this process's own index is used)."""
        if not dialect.is_postgresql(self.database.engine):
            return None
        if self._server is None:
            from joytag_desktop.library.pgvectors import ServerVectors

            self._server = ServerVectors(self.database.engine)
        return self._server if self._server.available else None

    @contextlib.contextmanager
    def held(self, model_id: int) -> Iterator[VectorIndex | ServerIndex | None]:
        """The model's index brought up to date, held until the block ends; None while a graph is
        built on a thread of its own (the GUI). On a server with pgvector: the server's index."""
        server = self.server_vectors()
        if server is not None:
            from joytag_desktop.library.pgvectors import ServerIndex

            yield ServerIndex(server, model_id, server.prepare(model_id) or 0)
            return
        with self._lock, self.connection() as connection:
            yield self._current(connection, model_id)

    @contextlib.contextmanager
    def connection(self) -> Iterator[DriverConnection]:
        with dialect.raw_connection(self.database.engine) as connection:
            yield connection

    def _current(self, connection: DriverConnection, model_id: int) -> VectorIndex | None:
        vectors = _vectors()
        index = self._indexes.get(model_id)
        if index is not None and not self._caught_up(index, connection):
            index = None
        if index is None:
            saved = self._load(connection, model_id)
            if saved is not None and self._caught_up(saved, connection):
                index = saved
        if index is None and self._build_elsewhere(connection, model_id):
            return None
        if index is None:
            index = vectors.VectorIndex.build(connection, model_id)
            self.builds += 1
            self._caught_up(index, connection)
            self._save(connection, index)
        elif _worth_saving(index):
            self._save(connection, index)
        self._indexes[model_id] = index
        return index

    def _build_elsewhere(self, connection: DriverConnection, model_id: int) -> bool:
        """In the GUI (``background``), a graph (more than FLAT_UP_TO embeddings: minutes at a
        million) is built on a thread of its own; True while it runs."""
        running = self._building.get(model_id)
        if running is not None and running.is_alive():
            return True
        if not self.background:
            return False
        (count,) = connection.execute(sql.EMBEDDING_COUNT, (model_id,)).fetchone()
        if count <= _vectors().FLAT_UP_TO:
            return False

        def build() -> None:
            try:
                with self.connection() as own:
                    index = _vectors().VectorIndex.build(own, model_id)
                with self._lock, self.connection() as own:
                    if self._closed or not self._caught_up(index, own):
                        return
                    self._indexes[model_id] = index
                    self.builds += 1
                    self._save(own, index)
            except (*dialect.driver_errors(), DBAPIError, OSError, RuntimeError) as exc:
                log.warning("vector index not built: %s", exc)

        thread = threading.Thread(target=build, name=f"vector-index-{model_id}", daemon=True)
        self._building[model_id] = thread
        thread.start()
        return True

    @staticmethod
    def _caught_up(index: VectorIndex, connection: DriverConnection) -> bool:
        try:
            index.catch_up(connection)
        except _vectors().StaleIndex as why:
            log.info("vector index of model %s: %s", index.model_id, why)
            return False
        return True

    def _identity(self, connection: DriverConnection, stamp: int) -> dict | None:
        library_id = self.search_index.library_id() if self.folder is not None else None
        if library_id is None:
            return None
        from joytag_desktop.library.postings import identity

        return identity(connection, library_id, stamp)

    def _load(self, connection: DriverConnection, model_id: int) -> VectorIndex | None:
        if self.folder is None or self._identity(connection, 0) is None:
            return None
        return _vectors().VectorIndex.load(self.folder, model_id, lambda stamp: self._identity(connection, stamp) or {})

    def _save(self, connection: DriverConnection, index: VectorIndex) -> None:
        """Save (best effort: a full disk only costs the next start a build) and record the stamp, so
        the posting lists' log pruning keeps the rows this index still needs."""
        identity = self._identity(connection, index.stamp) if self.folder is not None else None
        if self.folder is None or identity is None:
            return
        try:
            index.save(self.folder, identity)
            self.settings.set(STAMP_SETTING + str(index.model_id), str(index.stamp))
        except (OSError, DBAPIError, RuntimeError) as exc:
            log.warning("could not save the vector index to %s: %s", self.folder, exc)

    def close(self) -> None:
        """Save what changed: a flat store always (megabytes), a graph when worth rewriting."""
        with self._lock:
            self._closed = True
            if self.folder is not None:
                try:
                    with self.connection() as connection:
                        for index in self._indexes.values():
                            if index.changes_since_save and (index.store.kind == "flat" or _worth_saving(index)):
                                self._save(connection, index)
                except (*dialect.driver_errors(), DBAPIError) as exc:  # the next start replays or rebuilds
                    log.warning("vector indexes not saved at close: %s", exc)
            self._indexes.clear()


def _worth_saving(index: VectorIndex) -> bool:
    return index.changes_since_save >= max(SAVE_AFTER_CHANGES, len(index) // 20)
