"""The tag vocabulary: ids by name (cached), categories, and the look-ups a search term makes,
hierarchical keywords included."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, func, or_, select, update

from joytag_desktop.library import dialect
from joytag_desktop.library.database import IN_CHUNK, Database
from joytag_desktop.library.errors import LibraryError
from joytag_desktop.library.schema import Tag
from joytag_desktop.library.tag_lookup import HIERARCHY_SEPARATOR, find_tags

MAX_TAG_LENGTH = 1000


def check_tag_name(name: str) -> str:
    """A tag typed or passed by a user, stripped; refused when it could not be written to XMP,
    captions or a terminal (control characters, bytes that are not UTF-8) or is absurdly long."""
    name = name.strip()
    if not name:
        raise LibraryError("a tag name cannot be empty")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in name):
        raise LibraryError("a tag name must be valid UTF-8 text (it holds undecodable bytes)")
    bad = next((ch for ch in name if not ch.isprintable() and ch != " "), None)
    if bad is not None:
        raise LibraryError(f"a tag name cannot hold control characters (found U+{ord(bad):04X})")
    if len(name) > MAX_TAG_LENGTH:
        raise LibraryError(f"a tag name is limited to {MAX_TAG_LENGTH} characters")
    return name


class Tags:
    """Tag ids and categories, cached for the process: tags are only ever added."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._tag_ids: dict[str, int] = {}
        self._tag_lock = threading.Lock()
        self._hierarchy_cache: tuple[int, list[tuple[int, str]]] = (0, [])
        self._categories: dict[int, str] | None = None
        self._categorized: set[tuple[str, str]] = set()  # (name, category) pairs a model has set
        self._last_ensured: tuple[Sequence[str], tuple[int, ...]] | None = None
        self._last_categorized: tuple[Sequence[str], Sequence[str]] | None = None

    def ensure_tags(self, names: Sequence[str], categories: Sequence[str] | None = None) -> list[int]:
        """Ids of these tags, creating the ones the library does not know yet.

        ``categories`` (a model's, one per name): new tags get theirs, and a tag known only as
        general or as an imported keyword takes a model's more specific category."""
        if categories is not None:
            self._set_categories(names, categories)
        with self._tag_lock:
            last = self._last_ensured  # a model's batches pass the same vocabulary list every time
            if last is not None and last[0] is names and len(last[1]) == len(names):
                return list(last[1])
            unknown = [name for name in names if name not in self._tag_ids]
            if unknown:
                unknown = list(dict.fromkeys(unknown))
                with self.database.Session.begin() as session:
                    session.execute(
                        dialect.insert(Tag, self.database.engine.dialect.name).on_conflict_do_nothing(
                            index_elements=["name"]
                        ),
                        [{"name": name, "category": "general"} for name in unknown],
                    )
                    for start in range(0, len(unknown), IN_CHUNK):  # SQLite binds at most 32,766 variables
                        chunk = unknown[start : start + IN_CHUNK]
                        self._tag_ids.update(session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(chunk))).all())
            ids = [self._tag_ids[name] for name in names]
            self._last_ensured = (names, tuple(ids))
            return ids

    def _set_categories(self, names: Sequence[str], categories: Sequence[str]) -> None:
        # Each (name, category) once per process: a model's batches bring the same thousands each time.
        last = self._last_categorized
        if last is not None and last[0] is names and last[1] is categories:
            return
        done = self._categorized
        specific = {n: c for n, c in zip(names, categories, strict=True) if c != "general" and (n, c) not in done}
        if not specific:
            self._last_categorized = (names, categories)
            return
        with self._tag_lock, self.database.Session.begin() as session:
            session.execute(
                dialect.insert(Tag, self.database.engine.dialect.name).on_conflict_do_nothing(index_elements=["name"]),
                [{"name": name, "category": category} for name, category in specific.items()],
            )
            session.connection().execute(
                update(Tag)
                .where(Tag.name == bindparam("n"), or_(Tag.category == "general", Tag.category == "keyword"))
                .values(category=bindparam("c")),
                [{"n": name, "c": category} for name, category in specific.items()],
            )
            self._categories = None
        done.update(specific.items())
        self._last_categorized = (names, categories)

    def category_of(self, tag_id: int) -> str:
        """A tag's category (cached; tags only gain categories when a model brings them)."""
        with self._tag_lock:
            cached = self._categories
        if cached is None or tag_id not in cached:
            with self.database.Session() as session:
                cached = {row.id: row.category for row in session.execute(select(Tag.id, Tag.category))}
            with self._tag_lock:
                self._categories = cached
        return cached.get(tag_id, "general")

    def tag_categories(self, names: Iterable[str]) -> dict[str, str]:
        """The category of each named tag (for the GUI's grouped tag lists)."""
        wanted = list(dict.fromkeys(names))
        found: dict[str, str] = {}
        with self.database.Session() as session:
            for start in range(0, len(wanted), 20_000):
                chunk = wanted[start : start + 20_000]
                found.update(
                    (name, category)
                    for name, category in session.execute(select(Tag.name, Tag.category).where(Tag.name.in_(chunk)))
                )
        return found

    def tag_id(self, name: str) -> int | None:
        if name in self._tag_ids:
            return self._tag_ids[name]
        with self.database.Session() as session:
            tag_id = session.scalar(select(Tag.id).where(Tag.name == name))
        if tag_id is not None:
            self._tag_ids[name] = tag_id
        return tag_id

    def lookup(self, name: str, exact: bool, category: str | None = None) -> list[int]:
        """The ids a search term ``name`` finds (a glob, a name, its case-folded form, its hierarchies)."""
        with self.database.Session() as session:
            return find_tags(_SessionReads(self, session), name, exact, category, self.category_of)

    def _hierarchical_names(self, session) -> list[tuple[int, str]]:
        """(id, case-folded name) of the tags that are hierarchies. Tags are only ever added, so the
        cache grows by the ids above the last one seen: one primary-key probe per search term instead
        of a scan of a vocabulary that can hold 70,000 model tags."""
        top = session.scalar(select(func.max(Tag.id))) or 0
        with self._tag_lock:
            seen, names = self._hierarchy_cache
            if top == seen:
                return names
            if top < seen:
                seen, names = 0, []
            rows = session.execute(
                select(Tag.id, Tag.name).where(Tag.id > seen, Tag.name.contains(HIERARCHY_SEPARATOR, autoescape=True))
            ).all()
            names = names + [(row.id, row.name.casefold()) for row in rows]
            self._hierarchy_cache = (top, names)
            return names

    def forget_categories(self) -> None:
        """Read the categories again on next use (imported keywords changed some). No lock: the
        caller may hold a write transaction that a thread holding the lock waits for."""
        self._categories = None


class _SessionReads:
    """The reads of a tag look-up (``library.tag_lookup``) in one session."""

    def __init__(self, tags: Tags, session) -> None:
        self.tags, self.session = tags, session

    def every_id(self) -> list[int]:
        return list(self.session.scalars(select(Tag.id)))

    def like(self, pattern: str) -> list[int]:
        return list(self.session.scalars(select(Tag.id).where(Tag.name.like(pattern, escape="\\"))))

    def named(self, name: str) -> int | None:
        return self.session.scalar(select(Tag.id).where(Tag.name == name))

    def lowered(self, name: str) -> list[int]:
        return list(self.session.scalars(select(Tag.id).where(func.lower(Tag.name) == name)))

    def hierarchical(self) -> list[tuple[int, str]]:
        return self.tags._hierarchical_names(self.session)
