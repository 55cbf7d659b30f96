"""What the database stores as small codes: the user's pseudo-model, tag sources, image statuses.

Apart from ``library.schema`` (which re-exports them) so that the posting lists and the quick
search path (``library.quick_search``) read them without importing SQLAlchemy.
"""

from __future__ import annotations

from typing import ClassVar

# Scores of the user's rows (model_id USER): added by hand or imported, removed by hand.
PRESENT_SCORE = 1.0
REMOVED_SCORE = -1.0
USER = 0  # the model_id of manual and imported rows

# Kinds of ``search_changes`` rows (migration 0004): a score row (ref: its tag), an image row, a
# model's tagging (ref: the model), a tag's category (ref: the tag), an image's path.
KIND_SCORE, KIND_IMAGE, KIND_MODEL, KIND_CATEGORY, KIND_PATH = 0, 1, 2, 3, 4


class Source:
    """Where an image's tag comes from (stored as a small integer)."""

    AI = 0
    IMPORTED = 1
    MANUAL = 2
    NAMES: ClassVar[dict[int, str]] = {AI: "ai", IMPORTED: "imported", MANUAL: "manual"}
    BY_NAME: ClassVar[dict[str, int]] = {name: code for code, name in NAMES.items()}


class Status:
    PENDING = "pending"
    TAGGED = "tagged"
    ERROR = "error"
    MISSING = "missing"
    ALL = (PENDING, TAGGED, ERROR, MISSING)
