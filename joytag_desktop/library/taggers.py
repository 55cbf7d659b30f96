"""The taggers registered in the library (its ``models`` table): registration by fingerprint,
which ones tag new files automatically, which ones searches count, and the queue they keep."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from joytag_desktop.library import dialect
from joytag_desktop.library.database import Database, now
from joytag_desktop.library.errors import LibraryError
from joytag_desktop.library.records import ModelInfo
from joytag_desktop.library.schema import Image, ImageModel, Model, ModelTagThreshold, ModelThreshold, Status
from joytag_desktop.library.settings import Settings
from joytag_desktop.library.tags import Tags
from joytag_desktop.library.thresholds import DEFAULT_THRESHOLD

if TYPE_CHECKING:
    from joytag_desktop.taggers.contract import TaggerFolder

OPTIONS_KEY = "model_options:"  # + the model's id: its tagger options as JSON
NEVER = 2.0  # a model's own threshold for a tag its rule never outputs (any score is below it)


class LibraryTaggers:
    """The ``models`` rows: one per tagger whose scores the library stores."""

    def __init__(self, database: Database, settings: Settings, tags: Tags | None = None) -> None:
        self.database = database
        self.settings = settings
        self.tags = tags

    def models(self) -> list[ModelInfo]:
        """Every model of the library, in the order they were added, with how many images each tagged."""
        with self.database.Session() as session:
            counts = dict(
                session.execute(select(ImageModel.model_id, func.count()).group_by(ImageModel.model_id)).all()
            )
            rows = session.scalars(select(Model).order_by(Model.id)).all()
        return [
            ModelInfo(m.id, m.name, m.format, m.version, m.fingerprint, m.path, m.auto, m.searched, counts.get(m.id, 0))
            for m in rows
        ]

    def model(self, name: str) -> ModelInfo:
        found = next((m for m in self.models() if m.name == name), None)
        if found is None:
            known = ", ".join(m.name for m in self.models()) or "none yet"
            raise LibraryError(f"no model named {name!r} in this library (it has: {known})")
        return found

    def register_model(self, tagger: TaggerFolder) -> ModelInfo:
        """The library's row for a loaded tagger, added on first use (with the model's published
        per-category thresholds). The same weights are found by fingerprint wherever they are; new
        weights in a known folder replace that model's, and its images are queued to be tagged again."""
        fingerprint = tagger.fingerprint()
        path = str(tagger.path)
        try:
            model_id = self._register_model(tagger, fingerprint, path)
        except (IntegrityError, OperationalError):  # another process registered it at the same moment
            model_id = self._register_model(tagger, fingerprint, path)
        self._calibrate(model_id, tagger)
        self.settings.set_model_follows(model_id, dict(tagger.policy.follows))
        self._requeue()
        return next(m for m in self.models() if m.id == model_id)

    def _register_model(self, tagger: TaggerFolder, fingerprint: str, path: str) -> int:
        with self.database.Session.begin() as session:
            dialect.serialize(session, dialect.MODEL_REGISTRATION_LOCK)  # workers starting together
            found = session.scalar(select(Model).where(Model.fingerprint == fingerprint))
            if found is None:
                found = session.scalar(select(Model).where(Model.path == path))
                if found is not None:  # new weights where the model was: its taggings are stale
                    session.execute(delete(ImageModel).where(ImageModel.model_id == found.id))
            if found is None:
                taken = set(session.scalars(select(Model.name)))
                name, n = tagger.path.name, 2
                while name in taken:
                    name, n = f"{tagger.path.name}-{n}", n + 1
                found = Model(
                    name=name,
                    format=tagger.family.name,
                    version=tagger.variant,
                    fingerprint=fingerprint,
                    path=path,
                    auto=False,
                    searched=True,
                    added_at=now(),
                )
                session.add(found)
                session.flush()
                default, per_category = tagger.policy.thresholds_for(None)
                if tagger.policy.tag_thresholds:  # calibrated per tag: no category threshold until the user sets one
                    per_category = {}
                elif self.settings.get("threshold") is None:  # the user has not chosen a general threshold
                    per_category = {"general": default} | per_category
                for category, value in per_category.items():
                    if category != "general" or value != DEFAULT_THRESHOLD:
                        session.add(ModelThreshold(model_id=found.id, category=category, threshold=value))
            found.format, found.version, found.fingerprint, found.path = (
                tagger.family.name,
                tagger.variant,
                fingerprint,
                path,
            )
            return found.id

    def _calibrate(self, model_id: int, tagger: TaggerFolder) -> None:
        """Keep the model's own per-tag thresholds (JTP-3's calibration.csv) equal to its folder's:
        rewritten in one statement when the file appeared, changed or went (read at every start)."""
        if self.tags is None:
            return
        limits = tagger.policy.tag_thresholds
        want: dict[int, float] = {}
        if limits:
            vocabulary = tagger.vocabulary
            ids = self.tags.ensure_tags(vocabulary.names[: len(limits)], vocabulary.categories[: len(limits)])
            want = {tag_id: min(float(limit), NEVER) for tag_id, limit in zip(ids, limits, strict=True)}
        with self.database.Session.begin() as session:
            have = dict(
                session.execute(
                    select(ModelTagThreshold.tag_id, ModelTagThreshold.threshold).where(
                        ModelTagThreshold.model_id == model_id
                    )
                ).all()
            )
            if have == want:
                return
            session.execute(delete(ModelTagThreshold).where(ModelTagThreshold.model_id == model_id))
            if want:
                rows = [{"model_id": model_id, "tag_id": t, "threshold": v} for t, v in want.items()]
                session.execute(insert(ModelTagThreshold), rows)
        self.settings.model_tags_changed()

    def model_options(self, model_id: int) -> dict[str, int]:
        """The tagger options (JTP-3's ``seqlen``) the model runs with in this library, by every worker."""
        try:
            raw = json.loads(self.settings.get(f"{OPTIONS_KEY}{model_id}") or "{}")
        except ValueError:
            return {}
        if not isinstance(raw, dict):
            return {}
        return {str(k): v for k, v in raw.items() if isinstance(v, int) and not isinstance(v, bool)}

    def set_model_options(self, model_id: int, options: dict[str, int]) -> None:
        self.settings.set(f"{OPTIONS_KEY}{model_id}", json.dumps(dict(sorted(options.items()))))

    def add_model(
        self, name: str, format: str = "joytag", thresholds: dict[str, float] | None = None, auto: bool = False
    ) -> ModelInfo:
        """A model row without loading a tagger (benchmarks and tests that store chosen scores)."""
        with self.database.Session.begin() as session:
            model = Model(name=name, format=format, version="", fingerprint=name, auto=auto, searched=True,
                          added_at=now())  # fmt: skip
            session.add(model)
            session.flush()
            for category, value in (thresholds or {}).items():
                session.add(ModelThreshold(model_id=model.id, category=category, threshold=value))
        self._requeue()
        return self.model(name)

    def add_auto_models(self, names: Sequence[str]) -> None:
        """Add models to those that tag new and changed files."""
        current = [m.name for m in self.models() if m.auto]
        self.set_auto_models(list(dict.fromkeys([*current, *names])))

    def set_auto_models(self, names: Sequence[str]) -> None:
        """The models that tag new and changed files; images one of them has not tagged are queued."""
        ids = [self.model(name).id for name in names]
        with self.database.Session.begin() as session:
            session.execute(update(Model).values(auto=Model.id.in_(ids) if ids else False))
        self._requeue()

    def set_model_searched(self, name: str, searched: bool) -> None:
        """Whether a model's scores count in searches and counts (its scores stay stored)."""
        model_id = self.model(name).id
        with self.database.Session.begin() as session:
            session.execute(update(Model).where(Model.id == model_id).values(searched=searched))

    def _requeue(self) -> None:
        """Keep "tagged" meaning "tagged by every automatic model": images one of them lacks are
        pending, and pending images they all have tagged are tagged."""
        lacking = exists().where(
            Model.auto, ~exists().where(ImageModel.image_id == Image.id, ImageModel.model_id == Model.id)
        )
        with self.database.Session.begin() as session:
            session.execute(update(Image).where(Image.status == Status.TAGGED, lacking).values(status=Status.PENDING))
            session.execute(
                update(Image)
                .where(
                    Image.status == Status.PENDING,
                    exists().where(Model.auto),
                    ~lacking,
                )
                .values(status=Status.TAGGED)
            )
