"""Thresholds: what score counts as a tag. Applied at query and display time, never at storage."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

DEFAULT_THRESHOLD = 0.4
DEFAULT_STORAGE_FLOOR = 0.05
PRESETS: dict[str, float] = {
    "high-precision": 0.6,
    "balanced": DEFAULT_THRESHOLD,
    "high-recall": 0.25,
}


def check_threshold(value: float, what: str = "threshold") -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{what} must be between 0 and 1, got {value}")
    return value


SCORE_DECIMALS = 4


def round_score(score: float) -> float:
    """A score for machine-readable output: four decimals hold all a stored (float16/bf16) score
    says, without noise like 0.8500000238418579."""
    return round(float(score), SCORE_DECIMALS)


@dataclass
class ThresholdRules:
    """Which score makes a tag present, per model and tag (the documented rule, in one place).

    A tag counts for one model when that model's score is at or above, first match wins: the
    tag's own threshold (``threshold --tag``); a one-off threshold given to a search or export
    (``--threshold``); the model's threshold for the tag's category (published defaults such as
    WD's 0.85 for characters, changed with ``threshold --model M --category C``); the model's own
    threshold for the tag (``per_model_tag``: JTP-3's published calibration, above 1 for a tag it
    never outputs; a calibrated model has no category thresholds until the user sets one); the
    library threshold (the slider and presets). A tag is present on an image when the user added
    it, or when no manual removal says otherwise and any searched model's score counts.
    """

    base: float
    override: float | None = None
    per_tag: dict[int, float] = field(default_factory=dict)
    per_model: dict[int, dict[str, float]] = field(default_factory=dict)
    per_model_tag: dict[int, dict[int, float]] = field(default_factory=dict)
    # a digest of ``per_model_tag`` (thousands of thresholds: compared and cached by it, not by value)
    tag_digest: str | None = field(default=None, compare=False, repr=False)

    def threshold(self, model_id: int, tag_id: int, category: str) -> float:
        if tag_id in self.per_tag:
            return self.per_tag[tag_id]
        if self.override is not None:
            return self.override
        own = self.per_model.get(model_id, {})
        if category in own:
            return own[category]
        return self.per_model_tag.get(model_id, {}).get(tag_id, self.base)

    def overridden(self, tag_id: int) -> bool:
        return tag_id in self.per_tag

    def key(self) -> dict:
        """The library's rules as plain data, to compare and to save (not the one-off override)."""
        return {
            "base": self.base,
            "per_tag": sorted(self.per_tag.items()),
            "per_model": sorted((m, sorted(t.items())) for m, t in self.per_model.items()),
            "per_model_tag": self.model_tag_digest(),
        }

    def model_tag_digest(self) -> str:
        """A digest of the models' own per-tag thresholds, worked out once."""
        if self.tag_digest is None:
            self.tag_digest = model_tag_digest(self.per_model_tag)
        return self.tag_digest

    def saved(self) -> dict:
        """``key()`` with the models' per-tag thresholds themselves (a saved search index's rules)."""
        table = sorted((m, sorted(t.items())) for m, t in self.per_model_tag.items())
        return self.key() | {"per_model_tag_table": table}

    @classmethod
    def from_key(cls, key: dict) -> ThresholdRules:
        return cls(
            float(key["base"]),
            per_tag={int(t): float(v) for t, v in key["per_tag"]},
            per_model={int(m): {str(c): float(v) for c, v in table} for m, table in key["per_model"]},
            per_model_tag={
                int(m): {int(t): float(v) for t, v in table} for m, table in key.get("per_model_tag_table", [])
            },
        )


def model_tag_digest(per_model_tag: dict[int, dict[int, float]]) -> str:
    """A short digest of per-(model, tag) thresholds, equal for equal tables."""
    digest = hashlib.blake2b(digest_size=16)
    for model_id in sorted(per_model_tag):
        digest.update(repr((model_id, sorted(per_model_tag[model_id].items()))).encode())
    return digest.hexdigest()
