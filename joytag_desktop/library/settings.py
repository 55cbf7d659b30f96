"""The library's settings and the threshold rules made of them: the library threshold, the storage
floor, per-tag overrides and the taggers' own per-category thresholds."""

from __future__ import annotations

import json
import uuid
from typing import overload

from sqlalchemy import delete, func, select

from joytag_desktop.library.database import Database
from joytag_desktop.library.errors import LibraryError
from joytag_desktop.library.schema import Model, ModelTagThreshold, ModelThreshold, Setting, Tag, TagThreshold
from joytag_desktop.library.thresholds import (
    DEFAULT_STORAGE_FLOOR,
    DEFAULT_THRESHOLD,
    PRESETS,
    ThresholdRules,
    check_threshold,
    model_tag_digest,
)

MODEL_TAG_STAMP = "model_tag_thresholds_stamp"  # changes whenever a model's per-tag thresholds are written
FOLLOWS_KEY = "model_follows:"  # + the model's id: {follower category: leader category} as JSON


class Settings:
    """Key/value settings and thresholds. Tags and taggers are named by id here: the facade
    resolves the names the user gives."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._model_tags: tuple[str, dict[int, dict[int, float]], str] | None = None  # (stamp, table, digest)

    @overload
    def get(self, key: str, default: str) -> str: ...
    @overload
    def get(self, key: str, default: None = None) -> str | None: ...
    def get(self, key: str, default: str | None = None) -> str | None:
        with self.database.Session() as session:
            value = session.get(Setting, key)
            return value.value if value is not None else default

    def set(self, key: str, value: str) -> None:
        with self.database.Session.begin() as session:
            session.merge(Setting(key=key, value=value))

    @property
    def threshold(self) -> float:
        return float(self.get("threshold", str(DEFAULT_THRESHOLD)))

    def set_threshold(self, value: float) -> None:
        """The library threshold: general tags of every model follow it (their published general
        thresholds give way), and every category a model has no threshold of its own for."""
        value = check_threshold(value)
        with self.database.Session.begin() as session:
            session.merge(Setting(key="threshold", value=repr(value)))
            session.execute(delete(ModelThreshold).where(ModelThreshold.category == "general"))

    def apply_preset(self, name: str) -> float:
        if name not in PRESETS:
            raise LibraryError(f"unknown preset {name!r}: use {', '.join(PRESETS)}")
        self.set_threshold(PRESETS[name])
        return PRESETS[name]

    @property
    def storage_floor(self) -> float:
        return float(self.get("storage_floor", str(DEFAULT_STORAGE_FLOOR)))

    def set_storage_floor(self, value: float) -> None:
        self.set("storage_floor", repr(check_threshold(value, "storage floor")))

    def tag_thresholds(self) -> dict[str, float]:
        with self.database.Session() as session:
            rows = session.execute(select(Tag.name, TagThreshold.threshold).join(Tag, Tag.id == TagThreshold.tag_id))
            return dict(rows.all())

    def set_tag_threshold(self, tag_id: int, value: float | None) -> None:
        """Override the threshold of one tag; None removes the override."""
        with self.database.Session.begin() as session:
            if value is None:
                session.execute(delete(TagThreshold).where(TagThreshold.tag_id == tag_id))
            else:
                session.merge(TagThreshold(tag_id=tag_id, threshold=check_threshold(value)))

    def _threshold_overrides(self) -> dict[int, float]:
        with self.database.Session() as session:
            return dict(session.execute(select(TagThreshold.tag_id, TagThreshold.threshold)).all())

    def threshold_rules(self, threshold: float | None = None) -> ThresholdRules:
        """The rules in force (``threshold``: a one-off threshold for every model, as ``--threshold``)."""
        per_model: dict[int, dict[str, float]] = {}
        with self.database.Session() as session:
            for model_id, category, value in session.execute(
                select(ModelThreshold.model_id, ModelThreshold.category, ModelThreshold.threshold)
            ):
                per_model.setdefault(model_id, {})[category] = value
        per_model_tag, digest = self._model_tag_thresholds()
        override = None if threshold is None else check_threshold(threshold)
        return ThresholdRules(
            self.threshold, override, self._threshold_overrides(), per_model, per_model_tag, tag_digest=digest
        )

    def _model_tag_thresholds(self) -> tuple[dict[int, dict[int, float]], str]:
        """The models' own per-tag thresholds and their digest, read again only when a model's
        calibration was written since (``MODEL_TAG_STAMP``): every search asks for the rules."""
        stamp = self.get(MODEL_TAG_STAMP, "")
        if self._model_tags is not None and self._model_tags[0] == stamp:
            return self._model_tags[1], self._model_tags[2]
        table: dict[int, dict[int, float]] = {}
        with self.database.engine.connect() as connection:
            rows = connection.execute(
                select(ModelTagThreshold.model_id, ModelTagThreshold.tag_id, ModelTagThreshold.threshold)
            )
            for model_id, tag_id, value in rows:
                table.setdefault(model_id, {})[tag_id] = value
        self._model_tags = (stamp, table, model_tag_digest(table))
        return table, self._model_tags[2]

    def model_tags_changed(self) -> None:
        """A model's own per-tag thresholds were written: every process reads them again."""
        self.set(MODEL_TAG_STAMP, uuid.uuid4().hex)

    def model_thresholds(self) -> dict[str, dict[str, float]]:
        """Per model name, its own per-category thresholds (the rest follow the library threshold)."""
        with self.database.Session() as session:
            rows = session.execute(
                select(Model.name, ModelThreshold.category, ModelThreshold.threshold).join(
                    Model, Model.id == ModelThreshold.model_id
                )
            ).all()
        found: dict[str, dict[str, float]] = {}
        for name, category, value in rows:
            found.setdefault(name, {})[category] = value
        return found

    def calibrated_models(self) -> dict[str, int]:
        """Per model name with thresholds of its own per tag (JTP-3's calibration), how many tags."""
        with self.database.Session() as session:
            rows = session.execute(
                select(Model.name, func.count())
                .join(ModelTagThreshold, ModelTagThreshold.model_id == Model.id)
                .group_by(Model.id, Model.name)
            ).all()
        return {name: int(count) for name, count in rows}

    def set_model_threshold(self, model_id: int, category: str, value: float | None) -> None:
        """A model's threshold for one category; None: follow the library threshold. The categories
        that follow it for this model (PixAI's copyrights follow its characters) take the same value."""
        followers = [c for c, leader in self.model_follows(model_id).items() if leader == category]
        with self.database.Session.begin() as session:
            for each in [category, *followers]:
                session.execute(
                    delete(ModelThreshold).where(ModelThreshold.model_id == model_id, ModelThreshold.category == each)
                )
                if value is not None:
                    session.add(ModelThreshold(model_id=model_id, category=each, threshold=check_threshold(value)))

    def model_follows(self, model_id: int) -> dict[str, str]:
        """Per category whose threshold follows another's for this model, that other category."""
        try:
            raw = json.loads(self.get(f"{FOLLOWS_KEY}{model_id}") or "{}")
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}

    def set_model_follows(self, model_id: int, follows: dict[str, str]) -> None:
        """Record which categories follow which for a model (its tagger's rule, at every start); when
        that changes, each follower takes its leader's threshold now (a library made before this
        rule, where the user moved the character threshold alone, is consistent again)."""
        if self.model_follows(model_id) == follows:
            return
        self.set(f"{FOLLOWS_KEY}{model_id}", json.dumps(dict(sorted(follows.items()))))
        with self.database.Session() as session:
            own = dict(
                session.execute(
                    select(ModelThreshold.category, ModelThreshold.threshold).where(ModelThreshold.model_id == model_id)
                ).all()
            )
        for follower, leader in follows.items():
            if own.get(follower) != own.get(leader):
                with self.database.Session.begin() as session:
                    session.execute(
                        delete(ModelThreshold).where(
                            ModelThreshold.model_id == model_id, ModelThreshold.category == follower
                        )
                    )
                    if leader in own:
                        session.add(ModelThreshold(model_id=model_id, category=follower, threshold=own[leader]))
