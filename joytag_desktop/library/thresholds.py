"""Thresholds: what score counts as a tag. Applied at query and display time, never at storage."""

from __future__ import annotations

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
