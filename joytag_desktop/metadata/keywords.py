"""Keyword ownership: what the app may remove from a file, and what it imports from one.

A file (an XMP sidecar, or the metadata inside an image) holds keywords in several
properties: ``dc:subject`` (flat leaves), ``lr:hierarchicalSubject`` (``Places|Europe|Paris``),
``digiKam:TagsList`` (``Places/Europe/Paris``) and, inside JPEG/TIFF, IPTC Keywords. Programs
read different ones first (digiKam and Immich: TagsList; Lightroom: hierarchicalSubject and
dc:subject), so after a write every property carries the same keyword set. Windows, ACDSee and
digiKam keep further copies (``MicrosoftPhoto:LastKeywordXMP``, ``mediapro:CatalogSets``,
``acdsee:categories``, EXIF ``XPKeywords``): they are read like the others and kept in step
where a file already has them.

A separator inside a name (``fate/grand_order`` in TagsList, ``Pipe|Name`` in hierarchicalSubject)
is written as a look-alike (U+2215, U+00A6), the only way digiKam and Lightroom hold it as one
name; every look-alike read from any property is turned back, so none ever reaches the library,
and keywords are compared by library name, so a program that rewrites one property from another
(digiKam rebuilds them all from TagsList) neither deletes nor duplicates anything.

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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from joytag_desktop.categories import MODEL_CATEGORIES
from joytag_desktop.metadata import acdsee

PROPERTIES = ("subject", "hierarchical", "tags_list", "iptc", "last_keyword", "catalog_sets", "acdsee", "xp")
FLAT = ("subject", "iptc", "xp")
# Hierarchical properties, in the order digiKam reads them (the first path found for a name wins).
HIERARCHICAL = ("tags_list", "last_keyword", "hierarchical", "catalog_sets", "acdsee")
# Other programs' copies of the keyword list: written only into files that already have them.
FOLLOWED = ("last_keyword", "catalog_sets", "acdsee", "xp")
# Windows writes LastKeywordXMP flat (System.Keywords), digiKam as paths: a one-level entry there is
# a leaf, like dc:subject's, and a path rewritten as its leaf is the same keyword.
LEAF_TOLERANT = ("last_keyword",)
# The properties records of version 2 knew: what a v2 snapshot says nothing about is not news.
V2_PROPERTIES = ("subject", "hierarchical", "tags_list", "iptc")
# Separator of each hierarchical property; a separator inside a name is written as its look-alike.
SEPARATORS = {"hierarchical": "|", "catalog_sets": "|", "acdsee": "|", "tags_list": "/", "last_keyword": "/"}
LOOK_ALIKES = {"|": "\u00a6", "/": "\u2215"}
IPTC_KEYWORD_BYTES = 64  # IPTC IIM 2:25 limit; the whole keyword stays in XMP
HIERARCHY = "|"  # separator of library names
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


def normalise(properties: Mapping[str, Iterable[str]]) -> Properties:
    out = empty_properties()
    for name in PROPERTIES:
        out[name] = list(dict.fromkeys(v for v in (clean(x) for x in properties.get(name, ())) if v))
    return out


def restore(part: str) -> str:
    """A name part with the look-alikes written for separators turned back into the separators."""
    for separator, look_alike in LOOK_ALIKES.items():
        part = part.replace(look_alike, separator)
    return part.strip()


def entry_path(prop: str, entry: str) -> KeywordPath:
    if prop in SEPARATORS:
        parts = (restore(part) for part in entry.split(SEPARATORS[prop]))
        return tuple(part for part in parts if part)
    leaf = restore(entry)
    return (leaf,) if leaf else ()


def _iptc_entry(leaf: str) -> str:
    """The leaf cut to IPTC's 64 bytes at a character boundary (XMP keeps the whole keyword)."""
    data = leaf.encode("utf-8")
    if len(data) <= IPTC_KEYWORD_BYTES:
        return leaf
    return data[:IPTC_KEYWORD_BYTES].decode("utf-8", errors="ignore").rstrip()


def _joined_entry(prop: str, path: KeywordPath) -> str:
    """How a keyword is written in a hierarchical property (one of SEPARATORS): always writable."""
    separator = SEPARATORS[prop]
    return separator.join(part.replace(separator, LOOK_ALIKES[separator]) for part in path)


def path_entry(prop: str, path: KeywordPath) -> str | None:
    """How a keyword is written in ``prop``; None where the property cannot hold it (a ``;`` in
    XPKeywords, which Windows splits on)."""
    if prop in SEPARATORS:
        return _joined_entry(prop, path)
    leaf = path[-1]
    if prop == "xp":
        return None if ";" in leaf else leaf
    if prop == "iptc":
        return _iptc_entry(leaf)
    return leaf


def _flat_key(prop: str, path: KeywordPath) -> str:
    """What a flat property holds for a keyword, as read back (look-alikes turned back)."""
    entry = path_entry(prop, path)
    return restore(entry) if entry is not None else path[-1]


def name_of(path: KeywordPath, parent: str = DEFAULT_PARENT) -> str:
    """The library name of a keyword: ``cat`` for ``JoyTag|cat`` and for ``JoyTag|general|cat``
    (keywords filed by category), the joined path otherwise."""
    if len(path) == 2 and path[0] == parent:
        return path[1]
    if len(path) == 3 and path[0] == parent and path[1] in MODEL_CATEGORIES:
        return path[2]
    return HIERARCHY.join(path)


def path_of_name(name: str, own: bool, parent: str = DEFAULT_PARENT, category: str | None = None) -> KeywordPath:
    """Where a library tag goes: the app's own tags (the model's, hand-added flat ones) under
    ``parent`` (and under their category there when ``category`` is given, as
    ``JoyTag|character|hatsune_miku``); imported and hand-made hierarchical names along their own path."""
    if own:
        return (parent, category, name) if category in MODEL_CATEGORIES else (parent, name)
    return tuple(part for part in name.split(HIERARCHY) if part) or (name,)


def is_bookkeeping(name: str) -> bool:
    return any(name == root or name.startswith(root + HIERARCHY) for root in BOOKKEEPING_ROOTS)


def keywords_of(properties: Properties) -> list[KeywordPath]:
    """The distinct keywords a file holds, hierarchies kept, one path per library name (the
    first found, in the order digiKam reads the properties).

    Flat entries that are a level of some hierarchy (Lightroom and digiKam list every level in
    dc:subject) and paths that are only the parents of longer ones are not keywords of their own.
    """
    paths: dict[KeywordPath, None] = {}
    leaves: list[KeywordPath] = []
    for prop in HIERARCHICAL:
        for entry in properties.get(prop, ()):
            path = entry_path(prop, entry)
            if len(path) == 1 and prop in LEAF_TOLERANT:
                leaves.append(path)
            elif path:
                paths[path] = None
    levels = {part for path in paths if len(path) > 1 for part in path}
    xmp_has_keywords = any(properties.get(prop) for prop in ("subject", *HIERARCHICAL))
    for prop in FLAT:
        if prop != "subject" and xmp_has_keywords:
            continue  # XMP wins over IPTC and XPKeywords (MWG, digiKam); alone they still count
        leaves += [entry_path(prop, entry) for entry in properties.get(prop, ())]
    for path in leaves:
        if path and path[0] not in levels:
            paths.setdefault(path, None)
    prefixes = {path[:depth] for path in paths for depth in range(1, len(path))}
    by_name: dict[str, KeywordPath] = {}
    for path in paths:
        if path not in prefixes:
            by_name.setdefault(HIERARCHY.join(path), path)
    return list(by_name.values())


def _named(paths: Iterable[KeywordPath], parent: str) -> dict[str, KeywordPath]:
    """Library name -> path, the first path of each name."""
    out: dict[str, KeywordPath] = {}
    for path in paths:
        out.setdefault(name_of(path, parent), path)
    return out


def _entry_names(prop: str, entries: Iterable[str], parent: str) -> set[str]:
    """What a property's entries name: library names (hierarchical) or leaves (flat)."""
    found = set()
    for entry in entries:
        path = entry_path(prop, entry)
        if path:
            found.add(name_of(path, parent) if prop in SEPARATORS else path[-1])
    return found


def _own_copies(current: Properties, owned: Properties, parent: str) -> Properties:
    """Owned entries still as written, plus the entries under the app's parent in hierarchical
    properties: copies another program made of the app's keywords (digiKam rebuilds LastKeywordXMP
    and CatalogSets from TagsList) are the app's output too, not the user's keywords."""
    out = _present_owned(current, owned)
    own_leaves = {path[-1] for prop in FLAT for path in (entry_path(prop, e) for e in out[prop]) if path}
    for prop in SEPARATORS:
        have = set(out[prop])
        for entry in current.get(prop, ()):
            path = entry_path(prop, entry)
            if len(path) > 1 and path[0] == parent and entry not in have:
                out[prop].append(entry)
                have.add(entry)
            if len(path) > 1 and path[0] == parent:
                own_leaves.add(path[-1])
    for prop in LEAF_TOLERANT:  # Windows rewrote our keyword there as its leaf
        have = set(out[prop])
        leaves = {(leaf,) for leaf in own_leaves}
        out[prop] += [e for e in current.get(prop, ()) if e not in have and entry_path(prop, e) in leaves]
    return out


def claim_own(current: Properties, parent: str = DEFAULT_PARENT) -> Properties:
    """The entries of a file the app wrote there, recognised without a sync record (the library
    was lost, or another machine wrote the file): keywords under the app's parent, and the flat
    copies of their leaves that nothing else in the file explains. They are model output, not
    the user's keywords: the models decide them again."""
    claimed = empty_properties()
    own_parts: set[str] = {parent}
    other_parts: set[str] = set()
    for prop in SEPARATORS:
        for entry in current.get(prop, ()):
            path = entry_path(prop, entry)
            if len(path) > 1 and path[0] == parent:
                claimed[prop].append(entry)
                own_parts.add(path[-1])  # the app writes leaves to flat properties, never levels
            elif path:
                other_parts.update(path)
    if len(own_parts) == 1:
        return claimed
    own_parts |= {_iptc_entry(part) for part in own_parts}  # IPTC holds long leaves cut short
    for prop in FLAT:
        for entry in current.get(prop, ()):
            path = entry_path(prop, entry)
            if path and path[0] in own_parts and path[0] not in other_parts:
                claimed[prop].append(entry)
    return claimed


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
    known: tuple[str, ...] = PROPERTIES  # the properties the snapshot covers (v2 records: four)

    def to_json(self) -> dict:
        return {
            "v": 3,
            "parent": self.parent,
            "owned": self.owned,
            "snapshot": self.snapshot,
            "imported": self.imported,
            "pending": self.pending,
            "known": list(self.known),
        }

    @classmethod
    def from_json(cls, data: object, parent: str = DEFAULT_PARENT) -> SyncRecord:
        if isinstance(data, dict) and data.get("v") in (2, 3):
            return cls(
                normalise(data.get("owned") or {}),
                normalise(data["snapshot"]) if data.get("snapshot") is not None else None,
                list(data.get("imported") or []),
                normalise(data["pending"]) if data.get("pending") is not None else None,
                str(data.get("parent") or parent),
                tuple(p for p in data.get("known") or PROPERTIES if p in PROPERTIES)
                if data.get("v") == 3
                else V2_PROPERTIES,
            )
        if isinstance(data, list):
            # Written by version 0.1, which recorded names only (and wrongly included imported and
            # manual ones). Claim just the entries filed under our parent; read nothing as deleted.
            names = [str(n) for n in data]
            owned = empty_properties()
            owned["hierarchical"] = [_joined_entry("hierarchical", (parent, n)) for n in names]
            owned["tags_list"] = [_joined_entry("tags_list", (parent, n)) for n in names]
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


def read_file(current: Properties, record: SyncRecord | None, parent: str = DEFAULT_PARENT) -> ReadResult:
    """Compare a file's keywords with the last sync; the returned record is the new last sync.

    Without a record, the keywords under the app's parent are taken as the app's own (see
    ``claim_own``), not imported as the user's."""
    current = normalise(current)
    if record is None:
        record = SyncRecord(owned=claim_own(current, parent), parent=parent)
    parent = record.parent
    snapshot = record.snapshot
    if record.pending is not None and current == record.pending:
        snapshot = record.pending  # our last write completed before the record of it was saved
    owned = _own_copies(current, record.owned, parent)
    foreign = _without(current, owned)
    imported = list(_named(keywords_of(foreign), parent))
    deleted: list[str] = []
    added: list[str] = []
    if snapshot is not None:
        known = {prop: current[prop] if prop in record.known else [] for prop in PROPERTIES}
        before = _named(keywords_of(snapshot), parent)
        now = set(_named(keywords_of(current), parent))
        gone: set[str] = set()
        for prop in record.known:
            if prop != "subject" and not current[prop]:
                continue  # a property dropped as a whole is not a deletion (see module docstring)
            missing = _entry_names(prop, snapshot.get(prop, ()), parent) - _entry_names(prop, current[prop], parent)
            if prop in LEAF_TOLERANT:  # rewritten flat by Windows: the leaf still there is the keyword
                leaves = {restore(e) for e in current[prop]}
                missing = {name for name in missing if name.rsplit(HIERARCHY, 1)[-1] not in leaves}
            if not missing:
                continue
            if prop in FLAT:
                gone |= {name for name, path in before.items() if _flat_key(prop, path) in missing}
            else:
                gone |= missing
        deleted = [name for name in before if name in gone or name not in now]
        # What a property the snapshot did not cover holds is not news (an upgrade from v2 records).
        added = [name for name in _named(keywords_of(known), parent) if name not in before]
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
    properties: Sequence[str] = ("subject", "hierarchical", "tags_list", *FOLLOWED),
) -> WritePlan:
    """The file's keywords after merging the library's tags in.

    ``removed``: tags the user removed (in this app, or in another program, which the last read
    turned into manual removals); they go from every property. Entries the app owns whose tag is
    no longer wanted go too. Everything else stays; keywords missing from a property are copied
    into it (only when the file has, or gets, keywords of ours, so a file we have nothing to add
    to is never touched; FOLLOWED properties only where the file has them already). Keywords are
    compared by library name, so an entry another program rewrote (a look-alike turned into a
    separator) still counts as the keyword.
    """
    current = normalise(current)
    record = record or SyncRecord()
    removed = set(removed) - {w.name for w in wanted}
    owned = _own_copies(current, record.owned, parent)
    foreign_paths = _named(keywords_of(_without(current, owned)), parent)
    final: dict[str, KeywordPath] = {name: path for name, path in foreign_paths.items() if name not in removed}
    ours_to_add = False
    for item in wanted:
        if item.name not in final:
            final[item.name] = foreign_paths.get(item.name) or path_of_name(item.name, item.own, parent, item.category)
        if item.name not in foreign_paths:
            ours_to_add = True
    keep_owned_any = False
    levels_final = {part for path in final.values() for part in path}
    removed_parts = set(removed) | {part for name, path in foreign_paths.items() if name in removed for part in path}
    new = empty_properties()
    new_owned = empty_properties()
    for prop in PROPERTIES:
        owned_here = set(owned[prop])
        leaves_final = {_flat_key(prop, path) for path in final.values()} if prop in FLAT else set()
        entries: list[str] = []
        for entry in current[prop]:
            path = entry_path(prop, entry)
            if not path:  # only separators: no keyword, not ours; left as it is
                entries.append(entry)
                continue
            if prop in FLAT:
                if entry in owned_here:
                    keep = path[-1] in leaves_final
                else:
                    keep = not (path[-1] in removed_parts and path[-1] not in levels_final)
            else:
                name = name_of(path, parent)
                if entry in owned_here:
                    # Our own tags keep the shape asked for now (filed by category or not); copies of
                    # another program's keyword follow it by name (its shape may have been rewritten).
                    keep = name in final and (name in foreign_paths or final[name] == path)
                else:
                    keep = name not in removed
            if keep:
                entries.append(entry)
                if entry in owned_here:
                    new_owned[prop].append(entry)
                    keep_owned_any = True
        new[prop] = entries
    if ours_to_add or keep_owned_any:
        for prop in properties:
            if prop in FOLLOWED and not current[prop]:
                continue
            present = _entry_names(prop, new[prop], parent)
            if prop == "iptc":  # another program's keyword over 64 bytes: its cut copy would be a new one
                present |= {_iptc_entry(key) for key in present}
            for path in final.values():
                entry = path_entry(prop, path)
                key = name_of(path, parent) if prop in SEPARATORS else _flat_key(prop, path)
                if entry is None or key in present:
                    continue
                new[prop].append(entry)
                new_owned[prop].append(entry)
                present.add(key)
    new["acdsee"] = acdsee.canonical(new["acdsee"]) if new["acdsee"] != current["acdsee"] else new["acdsee"]
    changed = {prop for prop in PROPERTIES if new[prop] != current[prop]}
    kept_imported = [n for n in record.imported if n not in removed]
    new_record = SyncRecord(new_owned, new, kept_imported, None, parent)
    return WritePlan(new, new_record, changed, list(_named(keywords_of(new), parent)))
