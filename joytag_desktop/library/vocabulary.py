"""The user's tag vocabulary, as Hydrus has it: aliases (siblings: ``kitty`` is another name of
``cat``) and implications (parents: every ``cat`` is also an ``animal``).

Why resolved here, once per query: a search term's tag ids are widened (``expand``) when the query
is compiled, so SQL and the posting lists both see plain id sets and agree; nothing is done per row.
Aliases are one step (a target is never itself an alias, so there are no alias chains to follow);
implications chain (``cat`` → ``animal`` → ``living_thing``) and are resolved over the aliases'
targets. Chains of aliases and cycles of implications are refused with the tags that form them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.orm import aliased

from joytag_desktop.library.database import IN_CHUNK, Database
from joytag_desktop.library.errors import LibraryError
from joytag_desktop.library.relations import Relations
from joytag_desktop.library.schema import Tag, TagParent, TagSibling
from joytag_desktop.library.tags import HIERARCHY_SEPARATOR, Tags, check_tag_name

Progress = Callable[[int, int], None]
MAX_HIERARCHY_PATHS = 8  # paths written per tag on export: a tag with many parents stays readable
MAX_HIERARCHY_DEPTH = 32  # levels of a written path (the implications nearest the tag)


class VocabularyError(LibraryError):
    """An alias or implication that would make a chain or a cycle, or names no tag."""


class Vocabulary:
    """Aliases and implications: stored, checked and resolved into tag id sets."""

    def __init__(self, database: Database, tags: Tags) -> None:
        self.database = database
        self.tags = tags
        self._lock = threading.Lock()
        self._cache: tuple[int, Relations, dict[int, set[int]]] | None = None

    # --- reading ------------------------------------------------------------------------------

    def relations(self) -> Relations:
        """The current aliases and implications (read again only after a commit, on SQLite)."""
        return self._snapshot()[0]

    def _snapshot(self) -> tuple[Relations, dict[int, set[int]]]:
        version = self.database.data_version()
        with self._lock:
            cached = self._cache
            if version is not None and cached is not None and cached[0] == version:
                return cached[1], cached[2]
        relations = self._read()
        children = relations.children()
        if version is not None:
            with self._lock:
                self._cache = (version, relations, children)
        return relations, children

    def _read(self) -> Relations:
        with self.database.engine.connect() as connection:
            aliases = dict(connection.execute(select(TagSibling.tag_id, TagSibling.target_id)).all())
            pairs = connection.execute(select(TagParent.child_id, TagParent.parent_id)).all()
        return Relations.read(aliases, pairs)

    def expand(self, tag_ids: Sequence[int]) -> list[int]:
        """The ids a search for ``tag_ids`` matches: their aliases' targets, every tag implying
        them (transitively) and all those tags' aliases. The ids given come first, unchanged."""
        relations, children = self._snapshot()
        return relations.expand(tag_ids, children)

    def shown_name(self, name: str) -> str:
        """The name a tag is shown and exported as: its alias target's, or its own."""
        relations = self.relations()
        if not relations.aliases:
            return name
        tag_id = self.tags.tag_id(name)
        if tag_id is None or tag_id not in relations.aliases:
            return name
        return self._names([relations.aliases[tag_id]]).get(relations.aliases[tag_id], name)

    def alias_targets(self, names: Iterable[str]) -> dict[str, str]:
        """Of ``names``, those that are aliases, with their targets' names (the details panel shows
        ``kitty → cat``: the stored name, which edits act on, and the tag it counts as)."""
        relations = self.relations()
        if not relations.aliases:
            return {}
        found = {name: relations.aliases[t] for name in names if (t := self.tags.tag_id(name)) in relations.aliases}
        known = self._names(found.values()) if found else {}
        return {name: known[target] for name, target in found.items() if target in known}

    def hierarchies(self, names: Iterable[str]) -> dict[str, list[str]]:
        """Per tag that implies others, its keyword paths up its implications (``animal|cat``;
        ``living_thing|animal|cat`` for a chain), as digiKam and Lightroom file keywords."""
        relations = self.relations()
        if not relations.parents:
            return {}
        wanted = {name: self.tags.tag_id(name) for name in names}
        paths_by_id: dict[int, list[list[int]]] = {}
        memo: dict[int, list[list[int]]] = {}
        for tag_id in {relations.canonical(t) for t in wanted.values() if t is not None}:
            if relations.parents.get(tag_id):
                paths_by_id[tag_id] = _paths_up(relations, tag_id, memo)
        if not paths_by_id:
            return {}
        known = self._names({t for paths in paths_by_id.values() for path in paths for t in path})
        found: dict[str, list[str]] = {}
        for name, tag_id in wanted.items():
            paths = paths_by_id.get(relations.canonical(tag_id)) if tag_id is not None else None
            if paths:
                found[name] = [
                    HIERARCHY_SEPARATOR.join(known[t] for t in reversed(path)) for path in paths[:MAX_HIERARCHY_PATHS]
                ]
        return found

    def aliases(self, contains: str = "") -> list[tuple[str, str]]:
        """(alias, target) names, by alias."""
        target = aliased(Tag)
        statement = select(Tag.name, target.name).join(TagSibling, TagSibling.tag_id == Tag.id)
        statement = statement.join(target, target.id == TagSibling.target_id).order_by(Tag.name)
        with self.database.engine.connect() as connection:
            rows = [(a, b) for a, b in connection.execute(statement)]
        needle = contains.lower()
        return [row for row in rows if needle in row[0].lower() or needle in row[1].lower()]

    def implications(self, contains: str = "") -> list[tuple[str, str]]:
        """(child, parent) names, by child."""
        parent = aliased(Tag)
        statement = select(Tag.name, parent.name).join(TagParent, TagParent.child_id == Tag.id)
        statement = statement.join(parent, parent.id == TagParent.parent_id).order_by(Tag.name, parent.name)
        with self.database.engine.connect() as connection:
            rows = [(a, b) for a, b in connection.execute(statement)]
        needle = contains.lower()
        return [row for row in rows if needle in row[0].lower() or needle in row[1].lower()]

    def _names(self, ids: Iterable[int]) -> dict[int, str]:
        wanted = list(set(ids))
        found: dict[int, str] = {}
        with self.database.engine.connect() as connection:
            for start in range(0, len(wanted), IN_CHUNK):
                chunk = wanted[start : start + IN_CHUNK]
                found.update(connection.execute(select(Tag.id, Tag.name).where(Tag.id.in_(chunk))).all())
        return found

    # --- changing -----------------------------------------------------------------------------

    def alias(self, name: str, target: str) -> bool:
        """Make ``name`` another name of ``target``; False when it already is. Refused (one line,
        naming the tags) when it would chain aliases or close a cycle of implications."""
        report = self.add_aliases([(name, target)])
        if report.refused:
            raise VocabularyError(report.refused[0])
        return report.added == 1

    def unalias(self, name: str) -> bool:
        tag_id = self.tags.tag_id(check_tag_name(name))
        if tag_id is None:
            return False
        with self.database.Session.begin() as session:
            return bool(session.execute(delete(TagSibling).where(TagSibling.tag_id == tag_id)).rowcount)  # pyright: ignore[reportAttributeAccessIssue]

    def imply(self, child: str, parent: str) -> bool:
        """Every image with ``child`` also matches ``parent``; False when it already did. Refused
        when it would close a cycle (the message names the tags in it)."""
        report = self.add_implications([(child, parent)])
        if report.refused:
            raise VocabularyError(report.refused[0])
        return report.added == 1

    def unimply(self, child: str, parent: str) -> bool:
        child_id, parent_id = self.tags.tag_id(check_tag_name(child)), self.tags.tag_id(check_tag_name(parent))
        if child_id is None or parent_id is None:
            return False
        with self.database.Session.begin() as session:
            result = session.execute(
                delete(TagParent).where(TagParent.child_id == child_id, TagParent.parent_id == parent_id)
            )
            return bool(result.rowcount)  # pyright: ignore[reportAttributeAccessIssue]

    def remove(self, aliases: Sequence[str] = (), implications: Sequence[tuple[str, str]] = ()) -> int:
        """Remove many aliases (by alias name) and implications (child, parent) in one transaction
        (the vocabulary window's Remove); returns how many rows went."""
        names = list(dict.fromkeys([*aliases, *(n for pair in implications for n in pair)]))
        ids = {name: self.tags.tag_id(name) for name in names}
        alias_ids = [i for i in (ids[a] for a in aliases) if i is not None]
        pairs = [(ids[c], ids[p]) for c, p in implications if ids[c] is not None and ids[p] is not None]
        removed = 0
        with self.database.Session.begin() as session:
            for start in range(0, len(alias_ids), IN_CHUNK):
                chunk = alias_ids[start : start + IN_CHUNK]
                result = session.execute(delete(TagSibling).where(TagSibling.tag_id.in_(chunk)))
                removed += int(result.rowcount)  # pyright: ignore[reportAttributeAccessIssue]
            for start in range(0, len(pairs), IN_CHUNK // 2):
                chunk = pairs[start : start + IN_CHUNK // 2]
                result = session.execute(
                    delete(TagParent).where(tuple_(TagParent.child_id, TagParent.parent_id).in_(chunk))
                )
                removed += int(result.rowcount)  # pyright: ignore[reportAttributeAccessIssue]
        with self._lock:
            self._cache = None
        return removed

    def carry(self, old: str, new: str) -> Carried:
        """After ``old`` was renamed or merged into ``new``: every alias and implication naming
        ``old`` names ``new`` instead (``kitty`` → ``cat`` with ``cat`` renamed ``feline`` becomes
        ``kitty`` → ``feline``). One that would now be a chain or a cycle is refused, one line each;
        one that names ``new`` twice (``kitty`` → ``cat`` with kitty merged into cat) goes."""
        old_id, new_id = self.tags.tag_id(check_tag_name(old)), self.tags.tag_id(check_tag_name(new))
        carried = Carried()
        if old_id is None or new_id is None or old_id == new_id:
            return carried
        named = _pairs_naming(self.aliases(), old), _pairs_naming(self.implications(), old)
        carried.old_aliases, carried.old_implications = named
        if not carried.old_aliases and not carried.old_implications:
            return carried
        self.remove([a for a, _ in carried.old_aliases], carried.old_implications)
        aliases_now = set(self.aliases())
        targets = dict(aliases_now)
        swap = _renamer(old, new)
        wanted = [swap(pair) for pair in carried.old_aliases]
        wanted = [(a, targets.get(b, b)) for a, b in wanted]  # an alias's new target is itself an alias: its target
        wanted = [pair for pair in dict.fromkeys(wanted) if pair[0] != pair[1] and pair not in aliases_now]
        carried.refused += self.add_aliases(wanted).refused
        implications_now = set(self.implications())
        wanted = [swap(pair) for pair in carried.old_implications]
        wanted = [pair for pair in dict.fromkeys(wanted) if pair[0] != pair[1] and pair not in implications_now]
        carried.refused += self.add_implications(wanted).refused
        carried.new_aliases = [pair for pair in self.aliases() if pair not in aliases_now]
        carried.new_implications = [pair for pair in self.implications() if pair not in implications_now]
        return carried

    def uncarry(self, carried: Carried) -> None:
        """Undo ``carry``: the pairs it added go, the ones it took away come back."""
        self.remove([a for a, _ in carried.new_aliases], carried.new_implications)
        self.add_aliases(carried.old_aliases)
        self.add_implications(carried.old_implications)

    def add_aliases(
        self, pairs: Iterable[tuple[str, str]], progress: Progress | None = None, cancel: threading.Event | None = None
    ) -> BulkReport:
        """Add many aliases at once (a booru export): each checked against those before it; the
        refused ones are counted with their reason, the others written in one transaction."""
        cleaned = _clean_pairs(pairs)
        report = BulkReport(total=len(cleaned.pairs), refused=cleaned.refused)
        names = list(dict.fromkeys(n for pair in cleaned.pairs for n in pair))
        ids = dict(zip(names, self.tags.ensure_tags(names), strict=True)) if names else {}
        relations = self._read()
        targets = set(relations.aliases.values())
        rows: list[dict[str, int]] = []
        for index, (name, target) in enumerate(cleaned.pairs, start=1):
            if cancel is not None and cancel.is_set():
                break
            a, b = ids[name], ids[target]
            why = _alias_refusal(relations, targets, a, b, name, target)
            if why == "":
                report.unchanged += 1
            elif why is not None:
                report.refused.append(why)
            else:
                relations.aliases[a] = b
                targets.add(b)
                rows.append({"tag_id": a, "target_id": b})
                report.pairs.append((name, target))
            if progress is not None and index % 1000 == 0:
                progress(index, len(cleaned.pairs))
        self._write(TagSibling, rows)
        report.added = len(rows)
        return report

    def add_implications(
        self, pairs: Iterable[tuple[str, str]], progress: Progress | None = None, cancel: threading.Event | None = None
    ) -> BulkReport:
        """Add many implications at once; one that would close a cycle is refused with the cycle."""
        cleaned = _clean_pairs(pairs)
        report = BulkReport(total=len(cleaned.pairs), refused=cleaned.refused)
        names = list(dict.fromkeys(n for pair in cleaned.pairs for n in pair))
        ids = dict(zip(names, self.tags.ensure_tags(names), strict=True)) if names else {}
        relations = self._read()
        with self.database.engine.connect() as connection:
            stored = {(c, p) for c, p in connection.execute(select(TagParent.child_id, TagParent.parent_id))}
        rows: list[dict[str, int]] = []
        by_id = {tag_id: name for name, tag_id in ids.items()}
        for index, (child, parent) in enumerate(cleaned.pairs, start=1):
            if cancel is not None and cancel.is_set():
                break
            c, p = ids[child], ids[parent]
            if (c, p) in stored:
                report.unchanged += 1
                continue
            cc, cp = relations.canonical(c), relations.canonical(p)
            if cc == cp:
                report.refused.append(f"{child} cannot imply {parent}: they are one tag (an alias)")
                continue
            cycle = relations.path_to(cp, cc)
            if cycle is not None:
                shown = self._cycle_names(cycle, by_id)
                report.refused.append(f"{child} → {parent} would close a cycle: {' → '.join([child, *shown])}")
                continue
            relations.parents.setdefault(cc, set()).add(cp)
            stored.add((c, p))
            rows.append({"child_id": c, "parent_id": p})
            report.pairs.append((child, parent))
            if progress is not None and index % 1000 == 0:
                progress(index, len(cleaned.pairs))
        self._write(TagParent, rows)
        report.added = len(rows)
        return report

    def _cycle_names(self, cycle: list[int], known: dict[int, str]) -> list[str]:
        missing = [t for t in cycle if t not in known]
        names = {**known, **(self._names(missing) if missing else {})}
        return [names.get(t, str(t)) for t in cycle]

    def _write(self, table: type[TagSibling] | type[TagParent], rows: list[dict[str, int]]) -> None:
        if not rows:
            return
        with self.database.Session.begin() as session:
            for start in range(0, len(rows), IN_CHUNK):
                session.execute(insert(table), rows[start : start + IN_CHUNK])
        with self._lock:
            self._cache = None


@dataclass
class Carried:
    """What ``carry`` changed, by name, so that an undo can put it back."""

    old_aliases: list[tuple[str, str]] = field(default_factory=list)
    old_implications: list[tuple[str, str]] = field(default_factory=list)
    new_aliases: list[tuple[str, str]] = field(default_factory=list)
    new_implications: list[tuple[str, str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def _pairs_naming(pairs: list[tuple[str, str]], name: str) -> list[tuple[str, str]]:
    return [pair for pair in pairs if name in pair]


def _renamer(old: str, new: str) -> Callable[[tuple[str, str]], tuple[str, str]]:
    def swap(pair: tuple[str, str]) -> tuple[str, str]:
        return (new if pair[0] == old else pair[0], new if pair[1] == old else pair[1])

    return swap


@dataclass
class BulkReport:
    """What a bulk import did: pairs read, added, already there, and refused (one line each)."""

    total: int = 0
    added: int = 0
    unchanged: int = 0
    refused: list[str] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)  # the ones added, by name (an undo removes them)


@dataclass
class _Cleaned:
    pairs: list[tuple[str, str]]
    refused: list[str]


def _clean_pairs(pairs: Iterable[tuple[str, str]]) -> _Cleaned:
    cleaned = _Cleaned([], [])
    for left, right in pairs:
        try:
            a, b = check_tag_name(left), check_tag_name(right)
        except LibraryError as exc:
            cleaned.refused.append(f"{left!r} → {right!r}: {exc}")
            continue
        if a == b:
            cleaned.refused.append(f"{a} → {b}: a tag cannot be an alias or a parent of itself")
            continue
        cleaned.pairs.append((a, b))
    return cleaned


def _alias_refusal(relations: Relations, targets: set[int], a: int, b: int, name: str, target: str) -> str | None:
    """Why ``name`` → ``target`` is refused (None: accepted; "": it is there already)."""
    current = relations.aliases.get(a)
    if current == b:
        return ""
    if current is not None:
        return f"{name} is already an alias of another tag: unalias {name} first"
    if b in relations.aliases:
        return f"alias chain {name} → {target} → …: {target} is itself an alias; alias {name} to its target instead"
    if a in targets:
        return f"alias chain … → {name} → {target}: other tags are aliases of {name}; alias them to {target} instead"
    if b in relations.ancestors(a) or a in relations.ancestors(b):
        return f"{name} and {target} imply one another: remove the implication before making them one tag"
    return None


def _paths_up(
    relations: Relations, tag_id: int, memo: dict[int, list[list[int]]] | None = None, depth: int = 0
) -> list[list[int]]:
    """Every chain of implications from ``tag_id`` to a tag that implies nothing (cycles are
    refused on entry, so this ends), at most ``MAX_HIERARCHY_DEPTH`` levels up: a hand-made chain
    of thousands must not exhaust the stack. Each tag's paths are worked out once (``memo``), so
    a lattice of tags implying several parents at every level is not walked path by path."""
    memo = {} if memo is None else memo
    found = memo.get(tag_id)
    if found is not None:
        return found
    parents = relations.parents.get(tag_id)
    if not parents or depth >= MAX_HIERARCHY_DEPTH:
        paths = [[tag_id]]
    else:
        paths = [
            [tag_id, *path] for parent in sorted(parents) for path in _paths_up(relations, parent, memo, depth + 1)
        ][:MAX_HIERARCHY_PATHS]  # many parents at many levels: the first few paths, not all
    memo[tag_id] = paths
    return paths
