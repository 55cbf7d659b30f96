"""Which tags a search term names: a glob, a name, its case-folded form, the hierarchical keywords
it is a level of, a category. The rules are written once here; the reads come from the caller
(``Tags``, through SQLAlchemy, or the quick search path's ``sqlite3`` connection) so that both find
exactly the same ids.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from joytag_desktop.library.resolver import glob_to_like

HIERARCHY_SEPARATOR = "|"  # imported hierarchical keywords are stored as Places|Europe|Paris


class TagReads(Protocol):
    """The reads a look-up makes, one statement each."""

    def every_id(self) -> list[int]: ...
    def like(self, pattern: str) -> list[int]:
        """Ids whose name matches a LIKE pattern (``\\`` escapes)."""
        ...

    def named(self, name: str) -> int | None: ...
    def lowered(self, name: str) -> list[int]:
        """Ids whose ``lower(name)`` (the database's) equals ``name``."""
        ...

    def hierarchical(self) -> list[tuple[int, str]]:
        """(id, case-folded name) of the tags whose name holds HIERARCHY_SEPARATOR."""
        ...


def find_tags(
    reads: TagReads,
    name: str,
    exact: bool,
    category: str | None = None,
    category_of: Callable[[int], str] | None = None,
) -> list[int]:
    """The ids a search term ``name`` finds (``category``: only those of that category)."""
    if category is not None:
        assert category_of is not None
        return [t for t in find_tags(reads, name, exact) if category_of(t) == category]
    if not exact and ("*" in name or "?" in name):
        if name == "*":
            return reads.every_id()
        return reads.like(glob_to_like(name))
    found = reads.named(name)
    if found is None and exact:
        found = reads.named(name.replace(" ", "_"))
    ids = [found] if found is not None else []
    if found is None and not exact:
        ids = reads.lowered(name.lower())
    return ids + hierarchy_tags(name, ids, reads.hierarchical)


def hierarchy_tags(name: str, found: list[int], names: Callable[[], list[tuple[int, str]]]) -> list[int]:
    """Hierarchical keywords (``Places|Europe|Paris``) that ``name`` is a level of: a parent finds
    its children, as in digiKam and Lightroom, and the leaf alone still matches."""
    if not name or HIERARCHY_SEPARATOR in (name[0], name[-1]):
        return []
    level = name.casefold()
    sep = HIERARCHY_SEPARATOR
    return [
        tag_id
        for tag_id, folded in names()
        if tag_id not in found
        and (folded.startswith(level + sep) or folded.endswith(sep + level) or f"{sep}{level}{sep}" in folded)
    ]
