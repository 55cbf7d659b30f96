"""Aliases and implications as a snapshot of tag ids (``library.vocabulary`` stores and checks
them), and how a search term's tag ids widen by them.

Apart from the vocabulary's store so that the quick search path (``library.quick_search``) widens
a term exactly as the library does, without importing SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass
class Relations:
    """A snapshot of the aliases and implications, by tag id."""

    aliases: dict[int, int] = field(default_factory=dict)  # alias -> target
    parents: dict[int, set[int]] = field(default_factory=dict)  # canonical child -> canonical parents
    names_of_aliases: dict[int, list[int]] = field(default_factory=dict)  # target -> its aliases

    @property
    def empty(self) -> bool:
        return not self.aliases and not self.parents

    def canonical(self, tag_id: int) -> int:
        return self.aliases.get(tag_id, tag_id)

    def children(self) -> dict[int, set[int]]:
        found: dict[int, set[int]] = {}
        for child, parents in self.parents.items():
            for parent in parents:
                found.setdefault(parent, set()).add(child)
        return found

    def ancestors(self, tag_id: int) -> set[int]:
        """Every tag ``tag_id`` implies, transitively (canonical ids)."""
        seen: set[int] = set()
        todo = [self.canonical(tag_id)]
        while todo:
            for parent in self.parents.get(todo.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    def path_to(self, start: int, goal: int) -> list[int] | None:
        """A chain of implications from ``start`` up to ``goal`` (both canonical), or None."""
        previous: dict[int, int] = {}
        todo = [start]
        seen = {start}
        while todo:
            current = todo.pop()
            if current == goal:
                path = [goal]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return path[::-1]
            for parent in self.parents.get(current, ()):
                if parent not in seen:
                    seen.add(parent)
                    previous[parent] = current
                    todo.append(parent)
        return None

    @classmethod
    def read(cls, aliases: dict[int, int], pairs: Iterable[tuple[int, int]]) -> Relations:
        """The relations of the stored rows: ``aliases`` (alias -> target), ``pairs`` (child, parent)."""
        relations = cls(aliases)
        for alias, target in aliases.items():
            relations.names_of_aliases.setdefault(target, []).append(alias)
        for child, parent in pairs:
            relations.parents.setdefault(relations.canonical(child), set()).add(relations.canonical(parent))
        return relations

    def expand(self, tag_ids: Sequence[int], children: dict[int, set[int]] | None = None) -> list[int]:
        """The ids a search for ``tag_ids`` matches: their aliases' targets, every tag implying
        them (transitively) and all those tags' aliases. The ids given come first, unchanged.
        ``children``: ``self.children()``, where the caller keeps it."""
        if self.empty or not tag_ids:
            return list(tag_ids)
        children = self.children() if children is None else children
        found = dict.fromkeys(tag_ids)
        todo = list(dict.fromkeys(self.canonical(t) for t in tag_ids))
        seen = set(todo)
        while todo:
            current = todo.pop()
            found[current] = None
            for alias in self.names_of_aliases.get(current, ()):
                found[alias] = None
            for child in children.get(current, ()):
                if child not in seen:
                    seen.add(child)
                    todo.append(child)
        return list(found)
