"""Tagging results: the work queue of pending images, storing a batch of a tagger's scores, the tags
of one image as they count, and the records of the metadata the app wrote into files."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import delete, exists, func, insert, select, update

from joytag_desktop.categories import RATINGS
from joytag_desktop.library import pending, score_rows, work
from joytag_desktop.library.database import Database, now, rowcount
from joytag_desktop.library.model_rules import ModelRules
from joytag_desktop.library.records import ImageResult, ModelInfo, TagView
from joytag_desktop.library.schema import (
    USER,
    Claim,
    Image,
    ImageModel,
    ImageTag,
    MetadataWrite,
    Model,
    ModelTagThreshold,
    Source,
    Status,
    Tag,
)
from joytag_desktop.library.search_index import SearchIndex
from joytag_desktop.library.settings import Settings
from joytag_desktop.library.similar import Similarity
from joytag_desktop.library.tags import Tags
from joytag_desktop.media.hashing import hash_file_and_picture

if TYPE_CHECKING:
    import numpy as np


def _highest_rating(scores: np.ndarray, rating_index: list[tuple[int, int]]) -> int | None:
    """The rating whose tag scored highest (``rating_index``: tag index, rating); None without rating tags."""
    return max(rating_index, key=lambda r: scores[r[0]])[1] if rating_index else None


# Batches stored between looks at the histogram's waiting changes, and how many changes make a fold
# (~100 per image and model: about 5,000 images; summing them in a count takes ~0.1 s).
FOLD_EVERY = 16
HISTOGRAM_CHANGES_FOLDED = 500_000
RETAG_CHUNK = 1_000  # images per transaction of a retag (as a bulk edit's chunks)


class Results:
    """What the taggers found, stored and read back."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        tags: Tags,
        similarity: Similarity,
        search_index: SearchIndex,
        model_rules: ModelRules | None = None,
    ) -> None:
        self.database = database
        self.model_rules = model_rules
        self.settings = settings
        self.tags = tags
        self.similarity = similarity
        self.search_index = search_index
        self._stored_batches = 0
        self._last_rating_index: tuple[Sequence[str], Sequence[str] | None, list[tuple[int, int]]] | None = None

    def pending_images(
        self, limit: int, after_id: int = 0, model_id: int | None = None
    ) -> list[tuple[int, str, str | None]]:
        """The work queue: (id, path, content hash) of pending images in id order (with ``model_id``:
        those that model has not tagged yet)."""
        not_done = (
            []
            if model_id is None
            else [~exists().where(ImageModel.image_id == Image.id, ImageModel.model_id == model_id)]
        )
        with self.database.Session() as session:
            rows = session.execute(
                select(Image.id, Image.path, Image.content_hash)
                .where(Image.status == Status.PENDING, Image.id > after_id, *not_done)
                .order_by(Image.id)
                .limit(limit)
            )
            return [(row.id, row.path, row.content_hash) for row in rows]

    def pending_count(self, model_id: int) -> int:
        """Pending images that ``model_id`` has not tagged yet (``library.pending``: without walking
        the images that wait for another model)."""
        with self.database.Session() as session:
            return pending.pending_count(session, model_id)

    def store_results(
        self,
        results: Sequence[ImageResult],
        model: ModelInfo,
        tags: Sequence[str],
        categories: Sequence[str] | None = None,
        worker: str | None = None,
    ) -> int:
        """Write one batch of one model's results in one transaction; returns how many were stored.

        Only this model's rows are replaced: other models' scores and the user's manual and imported
        tags stay. A result for an image that went missing, was forgotten, or whose content changed
        since it was claimed is dropped (the image stays pending and is tagged again). ``categories``
        (one per tag) give the rating: the rating tag this model scores highest. With ``worker``
        (a ``WorkQueue``'s id) only the images it still holds a claim on are stored, and those
        claims end in the same transaction.
        """
        import numpy as np

        tag_ids = np.asarray(self.tags.ensure_tags(tags, categories), dtype=np.int64)
        rating_index = self._rating_index(tags, categories)
        floor = self._floors(model.id, tag_ids, self.settings.storage_floor)
        # The model's exclusions and category caps (library.model_rules): applied to what is stored.
        kept = self.model_rules.keep(model.id, tag_ids, categories) if self.model_rules is not None else None
        stamp = now()
        server = self.similarity.server_vectors()  # before the transaction: it may create its table
        with self.database.Session.begin() as session:
            current = dict(
                session.execute(
                    select(Image.id, Image.content_hash).where(
                        Image.id.in_([r.image_id for r in results]), Image.status != Status.MISSING
                    )
                ).all()
            )
            results = list({r.image_id: r for r in results}.values())  # one result per image
            if worker is not None:
                held = work.held_by(worker, model.id, [r.image_id for r in results], session)
                results = [r for r in results if r.image_id in held]
                session.execute(
                    delete(Claim).where(
                        Claim.worker == worker, Claim.model_id == model.id, Claim.image_id.in_(list(held))
                    )
                )
            results = [
                r
                for r in results
                if r.image_id in current and (r.content_hash is None or r.content_hash == current[r.image_id])
            ]
            ok = [r for r in results if r.error is None and r.scores is not None]
            ok_ids = [r.image_id for r in ok]
            score_rows.forget(session, model.id, ok_ids)  # this model's old rows, logged and uncounted
            session.execute(delete(ImageModel).where(ImageModel.image_id.in_(ok_ids), ImageModel.model_id == model.id))
            new_rows: list[tuple[int, int, int, int, float]] = []
            taggings: list[dict] = []
            for result in ok:
                scores = result.scores
                assert scores is not None
                kept_at = np.flatnonzero(scores >= floor) if kept is None else kept.positions(scores, floor)
                new_rows += [
                    (result.image_id, model.id, tag_id, Source.AI, score)
                    for tag_id, score in zip(tag_ids[kept_at].tolist(), scores[kept_at].tolist(), strict=True)
                ]
                taggings.append(
                    {
                        "image_id": result.image_id,
                        "model_id": model.id,
                        "tagged_at": stamp,
                        "rating": _highest_rating(scores, rating_index),
                        "embedding": None if result.embedding is None else result.embedding.astype("<f2").tobytes(),
                    }
                )
            if taggings:
                session.execute(insert(ImageModel), taggings)
            if new_rows:
                score_rows.insert_rows(session, new_rows)
                score_rows.note(session, model.id, ok_ids)
            if server is not None:  # pgvector: the server's index gets the embeddings in this transaction
                server.store(
                    session.connection(),
                    [(r.image_id, model.id, r.embedding) for r in ok if r.embedding is not None and len(r.embedding)],
                )
            if ok_ids:
                session.execute(
                    update(Image)
                    .where(Image.id.in_(ok_ids))
                    .values(status=Status.TAGGED, error=None, model=model.name, tagged_at=stamp)
                )
                # The rating: the highest any model gives, unless the user set one.
                best = select(func.max(ImageModel.rating)).where(ImageModel.image_id == Image.id).scalar_subquery()
                session.execute(
                    update(Image).where(Image.id.in_(ok_ids), Image.rating_manual.is_(False)).values(rating=best)
                )
            for result in results:
                if result.error is not None:
                    moved = [] if result.path is None else [Image.path == result.path]
                    session.execute(
                        update(Image)
                        .where(Image.id == result.image_id, *moved)
                        .values(status=Status.ERROR, error=result.error)
                    )
        self._stored_batches += 1
        if self._stored_batches % 100 == 0:  # a library tagged for days and never searched
            self.search_index.trim_log()
        if self._stored_batches % FOLD_EVERY == 0:
            self.fold_histogram()
        return len(results)

    def fold_histogram(self, at_least: int = HISTOGRAM_CHANGES_FOLDED) -> None:
        """Fold the histogram's waiting changes into it once they are many (each fold writes the
        histogram's pages once, for all the batches since the last)."""
        with self.database.Session.begin() as session:
            if score_rows.histogram_changes(session) >= at_least:
                score_rows.fold_histogram(session)

    def _rating_index(self, tags: Sequence[str], categories: Sequence[str] | None) -> list[tuple[int, int]]:
        """(position, rating) of the vocabulary's rating tags (kept for the same lists, batch after batch)."""
        last = self._last_rating_index
        if last is not None and last[0] is tags and last[1] is categories:
            return last[2]
        found = [
            (i, RATINGS.index(name.removeprefix("rating:")))
            for i, (name, category) in enumerate(zip(tags, categories or [], strict=False))
            if category == "rating" and name.removeprefix("rating:") in RATINGS
        ]
        self._last_rating_index = (tags, categories, found)
        return found

    def _floors(self, model_id: int, tag_ids: np.ndarray, floor: float) -> float | np.ndarray:
        """The lowest score stored per tag: the storage floor, or a model's own threshold for the
        tag where that is lower (a calibrated tag kept at 0.03 is stored, so the library finds it)."""
        import numpy as np

        with self.database.engine.connect() as connection:
            own = dict(
                connection.execute(
                    select(ModelTagThreshold.tag_id, ModelTagThreshold.threshold).where(
                        ModelTagThreshold.model_id == model_id, ModelTagThreshold.threshold < floor
                    )
                ).all()
            )
        if not own:
            return floor
        at = np.isin(tag_ids, np.fromiter(own.keys(), dtype=np.int64, count=len(own)))
        floors = np.full(len(tag_ids), floor, dtype=np.float64)
        floors[at] = [own[int(t)] for t in tag_ids[at]]
        return floors

    def retag(
        self,
        image_ids: Iterable[int],
        model_ids: Sequence[int] | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> int:
        """Queue images for tagging again by these models (default: every model); their scores stay
        until the new ones replace them, and manual edits are kept. Returns how many were queued.

        A transaction per ``RETAG_CHUNK`` images, so retagging a hundred thousand never holds the
        database's writer for long (tagging and edits go on between chunks); ``progress(done,
        total)`` after each, and ``cancel`` stops between them (what was queued stays queued)."""
        ids = list(image_ids)
        queued = 0
        models = [] if model_ids is None else [ImageModel.model_id.in_(list(model_ids))]
        for start in range(0, len(ids), RETAG_CHUNK):
            if cancel is not None and cancel.is_set():
                break
            chunk = ids[start : start + RETAG_CHUNK]
            with self.database.Session.begin() as session:
                session.execute(delete(ImageModel).where(ImageModel.image_id.in_(chunk), *models))
                queued += rowcount(
                    session.execute(
                        update(Image)
                        .where(Image.id.in_(chunk), Image.status.in_([Status.TAGGED, Status.ERROR, Status.PENDING]))
                        .values(status=Status.PENDING, error=None)
                    )
                )
            if progress is not None:
                progress(start + len(chunk), len(ids))
        return queued

    def accept_own_write(self, image_id: int, path: str, before: tuple[str, str | None] | None = None) -> None:
        """After the app wrote metadata into an image file, record its new size, mtime and hashes, so
        the next scan sees no change; the picture hash stays equal, so the taggings stay.

        ``before``: the file's (content hash, picture hash) read just before the write. For an image
        indexed before 0007 (no picture hash stored) whose file was still the one scanned, that picture
        hash is recorded first, so the taggings stay too (else the first embedded export after an
        upgrade would retag the library). Without any (a format without one) the taggings go;
        ``status`` is named so the same statement makes such an image pending on SQLite too (its
        trigger runs on a named status; PostgreSQL's on every update), never "tagged" by no model.
        """
        stat = os.stat(path)
        content_hash, picture_hash = hash_file_and_picture(path)
        with self.database.Session.begin() as session:
            if before is not None and before[1] is not None:
                session.execute(
                    update(Image)
                    .where(Image.id == image_id, Image.picture_hash.is_(None), Image.content_hash == before[0])
                    .values(picture_hash=before[1])
                )
            session.execute(
                update(Image)
                .where(Image.id == image_id)
                .values(
                    size=stat.st_size,
                    mtime=stat.st_mtime,
                    content_hash=content_hash,
                    picture_hash=picture_hash,
                    status=Image.status,
                )
            )

    def set_sidecar_mtime(self, image_id: int, mtime: float | None) -> None:
        with self.database.Session.begin() as session:
            session.execute(update(Image).where(Image.id == image_id).values(sidecar_mtime=mtime))

    def metadata_record(self, image_id: int, target: str) -> MetadataWrite | None:
        with self.database.Session() as session:
            return session.get(MetadataWrite, (image_id, target))

    def record_metadata_write(
        self, image_id: int, target: str, path: str, keywords: list[str] | dict, file_mtime: float | None
    ) -> None:
        with self.database.Session.begin() as session:
            session.merge(
                MetadataWrite(
                    image_id=image_id,
                    target=target,
                    path=path,
                    keywords=json.dumps(keywords, ensure_ascii=False),
                    file_mtime=file_mtime,
                    written_at=now(),
                )
            )

    def image_tags(self, image_id: int, threshold: float | None = None) -> list[TagView]:
        """Every stored tag of an image, best first: each model's score, the user's word, and
        whether it counts under the threshold rules (``threshold``: a one-off one for every model)."""
        rules = self.settings.threshold_rules(threshold)
        with self.database.Session() as session:
            models = {m.id: m for m in session.scalars(select(Model))}
            rows = session.execute(
                select(Tag.id, Tag.name, Tag.category, ImageTag.model_id, ImageTag.source, ImageTag.score)
                .join(Tag, Tag.id == ImageTag.tag_id)
                .where(ImageTag.image_id == image_id)
            ).all()
        views: dict[int, TagView] = {}
        for row in rows:
            view = views.get(row.id)
            if view is None:
                view = views[row.id] = TagView(
                    row.name, 0.0, "ai", None, rules.threshold(-1, row.id, row.category), rules.overridden(row.id),
                    row.category,
                )  # fmt: skip
            if row.model_id == USER:
                view.source, view.score = Source.NAMES[row.source], row.score
                continue
            model = models.get(row.model_id)
            if model is None:
                continue
            view.scores[model.name] = row.score
            if not model.searched:
                continue
            limit = rules.threshold(model.id, row.id, row.category)
            view.thresholds[model.name] = limit
            if (
                rules.overridden(row.id)
                or rules.override is not None
                or row.category in rules.per_model.get(model.id, {})
                or row.id in rules.per_model_tag.get(model.id, {})  # JTP-3's calibration: not the slider's
            ):
                view.fixed.add(model.name)
            if view.ai_score is None or row.score - limit > view.ai_score - view.threshold:
                view.ai_score, view.threshold = row.score, limit
        for view in views.values():
            if view.source == "ai":
                view.score = view.ai_score if view.ai_score is not None else 0.0
        return sorted(views.values(), key=lambda v: (-v.score, v.name))
