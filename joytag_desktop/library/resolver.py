"""What a query needs from the library to be evaluated (tag ids by name, categories, the models
whose scores count, the threshold rules): ``TagResolver``, for the SQL compiler
(``library.search``) and the posting lists (``library.fast_search``) alike.

Apart from the SQL compiler so that the quick search path (``library.quick_search``) builds one
without importing SQLAlchemy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from joytag_desktop.library.query import field_terms
from joytag_desktop.library.terms import Node
from joytag_desktop.library.thresholds import ThresholdRules

if TYPE_CHECKING:
    from sqlalchemy import SQLColumnExpression


@dataclass
class TagResolver:
    """What the compiler needs from the library: tag ids by name or pattern, categories, the
    models whose scores count, and the threshold rules."""

    lookup: Callable[[str, bool, str | None], list[int]]  # (name, exact, category) -> ids
    category_of: Callable[[int], str]
    rules: ThresholdRules
    models: list[int]  # the searched models (or those a model: term names)
    model_ids: dict[str, int] = field(default_factory=dict)  # every model of the library, by name
    warnings: list[str] = field(default_factory=list)
    correlate_to: SQLColumnExpression | None = None  # image id column to probe per row (the key's first part)
    # like: terms resolved before compiling: per path, the nearest images, most alike first.
    similar: dict[str, list[int]] = field(default_factory=dict)

    @property
    def similarity_order(self) -> list[int]:
        """The first like: term's images, most alike first (what sort "similarity" follows)."""
        return next(iter(self.similar.values()), [])

    def groups(self, ids: list[int]) -> dict[tuple[int, float], list[int]]:
        """The tag ids per (model, threshold in force), for one condition per group."""
        grouped: dict[tuple[int, float], list[int]] = defaultdict(list)
        for tag_id in ids:
            category = self.category_of(tag_id)
            for model_id in self.models:
                grouped[model_id, self.rules.threshold(model_id, tag_id, category)].append(tag_id)
        return grouped


def glob_to_like(pattern: str) -> str:
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def judging_models(node: Node | None, models: list[tuple[int, str, bool]]) -> tuple[dict[str, int], list[int]]:
    """Every model by name, and the models whose scores judge the query's tag terms: those its
    ``model:`` terms name, else the searched ones. ``models``: (id, name, searched), by id."""
    by_name = {name: model_id for model_id, name, _ in models}
    named = [by_name[t.text] for t in field_terms(node, "model") if t.text in by_name] if node else []
    return by_name, list(dict.fromkeys(named)) or [model_id for model_id, _, searched in models if searched]
