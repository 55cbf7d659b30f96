"""A tagger's vocabulary (names and categories) and its published rule for turning scores into tags.

Torch-free: the CLI, the library and the GUI read these without loading a network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from joytag_desktop.categories import GENERAL, MODEL_CATEGORIES, RATING


@dataclass(frozen=True)
class Vocabulary:
    """Output i of the network is ``names[i]``, of category ``categories[i]``.

    ``derived``: tags the network does not output but its published rules give (PixAI: the
    copyrights a character brings), named after the outputs; each scores the highest of the
    outputs it lists, so the model's own thresholds keep it exactly when they keep one of those.
    """

    names: tuple[str, ...]
    categories: tuple[str, ...]
    derived: tuple[tuple[int, ...], ...] = ()

    def __post_init__(self) -> None:
        if len(self.names) != len(self.categories):
            raise ValueError("one category per tag")
        if any(not sources or max(sources) >= self.outputs or min(sources) < 0 for sources in self.derived):
            raise ValueError("a derived tag scores from one or more of the network's outputs")

    def __len__(self) -> int:
        return len(self.names)

    @property
    def outputs(self) -> int:
        """How many of the names are the network's own outputs (the first ones)."""
        return len(self.names) - len(self.derived)

    def with_derived(self, scores: np.ndarray) -> np.ndarray:
        """The network's (…, outputs) scores followed by the derived tags' scores."""
        if not self.derived:
            return scores
        derived = [scores[..., list(sources)].max(axis=-1) for sources in self.derived]
        return np.concatenate([scores, np.stack(derived, axis=-1).astype(scores.dtype)], axis=-1)

    @classmethod
    def general_only(cls, names: Sequence[str]) -> Vocabulary:
        return cls(tuple(names), (GENERAL,) * len(names))

    def present_categories(self) -> list[str]:
        seen = set(self.categories)
        return [c for c in MODEL_CATEGORIES if c in seen] + sorted(seen - set(MODEL_CATEGORIES))


def mcut_threshold(scores: np.ndarray) -> float:
    """Maximum-cut thresholding: the midpoint of the largest drop between consecutive sorted scores
    (the first such drop when several are equal), as the WD tagger's reference does."""
    if scores.size < 2:
        return 0.0
    ordered = np.sort(scores.astype(np.float64))[::-1]
    gaps = ordered[:-1] - ordered[1:]
    at = int(np.argmax(gaps))
    return float((ordered[at] + ordered[at + 1]) / 2)


@dataclass(frozen=True)
class Policy:
    """A model's own default rule: per-category thresholds, the comparison, ratings, MCut, profiles.

    ``profiles`` maps a profile name (camie's ``overall/balanced``, ``category/high_recall``…) to
    per-category thresholds; ``default_profile`` is used when none is asked for.
    """

    default: float
    thresholds: dict[str, float] = field(default_factory=dict)
    strict: bool = False  # ">" (WD, JTP) rather than ">=" (JoyTag, camie)
    top_rating_only: bool = False  # WD: the rating scores are reported, the best one shown
    mcut_categories: tuple[str, ...] = ()  # where --mcut applies (WD: general and character)
    mcut_floor: dict[str, float] = field(default_factory=dict)
    profiles: dict[str, dict[str, float]] = field(default_factory=dict)
    default_profile: str | None = None
    # JTP-3: a calibration file's threshold per output (infinity: never output), replacing the above
    tag_thresholds: tuple[float, ...] = ()
    # JTP-3: per output, the outputs it implies; the model's rule first raises each implied tag to
    # the score of the tags implying it (the published "inherit")
    implications: tuple[tuple[int, ...], ...] = ()
    # PixAI: a category whose threshold is another's ({copyright: character}: a copyright comes with
    # its characters, so a library keeps the two thresholds equal when the user moves the leader)
    follows: dict[str, str] = field(default_factory=dict)

    @cached_property
    def _implied_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        return implied_pairs(self.implications)

    def inherited(self, scores: np.ndarray) -> np.ndarray:
        """The scores after the model's implications (JTP-3: an implied tag scores at least what
        its implying tags do): what the tag command's default rule shows and what a library stores
        as the model's answer; the scores themselves for a model without implications."""
        if not self.implications:
            return scores
        return inherit(scores, self.implications, self._implied_pairs)

    def thresholds_for(self, profile: str | None = None) -> tuple[float, dict[str, float]]:
        """(default, per-category) thresholds of ``profile`` (or the model's default rule)."""
        name = profile or self.default_profile
        if name is None:
            return self.default, dict(self.thresholds)
        if name not in self.profiles:
            raise KeyError(name)
        table = self.profiles[name]
        return table.get("*", self.default), {k: v for k, v in table.items() if k != "*"}


@dataclass(frozen=True)
class Selection:
    """How the caller wants tags chosen: one threshold for all, or the model's rule (with options)."""

    threshold: float | None = None  # given: every output at or above it, whatever its category, no derived tags
    mcut: bool = False
    profile: str | None = None


def select(scores: np.ndarray, vocabulary: Vocabulary, policy: Policy, selection: Selection) -> np.ndarray:
    """Indices of the kept tags, highest score first (ties by index)."""
    scores = np.asarray(scores, dtype=np.float32)
    if selection.threshold is not None:
        keep = scores >= np.float32(selection.threshold)
        keep[vocabulary.outputs :] = False  # the model's own probabilities, before its rules
    elif policy.tag_thresholds or policy.implications:
        scores = rule_scores(scores, policy, selection)
        limits = np.asarray(policy.tag_thresholds, np.float64) if policy.tag_thresholds else policy.default
        keep = scores > limits if policy.strict else scores >= limits
    else:
        default, per_category = policy.thresholds_for(selection.profile)
        categories = np.asarray(vocabulary.categories)
        limits = np.full(scores.shape, default, dtype=np.float64)
        for category, value in per_category.items():
            limits[categories == category] = value
        if selection.mcut:
            for category in policy.mcut_categories:
                mask = categories == category
                if mask.any():
                    cut = mcut_threshold(scores[mask])
                    limits[mask] = max(cut, policy.mcut_floor.get(category, 0.0))
        keep = scores > limits if policy.strict else scores >= limits
        if policy.top_rating_only:
            ratings = np.flatnonzero(categories == RATING)
            keep[ratings] = False
            if ratings.size:
                keep[ratings[np.argmax(scores[ratings])]] = True
    indices = np.flatnonzero(keep)
    return indices[np.argsort(-scores[indices], kind="stable")]


def rule_scores(scores: np.ndarray, policy: Policy, selection: Selection) -> np.ndarray:
    """The scores the model's rule compares and shows: JTP-3's after its implications; a given
    threshold compares (and shows) every tag's own score."""
    if selection.threshold is None and policy.implications:
        return policy.inherited(scores)
    return scores


def implied_pairs(implications: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(sources, targets): each tag beside every tag it implies, directly or through others (a
    cycle in the table is followed once); worked out once per model, not per image."""
    sources: list[int] = []
    targets: list[int] = []
    for source, implied in enumerate(implications):
        if not implied:
            continue
        seen: set[int] = set()
        stack = list(implied)
        while stack:
            target = stack.pop()
            if target in seen:
                continue
            seen.add(target)
            stack.extend(implications[target])
        sources += [source] * len(seen)
        targets += sorted(seen)
    return np.asarray(sources, np.int64), np.asarray(targets, np.int64)


def inherit(
    scores: np.ndarray,
    implications: Sequence[Sequence[int]],
    pairs: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Each tag raised to the highest score of the tags that imply it, directly or through others
    (JTP-3's "inherit"), for one image's scores (…, tags) or a batch's."""
    sources, targets = pairs if pairs is not None else implied_pairs(implications)
    scores = np.asarray(scores, dtype=np.float32)
    raised = np.array(scores, copy=True)
    if len(sources):
        np.maximum.at(raised.T, targets, scores.T[sources])  # .T: a view, so a batch is raised in place
    return raised
