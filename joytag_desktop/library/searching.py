"""Searching: a query to the ids (or grid rows) it finds, from the posting lists where they answer
and from SQL otherwise; more-like-this with a query's filter."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from pyroaring import BitMap
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.sql import Select

from joytag_desktop.library import dialect, mounts
from joytag_desktop.library import statements as sql
from joytag_desktop.library.database import Database
from joytag_desktop.library.errors import LibraryError, ScoresIncomplete
from joytag_desktop.library.fields import words_key
from joytag_desktop.library.query import SORTS, Node, field_terms, parse, tag_terms
from joytag_desktop.library.records import SearchResult
from joytag_desktop.library.resolver import judging_models
from joytag_desktop.library.roots import Roots
from joytag_desktop.library.schema import Image, Model, Tag
from joytag_desktop.library.search import TagResolver, build_select, in_folder, json_ids
from joytag_desktop.library.search_index import SearchIndex
from joytag_desktop.library.settings import Settings
from joytag_desktop.library.similar import LIKE_LIMIT, TEXT_LIMIT, Match, NoTextModel, Similarity, SimilarityError
from joytag_desktop.library.tags import Tags
from joytag_desktop.library.terms import And, FieldTerm
from joytag_desktop.library.thresholds import ThresholdRules, check_threshold
from joytag_desktop.library.vocabulary import Vocabulary

# A grid row: id, path, content hash, status, stars, label, pick.
GridRow = tuple[int, str, str | None, str, int | None, str | None, str | None]


@dataclass
class QueryContext:
    """What every search reads from the library's settings (see ``Searching.query_context``)."""

    models: list[tuple[int, str, bool]]  # id, name, searched
    searched: list[int]
    rules: ThresholdRules
    find_tags: Callable[[str, bool, str | None], list[int]]
    read_names: Callable[[], list[tuple[int, str]]]
    found: dict[tuple[str, bool, str | None], list[int]] = field(default_factory=dict)
    _names: list[tuple[int, str]] | None = None

    @property
    def tag_names(self) -> list[tuple[int, str]]:
        """(id, name) of every tag, by name; read on first use."""
        if self._names is None:
            self._names = self.read_names()
        return self._names

    def lookup(self, name: str, exact: bool, category: str | None) -> list[int]:
        key = (name, exact, category)
        if key not in self.found:
            self.found[key] = self.find_tags(name, exact, category)
        return self.found[key]


class Searching:
    """Queries compiled against the library's settings, answered by the posting lists or SQL."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        tags: Tags,
        roots: Roots,
        similarity: Similarity,
        search_index: SearchIndex,
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self.database = database
        self.vocabulary = vocabulary
        self.settings = settings
        self.tags = tags
        self.roots = roots
        self.similarity = similarity
        self.search_index = search_index
        self._context_cache: tuple[int, QueryContext] | None = None

    def compile(self, query: str | Node, threshold: float | None) -> tuple[Node, TagResolver]:
        node = parse(query) if isinstance(query, str) else query
        return node, self.resolver(node, threshold)

    def resolver(self, node: Node | None, threshold: float | None) -> TagResolver:
        """Tag lookups, threshold rules and the models that judge tag terms: the searched ones, or
        those the query's ``model:`` terms name."""
        context = self.query_context()
        by_name, judging = judging_models(node, context.models)
        rules = context.rules
        if threshold is not None:
            rules = dataclasses.replace(rules, override=check_threshold(threshold))
        resolver = TagResolver(context.lookup, self.tags.category_of, rules, judging, by_name)
        for term in field_terms(node, "like") if node else []:
            text = term.text or ""
            if text in resolver.similar:
                continue
            version = self.database.data_version()
            known = self.similarity.recall(text, version)
            if known is not None:
                resolver.similar[text] = list(known)
                continue
            try:
                matches = self.similarity.nearest(text, LIKE_LIMIT)
                self.similarity.remember(text, version, {m.image_id: m.similarity for m in matches})
                resolver.similar[text] = [m.image_id for m in matches]
            except (SimilarityError, LibraryError) as exc:
                resolver.warnings.append(f"like:{text}: {exc}")
                resolver.similar[text] = []
        for term in field_terms(node, "text") if node else []:
            self._resolve_words(node, term, resolver, threshold)
        return resolver

    def _resolve_words(
        self, node: Node | None, term: FieldTerm, resolver: TagResolver, threshold: float | None
    ) -> None:
        """A ``text:`` term: the TEXT_LIMIT images nearest to its words. Beside other terms of an
        and, those pick the candidates first (``text:"a dog" folder:2023`` ranks 2023's images, not
        the library's best 1,000 that happen to be there). NoTextModel is an error, not a note."""
        text = term.text or ""
        key = words_key(text)
        if key in resolver.similar:
            return
        rest = _rest_of_and(node, term)
        remembered = f"{key}\0{rest!r}\0{threshold!r}"
        version = self.database.data_version()
        known = self.similarity.recall(remembered, version)
        if known is not None:
            resolver.similar[key] = list(known)
            return
        allowed: Callable[[Collection[int]], Collection[int]] | None = None
        if rest is not None:

            def matching(ids: Collection[int]) -> set[int]:
                return self.matching(rest, ids, threshold)

            allowed = matching

        try:
            matches = self.similarity.nearest_text(text, TEXT_LIMIT, allowed=allowed)
        except NoTextModel:
            raise
        except (SimilarityError, LibraryError) as exc:
            resolver.warnings.append(f"text:{text}: {exc}")
            resolver.similar[key] = []
            return
        self.similarity.remember(remembered, version, {m.image_id: m.similarity for m in matches})
        self.similarity.remember(key, version, {m.image_id: m.similarity for m in matches})
        resolver.similar[key] = [m.image_id for m in matches]

    def query_context(self) -> QueryContext:
        """Models, threshold rules and tag look-ups for searches, read again only after a commit
        (``PRAGMA data_version``): a query then costs its own work, not ten reads of settings."""
        version = self.database.data_version()
        cached = self._context_cache
        if version is not None and cached is not None and cached[0] == version:
            return cached[1]
        with self.database.Session() as session:
            models = [
                (row.id, row.name, row.searched)
                for row in session.execute(select(Model.id, Model.name, Model.searched).order_by(Model.id))
            ]
        context = QueryContext(
            models, [m[0] for m in models if m[2]], self.settings.threshold_rules(), self._find_tags, self._tag_names
        )
        self._context_cache = (version, context) if version is not None else None
        return context

    def _find_tags(self, name: str, exact: bool, category: str | None) -> list[int]:
        """A term's tag ids, widened by the aliases and implications (``Vocabulary.expand``): once
        per query, so SQL and the posting lists see the same plain set."""
        found = self.tags.lookup(name, exact, category)
        return self.vocabulary.expand(found) if self.vocabulary is not None else found

    def _tag_names(self) -> list[tuple[int, str]]:
        with self.database.engine.connect() as connection:
            return [(row.id, row.name) for row in connection.execute(select(Tag.id, Tag.name).order_by(Tag.name))]

    def search(
        self,
        query: str | Node,
        threshold: float | None = None,
        limit: int | None = None,
        offset: int = 0,
        sort: str = "path",
    ) -> SearchResult:
        """Ids of matching images in ``sort`` order. Raises QueryError for a malformed query."""
        found = self.fast_search(query, threshold, sort, limit, offset)
        if found is not None:
            return SearchResult(*found)
        statement, warnings = self.statement(query, threshold, sort, limit, offset, (Image.id,))
        with self.database.engine.connect() as connection:
            ids = list(connection.execute(statement).scalars())
        return SearchResult(ids, warnings)

    def fast_search(
        self, query: str | Node, threshold: float | None, sort: str, limit: int | None, offset: int,
        folder: str | None = None,
    ) -> tuple[list[int], list[str]] | None:  # fmt: skip
        """The ids in order from the posting lists, or None where SQL answers (a sort by name, size,
        camera or score, or no index yet)."""
        if sort.lstrip("-") not in SORTS:
            raise ValueError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)} (prefix - to reverse)")
        if sort.lstrip("-") not in ("path", "date", "added", "similarity", "tags"):
            return None
        node, resolver = self.compile(query, threshold)
        if sort.lstrip("-") == "tags" and resolver.rules.override is not None:
            return None  # a one-off threshold: SQL counts at it
        with self.search_index.acquire(resolver.rules, one_off=True) as index:
            if index is None:
                return None
            extra = self.folder_condition(folder) if folder else None
            hits = self._hits(index, resolver, node, extra)
            if hits is None:
                return None
            wanted = len(hits) if limit is None else offset + limit
            if sort.lstrip("-") == "similarity":
                # The like: term's order; images outside it (an or) after, by path.
                ranked = [i for i in resolver.similarity_order if i in hits]
                others = hits - BitMap(ranked)
                if sort.startswith("-"):
                    ordered = (ranked + index.ordered(others, "path", len(others)))[::-1]
                else:
                    ordered = ranked + index.ordered(others, "path", max(0, wanted - len(ranked)))
                return ordered[offset:wanted], resolver.warnings
            if sort.lstrip("-") == "tags":
                from joytag_desktop.library.tag_totals import ordered_by_totals, tag_totals

                totals = tag_totals(index, resolver.models)
                return ordered_by_totals(hits, totals, sort.startswith("-"), wanted)[offset:], resolver.warnings
            return index.ordered(hits, sort, wanted)[offset:], resolver.warnings

    def _hits(
        self, index, resolver: TagResolver, node: Node, extra: ColumnElement[bool] | None = None
    ) -> BitMap | None:
        """The images ``node`` matches, from the index; None where SQL must answer (score codes
        incomplete: image ids past their limit)."""
        try:
            return self.evaluator(index, resolver).matches(node, extra)
        except ScoresIncomplete:
            return None

    def evaluator(self, index, resolver: TagResolver):
        from joytag_desktop.library.fast_search import Evaluator  # numpy: only when searching

        return Evaluator(index, resolver, self._sql_ids, self._sql_rows, self._stored_scores)

    def _stored_scores(self, tag_ids: list[int], images: BitMap) -> list[tuple[int, int, int, float]]:
        """(image, tag, model, score) of the stored rows of ``tag_ids`` on ``images``: what the search
        index reads back where a score code sits on a range's end (a few rows, on the driver's connection)."""
        with dialect.raw_connection(self.database.engine) as connection:
            return connection.execute(sql.SCORES_OF_TAGS_LISTED, (json_ids(tag_ids), json_ids(images))).fetchall()

    def _sql_rows(self, statement: Select) -> list[tuple]:
        with self.database.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(statement)]

    def _sql_ids(self, condition: ColumnElement[bool], candidates: BitMap | None) -> BitMap:
        """The images meeting an SQL condition (among ``candidates``, bound as one JSON text)."""
        statement = select(Image.id).where(condition)
        if candidates is not None:
            listed = dialect.listed_ids(json_ids(candidates), "ids")
            statement = statement.where(Image.id.in_(listed))
        with self.database.engine.connect() as connection:
            return BitMap(connection.execute(statement).scalars())

    def statement(
        self,
        query: str | Node,
        threshold: float | None,
        sort: str,
        limit: int | None,
        offset: int,
        columns: tuple,
        folder: str | None = None,
    ):
        node, resolver = self.compile(query, threshold)
        score_ids: list[int] = []
        if sort.lstrip("-") == "score":
            for term in tag_terms(node):
                score_ids += resolver.lookup(term.name, term.exact, term.category)
        extra = self.folder_condition(folder) if folder else None
        with self.search_index.acquire(resolver.rules, one_off=True) as index:
            found = None if index is None else self._hits(index, resolver, node, extra)
        if found is not None:  # the index finds them, SQL puts them in this order (name, size, score…)
            hits = Image.id.in_(dialect.listed_ids(json_ids(found), "hits"))
            statement = build_select(node, resolver, sort, score_ids, columns=columns, hits=hits)
        else:
            statement = build_select(node, resolver, sort, score_ids, columns=columns)
            if extra is not None:
                statement = statement.where(extra)
        if limit is not None:
            statement = statement.limit(limit)
        if offset:
            statement = statement.offset(offset)
        return statement, resolver.warnings

    def search_rows(
        self,
        query: str | Node,
        threshold: float | None = None,
        sort: str = "path",
        limit: int | None = None,
        folder: str | None = None,
    ) -> tuple[list[GridRow], list[str]]:
        """Like ``search`` but with (id, path, content hash, status, stars, label, pick) per image,
        for the GUI's grid.

        ``folder`` keeps images in that folder and below it.
        """
        columns = (Image.id, Image.path, Image.content_hash, Image.status, Image.stars, Image.label, Image.pick)
        found = self.fast_search(query, threshold, sort, limit, 0, folder)
        if found is not None:
            ids, warnings = found
            return self._grid_rows(ids), warnings
        statement, warnings = self.statement(query, threshold, sort, limit, 0, columns, folder)
        with self.database.engine.connect() as connection:
            rows = [tuple(row) for row in connection.execute(statement)]
        return rows, warnings

    def _grid_rows(self, ids: list[int]) -> list[GridRow]:
        """(id, path, content hash, status, stars, label, pick) of the images ``ids``, in that order: one statement with
        the ids bound as one JSON text, on the driver's connection (a page costs a millisecond)."""
        with dialect.raw_connection(self.database.engine) as connection:
            if len(ids) > 100_000:  # a big share of the library: one pass over the table beats index probes
                wanted = BitMap(ids)
                rows = connection.execute(sql.GRID_ROWS)
                found = {row[0]: row for row in rows if row[0] in wanted}
            else:
                found = {row[0]: row for row in connection.execute(sql.GRID_ROWS_LISTED, (json_ids(ids),))}
        local = mounts.of(self.database.engine.dialect)  # the driver's rows hold stored paths
        if local:
            return [(i, local.to_local(found[i][1]), *found[i][2:]) for i in ids if i in found]
        return [found[i] for i in ids if i in found]

    def matching(self, query: str | Node, ids: Collection[int], threshold: float | None = None) -> set[int]:
        """Which of ``ids`` the query matches (missing files left out unless asked for)."""
        if not ids:
            return set()
        node, resolver = self.compile(query, threshold)
        with self.search_index.acquire(resolver.rules, one_off=True) as index:
            hits = None if index is None else self._hits(index, resolver, node)
            if hits is not None:
                return set(hits & BitMap(ids))
        listed = dialect.listed_ids(json_ids(ids), "ids")
        statement = build_select(node, resolver).order_by(None).where(Image.id.in_(listed))
        with self.database.engine.connect() as connection:
            return set(connection.execute(statement).scalars())

    def like_similarities(self, query: str | Node) -> dict[int, float]:
        """Per image, its similarity to the query's first ``like:`` image (as the last search of
        that term found it), for showing beside the results."""
        node = parse(query) if isinstance(query, str) else query
        terms = field_terms(node, "like")
        words = field_terms(node, "text")
        if not terms and not words:
            return {}
        self.resolver(node, None)  # resolves the term, or recalls it when nothing changed since
        if terms:
            return self.similarity.latest(terms[0].text or "")
        return self.similarity.latest(words_key(words[0].text or ""))

    def similar(
        self,
        source: int | str | os.PathLike[str],
        limit: int = 50,
        model: str | None = None,
        query: str | None = None,
        threshold: float | None = None,
    ) -> list[Match]:
        """The images most like ``source`` (an image id, a library file, or any image file when an
        embedder is set), best first; ``query`` keeps only the images it matches. Raises
        SimilarityError, LibraryError (unknown model) or QueryError."""
        allowed: Callable[[Collection[int]], Collection[int]] | None = None
        if query is not None and query.strip():
            node = parse(query)  # a malformed query fails before any work

            def matching(ids: Collection[int]) -> set[int]:
                return self.matching(node, ids, threshold)

            allowed = matching

        return self.similarity.nearest(source if isinstance(source, int) else Path(source), limit, model, allowed)

    def count(self, query: str | Node, threshold: float | None = None, folder: str | None = None) -> int:
        """How many images match (within ``folder`` and below it, where given)."""
        node, resolver = self.compile(query, threshold)
        extra = self.folder_condition(folder) if folder else None
        with self.search_index.acquire(resolver.rules, one_off=True) as index:
            hits = None if index is None else self._hits(index, resolver, node, extra)
            if hits is not None:
                return len(hits)
        statement = build_select(node, resolver)
        if extra is not None:
            statement = statement.where(extra)
        inner = statement.order_by(None).subquery()
        with self.database.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(inner)).scalar_one()

    def folder_condition(self, folder: str):
        """Images in the absolute ``folder`` or below it (nothing when no root holds it)."""
        folder = os.path.normpath(folder)
        for root in sorted(self.roots.listed(), key=lambda r: len(r.path), reverse=True):
            if folder == root.path or folder.startswith(root.path.rstrip(os.sep) + os.sep):
                return in_folder(root.id, mounts.folder_of(mounts.of(self.database.engine.dialect), root.path, folder))
        return Image.id < 0


def _rest_of_and(node: Node | None, term: FieldTerm) -> Node | None:
    """The other terms of the and that holds ``term`` at the top of the query, else None."""
    if isinstance(node, And) and any(child is term for child in node.children):
        others = tuple(child for child in node.children if child is not term)
        return others[0] if len(others) == 1 else And(others) if others else None
    return None
