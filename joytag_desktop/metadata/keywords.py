"""Keyword ownership: what the app may remove from a file, and what it imports from one.

A file (an XMP sidecar, or the metadata inside an image) holds keywords in several
properties: ``dc:subject`` (flat leaves), ``lr:hierarchicalSubject`` (``Places|Europe|Paris``),
``digiKam:TagsList`` (``Places/Europe/Paris``) and, inside JPEG/TIFF, IPTC Keywords. Programs
read different ones first (digiKam and Immich: TagsList; Lightroom: hierarchicalSubject and
dc:subject), so after a write every property carries the same keyword set.

The rule: the app removes from a file only entries it wrote there itself, and only while they
are still exactly as it wrote them. Every sync (read or write) leaves a record per file:

- ``owned``: per property, the entries the app added (its own keywords, and copies of other
  programs' keywords into properties that lacked them);
- ``snapshot``: per property, what the file held after the last sync;
- ``imported``: the library names of the other programs' keywords found there.

Comparing a file with its snapshot tells what another program changed: a keyword gone from
``dc:subject``, or from another property that still has entries, was deleted there (a user's
decision: it becomes a manual removal); a keyword that appeared was added there (it overrides an
earlier manual removal). A property that vanished as a whole (a program that does not know it
rewrote the file) is not taken as deleting anything.

Library names: a hierarchical keyword is stored as its path joined with ``|``
(``Places|Europe|Paris``); the app's own keywords live under one parent (``JoyTag|cat``) and
are stored as the plain tag (``cat``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PROPERTIES = ("subject", "hierarchical", "tags_list", "iptc")
FLAT = ("subject", "iptc")
# Separator of each hierarchical property, and the look-alike written for it inside a name
# (``fate/grand_order`` goes to TagsList as ``JoyTag/fate∕grand_order``: one keyword, not two levels).
SEPARATORS = {"hierarchical": ("|", "\u00a6"), "tags_list": ("/", "\u2215")}
HIERARCHY = "|"  # separator of library names
# The model categories own keywords can be filed under (JoyTag|character|name).
FILED_CATEGORIES = ("general", "character", "copyright", "artist", "meta", "rating", "year")
DEFAULT_PARENT = "JoyTag"
# Keywords other programs keep for their own bookkeeping (not descriptions of the picture).
BOOKKEEPING_ROOTS = ("darktable",)

KeywordPath = tuple[str, ...]
Properties = dict[str, list[str]]


def clean(value: str) -> str:
    """A keyword without control characters or surrounding space (they make XML unreadable)."""
    return "".join(ch if ch.isprintable() or ch == " " else " " for ch in value).strip()


def empty_properties() -> Properties:
    return {name: [] for name in PROPERTIES}


def normalise(properties: dict[str, Iterable[str]]) -> Properties:
    out = empty_properties()
    for name in PROPERTIES:
        out[name] = list(dict.fromkeys(v for v in (clean(x) for x in properties.get(name, ())) if v))
    return out


def entry_path(prop: str, entry: str) -> KeywordPath:
    if prop in SEPARATORS:
        separator, look_alike = SEPARATORS[prop]
        parts = (part.strip().replace(look_alike, separator) for part in entry.split(separator))
        return tuple(part for part in parts if part)
    return (entry.strip(),)


def path_entry(prop: str, path: KeywordPath) -> str:
    if prop in SEPARATORS:
        separator, look_alike = SEPARATORS[prop]
        return separator.join(part.replace(separator, look_alike) for part in path)
    return path[-1]


def name_of(path: KeywordPath, parent: str = DEFAULT_PARENT) -> str:
    """The library name of a keyword: ``cat`` for ``JoyTag|cat`` and for ``JoyTag|general|cat``
    (keywords filed by category), the joined path otherwise."""
    if len(path) == 2 and path[0] == parent:
        return path[1]
    if len(path) == 3 and path[0] == parent and path[1] in FILED_CATEGORIES:
        return path[2]
    return HIERARCHY.join(path)


def path_of_name(name: str, own: bool, parent: str = DEFAULT_PARENT, category: str | None = None) -> KeywordPath:
    """Where a library tag goes: the app's own tags (the model's, hand-added flat ones) under
    ``parent`` (and under their category there when ``category`` is given, as
    ``JoyTag|character|hatsune_miku``); imported and hand-made hierarchical names along their own path."""
    if own:
        return (parent, category, name) if category in FILED_CATEGORIES else (parent, name)
    return tuple(part for part in name.split(HIERARCHY) if part) or (name,)


def is_bookkeeping(name: str) -> bool:
    return any(name == root or name.startswith(root + HIERARCHY) for root in BOOKKEEPING_ROOTS)


def keywords_of(properties: Properties) -> list[KeywordPath]:
    """The distinct keywords a file holds, hierarchies kept.

    Flat entries that are a level of some hierarchy (Lightroom and digiKam list every level in
    dc:subject) and paths that are only the parents of longer ones are not keywords of their own.
    """
    paths: dict[KeywordPath, None] = {}
    for prop in ("tags_list", "hierarchical"):
        for entry in properties.get(prop, ()):
            path = entry_path(prop, entry)
            if path:
                paths[path] = None
    levels = {part for path in paths if len(path) > 1 for part in path}
    xmp_has_keywords = any(properties.get(prop) for prop in ("subject", "hierarchical", "tags_list"))
    for prop in FLAT:
        if prop == "iptc" and xmp_has_keywords:
            continue  # XMP wins over IPTC (MWG, digiKam); IPTC alone still counts (old cameras, Photoshop)
        for entry in properties.get(prop, ()):
            if entry and entry not in levels:
                paths.setdefault((entry,), None)
    prefixes = {path[:depth] for path in paths for depth in range(1, len(path))}
    return [path for path in paths if path not in prefixes]


def _without(properties: Properties, entries: Properties) -> Properties:
    return {prop: [v for v in properties.get(prop, []) if v not in set(entries.get(prop, ()))] for prop in PROPERTIES}


@dataclass
class SyncRecord:
    """What the app knows about one file after its last sync (stored as JSON in the library)."""

    owned: Properties = field(default_factory=empty_properties)
    snapshot: Properties | None = None
    imported: list[str] = field(default_factory=list)
    pending: Properties | None = None  # a write in progress: the snapshot it will leave
    parent: str = DEFAULT_PARENT

    def to_json(self) -> dict:
        return {
            "v": 2,
            "parent": self.parent,
            "owned": self.owned,
            "snapshot": self.snapshot,
            "imported": self.imported,
            "pending": self.pending,
        }

    @classmethod
    def from_json(cls, data: object, parent: str = DEFAULT_PARENT) -> SyncRecord:
        if isinstance(data, dict) and data.get("v") == 2:
            return cls(
                normalise(data.get("owned") or {}),
                normalise(data["snapshot"]) if data.get("snapshot") is not None else None,
                list(data.get("imported") or []),
                normalise(data["pending"]) if data.get("pending") is not None else None,
                str(data.get("parent") or parent),
            )
        if isinstance(data, list):
            # Written by version 0.1, which recorded names only (and wrongly included imported and
            # manual ones). Claim just the entries filed under our parent; read nothing as deleted.
            names = [str(n) for n in data]
            owned = empty_properties()
            owned["hierarchical"] = [path_entry("hierarchical", (parent, n)) for n in names]
            owned["tags_list"] = [path_entry("tags_list", (parent, n)) for n in names]
            return cls(owned, None, [], None, parent)
        return cls(parent=parent)


@dataclass
class ReadResult:
    """What a file says, compared with the last sync."""

    imported: list[str]  # library names of other programs' keywords in the file
    deleted: list[str]  # keywords another program removed since the last sync
    added: list[str]  # keywords another program added since the last sync
    record: SyncRecord


def _present_owned(current: Properties, owned: Properties) -> Properties:
    """Owned entries that are still exactly as written."""
    return {prop: [v for v in owned.get(prop, []) if v in set(current.get(prop, ()))] for prop in PROPERTIES}


def read_file(current: Properties, record: SyncRecord | None) -> ReadResult:
    """Compare a file's keywords with the last sync; the returned record is the new last sync."""
    current = normalise(current)
    record = record or SyncRecord()
    parent = record.parent
    snapshot = record.snapshot
    if record.pending is not None and current == record.pending:
        snapshot = record.pending  # our last write completed before the record of it was saved
    owned = _present_owned(current, record.owned)
    foreign = _without(current, owned)
    imported = [name_of(path, parent) for path in keywords_of(foreign)]
    deleted: list[str] = []
    added: list[str] = []
    if snapshot is not None:
        before = {name_of(p, parent): p for p in keywords_of(snapshot)}
        now = {name_of(p, parent) for p in keywords_of(current)}
        gone_paths: set[KeywordPath] = set()
        for prop in PROPERTIES:
            if prop != "subject" and not current[prop]:
                continue  # a property dropped as a whole is not a deletion (see module docstring)
            missing = set(snapshot.get(prop, ())) - set(current[prop])
            for entry in missing:
                if prop in FLAT:
                    gone_paths |= {p for p in before.values() if p[-1] == entry}
                else:
                    gone_paths.add(entry_path(prop, entry))
        deleted = [name for name, path in before.items() if path in gone_paths or name not in now]
        added = [name for name in now if name not in before]
    new_record = SyncRecord(owned, current, imported, None, parent)
    return ReadResult(imported, deleted, added, new_record)


@dataclass
class Wanted:
    """A tag the library wants in the file: its name, and whether it is filed under the app's parent."""

    name: str
    own: bool
    category: str | None = None  # file it under parent|category (None: straight under the parent)


@dataclass
class WritePlan:
    properties: Properties
    record: SyncRecord
    changed: set[str]  # properties whose entries differ from the file's
    keywords: list[str]  # library names in the file afterwards


def plan_write(
    current: Properties,
    record: SyncRecord | None,
    wanted: Sequence[Wanted],
    removed: Iterable[str],
    parent: str = DEFAULT_PARENT,
    properties: Sequence[str] = ("subject", "hierarchical", "tags_list"),
) -> WritePlan:
    """The file's keywords after merging the library's tags in.

    ``removed``: tags the user removed (in this app, or in another program, which the last read
    turned into manual removals); they go from every property. Entries the app owns whose tag is
    no longer wanted go too. Everything else stays; keywords missing from a property are copied
    into it (only when the file has, or gets, keywords of ours, so a file we have nothing to add
    to is never touched).
    """
    current = normalise(current)
    record = record or SyncRecord()
    removed = set(removed) - {w.name for w in wanted}
    owned = _present_owned(current, record.owned)
    foreign_paths = {name_of(p, parent): p for p in keywords_of(_without(current, owned))}
    final: dict[KeywordPath, str] = {}
    for name, path in foreign_paths.items():
        if name not in removed:
            final[path] = name
    ours_to_add = False
    for item in wanted:
        path = foreign_paths.get(item.name) or path_of_name(item.name, item.own, parent, item.category)
        if path not in final:
            final[path] = item.name
        if item.name not in foreign_paths:
            ours_to_add = True
    keep_owned_any = False
    leaves_final = {p[-1] for p in final}
    levels_final = {part for p in final for part in p}
    removed_paths = {p for n, p in foreign_paths.items() if n in removed}
    new = empty_properties()
    new_owned = empty_properties()
    for prop in PROPERTIES:
        owned_here = set(owned[prop])
        entries: list[str] = []
        for entry in current[prop]:
            if prop in FLAT:
                path_removed = any(entry in p for p in removed_paths) or entry in removed
                if entry in owned_here:
                    keep = entry in leaves_final
                else:
                    keep = not (path_removed and entry not in levels_final)
            else:
                path = entry_path(prop, entry)
                if entry in owned_here:
                    keep = path in final
                else:
                    keep = name_of(path, parent) not in removed and path not in removed_paths
            if keep:
                entries.append(entry)
                if entry in owned_here:
                    new_owned[prop].append(entry)
                    keep_owned_any = True
        new[prop] = entries
    if ours_to_add or keep_owned_any:
        for prop in properties:
            present = set(new[prop])
            for path in final:
                if prop in FLAT:
                    entry = path[-1]
                    if entry in present:
                        continue
                else:
                    entry = path_entry(prop, path)
                    if entry in present:
                        continue
                new[prop].append(entry)
                new_owned[prop].append(entry)
                present.add(entry)
    changed = {prop for prop in PROPERTIES if new[prop] != current[prop]}
    kept_imported = [n for n in record.imported if n not in removed]
    new_record = SyncRecord(new_owned, new, kept_imported, None, parent)
    return WritePlan(new, new_record, changed, [name_of(p, parent) for p in keywords_of(new)])
